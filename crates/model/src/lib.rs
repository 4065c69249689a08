//! The record model and the declared mappings: what a source's columns mean (names, dates, sex,
//! nationality, identifiers, events, free attributes) and the normalised record that every later
//! stage — store, linkage, encoding, network analysis — works from.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod mapping;
pub mod record;

pub use mapping::{Mapping, MappingError};
pub use record::{Event, Record};
