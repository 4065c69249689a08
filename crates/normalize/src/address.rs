//! Postal addresses: street, locality, postcode, region and country folded into comparable
//! forms. Clerks write "Av. Reforma 12", "AVENIDA REFORMA #12" and "12 Reforma Ave": the street
//! is folded (case, accents, punctuation) and its common abbreviations spelt out, in English and
//! Spanish, so that such variants compare equal or close.

use serde::{Deserialize, Serialize};

use crate::fold;

/// A normalised address. Every part is optional; an address with no part at all is `None` from
/// [`normalize_address`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street with house number, folded, abbreviations spelt out ("avenida reforma 12").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Town, suburb or colonia, folded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Postcode: upper-case letters and digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// State, province or department, folded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The parts of an address as a source wrote them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressInput<'a> {
    pub street: &'a str,
    pub locality: &'a str,
    pub postcode: &'a str,
    pub region: &'a str,
    pub country: Option<&'a str>,
}

/// Street words written short, and their full form. Both languages of the region: a US record
/// may hold a Mexican address and the other way round.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("st", "street"),
    ("str", "street"),
    ("rd", "road"),
    ("ave", "avenue"),
    ("av", "avenida"),
    ("avda", "avenida"),
    ("blvd", "boulevard"),
    ("dr", "drive"),
    ("ln", "lane"),
    ("ct", "court"),
    ("pl", "place"),
    ("hwy", "highway"),
    ("apt", "apartment"),
    ("cl", "calle"),
    ("c", "calle"),
    ("col", "colonia"),
    ("fracc", "fraccionamiento"),
    ("carr", "carretera"),
    ("no", "numero"),
    ("num", "numero"),
    ("nro", "numero"),
    ("int", "interior"),
    ("ext", "exterior"),
    ("zn", "zona"),
];

/// Words that say nothing about where the place is: dropped, so "Calle 5 No. 12" equals
/// "Calle 5 12".
const NOISE: &[&str] = &["numero"];

fn expand(word: &str) -> &str {
    ABBREVIATIONS
        .iter()
        .find(|(short, _)| *short == word)
        .map(|(_, long)| *long)
        .unwrap_or(word)
}

/// Folds `text` and splits it into words on anything that is not a letter or digit.
fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Street or locality words with abbreviations spelt out ("Col. Juárez" → "colonia juarez").
/// The same rule on both sides keeps a wrong expansion harmless ("St Kilda" becomes "street
/// kilda" everywhere).
fn expanded(text: &str) -> Option<String> {
    let out: Vec<String> = words(text)
        .iter()
        .map(|w| expand(w).to_string())
        .filter(|w| !NOISE.contains(&w.as_str()))
        .collect();
    (!out.is_empty()).then(|| out.join(" "))
}

fn plain(text: &str) -> Option<String> {
    let out = words(text);
    (!out.is_empty()).then(|| out.join(" "))
}

fn postcode(text: &str) -> Option<String> {
    let out: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!out.is_empty()).then_some(out)
}

/// Normalises an address; `None` when every part is empty.
pub fn normalize_address(input: AddressInput<'_>) -> Option<Address> {
    let address = Address {
        street: expanded(input.street),
        locality: expanded(input.locality),
        postcode: postcode(input.postcode),
        region: plain(input.region),
        country: input
            .country
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())),
    };
    let empty = address.street.is_none()
        && address.locality.is_none()
        && address.postcode.is_none()
        && address.region.is_none();
    (!empty).then_some(address)
}

/// The house number of a normalised street: its first word made only of digits.
pub fn house_number(street: &str) -> Option<&str> {
    street
        .split(' ')
        .find(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(street: &'a str, locality: &'a str, postcode: &'a str) -> AddressInput<'a> {
        AddressInput {
            street,
            locality,
            postcode,
            region: "",
            country: None,
        }
    }

    #[test]
    fn abbreviations_and_accents_fold_to_one_form() {
        let a = normalize_address(input("Av. Reforma No. 12", "Col. Juárez", "06600")).unwrap();
        let b =
            normalize_address(input("AVENIDA REFORMA #12", "Colonia Juarez", "06 600")).unwrap();
        assert_eq!(a.street.as_deref(), Some("avenida reforma 12"));
        assert_eq!(a, b);
        assert_eq!(a.locality.as_deref(), Some("colonia juarez"));
        assert_eq!(a.postcode.as_deref(), Some("06600"));
    }

    #[test]
    fn english_street_words_are_spelt_out() {
        let a = normalize_address(input("12 Main St.", "", "")).unwrap();
        assert_eq!(a.street.as_deref(), Some("12 main street"));
        assert_eq!(house_number(a.street.as_deref().unwrap()), Some("12"));
    }

    #[test]
    fn an_address_with_nothing_in_it_is_none() {
        assert_eq!(normalize_address(input(" ", "--", "")), None);
        assert!(normalize_address(input("", "", "2600")).is_some());
    }

    #[test]
    fn country_must_be_two_letters() {
        let mut i = input("x", "", "");
        i.country = Some("mx");
        assert_eq!(normalize_address(i).unwrap().country.as_deref(), Some("MX"));
        i.country = Some("Mexico");
        assert_eq!(normalize_address(i).unwrap().country, None);
    }
}
