//! Jaro–Winkler with a cheap way out: most candidate pairs whose names differ share too few
//! letters to reach the lowest level a comparison asks about, and that is known from a count
//! of letters before `strsim` does its work (which allocates and scans both names).
//!
//! The bound: Jaro is `(m/|a| + m/|b| + (m − t)/m) / 3` with `m` matching characters and `t`
//! half-transpositions, so with `m` at most `c`, the characters the two names have in common
//! (as multisets), Jaro ≤ `(c/|a| + c/|b| + 1) / 3`, and Jaro = 0 when `c` = 0. Winkler's boost,
//! `0.1 · p · (1 − Jaro)` for a common prefix of `p ≤ 4` characters, applies only above 0.7 and
//! grows with Jaro, so the same bound, boosted when above 0.7, bounds Jaro–Winkler.
//!
//! And a faster Jaro–Winkler for the common case: ASCII names of at most 64 letters, with
//! the matched letters kept in two 64-bit masks instead of a vector allocated per call, and
//! each letter of one name searched only within the match window of the other (strsim walks
//! the other name from its start for every letter). Same matching rule, same arithmetic in
//! the same order, so the value is `strsim::jaro_winkler`'s to the last bit (a property test
//! holds it to that); anything else goes to strsim.
//!
//! And [`one_edit_apart`] for identifiers: whether a keying slip (one character changed, added
//! or dropped, or two neighbours swapped) turns one value into the other, in one pass where
//! `strsim::osa_distance` fills a table (a property test holds the two to the same answer).

/// Jaro–Winkler similarity, equal to `strsim::jaro_winkler` to the last bit.
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() || y.is_empty() || x.len() > 64 || y.len() > 64 {
        return strsim::jaro_winkler(a, b);
    }
    if !x.is_ascii() || !y.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    jaro_winkler_ascii(x, y)
}

