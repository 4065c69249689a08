//! Field-by-field comparison of two records into a comparison vector: one level per field.
//!
//! Level 0 of every field is "null": a value missing on either side. It carries no weight in the
//! model (neither for nor against a match), as in Splink. The other levels run from the strongest
//! agreement (1) to plain disagreement (the last level).

use enlace_model::Record;
use enlace_normalize::{IdKind, PartialDate, PersonName, Sex};
use serde::{Deserialize, Serialize};
use similarity::jaro_winkler;

mod hints;
mod place;
mod similarity;
pub(crate) use hints::{Hints, PairHints, Phonetic};
use place::compare_address;
use similarity::jaro_winkler_from;

/// How comparison vectors are made: from plaintext records ([`compare`]) or from keyed
/// encodings (`crate::encoded`). The fields are the same; the levels differ, since encodings
/// allow only similarities of Bloom filters and equality of keyed hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonKind {
    #[default]
    Plaintext,
    Encoded,
}

/// The compared fields, in the order of a comparison vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    GivenName,
    Surnames,
    BirthDate,
    Sex,
    /// Official identifiers: CURP, DPI/CUI, A-number, passport.
    Identifier,
    Phone,
    Nationality,
    /// Postal address: street, postcode, locality.
    Address,
    /// The dates of the records' events (encounters, registrations): one journey reaches
    /// Guatemala, Mexico and the United States within weeks, so the nearest two dates of two
    /// records say whether they can be one trip.
    EventDates,
}

/// The characters that separate the words of a name, and that a name's compact form ("de la
/// cruz" → "delacruz") drops.
pub(crate) const NAME_SEPARATORS: [char; 2] = [' ', '-'];

/// Number of fields in a comparison vector.
pub const FIELD_COUNT: usize = 9;

/// The level every field uses for a missing value.
pub const NULL_LEVEL: u8 = 0;

const GIVEN_LEVELS: &[&str] = &[
    "null",
    "exact",
    "first agrees, one second missing",
    "nickname or alternate",
    "first agrees, second differs",
    "jaro-winkler >= 0.92",
    "jaro-winkler >= 0.80",
    "phonetic key equal",
    "different",
];
const SURNAME_LEVELS: &[&str] = &[
    "null",
    "both surnames agree",
    "first agrees, one second missing",
    "first agrees, second similar",
    "surnames swapped",
    "surnames crossed",
    "first agrees, second differs",
    "jaro-winkler >= 0.92",
    "jaro-winkler >= 0.80 or phonetic equal",
    "different",
];
const DATE_LEVELS: &[&str] = &[
    "null",
    "exact",
    "day and month swapped",
    "within 2 days",
    "same year and month",
    "year off by one, day and month agree",
    "year agrees, date partial or placeholder",
    "different",
];
const AGREE_LEVELS: &[&str] = &["null", "agree", "disagree"];
pub(crate) const EVENT_DATE_LEVELS: &[&str] = &[
    "null",
    "two agencies, within 60 days",
    "two agencies, within a year",
    "two agencies, more than a year apart",
    "one agency, within 60 days",
    "one agency, within a year",
    "one agency, more than a year apart",
];
const ID_LEVELS: &[&str] = &[
    "null",
    "a valid identifier shared",
    "one apart by a keying error",
    "same kind, none shared",
];
const PHONE_LEVELS: &[&str] = &["null", "a valid phone shared", "none shared"];
const ADDRESS_LEVELS: &[&str] = &[
    "null",
    "street agrees, postcode and locality do not conflict",
    "street similar, postcode or locality agrees",
    "postcode and locality agree",
    "postcode or locality agrees",
    "street similar",
    "different",
];

