//! Given-name knowledge: nicknames (hipocorísticos) and English equivalents, written
//! abbreviations, and a list of common given names the full-name parser uses to tell a given
//! name from a surname. All entries are folded.
//!
//! Nicknames are only ever *alternates*: "Lupe" stays the given name and "guadalupe" is offered
//! beside it, and "Guadalupe" offers "lupe". A link is one step: "Beto" offers alberto, roberto
//! and humberto, but "Alberto" offers beto and albert, never roberto.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Each row is a formal name followed by the nicknames and equivalents it is linked to; every
/// link works in both directions. A multi-word formal name ("jose maria") is matched against
/// consecutive given names.
///
/// Some well-known nicknames are left out on purpose: "Güero"/"Güera" (fair-haired) and "Beba"
/// (baby) are used for people of any name, so they cannot point to one.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("adolfo", &["fito"]),
    ("alberto", &["beto", "albert"]),
    ("alejandra", &["ale", "alex"]),
    ("alejandro", &["alex", "ale", "alexander"]),
    ("alfredo", &["fredo", "alfred", "fred"]),
    ("alicia", &["licha", "alice"]),
    ("ana", &["anna", "ann", "anne"]),
    ("andres", &["andrew", "andy"]),
    ("anastasio", &["tacho"]),
    ("antonio", &["tono", "tony", "anthony", "toni"]),
    ("armando", &["mando"]),
    ("asuncion", &["chona"]),
    ("beatriz", &["bety", "beatrice", "betty"]),
    ("benjamin", &["benja", "ben"]),
    ("carlos", &["charles", "charlie", "carlitos"]),
    ("catalina", &["catherine", "katherine", "cata"]),
    ("concepcion", &["concha", "conchita", "chona"]),
    ("consuelo", &["chelo"]),
    ("cristina", &["christina", "cris"]),
    ("daniel", &["dani", "dan"]),
    ("david", &["dave"]),
    ("dolores", &["lola", "lolita"]),
    ("eduardo", &["lalo", "edward", "eddie"]),
    ("elizabeth", &["isabel", "liz", "beth", "betty"]),
    ("enrique", &["quique", "kike", "henry"]),
    ("esteban", &["stephen", "steven"]),
    ("eusebio", &["chevo"]),
    ("felipe", &["pipe", "philip", "phillip"]),
    ("fernando", &["nando", "fer"]),
    ("francisca", &["paca", "pancha", "paquita", "frances"]),
    ("francisco", &["paco", "pancho", "frank", "francis", "kiko"]),
    ("gabriela", &["gaby", "gabi"]),
    ("gerardo", &["jerry"]),
    ("gilberto", &["beto"]),
    ("graciela", &["chela", "grace"]),
    ("gregorio", &["goyo", "gregory"]),
    ("guadalupe", &["lupe", "lupita"]),
    ("guillermo", &["memo", "william", "will", "bill", "willy"]),
    ("gustavo", &["tavo"]),
    ("heriberto", &["beto"]),
    ("humberto", &["beto"]),
    ("ignacio", &["nacho"]),
    ("isabel", &["chabela", "isabella", "chavela"]),
    ("jaime", &["james", "jimmy", "jim"]),
    ("jesus", &["chuy", "chucho", "chuyita", "chuyito"]),
    ("jorge", &["george", "coque"]),
    ("jose", &["pepe", "chepe", "joseph", "joe", "pepito"]),
    ("jose maria", &["chema"]),
    ("josefina", &["pepa", "chepina", "fina", "josephine"]),
    ("juan", &["john", "johnny", "juanito"]),
    ("juana", &["jane", "juanita"]),
    ("leonardo", &["leo"]),
    ("luis", &["louis", "lucho", "wicho"]),
    ("manuel", &["manolo", "manny", "meme"]),
    ("margarita", &["mago", "margaret", "maggie"]),
    ("maria", &["mary", "mari", "maruca"]),
    ("maria eugenia", &["maru"]),
    ("mateo", &["matthew"]),
    ("mercedes", &["meche"]),
    ("miguel", &["michael", "mike"]),
    ("pablo", &["paul"]),
    ("patricia", &["paty", "pati", "patty"]),
    ("pedro", &["peter", "pete", "perico"]),
    ("pilar", &["pili"]),
    ("rafael", &["rafa", "ralph"]),
    ("refugio", &["cuca", "cuco"]),
    ("reynaldo", &["rey"]),
    ("ricardo", &["richard", "rick", "richi"]),
    ("roberto", &["beto", "robert", "bob", "bobby"]),
    ("rodolfo", &["rudy", "fito", "rudolph"]),
    ("rosa", &["rose", "rosita"]),
    ("rosario", &["chayo", "charo"]),
    ("salvador", &["chava", "chavo"]),
    ("santiago", &["chago", "santi"]),
    ("socorro", &["coco"]),
    ("susana", &["susan", "susy", "sue"]),
    ("teresa", &["tere", "teresita", "theresa", "terry"]),
    ("trinidad", &["trini"]),
    ("vicente", &["chente", "vincent"]),
];

