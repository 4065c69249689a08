use super::*;

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 5, 15).unwrap_or_default()
}

fn full(y: i32, m: u8, d: u8) -> PartialDate {
    PartialDate {
        year: y,
        month: Some(m),
        day: Some(d),
        placeholder: false,
        ambiguous_order: false,
    }
}

fn year_only(y: i32, placeholder: bool) -> PartialDate {
    PartialDate {
        year: y,
        month: None,
        day: None,
        placeholder,
        ambiguous_order: false,
    }
}

fn month_year(y: i32, m: u8, placeholder: bool) -> PartialDate {
    PartialDate {
        year: y,
        month: Some(m),
        day: None,
        placeholder,
        ambiguous_order: false,
    }
}

fn ambiguous(y: i32, m: u8, d: u8) -> PartialDate {
    PartialDate {
        ambiguous_order: true,
        ..full(y, m, d)
    }
}

#[test]
fn valid_dates() {
    use DateOrder::{Dmy, Infer, Mdy, Ymd};
    let cases: &[(&str, DateOrder, PartialDate)] = &[
        // Declared orders and separators.
        ("04/03/1990", Dmy, full(1990, 3, 4)),
        ("04-03-1990", Dmy, full(1990, 3, 4)),
        ("04.03.1990", Dmy, full(1990, 3, 4)),
        ("04 03 1990", Dmy, full(1990, 3, 4)),
        ("4/3/1990", Dmy, full(1990, 3, 4)),
        ("03/04/1990", Mdy, full(1990, 3, 4)),
        ("1990/03/04", Ymd, full(1990, 3, 4)),
        ("1990-03-04", Dmy, full(1990, 3, 4)),
        ("1990-03-04", Mdy, full(1990, 3, 4)),
        // ISO with a time part.
        ("1990-03-04T10:20:30Z", Infer, full(1990, 3, 4)),
        ("1990-03-04T00:00:00.000+02:00", Infer, full(1990, 3, 4)),
        ("1990-03-04 10:20:30", Infer, full(1990, 3, 4)),
        ("04/03/1990 12:00:00 a.m.", Dmy, full(1990, 3, 4)),
        // Inference.
        ("25/03/1990", Infer, full(1990, 3, 25)),
        ("03/25/1990", Infer, full(1990, 3, 25)),
        ("04/03/1990", Infer, ambiguous(1990, 3, 4)),
        ("05/05/1990", Infer, full(1990, 5, 5)),
        ("25/03/1990", Ymd, full(1990, 3, 25)),
        // Compact.
        ("19900304", Infer, full(1990, 3, 4)),
        ("04031990", Dmy, full(1990, 3, 4)),
        ("03041990", Mdy, full(1990, 3, 4)),
        ("25031990", Infer, full(1990, 3, 25)),
        ("900304", Ymd, full(1990, 3, 4)),
        ("040390", Dmy, full(1990, 3, 4)),
        // Two-digit years: latest century not after today (2026).
        ("04/03/90", Dmy, full(1990, 3, 4)),
        ("04/03/25", Dmy, full(2025, 3, 4)),
        ("04/03/26", Dmy, full(2026, 3, 4)),
        ("04/03/27", Dmy, full(1927, 3, 4)),
        ("04/03/00", Dmy, full(2000, 3, 4)),
        // Partial.
        ("1990", Infer, year_only(1990, false)),
        ("03/1990", Infer, month_year(1990, 3, false)),
        ("1990-03", Infer, month_year(1990, 3, false)),
        ("marzo 1990", Infer, month_year(1990, 3, false)),
        ("MAR-1990", Infer, month_year(1990, 3, false)),
        // Month names.
        ("3 de marzo de 1990", Infer, full(1990, 3, 3)),
        ("3 DE MARZO DEL 1990", Infer, full(1990, 3, 3)),
        ("MAR 3 1990", Infer, full(1990, 3, 3)),
        ("March 3rd, 1990", Infer, full(1990, 3, 3)),
        ("3-Mar-90", Infer, full(1990, 3, 3)),
        ("1990 Mar 03", Infer, full(1990, 3, 3)),
        ("1º de enero de 1990", Infer, year_only(1990, true)),
        ("12 dic 1985", Infer, full(1985, 12, 12)),
        ("septiembre 9, 2001", Infer, full(2001, 9, 9)),
        ("sábado 9 de septiembre de 2000", Infer, full(2000, 9, 9)),
        // Placeholders.
        ("01/01/1990", Infer, year_only(1990, true)),
        ("1990-01-01", Infer, year_only(1990, true)),
        ("1900-01-01", Infer, year_only(1900, true)),
        ("00/00/1990", Infer, year_only(1990, true)),
        ("00/03/1990", Dmy, month_year(1990, 3, true)),
        ("15/00/1990", Dmy, year_only(1990, true)),
        ("1990-00-00", Infer, year_only(1990, true)),
        // Limits.
        ("29/02/2000", Dmy, full(2000, 2, 29)),
        ("15/05/2026", Dmy, full(2026, 5, 15)),
        ("05/2026", Infer, month_year(2026, 5, false)),
        ("2026", Infer, year_only(2026, false)),
        ("02/01/1900", Dmy, full(1900, 1, 2)),
    ];
    for (input, order, want) in cases {
        assert_eq!(
            parse_date(input, *order, today()),
            Ok(*want),
            "{input:?} {order:?}"
        );
    }
}

