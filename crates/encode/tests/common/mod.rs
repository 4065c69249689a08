//! Record builders shared by the integration tests.
#![allow(dead_code)]

use enlace_encode::ProjectSecret;
use enlace_model::Record;
use enlace_normalize::{IdKind, Identifier, PartialDate, PersonName, Sex, spanish_phonetic};

pub fn secret(byte: u8) -> ProjectSecret {
    ProjectSecret::from_bytes(&[byte; 32]).unwrap()
}

pub fn id(kind: IdKind, value: &str, country: Option<&str>, valid: bool) -> Identifier {
    Identifier {
        kind,
        raw: value.to_string(),
        value: value.to_string(),
        country: country.map(str::to_string),
        valid,
        problem: None,
    }
}

pub fn date(year: i32, month: u8, day: u8) -> PartialDate {
    PartialDate {
        year,
        month: Some(month),
        day: Some(day),
        placeholder: false,
        ambiguous_order: false,
    }
}

/// A record with folded names as normalisation would produce them.
pub fn person(given: &str, s1: &str, s2: &str, birth: Option<PartialDate>, sex: Sex) -> Record {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let given_list: Vec<String> = given.split_whitespace().map(str::to_string).collect();
    Record {
        key: format!("{given}|{s1}|{s2}"),
        name: PersonName {
            given_display: given.to_string(),
            surnames_display: format!("{s1} {s2}"),
            given_phonetic: given_list.first().map(|g| spanish_phonetic(g)),
            given: given_list,
            surname1: opt(s1),
            surname2: opt(s2),
            surname1_phonetic: opt(s1).map(|s| spanish_phonetic(&s)),
            surname2_phonetic: opt(s2).map(|s| spanish_phonetic(&s)),
            ..PersonName::default()
        },
        birth_date: birth,
        sex,
        nationality: Some("MX".to_string()),
        identifiers: vec![
            id(IdKind::Phone, "+525512345678", Some("MX"), true),
            id(IdKind::Curp, "GAHJ850314HDFRRN09", Some("MX"), true),
        ],
        events: Vec::new(),
        address: None,
        attributes: Vec::new(),
        warnings: Vec::new(),
    }
}

pub fn typical() -> Record {
    person(
        "maria guadalupe",
        "hernandez",
        "lopez",
        Some(date(1985, 3, 14)),
        Sex::Female,
    )
}
