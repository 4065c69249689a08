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

/// Components with more edges than this have the weights of their next edges' merges worked
/// out ahead, in parallel: at a million people one component can hold most of the edges
/// (common names chain many people above the threshold), and alone it would be weighed on one
/// core.
const AHEAD_FROM: usize = if cfg!(test) { 8 } else { 4_096 };

/// How many edges' merges are weighed ahead at a time. (Tests take both small, so that
/// their small components go this way too.)
const AHEAD_BATCH: usize = if cfg!(test) { 4 } else { 512 };

/// The groups of one connected component after merging along its `edges`, heaviest first.
fn merge_component<D: Linkable + ?Sized>(
    rules: &Rules<'_, D>,
    groups: &[Vec<u32>],
    group_of: &[u32],
    edges: &[(u32, ScoredPair)],
) -> Vec<Vec<u32>> {
    let mut component = Component::new(rules, groups, group_of, edges);
    let ahead = edges.len() > AHEAD_FROM;
    for (i, (_, e)) in edges.iter().enumerate() {
        if ahead && i % AHEAD_BATCH == 0 {
            let end = (i + AHEAD_BATCH).min(edges.len());
            component.weigh_ahead(&edges[i..end]);
        }
        if let Some((lo, hi)) = component.candidate(e)
            && component.may_merge(lo, hi)
        {
            component.merge(lo, hi);
        }
    }
    let mut members = component.members;
    members.retain(|m| !m.is_empty());
    members
}

/// The merging state of one component.
struct Component<'a, D: ?Sized> {
    rules: &'a Rules<'a, D>,
    /// The component's groups, numbered from 0 in the order of their indices: a merge keeps
    /// the lower number, and the record pairs of two groups are weighed from the lower one's
    /// side (a weight's frequency adjustment is the first record's), as in one global pass.
    members: Vec<Vec<u32>>,
    /// Each group's sources, sorted.
    sources: Vec<Vec<u32>>,
    /// Each record's group.
    current: FxHashMap<u32, u32>,
    /// The weights of record pairs `(x, y)` worked out so far, `x` from the lower group.
    known: FxHashMap<(u32, u32), f64>,
}

impl<'a, D: Linkable + ?Sized> Component<'a, D> {
    fn new(
        rules: &'a Rules<'a, D>,
        groups: &[Vec<u32>],
        group_of: &[u32],
        edges: &[(u32, ScoredPair)],
    ) -> Self {
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
        let sources = members
            .iter()
            .map(|m| {
                let mut s: Vec<u32> = m.iter().map(|&r| rules.data.source_of(r)).collect();
                s.sort_unstable();
                s.dedup();
                s
            })
            .collect();
        // An edge's weight is the weight of its pair weighed from its smaller id, `a`: what
        // the score gives for `(a, b)`, to the last bit (both weigh `compare(a, b)` for `a`).
        let known = edges.iter().map(|(_, e)| ((e.a, e.b), e.weight)).collect();
        Component {
            rules,
            members,
            sources,
            current,
            known,
        }
    }

    /// The two groups, lower first, that edge `e` would merge; `None` when its records are in
    /// one group already or the rules refuse the merge outright.
    fn candidate(&self, e: &ScoredPair) -> Option<(usize, usize)> {
        let (ga, gb) = (self.current[&e.a], self.current[&e.b]);
        if ga == gb {
            return None;
        }
        let (lo, hi) = (ga.min(gb) as usize, ga.max(gb) as usize);
        let (a, b) = (&self.members[lo], &self.members[hi]);
        let refused = if self.rules.one_per_source {
            self.sources[lo]
                .iter()
                .any(|s| self.sources[hi].contains(s))
        } else {
            share_an_event(self.rules.data, a, b)
        };
        (!refused).then_some((lo, hi))
    }

    /// Works out, in parallel, the weights the merges of `edges` would ask for in the groups
    /// as they are now. Merges among these edges change some groups before their turn; their
    /// missing weights are then worked out on demand.
    fn weigh_ahead(&mut self, edges: &[(u32, ScoredPair)]) {
        let mut wanted: Vec<(u32, u32)> = Vec::new();
        for (_, e) in edges {
            if let Some((lo, hi)) = self.candidate(e) {
                for &x in &self.members[lo] {
                    for &y in &self.members[hi] {
                        if !self.known.contains_key(&(x, y)) {
                            wanted.push((x, y));
                        }
                    }
                }
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let score = self.rules.score;
        let weights: Vec<f64> = wanted.par_iter().map(|&(x, y)| score(x, y)).collect();
        self.known.extend(wanted.into_iter().zip(weights));
    }

    fn may_merge(&mut self, lo: usize, hi: usize) -> bool {
        let (known, score) = (&mut self.known, self.rules.score);
        may_merge(
            &self.members[lo],
            &self.members[hi],
            self.rules.threshold,
            &mut |x, y| *known.entry((x, y)).or_insert_with(|| score(x, y)),
        )
    }

    fn merge(&mut self, lo: usize, hi: usize) {
        let moved = std::mem::take(&mut self.members[hi]);
        for &r in &moved {
            self.current.insert(r, lo as u32);
        }
        self.members[lo].extend(moved);
        self.members[lo].sort_unstable();
        let moved_sources = std::mem::take(&mut self.sources[hi]);
        self.sources[lo].extend(moved_sources);
        self.sources[lo].sort_unstable();
        self.sources[lo].dedup();
    }
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
            ends in proptest::collection::vec((0u32..16, 0u32..16), 0..48),
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
            // As the scored candidates are: each pair once, weighed from its smaller id.
            let mut ends: Vec<(u32, u32)> = ends
                .into_iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect();
            ends.sort_unstable();
            ends.dedup();
            let pairs: Vec<ScoredPair> = ends
                .into_iter()
                .map(|(a, b)| ScoredPair { a, b, weight: score(a, b) })
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