/// Written abbreviations of given names, expanded in the given name itself ("Ma." is María).
/// Single letters are initials and are kept as they are.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("fca", "francisca"),
    ("fco", "francisco"),
    ("gpe", "guadalupe"),
    ("gdpe", "guadalupe"),
    ("jse", "jose"),
    ("ma", "maria"),
    ("mra", "maria"),
    ("ant", "antonio"),
];

/// Given names that appear in records but have no nickname row, for telling given names from
/// surnames in a one-field full name. Names that are also common surnames (Cruz, Martín, Luna) are
/// left out on purpose.
const OTHER_GIVEN: &[&str] = &[
    "abel",
    "abigail",
    "abraham",
    "adan",
    "adela",
    "adriana",
    "adrian",
    "agustin",
    "aida",
    "alan",
    "alba",
    "alma",
    "alvaro",
    "amalia",
    "amparo",
    "andrea",
    "angel",
    "angela",
    "angelica",
    "angeles",
    "antonia",
    "araceli",
    "arturo",
    "aurora",
    "barbara",
    "bernardo",
    "blanca",
    "brenda",
    "bryan",
    "camila",
    "carla",
    "carmen",
    "carolina",
    "cecilia",
    "cesar",
    "claudia",
    "cristian",
    "cristobal",
    "delfina",
    "diana",
    "diego",
    "dios",
    "domingo",
    "edgar",
    "edith",
    "elena",
    "eliseo",
    "elsa",
    "elvira",
    "emilio",
    "emma",
    "ernesto",
    "erika",
    "esperanza",
    "estela",
    "esther",
    "eugenia",
    "eva",
    "ezequiel",
    "fabiola",
    "federico",
    "felix",
    "fidel",
    "flor",
    "gloria",
    "gonzalo",
    "hector",
    "hilda",
    "hugo",
    "ines",
    "irene",
    "irma",
    "ivan",
    "javier",
    "jazmin",
    "jennifer",
    "jessica",
    "joaquin",
    "jonathan",
    "josue",
    "julia",
    "julian",
    "julio",
    "karen",
    "karla",
    "laura",
    "leticia",
    "lidia",
    "lilia",
    "lorena",
    "lourdes",
    "lucia",
    "luisa",
    "luz",
    "marco",
    "marcos",
    "maribel",
    "mariana",
    "mario",
    "marisol",
    "marta",
    "martha",
    "mauricio",
    "maximo",
    "mayra",
    "melissa",
    "miriam",
    "monica",
    "natalia",
    "nancy",
    "nelson",
    "noe",
    "norma",
    "octavio",
    "olga",
    "omar",
    "oscar",
    "pamela",
    "paola",
    "raquel",
    "raul",
    "rebeca",
    "ruben",
    "ruth",
    "samuel",
    "sandra",
    "sara",
    "sergio",
    "silvia",
    "sofia",
    "sonia",
    "tomas",
    "ulises",
    "valentina",
    "valeria",
    "veronica",
    "victor",
    "victoria",
    "virginia",
    "wendy",
    "ximena",
    "xiomara",
    "yesenia",
    "yolanda",
];

/// Expands a written abbreviation ("ma" → "maria"); `None` when `word` is not one.
pub fn expand_abbreviation(word: &str) -> Option<&'static str> {
    ABBREVIATIONS
        .iter()
        .find(|(a, _)| *a == word)
        .map(|(_, full)| *full)
}

