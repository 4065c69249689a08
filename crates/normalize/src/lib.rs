//! Normalisation: the pure functions that turn the strings an agency typed into comparable values —
//! Spanish and English names (two surnames, particles, married names, nicknames, phonetic keys),
//! partial and ambiguous dates, phones in E.164, and identifiers (CURP, DPI/CUI, A-number,
//! national ids, passports, plates, accounts) with their validity checks, and postal addresses.
//!
//! Nothing here touches files, databases or the network; everything is deterministic and safe to
//! call on any input (no panics), which the property tests and fuzz targets hold it to.
//!
//! Check-digit helpers for making valid synthetic identifiers are public:
//! [`curp::check_digit`], [`dpi::check_digit`] and [`clabe::check_digit`].
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod address;
pub mod clabe;
pub mod curp;
pub mod date;
pub mod dpi;
pub mod fold;
pub mod ids;
pub mod name;
pub mod nicknames;
pub mod particles;
pub mod phone;
mod phone_plan;
pub mod phonetic;
pub mod sex;

pub use address::{Address, AddressInput, normalize_address};
pub use date::{DateError, DateOrder, PartialDate, parse_date};
pub use fold::fold;
pub use ids::{IdKind, Identifier, normalize_identifier};
pub use name::{NameError, NameInput, PersonName, parse_name};
pub use phonetic::spanish_phonetic;
pub use sex::Sex;
