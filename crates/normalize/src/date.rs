//! Dates as agencies write them: with known or inferred day/month order, partial (year only),
//! and placeholders such as 01/01 that carry no information about the day.
//!
//! Rules (docs/normalisation.md has the full list with examples):
//! * separators `/ - .`, spaces and commas; a time part ("T10:30", " 10:30:00") is ignored;
//! * a 4-digit number (or one above 31) is the year, wherever it stands; otherwise the declared
//!   order decides, and `Infer` takes the year last;
//! * under `Infer`, a first or second number above 12 settles day and month; when both are 12 or
//!   less and differ, the date is read day-first (Mexico and Guatemala write DMY; US sources
//!   should declare `Mdy`) and flagged `ambiguous_order`;
//! * two-digit years take the most recent century that does not put them after `today`;
//! * 00 or 01/01 day and month are placeholders: the date is kept to the year (or month) with
//!   `placeholder` set;
//! * dates after `today` and years before 1900 are refused.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// The order of day, month and year in a source's date column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    Dmy,
    Mdy,
    Ymd,
    /// Decide per value: unambiguous values settle it, ambiguous ones are flagged.
    #[default]
    Infer,
}

/// A date that may be known only to the year or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u8>,
    pub day: Option<u8>,
    /// The day and month look like a filler value (01/01, 1 January) rather than a real date.
    pub placeholder: bool,
    /// Day and month could be read either way (both ≤ 12, unequal) under inferred order.
    pub ambiguous_order: bool,
}

impl PartialDate {
    /// ISO 8601 text: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    pub fn iso(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{:02}-{:02}", self.year, m, d),
            (Some(m), None) => format!("{:04}-{:02}", self.year, m),
            _ => format!("{:04}", self.year),
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian) of a full date — day and month known, not a
    /// placeholder — so that the distance between two dates is a subtraction; `None` otherwise.
    pub fn day_number(&self) -> Option<i64> {
        let (month, day) = (self.month?, self.day?);
        if self.placeholder || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let (m, d) = (i64::from(month), i64::from(day));
        let y = i64::from(self.year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let day_of_year = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some(era * 146_097 + day_of_era - 719_468)
    }

    /// Whether this is the "1900-01-01" null sentinel some systems store for an unknown date: it
    /// parses as year 1900 with `placeholder`, and carries no information at all.
    pub fn is_null_sentinel(&self) -> bool {
        self.placeholder && self.year == MIN_YEAR && self.month.is_none()
    }
}

/// Why a date string was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("empty date")]
    Empty,
    #[error("unrecognised date format")]
    Unrecognised,
    #[error("impossible date: {0}")]
    Impossible(String),
    #[error("date lies in the future")]
    Future,
    #[error("date is implausibly old (before {0})")]
    TooOld(i32),
}

/// The earliest year accepted: older dates in these records are typing errors or sentinels.
pub const MIN_YEAR: i32 = 1900;

/// Parses `s` read with `order`; `today` bounds the future and the two-digit-year century.
pub fn parse_date(
    s: &str,
    order: DateOrder,
    today: chrono::NaiveDate,
) -> Result<PartialDate, DateError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    if s.len() > 64 {
        return Err(DateError::Unrecognised);
    }
    if is_null_marker(s) {
        return Err(DateError::Empty);
    }
    let toks = tokenize(s)?;
    let toks = toks.as_slice();
    // "00/00/0000", "0000-00-00", "0": a zero-filled field means no date.
    if !toks.is_empty() && toks.iter().all(|t| matches!(t, Tok::Num { v: 0, .. })) {
        return Err(DateError::Empty);
    }
    let raw = interpret(toks, order, today)?;
    finish(raw, today)
}

/// A number with its digit count (leading zeros included), or a month name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Num { v: u32, len: usize },
    Month(u32),
}

/// At most three tokens: day, month, year.
struct Toks {
    items: [Tok; 3],
    n: usize,
}

impl Toks {
    fn new() -> Toks {
        Toks {
            items: [Tok::Month(0); 3],
            n: 0,
        }
    }

    fn push(&mut self, t: Tok) -> Result<(), DateError> {
        let slot = self.items.get_mut(self.n).ok_or(DateError::Unrecognised)?;
        *slot = t;
        self.n += 1;
        Ok(())
    }

    fn as_slice(&self) -> &[Tok] {
        &self.items[..self.n]
    }
}

fn tokenize(s: &str) -> Result<Toks, DateError> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Toks::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start > 8 {
                return Err(DateError::Unrecognised);
            }
            // "10:30": the time part starts; the date is complete.
            if chars.get(i) == Some(&':') {
                break;
            }
            let v = chars[start..i]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + d.to_digit(10).unwrap_or(0));
            toks.push(Tok::Num { v, len: i - start })?;
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let word = crate::fold(&word);
            let digit_before = start > 0 && chars[start - 1].is_ascii_digit();
            let digit_after = chars.get(i).is_some_and(char::is_ascii_digit);
            // ISO "1990-03-04T10:30".
            if word == "t" && digit_before && digit_after {
                break;
            }
            if let Some(m) = month_number(&word) {
                toks.push(Tok::Month(m))?;
            } else if !IGNORED_WORDS.contains(&word.as_str()) {
                return Err(DateError::Unrecognised);
            }
        } else if c == ':' {
            break;
        } else if matches!(c, '/' | '-' | '.' | ',' | '_' | '\'') || c.is_whitespace() {
            i += 1;
        } else {
            return Err(DateError::Unrecognised);
        }
    }
    Ok(toks)
}

