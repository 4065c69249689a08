//! The privacy-preserving path: linking keyed encodings (`enlace-encode`'s [`EncodingFile`])
//! with the same model, solvers and evaluation as plaintext records.
//!
//! The linkage unit holds only encodings, so its comparison vectors are made of what it can
//! compute: Dice similarities of field Bloom filters (banded into levels), containment of one
//! filter in another (a name among the other's names), and equality of keyed identifier
//! hashes. The fields are the plaintext ones; the levels are this module's ([`levels`]).
//! The term-frequency adjustment counts identical first-surname filters: equal surnames give
//! identical filters (within a salt group when salting is on), which the linkage unit can see
//! anyway, so the adjustment learns nothing the file does not already show. Events leave a
//! node only as keyed tokens of their ids (when the schema has event slots): records of one
//! file sharing a token were met together, which gives the same-event rule and the
//! companions' pass (`crate::cotravel`) what they need without the event.

use enlace_encode::schema::Field as EncField;
use enlace_encode::{EncodedRecord, EncodingFile, FileError, SplitFile};
use enlace_normalize::IdKind;
use std::borrow::Cow;

use crate::compare::{Comparison, ComparisonKind, Field, NULL_LEVEL};
use crate::{Linkable, RecordRef};

mod blocking;
mod filters;
mod search;

use filters::{FieldFilters, Filter, Side, containment, counted, dice};

pub use blocking::{EncodedBlocker, training_sets};
pub use search::{SearchHit, SearchIndex, SourceIndex};

/// Dice at or above this counts as the same value: filters of equal values are identical, bar
/// the random bit flips of hardening.
pub const EQUAL: f64 = 0.95;

const GIVEN_LEVELS: &[&str] = &[
    "null",
    "equal filters",
    "one's names within the other's or its alternates",
    "names swapped between fields",
    "dice >= 0.80",
    "dice >= 0.60",
    "different",
];
const SURNAME_LEVELS: &[&str] = &[
    "null",
    "both surnames equal",
    "first equal, one second missing",
    "first equal, second dice >= 0.70",
    "surnames swapped, or names swapped between fields",
    "surnames crossed",
    "first equal, second differs",
    "first dice >= 0.80",
    "first dice >= 0.60",
    "different",
];
const DATE_LEVELS: &[&str] = &[
    "null",
    "equal filters",
    "dice >= 0.70",
    "dice >= 0.50",
    "dice >= 0.25",
    "different",
];
const AGREE_LEVELS: &[&str] = &["null", "agree", "disagree"];
const ID_LEVELS: &[&str] = &[
    "null",
    "a keyed identifier hash shared",
    "same kind, none shared",
];

/// Names of a field's levels on encoded comparisons, "null" first.
pub fn levels(field: Field) -> &'static [&'static str] {
    match field {
        Field::GivenName => GIVEN_LEVELS,
        Field::Surnames => SURNAME_LEVELS,
        Field::BirthDate => DATE_LEVELS,
        Field::Sex | Field::Nationality => AGREE_LEVELS,
        Field::Identifier | Field::Phone => ID_LEVELS,
        // The default schema does not encode addresses (a home address is too identifying to
        // send even keyed, and few agencies hold one): the field is always null on encodings.
        Field::Address => AGREE_LEVELS,
        // Event dates are not encoded: always null on encodings.
        Field::EventDates => crate::compare::EVENT_DATE_LEVELS,
    }
}

/// One agency's encodings, under the name of the source they came from.
#[derive(Debug, Clone)]
pub struct EncodedSource {
    pub name: String,
    pub file: EncodingFile,
    /// The records' field filters when the file was read with them apart
    /// ([`EncodingFile::split_from_bytes`]); `None` when they are in the records.
    pub filters: Option<Vec<u64>>,
}

impl EncodedSource {
    /// A source whose records hold their filters.
    pub fn new(name: impl Into<String>, file: EncodingFile) -> EncodedSource {
        EncodedSource {
            name: name.into(),
            file,
            filters: None,
        }
    }

