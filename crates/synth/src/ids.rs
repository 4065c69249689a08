//! Identifiers as the three countries issue them: CURP (with its check digit), DPI/CUI (with its
//! verifier and a real department/municipality pair), US A-numbers, phones by country, vehicle
//! plates and bank accounts (CLABE with its check digit).

use chrono::{Datelike, NaiveDate};
use rand::Rng;

/// CURP's character dictionary; a character's value is its position.
const CURP_DICT: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";

/// The CURP check digit of the first 17 characters: Σ value×weight (weights 18 down to 2), then
/// (10 − sum mod 10) mod 10.
pub fn curp_check_digit(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0;
    for (i, c) in first17.chars().enumerate() {
        let value = CURP_DICT.chars().position(|d| d == c)? as u32;
        sum += value * (18 - i as u32);
        n += 1;
    }
    if n != 17 {
        return None;
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Words RENAP-style CURP rules refuse as the first four letters; the second letter becomes X.
const CURP_INCONVENIENT: &[&str] = &[
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COGI",
    "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI", "GUEY", "JETA",
    "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI", "KOJA", "KOJE", "KOJI",
    "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO", "MAME", "MAMO", "MEAR", "MEAS",
    "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO", "NACA", "NACO", "PEDA", "PEDO", "PENE",
    "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO", "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO",
    "TETA", "VACA", "VAGA", "VAGO", "VAKA", "VUEI", "VUEY", "WUEI", "WUEY",
];

/// Particles dropped from compound surnames and names before taking CURP letters.
const CURP_PARTICLES: &[&str] = &[
    "DA", "DAS", "DE", "DEL", "DER", "DI", "DIE", "DD", "EL", "LA", "LOS", "LAS", "LE", "LES",
    "MAC", "MC", "VAN", "VON", "Y",
];

/// Upper-case ASCII letters of a name part, accents removed, Ñ kept as 'Ñ' (CURP uses X for it).
fn curp_word(s: &str) -> String {
    let upper: String = s
        .chars()
        .map(crate::noise::strip_accent_char)
        .collect::<String>()
        .to_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !CURP_PARTICLES.contains(w))
        .collect();
    let chosen = if kept.is_empty() { words } else { kept };
    chosen.join(" ").replace('Ñ', "X")
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'A' | 'E' | 'I' | 'O' | 'U')
}

fn first_internal(word: &str, want_vowel: bool) -> char {
    word.chars()
        .skip(1)
        .find(|&c| c.is_ascii_alphabetic() && is_vowel(c) == want_vowel)
        .unwrap_or('X')
}

/// Mexican states' CURP codes, weighted toward the states most emigrants come from.
pub const CURP_STATES: crate::names::Table = &[
    ("MN", 120),
    ("GT", 110),
    ("JC", 100),
    ("OC", 90),
    ("GR", 90),
    ("PL", 80),
    ("ZS", 60),
    ("CS", 70),
    ("VZ", 70),
    ("MC", 80),
    ("DF", 60),
    ("HG", 40),
    ("SP", 40),
    ("CH", 40),
    ("DG", 30),
    ("TS", 30),
    ("NL", 20),
    ("SR", 20),
    ("BC", 15),
    ("YN", 10),
];