#[test]
fn rejected_dates() {
    use DateOrder::{Dmy, Infer, Mdy, Ymd};
    let impossible = |_: &str| DateError::Impossible(String::new());
    let cases: &[(&str, DateOrder, DateError)] = &[
        ("", Infer, DateError::Empty),
        ("   ", Infer, DateError::Empty),
        ("N/A", Infer, DateError::Empty),
        ("desconocido", Infer, DateError::Empty),
        ("00/00/0000", Infer, DateError::Empty),
        ("0000-00-00", Infer, DateError::Empty),
        ("hello", Infer, DateError::Unrecognised),
        ("12", Infer, DateError::Unrecognised),
        ("1/2/3/4", Infer, DateError::Unrecognised),
        ("12345", Infer, DateError::Unrecognised),
        ("1990-03-04-05", Infer, DateError::Unrecognised),
        ("3 marzo", Infer, DateError::Unrecognised),
        ("1990/1990/03", Infer, DateError::Unrecognised),
        ("04?03?1990", Infer, DateError::Unrecognised),
        ("123/03/1990", Infer, DateError::Unrecognised),
        ("31/02/1990", Dmy, impossible("")),
        ("02/31/1990", Mdy, impossible("")),
        ("29/02/1990", Dmy, impossible("")),
        ("13/13/1990", Infer, impossible("")),
        ("04/13/1990", Dmy, impossible("")),
        ("1990-13-01", Ymd, impossible("")),
        ("13/1990", Infer, impossible("")),
        ("16/05/2026", Dmy, DateError::Future),
        ("06/2026", Infer, DateError::Future),
        ("2027", Infer, DateError::Future),
        ("2099-01-02", Infer, DateError::Future),
        ("31/12/1899", Dmy, DateError::TooOld(1900)),
        ("1850", Infer, DateError::TooOld(1900)),
    ];
    for (input, order, want) in cases {
        let got = parse_date(input, *order, today());
        match (want, &got) {
            (DateError::Impossible(_), Err(DateError::Impossible(reason))) => {
                assert!(!reason.is_empty());
                assert!(
                    !reason.contains(input),
                    "reason repeats the value: {reason}"
                );
            }
            _ => assert_eq!(got, Err(want.clone()), "{input:?} {order:?}"),
        }
    }
}

#[test]
fn messages_do_not_repeat_values() {
    for input in [
        "31/02/1990",
        "13/13/1990",
        "1990-13-01",
        "2099-01-01",
        "1850",
    ] {
        if let Err(e) = parse_date(input, DateOrder::Infer, today()) {
            let msg = e.to_string();
            for part in input.split(['/', '-']) {
                assert!(
                    !msg.contains(part) || part == "1900",
                    "{msg} contains {part}"
                );
            }
        }
    }
}

#[test]
fn iso_and_sentinel() {
    assert_eq!(full(1990, 3, 4).iso(), "1990-03-04");
    assert_eq!(month_year(1990, 3, false).iso(), "1990-03");
    assert_eq!(year_only(1990, true).iso(), "1990");
    let sentinel = parse_date("1900-01-01", DateOrder::Infer, today());
    assert!(sentinel.is_ok_and(|d| d.is_null_sentinel()));
    let real = parse_date("1990-01-01", DateOrder::Infer, today());
    assert!(real.is_ok_and(|d| !d.is_null_sentinel()));
}

#[test]
fn day_numbers_count_days_from_1970_for_full_dates_only() {
    let full = |year, month, day| PartialDate {
        year,
        month: Some(month),
        day: Some(day),
        placeholder: false,
        ambiguous_order: false,
    };
    assert_eq!(full(1970, 1, 1).day_number(), Some(0));
    assert_eq!(full(1969, 12, 31).day_number(), Some(-1));
    // Across a leap day, and the year 2000 (a leap year by the 400-year rule).
    let (feb28, mar1) = (full(2024, 2, 28), full(2024, 3, 1));
    assert_eq!(mar1.day_number().unwrap() - feb28.day_number().unwrap(), 2);
    assert_eq!(
        full(2000, 3, 1).day_number().unwrap() - full(2000, 2, 28).day_number().unwrap(),
        2
    );
    assert_eq!(full(2024, 3, 1).day_number(), Some(19_783));
    // Partial and placeholder dates have none.
    let mut partial = full(2024, 3, 1);
    partial.day = None;
    assert_eq!(partial.day_number(), None);
    let mut filler = full(2024, 1, 1);
    filler.placeholder = true;
    assert_eq!(filler.day_number(), None);
}