struct Index {
    /// Every link in both directions, sorted by its first element.
    links: Vec<(&'static str, &'static str)>,
    /// Each linked name's run of `links`. Linkage asks for the alternates of a first given name
    /// on every candidate pair; a binary search over the links, a dozen string comparisons,
    /// was a tenth of a plaintext deduplication.
    runs: FxHashMap<&'static str, std::ops::Range<usize>>,
    /// Every given name known to the tables, sorted.
    known: Vec<&'static str>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut links = Vec::new();
        let mut known: Vec<&'static str> = OTHER_GIVEN.to_vec();
        for (name, nicks) in NICKNAMES {
            known.push(name);
            for nick in nicks.iter().filter(|n| *n != name) {
                links.push((*name, *nick));
                links.push((*nick, *name));
                known.push(nick);
            }
        }
        known.extend(ABBREVIATIONS.iter().map(|(_, full)| *full));
        links.sort_unstable();
        links.dedup();
        known.sort_unstable();
        known.dedup();
        let mut runs: FxHashMap<&'static str, std::ops::Range<usize>> = FxHashMap::default();
        for (i, (name, _)) in links.iter().enumerate() {
            runs.entry(*name).or_insert(i..i).end = i + 1;
        }
        Index { links, known, runs }
    })
}

/// The names linked to `name` (a folded given name, possibly of two words): nicknames of a formal
/// name, formal names of a nickname, English or Spanish equivalents.
pub fn alternates(name: &str) -> impl Iterator<Item = &'static str> {
    let index = index();
    let run = index.runs.get(name).cloned().unwrap_or(0..0);
    index.links[run].iter().map(|(_, v)| *v)
}

/// Whether `word` is a given name the tables know (formal name, nickname or equivalent).
pub fn is_known_given(word: &str) -> bool {
    index().known.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::is_folded;

    #[test]
    fn alternates_are_each_names_links() {
        let links = &index().links;
        let names = index()
            .known
            .iter()
            .copied()
            .chain(["", "zzz", "juan carlos", "a"]);
        for name in names {
            let expected: Vec<&str> = links
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(alternates(name).collect::<Vec<_>>(), expected, "{name}");
        }
        assert!(alternates("guadalupe").any(|a| a == "lupe"));
    }

    #[test]
    fn tables_are_folded() {
        for (name, nicks) in NICKNAMES {
            assert!(is_folded(name), "{name}");
            for n in *nicks {
                assert!(is_folded(n), "{n}");
            }
        }
        for (a, full) in ABBREVIATIONS {
            assert!(is_folded(a) && is_folded(full));
        }
        for n in OTHER_GIVEN {
            assert!(is_folded(n), "{n}");
        }
    }

    fn alts(name: &str) -> Vec<&'static str> {
        alternates(name).collect()
    }

    #[test]
    fn links_work_both_ways() {
        let pairs = [
            ("lupe", "guadalupe"),
            ("chuy", "jesus"),
            ("chucho", "jesus"),
            ("pepe", "jose"),
            ("paco", "francisco"),
            ("pancho", "francisco"),
            ("memo", "guillermo"),
            ("nacho", "ignacio"),
            ("lalo", "eduardo"),
            ("quique", "enrique"),
            ("tono", "antonio"),
            ("chayo", "rosario"),
            ("charo", "rosario"),
            ("lola", "dolores"),
            ("concha", "concepcion"),
            ("chema", "jose maria"),
            ("nando", "fernando"),
            ("rafa", "rafael"),
            ("tere", "teresa"),
            ("chelo", "consuelo"),
            ("licha", "alicia"),
            ("maru", "maria eugenia"),
            ("pili", "pilar"),
            ("goyo", "gregorio"),
            ("joseph", "jose"),
            ("john", "juan"),
            ("mary", "maria"),
            ("frank", "francisco"),
        ];
        for (nick, name) in pairs {
            assert!(alts(nick).contains(&name), "{nick} → {name}");
            assert!(alts(name).contains(&nick), "{name} → {nick}");
        }
    }

    #[test]
    fn beto_is_one_step() {
        let beto = alts("beto");
        for n in ["alberto", "roberto", "humberto"] {
            assert!(beto.contains(&n));
        }
        assert!(!alts("alberto").contains(&"roberto"));
        assert!(alts("zzz").is_empty());
        assert!(!alts("maria").contains(&"maria"));
    }

    #[test]
    fn known_and_abbreviations() {
        assert!(is_known_given("jose"));
        assert!(is_known_given("lupe"));
        assert!(is_known_given("carmen"));
        assert!(!is_known_given("garcia"));
        assert_eq!(expand_abbreviation("ma"), Some("maria"));
        assert_eq!(expand_abbreviation("fco"), Some("francisco"));
        assert_eq!(expand_abbreviation("gpe"), Some("guadalupe"));
        assert_eq!(expand_abbreviation("j"), None);
    }
}
