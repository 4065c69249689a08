//! Turning scored pairs into decisions.
//!
//! * [`one_to_one`]: links between two sources, each record used at most once. Greedy by
//!   weight: the heaviest remaining pair is taken when neither record is taken yet. This is a
//!   ½-approximation of the maximum-weight matching in theory; in practice true links outweigh
//!   their competitors by many bits, so it agrees with an optimal assignment on all but near-ties,
//!   and it is O(p log p) where the Hungarian method is cubic.
//! * [`dedupe`]: records of one person within a source (repeat encounters). Pairs above the
//!   threshold are merged heaviest first, but two groups merge only when the *average* weight
//!   over all their cross pairs, and at least half of those pairs, are at or above the
//!   threshold (average linkage with a majority). Plain connected components would chain a
//!   father to his son through a record that resembles both. Two groups holding records of the
//!   same event never merge: a source records a person once per event, so those are relatives
//!   or companions caught together.
//! * [`link_entities`]: clusters across sources, at most one entity (a record, or a deduplicated
//!   group of records) per source per cluster; entity pairs are merged heaviest first, by the
//!   same rule over all the records of the two clusters, when they hold no source in common.
//! * [`dedupe_then_link`]: the two together.
//!
//! Cluster ids are stable across reruns and input order: a hash of the smallest
//! `(source, record key)` in the cluster.

use serde::Serialize;

use crate::Linkable;

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
pub(crate) fn by_weight_desc(a: &ScoredPair, b: &ScoredPair) -> std::cmp::Ordering {
    b.weight
        .total_cmp(&a.weight)
        .then((a.a, a.b).cmp(&(b.a, b.b)))
}

