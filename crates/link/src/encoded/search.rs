//! One record against many: the linkage unit's online search. A query's encoding is compared
//! with every indexed encoding that shares a keyed blocking token or identifier hash with it, and
//! weighed with a model trained by a project's run. Each source (a holder's upload) is indexed on
//! its own, so a holder's new upload replaces only its part.

use enlace_encode::{EncodedRecord, Schema};
use rustc_hash::FxHashMap;

use super::{FieldFilters, Slots, compare_encoded, counted, filter_digest};
use crate::model::Model;

/// Posting keys: a blocking key's position and its token, or an identifier hash.
type PostingKey = (u8, u64);
const ID_TAG: u8 = u8::MAX;

/// An indexed record that matched a query at or above the model's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The source (holder) it belongs to.
    pub source: String,
    pub reference: u64,
    pub weight: f64,
}

/// One source's records with their postings, built apart from the index (so a caller can build
/// it without holding a lock on the index) and then installed.
pub struct SourceIndex {
    name: String,
    /// The records, their field filters moved to `filters`.
    records: Vec<EncodedRecord>,
    /// The records' field filters side by side, with their popcounts counted once here rather
    /// than at every query.
    filters: FieldFilters,
    postings: FxHashMap<PostingKey, Vec<u32>>,
}

fn keys_of(r: &EncodedRecord) -> impl Iterator<Item = PostingKey> + '_ {
    let blocks = r
        .block_tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i.min(usize::from(ID_TAG) - 1) as u8, t.0)));
    let ids = r.id_hashes.iter().map(|h| (ID_TAG, h.token()));
    blocks.chain(ids)
}

impl SourceIndex {
    pub fn new(name: &str, mut records: Vec<EncodedRecord>) -> SourceIndex {
        let mut postings: FxHashMap<PostingKey, Vec<u32>> = FxHashMap::default();
        for (i, r) in records.iter().enumerate() {
            for key in keys_of(r) {
                postings.entry(key).or_default().push(i as u32);
            }
        }
        let mut filters = shaped_like(records.first(), records.len());
        for r in &mut records {
            filters.take(r);
        }
        SourceIndex {
            name: name.to_string(),
            filters,
            records,
            postings,
        }
    }
}

/// Room for `records` records with as many filters as `first`, as wide as its first.
fn shaped_like(first: Option<&EncodedRecord>, records: usize) -> FieldFilters {
    let fields = first.map_or(0, |r| r.fields.len());
    let width = first
        .and_then(|r| r.fields.first())
        .map_or(0, |f| f.words().len());
    FieldFilters::with_capacity(fields, width, records)
}

/// Encodings of several sources, searchable one query at a time.
pub struct SearchIndex {
    slots: Slots,
    model: Model,
    /// Postings longer than this are skipped, as blocks are in a run: a token that common
    /// says little and would cost a comparison per record.
    max_block: usize,
    sources: Vec<SourceIndex>,
}

impl SearchIndex {
    /// An empty index for encodings under `schema`, weighed by `model` (an encoded model, with
    /// its threshold).
    pub fn new(schema: &Schema, model: Model, max_block: usize) -> SearchIndex {
        SearchIndex {
            slots: Slots::of(schema),
            model,
            max_block: max_block.max(1),
            sources: Vec::new(),
        }
    }

    /// Indexes `records` as source `name`, replacing what was indexed under that name.
    pub fn replace_source(&mut self, name: &str, records: Vec<EncodedRecord>) {
        self.install(SourceIndex::new(name, records));
    }

    /// Installs a source built with [`SourceIndex::new`], replacing one of the same name.
    pub fn install(&mut self, index: SourceIndex) {
        match self.sources.iter_mut().find(|s| s.name == index.name) {
            Some(slot) => *slot = index,
            None => self.sources.push(index),
        }
    }

    /// Records indexed, over all sources.
    pub fn len(&self) -> usize {
        self.sources.iter().map(|s| s.records.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn threshold(&self) -> f64 {
        self.model.threshold
    }

    /// The indexed records that match `query` at or above the model's threshold, heaviest
    /// first, leaving out source `exclude` (the asker's own records).
    pub fn search(&self, query: &EncodedRecord, exclude: Option<&str>) -> Vec<SearchHit> {
        let keys: Vec<PostingKey> = keys_of(query).collect();
        let mut held = shaped_like(Some(query), 1);
        held.copy(query);
        let query_side = held.side(0, query);
        let digest = |slot| counted(query_side, slot).map(|f| filter_digest(f.words));
        let (surname, given) = (digest(self.slots.surname1), digest(self.slots.given));
        let mut hits = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for source in self
            .sources
            .iter()
            .filter(|s| Some(s.name.as_str()) != exclude)
        {
            candidates.clear();
            for key in &keys {
                if let Some(list) = source.postings.get(key)
                    && list.len() <= self.max_block
                {
                    candidates.extend_from_slice(list);
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            for &i in &candidates {
                let record = &source.records[i as usize];
                let side = source.filters.side(i as usize, record);
                let c = compare_encoded(query_side, side, &self.slots);
                let weight = self.model.prior_weight()
                    + self.model.bayes_weight(&c)
                    + self.model.tf_adjustment_for(&c, surname.as_deref())
                    + self.model.given_adjustment_for(&c, given.as_deref());
                if weight >= self.model.threshold {
                    hits.push(SearchHit {
                        source: source.name.clone(),
                        reference: record.reference,
                        weight,
                    });
                }
            }
        }
        hits.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        hits
    }
}
