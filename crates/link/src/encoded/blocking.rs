//! Candidate pairs among encodings: records sharing a keyed blocking token, a keyed identifier
//! hash, or a band of bits of their CLKs (locality-sensitive hashing for Hamming distance).
//!
//! The LSH bands sample bit positions of the CLK with a seeded generator (the positions are
//! public; they need no secret, since the CLK bits are already keyed). Two CLKs with Dice `s`
//! agree on a band of `r` sampled bits with a probability that rises steeply with `s`, so `b`
//! bands find similar pairs that every exact token missed (a typo in the surname and the
//! birth date at once) while dissimilar pairs rarely share a band. Bands whose sampled bits are
//! all clear say nothing and are skipped.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use enlace_normalize::IdKind;

use super::EncodedDataset;
use crate::Linkable;
use crate::blocking::{BlockingReport, Cap, PairScope, RuleReport, union_of_rules};
use crate::blocks::Blocks;
use crate::compare::Field;
use crate::model::TrainingSet;

/// How candidate pairs are generated from encodings.
#[derive(Debug, Clone)]
pub struct EncodedBlocker {
    /// Blocks with more records than this are skipped.
    pub max_block: usize,
    pub scope: PairScope,
    /// LSH bands over the CLK (0 turns LSH off).
    pub lsh_bands: usize,
    /// Sampled bits per band.
    pub lsh_bits: usize,
    /// Seed of the sampled positions.
    pub lsh_seed: u64,
}

impl Default for EncodedBlocker {
    fn default() -> Self {
        EncodedBlocker {
            // Measured (docs/linkage.md, "Caps"): 100 instead of 300 cut the candidate pairs
            // by half (1M people) to 70 % (200,000), time by 13–40 % and memory by a fifth,
            // and F1 rose slightly at both sizes.
            max_block: 100,
            scope: PairScope::All,
            lsh_bands: 32,
            lsh_bits: 48,
            lsh_seed: 0x5eed,
        }
    }
}

/// One way of keying encodings into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// The schema's blocking token at this index.
    Token(usize),
    /// Keyed hashes of personal identifiers (official ones, or phones too).
    Identifier { phones: bool },
    /// The CLK's bits at the positions of LSH band `usize`.
    Band(usize),
}

impl Key {
    fn name(self, data: &EncodedDataset) -> String {
        match self {
            Key::Token(i) => data
                .schema()
                .and_then(|s| s.blocking.get(i))
                .map(|k| format!("token:{}", k.as_str()))
                .unwrap_or_else(|| format!("token:{i}")),
            Key::Identifier { phones: true } => "identifier_hash".into(),
            Key::Identifier { phones: false } => "official_identifier_hash".into(),
            Key::Band(b) => format!("clk_lsh_band:{b}"),
        }
    }
}