impl Field {
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::GivenName,
        Field::Surnames,
        Field::BirthDate,
        Field::Sex,
        Field::Identifier,
        Field::Phone,
        Field::Nationality,
        Field::Address,
        Field::EventDates,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::Surnames => "surnames",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Identifier => "identifier",
            Field::Phone => "phone",
            Field::Nationality => "nationality",
            Field::Address => "address",
            Field::EventDates => "event_dates",
        }
    }

    /// Names of the field's levels, level 0 ("null") first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::GivenName => GIVEN_LEVELS,
            Field::Surnames => SURNAME_LEVELS,
            Field::BirthDate => DATE_LEVELS,
            Field::Sex | Field::Nationality => AGREE_LEVELS,
            Field::Identifier => ID_LEVELS,
            Field::Phone => PHONE_LEVELS,
            Field::Address => ADDRESS_LEVELS,
            Field::EventDates => EVENT_DATE_LEVELS,
        }
    }

    pub fn level_count(self) -> usize {
        self.levels().len()
    }

    /// Names of the field's levels for comparisons of the given kind.
    pub fn levels_of(self, kind: ComparisonKind) -> &'static [&'static str] {
        match kind {
            ComparisonKind::Plaintext => self.levels(),
            ComparisonKind::Encoded => crate::encoded::levels(self),
        }
    }

    pub fn level_count_of(self, kind: ComparisonKind) -> usize {
        self.levels_of(kind).len()
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Given-name levels.
pub mod given {
    use super::ComparisonKind;

    pub const EXACT: u8 = 1;
    /// The first given names agree and only one record has a second: weaker than agreeing
    /// names throughout ("Juan" and "Juan Luis" are as often father and son as one man).
    pub const FIRST_SECOND_MISSING: u8 = 2;
    pub const ALTERNATE: u8 = 3;
    pub const SECOND_DIFFERS: u8 = 4;
    pub const JW_HIGH: u8 = 5;
    pub const JW_LOW: u8 = 6;
    pub const PHONETIC: u8 = 7;
    pub const DIFFERENT: u8 = 8;

    /// Whether a given-name level of comparisons of `kind` is one whose weight the first
    /// given name's frequency adjusts: the levels on which the first names agree exactly. The
    /// encoded levels share only the number of [`EXACT`].
    pub fn takes_frequency(level: u8, kind: ComparisonKind) -> bool {
        level == EXACT || (kind == ComparisonKind::Plaintext && level == FIRST_SECOND_MISSING)
    }
}

/// Surname levels.
pub mod surname {
    pub const BOTH: u8 = 1;
    pub const FIRST_SECOND_MISSING: u8 = 2;
    pub const FIRST_SECOND_SIMILAR: u8 = 3;
    pub const SWAPPED: u8 = 4;
    pub const CROSSED: u8 = 5;
    pub const FIRST_SECOND_DIFFERS: u8 = 6;
    pub const JW_HIGH: u8 = 7;
    pub const JW_LOW_OR_PHONETIC: u8 = 8;
    pub const DIFFERENT: u8 = 9;

    /// The levels on which the first surnames agree exactly: those the term-frequency adjustment
    /// applies to.
    pub fn first_agrees(level: u8) -> bool {
        matches!(
            level,
            BOTH | FIRST_SECOND_MISSING | FIRST_SECOND_SIMILAR | FIRST_SECOND_DIFFERS
        )
    }
}

/// Birth-date levels.
pub mod date {
    pub const EXACT: u8 = 1;
    pub const SWAPPED: u8 = 2;
    pub const WITHIN_2_DAYS: u8 = 3;
    pub const SAME_MONTH: u8 = 4;
    pub const YEAR_OFF_BY_ONE: u8 = 5;
    pub const WEAK_YEAR: u8 = 6;
    pub const DIFFERENT: u8 = 7;
}

/// Event-date levels: how far apart the nearest two full event dates of two records are,
/// for records of two agencies (one journey reaches each within weeks) and of one agency (a
/// repeat encounter comes weeks to months later), whose matches space their events so
/// differently that one set of levels would blur both.
pub mod event_dates {
    pub const WITHIN_60_DAYS: u8 = 1;
    pub const WITHIN_A_YEAR: u8 = 2;
    pub const APART: u8 = 3;
    /// What is added to a level for two records of one agency.
    pub const ONE_AGENCY: u8 = 3;
}

/// Address levels.
pub mod address {
    pub const STREET: u8 = 1;
    pub const STREET_SIMILAR_PLACE: u8 = 2;
    pub const POSTCODE_AND_LOCALITY: u8 = 3;
    pub const POSTCODE_OR_LOCALITY: u8 = 4;
    pub const STREET_SIMILAR: u8 = 5;
    pub const DIFFERENT: u8 = 6;
}

/// Levels of the agree/disagree fields (sex, nationality, phone).
pub mod agree {
    pub const AGREE: u8 = 1;
    pub const DISAGREE: u8 = 2;
}

/// Official-identifier levels.
///
/// An A-number, CURP or passport number is typed by an officer, and a slip of one key is the
/// usual way two records of one person come to hold different numbers (on the generated
/// scenario 98 % of a person's differing A-numbers differ in one digit). Numbers further apart
/// belong to different people far more often, so the two disagreements weigh differently.
pub mod identifier {
    pub const SHARED: u8 = 1;
    pub const ONE_EDIT: u8 = 2;
    pub const DIFFERENT: u8 = 3;
}

/// A comparison vector: the level of each field, indexed by [`Field::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Comparison(pub [u8; FIELD_COUNT]);

impl Comparison {
    pub fn level(&self, field: Field) -> u8 {
        self.0[field.index()]
    }
}

/// Compares two records field by field, as records of two agencies (see
/// [`within_one_agency`] for two of one).
pub fn compare(a: &Record, b: &Record) -> Comparison {
    compare_hinted(a, b, None)
}

/// A comparison of two records of one agency: the event dates' level moved to the one-agency
/// levels.
pub fn within_one_agency(mut c: Comparison) -> Comparison {
    let level = &mut c.0[Field::EventDates.index()];
    if (event_dates::WITHIN_60_DAYS..=event_dates::APART).contains(level) {
        *level += event_dates::ONE_AGENCY;
    }
    c
}

/// [`compare`], faster with the two records' [`Hints`]; the same levels.
pub(crate) fn compare_hinted(a: &Record, b: &Record, hints: Option<PairHints<'_>>) -> Comparison {
    let swapped;
    let (b_name, name_hints) = match fields_swapped(&a.name, &b.name, hints) {
        Some(n) => {
            swapped = n;
            // The hints are of `b`'s name as written, not of this one.
            (&swapped, None)
        }
        None => (&b.name, hints),
    };
    // Each hint settles a test only when it can tell the answer for certain (see `hints`).
    let ids = |phones: bool| {
        hints
            .and_then(|h| h.identifier_level(phones))
            .unwrap_or_else(|| {
                if phones {
                    compare_phones(a, b)
                } else {
                    compare_official_ids(a, b)
                }
            })
    };
    Comparison([
        compare_given(&a.name, b_name, name_hints),
        compare_surnames(&a.name, b_name, name_hints),
        compare_dates(a.birth_date.as_ref(), b.birth_date.as_ref()),
        compare_sex(a.sex, b.sex),
        ids(false),
        ids(true),
        hints
            .and_then(|h| h.nationality_level())
            .unwrap_or_else(|| compare_opt(a.nationality.as_deref(), b.nationality.as_deref())),
        compare_address(a.address.as_ref(), b.address.as_ref()),
        compare_event_dates(a, b),
    ])
}

/// The level of the nearest two full event dates of two records.
pub(crate) fn compare_event_dates(a: &Record, b: &Record) -> u8 {
    fn days(r: &Record) -> impl Iterator<Item = i64> + '_ {
        r.events
            .iter()
            .filter_map(|e| e.date.as_ref().and_then(PartialDate::day_number))
    }
    let nearest = days(a)
        .flat_map(|x| days(b).map(move |y| (x - y).abs()))
        .min();
    match nearest {
        None => NULL_LEVEL,
        Some(g) if g <= 60 => event_dates::WITHIN_60_DAYS,
        Some(g) if g <= 365 => event_dates::WITHIN_A_YEAR,
        Some(_) => event_dates::APART,
    }
}

