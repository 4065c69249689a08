//! What each field contributes to its filter: q-grams of names, tagged tokens of dates, sex and
//! phonetic keys; and the inputs of the blocking keys. Only normalised (folded) values are used.

use enlace_model::Record;
use enlace_normalize::{PartialDate, PersonName, Sex, spanish_phonetic};
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
        Field::Given => {
            let joined = join_nonempty(&name.given);
            qgrams(&joined, q, padded, emit);
        }
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
        Field::Surnames => {
            let parts: Vec<String> = [&name.surname1, &name.surname2]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            qgrams(&join_nonempty(&parts), q, padded, emit);
        }
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

fn join_nonempty(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
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
    let text = text.trim();
    if text.is_empty() || q == 0 {
        return;
    }
    let pad = if padded { q - 1 } else { 0 };
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
fn given_phonetic(name: &PersonName) -> Option<String> {
    name.given_phonetic
        .clone()
        .or_else(|| name.given.first().map(|g| spanish_phonetic(g)))
}

fn surname1_phonetic(name: &PersonName) -> Option<String> {
    name.surname1_phonetic
        .clone()
        .or_else(|| name.surname1.as_deref().map(spanish_phonetic))
}

fn surname2_phonetic(name: &PersonName) -> Option<String> {
    name.surname2_phonetic
        .clone()
        .or_else(|| name.surname2.as_deref().map(spanish_phonetic))
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
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
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
