//! Agglomerative merging of groups of records along weighted edges, by average linkage with
//! a majority (the rule [`crate::solve`] describes), one connected component at a time.
//!
//! A merge only ever joins two groups an edge joins, so the groups of one connected component
//! of the edge graph never meet those of another: each component is merged on its own, in
//! parallel, taking its edges in the global order (heaviest first, ties by ids), and the
//! result is the one a single pass over all edges gives. Within a component the weights of
//! record pairs are kept once worked out: a refused merge is tried again at the next edge
//! between the same groups, and a grown group is weighed again against its neighbours.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::Linkable;
use crate::solve::{ScoredPair, by_weight_desc};

/// What decides a merge, shared by every component.
pub(crate) struct Rules<'a, D: ?Sized> {
    pub data: &'a D,
    pub threshold: f64,
    pub score: &'a (dyn Fn(u32, u32) -> f64 + Sync),
    /// Refuse a merge of two groups holding a common source (linking); otherwise refuse
    /// one of two groups holding records of one event (deduplicating).
    pub one_per_source: bool,
}

/// Merges `groups` along `edges` (those below the threshold, within one group or naming a
/// record in no group are dropped). Every group comes back, merged or not, each sorted, the
/// list sorted.
pub(crate) fn merge<D: Linkable + ?Sized>(
    rules: &Rules<'_, D>,
    mut groups: Vec<Vec<u32>>,
    mut edges: Vec<ScoredPair>,
) -> Vec<Vec<u32>> {
    let mut group_of = vec![u32::MAX; rules.data.len()];
    for (g, members) in groups.iter_mut().enumerate() {
        members.sort_unstable();
        for &r in members.iter() {
            group_of[r as usize] = g as u32;
        }
    }
    let ends = |e: &ScoredPair| (group_of[e.a as usize], group_of[e.b as usize]);
    edges.retain(|e| {
        let (ga, gb) = ends(e);
        e.weight >= rules.threshold && ga != u32::MAX && gb != u32::MAX && ga != gb
    });
    let mut components = Components::new(groups.len());
    for e in &edges {
        let (ga, gb) = ends(e);
        components.join(ga, gb);
    }
    let mut keyed: Vec<(u32, ScoredPair)> = edges
        .into_iter()
        .map(|e| (components.root(ends(&e).0), e))
        .collect();
    keyed.par_sort_unstable_by(|x, y| x.0.cmp(&y.0).then_with(|| by_weight_desc(&x.1, &y.1)));
    let runs: Vec<&[(u32, ScoredPair)]> = keyed.chunk_by(|x, y| x.0 == y.0).collect();
    let merged: Vec<Vec<u32>> = runs
        .par_iter()
        .flat_map_iter(|run| merge_component(rules, &groups, &group_of, run))
        .collect();
    let mut touched = vec![false; groups.len()];
    for &(_, e) in &keyed {
        let (ga, gb) = ends(&e);
        touched[ga as usize] = true;
        touched[gb as usize] = true;
    }
    let mut out: Vec<Vec<u32>> = groups
        .into_iter()
        .zip(touched)
        .filter(|(members, touched)| !touched && !members.is_empty())
        .map(|(members, _)| members)
        .chain(merged)
        .collect();
    out.sort();
    out
}

