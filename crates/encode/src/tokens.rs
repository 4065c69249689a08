//! What each field contributes to its filter: q-grams of names, tagged tokens of dates, sex and
//! phonetic keys; and the inputs of the blocking keys. Only normalised (folded) values are used.

use enlace_model::Record;
use enlace_normalize::{PartialDate, PersonName, Sex, spanish_phonetic};
use std::borrow::Cow;
use std::io::Write;

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
    if for_each_text(field, record, &mut |text| qgrams(text, q, padded, emit)) {
        return;
    }
    match field {
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
        Field::EventDates => event_tokens(record, emit),
        // Texts, q-grammed above.
        Field::Given
        | Field::GivenFirst
        | Field::GivenAlternates
        | Field::Surname1
        | Field::Surname2
        | Field::MarriedSurname
        | Field::Surnames
        | Field::Names => {}
    }
}

/// For a field made of q-grams of texts (the name fields), calls `each` with each text whose
/// q-grams are the field's tokens (their union is the field's filter) and returns `true`;
/// `false`, calling nothing, for any other field. A text may be empty or blank (no tokens).
///
/// The texts are what a session remembers name fields by ([`crate::values`]): the same text
/// always gives the same tokens, and a text is shorter and quicker to key on than its q-grams.
pub(crate) fn for_each_text(field: Field, record: &Record, each: &mut dyn FnMut(&str)) -> bool {
    let name = &record.name;
    match field {
        Field::Given => with_joined(name.given.iter().map(String::as_str), |joined| each(joined)),
        Field::GivenFirst => {
            if let Some(first) = name.given.first() {
                each(first);
            }
        }
        Field::GivenAlternates => name.given_alternates.iter().for_each(|alt| each(alt)),
        Field::Surname1 => each(name.surname1.as_deref().unwrap_or("")),
        Field::Surname2 => each(name.surname2.as_deref().unwrap_or("")),
        Field::MarriedSurname => each(name.married_surname.as_deref().unwrap_or("")),
        Field::Surnames => with_joined(
            [&name.surname1, &name.surname2]
                .into_iter()
                .flatten()
                .map(String::as_str),
            |joined| each(joined),
        ),
        Field::Names => bag_of_names(record).for_each(each),
        Field::Phonetic
        | Field::BirthDate
        | Field::Sex
        | Field::Nationality
        | Field::EventDates => return false,
    }
    true
}

/// The names the `names` field is the bag of: every given name, then the surnames. Its filter
/// is the union of each name's q-grams, so a name's bits can be placed (and remembered) alone.
pub(crate) fn bag_of_names(record: &Record) -> impl Iterator<Item = &str> {
    let name = &record.name;
    let surnames = [&name.surname1, &name.surname2].into_iter().flatten();
    name.given.iter().chain(surnames).map(String::as_str)
}

