//! The address comparison: a street, a postcode and a locality, each of which may be missing or
//! mistyped. The levels go from the same street (in a place that does not conflict) down to
//! nothing in common; postcode and locality back each other up, since a typo in one leaves the
//! other.

use super::similarity::jaro_winkler;
use enlace_normalize::Address;

use super::{NULL_LEVEL, address};

/// Street similarity: the better of the plain Jaro–Winkler and the one of words in sorted
/// order, so "12 main street" and "main street 12" are alike.
fn street_similarity(a: &str, b: &str) -> f64 {
    let sorted = |s: &str| {
        let mut w: Vec<&str> = s.split(' ').collect();
        w.sort_unstable();
        w.join(" ")
    };
    jaro_winkler(a, b).max(jaro_winkler(&sorted(a), &sorted(b)))
}

/// How a part compares: missing on a side, agreeing, or differing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Missing,
    Agrees,
    Differs,
}

fn part(a: Option<&str>, b: Option<&str>, close: impl Fn(&str, &str) -> bool) -> Part {
    match (a, b) {
        (Some(x), Some(y)) if x == y || close(x, y) => Part::Agrees,
        (Some(_), Some(_)) => Part::Differs,
        _ => Part::Missing,
    }
}

pub(crate) fn compare_address(a: Option<&Address>, b: Option<&Address>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return NULL_LEVEL;
    };
    let postcode = part(a.postcode.as_deref(), b.postcode.as_deref(), |_, _| false);
    let locality = part(a.locality.as_deref(), b.locality.as_deref(), |x, y| {
        jaro_winkler(x, y) >= 0.92
    });
    let (street_same, street_similar, street_known) = match (&a.street, &b.street) {
        (Some(x), Some(y)) => (x == y, x == y || street_similarity(x, y) >= 0.88, true),
        _ => (false, false, false),
    };
    if !street_known && postcode == Part::Missing && locality == Part::Missing {
        return NULL_LEVEL;
    }
    let place_agrees = postcode == Part::Agrees || locality == Part::Agrees;
    // The place conflicts when what both sides wrote of it differs and nothing of it agrees.
    let place_conflicts = !place_agrees && (postcode == Part::Differs || locality == Part::Differs);
    if street_same && !place_conflicts {
        address::STREET
    } else if street_similar && place_agrees {
        address::STREET_SIMILAR_PLACE
    } else if postcode == Part::Agrees && locality == Part::Agrees {
        address::POSTCODE_AND_LOCALITY
    } else if place_agrees {
        address::POSTCODE_OR_LOCALITY
    } else if street_similar {
        address::STREET_SIMILAR
    } else {
        address::DIFFERENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_normalize::{AddressInput, normalize_address};

    fn addr(street: &str, locality: &str, postcode: &str) -> Option<Address> {
        normalize_address(AddressInput {
            street,
            locality,
            postcode,
            region: "",
            country: None,
        })
    }

    fn level(a: &Option<Address>, b: &Option<Address>) -> u8 {
        compare_address(a.as_ref(), b.as_ref())
    }

    #[test]
    fn levels_from_same_street_to_nothing_in_common() {
        let home = addr("12 Main St", "Springfield", "2600");
        assert_eq!(
            level(&home, &addr("12 main street", "", "2600")),
            address::STREET
        );
        assert_eq!(
            level(&home, &addr("12 Mian St", "Springfield", "2600")),
            address::STREET_SIMILAR_PLACE
        );
        assert_eq!(
            level(&home, &addr("40 Oak Avenue", "Springfield", "2600")),
            address::POSTCODE_AND_LOCALITY
        );
        assert_eq!(
            level(&home, &addr("40 Oak Avenue", "Springfeld", "2611")),
            address::POSTCODE_OR_LOCALITY
        );
        assert_eq!(
            level(&home, &addr("12 Main St", "Shelbyville", "3000")),
            address::STREET_SIMILAR
        );
        assert_eq!(
            level(&home, &addr("40 Oak Avenue", "Shelbyville", "3000")),
            address::DIFFERENT
        );
    }

    #[test]
    fn missing_on_either_side_is_null() {
        let home = addr("12 Main St", "Springfield", "2600");
        assert_eq!(level(&home, &None), NULL_LEVEL);
        assert_eq!(
            level(&addr("12 Main St", "", ""), &addr("", "", "2600")),
            NULL_LEVEL
        );
    }

    #[test]
    fn word_order_does_not_hide_a_similar_street() {
        let a = addr("12 Main Street", "", "2600");
        let b = addr("Main Street 12", "", "2600");
        assert_eq!(level(&a, &b), address::STREET_SIMILAR_PLACE);
    }
}