    /// A source read with its filters apart: the layout the comparisons use, with no heap
    /// block per filter (a million records' filters are a gigabyte).
    pub fn split(name: impl Into<String>, split: SplitFile) -> EncodedSource {
        EncodedSource {
            name: name.into(),
            file: split.file,
            filters: Some(split.filters),
        }
    }
}

/// Where each compared field sits in the schema's filters.
#[derive(Debug, Clone, Copy, Default)]
struct Slots {
    given: Option<usize>,
    alternates: Option<usize>,
    names: Option<usize>,
    surname1: Option<usize>,
    surname2: Option<usize>,
    birth_date: Option<usize>,
    sex: Option<usize>,
    nationality: Option<usize>,
    event_dates: Option<usize>,
    /// The schema salts the name filters by birth year.
    salted: bool,
}

impl Slots {
    /// Under salting, one record has a birth date and the other none: their salts differ,
    /// whatever else they hold.
    fn dated_apart(&self, x: Side<'_>, y: Side<'_>) -> bool {
        self.salted
            && counted(x, self.birth_date).is_some() != counted(y, self.birth_date).is_some()
    }

    fn of(schema: &enlace_encode::Schema) -> Slots {
        let at = |f| schema.field_index(f);
        Slots {
            given: at(EncField::Given),
            alternates: at(EncField::GivenAlternates),
            names: at(EncField::Names),
            surname1: at(EncField::Surname1),
            surname2: at(EncField::Surname2),
            birth_date: at(EncField::BirthDate),
            sex: at(EncField::Sex),
            nationality: at(EncField::Nationality),
            event_dates: at(EncField::EventDates),
            salted: schema.hardening.salt.is_some(),
        }
    }
}

/// The comparison vector of two encoded records under one schema's slots.
fn compare_encoded(x: Side<'_>, y: Side<'_>, s: &Slots) -> Comparison {
    // Under birth-year salting a record without a birth date is salted apart from every record
    // with one: their name filters differ whatever the names, so the names say nothing (null)
    // rather than "different". Read as "different", they sank the true pairs where one agency
    // had no birth date, even with a phone in common.
    let (given, surnames) = if !s.dated_apart(x, y) {
        (compare_given(x, y, s), compare_surnames(x, y, s))
    } else {
        (NULL_LEVEL, NULL_LEVEL)
    };
    Comparison([
        given,
        surnames,
        compare_date(x, y, s),
        compare_agree(x, y, s.sex),
        compare_ids(x.record, y.record, IdKind::is_official),
        compare_ids(x.record, y.record, |k| k == IdKind::Phone),
        compare_agree(x, y, s.nationality),
        NULL_LEVEL,
        compare_event_dates(x, y, s),
    ])
}

/// The encodings of all sources being linked, addressed by dense global ids like a
/// [`crate::Dataset`]. Records are named by their opaque reference (16 hex digits): only the
/// agency that encoded them can map a reference back to a record.
#[derive(Debug, Clone)]
pub struct EncodedDataset {
    /// The sources, their records' field filters moved to `filters`.
    sources: Vec<EncodedSource>,
    keys: Vec<Vec<String>>,
    refs: Vec<RecordRef>,
    slots: Slots,
    /// Per global id: a digest of the first-surname filter, for the frequency adjustment.
    surname_keys: Vec<Option<String>>,
    /// Per global id: a digest of the given-name filter, for the given-name adjustment.
    given_keys: Vec<Option<String>>,
    /// The schema salts the name filters (by birth year).
    salted: bool,
    /// Per source, its records' field filters and their popcounts.
    filters: Vec<FieldFilters>,
}

/// The key under which an encoded record is reported: its reference in hex.
pub fn reference_key(reference: u64) -> String {
    format!("{reference:016x}")
}

