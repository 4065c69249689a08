//! Property tests: the normalisers never panic, their folded outputs are folded, and valid values
//! survive a round trip.

use chrono::{Datelike, NaiveDate};
use enlace_normalize::fold::is_folded;
use enlace_normalize::name::FullNameOrder;
use enlace_normalize::{
    AddressInput, DateOrder, IdKind, NameInput, curp, dpi, fold, normalize_address,
    normalize_identifier, parse_date, parse_name, spanish_phonetic,
};
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 15).unwrap_or_default()
}

/// Name-like text: letters with and without accents, particles, punctuation and digits.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        proptest::collection::vec(
            prop_oneof![
                Just("de".to_string()),
                Just("la".to_string()),
                Just("del".to_string()),
                Just("y".to_string()),
                Just("vda.".to_string()),
                Just("Ma.".to_string()),
                Just("JR".to_string()),
                Just(",".to_string()),
                "[A-Za-zÁÉÍÓÚáéíóúÑñÜü'\\-.]{1,10}",
            ],
            0..8
        )
        .prop_map(|w| w.join(" ")),
    ]
}

fn any_order() -> impl Strategy<Value = FullNameOrder> {
    prop_oneof![
        Just(FullNameOrder::GivenFirst),
        Just(FullNameOrder::SurnamesFirst)
    ]
}

