//! A project run at the linkage unit: the holders' current uploads are linked on their
//! encodings (the same engine as `enlace link --encoded`), and each hit is turned into rows that
//! each holder may see — its own record, the partner node, an opaque reference of the partner's
//! record, a band and the pair's evidence (its comparison levels and weight, from which the
//! holder draws the hit's waterfall) — never another holder's reference or encoding.
//!
//! Holders' clerical reviews feed each run: a rejected pair is no longer reported to either
//! holder, an accepted one is reported as certain, an unsure one stays in its band marked so.

use std::collections::{BTreeMap, HashMap, HashSet};

use enlace_encode::EncodingFile;
use enlace_link::encoded::{EncodedBlocker, EncodedDataset, EncodedSource, reference_key};
use enlace_link::{Linkable, TrainOptions};
use serde::{Deserialize, Serialize};

use super::spec::{Band, ProjectSpec};
use super::unit::{ResultRow, pair_key};

/// Why a run failed. Names holders and chunks, never record values.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("holder {holder}, chunk {chunk}: {source}")]
    Chunk {
        holder: String,
        chunk: usize,
        source: enlace_encode::FileError,
    },
    #[error(
        "holder {holder}, chunk {chunk}: made under another schema or secret than the project's"
    )]
    Foreign { holder: String, chunk: usize },
    #[error("holder {0} uploaded no records")]
    Empty(String),
    #[error("encodings: {0}")]
    Encodings(#[from] enlace_encode::FileError),
    #[error("linkage: {0}")]
    Link(#[from] enlace_link::LinkError),
}

/// Hits between two holders, counted in people (clusters), by band.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairHits {
    pub a: String,
    pub b: String,
    pub people: u64,
    pub certain: u64,
    pub probable: u64,
    pub possible: u64,
}

/// What every holder of the project may know about a run: counts only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Records linked, per holder.
    pub records: BTreeMap<String, u64>,
    /// Records uploaded twice under one reference (the later copies were left out).
    pub duplicate_references: u64,
    pub pairs_compared: u64,
    /// People found in the records of two or more holders.
    pub people_across: u64,
    /// People found in every holder's records.
    pub people_in_all: u64,
    /// Per pair of holders.
    pub hits: Vec<PairHits>,
}

/// The opaque name of a holder's record: a keyed hash under the unit's own per-project key, so
/// it is stable across runs, and no holder — even knowing the project secret and guessing the
/// partner's record keys — can tie it to a reference.
pub fn opaque_ref(key: &[u8; 32], holder: &str, reference: u64) -> String {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"enlace record\0");
    h.update(&(holder.len() as u64).to_le_bytes());
    h.update(holder.as_bytes());
    h.update(&reference.to_le_bytes());
    format!("r-{}", hex::encode(&h.finalize().as_bytes()[..12]))
}

fn cluster_ref(key: &[u8; 32], first_member: &str) -> String {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"enlace cluster\0");
    h.update(first_member.as_bytes());
    format!("c-{}", hex::encode(&h.finalize().as_bytes()[..12]))
}

/// Joins one holder's chunks into one encoding file, checking each against the project.
fn holder_file(
    spec: &ProjectSpec,
    holder: &str,
    chunks: &[Vec<u8>],
    duplicates: &mut u64,
) -> Result<EncodingFile, RunError> {
    let key_check = spec.key_check().map_err(|_| RunError::Foreign {
        holder: holder.to_string(),
        chunk: 0,
    })?;
    let fingerprint = spec.schema.fingerprint();
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    for (i, bytes) in chunks.iter().enumerate() {
        let file = EncodingFile::from_bytes(bytes).map_err(|source| RunError::Chunk {
            holder: holder.to_string(),
            chunk: i,
            source,
        })?;
        if file.schema.fingerprint() != fingerprint || !file.key_check.matches(&key_check) {
            return Err(RunError::Foreign {
                holder: holder.to_string(),
                chunk: i,
            });
        }
        for r in file.records {
            if seen.insert(r.reference) {
                records.push(r);
            } else {
                *duplicates += 1;
            }
        }
    }
    if records.is_empty() {
        return Err(RunError::Empty(holder.to_string()));
    }
    Ok(EncodingFile {
        schema: spec.schema.clone(),
        key_check,
        records,
    })
}

/// What a run produced: each holder's rows, the summary every holder may see, and the model
/// (JSON) the online search weighs queries with.
pub struct RunOutput {
    pub rows: Vec<(String, ResultRow)>,
    pub summary: RunSummary,
    pub model: String,
}

/// Reviews by pair of opaque references ([`pair_key`]): `accept`, `reject` or `unsure`.
pub type Reviews = HashMap<(String, String), String>;