/// What a hint told, or else what the names say.
fn told_or(told: Option<bool>, names: impl FnOnce() -> bool) -> bool {
    told.unwrap_or_else(names)
}

/// When one record has the given names and surnames in each other's fields (a clerk's slip in
/// 1–2% of rows), `b`'s name with the fields put back, so they compare like with like; `None`
/// otherwise. The swap is recognised on first words — "CHAVEZ-GONZALEZ DE JESUS / PETRONA"
/// against "Petrona de Jesús / Chávez González" — when the crossed comparison agrees on both
/// sides and the straight one on neither.
fn fields_swapped(a: &PersonName, b: &PersonName, hints: Option<PairHints>) -> Option<PersonName> {
    // Runs on every candidate pair: the words are borrowed, and nothing is allocated until a
    // swap is found.
    fn words(v: &[String]) -> impl Iterator<Item = &str> {
        v.iter()
            .flat_map(|g| g.split(NAME_SEPARATORS))
            .filter(|w| !w.is_empty())
    }
    // Most candidate pairs share the first given name or the first surname outright: no swap,
    // and no need to split words.
    let nonempty_eq = |x: Option<&String>, y: Option<&String>| matches!((x, y), (Some(x), Some(y)) if !x.is_empty() && x == y);
    // A hint's "equal" is of two present, non-empty names (see `NameHint::equal`).
    let (given_told, surname_told) = hints.map_or((None, None), |h| {
        (
            h.a.given.equal(&h.b.given),
            h.a.surname1.equal(&h.b.surname1),
        )
    });
    if told_or(given_told, || nonempty_eq(a.given.first(), b.given.first()))
        || told_or(surname_told, || {
            nonempty_eq(a.surname1.as_ref(), b.surname1.as_ref())
        })
    {
        return None;
    }
    // A swap needs each side's given name close to the other's surname. When those names are
    // one word each (so a name is its first word), their hints rule out most pairs at once.
    if let Some(h) = hints {
        let far = |x: &hints::NameHint, y: &hints::NameHint| {
            x.is_plain() && y.is_plain() && !x.may_reach(y, 0.9)
        };
        if far(&h.a.given, &h.b.surname1) || far(&h.a.surname1, &h.b.given) {
            return None;
        }
    }
    fn first_word(s: &str) -> Option<&str> {
        s.split(NAME_SEPARATORS).find(|w| !w.is_empty())
    }
    let ag = words(&a.given).next()?;
    let bg = words(&b.given).next()?;
    let a1 = first_word(a.surname1.as_deref()?)?;
    let b1 = first_word(b.surname1.as_deref()?)?;
    let close = |x: &str, y: &str| x == y || jaro_winkler(x, y) >= 0.9;
    if ag == bg || a1 == b1 || !close(ag, b1) || !close(a1, bg) || close(ag, bg) || close(a1, b1) {
        return None;
    }
    const PARTICLES: &[&str] = &["de", "del", "la", "las", "los", "y"];
    let mut n = b.clone();
    n.given = vec![b.surname1.clone()?];
    n.given.extend(b.surname2.clone());
    n.surname1 = Some(bg.to_string());
    n.surname2 = words(&b.given)
        .nth(1)
        .filter(|w| !PARTICLES.contains(w))
        .map(str::to_string);
    n.given_alternates = enlace_normalize::nicknames::alternates(&n.given[0])
        .map(str::to_string)
        .collect();
    let key = |s: &Option<String>| s.as_deref().map(enlace_normalize::spanish_phonetic);
    n.given_phonetic = Some(enlace_normalize::spanish_phonetic(&n.given[0]));
    n.surname1_phonetic = key(&n.surname1);
    n.surname2_phonetic = key(&n.surname2);
    Some(n)
}