impl EncodedDataset {
    /// Gathers sources after checking that every file was made under the first one's schema
    /// and secret (a mismatch names both schemas).
    pub fn new(mut sources: Vec<EncodedSource>) -> Result<EncodedDataset, FileError> {
        if let Some(first) = sources.first() {
            for s in &sources[1..] {
                first.file.check_comparable(&s.file)?;
            }
        }
        let slots = sources
            .first()
            .map(|f| Slots::of(&f.file.schema))
            .unwrap_or_default();
        let mut refs = Vec::new();
        let mut keys = Vec::new();
        for (s, src) in sources.iter().enumerate() {
            keys.push(
                src.file
                    .records
                    .iter()
                    .map(|r| reference_key(r.reference))
                    .collect(),
            );
            for i in 0..src.file.records.len() {
                refs.push(RecordRef {
                    source: s as u32,
                    index: i as u32,
                });
            }
        }
        let salted = sources
            .first()
            .is_some_and(|s| s.file.schema.hardening.salt.is_some());
        let (fields, width) = sources.first().map_or((0, 0), |s| {
            (s.file.schema.fields.len(), s.file.schema.filter_words())
        });
        let mut filters = Vec::with_capacity(sources.len());
        for src in &mut sources {
            let records = src.file.records.len();
            filters.push(match src.filters.take() {
                Some(words) => {
                    let found = words.len();
                    FieldFilters::from_words(fields, width, records, words).ok_or_else(|| {
                        FileError::BadHeader(format!(
                            "source {}: {found} filter words for {records} records of \
                             {fields} filters of {width} words",
                            src.name
                        ))
                    })?
                }
                None => {
                    let mut held = FieldFilters::with_capacity(fields, width, records);
                    for r in &mut src.file.records {
                        held.take(r);
                    }
                    held
                }
            });
        }
        let mut data = EncodedDataset {
            sources,
            keys,
            refs,
            slots,
            surname_keys: Vec::new(),
            given_keys: Vec::new(),
            salted,
            filters,
        };
        let digests = |slot: Option<usize>| -> Vec<Option<String>> {
            (0..data.refs.len() as u32)
                .map(|id| counted(data.side(id), slot).map(|f| filter_digest(f.words)))
                .collect()
        };
        let (surname_keys, given_keys) = (digests(slots.surname1), digests(slots.given));
        data.surname_keys = surname_keys;
        data.given_keys = given_keys;
        Ok(data)
    }

    /// The names of the sources, in the order of their ids.
    pub fn source_names(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|s| s.name.as_str())
    }

    /// Record `id` with its filters.
    fn side(&self, id: u32) -> Side<'_> {
        // Twice per candidate pair: the record's place is looked up once.
        let RecordRef { source, index } = self.refs[id as usize];
        let (source, index) = (source as usize, index as usize);
        let record = &self.sources[source].file.records[index];
        self.filters[source].side(index, record)
    }

    /// Record `id`. Its field filters are held apart (`fields` is empty): they are compared
    /// here, not handed out.
    pub fn record(&self, id: u32) -> &EncodedRecord {
        let r = self.refs[id as usize];
        &self.sources[r.source as usize].file.records[r.index as usize]
    }

    pub fn source_name(&self, id: u32) -> &str {
        &self.sources[self.refs[id as usize].source as usize].name
    }

    /// The holders' own deduplication, when any file carries it: every record in exactly one
    /// entity, records of one source with the same non-zero group together, the others alone.
    pub fn holder_groups(&self) -> Option<Vec<Vec<u32>>> {
        let grouped = self
            .sources
            .iter()
            .any(|s| s.file.records.iter().any(|r| r.group != 0));
        if !grouped {
            return None;
        }
        let mut by_group: std::collections::BTreeMap<(u32, u32), Vec<u32>> = Default::default();
        let mut out = Vec::new();
        for (id, place) in self.refs.iter().enumerate() {
            let group = self.record(id as u32).group;
            if group == 0 {
                out.push(vec![id as u32]);
            } else {
                by_group
                    .entry((place.source, group))
                    .or_default()
                    .push(id as u32);
            }
        }
        out.extend(by_group.into_values());
        Some(out)
    }

    /// The schema all sources share (`None` without sources).
    pub fn schema(&self) -> Option<&enlace_encode::Schema> {
        self.sources.first().map(|s| &s.file.schema)
    }
}