/// The groups of one connected component after merging along its `edges`, heaviest first.
fn merge_component<D: Linkable + ?Sized>(
    rules: &Rules<'_, D>,
    groups: &[Vec<u32>],
    group_of: &[u32],
    edges: &[(u32, ScoredPair)],
) -> Vec<Vec<u32>> {
    // The component's groups, numbered from 0 in the order of their indices: a merge keeps
    // the lower index, and the record pairs of two groups are weighed from the lower one's
    // side (a weight's frequency adjustment is the first record's), as in one global pass.
    let mut ids: Vec<u32> = edges
        .iter()
        .flat_map(|(_, e)| [group_of[e.a as usize], group_of[e.b as usize]])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut members: Vec<Vec<u32>> = Vec::with_capacity(ids.len());
    let mut current: FxHashMap<u32, u32> = FxHashMap::default();
    for (l, &g) in ids.iter().enumerate() {
        for &r in &groups[g as usize] {
            current.insert(r, l as u32);
        }
        members.push(groups[g as usize].clone());
    }
    let data = rules.data;
    let mut sources: Vec<Vec<u32>> = members
        .iter()
        .map(|m| {
            let mut s: Vec<u32> = m.iter().map(|&r| data.source_of(r)).collect();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let mut known: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for (_, e) in edges {
        let (ga, gb) = (current[&e.a], current[&e.b]);
        if ga == gb {
            continue;
        }
        let (lo, hi) = (ga.min(gb) as usize, ga.max(gb) as usize);
        if rules.one_per_source && sources[lo].iter().any(|s| sources[hi].contains(s)) {
            continue;
        }
        if !rules.one_per_source && share_an_event(data, &members[lo], &members[hi]) {
            continue;
        }
        let mut score =
            |x: u32, y: u32| *known.entry((x, y)).or_insert_with(|| (rules.score)(x, y));
        if may_merge(&members[lo], &members[hi], rules.threshold, &mut score) {
            let moved = std::mem::take(&mut members[hi]);
            for &r in &moved {
                current.insert(r, lo as u32);
            }
            members[lo].extend(moved);
            members[lo].sort_unstable();
            let moved_sources = std::mem::take(&mut sources[hi]);
            sources[lo].extend(moved_sources);
            sources[lo].sort_unstable();
            sources[lo].dedup();
        }
    }
    members.retain(|m| !m.is_empty());
    members
}

/// Whether two groups may merge: the average of `score` over all pairs across them is at or
/// above `threshold` (average linkage), and so are at least half of those pairs — the average
/// alone lets one very strong pair carry several that clearly disagree.
fn may_merge(
    a: &[u32],
    b: &[u32],
    threshold: f64,
    score: &mut impl FnMut(u32, u32) -> f64,
) -> bool {
    let mut sum = 0.0;
    let mut above = 0usize;
    for &x in a {
        for &y in b {
            let w = score(x, y);
            sum += w;
            if w >= threshold {
                above += 1;
            }
        }
    }
    let n = (a.len() * b.len()).max(1);
    sum / n as f64 >= threshold && 2 * above >= n
}

/// Whether a record of `a` and a record of `b` took part in the same event. Within a source a
/// person is recorded once per event, so two such records are two people: the twins, the
/// father and son, the family caught together. Event ids are per source, which is all
/// deduplication compares.
fn share_an_event<D: Linkable + ?Sized>(data: &D, a: &[u32], b: &[u32]) -> bool {
    a.iter().any(|&x| b.iter().any(|&y| data.same_event(x, y)))
}

/// Connected components of groups joined by edges: union–find with path halving and union
/// by size.
struct Components {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Components {
    fn new(n: usize) -> Components {
        Components {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn root(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    fn join(&mut self, a: u32, b: u32) {
        let (mut ra, mut rb) = (self.root(a), self.root(b));
        if ra == rb {
            return;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rec;
    use crate::{Dataset, Source};

    /// Two sources of eight records; records `0..4` of the first took part in events `E0`,
    /// `E1`, `E0`, `E1`, so some pairs may never merge when deduplicating.
    fn data() -> Dataset {
        let source = |s: usize| Source {
            name: format!("s{s}"),
            records: (0..8)
                .map(|i| {
                    let mut r = rec(&format!("r{i}"), "Ana", "Ruiz", "", "");
                    if s == 0 && i < 4 {
                        r.events = vec![enlace_model::Event {
                            kind: "encounter".into(),
                            id: Some(format!("E{}", i % 2)),
                            date: None,
                            place: None,
                        }];
                    }
                    r
                })
                .collect(),
        };
        Dataset::new(vec![source(0), source(1)])
    }

    /// The specification: one pass over all edges, heaviest first, over the groups of the
    /// whole dataset (what `merge` did before it split the work by component).
    fn one_pass(
        rules: &Rules<'_, Dataset>,
        groups: Vec<Vec<u32>>,
        edges: &[ScoredPair],
    ) -> Vec<Vec<u32>> {
        let data = rules.data;
        let mut group_of = vec![u32::MAX; data.len()];
        let mut members = groups;
        for (g, m) in members.iter_mut().enumerate() {
            m.sort_unstable();
            for &r in m.iter() {
                group_of[r as usize] = g as u32;
            }
        }
        let mut edges: Vec<ScoredPair> = edges
            .iter()
            .filter(|e| e.weight >= rules.threshold)
            .copied()
            .collect();
        edges.sort_by(by_weight_desc);
        let sources_of = |m: &[u32]| -> std::collections::BTreeSet<u32> {
            m.iter().map(|&r| data.source_of(r)).collect()
        };
        for e in edges {
            let (ga, gb) = (group_of[e.a as usize], group_of[e.b as usize]);
            if ga == u32::MAX || gb == u32::MAX || ga == gb {
                continue;
            }
            let (lo, hi) = (ga.min(gb) as usize, ga.max(gb) as usize);
            let refused = if rules.one_per_source {
                !sources_of(&members[lo]).is_disjoint(&sources_of(&members[hi]))
            } else {
                share_an_event(data, &members[lo], &members[hi])
            };
            let mut score = |x, y| (rules.score)(x, y);
            if !refused && may_merge(&members[lo], &members[hi], rules.threshold, &mut score) {
                let moved = std::mem::take(&mut members[hi]);
                for &r in &moved {
                    group_of[r as usize] = lo as u32;
                }
                members[lo].extend(moved);
                members[lo].sort_unstable();
            }
        }
        let mut out: Vec<Vec<u32>> = members.into_iter().filter(|m| !m.is_empty()).collect();
        out.sort();
        out
    }

    proptest::proptest! {
        /// Merged component by component, with weights remembered, the groups are those of
        /// one pass — with a weight that depends on which record comes first, so that a merge
        /// weighed from the wrong side would show.
        #[test]
        fn components_merge_as_one_pass_does(
            edges in proptest::collection::vec((0u32..16, 0u32..16, -4.0f64..12.0), 0..48),
            salt in 0u64..1_000,
            linking in proptest::bool::ANY,
            entity_cut in 0usize..8,
        ) {
            let d = data();
            let score = move |x: u32, y: u32| {
                let h = (u64::from(x) * 31 + u64::from(y) * 17 + salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                (h >> 40) as f64 / f64::from(1u32 << 24) * 14.0 - 4.0
            };
            let rules = Rules { data: &d, threshold: 2.0, score: &score, one_per_source: linking };
            let pairs: Vec<ScoredPair> = edges
                .iter()
                .filter(|(a, b, _)| a != b)
                .map(|&(a, b, weight)| ScoredPair { a: a.min(b), b: a.max(b), weight })
                .collect();
            // Linking starts from entities: the first source's first records grouped in two,
            // one record left in no entity at all.
            let groups: Vec<Vec<u32>> = if linking {
                let cut = entity_cut as u32;
                let mut g = vec![(0..cut).collect::<Vec<u32>>(), (cut..8).collect()];
                g.extend((8..15).map(|r| vec![r]));
                g
            } else {
                (0..16).map(|r| vec![r]).collect()
            };
            let expected = one_pass(&rules, groups.clone(), &pairs);
            let got = merge(&rules, groups, pairs);
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