/// Whether `a`'s first given name, or an alternate of it, is among `b`'s given names and
/// alternates.
fn first_among(a: &PersonName, b: &PersonName) -> bool {
    let Some(first) = a.given.first() else {
        return false;
    };
    if is_initial(first) {
        return false;
    }
    // Asked of a dozen names against half a dozen on most candidate pairs: the first letters
    // settle nearly every one without a call to compare the bytes.
    let same = |x: &str, y: &str| x.as_bytes().first() == y.as_bytes().first() && x == y;
    let in_b = |x: &str| {
        b.given
            .iter()
            .chain(&b.given_alternates)
            .any(|y| same(y, x))
    };
    in_b(first) || enlace_normalize::nicknames::alternates(first).any(in_b)
}

/// One character. Asked on every candidate pair: two steps of the iterator, not a count of
/// the whole name.
fn is_initial(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some() && chars.next().is_none()
}

pub(crate) fn compare_given(a: &PersonName, b: &PersonName, hints: Option<PairHints>) -> u8 {
    let (Some(fa), Some(fb)) = (a.given.first(), b.given.first()) else {
        return NULL_LEVEL;
    };
    let equal = told_or(hints.and_then(|h| h.a.given.equal(&h.b.given)), || fa == fb);
    let (initial_a, initial_b) = match hints {
        Some(h) => (h.a.given.is_initial(), h.b.given.is_initial()),
        None => (is_initial(fa), is_initial(fb)),
    };
    if equal && !initial_a {
        // "Juan Luis" and "Juan Alfredo" are brothers more often than one man: both second
        // names written and different is its own, weaker level; one missing is a level of its
        // own too, unless it is the other record's second surname (a US MIDDLE_NAME).
        return match (a.given.get(1), b.given.get(1)) {
            (Some(x), Some(y)) if x != y && !is_initial(x) && !is_initial(y) => {
                given::SECOND_DIFFERS
            }
            (Some(x), None) if b.surname2.as_deref() != Some(x.as_str()) => {
                given::FIRST_SECOND_MISSING
            }
            (None, Some(y)) if a.surname2.as_deref() != Some(y.as_str()) => {
                given::FIRST_SECOND_MISSING
            }
            _ => given::EXACT,
        };
    }
    // One side's first given name (or one of its alternates) among the other's names or
    // alternates: "Lupe"/"Guadalupe", "Luis"/"José Luis", "John"/"Juan". Sharing only a second
    // name does not count: sisters are often "María Guadalupe" and "Rosa Guadalupe".
    if hints.is_none_or(|h| h.may_share_first()) && (first_among(a, b) || first_among(b, a)) {
        return given::ALTERNATE;
    }
    if initial_a || initial_b {
        // An initial agrees with a name it begins; that is weak evidence, like a near spelling.
        return if fa.chars().next() == fb.chars().next() {
            given::JW_LOW
        } else {
            given::DIFFERENT
        };
    }
    let jw = if hints.is_none_or(|h| h.a.given.may_reach(&h.b.given, 0.80)) {
        jaro_winkler_from(fa, fb, 0.80)
    } else {
        0.0
    };
    if jw >= 0.92 {
        given::JW_HIGH
    } else if jw >= 0.80 {
        given::JW_LOW
    } else if told_or(
        hints.and_then(|h| h.phonetic_equal(Phonetic::Given)),
        || a.given_phonetic.is_some() && a.given_phonetic == b.given_phonetic,
    ) {
        given::PHONETIC
    } else {
        given::DIFFERENT
    }
}

/// Surnames equal once spaces and hyphens are dropped, so "delacruz" (as some US records write
/// it) equals "de la cruz". Compared char by char without building the compact forms: this runs
/// on every candidate pair.
fn same_compact(x: &str, y: &str) -> bool {
    fn strip(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars().filter(|c| !NAME_SEPARATORS.contains(c))
    }
    strip(x).eq(strip(y))
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y || same_compact(x, y),
        _ => false,
    }
}

/// The second surname of `n`, or, when it has none, the given name after the first that equals
/// `other_s2`: US records sometimes move the second surname into MIDDLE_NAME. Borrowed: this
/// runs twice on every candidate pair.
fn second_surname<'a>(n: &'a PersonName, other_s2: Option<&str>) -> Option<&'a str> {
    if let Some(s2) = n.surname2.as_deref() {
        return Some(s2);
    }
    let o = other_s2?;
    n.given.iter().skip(1).find(|g| *g == o).map(String::as_str)
}

