//! The character-level error model: typing slips and the spelling confusions of Spanish names
//! heard or read by someone else (b/v, s/z/c, ll/y, silent h, j/g/x), and accent loss.

use rand::Rng;

/// The accent-free form of one character (Ñ becomes N, as US systems store it).
pub fn strip_accent_char(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' => 'a',
        'é' | 'è' | 'ë' => 'e',
        'í' | 'ì' | 'ï' => 'i',
        'ó' | 'ò' | 'ö' => 'o',
        'ú' | 'ù' | 'ü' => 'u',
        'Á' | 'À' | 'Ä' => 'A',
        'É' | 'È' | 'Ë' => 'E',
        'Í' | 'Ì' | 'Ï' => 'I',
        'Ó' | 'Ò' | 'Ö' => 'O',
        'Ú' | 'Ù' | 'Ü' => 'U',
        'ñ' => 'n',
        'Ñ' => 'N',
        c => c,
    }
}

/// `s` without accents.
pub fn strip_accents(s: &str) -> String {
    s.chars().map(strip_accent_char).collect()
}

/// Letters near each other on a QWERTY keyboard, for substitution slips.
fn neighbour(c: char) -> Option<char> {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let lower = c.to_ascii_lowercase();
    for row in ROWS {
        if let Some(i) = row.find(lower) {
            let bytes = row.as_bytes();
            let j = if i + 1 < bytes.len() {
                i + 1
            } else {
                i.saturating_sub(1)
            };
            let n = bytes[j] as char;
            return Some(if c.is_uppercase() {
                n.to_ascii_uppercase()
            } else {
                n
            });
        }
    }
    None
}

/// One typing slip: insert, delete, substitute (a keyboard neighbour) or transpose. Names of one
/// or two letters are left alone: a slip there would make a different name, not a misspelt one.
pub fn typo<R: Rng>(rng: &mut R, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    if letters.len() < 3 {
        return s.to_string();
    }
    // Slips rarely hit the first letter; people check that one.
    let pick = letters[rng.random_range(1..letters.len())];
    match rng.random_range(0..4) {
        0 => {
            let c = chars[pick];
            chars.insert(pick, c);
        }
        1 => {
            chars.remove(pick);
        }
        2 => {
            if let Some(n) = neighbour(chars[pick]) {
                chars[pick] = n;
            }
        }
        _ => {
            if pick + 1 < chars.len() && chars[pick + 1].is_alphabetic() {
                chars.swap(pick, pick + 1);
            } else {
                chars.swap(pick - 1, pick);
            }
        }
    }
    chars.into_iter().collect()
}

/// Spelling confusions of Spanish names: (what is written, what is heard/written instead).
/// Matching ignores case; the replacement keeps the case of the original's first letter.
const CONFUSIONS: &[(&str, &str)] = &[
    ("b", "v"),
    ("v", "b"),
    ("z", "s"),
    ("s", "z"),
    ("ce", "se"),
    ("ci", "si"),
    ("ll", "y"),
    ("y", "ll"),
    ("ge", "je"),
    ("gi", "ji"),
    ("je", "ge"),
    ("x", "j"),
    ("x", "sh"),
    ("qu", "k"),
    ("gu", "w"),
    ("h", ""),
];

/// Applies one spelling confusion at a random place it fits, or a dropped/added initial h.
/// Returns `None` when nothing fits.
pub fn confuse<R: Rng>(rng: &mut R, s: &str) -> Option<String> {
    let lower = s.to_lowercase();
    // Candidate (byte offset in `lower`, rule) pairs; `lower` has the same char boundaries as `s`
    // for the letters used here (all ASCII in the patterns).
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for (r, (from, _)) in CONFUSIONS.iter().enumerate() {
        for (i, _) in lower.match_indices(from) {
            let before = lower[..i].chars().next_back();
            let after = lower[i + from.len()..].chars().next();
            let vowel = |c: Option<char>| c.is_some_and(|c| "aeiouáéíóú".contains(c));
            let fits = match *from {
                // Silent h: only at the start or between vowels, never in "ch".
                "h" => i == 0 || (vowel(before) && vowel(after)),
                // y sounds like ll only between vowels ("Reyes"), not as the word "y" or at the end.
                "y" => vowel(before) && vowel(after),
                _ => true,
            };
            if fits {
                candidates.push((i, r));
            }
        }
    }
    let starts_with_vowel = lower
        .chars()
        .next()
        .is_some_and(|c| "aeiouáéíóú".contains(c));
    if candidates.is_empty() && !starts_with_vowel {
        return None;
    }
    if starts_with_vowel && (candidates.is_empty() || rng.random_bool(0.15)) {
        // An h added in front of a vowel-initial name ("Hernesto" for Ernesto).
        let all_upper = s
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
        let mut cs = s.chars();
        let first = cs.next()?;
        let first = if all_upper {
            first
        } else {
            first.to_lowercase().next().unwrap_or(first)
        };
        return Some(
            std::iter::once('H')
                .chain(std::iter::once(first))
                .chain(cs)
                .collect(),
        );
    }
    let (at, r) = candidates[rng.random_range(0..candidates.len())];
    let (from, to) = CONFUSIONS[r];
    if lower.len() != s.len() {
        // Lower-casing changed byte lengths (an unusual letter); skip rather than mis-slice.
        return None;
    }
    let original = &s[at..at + from.len()];
    let upper = original.chars().next().is_some_and(char::is_uppercase);
    let all_upper = original.chars().all(|c| !c.is_lowercase())
        && s.chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    let replacement = if all_upper {
        to.to_uppercase()
    } else if upper {
        let mut cs = to.chars();
        cs.next()
            .map(|c| c.to_uppercase().chain(cs).collect())
            .unwrap_or_default()
    } else {
        to.to_string()
    };
    if at == 0 && replacement.is_empty() {
        // Dropping an initial h: the next letter takes the capital.
        let rest = &s[from.len()..];
        let mut cs = rest.chars();
        return cs.next().map(|c| {
            if upper {
                c.to_uppercase().chain(cs).collect()
            } else {
                std::iter::once(c).chain(cs).collect()
            }
        });
    }
    let out = format!("{}{}{}", &s[..at], replacement, &s[at + from.len()..]);
    (out != s && out.chars().any(char::is_alphabetic)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn typos_change_one_thing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let t = typo(&mut rng, "HERNANDEZ");
            assert!((8..=10).contains(&t.chars().count()), "{t}");
            assert!(t.starts_with('H'));
        }
        assert_eq!(typo(&mut rng, "Xi"), "Xi");
    }

    #[test]
    fn confusions_keep_case() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            if let Some(s) = confuse(&mut rng, "Hernández") {
                assert!(s.chars().next().unwrap().is_uppercase(), "{s}");
                seen.insert(s);
            }
            if let Some(s) = confuse(&mut rng, "VILLALOBOS") {
                assert!(s.chars().all(|c| !c.is_lowercase()), "{s}");
            }
        }
        assert!(seen.contains("Ernández"), "{seen:?}");
        assert!(seen.contains("Hernándes"), "{seen:?}");
    }

    #[test]
    fn accents_go() {
        assert_eq!(strip_accents("Tzunún Núñez"), "Tzunun Nunez");
    }
}