proptest! {
    #[test]
    fn fold_is_idempotent_and_plain(s in "\\PC{0,60}") {
        let f = fold(&s);
        prop_assert!(is_folded(&f), "{:?}", f);
        prop_assert_eq!(fold(&f), f.clone());
        prop_assert!(f.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
    }

    #[test]
    fn parse_name_never_panics_and_folds(a in name_text(), b in name_text(), c in name_text(), order in any_order()) {
        let inputs = [
            NameInput::Parts { given: &a, surname1: &b, surname2: &c },
            NameInput::FirstMiddleLast { first: &a, middle: &b, last: &c },
            NameInput::Full { full: &a, order },
        ];
        for input in inputs {
            if let Ok(p) = parse_name(input) {
                for g in p.given.iter().chain(&p.given_alternates) {
                    prop_assert!(!g.is_empty() && is_folded(g), "{:?}", g);
                }
                for s in [&p.surname1, &p.surname2, &p.married_surname, &p.given_phonetic, &p.surname1_phonetic, &p.surname2_phonetic].into_iter().flatten() {
                    prop_assert!(!s.is_empty() && is_folded(s), "{:?}", s);
                }
                prop_assert!(!p.given.is_empty() || p.surname1.is_some() || p.married_surname.is_some());
            }
        }
    }

    #[test]
    fn phonetic_ignores_case_and_accents(s in "[a-z ]{0,30}") {
        let key = spanish_phonetic(&s);
        prop_assert_eq!(spanish_phonetic(&s.to_uppercase()), key.clone());
        let accented: String = s.chars().map(|c| match c {
            'a' => 'á', 'e' => 'é', 'i' => 'í', 'o' => 'ó', 'u' => 'ü', 'n' => 'ñ', other => other,
        }).collect();
        prop_assert_eq!(spanish_phonetic(&accented), key.clone());
        prop_assert!(key.is_empty() || is_folded(&key), "{:?}", key);
        prop_assert_eq!(key.split(' ').filter(|w| !w.is_empty()).count(), fold(&s).split(' ').filter(|w| !w.is_empty()).count());
    }

    #[test]
    fn parse_date_never_panics(s in "\\PC{0,40}", order in prop_oneof![Just(DateOrder::Dmy), Just(DateOrder::Mdy), Just(DateOrder::Ymd), Just(DateOrder::Infer)]) {
        if let Ok(d) = parse_date(&s, order, today()) {
            prop_assert!(d.year >= 1900 && d.year <= today().year());
            prop_assert!(d.day.is_none() || d.month.is_some());
        }
    }

    #[test]
    fn parse_date_round_trips(days in 1i64..46_000, sep in prop_oneof![Just("/"), Just("-"), Just("."), Just(" ")]) {
        let base = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let date = base + chrono::Duration::days(days);
        prop_assume!(date <= today());
        let (y, m, d) = (date.year(), date.month(), date.day());
        let written = [
            (DateOrder::Dmy, format!("{d:02}{sep}{m:02}{sep}{y}")),
            (DateOrder::Mdy, format!("{m:02}{sep}{d:02}{sep}{y}")),
            (DateOrder::Ymd, format!("{y}{sep}{m:02}{sep}{d:02}")),
            (DateOrder::Dmy, format!("{d}{sep}{m}{sep}{y}")),
        ];
        for (order, text) in written {
            let got = parse_date(&text, order, today());
            prop_assert!(got.is_ok(), "{} {:?}: {:?}", text, order, got);
            let got = got.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(got.year, y);
            prop_assert!(!got.ambiguous_order);
            if m == 1 && d == 1 {
                prop_assert!(got.placeholder && got.month.is_none() && got.day.is_none());
            } else {
                prop_assert_eq!((got.month, got.day), (Some(m as u8), Some(d as u8)));
            }
        }
        // Inferred order reads the same date whenever it is not flagged ambiguous.
        let inferred = parse_date(&format!("{d:02}{sep}{m:02}{sep}{y}"), DateOrder::Infer, today());
        if let Ok(p) = inferred && p.day.is_some() {
            prop_assert_eq!(p.ambiguous_order, d <= 12 && m <= 12 && d != m);
            prop_assert_eq!((p.month, p.day), (Some(m as u8), Some(d as u8)));
        }
    }

    #[test]
    fn generated_curps_are_valid(
        initials in "[A-Z][AEIOUX][A-Z]{2}",
        days in 0i64..40_000,
        sex in "[HMX]",
        state in proptest::sample::select(curp::STATE_CODES),
        consonants in "[B-DF-HJ-NP-TV-Z]{3}",
        homoclave_digit in 0u32..10,
        homoclave_letter in "[A-Z]",
        wrong in "[0-9A-Z]",
    ) {
        let date = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap_or_default() + chrono::Duration::days(days);
        let homoclave = if date.year() < 2000 { char::from_digit(homoclave_digit, 10).unwrap_or('0').to_string() } else { homoclave_letter };
        let body = format!("{initials}{:02}{:02}{:02}{sex}{state}{consonants}{homoclave}", date.year() % 100, date.month(), date.day());
        let check = curp::check_digit(&body);
        prop_assert!(check.is_some());
        let check = check.unwrap_or('0');
        let valid = format!("{body}{check}");
        prop_assert_eq!(curp::validate(&valid), Ok(()));
        prop_assert_eq!(curp::birth_date(&valid), Some(date));
        let id = normalize_identifier(IdKind::Curp, &valid.to_lowercase(), None);
        prop_assert!(id.valid, "{:?}", id.problem);
        // Any other character in the check-digit place is refused.
        prop_assume!(!wrong.starts_with(check));
        let broken = format!("{body}{wrong}");
        prop_assert!(curp::validate(&broken).is_err());
        prop_assert!(!normalize_identifier(IdKind::Curp, &broken, None).valid);
    }

    #[test]
    fn generated_dpis_are_valid(serial in "[0-9]{8}", dept in 1usize..=22, muni_pick in 0u8..100) {
        let Some(check) = dpi::check_digit(&serial) else {
            return Ok(());
        };
        let count = dpi::MUNICIPALITIES[dept - 1];
        let muni = muni_pick % count + 1;
        let cui = format!("{serial}{check}{dept:02}{muni:02}");
        prop_assert_eq!(dpi::validate(&cui), Ok(()));
        let spaced = format!("{} {} {}", &cui[..4], &cui[4..9], &cui[9..]);
        prop_assert!(normalize_identifier(IdKind::DpiCui, &spaced, None).valid);
        for d in '0'..='9' {
            if d != check {
                let broken = format!("{serial}{d}{dept:02}{muni:02}");
                prop_assert!(dpi::validate(&broken).is_err());
            }
        }
    }

    #[test]
    fn addresses_normalise_to_a_fixed_point(street in "\\PC{0,50}", locality in "\\PC{0,20}", postcode in "\\PC{0,10}") {
        // Normalising what normalisation wrote changes nothing: the same address typed twice
        // and stored once compares equal to itself, and every part is folded.
        let input = AddressInput { street: &street, locality: &locality, postcode: &postcode, region: "", country: None };
        if let Some(a) = normalize_address(input) {
            let street2 = a.street.clone().unwrap_or_default();
            let locality2 = a.locality.clone().unwrap_or_default();
            let postcode2 = a.postcode.clone().unwrap_or_default();
            let again = normalize_address(AddressInput { street: &street2, locality: &locality2, postcode: &postcode2, region: "", country: None });
            prop_assert_eq!(again.as_ref(), Some(&a));
            for part in [&a.street, &a.locality].into_iter().flatten() {
                prop_assert!(is_folded(part));
            }
        } else {
            prop_assert!(postcode.chars().all(|c| !c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn normalize_identifier_never_panics(raw in "\\PC{0,40}", country in proptest::option::of("[A-Za-z\\-]{0,6}")) {
        for kind in [IdKind::Phone, IdKind::Curp, IdKind::DpiCui, IdKind::ANumber, IdKind::Passport, IdKind::NationalId, IdKind::Plate, IdKind::Account, IdKind::Other] {
            let id = normalize_identifier(kind, &raw, country.as_deref());
            prop_assert_eq!(id.valid, id.problem.is_none());
            prop_assert_eq!(id.kind, kind);
        }
    }

    #[test]
    fn phones_never_panic_on_digit_soup(raw in "[+0-9 ()\\-]{0,30}", country in prop_oneof![Just("MX"), Just("US"), Just("GT"), Just("HN")]) {
        let id = normalize_identifier(IdKind::Phone, &raw, Some(country));
        if id.valid {
            prop_assert!(id.value.starts_with('+'));
            prop_assert!(id.value[1..].bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
