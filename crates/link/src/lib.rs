//! Record linkage for Enlace: comparing two normalised records field by field,
//! a Fellegi–Sunter model (u by random sampling, m and λ by EM, term-frequency adjustment for
//! surnames), blocking rules that generate candidate pairs, solving (one-to-one linking between two
//! sources, within-source deduplication, clustering across sources) and evaluation against ground
//! truth with per-pair explanations.
//!
//! The same engine links keyed encodings ([`encoded`]): anything implementing [`Linkable`]
//! can be trained on, scored, solved and evaluated.
//!
//! This crate works on records and encodings already in memory; it does not read stores or
//! files other than its own model JSON and truth CSVs. Everything is deterministic given a seed.
//! `docs/linkage.md` describes every rule.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod agglomerate;
pub mod blocking;
mod blocks;
pub mod compare;
pub mod cotravel;
pub mod encoded;
mod error;
mod estimate;
pub mod evaluate;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod solve;
pub mod weigher;

pub use blocking::{Blocker, BlockingReport, BlockingRule, PairScope};
pub use compare::{Comparison, ComparisonKind, Field, compare};
pub use error::LinkError;
pub use evaluate::{
    ErrorSources, Explanation, FieldLevels, LevelWeight, Metrics, Truth, WeightTable, explain,
    explain_pair, explain_records, levels_text, weight_table,
};
pub use model::{Model, TrainOptions, TrainingSet};
pub use pipeline::{LinkOutput, run, run_encoded};
pub use solve::{
    Cluster, ScoredPair, cluster_id, dedupe, dedupe_then_link, link_entities, one_to_one,
};

use enlace_model::Record;
use std::borrow::Cow;

/// What the model, the solvers and the evaluation need of the records being linked, whatever
/// form they take: plaintext [`Record`]s ([`Dataset`]) or keyed encodings
/// ([`encoded::EncodedDataset`]). Records are addressed by dense global ids `0..len()`, source
/// by source.
pub trait Linkable: Sync {
    /// Number of records over all sources.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of records of each source, in source order.
    fn source_sizes(&self) -> Vec<u64>;
    fn source_of(&self, id: u32) -> u32;
    /// `(source name, record key)` of a record: how truth files and reports name it.
    fn key(&self, id: u32) -> (&str, &str);
    /// How this data's comparison vectors are made, hence the model's level tables.
    fn kind(&self) -> ComparisonKind;
    /// The comparison vector of two records.
    fn compare(&self, a: u32, b: u32) -> Comparison;
    /// The value whose frequency adjusts the weight of an agreeing first surname; `None` where
    /// the data cannot say (encodings do not reveal values). Borrowed where the record holds
    /// it as it is: it is asked for every record, twice a run.
    fn surname_key(&self, id: u32) -> Option<Cow<'_, str>>;
    /// The value whose frequency adjusts the weight of an exactly agreeing given name (the
    /// first given name; on encodings a digest of the given-name filter); `None` where there
    /// is none.
    fn given_key(&self, id: u32) -> Option<Cow<'_, str>>;
    /// Whether two records of one source took part in the same event (so are two people).
    fn same_event(&self, a: u32, b: u32) -> bool;
    /// Whether the name fields are salted (encodings salted by birth year), so that names can
    /// be compared only between records that share a salt. u of the salted fields is then
    /// estimated among random pairs that share one: the candidates mostly do, and random pairs
    /// almost never would.
    fn salted(&self) -> bool {
        false
    }
    /// Whether two records share a salt (always, for unsalted data).
    fn same_salt(&self, _a: u32, _b: u32) -> bool {
        true
    }
}

/// One source's records, as loaded from a store.
#[derive(Debug, Clone)]
pub struct Source {
    /// The source's name in the store ("us-encounters").
    pub name: String,
    pub records: Vec<Record>,
}

/// A record's place among several sources: `(source index, record index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef {
    pub source: u32,
    pub index: u32,
}

/// All records of the sources being linked, addressed by a dense global id (`u32`), so pairs are
/// two integers and every pass can use plain vectors. Ids are `0..len()`; the accessors panic on
/// an id that is not this dataset's, which is a caller's bug, never a data problem.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub sources: Vec<Source>,
    /// Global id → place. Ids run source by source, in record order.
    refs: Vec<RecordRef>,
}

