//! What each field contributes to its filter: q-grams of names, tagged tokens of dates, sex and
//! phonetic keys; and the inputs of the blocking keys. Only normalised (folded) values are used.

use enlace_model::Record;
use enlace_normalize::{PartialDate, PersonName, Sex, spanish_phonetic};
use std::borrow::Cow;
use std::fmt::Write;

use crate::schema::{BlockingKey, Field};

/// Mark used to pad q-grams: folding leaves only letters, digits and single spaces, so it never
/// occurs in a value.
const PAD: char = '_';

/// Calls `emit` once per token of `field` in `record`; emits nothing when the value is absent.
pub(crate) fn for_each_token(
    field: Field,
    record: &Record,
    q: usize,
    padded: bool,
    emit: &mut dyn FnMut(&[u8]),
) {
    let name = &record.name;
    match field {
        Field::Given => with_joined(name.given.iter().map(String::as_str), |joined| {
            qgrams(joined, q, padded, emit)
        }),
        Field::GivenFirst => {
            if let Some(first) = name.given.first() {
                qgrams(first, q, padded, emit);
            }
        }
        Field::GivenAlternates => {
            for alt in &name.given_alternates {
                qgrams(alt, q, padded, emit);
            }
        }
        Field::Surname1 => qgrams(name.surname1.as_deref().unwrap_or(""), q, padded, emit),
        Field::Surname2 => qgrams(name.surname2.as_deref().unwrap_or(""), q, padded, emit),
        Field::MarriedSurname => qgrams(
            name.married_surname.as_deref().unwrap_or(""),
            q,
            padded,
            emit,
        ),
        Field::Surnames => with_joined(
            [&name.surname1, &name.surname2]
                .into_iter()
                .flatten()
                .map(String::as_str),
            |joined| qgrams(joined, q, padded, emit),
        ),
        Field::Names => {
            let surnames = [&name.surname1, &name.surname2].into_iter().flatten();
            for n in name.given.iter().chain(surnames) {
                qgrams(n, q, padded, emit);
            }
        }
        Field::Phonetic => {
            let mut buf = String::new();
            for (tag, key) in [
                ("g:", given_phonetic(name)),
                ("s1:", surname1_phonetic(name)),
                ("s2:", surname2_phonetic(name)),
            ] {
                if let Some(key) = key.filter(|k| !k.is_empty()) {
                    buf.clear();
                    buf.push_str(tag);
                    buf.push_str(&key);
                    emit(buf.as_bytes());
                }
            }
        }
        Field::BirthDate => {
            if let Some(date) = &record.birth_date {
                date_tokens(date, emit);
            }
        }
        Field::Sex => match record.sex {
            Sex::Male => emit(b"M"),
            Sex::Female => emit(b"F"),
            Sex::Unknown => {}
        },
        Field::Nationality => {
            if let Some(n) = record.nationality.as_deref().filter(|n| !n.is_empty()) {
                emit(n.to_ascii_uppercase().as_bytes());
            }
        }
    }
}

/// `str::trim`, without walking characters when the text starts and ends with a visible ASCII
/// character, as normalised names do.
fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Calls `f` with the trimmed, non-empty `parts` joined by single spaces: built on the stack
/// when short (every record's given names go through here), else in a `String`.
fn with_joined<'a, R>(
    parts: impl Iterator<Item = &'a str> + Clone,
    f: impl FnOnce(&str) -> R,
) -> R {
    let mut stack = [0u8; 64];
    let mut len = 0;
    let mut fits = true;
    for p in parts.clone().map(trim).filter(|p| !p.is_empty()) {
        let sep = usize::from(len > 0);
        if len + sep + p.len() > stack.len() {
            fits = false;
            break;
        }
        if sep == 1 {
            stack[len] = b' ';
        }
        stack[len + sep..len + sep + p.len()].copy_from_slice(p.as_bytes());
        len += sep + p.len();
    }
    // Whole strs and ASCII spaces: always UTF-8, so the check never fails.
    match (fits, std::str::from_utf8(&stack[..len])) {
        (true, Ok(joined)) => f(joined),
        _ => f(&join_nonempty(parts)),
    }
}