pub(crate) fn compare_surnames(a: &PersonName, b: &PersonName, hints: Option<PairHints>) -> u8 {
    let (Some(a1), Some(b1)) = (a.surname1.as_deref(), b.surname1.as_deref()) else {
        return NULL_LEVEL;
    };
    let a2 = second_surname(a, b.surname2.as_deref());
    let b2 = second_surname(b, a.surname2.as_deref());
    // Hints of second surnames only when both are the records' own (not a given name taken
    // for one); each is a necessary condition of the test it guards.
    let seconds = hints.filter(|_| a.surname2.is_some() && b.surname2.is_some());
    let (hint_a, hint_b) = (hints.map(|h| h.a), hints.map(|h| h.b));
    let (own_a2, own_b2) = (
        hint_a.filter(|_| a.surname2.is_some()),
        hint_b.filter(|_| b.surname2.is_some()),
    );
    let first_same = hints.and_then(|h| h.a.surname1.same_compact(&h.b.surname1));
    if told_or(first_same, || same(Some(a1), Some(b1))) {
        return match (a2, b2) {
            (Some(x), Some(y)) => {
                let second_same = seconds.and_then(|h| h.a.surname2.same_compact(&h.b.surname2));
                let second_near =
                    seconds.is_none_or(|h| h.a.surname2.may_reach(&h.b.surname2, 0.88));
                let phonetic_same = hints.and_then(|h| h.phonetic_equal(Phonetic::Surname2));
                if told_or(second_same, || same(a2, b2)) {
                    surname::BOTH
                } else if (second_near && jaro_winkler_from(x, y, 0.88) >= 0.88)
                    || told_or(phonetic_same, || {
                        a.surname2_phonetic.is_some() && a.surname2_phonetic == b.surname2_phonetic
                    })
                {
                    surname::FIRST_SECOND_SIMILAR
                } else {
                    surname::FIRST_SECOND_DIFFERS
                }
            }
            _ => surname::FIRST_SECOND_MISSING,
        };
    }
    // Surnames in the wrong order: strong. One surname in the other's other place: weak, since
    // a mother's first surname is her child's second.
    let x_told = match (hint_a, own_b2) {
        (Some(ha), Some(hb)) => ha.surname1.same_compact(&hb.surname2),
        _ => None,
    };
    let y_told = match (own_a2, hint_b) {
        (Some(ha), Some(hb)) => ha.surname2.same_compact(&hb.surname1),
        _ => None,
    };
    let (x, y) = (
        told_or(x_told, || same(Some(a1), b2)),
        told_or(y_told, || same(a2, Some(b1))),
    );
    if x && y {
        return surname::SWAPPED;
    }
    if x || y {
        return surname::CROSSED;
    }
    let jw = if hints.is_none_or(|h| h.a.surname1.may_reach(&h.b.surname1, 0.80)) {
        jaro_winkler_from(a1, b1, 0.80)
    } else {
        0.0
    };
    if jw >= 0.92 {
        surname::JW_HIGH
    } else if jw >= 0.80
        || told_or(
            hints.and_then(|h| h.phonetic_equal(Phonetic::Surname1)),
            || a.surname1_phonetic.is_some() && a.surname1_phonetic == b.surname1_phonetic,
        )
    {
        surname::JW_LOW_OR_PHONETIC
    } else {
        surname::DIFFERENT
    }
}

fn full(d: &PartialDate) -> Option<(i32, u8, u8)> {
    match (d.month, d.day) {
        (Some(m), Some(day)) if !d.placeholder => Some((d.year, m, day)),
        _ => None,
    }
}

pub(crate) fn compare_dates(a: Option<&PartialDate>, b: Option<&PartialDate>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return NULL_LEVEL;
    };
    if a.is_null_sentinel() || b.is_null_sentinel() {
        return NULL_LEVEL;
    }
    match (full(a), full(b)) {
        (Some((ya, ma, da)), Some((yb, mb, db))) => {
            if (ya, ma, da) == (yb, mb, db) {
                date::EXACT
            } else if ya == yb && ma == db && da == mb {
                date::SWAPPED
            } else if a
                .day_number()
                .zip(b.day_number())
                .is_some_and(|(x, y)| (x - y).abs() <= 2)
            {
                date::WITHIN_2_DAYS
            } else if ya == yb && ma == mb {
                date::SAME_MONTH
            } else if (ya - yb).abs() == 1 && ma == mb && da == db {
                date::YEAR_OFF_BY_ONE
            } else {
                date::DIFFERENT
            }
        }
        // A year alone or a 01/01 filler says nothing about day and month.
        _ => {
            if a.year == b.year {
                date::WEAK_YEAR
            } else {
                date::DIFFERENT
            }
        }
    }
}

pub(crate) fn compare_sex(a: Sex, b: Sex) -> u8 {
    match (a, b) {
        (Sex::Unknown, _) | (_, Sex::Unknown) => NULL_LEVEL,
        _ if a == b => agree::AGREE,
        _ => agree::DISAGREE,
    }
}

fn compare_opt(a: Option<&str>, b: Option<&str>) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) if x == y => agree::AGREE,
        (Some(_), Some(_)) => agree::DISAGREE,
        _ => NULL_LEVEL,
    }
}

/// The phone level: a valid phone shared, or both have valid phones and none is shared.
/// Invalid values are ignored entirely: they neither agree nor disagree.
fn compare_phones(a: &Record, b: &Record) -> u8 {
    match shared_ids(a, b, |k| k == IdKind::Phone) {
        Shared::Equal => agree::AGREE,
        Shared::OneEdit | Shared::Different => agree::DISAGREE,
        Shared::NoCommonKind => NULL_LEVEL,
    }
}