impl Dataset {
    pub fn new(sources: Vec<Source>) -> Dataset {
        let mut refs = Vec::new();
        for (s, src) in sources.iter().enumerate() {
            for i in 0..src.records.len() {
                refs.push(RecordRef {
                    source: s as u32,
                    index: i as u32,
                });
            }
        }
        Dataset { sources, refs }
    }

    /// Number of records over all sources.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    pub fn place(&self, id: u32) -> RecordRef {
        self.refs[id as usize]
    }

    pub fn record(&self, id: u32) -> &Record {
        let r = self.refs[id as usize];
        &self.sources[r.source as usize].records[r.index as usize]
    }

    pub fn source_of(&self, id: u32) -> u32 {
        self.refs[id as usize].source
    }

    pub fn source_name(&self, id: u32) -> &str {
        &self.sources[self.refs[id as usize].source as usize].name
    }

    /// `(source name, record key)` of a record: how truth files and reports name it.
    pub fn key(&self, id: u32) -> (&str, &str) {
        (self.source_name(id), &self.record(id).key)
    }

    /// Records `a` and `b` compared, with their hints when the caller has them, as records of
    /// one agency when they are of one source.
    pub(crate) fn compare_hinted(
        &self,
        a: u32,
        b: u32,
        hints: Option<compare::PairHints<'_>>,
    ) -> Comparison {
        let c = compare::compare_hinted(self.record(a), self.record(b), hints);
        if self.source_of(a) == self.source_of(b) {
            compare::within_one_agency(c)
        } else {
            c
        }
    }
}

impl Linkable for Dataset {
    fn len(&self) -> usize {
        self.refs.len()
    }

    fn source_sizes(&self) -> Vec<u64> {
        self.sources
            .iter()
            .map(|s| s.records.len() as u64)
            .collect()
    }

    fn source_of(&self, id: u32) -> u32 {
        self.refs[id as usize].source
    }

    fn key(&self, id: u32) -> (&str, &str) {
        Dataset::key(self, id)
    }

    fn kind(&self) -> ComparisonKind {
        ComparisonKind::Plaintext
    }

    fn compare(&self, a: u32, b: u32) -> Comparison {
        self.compare_hinted(a, b, None)
    }

    fn surname_key(&self, id: u32) -> Option<Cow<'_, str>> {
        model::surname_key(self.record(id))
    }

    fn given_key(&self, id: u32) -> Option<Cow<'_, str>> {
        model::given_key(self.record(id)).map(Cow::Borrowed)
    }

    fn same_event(&self, a: u32, b: u32) -> bool {
        let ea = &self.record(a).events;
        self.source_of(a) == self.source_of(b)
            && self
                .record(b)
                .events
                .iter()
                .any(|e| e.id.is_some() && ea.iter().any(|f| f.kind == e.kind && f.id == e.id))
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use enlace_model::Record;
    use enlace_normalize::{IdKind, NameInput, PartialDate, Sex, normalize_identifier, parse_name};

    /// A record with the given names, surnames and ISO birth date ("" for none).
    pub fn rec(key: &str, given: &str, s1: &str, s2: &str, dob: &str) -> Record {
        let name = parse_name(NameInput::Parts {
            given,
            surname1: s1,
            surname2: s2,
        })
        .unwrap();
        Record {
            key: key.to_string(),
            name,
            birth_date: date(dob),
            sex: Sex::Male,
            nationality: Some("MX".into()),
            identifiers: vec![],
            events: vec![],
            address: None,
            attributes: vec![],
            warnings: vec![],
        }
    }

    /// Ana Xol (born 1990-01-02) met in the encounter `event`.
    pub fn caught(key: &str, event: &str) -> Record {
        let mut r = rec(key, "Ana", "Xol", "", "1990-01-02");
        r.events.push(enlace_model::Event {
            kind: "encounter".into(),
            id: Some(event.into()),
            date: None,
            place: None,
        });
        r
    }

    pub fn date(dob: &str) -> Option<PartialDate> {
        if dob.is_empty() {
            return None;
        }
        let today = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        Some(enlace_normalize::parse_date(dob, enlace_normalize::DateOrder::Ymd, today).unwrap())
    }

    pub fn with_id(mut r: Record, kind: IdKind, raw: &str, country: &str) -> Record {
        r.identifiers
            .push(normalize_identifier(kind, raw, Some(country)));
        r
    }
}