/// Builds a valid CURP from the person's name, birth date, sex (`'H'`/`'M'`) and state code ("NE"
/// for people born abroad).
pub fn make_curp<R: Rng>(
    rng: &mut R,
    surname1: &str,
    surname2: Option<&str>,
    given: &[&str],
    dob: NaiveDate,
    sex: char,
    state: &str,
) -> String {
    let s1 = curp_word(surname1);
    let s2 = surname2.map(curp_word).unwrap_or_default();
    // María and José as a first name give way to the second name when there is one.
    let given_words: Vec<String> = given.iter().map(|g| curp_word(g)).collect();
    let mut g = given_words.first().cloned().unwrap_or_default();
    if given_words.len() > 1 && matches!(g.as_str(), "MARIA" | "MA" | "JOSE" | "J") {
        g = given_words[1].clone();
    }
    let initial = |w: &str| w.chars().find(|c| c.is_ascii_alphabetic()).unwrap_or('X');
    let mut head: String = [
        initial(&s1),
        first_internal(&s1, true),
        initial(&s2),
        initial(&g),
    ]
    .iter()
    .collect();
    if CURP_INCONVENIENT.contains(&head.as_str()) {
        head.replace_range(1..2, "X");
    }
    let diff = if dob.year() < 2000 {
        char::from_digit(
            if rng.random_bool(0.9) {
                0
            } else {
                rng.random_range(1..10)
            },
            10,
        )
        .unwrap_or('0')
    } else {
        (b'A'
            + if rng.random_bool(0.9) {
                0
            } else {
                rng.random_range(1..26)
            }) as char
    };
    let first17 = format!(
        "{head}{:02}{:02}{:02}{sex}{state}{}{}{}{diff}",
        dob.year() % 100,
        dob.month(),
        dob.day(),
        first_internal(&s1, false),
        if s2.is_empty() {
            'X'
        } else {
            first_internal(&s2, false)
        },
        first_internal(&g, false),
    );
    let check = curp_check_digit(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Municipalities per Guatemalan department (codes 01–22), as RENAP numbers them.
pub const GT_MUNICIPALITIES: [u32; 22] = [
    17, 8, 16, 16, 13, 14, 19, 8, 24, 21, 9, 30, 32, 21, 8, 17, 14, 5, 11, 11, 7, 17,
];

/// Departments weighted toward those most emigrants come from (Huehuetenango, San Marcos, Quiché,
/// Alta Verapaz, Guatemala, Quetzaltenango, Totonicapán).
const GT_DEPT_WEIGHTS: [u32; 22] = [
    10, 1, 1, 3, 2, 1, 2, 5, 6, 2, 1, 14, 18, 12, 2, 11, 4, 1, 1, 2, 1, 2,
];

/// The DPI/CUI verifier of an 8-digit serial: Σ digit×weight (weights 2..9 from the left) mod 11.
/// A result of 10 has no digit; such serials are not issued.
pub fn dpi_verifier(serial: &str) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in serial.chars().enumerate() {
        sum += c.to_digit(10)? * (i as u32 + 2);
    }
    (serial.len() == 8).then_some(sum % 11).filter(|&v| v < 10)
}

/// A valid 13-digit DPI/CUI.
pub fn make_dpi<R: Rng>(rng: &mut R) -> String {
    loop {
        let serial = format!("{:08}", rng.random_range(1_000_000..40_000_000u32));
        let Some(v) = dpi_verifier(&serial) else {
            continue;
        };
        let total: u32 = GT_DEPT_WEIGHTS.iter().sum();
        let mut x = rng.random_range(0..total);
        let mut dept = 0;
        for (i, w) in GT_DEPT_WEIGHTS.iter().enumerate() {
            if x < *w {
                dept = i;
                break;
            }
            x -= w;
        }
        let muni = rng.random_range(1..=GT_MUNICIPALITIES[dept]);
        return format!("{serial}{v}{:02}{muni:02}", dept + 1);
    }
}

/// A DPI/CUI whose verifier is wrong (for the deliberate bad rows).
pub fn break_dpi(dpi: &str) -> String {
    let mut chars: Vec<char> = dpi.chars().collect();
    if let Some(c) = chars.get_mut(8) {
        let d = c.to_digit(10).unwrap_or(0);
        *c = char::from_digit((d + 1) % 10, 10).unwrap_or('0');
    }
    chars.into_iter().collect()
}

/// A CURP whose check digit is wrong (for the deliberate bad rows).
pub fn break_curp(curp: &str) -> String {
    let mut chars: Vec<char> = curp.chars().collect();
    if let Some(c) = chars.last_mut() {
        let d = c.to_digit(10).unwrap_or(0);
        *c = char::from_digit((d + 3) % 10, 10).unwrap_or('1');
    }
    chars.into_iter().collect()
}

/// A US alien number: nine digits.
pub fn make_a_number<R: Rng>(rng: &mut R) -> String {
    format!("{:09}", rng.random_range(200_000_000..240_000_000u32))
}

/// A phone: dialling code and national number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Country (alpha-2) of the number.
    pub country: &'static str,
    pub national: String,
}