impl EncodedBlocker {
    fn band_positions(&self, bits: usize) -> Vec<Vec<usize>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.lsh_seed);
        (0..self.lsh_bands)
            .map(|_| {
                (0..self.lsh_bits)
                    .map(|_| rng.random_range(0..bits.max(1)))
                    .collect()
            })
            .collect()
    }

    /// Every record's values of `key` as `(value, record)`, in record order (a record's values
    /// in their own order). Each task gathers the entries of a run of records.
    fn entries(data: &EncodedDataset, key: Key, bands: &[Vec<usize>]) -> Vec<(u64, u32)> {
        const RUN: u32 = 1 << 16;
        let n = data.len() as u32;
        let runs: Vec<Vec<(u64, u32)>> = (0..n.div_ceil(RUN))
            .into_par_iter()
            .map(|run| {
                let ids = run * RUN..(run * RUN).saturating_add(RUN).min(n);
                let mut entries = Vec::with_capacity(ids.len());
                for id in ids {
                    Self::each_key(data, id, key, bands, |k| entries.push((k, id)));
                }
                entries
            })
            .collect();
        runs.concat()
    }

    /// Calls `f` with each of record `id`'s values of `key`: none or one for a token or a band,
    /// one per identifier. Without a vector per record and key: building the blocks asks for
    /// 36 keys of each of millions of records.
    fn each_key(
        data: &EncodedDataset,
        id: u32,
        key: Key,
        bands: &[Vec<usize>],
        mut f: impl FnMut(u64),
    ) {
        let r = data.record(id);
        match key {
            Key::Token(i) => {
                if let Some(t) = r.block_tokens.get(i).copied().flatten() {
                    f(t.0);
                }
            }
            Key::Identifier { phones } => r
                .id_hashes
                .iter()
                .filter(|h| h.kind.is_official() || (phones && h.kind == IdKind::Phone))
                .for_each(|h| f(h.token())),
            Key::Band(b) => {
                let Some(clk) = r.clk.as_ref() else {
                    return;
                };
                let mut v: u64 = 0;
                for &p in &bands[b] {
                    v = (v << 1) | u64::from(clk.get(p));
                }
                if v != 0 {
                    f(v);
                }
            }
        }
    }

    /// The pairs one key generates (each once, `a < b`), and its report.
    fn key_pairs(
        &self,
        data: &EncodedDataset,
        key: Key,
        bands: &[Vec<usize>],
        scope: PairScope,
    ) -> (Vec<(u32, u32)>, RuleReport) {
        let mut blocks: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
        for (k, id) in Self::entries(data, key, bands) {
            blocks.entry(k).or_default().push(id);
        }
        let mut rep = RuleReport::named(key.name(data));
        let cap = Cap::whole_blocks(self.max_block);
        let mut members: Vec<&[u32]> = Vec::new();
        for block in blocks.values() {
            rep.keep_parts(block, &cap, |part| members.push(part));
        }
        let mut out: Vec<(u32, u32)> = members
            .par_iter()
            .flat_map_iter(|m| {
                let mut v = Vec::new();
                for (i, &a) in m.iter().enumerate() {
                    for &b in &m[i + 1..] {
                        if a != b && scope.admits(data, a, b) {
                            v.push((a.min(b), a.max(b)));
                        }
                    }
                }
                v
            })
            .collect();
        out.par_sort_unstable();
        out.dedup();
        rep.pairs = out.len();
        (out, rep)
    }

    fn all_keys(&self, data: &EncodedDataset) -> Vec<Key> {
        let tokens = data.schema().map(|s| s.blocking.len()).unwrap_or(0);
        let mut keys: Vec<Key> = (0..tokens).map(Key::Token).collect();
        keys.push(Key::Identifier { phones: true });
        keys.extend((0..self.lsh_bands).map(Key::Band));
        keys
    }

    fn clk_bits(data: &EncodedDataset) -> usize {
        data.schema()
            .and_then(|s| s.clk.as_ref())
            .map(|c| c.bits as usize)
            .unwrap_or(0)
    }

    /// The keys in use, in rule order, and the LSH bands' positions.
    fn keys_and_bands(&self, data: &EncodedDataset) -> (Vec<Key>, Vec<Vec<usize>>) {
        let bits = Self::clk_bits(data);
        let bands = if bits == 0 {
            vec![]
        } else {
            self.band_positions(bits)
        };
        let keys = self
            .all_keys(data)
            .into_iter()
            .filter(|k| !(matches!(k, Key::Band(_)) && bands.is_empty()))
            .collect();
        (keys, bands)
    }

    /// The candidate pairs `(a, b)`, `a < b`, sorted, without duplicates, and a report.
    pub fn pairs(&self, data: &EncodedDataset) -> (Vec<(u32, u32)>, BlockingReport) {
        let (keys, bands) = self.keys_and_bands(data);
        let per_key = keys
            .into_iter()
            .map(|k| self.key_pairs(data, k, &bands, self.scope));
        union_of_rules(per_key, self.scope.possible(&data.source_sizes()))
    }

    /// Every key's blocks, for comparing the candidates block by block. A key's blocks come
    /// from its `(key, record)` entries sorted, so each block lists its records ascending and
    /// once, and the blocks follow in key order.
    pub(crate) fn blocks(&self, data: &EncodedDataset) -> Blocks {
        let (keys, bands) = self.keys_and_bands(data);
        let cap = Cap::whole_blocks(self.max_block);
        let mut blocks = Blocks::new(data.len(), keys.len());
        for key in keys {
            let mut entries = Self::entries(data, key, &bands);
            entries.par_sort_unstable();
            entries.dedup();
            let ids: Vec<u32> = entries.iter().map(|&(_, id)| id).collect();
            let mut at = 0;
            let spans = entries.chunk_by(|x, y| x.0 == y.0).map(|run| {
                at += run.len();
                &ids[at - run.len()..at]
            });
            blocks.add_rule(key.name(data), spans, &cap);
        }
        blocks
    }
}

/// The training sets for EM on encodings: pairs sharing a keyed official identifier (the
/// identifier field left out), and pairs sharing each name-and-date blocking token (the name
/// and date fields left out).
pub fn training_sets(data: &EncodedDataset, blocker: &EncodedBlocker) -> Vec<TrainingSet> {
    let mut sets = vec![TrainingSet {
        pairs: blocker
            .key_pairs(data, Key::Identifier { phones: false }, &[], PairScope::All)
            .0,
        // Event dates too: those pairs are nearly all of one agency, as in the plaintext
        // model (`model::training_excluded`).
        excluded: vec![Field::Identifier, Field::EventDates],
        follows: false,
    }];
    if let Some(schema) = data.schema() {
        use enlace_encode::BlockingKey as B;
        for (i, k) in schema.blocking.iter().enumerate() {
            let excluded = match k {
                B::GivenPhoneticBirthDate => vec![Field::GivenName, Field::BirthDate],
                // The other tokens carry surname keys: train on the given-name one only, as
                // the plaintext model does; surnames are learnt from the identifier set.
                _ => continue,
            };
            sets.push(TrainingSet {
                pairs: blocker
                    .key_pairs(data, Key::Token(i), &[], PairScope::All)
                    .0,
                excluded,
                follows: false,
            });
        }
    }
    sets
}
