//! parse_date on arbitrary text in every order: never panics, and an accepted date is within
//! the accepted range and well formed.
#![no_main]

use enlace_normalize::{DateError, DateOrder, parse_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&order, rest)) = data.split_first() else {
        return;
    };
    let order = match order % 4 {
        0 => DateOrder::Dmy,
        1 => DateOrder::Mdy,
        2 => DateOrder::Ymd,
        _ => DateOrder::Infer,
    };
    let text = String::from_utf8_lossy(rest);
    let Some(today) = chrono::NaiveDate::from_ymd_opt(2026, 5, 15) else {
        return;
    };
    match parse_date(&text, order, today) {
        Ok(d) => {
            assert!((1900..=2026).contains(&d.year));
            assert!(d.day.is_none() || d.month.is_some());
            assert!(d.month.is_none_or(|m| (1..=12).contains(&m)));
            if let (Some(m), Some(day)) = (d.month, d.day) {
                let date = chrono::NaiveDate::from_ymd_opt(d.year, m.into(), day.into());
                assert!(date.is_some_and(|x| x <= today));
            }
        }
        Err(DateError::Impossible(reason)) => assert!(!reason.is_empty()),
        Err(_) => {}
    }
});