impl Phone {
    pub fn calling_code(&self) -> &'static str {
        match self.country {
            "US" => "1",
            "MX" => "52",
            "GT" => "502",
            "HN" => "504",
            "SV" => "503",
            _ => "",
        }
    }

    /// The number in E.164, the one true form (truth files use it).
    pub fn e164(&self) -> String {
        format!("+{}{}", self.calling_code(), self.national)
    }
}

const US_AREAS: &[&str] = &[
    "956", "210", "713", "832", "214", "915", "602", "520", "619", "213", "323", "305", "404",
    "919", "312", "773", "718", "347", "704", "615",
];
const MX_AREAS: &[&str] = &[
    "55", "33", "81", "656", "664", "962", "899", "868", "867", "878", "631", "686", "443", "462",
    "951", "747", "222",
];

/// A mobile number of `country` (MX, GT, HN, SV or US).
pub fn make_phone<R: Rng>(rng: &mut R, country: &'static str) -> Phone {
    let national = match country {
        "US" => format!(
            "{}{}{:04}",
            US_AREAS[rng.random_range(0..US_AREAS.len())],
            rng.random_range(200..1000),
            rng.random_range(0..10000)
        ),
        "MX" => {
            let area = MX_AREAS[rng.random_range(0..MX_AREAS.len())];
            let rest = 10 - area.len();
            let first = rng.random_range(2..10u64);
            let tail = rng.random_range(0..10u64.pow(rest as u32 - 1));
            format!("{area}{first}{tail:0width$}", width = rest - 1)
        }
        "GT" => format!(
            "{}{:07}",
            [3, 4, 5][rng.random_range(0..3)],
            rng.random_range(0..10_000_000)
        ),
        "HN" => format!(
            "{}{:07}",
            [9, 8, 3][rng.random_range(0..3)],
            rng.random_range(0..10_000_000)
        ),
        _ => format!(
            "{}{:07}",
            [7, 6][rng.random_range(0..2)],
            rng.random_range(0..10_000_000)
        ),
    };
    Phone {
        country: if matches!(country, "US" | "MX" | "GT" | "HN") {
            country
        } else {
            "SV"
        },
        national,
    }
}

/// Writes `phone` the way a clerk in `source_country` would: national styles for local numbers,
/// `+` or `00` prefixes for foreign ones.
pub fn format_phone<R: Rng>(rng: &mut R, phone: &Phone, source_country: &str) -> String {
    let n = &phone.national;
    let style = rng.random_range(0..3);
    if phone.country == source_country {
        return match (phone.country, style) {
            ("US", 0) => format!("({}) {}-{}", &n[0..3], &n[3..6], &n[6..]),
            ("US", 1) => format!("{}-{}-{}", &n[0..3], &n[3..6], &n[6..]),
            ("MX", 0) => format!("{} {} {}", &n[0..3], &n[3..6], &n[6..]),
            ("MX", 1) => format!("({}) {}-{}", &n[0..3], &n[3..6], &n[6..]),
            (_, 0) if n.len() == 8 => format!("{}-{}", &n[0..4], &n[4..]),
            (_, 1) if n.len() == 8 => format!("{} {}", &n[0..4], &n[4..]),
            _ => n.clone(),
        };
    }
    let cc = phone.calling_code();
    match style {
        0 => format!("+{cc} {n}"),
        1 if source_country != "US" => format!("00{cc}{n}"),
        _ => format!("+{cc}{n}"),
    }
}

/// A vehicle plate and where it was issued (country, state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate {
    pub number: String,
    pub country: &'static str,
    pub state: &'static str,
}

fn letters<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
        .collect()
}

