//! Co-traveller evidence: people caught together in one agency's event (a family unit, a
//! group in one vehicle) are often caught together again, by the same agency or another.
//! When a record's companions and another record's companions hold one person between them,
//! the two records are likelier one person too; when both have companions and none of them
//! are one person, a little less likely.
//!
//! The evidence needs a first answer to say who is one person, so it is a second pass: the
//! candidates are solved once on their own fields, each pair's [`Support`] is read from those
//! clusters, the support's weight is estimated from the same answer (m among the pairs it
//! linked, u among the candidates it did not, as `u` by sampling would be near zero for the
//! "linked" level and say nothing), added to every candidate's weight, and the candidates are
//! solved again. One pass, not a fixed point: a pair's support comes from the first answer
//! only, so two pairs that vouch for each other both had to stand on their own first.

use rayon::prelude::*;
use serde::Serialize;

use crate::blocking::PairScope;
use crate::encoded::EncodedDataset;
use crate::solve::{Cluster, ScoredPair};
use crate::{Dataset, Linkable};

/// The largest event whose records are each other's companions. A travelling unit is a few
/// people, a convoy or a safe house a few dozen; an "event" of thousands is a mapping that
/// read a constant into the event id, and its companions (a million squared) would fill the
/// memory while saying nothing.
pub const MAX_GROUP: usize = 64;

/// Each record's companions, in compressed rows: the other records of its source that share
/// one of its events (same kind, same event id).
#[derive(Debug, Clone, Default)]
pub struct Companions {
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl Companions {
    /// Companions from groups of record ids (each group one event's records): every member of
    /// a group is a companion of the others. `n` is the number of records; ids from `n` up
    /// are ignored. Groups of more than [`MAX_GROUP`] records give no companions.
    pub fn from_groups(n: usize, groups: &[Vec<u32>]) -> Companions {
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
        for group in groups.iter().filter(|g| (2..=MAX_GROUP).contains(&g.len())) {
            for &a in group {
                if let Some(list) = lists.get_mut(a as usize) {
                    list.extend(
                        group
                            .iter()
                            .copied()
                            .filter(|&b| b != a && (b as usize) < n),
                    );
                }
            }
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut ids = Vec::new();
        offsets.push(0);
        for mut list in lists {
            list.sort_unstable();
            list.dedup();
            ids.extend(list);
            offsets.push(ids.len() as u32);
        }
        Companions { offsets, ids }
    }

    /// The companions of a plaintext dataset's records: events with an id, within a source.
    pub fn of_dataset(data: &Dataset) -> Companions {
        let mut keyed: Vec<((u32, &str, &str), u32)> = Vec::new();
        for id in 0..data.len() as u32 {
            for e in &data.record(id).events {
                if let Some(event) = &e.id {
                    keyed.push(((data.source_of(id), &e.kind, event), id));
                }
            }
        }
        Companions::from_keyed(data.len(), keyed)
    }

    /// The companions of encoded records: records of one file sharing a keyed event token
    /// (the holder hashed each event's kind and id; the linkage unit sees only the tokens).
    pub fn of_encoded(data: &EncodedDataset) -> Companions {
        let mut keyed: Vec<((u32, u64), u32)> = Vec::new();
        for id in 0..data.len() as u32 {
            for &token in &data.record(id).event_tokens {
                keyed.push(((data.source_of(id), token), id));
            }
        }
        Companions::from_keyed(data.len(), keyed)
    }

    /// Companions from (event key, record) pairs: the records of each key are one group.
    fn from_keyed<K: Ord + Send>(n: usize, mut keyed: Vec<(K, u32)>) -> Companions {
        keyed.par_sort_unstable();
        let groups: Vec<Vec<u32>> = keyed
            .chunk_by(|x, y| x.0 == y.0)
            .filter(|g| g.len() > 1)
            .map(|g| g.iter().map(|k| k.1).collect())
            .collect();
        Companions::from_groups(n, &groups)
    }

    pub fn of(&self, id: u32) -> &[u32] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&s), Some(&e)) => &self.ids[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Whether any record has a companion.
    pub fn any(&self) -> bool {
        !self.ids.is_empty()
    }
}

/// What two records' companions say of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum Support {
    /// One of them (or both) was caught alone: no evidence.
    Alone = 0,
    /// A companion of one and a companion of the other are one person.
    Linked = 1,
    /// Both had companions and none of theirs are one person.
    Apart = 2,
}

/// For each record, the clusters its companions belong to, sorted: [`Support`] is then one
/// sorted intersection per pair.
#[derive(Debug, Clone)]
struct CompanionClusters {
    offsets: Vec<u32>,
    clusters: Vec<u32>,
}

