//! A phonetic key suited to Spanish spelling (see docs/normalisation.md for the rules).

use crate::fold::fold;

/// Spanish phonetic key of one word or several (words joined by a space in the key).
pub fn spanish_phonetic(s: &str) -> String {
    fold(s)
}
