//! Turning scored pairs into decisions.
//!
//! * [`one_to_one`]: links between two sources, each record used at most once. Greedy by
//!   weight: the heaviest remaining pair is taken when neither record is taken yet. This is a
//!   ½-approximation of the maximum-weight matching in theory; in practice true links outweigh
//!   their competitors by many bits, so it agrees with an optimal assignment on all but near-ties,
//!   and it is O(p log p) where the Hungarian method is cubic.
//! * [`dedupe`]: records of one person within a source (repeat encounters). Pairs above the
//!   threshold are merged heaviest first, but two groups merge only when the *average* weight
//!   over all their cross pairs is at or above the threshold (average linkage). Plain connected
//!   components would chain a father to his son through a record that resembles both.
//! * [`link_entities`]: clusters across sources, at most one entity (a record, or a deduplicated
//!   group of records) per source per cluster; entity pairs are merged heaviest first, by the
//!   average weight of their record pairs, when the clusters hold no source in common.
//! * [`dedupe_then_link`]: the two together.
//!
//! Cluster ids are stable across reruns and input order: a hash of the smallest
//! `(source, record key)` in the cluster.

use serde::Serialize;

use crate::Dataset;

/// A candidate pair with its match weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
}

/// A cluster of records believed to be one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Stable id: see [`cluster_id`].
    pub id: String,
    /// Global record ids, ascending.
    pub members: Vec<u32>,
}

/// Heaviest first; ties broken by the pair's ids so the order never depends on the input's.
fn by_weight_desc(a: &ScoredPair, b: &ScoredPair) -> std::cmp::Ordering {
    b.weight
        .total_cmp(&a.weight)
        .then((a.a, a.b).cmp(&(b.a, b.b)))
}

/// One-to-one links between `source_a` and `source_b` among `pairs` at or above `threshold`.
pub fn one_to_one(
    data: &Dataset,
    pairs: &[ScoredPair],
    source_a: u32,
    source_b: u32,
    threshold: f64,
) -> Vec<ScoredPair> {
    let mut cands: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| p.weight >= threshold)
        .filter(|p| {
            let (sa, sb) = (data.source_of(p.a), data.source_of(p.b));
            (sa == source_a && sb == source_b) || (sa == source_b && sb == source_a)
        })
        .copied()
        .collect();
    cands.sort_by(by_weight_desc);
    let mut taken = vec![false; data.len()];
    let mut out = Vec::new();
    for p in cands {
        if !taken[p.a as usize] && !taken[p.b as usize] {
            taken[p.a as usize] = true;
            taken[p.b as usize] = true;
            out.push(p);
        }
    }
    out
}

/// Average of `score` over all pairs across two groups.
fn average_linkage(a: &[u32], b: &[u32], score: &(dyn Fn(u32, u32) -> f64 + Sync)) -> f64 {
    let mut sum = 0.0;
    for &x in a {
        for &y in b {
            sum += score(x, y);
        }
    }
    sum / (a.len() * b.len()).max(1) as f64
}

/// Groups of records of one person within each source, by average linkage over the
/// within-source `pairs` at or above `threshold`; `score` gives the weight of any two records
/// (pairs blocking did not generate are scored on demand). Every record is in exactly one group;
/// groups are sorted by their smallest member.
pub fn dedupe(
    data: &Dataset,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Vec<u32>> {
    let singletons: Vec<Vec<u32>> = (0..data.len() as u32).map(|i| vec![i]).collect();
    let within: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| data.source_of(p.a) == data.source_of(p.b))
        .copied()
        .collect();
    merge(data, singletons, &within, threshold, score, false)
}

/// Clusters across sources: `entities` are groups of records of one source each (from
/// [`dedupe`], or one record each); clusters hold at most one entity per source.
pub fn link_entities(
    data: &Dataset,
    entities: Vec<Vec<u32>>,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Cluster> {
    let across: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| data.source_of(p.a) != data.source_of(p.b))
        .copied()
        .collect();
    let groups = merge(data, entities, &across, threshold, score, true);
    let mut clusters: Vec<Cluster> = groups
        .into_iter()
        .map(|members| Cluster {
            id: cluster_id(data, &members),
            members,
        })
        .collect();
    clusters.sort_by(|a, b| a.members.cmp(&b.members));
    clusters
}

/// Deduplicates within each source, then links the groups across sources.
pub fn dedupe_then_link(
    data: &Dataset,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Cluster> {
    let entities = dedupe(data, pairs, threshold, score);
    link_entities(data, entities, pairs, threshold, score)
}

/// Agglomerative merging of `groups` along `pairs` (heaviest first) by average linkage at
/// `threshold`. With `one_per_source`, a merge is refused when the two sides share a source.
fn merge(
    data: &Dataset,
    groups: Vec<Vec<u32>>,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
    one_per_source: bool,
) -> Vec<Vec<u32>> {
    // Each record's current group; groups merge into the lower index.
    let mut group_of = vec![u32::MAX; data.len()];
    let mut members: Vec<Vec<u32>> = groups;
    // Entity (original group) boundaries are kept for the source check: sources per group.
    let mut sources: Vec<Vec<u32>> = Vec::with_capacity(members.len());
    for (g, m) in members.iter_mut().enumerate() {
        m.sort_unstable();
        for &r in m.iter() {
            group_of[r as usize] = g as u32;
        }
        let mut s: Vec<u32> = m.iter().map(|&r| data.source_of(r)).collect();
        s.sort_unstable();
        s.dedup();
        sources.push(s);
    }
    let mut edges: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| p.weight >= threshold)
        .copied()
        .collect();
    edges.sort_by(by_weight_desc);
    // A refused merge is not remembered: a later edge between the same groups is tried again,
    // which is cheap because groups are small (a person's handful of records).
    for e in edges {
        let (ga, gb) = (group_of[e.a as usize], group_of[e.b as usize]);
        if ga == u32::MAX || gb == u32::MAX || ga == gb {
            continue;
        }
        let (lo, hi) = (ga.min(gb) as usize, ga.max(gb) as usize);
        if one_per_source && sources[lo].iter().any(|s| sources[hi].contains(s)) {
            continue;
        }
        if average_linkage(&members[lo], &members[hi], score) >= threshold {
            let moved = std::mem::take(&mut members[hi]);
            for &r in &moved {
                group_of[r as usize] = lo as u32;
            }
            members[lo].extend(moved);
            members[lo].sort_unstable();
            let moved_sources = std::mem::take(&mut sources[hi]);
            sources[lo].extend(moved_sources);
            sources[lo].sort_unstable();
            sources[lo].dedup();
        }
    }
    let mut out: Vec<Vec<u32>> = members.into_iter().filter(|m| !m.is_empty()).collect();
    out.sort();
    out
}

/// A cluster's stable id: FNV-1a (64 bits) of the smallest `(source name, record key)` among
/// its members, as `c` and 16 hex digits. It depends only on who is in the cluster, not on the
/// order records were loaded or the run.
pub fn cluster_id(data: &Dataset, members: &[u32]) -> String {
    let smallest = members.iter().map(|&m| data.key(m)).min();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    if let Some((source, key)) = smallest {
        for b in source.bytes().chain([0u8]).chain(key.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("c{h:016x}")
}
