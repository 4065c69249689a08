//! Personal names in the layouts agencies use: separate given names and two surnames (Mexico,
//! Guatemala), a single full-name field, or US-style FIRST/MIDDLE/LAST where LAST may hold one
//! surname or two (joined by a space or a hyphen).

use serde::{Deserialize, Serialize};

/// How a full-name field is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FullNameOrder {
    /// "José Luis García López"
    #[default]
    GivenFirst,
    /// "GARCIA LOPEZ JOSE LUIS" or "GARCIA LOPEZ, JOSE LUIS"
    SurnamesFirst,
}

/// The name fields of one record, as the source laid them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameInput<'a> {
    /// Given name(s) and up to two surnames in separate fields.
    Parts { given: &'a str, surname1: &'a str, surname2: &'a str },
    /// US layout: LAST may hold one or two surnames.
    FirstMiddleLast { first: &'a str, middle: &'a str, last: &'a str },
    /// One field holding the whole name.
    Full { full: &'a str, order: FullNameOrder },
}

/// A person's name, kept for display and normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonName {
    /// Given names as written, whitespace tidied, accents kept.
    pub given_display: String,
    /// Surnames as written, whitespace tidied, accents kept.
    pub surnames_display: String,
    /// Folded given names, one entry per name; compound names ("maria de los angeles") stay whole.
    pub given: Vec<String>,
    /// Folded first (paternal) surname, particles kept attached ("de la cruz").
    pub surname1: Option<String>,
    /// Folded second (maternal) surname.
    pub surname2: Option<String>,
    /// A married name, when the surnames held one ("de garcia" in "perez de garcia").
    pub married_surname: Option<String>,
    /// Alternate folded given names: nickname expansions and abbreviations ("lupe" → "guadalupe").
    pub given_alternates: Vec<String>,
    /// Spanish phonetic keys of the first given name and the two surnames.
    pub given_phonetic: Option<String>,
    pub surname1_phonetic: Option<String>,
    pub surname2_phonetic: Option<String>,
}

/// Why a name was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("no name given")]
    Empty,
    #[error("name has no letters")]
    NoLetters,
}

/// Parses a name in any of the supported layouts.
pub fn parse_name(input: NameInput<'_>) -> Result<PersonName, NameError> {
    let (given, surnames) = match input {
        NameInput::Parts { given, surname1, surname2 } => (given.to_string(), format!("{surname1} {surname2}")),
        NameInput::FirstMiddleLast { first, middle, last } => (format!("{first} {middle}"), last.to_string()),
        NameInput::Full { full, .. } => (full.to_string(), String::new()),
    };
    let given_folded = crate::fold(&given);
    let surnames_folded = crate::fold(&surnames);
    if given_folded.is_empty() && surnames_folded.is_empty() {
        return Err(NameError::Empty);
    }
    let mut parts = surnames_folded.split(' ').filter(|s| !s.is_empty());
    let surname1 = parts.next().map(str::to_string);
    let surname2 = parts.next().map(str::to_string);
    Ok(PersonName {
        given_display: given.split_whitespace().collect::<Vec<_>>().join(" "),
        surnames_display: surnames.split_whitespace().collect::<Vec<_>>().join(" "),
        given: given_folded.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        surname1_phonetic: surname1.as_deref().map(crate::spanish_phonetic),
        surname2_phonetic: surname2.as_deref().map(crate::spanish_phonetic),
        surname1,
        surname2,
        ..PersonName::default()
    })
}