/// A plate from the border states smuggling routes use.
pub fn make_plate<R: Rng>(rng: &mut R) -> Plate {
    const STATES: &[(&str, &str)] = &[
        ("MX", "TAM"),
        ("MX", "NLE"),
        ("MX", "CHH"),
        ("MX", "SON"),
        ("MX", "BCN"),
        ("MX", "CHP"),
        ("MX", "VER"),
        ("US", "TX"),
        ("US", "AZ"),
        ("US", "CA"),
        ("US", "NM"),
        ("GT", "GT"),
    ];
    let (country, state) = STATES[rng.random_range(0..STATES.len())];
    let number = match country {
        "MX" => format!(
            "{}-{:03}-{}",
            letters(rng, 3),
            rng.random_range(0..1000),
            letters(rng, 1)
        ),
        "GT" => format!("P{:03}{}", rng.random_range(0..1000), letters(rng, 3)),
        _ if state == "CA" => format!(
            "{}{}{:03}",
            rng.random_range(5..10),
            letters(rng, 3),
            rng.random_range(0..1000)
        ),
        _ => format!("{}-{:04}", letters(rng, 3), rng.random_range(0..10000)),
    };
    Plate {
        number,
        country,
        state,
    }
}

/// The CLABE check digit of 17 digits: Σ (digit×weight mod 10) with weights 3,7,1 repeating,
/// then (10 − sum mod 10) mod 10.
pub fn clabe_check_digit(first17: &str) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in first17.chars().enumerate() {
        sum += c.to_digit(10)? * [3, 7, 1][i % 3] % 10;
    }
    (first17.len() == 17).then_some((10 - sum % 10) % 10)
}

/// A bank account that receives payments: an 18-digit Mexican CLABE or a Guatemalan account.
pub fn make_account<R: Rng>(rng: &mut R) -> String {
    if rng.random_bool(0.6) {
        let bank = ["002", "012", "014", "021", "072", "127", "137"][rng.random_range(0..7)];
        let first17 = format!(
            "{bank}{:03}{:011}",
            rng.random_range(10..999),
            rng.random_range(0..100_000_000_000u64)
        );
        let check = clabe_check_digit(&first17).unwrap_or(0);
        format!("{first17}{check}")
    } else {
        format!(
            "GT-{:010}",
            rng.random_range(3_000_000_000u64..3_999_999_999)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn curp_check_digit_of_a_known_curp() {
        // A CURP from the public RENAPO examples: the last character is the check digit.
        let curp = "HEGG560427MVZRRL04";
        assert_eq!(curp_check_digit(&curp[..17]), Some('4'));
    }

    #[test]
    fn generated_curps_are_well_formed() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let dob = NaiveDate::from_ymd_opt(1987, 3, 9).unwrap();
        let c = make_curp(
            &mut rng,
            "de la Cruz",
            Some("Núñez"),
            &["María", "Guadalupe"],
            dob,
            'M',
            "OC",
        );
        assert_eq!(c.chars().count(), 18);
        assert!(c.starts_with("CUNG870309MOC"), "{c}");
        let first17: String = c.chars().take(17).collect();
        assert_eq!(c.chars().last(), curp_check_digit(&first17));
        assert_ne!(break_curp(&c), c);
    }

    #[test]
    fn dpis_verify_and_have_real_municipalities() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..500 {
            let d = make_dpi(&mut rng);
            assert_eq!(d.len(), 13);
            assert_eq!(dpi_verifier(&d[..8]), d[8..9].parse().ok());
            let dept: usize = d[9..11].parse().unwrap();
            let muni: u32 = d[11..13].parse().unwrap();
            assert!((1..=22).contains(&dept));
            assert!(muni >= 1 && muni <= GT_MUNICIPALITIES[dept - 1]);
            assert_ne!(
                dpi_verifier(&break_dpi(&d)[..8]),
                break_dpi(&d)[8..9].parse().ok()
            );
        }
    }

    #[test]
    fn clabe_check_digit_of_a_known_clabe() {
        // The worked example in Banxico's CLABE description.
        assert_eq!(clabe_check_digit("03218000011835971"), Some(9));
    }

    #[test]
    fn phones_have_national_lengths() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for c in ["US", "MX", "GT", "HN", "SV"] {
            let p = make_phone(&mut rng, c);
            let len = if matches!(c, "US" | "MX") { 10 } else { 8 };
            assert_eq!(p.national.len(), len, "{p:?}");
        }
    }
}
