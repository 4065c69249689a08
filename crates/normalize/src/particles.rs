//! Surname particles and the small tables the name parser needs to tell one surname from two.
//! All entries are in folded form.

/// Words that introduce the surname (or compound given name) that follows them and stay attached
/// to it: "de la Cruz" is one surname, "San Martín" is one surname.
pub const PARTICLES: &[&str] = &[
    "da", "das", "de", "del", "della", "der", "den", "di", "do", "dos", "du", "la", "las", "le",
    "los", "san", "santa", "van", "von",
];

/// Whether a folded word is a particle.
pub fn is_particle(word: &str) -> bool {
    PARTICLES.contains(&word)
}

/// Whole surnames that contain "de" and are one surname, not a surname followed by a married name.
/// Without this table "Ponce de León" would read as "Ponce", married to a "León".
pub const COMPOUND_SURNAMES: &[&str] = &[
    "diaz de leon",
    "fernandez de cordoba",
    "fernandez de cordova",
    "fernandez de lara",
    "garcia de alba",
    "gomez de la torre",
    "lopez de santa anna",
    "martinez de la vega",
    "montes de oca",
    "nunez de balboa",
    "ponce de leon",
    "ruiz de alarcon",
    "ruiz de velasco",
    "sanchez de tagle",
    "vaca de castro",
];

/// Whether `first` followed by `second` (e.g. "ponce", "de leon") is one compound surname.
pub fn is_compound_surname(first: &str, second: &str) -> bool {
    COMPOUND_SURNAMES.iter().any(|c| {
        c.len() == first.len() + 1 + second.len()
            && c.starts_with(first)
            && c.as_bytes()[first.len()] == b' '
            && c.ends_with(second)
    })
}

/// Surnames written "de X" that are surnames in their own right (a maternal "de León"), so a
/// "de X" after another surname is read as a second surname rather than as a married name.
const DE_SURNAMES: &[&str] = &[
    "alba", "anda", "avila", "dios", "haro", "jesus", "lara", "leon", "lira", "luna", "oca", "paz",
    "santiago",
];

/// Whether "de `head`" is a surname of its own.
pub fn is_de_surname(head: &str) -> bool {
    DE_SURNAMES.contains(&head)
}

/// Markers of a widow's married name: "Pérez vda. de García", "Pérez viuda de García".
pub fn is_widow_marker(word: &str) -> bool {
    matches!(word, "vda" | "viuda" | "vdade")
}

/// Generational suffixes that US records append to the last name; they are not surnames.
pub fn is_suffix(word: &str) -> bool {
    matches!(word, "jr" | "sr" | "ii" | "iii" | "iv")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::is_folded;

    #[test]
    fn tables_are_folded() {
        for w in PARTICLES.iter().chain(COMPOUND_SURNAMES).chain(DE_SURNAMES) {
            assert!(is_folded(w), "{w}");
        }
    }

    #[test]
    fn compound_lookup() {
        assert!(is_compound_surname("ponce", "de leon"));
        assert!(is_compound_surname("montes", "de oca"));
        assert!(!is_compound_surname("perez", "de vasquez"));
        assert!(!is_compound_surname("ponce", "de"));
    }
}