impl CompanionClusters {
    /// `cluster_of`: each record's cluster (`u32::MAX` for none), as
    /// [`crate::evaluate::cluster_positions`] gives it.
    fn new(companions: &Companions, cluster_of: &[u32]) -> CompanionClusters {
        let n = cluster_of.len();
        let rows: Vec<Vec<u32>> = (0..n as u32)
            .into_par_iter()
            .map(|id| {
                let mut row: Vec<u32> = companions
                    .of(id)
                    .iter()
                    .map(|&c| cluster_of[c as usize])
                    .filter(|&c| c != u32::MAX)
                    .collect();
                row.sort_unstable();
                row.dedup();
                row
            })
            .collect();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut flat = Vec::new();
        for row in rows {
            flat.extend(row);
            offsets.push(flat.len() as u32);
        }
        CompanionClusters {
            offsets,
            clusters: flat,
        }
    }

    fn of(&self, id: u32) -> &[u32] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&s), Some(&e)) => &self.clusters[s as usize..e as usize],
            _ => &[],
        }
    }

    fn support(&self, a: u32, b: u32) -> Support {
        let (x, y) = (self.of(a), self.of(b));
        if x.is_empty() || y.is_empty() {
            return Support::Alone;
        }
        let (mut i, mut j) = (0, 0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return Support::Linked,
            }
        }
        Support::Apart
    }
}

impl Support {
    pub fn name(self) -> &'static str {
        match self {
            Support::Alone => "alone",
            Support::Linked => "linked",
            Support::Apart => "apart",
        }
    }
}

/// The support's estimated probabilities and weights, for the run's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoTravel {
    /// P(level | the first pass linked the pair), by [`Support`] level.
    pub m: [f64; 3],
    /// P(level | the first pass did not), by level.
    pub u: [f64; 3],
    /// log2(m / u), added to a pair's weight.
    pub weights: [f64; 3],
    /// Candidates at each level.
    pub pairs: [u64; 3],
}

/// The second pass's evidence: each candidate's support under the first answer, its weights,
/// and a scorer for pairs the solver asks about beyond the candidates.
#[derive(Debug, Clone)]
pub struct Evidence {
    companions: CompanionClusters,
    pub report: CoTravel,
}

impl Evidence {
    /// Reads every candidate's support from `clusters` and estimates its weights. `None` when
    /// no record has a companion, or the first answer linked nothing.
    pub fn estimate(
        companions: &Companions,
        clusters: &[Cluster],
        n: usize,
        scored: &[ScoredPair],
    ) -> Option<Evidence> {
        if !companions.any() {
            return None;
        }
        let cluster_of = crate::evaluate::cluster_positions(clusters, n);
        let cc = CompanionClusters::new(companions, &cluster_of);
        // [linked?][support level] counts.
        let counts = scored
            .par_iter()
            .fold(
                || [[0u64; 3]; 2],
                |mut acc, p| {
                    let same = cluster_of[p.a as usize] != u32::MAX
                        && cluster_of[p.a as usize] == cluster_of[p.b as usize];
                    acc[usize::from(same)][cc.support(p.a, p.b) as usize] += 1;
                    acc
                },
            )
            .reduce(
                || [[0u64; 3]; 2],
                |mut x, y| {
                    for s in 0..2 {
                        for l in 0..3 {
                            x[s][l] += y[s][l];
                        }
                    }
                    x
                },
            );
        let (unlinked, linked) = (counts[0], counts[1]);
        let total = |c: [u64; 3]| c.iter().sum::<u64>();
        if total(linked) == 0 || total(unlinked) == 0 {
            return None;
        }
        // Add-one smoothing: a level no pair took still gets a finite weight.
        let share = |c: [u64; 3], l: usize| (c[l] as f64 + 1.0) / (total(c) as f64 + 3.0);
        let m = [share(linked, 0), share(linked, 1), share(linked, 2)];
        let u = [share(unlinked, 0), share(unlinked, 1), share(unlinked, 2)];
        let weights = [
            (m[0] / u[0]).log2(),
            (m[1] / u[1]).log2(),
            (m[2] / u[2]).log2(),
        ];
        let pairs = [
            linked[0] + unlinked[0],
            linked[1] + unlinked[1],
            linked[2] + unlinked[2],
        ];
        Some(Evidence {
            companions: cc,
            report: CoTravel {
                m,
                u,
                weights,
                pairs,
            },
        })
    }