const MONTHS: &[(&str, u32)] = &[
    ("enero", 1),
    ("ene", 1),
    ("january", 1),
    ("jan", 1),
    ("febrero", 2),
    ("feb", 2),
    ("february", 2),
    ("marzo", 3),
    ("mar", 3),
    ("march", 3),
    ("abril", 4),
    ("abr", 4),
    ("april", 4),
    ("apr", 4),
    ("mayo", 5),
    ("may", 5),
    ("junio", 6),
    ("jun", 6),
    ("june", 6),
    ("julio", 7),
    ("jul", 7),
    ("july", 7),
    ("agosto", 8),
    ("ago", 8),
    ("august", 8),
    ("aug", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("sep", 9),
    ("sept", 9),
    ("set", 9),
    ("september", 9),
    ("octubre", 10),
    ("oct", 10),
    ("october", 10),
    ("noviembre", 11),
    ("nov", 11),
    ("november", 11),
    ("diciembre", 12),
    ("dic", 12),
    ("december", 12),
    ("dec", 12),
];

fn month_number(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, m)| *m)
}

/// Words that carry no part of the date: "3 de marzo de 1990", "March 3rd, 1990", "1º", weekdays.
const IGNORED_WORDS: &[&str] = &[
    "de",
    "del",
    "of",
    "the",
    "st",
    "nd",
    "rd",
    "th",
    "ro",
    "er",
    "o",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Values agencies type for "no date".
fn is_null_marker(s: &str) -> bool {
    const MARKERS: &[&str] = &[
        "na",
        "n a",
        "nd",
        "n d",
        "sd",
        "s d",
        "s f",
        "sf",
        "null",
        "none",
        "nil",
        "unknown",
        "desconocido",
        "desconocida",
        "ignorado",
        "ignorada",
        "sin dato",
        "sin datos",
        "sin fecha",
        "no sabe",
        "no aplica",
        "x",
        "xx",
        "xxx",
        "xxxx",
    ];
    MARKERS.contains(&crate::fold(s).as_str())
}

/// Year, month and day as read, before placeholder and validity rules.
struct Raw {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
    ambiguous: bool,
}

fn interpret(toks: &[Tok], order: DateOrder, today: chrono::NaiveDate) -> Result<Raw, DateError> {
    use Tok::{Month, Num};
    let year = |v: u32, len: usize| year_of(v, len, today);
    let small = |len: usize| len <= 2;
    let raw = |year, month, day| Raw {
        year,
        month: Some(month),
        day,
        ambiguous: false,
    };
    match *toks {
        [Num { v, len: 4 }] => Ok(Raw {
            year: year(v, 4)?,
            month: None,
            day: None,
            ambiguous: false,
        }),
        [Num { v, len: 8 }] => compact8(v, order, today),
        [Num { v, len: 6 }] => {
            let (a, b, c) = (v / 10000, (v / 100) % 100, v % 100);
            match order {
                DateOrder::Ymd => Ok(raw(year(a, 2)?, b, Some(c))),
                _ => day_month_year(a, b, year(c, 2)?, order),
            }
        }
        [Num { v: a, len: 4 }, Num { v: b, len: lb }] if small(lb) => Ok(raw(year(a, 4)?, b, None)),
        [Num { v: a, len: la }, Num { v: b, len: 4 }] if small(la) => Ok(raw(year(b, 4)?, a, None)),
        [Month(m), Num { v, len: 4 }] | [Num { v, len: 4 }, Month(m)] => {
            Ok(raw(year(v, 4)?, m, None))
        }
        [Month(m), Num { v: p, len: lp }, Num { v: q, len: lq }]
        | [Num { v: p, len: lp }, Month(m), Num { v: q, len: lq }]
        | [Num { v: p, len: lp }, Num { v: q, len: lq }, Month(m)] => {
            let p_year = lp >= 3 || p > 31;
            let q_year = lq >= 3 || q > 31;
            let ((y, ly), (d, ld)) = match (p_year, q_year) {
                (true, false) => ((p, lp), (q, lq)),
                (false, true) => ((q, lq), (p, lp)),
                (false, false) if order == DateOrder::Ymd => ((p, lp), (q, lq)),
                (false, false) => ((q, lq), (p, lp)),
                (true, true) => return Err(DateError::Unrecognised),
            };
            if !small(ld) {
                return Err(DateError::Unrecognised);
            }
            Ok(raw(year(y, ly)?, m, Some(d)))
        }
        [
            Num { v: a, len: la },
            Num { v: b, len: lb },
            Num { v: c, len: lc },
        ] => {
            let a_year = la >= 3 || a > 31;
            let c_year = lc >= 3 || c > 31;
            if a_year && c_year {
                return Err(DateError::Unrecognised);
            }
            if a_year || (!c_year && order == DateOrder::Ymd) {
                if !small(lb) || !small(lc) {
                    return Err(DateError::Unrecognised);
                }
                // Year first is always year-month-day; nobody writes year-day-month.
                Ok(raw(year(a, la)?, b, Some(c)))
            } else {
                if !small(la) || !small(lb) {
                    return Err(DateError::Unrecognised);
                }
                day_month_year(a, b, year(c, lc)?, order)
            }
        }
        _ => Err(DateError::Unrecognised),
    }
}

/// Eight digits without separators: YYYYMMDD, DDMMYYYY or MMDDYYYY.
fn compact8(v: u32, order: DateOrder, today: chrono::NaiveDate) -> Result<Raw, DateError> {
    let (hi, lo) = (v / 10000, v % 10000);
    let ymd = |today| -> Result<Raw, DateError> {
        Ok(Raw {
            year: year_of(hi, 4, today)?,
            month: Some(lo / 100),
            day: Some(lo % 100),
            ambiguous: false,
        })
    };
    let year_first_plausible = i32::try_from(hi).is_ok_and(|y| (1870..=today.year()).contains(&y))
        && (1..=12).contains(&(lo / 100))
        && (1..=31).contains(&(lo % 100));
    match order {
        DateOrder::Ymd => ymd(today),
        DateOrder::Infer if year_first_plausible => ymd(today),
        _ => day_month_year(hi / 100, hi % 100, year_of(lo, 4, today)?, order),
    }
}

/// The first two numbers of a year-last date, in the declared or inferred order.
fn day_month_year(x: u32, y: u32, year: i32, order: DateOrder) -> Result<Raw, DateError> {
    let (day, month, ambiguous) = match order {
        DateOrder::Dmy => (x, y, false),
        DateOrder::Mdy => (y, x, false),
        // A declared YMD that meets a year-last value is inferred like `Infer`.
        DateOrder::Ymd | DateOrder::Infer => match (x > 12, y > 12) {
            (true, false) => (x, y, false),
            (false, true) => (y, x, false),
            (true, true) => {
                return Err(DateError::Impossible(
                    "neither of the first two numbers can be a month".into(),
                ));
            }
            // Both could be the month: day-first by default, flagged unless it makes no
            // difference (equal numbers) or one is a zero placeholder.
            (false, false) => (x, y, x != y && x > 0 && y > 0),
        },
    };
    Ok(Raw {
        year,
        month: Some(month),
        day: Some(day),
        ambiguous,
    })
}

/// The year from a 4-digit number, or a 2-digit one in the latest century that does not put it
/// after `today`'s year ("25" in 2026 is 2025, "27" is 1927).
fn year_of(v: u32, len: usize, today: chrono::NaiveDate) -> Result<i32, DateError> {
    let v = i32::try_from(v).map_err(|_| DateError::Unrecognised)?;
    match len {
        4 => Ok(v),
        1 | 2 => {
            let this_century = today.year() - today.year().rem_euclid(100);
            Ok(if this_century + v <= today.year() {
                this_century + v
            } else {
                this_century - 100 + v
            })
        }
        _ => Err(DateError::Unrecognised),
    }
}

/// Applies the placeholder, validity and range rules.
fn finish(raw: Raw, today: chrono::NaiveDate) -> Result<PartialDate, DateError> {
    let Raw {
        year,
        month,
        day,
        ambiguous,
    } = raw;
    let mut date = PartialDate {
        year,
        month: None,
        day: None,
        placeholder: false,
        ambiguous_order: false,
    };
    match (month, day) {
        (None, _) => {}
        // A zero month: the month is unknown, whatever the day says.
        (Some(0), _) => date.placeholder = true,
        (Some(m), _) if m > 12 => {
            return Err(DateError::Impossible(
                "month must be between 1 and 12".into(),
            ));
        }
        (Some(m), None) => date.month = Some(m as u8),
        (Some(m), Some(0)) => {
            date.month = Some(m as u8);
            date.placeholder = true;
        }
        (Some(m), Some(d)) => {
            if d > 31 || chrono::NaiveDate::from_ymd_opt(year, m, d).is_none() {
                if year >= MIN_YEAR {
                    return Err(DateError::Impossible(
                        "day does not exist in that month".into(),
                    ));
                }
            } else if m == 1 && d == 1 {
                // 1 January is what systems store when only the year is known.
                date.placeholder = true;
            } else {
                date.month = Some(m as u8);
                date.day = Some(d as u8);
                date.ambiguous_order = ambiguous;
            }
        }
    }
    if year < MIN_YEAR {
        return Err(DateError::TooOld(MIN_YEAR));
    }
    let future = match (date.month, date.day) {
        (Some(m), Some(d)) => {
            chrono::NaiveDate::from_ymd_opt(year, m.into(), d.into()).is_none_or(|x| x > today)
        }
        (Some(m), None) => (year, u32::from(m)) > (today.year(), today.month()),
        _ => year > today.year(),
    };
    if future {
        return Err(DateError::Future);
    }
    Ok(date)
}

#[cfg(test)]
mod tests;
