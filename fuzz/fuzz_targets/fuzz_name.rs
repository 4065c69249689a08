//! parse_name on arbitrary text in every layout: never panics, and every folded field it returns
//! is in folded form.
#![no_main]

use enlace_normalize::fold::is_folded;
use enlace_normalize::name::FullNameOrder;
use enlace_normalize::{NameInput, parse_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&layout, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // Fields are separated by '|' so one input can fill all three.
    let mut fields = text.splitn(3, '|');
    let a = fields.next().unwrap_or("");
    let b = fields.next().unwrap_or("");
    let c = fields.next().unwrap_or("");
    let input = match layout % 4 {
        0 => NameInput::Parts { given: a, surname1: b, surname2: c },
        1 => NameInput::FirstMiddleLast { first: a, middle: b, last: c },
        2 => NameInput::Full { full: &text, order: FullNameOrder::GivenFirst },
        _ => NameInput::Full { full: &text, order: FullNameOrder::SurnamesFirst },
    };
    if let Ok(p) = parse_name(input) {
        for g in p.given.iter().chain(&p.given_alternates) {
            assert!(!g.is_empty() && is_folded(g));
        }
        let optional = [
            &p.surname1,
            &p.surname2,
            &p.married_surname,
            &p.given_phonetic,
            &p.surname1_phonetic,
            &p.surname2_phonetic,
        ];
        for s in optional.into_iter().flatten() {
            assert!(!s.is_empty() && is_folded(s));
        }
    }
});
