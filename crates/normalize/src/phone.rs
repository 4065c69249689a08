//! Phone numbers to E.164 ("+525512345678"), with the country's numbering plan checked by the
//! `phonenumber` crate (libphonenumber's metadata).
//!
//! Before the crate sees a number it is reduced to digits and an optional leading "+": the crate
//! is handed only text of that shape, which keeps stray characters in agency data from reaching
//! it. Mexican numbers written in the pre-2019 dialling plan are rewritten first: the mobile
//! prefixes 044/045 and the long-distance prefix 01 before a 10-digit number, and the "1" after
//! +52 in international mobile numbers, are dropped.

use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;

/// A phone number after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// E.164 when valid; otherwise the digits (with "+" if one was written), for display.
    pub value: String,
    /// Region the number belongs to (ISO alpha-2), when valid.
    pub country: Option<String>,
    /// Why it is not valid, when it is not.
    pub problem: Option<&'static str>,
}

/// Longest digit string considered: E.164 allows 15 digits, and national forms with old trunk
/// prefixes add a few.
const MAX_DIGITS: usize = 20;

/// Normalises a phone number; `default_country` (ISO alpha-2) applies to numbers written without
/// a country code.
pub fn normalize_phone(raw: &str, default_country: Option<&str>) -> Phone {
    normalize_phone_with(raw, default_country, true)
}

/// The same, always through the `phonenumber` crate's full parser: the reference the fast path
/// is tested against.
pub fn normalize_phone_full(raw: &str, default_country: Option<&str>) -> Phone {
    normalize_phone_with(raw, default_country, false)
}

fn normalize_phone_with(raw: &str, default_country: Option<&str>, use_fast_path: bool) -> Phone {
    let (mut plus, mut digits) = extract(raw);
    let invalid = |plus: bool, digits: &str, problem| Phone {
        value: if plus {
            format!("+{digits}")
        } else {
            digits.to_string()
        },
        country: None,
        problem: Some(problem),
    };
    if digits.is_empty() {
        return invalid(plus, &digits, "no digits");
    }
    if digits.len() > MAX_DIGITS {
        return invalid(plus, &digits, "too many digits for a phone number");
    }
    let country = default_country.and_then(known_region);
    if !plus {
        // International dialling prefixes: 00 in most of the world, 011 from North America.
        if let Some(rest) = digits.strip_prefix("00") {
            digits = rest.to_string();
            plus = true;
        } else if matches!(country, Some(Id::US | Id::CA)) && digits.starts_with("011") {
            digits.drain(..3);
            plus = true;
        }
    }
    mexican_legacy(&mut digits, plus, country == Some(Id::MX));
    if !plus && country.is_none() {
        return invalid(plus, &digits, "no country code and no default country");
    }
    if use_fast_path
        && let Some((value, region)) =
            crate::phone_plan::fast_e164(&digits, plus, country.as_ref().map(|id| id.as_ref()))
    {
        return Phone {
            value,
            country: Some(region.to_string()),
            problem: None,
        };
    }
    let text = if plus {
        format!("+{digits}")
    } else {
        digits.clone()
    };
    match phonenumber::parse(country, &text) {
        Ok(number) if number.is_valid() => Phone {
            value: number.format().mode(phonenumber::Mode::E164).to_string(),
            country: number.country().id().map(|id| id.as_ref().to_string()),
            problem: None,
        },
        Ok(_) => invalid(
            plus,
            &digits,
            "not a valid number in its country's numbering plan",
        ),
        Err(_) => invalid(plus, &digits, "not a phone number"),
    }
}

/// The digits of `raw` and whether a "+" preceded them. Letters or "#" after the digits start an
/// extension or a comment, which is dropped; anything before the first digit ("Tel:") is skipped.
fn extract(raw: &str) -> (bool, String) {
    let mut plus = false;
    let mut digits = String::with_capacity(16);
    for c in raw.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            if digits.len() > MAX_DIGITS {
                break;
            }
        } else if c == '+' && digits.is_empty() {
            plus = true;
        } else if (c.is_alphabetic() || matches!(c, '#' | ';' | ',')) && !digits.is_empty() {
            break;
        }
    }
    (plus, digits)
}

/// The region id for an ISO alpha-2 code, if the metadata knows it (the crate's enum has ids for
/// which it holds no metadata; those must not reach it).
fn known_region(code: &str) -> Option<Id> {
    let upper = code.trim().to_ascii_uppercase();
    let id = Id::from_str(&upper).ok()?;
    DATABASE.by_id(id.as_ref()).map(|_| id)
}