fn join_nonempty<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts.map(trim).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// q-grams of `text`, padded with q−1 marks at each end when `padded`. A value shorter than q
/// (unpadded) yields itself as its single token so that short values still encode.
pub(crate) fn qgrams(text: &str, q: usize, padded: bool, emit: &mut dyn FnMut(&[u8])) {
    let text = trim(text);
    if text.is_empty() || q == 0 {
        return;
    }
    let pad = if padded { q - 1 } else { 0 };
    // Names are short and mostly ASCII: pad them on the stack and cut them by bytes, with no
    // allocation (this runs for every name of every record).
    let mut stack = [0u8; 64];
    let total = text.len() + 2 * pad;
    if total <= stack.len() && text.is_ascii() && PAD.is_ascii() {
        stack[..pad].fill(PAD as u8);
        stack[pad..pad + text.len()].copy_from_slice(text.as_bytes());
        stack[pad + text.len()..total].fill(PAD as u8);
        let s = &stack[..total];
        if total < q {
            emit(s);
        } else {
            s.windows(q).for_each(&mut *emit);
        }
        return;
    }
    let mut s = String::with_capacity(text.len() + 2 * pad);
    s.extend(std::iter::repeat_n(PAD, pad));
    s.push_str(text);
    s.extend(std::iter::repeat_n(PAD, pad));
    let mut bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    bounds.push(s.len());
    let chars = bounds.len() - 1;
    if chars < q {
        emit(s.as_bytes());
        return;
    }
    for i in 0..=chars - q {
        emit(&s.as_bytes()[bounds[i]..bounds[i + q]]);
    }
}

fn date_tokens(date: &PartialDate, emit: &mut dyn FnMut(&[u8])) {
    let mut buf = String::with_capacity(16);
    let mut put = |buf: &mut String, args: std::fmt::Arguments<'_>| {
        buf.clear();
        let _ = buf.write_fmt(args);
        emit(buf.as_bytes());
    };
    let y = date.year;
    put(&mut buf, format_args!("y:{y:04}"));
    if date.placeholder {
        // 01/01-style fillers say nothing about the day or month.
        return;
    }
    let Some(m) = date.month else { return };
    put(&mut buf, format_args!("m:{m:02}"));
    put(&mut buf, format_args!("ym:{y:04}-{m:02}"));
    let Some(d) = date.day else { return };
    put(&mut buf, format_args!("d:{d:02}"));
    put(&mut buf, format_args!("md:{m:02}-{d:02}"));
    if date.ambiguous_order && d != m && d <= 12 {
        // The source's day/month order was a guess: add the other reading so that either
        // reading on the other side still shares the year and half the rest.
        put(&mut buf, format_args!("m:{d:02}"));
        put(&mut buf, format_args!("ym:{y:04}-{d:02}"));
        put(&mut buf, format_args!("d:{m:02}"));
        put(&mut buf, format_args!("md:{d:02}-{m:02}"));
    }
}

// Phonetic keys come from normalisation; a record built without them (an older store, a partial
// normaliser) gets them computed here from the folded names, so blocking still works.
fn given_phonetic(name: &PersonName) -> Option<Cow<'_, str>> {
    phonetic(&name.given_phonetic, name.given.first().map(String::as_str))
}

fn surname1_phonetic(name: &PersonName) -> Option<Cow<'_, str>> {
    phonetic(&name.surname1_phonetic, name.surname1.as_deref())
}

fn surname2_phonetic(name: &PersonName) -> Option<Cow<'_, str>> {
    phonetic(&name.surname2_phonetic, name.surname2.as_deref())
}

/// The phonetic key the normaliser stored, or one computed from the name when it stored none.
fn phonetic<'a>(stored: &'a Option<String>, name: Option<&str>) -> Option<Cow<'a, str>> {
    stored
        .as_deref()
        .map(Cow::Borrowed)
        .or_else(|| name.map(|n| Cow::Owned(spanish_phonetic(n))))
}

fn full_date(record: &Record) -> Option<String> {
    let d = record.birth_date.as_ref()?;
    if d.placeholder {
        return None;
    }
    Some(format!("{:04}-{:02}-{:02}", d.year, d.month?, d.day?))
}

