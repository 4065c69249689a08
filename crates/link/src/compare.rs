//! Field-by-field comparison of two records into a comparison vector: one level per field.
//!
//! Level 0 of every field is "null": a value missing on either side. It carries no weight in the
//! model (neither for nor against a match), as in Splink. The other levels run from the strongest
//! agreement (1) to plain disagreement (the last level).

use enlace_model::Record;
use enlace_normalize::{IdKind, PartialDate, PersonName, Sex};
use serde::{Deserialize, Serialize};
use strsim::jaro_winkler;

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
}

/// Number of fields in a comparison vector.
pub const FIELD_COUNT: usize = 7;

/// The level every field uses for a missing value.
pub const NULL_LEVEL: u8 = 0;

const GIVEN_LEVELS: &[&str] = &[
    "null",
    "exact",
    "nickname or alternate",
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
    "surnames swapped or crossed",
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
const ID_LEVELS: &[&str] = &[
    "null",
    "a valid identifier shared",
    "same kind, none shared",
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
        }
    }

    /// Names of the field's levels, level 0 ("null") first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::GivenName => GIVEN_LEVELS,
            Field::Surnames => SURNAME_LEVELS,
            Field::BirthDate => DATE_LEVELS,
            Field::Sex | Field::Nationality => AGREE_LEVELS,
            Field::Identifier | Field::Phone => ID_LEVELS,
        }
    }

    pub fn level_count(self) -> usize {
        self.levels().len()
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Given-name levels.
pub mod given {
    pub const EXACT: u8 = 1;
    pub const ALTERNATE: u8 = 2;
    pub const JW_HIGH: u8 = 3;
    pub const JW_LOW: u8 = 4;
    pub const PHONETIC: u8 = 5;
    pub const DIFFERENT: u8 = 6;
}

/// Surname levels.
pub mod surname {
    pub const BOTH: u8 = 1;
    pub const FIRST_SECOND_MISSING: u8 = 2;
    pub const FIRST_SECOND_SIMILAR: u8 = 3;
    pub const SWAPPED: u8 = 4;
    pub const FIRST_SECOND_DIFFERS: u8 = 5;
    pub const JW_HIGH: u8 = 6;
    pub const JW_LOW_OR_PHONETIC: u8 = 7;
    pub const DIFFERENT: u8 = 8;

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

/// Levels of the agree/disagree fields (sex, nationality) and of the identifier fields.
pub mod agree {
    pub const AGREE: u8 = 1;
    pub const DISAGREE: u8 = 2;
}

/// A comparison vector: the level of each field, indexed by [`Field::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Comparison(pub [u8; FIELD_COUNT]);

impl Comparison {
    pub fn level(&self, field: Field) -> u8 {
        self.0[field.index()]
    }
}

/// Compares two records field by field.
pub fn compare(a: &Record, b: &Record) -> Comparison {
    Comparison([
        compare_given(&a.name, &b.name),
        compare_surnames(&a.name, &b.name),
        compare_dates(a.birth_date.as_ref(), b.birth_date.as_ref()),
        compare_sex(a.sex, b.sex),
        compare_ids(a, b, |k| k != IdKind::Phone && is_personal(k)),
        compare_ids(a, b, |k| k == IdKind::Phone),
        compare_opt(a.nationality.as_deref(), b.nationality.as_deref()),
    ])
}

/// Plates, accounts and "other" identify vehicles, money or nothing in particular, not a person.
fn is_personal(kind: IdKind) -> bool {
    matches!(
        kind,
        IdKind::Phone | IdKind::Curp | IdKind::DpiCui | IdKind::ANumber | IdKind::Passport
    )
}

fn is_initial(s: &str) -> bool {
    s.chars().count() == 1
}

pub(crate) fn compare_given(a: &PersonName, b: &PersonName) -> u8 {
    let (Some(fa), Some(fb)) = (a.given.first(), b.given.first()) else {
        return NULL_LEVEL;
    };
    if fa == fb && !is_initial(fa) {
        return given::EXACT;
    }
    // Any given name or alternate of one side among the other's: "Lupe"/"Guadalupe",
    // "José Luis"/"Luis", "John"/"Juan".
    let names_a = a.given.iter().chain(&a.given_alternates);
    for x in names_a {
        if is_initial(x) {
            continue;
        }
        if b.given.iter().chain(&b.given_alternates).any(|y| y == x) {
            return given::ALTERNATE;
        }
    }
    if is_initial(fa) || is_initial(fb) {
        // An initial agrees with a name it begins; that is weak evidence, like a near spelling.
        return if fa.chars().next() == fb.chars().next() {
            given::JW_LOW
        } else {
            given::DIFFERENT
        };
    }
    let jw = jaro_winkler(fa, fb);
    if jw >= 0.92 {
        given::JW_HIGH
    } else if jw >= 0.80 {
        given::JW_LOW
    } else if a.given_phonetic.is_some() && a.given_phonetic == b.given_phonetic {
        given::PHONETIC
    } else {
        given::DIFFERENT
    }
}

/// A surname with its spaces removed, so "delacruz" (as some US records write it) equals
/// "de la cruz".
fn compact(s: &str) -> String {
    s.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y || compact(x) == compact(y),
        _ => false,
    }
}

/// The second surname of `n`, or, when it has none, the given name after the first that equals
/// `other_s2`: US records sometimes move the second surname into MIDDLE_NAME.
fn second_surname(n: &PersonName, other_s2: &Option<String>) -> Option<String> {
    if n.surname2.is_some() {
        return n.surname2.clone();
    }
    let o = other_s2.as_ref()?;
    n.given.iter().skip(1).find(|g| *g == o).cloned()
}

pub(crate) fn compare_surnames(a: &PersonName, b: &PersonName) -> u8 {
    let (Some(a1), Some(b1)) = (&a.surname1, &b.surname1) else {
        return NULL_LEVEL;
    };
    let a2 = second_surname(a, &b.surname2);
    let b2 = second_surname(b, &a.surname2);
    if same(&a.surname1, &b.surname1) {
        return match (&a2, &b2) {
            (Some(x), Some(y)) => {
                if same(&a2, &b2) {
                    surname::BOTH
                } else if jaro_winkler(x, y) >= 0.88
                    || (a.surname2_phonetic.is_some() && a.surname2_phonetic == b.surname2_phonetic)
                {
                    surname::FIRST_SECOND_SIMILAR
                } else {
                    surname::FIRST_SECOND_DIFFERS
                }
            }
            _ => surname::FIRST_SECOND_MISSING,
        };
    }
    // Surnames in the wrong order, or the one surname a record kept is the other's second.
    if same(&a.surname1, &b2) || same(&a2, &b.surname1) {
        return surname::SWAPPED;
    }
    let jw = jaro_winkler(a1, b1);
    if jw >= 0.92 {
        surname::JW_HIGH
    } else if jw >= 0.80
        || (a.surname1_phonetic.is_some() && a.surname1_phonetic == b.surname1_phonetic)
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

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), for the "within 2 days" level.
fn day_number(y: i32, m: u8, d: u8) -> i64 {
    let (y, m, d) = (i64::from(y), i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
            } else if (day_number(ya, ma, da) - day_number(yb, mb, db)).abs() <= 2 {
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

/// Shared valid identifiers of the kinds `keep` selects. Invalid identifiers are ignored
/// entirely: they neither agree nor disagree.
fn compare_ids(a: &Record, b: &Record, keep: impl Fn(IdKind) -> bool) -> u8 {
    let mut same_kind = false;
    for x in a.identifiers.iter().filter(|i| i.valid && keep(i.kind)) {
        for y in b.identifiers.iter().filter(|i| i.valid && i.kind == x.kind) {
            if x.value == y.value {
                return agree::AGREE;
            }
            same_kind = true;
        }
    }
    if same_kind {
        agree::DISAGREE
    } else {
        NULL_LEVEL
    }
}