/// Jaro–Winkler of two non-empty ASCII strings of at most 64 bytes.
fn jaro_winkler_ascii(x: &[u8], y: &[u8]) -> f64 {
    let sim = jaro_ascii(x, y);
    if sim > 0.7 {
        let prefix = x.iter().take(4).zip(y).take_while(|(p, q)| p == q).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// Jaro of two non-empty ASCII strings of at most 64 bytes (one byte a letter).
fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    let window = (a_len.max(b_len) / 2).saturating_sub(1);
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &letter) in a.iter().enumerate() {
        let (lo, hi) = (i.saturating_sub(window), b_len.min(i + window + 1));
        for (j, &other) in b.iter().enumerate().take(hi).skip(lo) {
            if other == letter && b_flags & (1 << j) == 0 {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // The matched letters of each name, in order, paired off: those that differ are
    // half-transpositions.
    let mut transpositions = 0usize;
    let mut rest = b_flags;
    for (i, &letter) in a.iter().enumerate() {
        if a_flags & (1 << i) != 0 {
            let j = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if b[j] != letter {
                transpositions += 1;
            }
        }
    }
    transpositions /= 2;
    ((matches as f64 / a_len as f64)
        + (matches as f64 / b_len as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}

/// Jaro–Winkler of `a` and `b` when it may be at or above `floor`; otherwise 0, which is below
/// it. Callers only ask whether the similarity reaches `floor` or a higher level, so the answer
/// is the same as `strsim::jaro_winkler`'s.
pub(crate) fn jaro_winkler_from(a: &str, b: &str, floor: f64) -> f64 {
    match upper_bound(a, b) {
        // A margin far above rounding: the bound is exact arithmetic on small integers.
        Some(bound) if bound < floor - 1e-9 => 0.0,
        // A bound means both are non-empty ASCII, already checked: not asked again.
        Some(_) if a.len() <= 64 && b.len() <= 64 => jaro_winkler_ascii(a.as_bytes(), b.as_bytes()),
        _ => jaro_winkler(a, b),
    }
}

/// An upper bound of Jaro–Winkler for two non-empty ASCII strings; `None` otherwise (then the
/// similarity is worked out in full).
fn upper_bound(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() || !a.is_ascii() || !b.is_ascii() {
        return None;
    }
    let mut counts = [0u8; 128];
    for &x in a {
        counts[usize::from(x)] = counts[usize::from(x)].saturating_add(1);
    }
    let mut common = 0usize;
    for &y in b {
        let n = &mut counts[usize::from(y)];
        if *n > 0 {
            *n -= 1;
            common += 1;
        }
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    Some(bound_from_common(common, a.len(), b.len(), prefix))
}

/// The bound of Jaro–Winkler for names of `a_len` and `b_len` letters with at most `common`
/// letters in common and a common prefix of `prefix` letters. It grows with `common`, so a
/// larger count of common letters gives a bound no lower.
pub(crate) fn bound_from_common(common: usize, a_len: usize, b_len: usize, prefix: usize) -> f64 {
    if common == 0 {
        return 0.0;
    }
    let c = common as f64;
    let jaro = (c / a_len as f64 + c / b_len as f64 + 1.0) / 3.0;
    if jaro <= 0.7 {
        return jaro;
    }
    jaro + 0.1 * prefix.min(4) as f64 * (1.0 - jaro)
}

/// Whether `a` and `b` differ by exactly one edit: one byte substituted, inserted or deleted,
/// or two adjacent bytes transposed (optimal string alignment distance 1). Identifiers are
/// ASCII after normalisation, so bytes are characters.
pub(crate) fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        // Equal values are not one edit apart.
        0 if prefix == short.len() => false,
        0 => {
            let (x, y) = (&short[prefix..], &long[prefix..]);
            // Substitution: the rest after the differing byte agrees.
            x[1..] == y[1..]
                // Transposition of the differing byte and the next.
                || (x.len() >= 2 && x[0] == y[1] && x[1] == y[0] && x[2..] == y[2..])
        }
        // Insertion into the shorter: the longer without its byte at the first difference.
        1 => short[prefix..] == long[prefix + 1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keying_slips_are_one_edit_apart() {
        let yes = [
            ("213405044", "213405244"),
            ("100819325", "200819325"),
            ("202719969", "202719967"),
            ("123456789", "123465789"),
            ("123456789", "12345678"),
            ("23456789", "123456789"),
            ("a", ""),
        ];
        for (a, b) in yes {
            assert!(one_edit_apart(a.as_bytes(), b.as_bytes()), "{a} {b}");
            assert!(one_edit_apart(b.as_bytes(), a.as_bytes()), "{b} {a}");
        }
        let no = [
            ("123456789", "123456789"),
            ("123456789", "923456781"),
            ("123456789", "132456798"),
            ("123456789", "1234567"),
            ("", ""),
            ("213405044", "312405044"),
        ];
        for (a, b) in no {
            assert!(!one_edit_apart(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }

    #[test]
    fn bounds_hold_on_names() {
        let names = [
            "juan",
            "jaun",
            "pedro",
            "maria",
            "mario",
            "carlos",
            "garcia",
            "garza",
            "hernandez",
            "fernandez",
            "tzunun",
            "tzul",
            "de la cruz",
            "delacruz",
            "x",
            "ángeles",
            "angeles",
        ];
        for a in names {
            for b in names {
                let jw = jaro_winkler(a, b);
                if let Some(bound) = upper_bound(a, b) {
                    assert!(jw <= bound + 1e-12, "{a} {b}: {jw} > {bound}");
                }
                for floor in [0.8, 0.88, 0.9, 0.92] {
                    assert_eq!(
                        jaro_winkler_from(a, b, floor) >= floor,
                        jw >= floor,
                        "{a} {b}"
                    );
                }
            }
        }
        // Letters in common but none near: cut short; close names: worked out.
        assert_eq!(jaro_winkler_from("carlos", "maria", 0.8), 0.0);
        assert!(jaro_winkler_from("garcia", "garza", 0.8) >= 0.8);
    }

    proptest! {
        /// One edit apart exactly when strsim's optimal string alignment distance is 1: values
        /// over three symbols (so near values are common) and any ASCII.
        #[test]
        fn one_edit_apart_is_osa_distance_one(
            a in "[012]{0,8}",
            b in "[012]{0,8}",
            c in "[ -~]{0,12}",
        ) {
            // `a` with its first two symbols swapped: a transposition whenever they differ.
            let mut edited = a.clone().into_bytes();
            if edited.len() >= 2 {
                edited.swap(0, 1);
            }
            let edited = String::from_utf8(edited).unwrap_or_default();
            for (x, y) in [(&a, &b), (&a, &c), (&c, &b), (&a, &edited)] {
                let want = strsim::osa_distance(x, y) == 1;
                prop_assert_eq!(one_edit_apart(x.as_bytes(), y.as_bytes()), want, "{:?} {:?}", x, y);
            }
        }

        /// The fast path gives strsim's value to the last bit: short names over a small
        /// alphabet (many near pairs), any ASCII up to 70 letters (past the 64-letter masks),
        /// and any text (non-ASCII goes to strsim).
        #[test]
        fn fast_jaro_winkler_is_strsims_to_the_bit(
            a in "[aeilnorsu -]{0,12}",
            b in "[aeilnorsu -]{0,12}",
            c in "[ -~]{0,70}",
            d in "[ -~]{0,70}",
            e in "\\PC{0,8}",
        ) {
            for (x, y) in [(&a, &b), (&c, &d), (&a, &c), (&e, &a), (&d, &e)] {
                let (got, want) = (jaro_winkler(x, y), strsim::jaro_winkler(x, y));
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?} {:?}", x, y);
            }
        }

        /// On names over a small alphabet (so that near names are common), the bound is never
        /// below the similarity and every level's answer is strsim's.
        #[test]
        fn levels_are_strsims(
            a in "[aeilnorsu -]{0,10}",
            b in "[aeilnorsu -]{0,10}",
        ) {
            let jw = jaro_winkler(&a, &b);
            if let Some(bound) = upper_bound(&a, &b) {
                prop_assert!(jw <= bound + 1e-12, "{} {}: {} > {}", a, b, jw, bound);
            }
            for floor in [0.8, 0.88, 0.9, 0.92] {
                let got = jaro_winkler_from(&a, &b, floor);
                for level in [floor, 0.88, 0.9, 0.92].into_iter().filter(|&l| l >= floor) {
                    prop_assert_eq!(got >= level, jw >= level, "{} {} {}", a, b, level);
                }
            }
        }
    }
}
