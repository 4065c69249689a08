//! A fast path for the phones the three agencies see most: national numbers of the US, Mexico
//! and Guatemala, and international numbers with those countries' codes.
//!
//! Why: `phonenumber::parse` runs a dozen regular expressions per number through a shared,
//! mutex-guarded cache, and was 25 % of an import's time. For a number that is already reduced to
//! digits, validity is only a question of the region's patterns, so this module compiles those
//! patterns — libphonenumber's own, read from the crate's metadata — once, and tests the national
//! number against them the way the crate's validator does (general pattern, then any number
//! type, each with its possible lengths). It answers only for fixed-line and mobile numbers valid in that
//! region; everything else falls back to the crate. Its verdicts agree with the crate's but for
//! one case where the crate departs from libphonenumber (national numbers that begin with their
//! own country code, see `fast_e164`); a property test holds it to that.

use std::sync::LazyLock;

use phonenumber::metadata::{DATABASE, Descriptor};
use regex::Regex;

/// One descriptor's pattern, anchored at the start as the crate's `Descriptor::is_match` is.
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn of(d: &Descriptor) -> Option<Pattern> {
        // The metadata's patterns are written with insignificant white space, as the crate
        // compiles them.
        let regex = regex::RegexBuilder::new(&format!("^(?:{})", d.national_number().as_str()))
            .ignore_whitespace(true)
            .build()
            .ok()?;
        Some(Pattern {
            regex,
            lengths: d.possible_length().to_vec(),
        })
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// A region's compiled patterns.
struct Plan {
    region: &'static str,
    code: String,
    general: Pattern,
    types: Vec<Pattern>,
}

impl Plan {
    fn load(region: &'static str) -> Option<Plan> {
        let meta = DATABASE.by_id(region)?;
        let d = meta.descriptors();
        // Fixed-line and mobile numbers only: they are nearly all that agencies record, and the
        // crate's parser treats some special ranges (premium, toll-free) in ways its plain
        // pattern test does not show — those go to the full parser.
        let types = [d.fixed_line(), d.mobile()]
            .into_iter()
            .flatten()
            .map(Pattern::of)
            .collect::<Option<Vec<_>>>()?;
        Some(Plan {
            region,
            code: meta.country_code().to_string(),
            general: Pattern::of(d.general())?,
            types,
        })
    }

    fn is_valid(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

static PLANS: LazyLock<Vec<Plan>> = LazyLock::new(|| {
    ["US", "MX", "GT"]
        .into_iter()
        .filter_map(Plan::load)
        .collect()
});

/// The E.164 form and region of `digits` when it is a valid number of one of the home regions:
/// national digits under `default_region`, or international digits (after the "+") with a home
/// region's country code. `None` means "ask the full parser".
pub(crate) fn fast_e164(
    digits: &str,
    plus: bool,
    default_region: Option<&str>,
) -> Option<(String, &'static str)> {
    let plans = &*PLANS;
    if plus {
        // Country codes 1, 52 and 502 do not prefix one another, so at most one plan applies.
        let plan = plans.iter().find(|p| digits.starts_with(p.code.as_str()))?;
        let national = &digits[plan.code.len()..];
        return plan
            .is_valid(national)
            .then(|| (format!("+{digits}"), plan.region));
    }
    let plan = plans.iter().find(|p| Some(p.region) == default_region)?;
    // US numbers are often written with the trunk prefix 1; Mexico's old prefixes are removed
    // before this point, and Guatemala has none. A national number that begins with its own
    // country code and is valid as it stands ("5020 9791", a Guatemalan mobile) is taken as it
    // stands, as libphonenumber does; the `phonenumber` crate strips the "502" and rejects it,
    // which lost about one Guatemalan mobile in a hundred.
    let national = match plan.region {
        "US" if digits.len() == 11 => digits.strip_prefix('1')?,
        _ => digits,
    };
    plan.is_valid(national)
        .then(|| (format!("+{}{national}", plan.code), plan.region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_for_valid_home_numbers_and_defers_the_rest() {
        assert_eq!(
            fast_e164("2025550143", false, Some("US")),
            Some(("+12025550143".to_string(), "US"))
        );
        assert_eq!(
            fast_e164("12025550143", false, Some("US")),
            Some(("+12025550143".to_string(), "US"))
        );
        assert_eq!(
            fast_e164("5512345678", false, Some("MX")),
            Some(("+525512345678".to_string(), "MX"))
        );
        assert_eq!(
            fast_e164("50222321234", true, None),
            Some(("+50222321234".to_string(), "GT"))
        );
        // Not valid where asked, or not a home region: the full parser decides.
        assert_eq!(fast_e164("12", false, Some("MX")), None);
        assert_eq!(fast_e164("442071838750", true, None), None);
        assert_eq!(fast_e164("5512345678", false, Some("GB")), None);
    }
}
