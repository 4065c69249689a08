//! A phonetic key suited to Spanish spelling (see docs/normalisation.md for the rules).
//!
//! Soundex and its relatives were built for English; in Spanish the same sound is spelled in
//! several ways (b/v, s/z/c, ll/y, j/g/x, silent h) while the vowels are stable and
//! meaningful, so this key keeps the vowels and merges the consonant spellings that sound alike.
//! Mayan surnames common in Guatemala (Xol, Tzul, Ixcoy, Caal) keep their "x" and "tz", which are
//! distinct sounds there.

use crate::fold::fold;

/// Spanish phonetic key of one word or several (words joined by a space in the key).
///
/// "Vázquez", "Basquez" and "Velasquez" → "baskes", "baskes", "belaskes";
/// "Jiménez", "Ximénez", "Giménez" → "jimenes"; "Xol" → "xol"; "Tzul" → "tzul".
pub fn spanish_phonetic(s: &str) -> String {
    let folded = fold(s);
    let mut out = String::with_capacity(folded.len() + 2);
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        push_word_key(word, &mut out);
    }
    out
}

/// Appends the key of one folded word (ASCII lower case and digits) to `out`, preceded by a
/// space when `out` is not empty.
pub(crate) fn push_word_key(word: &str, out: &mut String) {
    let w = word.as_bytes();
    if w.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    let start = out.len();
    let mut last: u8 = 0;
    let mut emit = |out: &mut String, code: u8| {
        // Doubled letters ("Aarón", "Guerrero", "Ceballos") sound like single ones.
        if code != last {
            out.push(code as char);
            last = code;
        }
    };
    let at = |i: usize| -> u8 { w.get(i).copied().unwrap_or(0) };
    let mut i = 0;
    while i < w.len() {
        let c = w[i];
        let next = at(i + 1);
        let prev = if i == 0 { 0 } else { w[i - 1] };
        match c {
            b'a' | b'e' | b'i' | b'o' => emit(out, c),
            // The u of "gue", "gui", "que", "qui" is silent (Guillermo, Quintero).
            b'u' if (prev == b'g' || prev == b'q') && is_front(next) => {}
            b'u' => emit(out, b'u'),
            // Consonantal y before a vowel (Yáñez), vowel otherwise (Godoy, Ybarra).
            b'y' if is_vowel(next) => emit(out, b'y'),
            b'y' => emit(out, b'i'),
            b'b' | b'v' => emit(out, b'b'),
            // w as in Wendy/Huendy and the Mayan "wa".
            b'w' => emit(out, b'u'),
            b'c' if next == b'h' => {
                emit(out, b'c');
                emit(out, b'h');
                i += 1;
            }
            b'c' if is_front(next) => emit(out, b's'),
            b'c' | b'k' | b'q' => emit(out, b'k'),
            // Prothetic e: English "Steven", "Stephanie" against Spanish "Esteban", "Estefanía".
            b's' if i == 0 && is_consonant(next) => {
                emit(out, b'e');
                emit(out, b's');
            }
            b's' | b'z' => emit(out, b's'),
            // Mayan tz (Tzul, Tzunún) is its own sound, not an s.
            b't' if next == b'z' => {
                emit(out, b't');
                emit(out, b'z');
                i += 1;
            }
            b'g' if is_front(next) => emit(out, b'j'),
            b'j' => emit(out, b'j'),
            // x is j in old Spanish spellings (México, Ximena, Xavier, Mexía, Oaxaca) but "sh" in
            // Mayan names (Xol, Ixcoy, Cux), which keep it.
            b'x' if (i == 0 && matches!(next, b'a' | b'e' | b'i'))
                || (is_vowel(prev) && is_vowel(next)) =>
            {
                emit(out, b'j')
            }
            // Silent h; "ch" was taken above.
            b'h' => {}
            b'l' if next == b'l' => {
                // ll sounds like y before a vowel (Llanes = Yanes); otherwise it is an l.
                emit(out, if is_vowel(at(i + 2)) { b'y' } else { b'l' });
                i += 1;
            }
            b'p' if next == b'h' => {
                emit(out, b'f');
                i += 1;
            }
            _ => emit(out, c),
        }
        i += 1;
    }
    // A word of only silent letters ("h") still needs a key that is not empty.
    if out.len() == start {
        out.push_str(word);
    }
}

#[inline]
fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

#[inline]
fn is_front(c: u8) -> bool {
    matches!(c, b'e' | b'i')
}

#[inline]
fn is_consonant(c: u8) -> bool {
    c.is_ascii_lowercase() && !is_vowel(c) && c != b'y'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_groups() {
        let groups: &[&[&str]] = &[
            &["Vázquez", "Vasquez", "Basquez", "Bázquez"],
            &["Velázquez", "Velasquez", "Belasquez"],
            &["Jiménez", "Ximénez", "Giménez", "Jimenes"],
            &["Hernández", "Hernandez", "Ernandes"],
            &["González", "Gonzales", "Gonsales"],
            &["Rodríguez", "Rodrigues"],
            &["Ceballos", "Zeballos", "Cevallos", "Sevayos"],
            &["Yáñez", "Llanes", "Yanes"],
            &["Quintero", "Kintero"],
            &["Guillermo", "Guiyermo"],
            &["Gutiérrez", "Gutierres"],
            &["Javier", "Xavier"],
            &["México", "Mejico"],
            &["Hugo", "Ugo"],
            &["Esteban", "Steban"],
            &["Caal", "Kaal", "Cal"],
            &["Godoy", "Godoi"],
            &["Sánchez", "Sanchez", "Zanchez"],
            &["Chávez", "Chaves"],
            &["Aarón", "Aron"],
            &["Stephanie", "Estefanie"],
        ];
        for group in groups {
            let key = spanish_phonetic(group[0]);
            for name in &group[1..] {
                assert_eq!(spanish_phonetic(name), key, "{} vs {}", group[0], name);
            }
        }
    }

    #[test]
    fn distinct_keys() {
        let pairs = [
            ("Xol", "Sol"),
            ("Xol", "Jol"),
            ("Tzul", "Sul"),
            ("Chen", "Sen"),
            ("Cux", "Cus"),
            ("Ixcoy", "Iscoy"),
            ("María", "Mario"),
            ("Pérez", "Páez"),
            ("Hernández", "Fernández"),
        ];
        for (a, b) in pairs {
            assert_ne!(spanish_phonetic(a), spanish_phonetic(b), "{a} vs {b}");
        }
    }

    #[test]
    fn keys_table() {
        let cases = [
            ("Vázquez", "baskes"),
            ("Xol", "xol"),
            ("Tzunún", "tzunun"),
            ("Ixcoy", "ixkoi"),
            ("Guerrero", "gerero"),
            ("Oaxaca", "oajaka"),
            ("de la Cruz", "de la krus"),
            ("H", "h"),
            ("", ""),
            ("Chen Pop", "chen pop"),
        ];
        for (input, want) in cases {
            assert_eq!(spanish_phonetic(input), want, "{input}");
        }
    }
}