/// Links the holders' uploads (`inputs`: holder and its chunk bodies).
pub fn link(
    spec: &ProjectSpec,
    inputs: Vec<super::unit::HolderChunks>,
    ref_key: &[u8; 32],
    reviews: &Reviews,
) -> Result<RunOutput, RunError> {
    let mut summary = RunSummary::default();
    let mut sources = Vec::new();
    for (holder, chunks) in &inputs {
        let file = holder_file(spec, holder, chunks, &mut summary.duplicate_references)?;
        summary
            .records
            .insert(holder.clone(), file.records.len() as u64);
        sources.push(EncodedSource::new(holder, file));
    }
    drop(inputs);
    let data = EncodedDataset::new(sources)?;
    let out = enlace_link::run_encoded(
        &data,
        &EncodedBlocker::default(),
        None,
        &TrainOptions::default(),
    )?;
    summary.pairs_compared = out.blocking.pairs as u64;
    let threshold = out.model.threshold;

    // The clusters that span holders, and for each record the cluster it is in.
    let across: Vec<&enlace_link::Cluster> = out
        .clusters
        .iter()
        .filter(|c| {
            let first = data.source_of(c.members[0]);
            c.members.iter().any(|&m| data.source_of(m) != first)
        })
        .collect();
    let mut cluster_of: HashMap<u32, usize> = HashMap::new();
    for (i, c) in across.iter().enumerate() {
        for &m in &c.members {
            cluster_of.insert(m, i);
        }
    }
    // The best direct evidence between two holders' records of one person.
    let mut best: HashMap<(usize, u32, u32), f64> = HashMap::new();
    for p in &out.scored {
        let (Some(&ca), Some(&cb)) = (cluster_of.get(&p.a), cluster_of.get(&p.b)) else {
            continue;
        };
        let (sa, sb) = (data.source_of(p.a), data.source_of(p.b));
        if ca != cb || sa == sb {
            continue;
        }
        let slot = best.entry((ca, sa.min(sb), sa.max(sb))).or_insert(f64::MIN);
        *slot = slot.max(p.weight);
    }

    let holder_names: Vec<&str> = data.source_names().collect();
    let mut pair_hits: BTreeMap<(u32, u32), PairHits> = BTreeMap::new();
    let mut rows = Vec::new();
    for (ci, cluster) in across.iter().enumerate() {
        let mut by_holder: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for &m in &cluster.members {
            by_holder.entry(data.source_of(m)).or_default().push(m);
        }
        // Each member's opaque reference, hashed once: the rows below pair every member of one
        // holder with every member of another.
        let opaque: HashMap<u32, String> = cluster
            .members
            .iter()
            .map(|&m| {
                let s = data.source_of(m) as usize;
                (
                    m,
                    opaque_ref(ref_key, holder_names[s], data.record(m).reference),
                )
            })
            .collect();
        let opaque_of = |m: u32| opaque.get(&m).cloned().unwrap_or_default();
        let first = opaque.values().min().cloned().unwrap_or_default();
        let cid = cluster_ref(ref_key, &first);
        summary.people_across += 1;
        if by_holder.len() == holder_names.len() {
            summary.people_in_all += 1;
        }
        let holders: Vec<u32> = by_holder.keys().copied().collect();
        for (i, &ha) in holders.iter().enumerate() {
            for &hb in &holders[i + 1..] {
                let band = Band::of(best.get(&(ci, ha, hb)).copied(), threshold, &spec.bands);
                // Every pair of the two holders' records of this person, with its evidence and
                // the review that applies to it.
                let mut pairs = Vec::new();
                let mut accepted = false;
                for &m in &by_holder[&ha] {
                    for &q in &by_holder[&hb] {
                        let (om, oq) = (opaque_of(m), opaque_of(q));
                        let review = reviews.get(&pair_key(&om, &oq)).cloned();
                        match review.as_deref() {
                            Some("reject") => continue,
                            Some("accept") => accepted = true,
                            _ => {}
                        }
                        let c = data.compare(m, q);
                        let weight = out.model.weight_of(&c, &data, m);
                        let companions = out.companions.as_ref().map(|e| e.adjustment(m, q));
                        let evidence = (enlace_link::levels_text(&c), weight, companions);
                        pairs.push((m, q, om, oq, evidence, review));
                    }
                }
                if pairs.is_empty() {
                    continue;
                }
                let band = if accepted { Band::Certain } else { band };
                let entry = pair_hits.entry((ha, hb)).or_insert_with(|| PairHits {
                    a: holder_names[ha as usize].to_string(),
                    b: holder_names[hb as usize].to_string(),
                    ..PairHits::default()
                });
                entry.people += 1;
                match band {
                    Band::Certain => entry.certain += 1,
                    Band::Probable => entry.probable += 1,
                    Band::Possible => entry.possible += 1,
                }
                for (m, q, om, oq, (levels, weight, companions), review) in pairs {
                    let pair_band = match review.as_deref() {
                        Some("accept") => Band::Certain,
                        _ => band,
                    };
                    // Each holder's row names its own record first.
                    for (own, other, own_ref, other_ref) in [(m, q, &om, &oq), (q, m, &oq, &om)] {
                        rows.push((
                            data.source_name(own).to_string(),
                            ResultRow {
                                reference: reference_key(data.record(own).reference),
                                opaque: own_ref.clone(),
                                partner: data.source_name(other).to_string(),
                                partner_ref: other_ref.clone(),
                                cluster: cid.clone(),
                                band: pair_band.as_str().to_string(),
                                levels: Some(levels.clone()),
                                weight: Some(weight),
                                review: review.clone(),
                                companions,
                            },
                        ));
                    }
                }
            }
        }
    }
    summary.hits = pair_hits.into_values().collect();
    let model = out.model.to_json()?;
    Ok(RunOutput {
        rows,
        summary,
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_references_are_stable_keyed_and_bound_to_the_holder() {
        let a = opaque_ref(&[1; 32], "mx", 42);
        assert_eq!(a, opaque_ref(&[1; 32], "mx", 42));
        assert_ne!(a, opaque_ref(&[2; 32], "mx", 42), "another unit key");
        assert_ne!(a, opaque_ref(&[1; 32], "gt", 42), "another holder");
        assert_ne!(a, opaque_ref(&[1; 32], "mx", 43), "another record");
        assert!(!a.contains(&format!("{:016x}", 42u64)));
        assert_eq!(a.len(), 26);
    }
}
