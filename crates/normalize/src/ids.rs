//! Identifiers: phones to E.164, CURP (structure and check digit), DPI/CUI (check digit),
//! US A-numbers, passports, vehicle plates and accounts. An invalid identifier is kept for display
//! but flagged, and is never used to match.

use serde::{Deserialize, Serialize};

use crate::{clabe, curp, dpi, phone};

/// What kind of identifier a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Phone,
    Curp,
    DpiCui,
    ANumber,
    Passport,
    /// A national or social-security number with no checks of its own here (US SSN, an
    /// Australian tax file number…): a personal identifier, compared by equality.
    NationalId,
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
            IdKind::NationalId => "national_id",
            IdKind::Plate => "plate",
            IdKind::Account => "account",
            IdKind::Other => "other",
        }
    }

    /// An official document number that names one person: CURP, DPI/CUI, A-number, passport,
    /// national id. Strong evidence when shared; blocked and compared on.
    pub fn is_official(self) -> bool {
        matches!(
            self,
            IdKind::Curp | IdKind::DpiCui | IdKind::ANumber | IdKind::Passport | IdKind::NationalId
        )
    }

    /// Whether the identifier belongs to a person (official numbers and phones). Plates,
    /// accounts and "other" identify vehicles, money or nothing in particular.
    pub fn is_personal(self) -> bool {
        self == IdKind::Phone || self.is_official()
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
///
/// Never fails: a value that does not pass its kind's checks comes back with `valid = false` and
/// a `problem` that says what is wrong without repeating the value. Such identifiers are kept for
/// display and review but never used to match.
///
/// For plates, `default_country` may name a subdivision in ISO 3166-2 form ("US-TX", "MX-CHH"),
/// which is kept as the issuer, since a plate number is unique only within its issuing state.
pub fn normalize_identifier(kind: IdKind, raw: &str, default_country: Option<&str>) -> Identifier {
    let raw = raw.trim();
    let issuer = default_country.and_then(|c| issuer(c, kind == IdKind::Plate));
    let country_only = issuer
        .as_deref()
        .map(|c| c.split('-').next().unwrap_or(c).to_string());
    let mut id = Identifier {
        kind,
        raw: raw.to_string(),
        value: String::new(),
        country: if kind == IdKind::Plate {
            issuer.clone()
        } else {
            country_only.clone()
        },
        valid: false,
        problem: None,
    };
    if raw.is_empty() {
        id.problem = Some("empty".to_string());
        return id;
    }
    let problem: Option<String> = match kind {
        IdKind::Phone => {
            let p = phone::normalize_phone(raw, country_only.as_deref());
            id.value = p.value;
            if p.country.is_some() {
                id.country = p.country;
            }
            p.problem.map(str::to_string)
        }
        IdKind::Curp => {
            id.value = compact_upper(raw, false);
            id.country = Some("MX".to_string());
            curp::validate(&id.value).err().map(|e| e.to_string())
        }
        IdKind::DpiCui => {
            id.value = compact_upper(raw, false);
            id.country = Some("GT".to_string());
            dpi::validate(&id.value).err().map(|e| e.to_string())
        }
        IdKind::ANumber => {
            id.country = Some("US".to_string());
            let (value, problem) = a_number(raw);
            id.value = value;
            problem.map(str::to_string)
        }
        IdKind::Passport => {
            id.value = compact_upper(raw, true);
            length_problem(
                &id.value,
                5,
                20,
                "a passport number has 5 to 20 letters and digits",
            )
        }
        IdKind::NationalId => {
            id.value = compact_upper(raw, true);
            length_problem(
                &id.value,
                4,
                20,
                "a national id number has 4 to 20 letters and digits",
            )
        }
        IdKind::Plate => {
            id.value = compact_upper(raw, true);
            length_problem(&id.value, 2, 10, "a plate has 2 to 10 letters and digits")
        }
        IdKind::Account => {
            id.value = compact_upper(raw, true);
            account_problem(&id.value, country_only.as_deref())
        }
        IdKind::Other => {
            id.value = raw
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase();
            None
        }
    };
    id.valid = problem.is_none();
    id.problem = problem;
    id
}

/// Upper-case letters and digits of `raw`: spaces, hyphens, dots and slashes dropped. With
/// `fold`, accented letters lose their accents (Ñ is kept otherwise: a CURP may contain it).
fn compact_upper(raw: &str, fold: bool) -> String {
    let src = if fold {
        crate::fold(raw)
    } else {
        raw.to_string()
    };
    src.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

fn length_problem(value: &str, min: usize, max: usize, message: &str) -> Option<String> {
    let n = value.chars().count();
    (n < min || n > max).then(|| message.to_string())
}

/// A US A-number (Alien Registration Number): "A" and 8 or 9 digits, written with or without the
/// "A", spaces or hyphens. Canonical form: "A" and 9 digits, zero-padded ("A012345678").
fn a_number(raw: &str) -> (String, Option<&'static str>) {
    let compact: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    let digits = compact.strip_prefix('A').unwrap_or(&compact);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return (
            compact.clone(),
            Some("an A-number is \"A\" followed by 8 or 9 digits"),
        );
    }
    if !(8..=9).contains(&digits.len()) {
        return (compact.clone(), Some("an A-number has 8 or 9 digits"));
    }
    let value = format!("A{digits:0>9}");
    if digits.bytes().all(|b| b == b'0') {
        return (value, Some("an A-number cannot be all zeros"));
    }
    (value, None)
}

/// Bank accounts: letters and digits, 4 to 34 of them (34 is the IBAN maximum). A Mexican
/// 18-digit CLABE must carry its check digit; an IBAN (two letters, two digits, …) must pass
/// the ISO 7064 mod-97 check.
fn account_problem(value: &str, country: Option<&str>) -> Option<String> {
    if let Some(p) = length_problem(value, 4, 34, "an account has 4 to 34 letters and digits") {
        return Some(p);
    }
    let b = value.as_bytes();
    if country == Some("MX")
        && b.len() == 18
        && b.iter().all(u8::is_ascii_digit)
        && !clabe::is_valid(value)
    {
        return Some("CLABE check digit does not match".to_string());
    }
    let looks_iban = b.len() >= 15
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b.iter().all(u8::is_ascii_alphanumeric);
    if looks_iban && !iban_ok(b) {
        return Some("IBAN check digits do not match".to_string());
    }
    None
}

/// ISO 13616 IBAN check: move the first four characters to the end, letters to 10–35, and the
/// number modulo 97 must be 1.
fn iban_ok(b: &[u8]) -> bool {
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The issuing country (or, for plates, subdivision) in canonical form: ISO alpha-2 upper case,
/// with a few alpha-3 codes the three countries' agencies use mapped to alpha-2.
fn issuer(code: &str, allow_subdivision: bool) -> Option<String> {
    let upper = code.trim().to_ascii_uppercase();
    let (country, sub) = match upper.split_once('-') {
        Some((c, s))
            if allow_subdivision
                && (1..=3).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (c.to_string(), Some(s.to_string()))
        }
        Some(_) => return None,
        None => (upper, None),
    };
    let alpha2 = match country.as_str() {
        "MEX" => "MX".to_string(),
        "GTM" => "GT".to_string(),
        "USA" => "US".to_string(),
        "HND" => "HN".to_string(),
        "SLV" => "SV".to_string(),
        c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => c.to_string(),
        _ => return None,
    };
    Some(match sub {
        Some(s) => format!("{alpha2}-{s}"),
        None => alpha2,
    })
}

#[cfg(test)]
mod tests;