/// `str::trim`, without walking characters when the text starts and ends with a visible ASCII
/// character, as normalised names do.
pub(crate) fn trim(text: &str) -> &str {
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

/// Every part of a date its tokens depend on, packed: what a session remembers a date's bits by
/// (dates repeat within a birth year, and packing one costs far less than writing its tokens).
pub(crate) fn date_key(date: &PartialDate) -> [u8; 9] {
    let [y0, y1, y2, y3] = date.year.to_le_bytes();
    let part = |p: Option<u8>| [u8::from(p.is_some()), p.unwrap_or(0)];
    let [m0, m1] = part(date.month);
    let [d0, d1] = part(date.day);
    let flags = u8::from(date.placeholder) | u8::from(date.ambiguous_order) << 1;
    [y0, y1, y2, y3, m0, m1, d0, d1, flags]
}

fn date_tokens(date: &PartialDate, emit: &mut dyn FnMut(&[u8])) {
    let mut buf = DateToken::default();
    let y = date.year;
    emit(buf.tagged(b"y:", &[Part::Year(y)]));
    if date.placeholder {
        // 01/01-style fillers say nothing about the day or month.
        return;
    }
    let Some(m) = date.month else { return };
    emit(buf.tagged(b"m:", &[Part::Two(m)]));
    emit(buf.tagged(b"ym:", &[Part::Year(y), Part::Two(m)]));
    let Some(d) = date.day else { return };
    emit(buf.tagged(b"d:", &[Part::Two(d)]));
    emit(buf.tagged(b"md:", &[Part::Two(m), Part::Two(d)]));
    if date.ambiguous_order && d != m && d <= 12 {
        // The source's day/month order was a guess: add the other reading so that either
        // reading on the other side still shares the year and half the rest.
        emit(buf.tagged(b"m:", &[Part::Two(d)]));
        emit(buf.tagged(b"ym:", &[Part::Year(y), Part::Two(d)]));
        emit(buf.tagged(b"d:", &[Part::Two(m)]));
        emit(buf.tagged(b"md:", &[Part::Two(d), Part::Two(m)]));
    }
}

/// The windows of one event date: (tag, window length in days, windows each side).
const EVENT_WINDOWS: [(&[u8], i64, i64); 2] = [(b"e30:", 30, 1), (b"e120:", 120, 2)];

/// The day numbers of a record's full event dates (partial and placeholder dates left out):
/// what its event-date tokens are made of, and what the encoder remembers them by.
pub(crate) fn event_days(record: &Record) -> impl Iterator<Item = i64> + '_ {
    record
        .events
        .iter()
        .filter_map(|e| e.date.as_ref()?.day_number())
}

/// The tokens of every full event date of a record (see `Field::EventDates`): for each window
/// length, the window holding the date and its neighbours, as the window's number.
fn event_tokens(record: &Record, emit: &mut dyn FnMut(&[u8])) {
    let mut buf = [0u8; 24];
    for days in event_days(record) {
        for (tag, length, side) in EVENT_WINDOWS {
            let window = days.div_euclid(length);
            for w in window - side..=window + side {
                let mut out = std::io::Cursor::new(&mut buf[..]);
                let _ = out.write_all(tag);
                let _ = write!(out, "{w}");
                let len = out.position() as usize;
                emit(&buf[..len]);
            }
        }
    }
}

/// A number in a date token: the year as `{:04}`, a month or day as `{:02}`.
#[derive(Clone, Copy)]
enum Part {
    Year(i32),
    Two(u8),
}

/// Builds date tokens (`ym:1987-03`) on the stack: every record has up to nine, and going
/// through `format!` for them cost a tenth of encoding. Written exactly as `format!` would.
#[derive(Default)]
struct DateToken {
    bytes: [u8; 32],
    len: usize,
}

impl DateToken {
    /// `tag` then the parts, joined by `-`.
    fn tagged(&mut self, tag: &[u8], parts: &[Part]) -> &[u8] {
        self.len = 0;
        self.push(tag);
        let mut digits = Decimal::default();
        for (i, &part) in parts.iter().enumerate() {
            if i > 0 {
                self.push(b"-");
            }
            match part {
                Part::Year(y) => self.push(digits.of(i64::from(y), 4)),
                Part::Two(v) => self.push(digits.of(i64::from(v), 2)),
            }
        }
        &self.bytes[..self.len]
    }

    fn push(&mut self, part: &[u8]) {
        if let Some(to) = self.bytes.get_mut(self.len..self.len + part.len()) {
            to.copy_from_slice(part);
            self.len += part.len();
        }
    }
}

/// An integer in decimal, written on the stack as `format!("{v:0width$}")` writes it: the
/// sign, then zeros up to `width` characters in all, then the digits. Date tokens and the
/// salt year are written this way for every record.
#[derive(Default)]
pub(crate) struct Decimal {
    bytes: [u8; 24],
}