/// A short digest of a filter's bits (FNV-1a over its words), in hex.
fn filter_digest(words: &[u64]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn band(d: f64, cuts: &[f64]) -> u8 {
    // Levels 1.. for each cut met, in order; the level after the last cut otherwise.
    cuts.iter().position(|&c| d >= c).unwrap_or(cuts.len()) as u8 + 1
}

fn compare_given(a: Side<'_>, b: Side<'_>, s: &Slots) -> u8 {
    let (Some(ga), Some(gb)) = (counted(a, s.given), counted(b, s.given)) else {
        return NULL_LEVEL;
    };
    let d = dice(ga, gb);
    if d >= EQUAL {
        return 1;
    }
    let (small, big) = if ga.ones <= gb.ones {
        (ga, gb)
    } else {
        (gb, ga)
    };
    // Containment in a longer list of names is at most (n−1)/n of a name's q-grams: the padding
    // marks at its ends become spaces inside the list. Measured on generated data, comparing
    // first names on their own (a `given_first` filter) did worse than this.
    let within_alternates = |x: Filter<'_>, other: Side<'_>| {
        counted(other, s.alternates).is_some_and(|alt| containment(x, alt) >= 0.9)
    };
    if containment(small, big) >= 0.75 || within_alternates(ga, b) || within_alternates(gb, a) {
        return 2;
    }
    if names_agree(a, b, s) {
        return 3;
    }
    band(d, &[0.80, 0.60]) + 3
}

/// The bags of all names agree: the same names, perhaps written in other fields.
fn names_agree(a: Side<'_>, b: Side<'_>, s: &Slots) -> bool {
    match (counted(a, s.names), counted(b, s.names)) {
        (Some(x), Some(y)) => dice(x, y) >= 0.85,
        _ => false,
    }
}

fn compare_surnames(a: Side<'_>, b: Side<'_>, s: &Slots) -> u8 {
    let (Some(a1), Some(b1)) = (counted(a, s.surname1), counted(b, s.surname1)) else {
        return NULL_LEVEL;
    };
    let (a2, b2) = (counted(a, s.surname2), counted(b, s.surname2));
    let d11 = dice(a1, b1);
    let eq = |x: Option<Filter<'_>>, y: Option<Filter<'_>>| match (x, y) {
        (Some(x), Some(y)) => dice(x, y) >= EQUAL,
        _ => false,
    };
    let first = d11 >= EQUAL;
    if first {
        return match (a2, b2) {
            (Some(x), Some(y)) => {
                let d22 = dice(x, y);
                if d22 >= EQUAL {
                    1
                } else if d22 >= 0.70 {
                    3
                } else {
                    6
                }
            }
            _ => 2,
        };
    }
    let (x12, x21) = (eq(Some(a1), b2), eq(a2, Some(b1)));
    if (x12 && x21) || names_agree(a, b, s) {
        4
    } else if x12 || x21 {
        5
    } else {
        band(d11, &[0.80, 0.60]) + 6
    }
}

fn compare_date(a: Side<'_>, b: Side<'_>, s: &Slots) -> u8 {
    match (counted(a, s.birth_date), counted(b, s.birth_date)) {
        (Some(x), Some(y)) => band(dice(x, y), &[EQUAL, 0.70, 0.50, 0.25]),
        _ => NULL_LEVEL,
    }
}

/// The event-date filters' Dice in the plaintext levels' bands (as records of two agencies;
/// the dataset moves one agency's pairs): each date's tokens are its overlapping 30- and
/// 120-day windows (`enlace_encode::Field::EventDates`), so dates within about two months share
/// at least five of a date's eight tokens (Dice ≥ 0.6), dates within about a year at least
/// one long window.
fn compare_event_dates(a: Side<'_>, b: Side<'_>, s: &Slots) -> u8 {
    match (counted(a, s.event_dates), counted(b, s.event_dates)) {
        (Some(x), Some(y)) => band(dice(x, y), &[0.6, 0.1]),
        _ => NULL_LEVEL,
    }
}

fn compare_agree(a: Side<'_>, b: Side<'_>, slot: Option<usize>) -> u8 {
    match (counted(a, slot), counted(b, slot)) {
        (Some(x), Some(y)) => band(dice(x, y), &[EQUAL]),
        _ => NULL_LEVEL,
    }
}

fn compare_ids(a: &EncodedRecord, b: &EncodedRecord, wanted: impl Fn(IdKind) -> bool) -> u8 {
    let mut same_kind = false;
    for x in a.id_hashes.iter().filter(|h| wanted(h.kind)) {
        for y in b.id_hashes.iter().filter(|h| h.kind == x.kind) {
            if x.hash == y.hash {
                return 1;
            }
            same_kind = true;
        }
    }
    if same_kind { 2 } else { NULL_LEVEL }
}

impl Linkable for EncodedDataset {
    fn len(&self) -> usize {
        self.refs.len()
    }

    fn source_sizes(&self) -> Vec<u64> {
        self.sources
            .iter()
            .map(|s| s.file.records.len() as u64)
            .collect()
    }

    fn source_of(&self, id: u32) -> u32 {
        self.refs[id as usize].source
    }

    fn key(&self, id: u32) -> (&str, &str) {
        let r = self.refs[id as usize];
        (
            &self.sources[r.source as usize].name,
            &self.keys[r.source as usize][r.index as usize],
        )
    }

    fn kind(&self) -> ComparisonKind {
        ComparisonKind::Encoded
    }

    fn compare(&self, a: u32, b: u32) -> Comparison {
        let c = compare_encoded(self.side(a), self.side(b), &self.slots);
        if self.source_of(a) == self.source_of(b) {
            crate::compare::within_one_agency(c)
        } else {
            c
        }
    }

    fn surname_key(&self, id: u32) -> Option<Cow<'_, str>> {
        self.surname_keys[id as usize].as_deref().map(Cow::Borrowed)
    }

    fn given_key(&self, id: u32) -> Option<Cow<'_, str>> {
        self.given_keys[id as usize].as_deref().map(Cow::Borrowed)
    }

    fn same_event(&self, a: u32, b: u32) -> bool {
        let theirs = &self.record(b).event_tokens;
        self.source_of(a) == self.source_of(b)
            && self
                .record(a)
                .event_tokens
                .iter()
                .any(|t| theirs.binary_search(t).is_ok())
    }

    fn salted(&self) -> bool {
        self.salted
    }

    fn same_salt(&self, a: u32, b: u32) -> bool {
        if !self.salted {
            return true;
        }
        let (x, y) = (self.side(a), self.side(b));
        if self.slots.dated_apart(x, y) {
            return false;
        }
        match (
            counted(x, self.slots.birth_date),
            counted(y, self.slots.birth_date),
        ) {
            // The year tokens agree (every other token of the date may differ).
            (Some(p), Some(q)) => dice(p, q) >= 0.25,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_count_cuts_met() {
        assert_eq!(band(1.0, &[0.95, 0.7]), 1);
        assert_eq!(band(0.8, &[0.95, 0.7]), 2);
        assert_eq!(band(0.1, &[0.95, 0.7]), 3);
    }

    /// The encodings of `records` (one source) under the default schema with `hardening`.
    fn encoded(
        records: &[enlace_model::Record],
        hardening: enlace_encode::Hardening,
    ) -> EncodedDataset {
        let secret = enlace_encode::ProjectSecret::from_bytes(&[9u8; 32]).unwrap();
        let mut schema = enlace_encode::Schema::default_with_id("test");
        schema.hardening = hardening;
        let encoder = enlace_encode::Encoder::new(&secret, schema).unwrap();
        let file = enlace_encode::EncodingFile {
            schema: encoder.schema().clone(),
            key_check: encoder.key_check(),
            records: encoder.encode_all(records, |_, r| encoder.reference_for(&r.key)),
        };
        EncodedDataset::new(vec![EncodedSource::new("s", file)]).unwrap()
    }

    #[test]
    fn names_salted_apart_by_a_missing_birth_date_compare_as_null() {
        use crate::Linkable;
        use crate::compare::{given, surname};
        let rec = crate::testutil::rec;
        let records = vec![
            rec("1", "Miguel", "Hernández", "Ávila", "2016-02-26"),
            rec("2", "Miguel", "Hernández", "Ávila", ""),
            rec("3", "Miguel", "Hernández", "Ávila", "2016-02-26"),
            rec("4", "Rosa", "Ixcoy", "Xol", ""),
        ];
        let levels = |d: &EncodedDataset, a, b| {
            let c = d.compare(a, b);
            (c.level(Field::GivenName), c.level(Field::Surnames))
        };
        let salted = encoded(
            &records,
            enlace_encode::Schema::default_with_id("test").hardening,
        );
        assert!(salted.salted());
        // One date missing: the salts differ, so the names cannot be compared.
        assert_eq!(levels(&salted, 0, 1), (NULL_LEVEL, NULL_LEVEL));
        // Both dated, or both undated (salted alike): compared as usual.
        assert_eq!(levels(&salted, 0, 2), (given::EXACT, surname::BOTH));
        let (g, s) = levels(&salted, 1, 3);
        assert!(g != NULL_LEVEL && s != NULL_LEVEL, "{g} {s}");
        // Unsalted, the missing date changes nothing.
        let plain = encoded(&records, enlace_encode::Hardening::NONE);
        assert_eq!(levels(&plain, 0, 1), (given::EXACT, surname::BOTH));
    }

    #[test]
    fn records_sharing_an_event_token_are_of_one_event_and_companions() {
        use crate::Linkable;
        let met = crate::testutil::caught;
        let records = vec![
            met("1", "E-1"),
            met("2", "E-1"),
            met("3", "E-2"),
            met("4", "E-1"),
        ];
        let data = encoded(&records, enlace_encode::Hardening::NONE);
        assert!(data.same_event(0, 1) && data.same_event(1, 3));
        assert!(!data.same_event(0, 2));
        let companions = crate::cotravel::Companions::of_encoded(&data);
        assert_eq!(companions.of(0), &[1, 3]);
        assert_eq!(companions.of(2), &[] as &[u32]);
        // The same event id in another agency's file is another event.
        let secret = enlace_encode::ProjectSecret::from_bytes(&[9u8; 32]).unwrap();
        let encoder =
            enlace_encode::Encoder::new(&secret, enlace_encode::Schema::default_with_id("test"))
                .unwrap();
        let file = |records: &[enlace_model::Record]| enlace_encode::EncodingFile {
            schema: encoder.schema().clone(),
            key_check: encoder.key_check(),
            records: encoder.encode_all(records, |_, r| encoder.reference_for(&r.key)),
        };
        let two = EncodedDataset::new(vec![
            EncodedSource::new("us", file(&records[..1])),
            EncodedSource::new("mx", file(&records[1..2])),
        ])
        .unwrap();
        assert!(!two.same_event(0, 1));
        assert!(!crate::cotravel::Companions::of_encoded(&two).any());
    }

    #[test]
    fn level_tables_start_with_null() {
        for f in Field::ALL {
            assert_eq!(levels(f)[0], "null");
        }
    }
}