/// One-to-one links between `source_a` and `source_b` among `pairs` at or above `threshold`.
pub fn one_to_one<D: Linkable + ?Sized>(
    data: &D,
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

/// Groups of records of one person within each source, by average linkage over the
/// within-source `pairs` at or above `threshold`; `score` gives the weight of any two records
/// (pairs blocking did not generate are scored on demand), weighed from the first: each pair
/// `(a, b)` of `pairs` must weigh `score(a, b)`, which is taken from it rather than scored
/// again. Every record is in exactly one group; groups are sorted by their smallest member.
pub fn dedupe<D: Linkable + ?Sized>(
    data: &D,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Vec<u32>> {
    let singletons: Vec<Vec<u32>> = (0..data.len() as u32).map(|i| vec![i]).collect();
    // Only pairs that can join two groups are kept: a copy of every within-source pair was the
    // run's largest allocation after the scored pairs themselves.
    let within: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| p.weight >= threshold && data.source_of(p.a) == data.source_of(p.b))
        .copied()
        .collect();
    merge(data, singletons, within, threshold, score, false)
}

/// Clusters across sources: `entities` are groups of records of one source each (from
/// [`dedupe`], or one record each); clusters hold at most one entity per source. `pairs` and
/// `score` as for [`dedupe`].
pub fn link_entities<D: Linkable + ?Sized>(
    data: &D,
    entities: Vec<Vec<u32>>,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Cluster> {
    let across: Vec<ScoredPair> = pairs
        .iter()
        .filter(|p| p.weight >= threshold && data.source_of(p.a) != data.source_of(p.b))
        .copied()
        .collect();
    let groups = merge(data, entities, across, threshold, score, true);
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
pub fn dedupe_then_link<D: Linkable + ?Sized>(
    data: &D,
    pairs: &[ScoredPair],
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
) -> Vec<Cluster> {
    let entities = dedupe(data, pairs, threshold, score);
    link_entities(data, entities, pairs, threshold, score)
}

/// Agglomerative merging of `groups` along `edges` by average linkage at `threshold` (see
/// [`crate::agglomerate`]). With `one_per_source`, a merge is refused when the two sides share
/// a source; without, when they hold records of one event.
fn merge<D: Linkable + ?Sized>(
    data: &D,
    groups: Vec<Vec<u32>>,
    edges: Vec<ScoredPair>,
    threshold: f64,
    score: &(dyn Fn(u32, u32) -> f64 + Sync),
    one_per_source: bool,
) -> Vec<Vec<u32>> {
    let rules = crate::agglomerate::Rules {
        data,
        threshold,
        score,
        one_per_source,
    };
    crate::agglomerate::merge(&rules, groups, edges)
}

/// A cluster's stable id: FNV-1a (64 bits) of the smallest `(source name, record key)` among
/// its members, as `c` and 16 hex digits. It depends only on who is in the cluster, not on the
/// order records were loaded or the run.
pub fn cluster_id<D: Linkable + ?Sized>(data: &D, members: &[u32]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rec;
    use crate::{Dataset, Source};

    fn dataset(sizes: &[usize]) -> Dataset {
        Dataset::new(
            sizes
                .iter()
                .enumerate()
                .map(|(s, &n)| Source {
                    name: format!("s{s}"),
                    records: (0..n)
                        .map(|i| rec(&format!("r{i:03}"), "Ana", "Ruiz", "", ""))
                        .collect(),
                })
                .collect(),
        )
    }

    fn sp(a: u32, b: u32, weight: f64) -> ScoredPair {
        ScoredPair {
            a: a.min(b),
            b: a.max(b),
            weight,
        }
    }

    #[test]
    fn one_to_one_takes_heaviest_first() {
        let d = dataset(&[2, 2]);
        // 0,1 in source 0; 2,3 in source 1.
        let pairs = [sp(0, 2, 10.0), sp(0, 3, 9.0), sp(1, 2, 8.0), sp(1, 3, 1.0)];
        let links = one_to_one(&d, &pairs, 0, 1, 0.0);
        assert_eq!(links, vec![sp(0, 2, 10.0), sp(1, 3, 1.0)]);
        let links = one_to_one(&d, &pairs, 0, 1, 5.0);
        assert_eq!(links, vec![sp(0, 2, 10.0)]);
    }

    proptest::proptest! {
        #[test]
        fn one_to_one_never_assigns_a_record_twice(
            edges in proptest::collection::vec((0u32..6, 0u32..6, -10.0f64..10.0), 0..60)
        ) {
            let d = dataset(&[6, 6]);
            let pairs: Vec<ScoredPair> = edges.iter().map(|&(a, b, w)| sp(a, 6 + b, w)).collect();
            let links = one_to_one(&d, &pairs, 0, 1, -5.0);
            let mut used = std::collections::HashSet::new();
            for l in &links {
                proptest::prop_assert!(l.weight >= -5.0);
                proptest::prop_assert!(used.insert(l.a));
                proptest::prop_assert!(used.insert(l.b));
            }
        }
    }

    #[test]
    fn dedupe_does_not_chain_through_a_middle_record() {
        let d = dataset(&[3]);
        // 0–1 and 1–2 look alike, 0–2 clearly do not (a father, a record like both, a son).
        let w = |a: u32, b: u32| match (a.min(b), a.max(b)) {
            (0, 1) => 12.0,
            (1, 2) => 10.0,
            _ => -30.0,
        };
        let pairs = [sp(0, 1, 12.0), sp(1, 2, 10.0), sp(0, 2, -30.0)];
        let groups = dedupe(&d, &pairs, 0.0, &w);
        assert_eq!(groups, vec![vec![0, 1], vec![2]]);
        // Connected components would have put all three together.
        let w_ok = |_: u32, _: u32| 5.0;
        let groups = dedupe(&d, &pairs, 0.0, &w_ok);
        assert_eq!(groups, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn records_of_one_event_are_never_merged() {
        let mut d = dataset(&[3]);
        let event = |id: &str| enlace_model::Event {
            kind: "encounter".into(),
            id: Some(id.into()),
            date: None,
            place: None,
        };
        d.sources[0].records[0].events = vec![event("E1")];
        d.sources[0].records[1].events = vec![event("E1")];
        d.sources[0].records[2].events = vec![event("E2")];
        let w = |_: u32, _: u32| 10.0;
        let pairs = [sp(0, 1, 20.0), sp(1, 2, 10.0), sp(0, 2, 10.0)];
        // Twins caught together (0 and 1) stay apart; record 2 joins the heavier side.
        let groups = dedupe(&d, &pairs, 0.0, &w);
        assert_eq!(groups, vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn linking_keeps_one_entity_per_source() {
        let d = dataset(&[2, 1, 1]);
        // Records 0 and 1 (source 0) were not deduplicated; both resemble record 2 (source 1).
        let w = |_: u32, _: u32| 8.0;
        let pairs = [sp(0, 2, 9.0), sp(1, 2, 8.0), sp(2, 3, 7.0)];
        let entities: Vec<Vec<u32>> = (0..4).map(|i| vec![i]).collect();
        let clusters = link_entities(&d, entities, &pairs, 0.0, &w);
        let members: Vec<Vec<u32>> = clusters.iter().map(|c| c.members.clone()).collect();
        assert_eq!(members, vec![vec![0, 2, 3], vec![1]]);
        // Deduplicated first, both records of source 0 join the cluster.
        let all = dedupe_then_link(&d, &[sp(0, 1, 9.5), sp(0, 2, 9.0), sp(2, 3, 7.0)], 0.0, &w);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].members, vec![0, 1, 2, 3]);
    }

    #[test]
    fn cluster_ids_are_stable() {
        let d = dataset(&[3, 2]);
        let id = cluster_id(&d, &[1, 3, 4]);
        assert_eq!(id, cluster_id(&d, &[4, 3, 1]));
        assert_eq!(
            id,
            cluster_id(&d, &[1]),
            "named by the smallest (source, key)"
        );
        assert_ne!(id, cluster_id(&d, &[3]));
        assert_eq!(id.len(), 17);
    }
}
