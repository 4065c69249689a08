//! Dates as agencies write them: with known or inferred day/month order, partial (year only),
//! and placeholders such as 01/01 that carry no information about the day.

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

/// Parses `s` read with `order`; `today` bounds the future.
pub fn parse_date(s: &str, order: DateOrder, today: chrono::NaiveDate) -> Result<PartialDate, DateError> {
    let _ = (order, today);
    let s = s.trim();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    Err(DateError::Unrecognised)
}