impl Decimal {
    pub(crate) fn of(&mut self, v: i64, width: usize) -> &[u8] {
        let mut at = self.bytes.len();
        let mut rest = v.unsigned_abs();
        loop {
            at -= 1;
            self.bytes[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let sign = usize::from(v < 0);
        let floor = self
            .bytes
            .len()
            .saturating_sub(width.saturating_sub(sign))
            .max(sign);
        while at > floor {
            at -= 1;
            self.bytes[at] = b'0';
        }
        if v < 0 {
            at -= 1;
            self.bytes[at] = b'-';
        }
        &self.bytes[at..]
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

/// Writes the input of a blocking key for `record` into `out` (emptied first); `false` when a
/// part is missing. Parts are separated by a 0 byte, which no part contains. Written into one
/// buffer the caller keeps: three keys a record, each of two parts, were six `String`s.
pub(crate) fn blocking_input(key: BlockingKey, record: &Record, out: &mut Vec<u8>) -> bool {
    out.clear();
    let name = &record.name;
    match key {
        BlockingKey::Surname1PhoneticBirthYear => {
            put_key(out, surname1_phonetic(name)) && put_year(out, record)
        }
        BlockingKey::Surname2PhoneticBirthYear => {
            put_key(out, surname2_phonetic(name)) && put_year(out, record)
        }
        BlockingKey::GivenPhoneticBirthDate => {
            put_key(out, given_phonetic(name)) && put_full_date(out, record)
        }
        BlockingKey::GivenSurname1Phonetic => {
            put_key(out, given_phonetic(name)) && put_key(out, surname1_phonetic(name))
        }
        BlockingKey::SexBirthDate => {
            let sex: &[u8] = match record.sex {
                Sex::Male => b"M",
                Sex::Female => b"F",
                Sex::Unknown => return false,
            };
            put_part(out, sex) && put_full_date(out, record)
        }
    }
}

/// Appends a part, after a 0 byte when it is not the first.
fn put_part(out: &mut Vec<u8>, part: &[u8]) -> bool {
    if !out.is_empty() {
        out.push(0);
    }
    out.extend_from_slice(part);
    true
}

/// A phonetic key, when there is a non-empty one.
fn put_key(out: &mut Vec<u8>, key: Option<Cow<'_, str>>) -> bool {
    key.filter(|k| !k.is_empty())
        .is_some_and(|k| put_part(out, k.as_bytes()))
}

/// The birth year as `{:04}`.
fn put_year(out: &mut Vec<u8>, record: &Record) -> bool {
    let mut text = DateToken::default();
    record
        .birth_date
        .as_ref()
        .is_some_and(|d| put_part(out, text.tagged(b"", &[Part::Year(d.year)])))
}

/// The whole birth date as `YYYY-MM-DD`; none for placeholder or partial dates.
fn put_full_date(out: &mut Vec<u8>, record: &Record) -> bool {
    let mut text = DateToken::default();
    match &record.birth_date {
        Some(PartialDate {
            year,
            month: Some(m),
            day: Some(d),
            placeholder: false,
            ..
        }) => put_part(
            out,
            text.tagged(b"", &[Part::Year(*year), Part::Two(*m), Part::Two(*d)]),
        ),
        _ => false,
    }
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

    /// The date tokens by definition, through `format!`.
    fn date_tokens_by_definition(date: &PartialDate) -> Vec<String> {
        let y = date.year;
        let mut out = vec![format!("y:{y:04}")];
        if date.placeholder {
            return out;
        }
        let Some(m) = date.month else { return out };
        out.extend([format!("m:{m:02}"), format!("ym:{y:04}-{m:02}")]);
        let Some(d) = date.day else { return out };
        out.extend([format!("d:{d:02}"), format!("md:{m:02}-{d:02}")]);
        if date.ambiguous_order && d != m && d <= 12 {
            out.extend([
                format!("m:{d:02}"),
                format!("ym:{y:04}-{d:02}"),
                format!("d:{m:02}"),
                format!("md:{d:02}-{m:02}"),
            ]);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn decimals_are_written_as_format_writes_them(v: i64, width in 0..8usize) {
            let mut digits = Decimal::default();
            let written = String::from_utf8_lossy(digits.of(v, width)).into_owned();
            proptest::prop_assert_eq!(written, format!("{v:0width$}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn date_tokens_are_written_as_format_writes_them(
            year in proptest::prop_oneof![1850..2030i32, -20000..20000i32, proptest::num::i32::ANY],
            month in proptest::option::of(proptest::prop_oneof![1..=12u8, proptest::num::u8::ANY]),
            day in proptest::option::of(proptest::prop_oneof![1..=31u8, proptest::num::u8::ANY]),
            placeholder: bool,
            ambiguous_order: bool,
        ) {
            let date = PartialDate { year, month, day, placeholder, ambiguous_order };
            let mut got = Vec::new();
            date_tokens(&date, &mut |t| got.push(String::from_utf8_lossy(t).into_owned()));
            proptest::prop_assert_eq!(got, date_tokens_by_definition(&date));
        }
    }

    /// A blocking key's input by definition, with `format!` and `join`.
    fn blocking_input_by_definition(key: BlockingKey, record: &Record) -> Option<String> {
        let nonempty = |s: Option<Cow<'_, str>>| s.filter(|s| !s.is_empty()).map(Cow::into_owned);
        let year = || record.birth_date.as_ref().map(|d| format!("{:04}", d.year));
        let full_date = || {
            let d = record.birth_date.as_ref().filter(|d| !d.placeholder)?;
            Some(format!("{:04}-{:02}-{:02}", d.year, d.month?, d.day?))
        };
        let sex = match record.sex {
            Sex::Male => Some("M".to_string()),
            Sex::Female => Some("F".to_string()),
            Sex::Unknown => None,
        };
        let name = &record.name;
        let parts = match key {
            BlockingKey::Surname1PhoneticBirthYear => [nonempty(surname1_phonetic(name))?, year()?],
            BlockingKey::Surname2PhoneticBirthYear => [nonempty(surname2_phonetic(name))?, year()?],
            BlockingKey::GivenPhoneticBirthDate => [nonempty(given_phonetic(name))?, full_date()?],
            BlockingKey::GivenSurname1Phonetic => [
                nonempty(given_phonetic(name))?,
                nonempty(surname1_phonetic(name))?,
            ],
            BlockingKey::SexBirthDate => [sex?, full_date()?],
        };
        Some(parts.join("\0"))
    }

    proptest::proptest! {
        #[test]
        fn blocking_inputs_are_written_as_defined(
            given in proptest::option::of("[a-z]{0,8}"),
            surname1 in proptest::option::of("[a-z]{0,8}"),
            surname2 in proptest::option::of("[a-z]{0,8}"),
            stored_phonetic: bool,
            year in proptest::prop_oneof![1900..2030i32, proptest::num::i32::ANY],
            month in proptest::option::of(0..=13u8),
            day in proptest::option::of(0..=32u8),
            placeholder: bool,
            dated: bool,
            sex in 0..3u8,
        ) {
            let phonetic = |n: &Option<String>| {
                n.as_deref().filter(|_| stored_phonetic).map(spanish_phonetic)
            };
            let record = Record {
                key: "R".to_string(),
                name: PersonName {
                    given_phonetic: phonetic(&given),
                    surname1_phonetic: phonetic(&surname1),
                    surname2_phonetic: phonetic(&surname2),
                    given: given.into_iter().collect(),
                    surname1,
                    surname2,
                    ..PersonName::default()
                },
                birth_date: dated.then_some(PartialDate {
                    year,
                    month,
                    day,
                    placeholder,
                    ambiguous_order: false,
                }),
                sex: [Sex::Male, Sex::Female, Sex::Unknown][usize::from(sex)],
                nationality: None,
                identifiers: Vec::new(),
                events: Vec::new(),
                address: None,
                attributes: Vec::new(),
                warnings: Vec::new(),
            };
            let mut out = Vec::new();
            for key in [
                BlockingKey::Surname1PhoneticBirthYear,
                BlockingKey::Surname2PhoneticBirthYear,
                BlockingKey::GivenPhoneticBirthDate,
                BlockingKey::GivenSurname1Phonetic,
                BlockingKey::SexBirthDate,
            ] {
                let written = blocking_input(key, &record, &mut out).then(|| out.clone());
                let defined = blocking_input_by_definition(key, &record).map(String::into_bytes);
                proptest::prop_assert_eq!(written, defined, "{:?}", key);
            }
        }
    }
}