/// The input of a blocking key for `record`, or `None` when a part is missing. Parts are
/// separated by a 0 byte, which no part contains.
pub(crate) fn blocking_input(key: BlockingKey, record: &Record) -> Option<String> {
    let nonempty = |s: Option<Cow<'_, str>>| s.filter(|s| !s.is_empty()).map(Cow::into_owned);
    let year = || record.birth_date.as_ref().map(|d| format!("{:04}", d.year));
    let sex = match record.sex {
        Sex::Male => Some("M".to_string()),
        Sex::Female => Some("F".to_string()),
        Sex::Unknown => None,
    };
    let parts = match key {
        BlockingKey::Surname1PhoneticBirthYear => {
            [nonempty(surname1_phonetic(&record.name))?, year()?]
        }
        BlockingKey::Surname2PhoneticBirthYear => {
            [nonempty(surname2_phonetic(&record.name))?, year()?]
        }
        BlockingKey::GivenPhoneticBirthDate => {
            [nonempty(given_phonetic(&record.name))?, full_date(record)?]
        }
        BlockingKey::GivenSurname1Phonetic => [
            nonempty(given_phonetic(&record.name))?,
            nonempty(surname1_phonetic(&record.name))?,
        ],
        BlockingKey::SexBirthDate => [sex?, full_date(record)?],
    };
    Some(parts.join("\0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str, q: usize, padded: bool) -> Vec<String> {
        let mut out = Vec::new();
        qgrams(text, q, padded, &mut |t| {
            out.push(String::from_utf8_lossy(t).into_owned())
        });
        out
    }

    #[test]
    fn padded_bigrams() {
        assert_eq!(collect("ana", 2, true), ["_a", "an", "na", "a_"]);
        assert_eq!(collect("ana", 2, false), ["an", "na"]);
        assert_eq!(collect("a", 3, false), ["a"]);
        assert_eq!(collect("nuñez", 2, false), ["nu", "uñ", "ñe", "ez"]);
        assert!(collect("  ", 2, true).is_empty());
    }

    /// The q-grams by the definition: characters of the trimmed, padded text, q at a time.
    fn by_definition(text: &str, q: usize, padded: bool) -> Vec<String> {
        let text = text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        let pad: String = std::iter::repeat_n(PAD, if padded { q - 1 } else { 0 }).collect();
        let chars: Vec<char> = format!("{pad}{text}{pad}").chars().collect();
        if chars.len() < q {
            return vec![chars.iter().collect()];
        }
        chars.windows(q).map(|w| w.iter().collect()).collect()
    }

    proptest::proptest! {
        /// Short ASCII names take the allocation-free path, long or accented ones the general
        /// one; both must give the definition's q-grams.
        #[test]
        fn qgrams_follow_the_definition(
            text in proptest::prop_oneof![
                "[ a-z]{0,70}",
                "[ a-zñáéíóú]{0,20}",
                proptest::string::string_regex(".{0,12}").unwrap(),
            ],
            q in 1usize..5,
            padded: bool,
        ) {
            proptest::prop_assert_eq!(collect(&text, q, padded), by_definition(&text, q, padded));
        }
    }

    proptest::proptest! {
        #[test]
        fn joining_on_the_stack_equals_joining_in_a_string(
            parts in proptest::collection::vec(
                proptest::prop_oneof!["[ a-z]{0,30}", proptest::string::string_regex(".{0,8}").unwrap()],
                0..5,
            ),
        ) {
            let got = with_joined(parts.iter().map(String::as_str), str::to_string);
            proptest::prop_assert_eq!(got, join_nonempty(parts.iter().map(String::as_str)));
        }
    }

    #[test]
    fn ambiguous_dates_carry_both_readings() {
        let date = PartialDate {
            year: 1990,
            month: Some(3),
            day: Some(4),
            placeholder: false,
            ambiguous_order: true,
        };
        let mut out = Vec::new();
        date_tokens(&date, &mut |t| {
            out.push(String::from_utf8_lossy(t).into_owned())
        });
        assert!(out.contains(&"md:03-04".to_string()) && out.contains(&"md:04-03".to_string()));
        let filler = PartialDate {
            placeholder: true,
            ..date
        };
        let mut out = Vec::new();
        date_tokens(&filler, &mut |t| {
            out.push(String::from_utf8_lossy(t).into_owned())
        });
        assert_eq!(out, ["y:1990"]);
    }
}
