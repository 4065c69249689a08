//! Sex as recorded, decoded through a source's declared coding.

use serde::{Deserialize, Serialize};

/// Sex as a source recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
    #[default]
    Unknown,
}

impl Sex {
    /// The one-letter code used in the store.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Unknown => "U",
        }
    }
}
