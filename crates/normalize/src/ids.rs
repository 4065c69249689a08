//! Identifiers: phones to E.164, CURP (structure and check digit), DPI/CUI (check digit),
//! US A-numbers, passports, vehicle plates and accounts. An invalid identifier is kept for display
//! but flagged, and is never used to match.

use serde::{Deserialize, Serialize};

/// What kind of identifier a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Phone,
    Curp,
    DpiCui,
    ANumber,
    Passport,
    Plate,
    Account,
    Other,
}

impl IdKind {
    /// The name used in mappings and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Phone => "phone",
            IdKind::Curp => "curp",
            IdKind::DpiCui => "dpi_cui",
            IdKind::ANumber => "a_number",
            IdKind::Passport => "passport",
            IdKind::Plate => "plate",
            IdKind::Account => "account",
            IdKind::Other => "other",
        }
    }
}

/// One identifier after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: IdKind,
    /// The value as the source wrote it (trimmed), for display.
    pub raw: String,
    /// The canonical form used for matching (E.164, upper-case CURP, digits-only DPI, …).
    pub value: String,
    /// Issuing country (ISO 3166-1 alpha-2) where known.
    pub country: Option<String>,
    /// Whether `value` passed its kind's checks; invalid identifiers never match.
    pub valid: bool,
    /// Why it is invalid, when it is.
    pub problem: Option<String>,
}

/// Normalises `raw` as an identifier of `kind`; `default_country` (ISO alpha-2) is the source's
/// country, used for phones without a country code and as the issuer where none is given.
pub fn normalize_identifier(kind: IdKind, raw: &str, default_country: Option<&str>) -> Identifier {
    let raw = raw.trim();
    Identifier {
        kind,
        raw: raw.to_string(),
        value: raw.to_uppercase(),
        country: default_country.map(str::to_string),
        valid: !raw.is_empty(),
        problem: None,
    }
}