/// Rewrites Mexican numbers from the dialling plan in force before August 2019.
fn mexican_legacy(digits: &mut String, plus: bool, national_mx: bool) {
    if plus {
        // +52 1 55 1234 5678: the "1" marked mobiles in international format.
        if digits.len() == 13 && digits.starts_with("521") {
            digits.remove(2);
        }
    } else if national_mx {
        // 044/045 + 10 digits: local/long-distance mobile; 01 + 10 digits: long distance.
        if digits.len() == 13 && (digits.starts_with("044") || digits.starts_with("045")) {
            digits.drain(..3);
        } else if digits.len() == 12 && digits.starts_with("01") {
            digits.drain(..2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str, country: Option<&str>) -> (String, bool) {
        let p = normalize_phone(raw, country);
        (p.value, p.problem.is_none())
    }

    #[test]
    fn phones_table() {
        let cases: &[(&str, Option<&str>, &str, bool)] = &[
            ("55 1234 5678", Some("MX"), "+525512345678", true),
            ("(55) 1234-5678", Some("MX"), "+525512345678", true),
            ("044 55 1234 5678", Some("MX"), "+525512345678", true),
            ("045 55 1234 5678", Some("MX"), "+525512345678", true),
            ("01 55 1234 5678", Some("MX"), "+525512345678", true),
            ("+52 1 55 1234 5678", None, "+525512345678", true),
            ("+52 55 1234 5678", Some("US"), "+525512345678", true),
            ("0052 55 1234 5678", Some("GT"), "+525512345678", true),
            ("(202) 555-0143", Some("US"), "+12025550143", true),
            ("1-202-555-0143", Some("US"), "+12025550143", true),
            ("011 52 55 1234 5678", Some("US"), "+525512345678", true),
            ("202-555-0143 ext. 12", Some("US"), "+12025550143", true),
            ("Tel: 2232 1234", Some("GT"), "+50222321234", true),
            ("5555 1234", Some("GT"), "+50255551234", true),
            ("12", Some("MX"), "12", false),
            ("no tiene", Some("MX"), "", false),
            ("5512345678", None, "5512345678", false),
            ("5512345678", Some("ZZ"), "5512345678", false),
            (
                "123456789012345678901234",
                Some("MX"),
                "123456789012345678901",
                false,
            ),
        ];
        for (raw, country, want, valid) in cases {
            assert_eq!(
                norm(raw, *country),
                (want.to_string(), *valid),
                "{raw} {country:?}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The fast path never gives another answer than the full parser.
        #[test]
        fn fast_path_agrees_with_the_full_parser(
            // Random digit strings, and strings shaped like NANP and Guatemalan numbers so that
            // most cases reach the fast path's "valid" answer.
            national in proptest::prop_oneof!["[0-9]{7,12}", "[2-9][0-9]{2}[2-9][0-9]{6}", "[2-7][0-9]{7}"],
            prefix in proptest::sample::select(vec!["", "+", "+1", "+52", "+502", "1", "01", "044", "00"]),
            region in proptest::sample::select(vec!["US", "MX", "GT"]),
        ) {
            let raw = format!("{prefix}{national}");
            let fast = normalize_phone(&raw, Some(region));
            let full = normalize_phone_full(&raw, Some(region));
            if fast != full {
                // The one allowed difference: a national number that begins with its region's
                // country code, valid as written, which the crate rejects (see phone_plan).
                let code = match region { "US" => "1", "MX" => "52", _ => "502" };
                let (plus, digits) = extract(&raw);
                proptest::prop_assert!(!plus && digits.starts_with(code), "{} {}: {:?} vs {:?}", raw, region, fast, full);
                proptest::prop_assert!(fast.problem.is_none() && full.problem.is_some(), "{} {}: {:?} vs {:?}", raw, region, fast, full);
            }
        }
    }

    #[test]
    fn fast_path_agrees_on_realistic_numbers() {
        // Area codes and exchanges that exist, written as agencies write them.
        let cases = [
            ("(956) 555-0142", "US"),
            ("1 915 555 0199", "US"),
            ("+1 210 555 0101", "MX"),
            ("55 1234 5678", "MX"),
            ("962 123 4567", "MX"),
            ("+52 1 962 123 4567", "GT"),
            ("5555 1234", "GT"),
            ("2232 1234", "GT"),
            ("+502 4444 5555", "US"),
            ("+52 999 111 2222", "MX"),
        ];
        for (raw, region) in cases {
            assert_eq!(
                normalize_phone(raw, Some(region)),
                normalize_phone_full(raw, Some(region)),
                "{raw} {region}"
            );
        }
    }

    #[test]
    fn guatemalan_mobiles_that_begin_with_502_are_valid() {
        for raw in ["5020-9791", "5024 2870", "50279513"] {
            let p = normalize_phone(raw, Some("GT"));
            assert_eq!(p.problem, None, "{raw}");
            assert_eq!(p.value, format!("+502{}", raw.replace(['-', ' '], "")));
        }
    }

    #[test]
    fn country_of_valid_number() {
        let p = normalize_phone("+502 2232 1234", Some("MX"));
        assert_eq!(p.country.as_deref(), Some("GT"));
    }
}