/// The official-identifier level (see [`identifier`]); invalid values are ignored.
fn compare_official_ids(a: &Record, b: &Record) -> u8 {
    match shared_ids(a, b, IdKind::is_official) {
        Shared::Equal => identifier::SHARED,
        Shared::OneEdit => identifier::ONE_EDIT,
        Shared::Different => identifier::DIFFERENT,
        Shared::NoCommonKind => NULL_LEVEL,
    }
}

/// The closest two records' valid identifiers of one kind come.
enum Shared {
    Equal,
    OneEdit,
    Different,
    NoCommonKind,
}

/// How close the valid identifiers of the kinds `keep` selects come between `a` and `b`.
fn shared_ids(a: &Record, b: &Record, keep: impl Fn(IdKind) -> bool) -> Shared {
    let mut closest = Shared::NoCommonKind;
    for x in a.identifiers.iter().filter(|i| i.valid && keep(i.kind)) {
        for y in b.identifiers.iter().filter(|i| i.valid && i.kind == x.kind) {
            if x.value == y.value {
                return Shared::Equal;
            }
            if similarity::one_edit_apart(x.value.as_bytes(), y.value.as_bytes()) {
                closest = Shared::OneEdit;
            } else if matches!(closest, Shared::NoCommonKind) {
                closest = Shared::Different;
            }
        }
    }
    closest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{rec, with_id};

    fn on(dates: &[&str]) -> Record {
        let mut r = rec("e", "Ana", "Xol", "", "1990-01-02");
        r.events = dates
            .iter()
            .map(|d| enlace_model::Event {
                kind: "encounter".into(),
                id: None,
                date: crate::testutil::date(d),
                place: None,
            })
            .collect();
        r
    }

    #[test]
    fn event_dates_compare_the_nearest_two_full_dates() {
        let level = |a: &[&str], b: &[&str]| compare(&on(a), &on(b)).level(Field::EventDates);
        // One journey: Guatemala, then Mexico a fortnight later; across a year end.
        assert_eq!(
            level(&["2024-03-01"], &["2024-03-15"]),
            event_dates::WITHIN_60_DAYS
        );
        assert_eq!(
            level(&["2023-12-20"], &["2024-02-17"]),
            event_dates::WITHIN_60_DAYS
        );
        assert_eq!(
            level(&["2023-12-20"], &["2024-02-19"]),
            event_dates::WITHIN_A_YEAR
        );
        assert_eq!(level(&["2020-01-05"], &["2022-06-03"]), event_dates::APART);
        // The nearest pair decides: a repeat encounter near the other record's event.
        assert_eq!(
            level(&["2019-05-05", "2024-03-10"], &["2024-03-01"]),
            event_dates::WITHIN_60_DAYS
        );
        // Missing or partial dates say nothing.
        assert_eq!(level(&[], &["2024-03-01"]), NULL_LEVEL);
        assert_eq!(level(&["2024"], &["2024-03-01"]), NULL_LEVEL);
        // Order does not matter.
        assert_eq!(
            level(&["2024-03-15"], &["2024-03-01"]),
            event_dates::WITHIN_60_DAYS
        );
    }

    #[test]
    fn one_agency_moves_the_event_levels_only() {
        let (a, b) = (on(&["2024-03-01"]), on(&["2024-03-15"]));
        let across = compare(&a, &b);
        let within = within_one_agency(across);
        assert_eq!(
            within.level(Field::EventDates),
            event_dates::WITHIN_60_DAYS + event_dates::ONE_AGENCY
        );
        for f in Field::ALL.iter().filter(|&&f| f != Field::EventDates) {
            assert_eq!(within.level(*f), across.level(*f), "{f:?}");
        }
        // Every level it can make is named, and null stays null.
        let top = event_dates::APART + event_dates::ONE_AGENCY;
        assert_eq!(usize::from(top) + 1, Field::EventDates.level_count());
        let null = compare(&on(&[]), &b);
        assert_eq!(within_one_agency(null).level(Field::EventDates), NULL_LEVEL);
    }

    fn given_level(a: &str, b: &str) -> u8 {
        compare(&rec("1", a, "perez", "", ""), &rec("2", b, "perez", "", ""))
            .level(Field::GivenName)
    }

    fn surname_level(a: (&str, &str), b: (&str, &str)) -> u8 {
        compare(
            &rec("1", "juan", a.0, a.1, ""),
            &rec("2", "juan", b.0, b.1, ""),
        )
        .level(Field::Surnames)
    }

    fn date_level(a: &str, b: &str) -> u8 {
        compare(
            &rec("1", "juan", "perez", "", a),
            &rec("2", "juan", "perez", "", b),
        )
        .level(Field::BirthDate)
    }

    #[test]
    fn given_name_levels() {
        assert_eq!(given_level("José", "JOSE"), given::EXACT);
        assert_eq!(given_level("Lupe", "Guadalupe"), given::ALTERNATE);
        assert_eq!(given_level("Juan", "John"), given::ALTERNATE);
        assert_eq!(given_level("Luis", "José Luis"), given::ALTERNATE);
        assert_eq!(given_level("Fernando", "Fernadno"), given::JW_HIGH);
        assert_eq!(
            given_level("Juan Luis", "Juan"),
            given::FIRST_SECOND_MISSING
        );
        assert_eq!(given_level("Juan Luis", "Juan Luis"), given::EXACT);
        assert_eq!(given_level("Juan Luis", "Juan L"), given::EXACT);
        assert_eq!(
            given_level("Juan Luis", "Juan Alfredo"),
            given::SECOND_DIFFERS
        );
        assert_eq!(given_level("Jose", "Joel"), given::JW_LOW);
        assert_eq!(given_level("Juan", "Pedro"), given::DIFFERENT);
        // Sharing only a second given name is not agreement (sisters).
        assert_eq!(
            given_level("Rosa Guadalupe", "Marta Guadalupe"),
            given::DIFFERENT
        );
    }

    #[test]
    fn a_second_surname_written_as_a_middle_name_is_not_a_missing_given_name() {
        // A US record with the second surname in MIDDLE_NAME against a Mexican one.
        let level = |given_us: &str| {
            compare(
                &rec("1", given_us, "Pérez", "", ""),
                &rec("2", "Juan", "Pérez", "García", ""),
            )
            .level(Field::GivenName)
        };
        assert_eq!(level("Juan García"), given::EXACT);
        assert_eq!(level("Juan Luis"), given::FIRST_SECOND_MISSING);
    }

    #[test]
    fn surname_levels() {
        assert_eq!(
            surname_level(("Pérez", "García"), ("PEREZ", "GARCIA")),
            surname::BOTH
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("Perez", "")),
            surname::FIRST_SECOND_MISSING
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("García", "Pérez")),
            surname::SWAPPED
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("García", "")),
            surname::CROSSED
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("García", "López")),
            surname::CROSSED
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("Perez", "Garcia de Lopez")),
            surname::BOTH,
            "a married name is kept apart from the second surname"
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("Perez", "Gracia")),
            surname::FIRST_SECOND_SIMILAR
        );
        assert_eq!(
            surname_level(("Pérez", "García"), ("Perez", "Tzul")),
            surname::FIRST_SECOND_DIFFERS
        );
        assert_eq!(
            surname_level(("González", ""), ("Gonzales", "")),
            surname::JW_HIGH
        );
        assert_eq!(
            surname_level(("Vásquez", ""), ("Basquez", "")),
            surname::JW_LOW_OR_PHONETIC
        );
        assert_eq!(
            surname_level(("Pérez", ""), ("Xol", "")),
            surname::DIFFERENT
        );
        assert_eq!(
            surname_level(("de la Cruz", ""), ("Delacruz", "")),
            surname::FIRST_SECOND_MISSING
        );
    }

    #[test]
    fn second_surname_moved_to_middle_name() {
        let us = enlace_model::Record {
            name: enlace_normalize::parse_name(enlace_normalize::NameInput::FirstMiddleLast {
                first: "JUAN",
                middle: "GARCIA",
                last: "PEREZ",
            })
            .unwrap(),
            ..rec("1", "x", "x", "", "")
        };
        let mx = rec("2", "Juan", "Pérez", "García", "");
        assert_eq!(compare(&us, &mx).level(Field::Surnames), surname::BOTH);
    }

    #[test]
    fn given_names_and_surnames_swapped_between_fields() {
        let a = rec("1", "Sonia", "Hernández", "", "1986-06-26");
        let b = rec("2", "Hernandez", "Sonia", "", "1986-06-26");
        let c = compare(&a, &b);
        assert_eq!(c.level(Field::GivenName), given::EXACT);
        assert_eq!(c.level(Field::Surnames), surname::FIRST_SECOND_MISSING);
    }

    #[test]
    fn multi_word_fields_swapped() {
        let us = enlace_model::Record {
            name: enlace_normalize::parse_name(enlace_normalize::NameInput::FirstMiddleLast {
                first: "VELAZQUEZ",
                middle: "BARRERA",
                last: "ALEXANDER",
            })
            .unwrap(),
            ..rec("1", "x", "x", "", "2002-10-15")
        };
        let mx = rec("2", "Alexander", "Velázquez", "Barrera", "2002-10-15");
        let c = compare(&mx, &us);
        assert_eq!(c.level(Field::GivenName), given::EXACT);
        assert_eq!(c.level(Field::Surnames), surname::BOTH);
    }

    #[test]
    fn birth_date_levels() {
        assert_eq!(date_level("1990-03-05", "1990-03-05"), date::EXACT);
        assert_eq!(date_level("1990-03-05", "1990-05-03"), date::SWAPPED);
        assert_eq!(date_level("1990-03-31", "1990-04-01"), date::WITHIN_2_DAYS);
        assert_eq!(date_level("1990-03-05", "1990-03-25"), date::SAME_MONTH);
        assert_eq!(
            date_level("1990-03-05", "1991-03-05"),
            date::YEAR_OFF_BY_ONE
        );
        assert_eq!(date_level("1990-01-01", "1990-07-14"), date::WEAK_YEAR);
        assert_eq!(date_level("1990", "1990-07-14"), date::WEAK_YEAR);
        assert_eq!(date_level("1990-03-05", "1975-08-20"), date::DIFFERENT);
        assert_eq!(date_level("", "1990-07-14"), NULL_LEVEL);
        assert_eq!(
            date_level("1900-01-01", "1990-07-14"),
            NULL_LEVEL,
            "null sentinel"
        );
    }

    #[test]
    fn sex_and_nationality() {
        let a = rec("1", "Ana", "Ruiz", "", "");
        let mut b = rec("2", "Ana", "Ruiz", "", "");
        assert_eq!(compare(&a, &b).level(Field::Sex), agree::AGREE);
        b.sex = Sex::Female;
        assert_eq!(compare(&a, &b).level(Field::Sex), agree::DISAGREE);
        b.sex = Sex::Unknown;
        assert_eq!(compare(&a, &b).level(Field::Sex), NULL_LEVEL);
        b.nationality = Some("GT".into());
        assert_eq!(compare(&a, &b).level(Field::Nationality), agree::DISAGREE);
        b.nationality = None;
        assert_eq!(compare(&a, &b).level(Field::Nationality), NULL_LEVEL);
    }

    #[test]
    fn identifiers_valid_only() {
        let base = || rec("1", "Ana", "Ruiz", "", "");
        let a = with_id(base(), IdKind::Phone, "962 123 4567", "MX");
        let b = with_id(base(), IdKind::Phone, "(962) 123-4567", "MX");
        assert_eq!(compare(&a, &b).level(Field::Phone), agree::AGREE);
        let c = with_id(base(), IdKind::Phone, "962 765 4321", "MX");
        assert_eq!(compare(&a, &c).level(Field::Phone), agree::DISAGREE);
        // An invalid value never agrees, even with itself, and never disagrees either.
        let bad1 = with_id(base(), IdKind::Phone, "123", "MX");
        let bad2 = with_id(base(), IdKind::Phone, "123", "MX");
        assert!(!bad1.identifiers[0].valid);
        assert_eq!(compare(&bad1, &bad2).level(Field::Phone), NULL_LEVEL);
        assert_eq!(compare(&a, &bad2).level(Field::Phone), NULL_LEVEL);
        // A phone is not an official identifier.
        assert_eq!(compare(&a, &b).level(Field::Identifier), NULL_LEVEL);
        let curp17 = "PEGJ900315HDFRRN0";
        let curp = format!(
            "{curp17}{}",
            enlace_normalize::curp::check_digit(curp17).unwrap()
        );
        let x = with_id(base(), IdKind::Curp, &curp, "MX");
        let y = with_id(base(), IdKind::Curp, &curp.to_lowercase(), "MX");
        assert!(x.identifiers[0].valid, "{:?}", x.identifiers[0]);
        assert_eq!(compare(&x, &y).level(Field::Identifier), identifier::SHARED);
        let mut wrong = curp.clone();
        wrong.pop();
        wrong.push(if curp.ends_with('0') { '1' } else { '0' });
        let z = with_id(base(), IdKind::Curp, &wrong, "MX");
        assert!(!z.identifiers[0].valid);
        assert_eq!(compare(&x, &z).level(Field::Identifier), NULL_LEVEL);
    }

    #[test]
    fn official_identifiers_one_keying_slip_apart_have_their_own_level() {
        let base = || rec("1", "Ana", "Ruiz", "", "");
        let a = with_id(base(), IdKind::ANumber, "A-213-405-044", "US");
        let level = |raw: &str| {
            let b = with_id(base(), IdKind::ANumber, raw, "US");
            assert!(b.identifiers[0].valid, "{raw}");
            compare(&a, &b).level(Field::Identifier)
        };
        assert_eq!(level("213405044"), identifier::SHARED);
        assert_eq!(level("213405244"), identifier::ONE_EDIT);
        assert_eq!(level("213450044"), identifier::ONE_EDIT);
        assert_eq!(level("913405041"), identifier::DIFFERENT);
        // The closest of several identifiers of the kind decides.
        let two = with_id(
            with_id(base(), IdKind::ANumber, "987654321", "US"),
            IdKind::ANumber,
            "213405045",
            "US",
        );
        assert_eq!(
            compare(&a, &two).level(Field::Identifier),
            identifier::ONE_EDIT
        );
        // Phones have no such level: a number one digit off is another number.
        let p = with_id(base(), IdKind::Phone, "962 123 4567", "MX");
        let q = with_id(base(), IdKind::Phone, "962 123 4568", "MX");
        assert_eq!(compare(&p, &q).level(Field::Phone), agree::DISAGREE);
    }

    #[test]
    fn every_level_has_a_name() {
        for f in Field::ALL {
            assert_eq!(f.levels()[0], "null");
            assert!(f.level_count() >= 3);
        }
    }

    proptest::proptest! {
        #[test]
        fn an_initial_is_exactly_one_character(s in "\\PC{0,3}") {
            proptest::prop_assert_eq!(is_initial(&s), s.chars().count() == 1);
        }
    }
}