    /// The support of the pair `(a, b)` under the first answer.
    pub fn support(&self, a: u32, b: u32) -> Support {
        self.companions.support(a, b)
    }

    /// What the support adds to the weight of the pair `(a, b)`.
    pub fn adjustment(&self, a: u32, b: u32) -> f64 {
        self.report.weights[self.support(a, b) as usize]
    }

    /// Every candidate's weight adjusted.
    pub fn apply(&self, scored: &mut [ScoredPair]) {
        scored
            .par_iter_mut()
            .for_each(|p| p.weight += self.adjustment(p.a, p.b));
    }
}

/// The blocking report's name for the pairs [`companion_candidates`] brings.
pub const COMPANIONS_RULE: &str = "companions_of_linked_records";

/// Events with more companions than this are not searched for new candidates: a pair of
/// large events (a safe house, a bus) would bring hundreds of pairs for one linked person.
const MAX_COMPANIONS: usize = 16;

/// Pairs the blocking rules did not bring but the first answer suggests: for two records it
/// put in one cluster, every companion of one paired with every companion of the other (a
/// family caught in Guatemala and again in the United States, where one member's records were
/// linked and another's names or birth date were too garbled for any block). Pairs already
/// among `scored`, pairs `scope` does not admit and pairs of one event are left out. Sorted,
/// each pair `(smaller, larger)` once.
pub fn companion_candidates<D: Linkable + ?Sized>(
    data: &D,
    scope: PairScope,
    companions: &Companions,
    clusters: &[Cluster],
    scored: &[ScoredPair],
) -> Vec<(u32, u32)> {
    let mut found: Vec<(u32, u32)> = clusters
        .par_iter()
        .filter(|c| c.members.len() > 1)
        .flat_map_iter(|c| {
            let mut out = Vec::new();
            for (i, &x) in c.members.iter().enumerate() {
                let cx = companions.of(x);
                if cx.is_empty() || cx.len() > MAX_COMPANIONS {
                    continue;
                }
                for &y in &c.members[i + 1..] {
                    let cy = companions.of(y);
                    if cy.len() > MAX_COMPANIONS {
                        continue;
                    }
                    for &a in cx {
                        for &b in cy {
                            if a != b && scope.admits(data, a, b) && !data.same_event(a, b) {
                                out.push((a.min(b), a.max(b)));
                            }
                        }
                    }
                }
            }
            out
        })
        .collect();
    found.par_sort_unstable();
    found.dedup();
    if found.is_empty() {
        return found;
    }
    let known: Vec<bool> = {
        let index: rustc_hash::FxHashMap<(u32, u32), usize> =
            found.iter().enumerate().map(|(i, &p)| (p, i)).collect();
        let hits: Vec<usize> = scored
            .par_iter()
            .filter_map(|p| index.get(&(p.a.min(p.b), p.a.max(p.b))).copied())
            .collect();
        let mut known = vec![false; found.len()];
        for i in hits {
            known[i] = true;
        }
        known
    };
    found
        .into_iter()
        .zip(known)
        .filter(|&(_, k)| !k)
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::caught;

    fn cluster(members: &[u32]) -> Cluster {
        Cluster {
            id: String::new(),
            members: members.to_vec(),
        }
    }

    #[test]
    fn companions_of_linked_records_become_candidates() {
        use crate::Source;
        // Source us: a family (0, 1, 2) in event F and a stranger (3) in event S. Source mx:
        // the family again (4, 5, 6) in event G, the stranger alone.
        let us = ["u0", "u1", "u2"].map(|k| caught(k, "F"));
        let mx = ["m0", "m1", "m2"].map(|k| caught(k, "G"));
        let mut us_records = us.to_vec();
        us_records.push(caught("u3", "S"));
        let mut mx_records = mx.to_vec();
        mx_records.push(caught("m3", "T"));
        let data = Dataset::new(vec![
            Source {
                name: "us".into(),
                records: us_records,
            },
            Source {
                name: "mx".into(),
                records: mx_records,
            },
        ]);
        let companions = Companions::of_dataset(&data);
        assert_eq!(companions.of(0), &[1, 2]);
        assert_eq!(companions.of(3), &[] as &[u32]);
        // The first answer linked u0 with m0 (ids 0 and 4); blocking had found (1, 5) already.
        let clusters = [cluster(&[0, 4])];
        let scored = [ScoredPair {
            a: 1,
            b: 5,
            weight: 0.0,
        }];
        let found = companion_candidates(&data, PairScope::All, &companions, &clusters, &scored);
        // Every companion of u0 with every companion of m0, but (1, 5), which is known.
        assert_eq!(found, vec![(1, 6), (2, 5), (2, 6)]);
        // Linking only within a source, none of these pairs is wanted.
        let within =
            companion_candidates(&data, PairScope::Within, &companions, &clusters, &scored);
        assert!(within.is_empty(), "{within:?}");
        // Two records of one event are two people: a cluster of u0 and u1 brings no pair
        // of their companions that share the event.
        let same =
            companion_candidates(&data, PairScope::All, &companions, &[cluster(&[0, 1])], &[]);
        assert!(same.is_empty(), "{same:?}");
    }

    #[test]
    fn companions_are_the_other_members_of_each_group() {
        let c = Companions::from_groups(6, &[vec![0, 1, 2], vec![3], vec![4, 1]]);
        assert_eq!(c.of(0), &[1, 2]);
        assert_eq!(c.of(1), &[0, 2, 4]);
        assert_eq!(c.of(3), &[] as &[u32]);
        assert_eq!(c.of(5), &[] as &[u32]);
        assert_eq!(c.of(99), &[] as &[u32]);
        assert!(c.any());
        assert!(!Companions::from_groups(3, &[vec![0], vec![1]]).any());
        // Ids beyond the records are ignored; an event of thousands gives no companions.
        assert_eq!(Companions::from_groups(2, &[vec![0, 1, 7]]).of(0), &[1]);
        let crowd: Vec<u32> = (0..1000).collect();
        assert!(!Companions::from_groups(1000, &[crowd]).any());
    }

    #[test]
    fn support_reads_the_companions_clusters() {
        // Source A: event {0, 1}, event {2, 3}; source B: event {10, 11}; 12 alone.
        let companions = Companions::from_groups(13, &[vec![0, 1], vec![2, 3], vec![10, 11]]);
        // The first answer linked 1 with 11; 3 has companion 2 that is linked to nothing.
        let clusters = [
            cluster(&[1, 11]),
            cluster(&[2]),
            cluster(&[0]),
            cluster(&[10]),
        ];
        let cc = CompanionClusters::new(
            &companions,
            &crate::evaluate::cluster_positions(&clusters, 13),
        );
        assert_eq!(cc.support(0, 10), Support::Linked);
        assert_eq!(cc.support(3, 10), Support::Apart);
        assert_eq!(cc.support(0, 12), Support::Alone);
        assert_eq!(cc.support(12, 0), Support::Alone);
    }

    #[test]
    fn linked_companions_weigh_for_a_pair_and_apart_ones_against() {
        // Twenty families of three caught in A (3i..3i+2) and again in B (100+3i..). The first
        // pass linked the first two members of each, missed the third.
        let (mut groups, mut clusters, mut scored) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..20u32 {
            let (a, b) = (3 * i, 100 + 3 * i);
            groups.push(vec![a, a + 1, a + 2]);
            groups.push(vec![b, b + 1, b + 2]);
            for k in 0..2 {
                clusters.push(cluster(&[a + k, b + k]));
                scored.push(ScoredPair {
                    a: a + k,
                    b: b + k,
                    weight: 10.0,
                });
            }
            clusters.push(cluster(&[a + 2]));
            clusters.push(cluster(&[b + 2]));
            scored.push(ScoredPair {
                a: a + 2,
                b: b + 2,
                weight: -1.0,
            });
            // A candidate across two families that share nobody.
            let other = 100 + 3 * ((i + 1) % 20);
            scored.push(ScoredPair {
                a: a + 2,
                b: other + 2,
                weight: -1.0,
            });
        }
        let companions = Companions::from_groups(200, &groups);
        let ev = Evidence::estimate(&companions, &clusters, 200, &scored).unwrap();
        assert_eq!(ev.report.pairs, [0, 60, 20]);
        assert!(
            ev.report.weights[Support::Linked as usize] > 0.0,
            "{:?}",
            ev.report
        );
        assert!(
            ev.report.weights[Support::Apart as usize] < 0.0,
            "{:?}",
            ev.report
        );
        let before = scored.clone();
        ev.apply(&mut scored);
        for (b, a) in before.iter().zip(&scored) {
            let level = ev.companions.support(b.a, b.b);
            assert_eq!(a.weight, b.weight + ev.report.weights[level as usize]);
        }
        // The missed third members now outweigh the strangers' pairs they tied with.
        assert!(scored[2].weight > scored[3].weight, "{:?}", &scored[..4]);
        // Nobody travelling with anyone: no evidence to add.
        let none = Companions::from_groups(200, &[]);
        assert!(Evidence::estimate(&none, &clusters, 200, &scored).is_none());
    }
}
