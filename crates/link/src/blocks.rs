//! Comparing the candidates block by block.
//!
//! A pair is a candidate when some rule's block holds both records. Listing every rule's pairs,
//! merging the lists and comparing the union pair by pair reads the second record of each pair
//! from anywhere in memory: at a million records nearly every comparison waits on it. Here a
//! block's pairs are compared together, while its few records sit in cache, and a pair that
//! several blocks hold is compared once, by the block that *owns* it: the first one, in rule
//! order and then in block order within the rule, that holds both records. Each record keeps
//! its blocks under every rule, so the owner of a pair is known from its two records alone, with
//! no set of pairs seen. The compared pairs are finally sorted into the union's order `(a, b)`,
//! so the result is the one the merged union gave, and the rules' reports count the same.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::Linkable;
use crate::blocking::{BlockingReport, Cap, PairScope, RuleReport};
use crate::compare::Comparison;

/// No block of a rule holds the record.
const NONE: u32 = u32::MAX;

/// Pair slots (`b (b − 1) / 2` per block of `b` records) per parallel task: enough to outweigh
/// a task's cost, few enough that two threads share the work evenly.
const TASK_PAIRS: usize = 1 << 15;

/// A run of consecutive blocks of one rule: `(rule, first block, end)`.
type Task = (usize, usize, usize);

/// What the first pass over a task found: its rule's pairs, and which of its blocks' pairs
/// (numbered in the order [`Blocks::each_pair`] meets them) it owns.
#[derive(Default)]
struct Found {
    rule_pairs: usize,
    owned: usize,
    bits: Vec<u64>,
}

impl Found {
    fn mark(&mut self, at: usize, owned: bool) {
        if owned {
            if self.bits.len() <= at / 64 {
                self.bits.resize(at / 64 + 1, 0);
            }
            self.bits[at / 64] |= 1 << (at % 64);
            self.owned += 1;
        }
    }

    fn is_marked(&self, at: usize) -> bool {
        self.bits
            .get(at / 64)
            .is_some_and(|w| (w >> (at % 64)) & 1 == 1)
    }
}

/// A candidate pair with its comparison vector, as two words: `(a, b)` as one number (`a` in the
/// high half, so that the words sort as the pairs do), then the comparison's levels. Plain words
/// rather than a struct, so that a vector of them can be made of zeros the system hands over
/// unwritten (see [`Blocks::compare_owned`]). Of the size and alignment of a
/// [`crate::ScoredPair`], so that mapping a vector of these into scored pairs reuses its memory.
pub(crate) type Compared = [u64; 2];

const _: () = assert!(
    std::mem::size_of::<Compared>() == std::mem::size_of::<crate::ScoredPair>()
        && std::mem::align_of::<Compared>() == std::mem::align_of::<crate::ScoredPair>()
);

/// Bits a level takes in the second word: every field has fewer than 16 levels.
const LEVEL_BITS: usize = 4;
const _: () = assert!(crate::compare::FIELD_COUNT * LEVEL_BITS <= 64);

/// Pair `(a, b)` with its comparison.
pub(crate) fn compared(a: u32, b: u32, comparison: Comparison) -> Compared {
    let levels = comparison.0.iter().enumerate().fold(0u64, |w, (f, &l)| {
        w | (u64::from(l & 0xf) << (f * LEVEL_BITS))
    });
    [(u64::from(a) << 32) | u64::from(b), levels]
}

/// The pair `(a, b)` of a compared pair.
pub(crate) fn pair_of(c: &Compared) -> (u32, u32) {
    ((c[0] >> 32) as u32, c[0] as u32)
}

/// The comparison of a compared pair.
pub(crate) fn levels_of(c: &Compared) -> Comparison {
    Comparison(std::array::from_fn(|f| {
        ((c[1] >> (f * LEVEL_BITS)) & 0xf) as u8
    }))
}

/// The blocks of several rules, as the candidates are compared from them.
pub(crate) struct Blocks {
    rules: usize,
    /// Per rule, the members of its kept blocks (2 to the cap) back to back, each block
    /// ascending; `starts[r][k]..starts[r][k + 1]` is block `k` of rule `r`.
    members: Vec<Vec<u32>>,
    starts: Vec<Vec<usize>>,
    /// Record-major: `first[id * rules + r]` is the smallest kept block of rule `r` holding
    /// record `id`, or [`NONE`].
    first: Vec<u32>,
    /// The (record, rule) entries of `first` whose record is in more than one kept block of
    /// the rule (two phones, say), one bit each; their blocks are in `more`, ascending.
    several: Vec<u64>,
    more: FxHashMap<(u32, u32), Vec<u32>>,
    reports: Vec<RuleReport>,
}

impl Blocks {
    /// Room for `rules` rules over records `0..n`.
    pub(crate) fn new(n: usize, rules: usize) -> Blocks {
        Blocks {
            rules,
            members: Vec::with_capacity(rules),
            starts: Vec::with_capacity(rules),
            first: vec![NONE; n * rules],
            several: vec![0; (n * rules).div_ceil(64)],
            more: FxHashMap::default(),
            reports: Vec::with_capacity(rules),
        }
    }

    /// Adds the next rule, named `name`, from all of its blocks: each lists its records once,
    /// ascending. Blocks over the cap are counted, as are the records in them, and only their
    /// parts the cap keeps are added (see [`Cap`]).
    pub(crate) fn add_rule<'a>(
        &mut self,
        name: String,
        blocks: impl Iterator<Item = &'a [u32]>,
        cap: &Cap,
    ) {
        let r = self.members.len();
        assert!(r < self.rules, "more rules than the blocks were made for");
        let mut report = RuleReport::named(name);
        let (mut members, mut starts) = (Vec::new(), vec![0]);
        for whole in blocks {
            report.keep_parts(whole, cap, |block| {
                self.add_block(r, block, &mut members, &mut starts)
            });
        }
        self.members.push(members);
        self.starts.push(starts);
        self.reports.push(report);
    }

    /// Adds one kept block of rule `r` to its `members` and `starts`.
    fn add_block(
        &mut self,
        r: usize,
        block: &[u32],
        members: &mut Vec<u32>,
        starts: &mut Vec<usize>,
    ) {
        {
            let k = (starts.len() - 1) as u32;
            for &id in block {
                let at = id as usize * self.rules + r;
                if self.first[at] == NONE {
                    self.first[at] = k;
                } else {
                    // Blocks are numbered as they come, so the first one seen is the smallest.
                    if self.several[at / 64] & (1 << (at % 64)) == 0 {
                        self.several[at / 64] |= 1 << (at % 64);
                        self.more.insert((id, r as u32), vec![self.first[at]]);
                    }
                    if let Some(list) = self.more.get_mut(&(id, r as u32)) {
                        list.push(k);
                    }
                }
            }
            members.extend_from_slice(block);
            starts.push(members.len());
        }
    }

    /// Kept blocks over all rules.
    pub(crate) fn kept(&self) -> usize {
        self.starts.iter().map(|s| s.len() - 1).sum()
    }

    /// The kept blocks of rule `r` holding record `id`, ascending.
    fn blocks_of(&self, id: u32, r: usize) -> &[u32] {
        let at = id as usize * self.rules + r;
        if self.first[at] == NONE {
            &[]
        } else if self.several[at / 64] & (1 << (at % 64)) != 0 {
            self.more
                .get(&(id, r as u32))
                .map_or(&[][..], Vec::as_slice)
        } else {
            std::slice::from_ref(&self.first[at])
        }
    }

    /// The smallest block of rule `r` holding both records.
    fn first_shared(&self, a: u32, b: u32, r: usize) -> Option<u32> {
        let (i, j) = (a as usize * self.rules + r, b as usize * self.rules + r);
        let (fa, fb) = (self.first[i], self.first[j]);
        if fa == NONE || fb == NONE {
            return None;
        }
        if fa == fb {
            return Some(fa);
        }
        let several = |at: usize| self.several[at / 64] & (1 << (at % 64)) != 0;
        if !several(i) && !several(j) {
            return None;
        }
        // Both lists ascending: the first common entry.
        let (x, y) = (self.blocks_of(a, r), self.blocks_of(b, r));
        let (mut p, mut q) = (0, 0);
        while p < x.len() && q < y.len() {
            match x[p].cmp(&y[q]) {
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => return Some(x[p]),
            }
        }
        None
    }

    /// Whether block `k` of rule `r`, holding `a < b`, is the first block of its rule to hold
    /// them (the rule's pair), and whether it owns the pair (no earlier rule holds it either).
    ///
    /// Most records are in at most one block per rule, so two records share an earlier rule's
    /// block exactly when their first blocks there are equal: a comparison of the two records'
    /// rows with no branch per rule, which the compiler vectorises. Only the rules where either
    /// record is in several blocks need their lists intersected.
    fn holds(&self, a: u32, b: u32, r: usize, k: u32) -> (bool, bool) {
        let rules = self.rules;
        let (i, j) = (a as usize * rules, b as usize * rules);
        let (row_a, row_b) = (&self.first[i..i + r], &self.first[j..j + r]);
        let first_here = self.first[i + r] == k && self.first[j + r] == k;
        if !first_here && self.first_shared(a, b, r) != Some(k) {
            return (false, false);
        }
        let equal_first = row_a
            .iter()
            .zip(row_b)
            .fold(false, |any, (&x, &y)| any | ((x == y) & (x != NONE)));
        if equal_first {
            return (true, false);
        }
        let owned = self
            .several_before(i, r)
            .chain(self.several_before(j, r))
            .all(|earlier| self.first_shared(a, b, earlier).is_none());
        (true, owned)
    }

    /// The rules before `r` under which the record whose row starts at `row` is in several
    /// blocks.
    fn several_before(&self, row: usize, r: usize) -> impl Iterator<Item = usize> + '_ {
        let (start, end) = (row, row + r);
        (start / 64..end.div_ceil(64)).flat_map(move |w| {
            let mut bits = self.several[w];
            if w == start / 64 {
                bits &= !0u64 << (start % 64);
            }
            if w == end / 64 {
                bits &= (1u64 << (end % 64)) - 1;
            }
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let at = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    at - row
                })
            })
        })
    }

    /// Calls `f(k, a, b)` for each pair `a < b` of each block `k` of a task, in order.
    fn each_pair(&self, (r, lo, hi): Task, mut f: impl FnMut(u32, u32, u32)) {
        for k in lo..hi {
            let block = &self.members[r][self.starts[r][k]..self.starts[r][k + 1]];
            for (i, &a) in block.iter().enumerate() {
                for &b in &block[i + 1..] {
                    f(k as u32, a, b);
                }
            }
        }
    }

    /// The candidate pairs of `scope`, each compared once by `compare(a, b)` with `a < b`,
    /// sorted by `(a, b)`, and the blocking report (`possible` pairs of the scope).
    ///
    /// Two passes over the blocks. The first finds which of a task's pairs it owns, one bit
    /// each, so that the second compares just those straight into their place in one vector
    /// of the exact size (a vector per task, gathered afterwards, held the pairs twice).
    pub(crate) fn compare_owned<D: Linkable + ?Sized>(
        mut self,
        data: &D,
        scope: PairScope,
        compare: impl Fn(u32, u32) -> Comparison + Sync,
    ) -> (Vec<Compared>, BlockingReport) {
        let tasks = self.tasks();
        let found: Vec<Found> = tasks
            .par_iter()
            .map(|&task| {
                let mut found = Found::default();
                let mut at = 0;
                self.each_pair(task, |k, a, b| {
                    if scope.admits(data, a, b) {
                        let (rule_pair, owned) = self.holds(a, b, task.0, k);
                        found.rule_pairs += usize::from(rule_pair);
                        found.mark(at, owned);
                    }
                    at += 1;
                });
                found
            })
            .collect();
        // Made of zeros the system hands over unwritten: its pages are zeroed as the
        // comparisons first write them, on both cores, where a vector of structs had to be
        // written through first, 880 MB on one core, for close to two seconds.
        // An eighth more than the pairs, cut off at once: the vector keeps that room, never
        // written so costing no memory, for the candidates a later pass adds (the companions',
        // `crate::cotravel`), which would otherwise copy the whole vector to grow it.
        let owned: usize = found.iter().map(|f| f.owned).sum();
        let mut compared = vec![[0u64; 2]; owned + owned / 8];
        compared.truncate(owned);
        let mut places = Vec::with_capacity(tasks.len());
        let mut rest = &mut compared[..];
        for f in &found {
            let (place, tail) = rest.split_at_mut(f.owned);
            places.push(place);
            rest = tail;
        }
        let this = &self;
        tasks
            .par_iter()
            .zip(&found)
            .zip(places)
            .for_each(|((&task, found), place)| {
                let mut slots = place.iter_mut();
                let mut at = 0;
                this.each_pair(task, |_, a, b| {
                    if found.is_marked(at)
                        && let Some(slot) = slots.next()
                    {
                        *slot = self::compared(a, b, compare(a, b));
                    }
                    at += 1;
                });
            });
        for (&(r, _, _), f) in tasks.iter().zip(&found) {
            self.reports[r].pairs += f.rule_pairs;
            self.reports[r].new_pairs += f.owned;
        }
        let reports = std::mem::take(&mut self.reports);
        // The blocks are no longer needed: free them before the sort.
        drop(self);
        compared.par_sort_unstable_by_key(|c| c[0]);
        let possible = scope.possible(&data.source_sizes());
        let report = BlockingReport::new(reports, compared.len(), possible);
        (compared, report)
    }

    /// Runs of consecutive blocks of one rule, `(rule, first block, end)`, of about
    /// [`TASK_PAIRS`] pair slots each.
    fn tasks(&self) -> Vec<Task> {
        let mut tasks = Vec::new();
        for (r, starts) in self.starts.iter().enumerate() {
            let (mut lo, mut slots) = (0, 0);
            for k in 0..starts.len() - 1 {
                let b = starts[k + 1] - starts[k];
                slots += b * (b - 1) / 2;
                if slots >= TASK_PAIRS {
                    tasks.push((r, lo, k + 1));
                    (lo, slots) = (k + 1, 0);
                }
            }
            if lo < starts.len() - 1 {
                tasks.push((r, lo, starts.len() - 1));
            }
        }
        tasks
    }
}

/// An empty comparison vector, for tests that only want the pairs.
#[cfg(test)]
pub(crate) const NO_COMPARISON: Comparison = Comparison([0; crate::compare::FIELD_COUNT]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocking::union_of_rules;

    /// A comparison whose levels spell `a` and `b` (below 65,536), four bits a level: which
    /// pair a stored comparison belongs to, and that the packing keeps every level.
    fn levels_naming(a: u32, b: u32) -> Comparison {
        let mut c = NO_COMPARISON;
        for i in 0..4 {
            c.0[i] = ((a >> (4 * i)) & 0xf) as u8;
            c.0[4 + i] = ((b >> (4 * i)) & 0xf) as u8;
        }
        c.0[8] = ((a ^ b) & 0xf) as u8;
        c
    }

    /// Records `0..n` in one source.
    struct Plain(usize);

    impl Linkable for Plain {
        fn len(&self) -> usize {
            self.0
        }
        fn source_sizes(&self) -> Vec<u64> {
            vec![self.0 as u64 / 2, (self.0 - self.0 / 2) as u64]
        }
        fn source_of(&self, id: u32) -> u32 {
            u32::from(id as usize >= self.0 / 2)
        }
        fn key(&self, _: u32) -> (&str, &str) {
            ("", "")
        }
        fn kind(&self) -> crate::ComparisonKind {
            crate::ComparisonKind::Plaintext
        }
        fn compare(&self, _: u32, _: u32) -> Comparison {
            NO_COMPARISON
        }
        fn surname_key(&self, _: u32) -> Option<std::borrow::Cow<'_, str>> {
            None
        }
        fn given_key(&self, _: u32) -> Option<std::borrow::Cow<'_, str>> {
            None
        }
        fn same_event(&self, _: u32, _: u32) -> bool {
            false
        }
    }

    /// Each rule's pairs the way the merged union takes them: every block's pairs of the
    /// scope, sorted and deduplicated. A pair of a block over the cap is kept when its two
    /// records are of one source, within-source pairs are wanted, and the block holds no more
    /// than the cap of that source's records.
    fn rule_pairs(
        blocks: &[Vec<u32>],
        cap: usize,
        data: &Plain,
        scope: PairScope,
    ) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = blocks
            .iter()
            .flat_map(|b| {
                let of_source = |s: u32| b.iter().filter(|&&id| data.source_of(id) == s).count();
                let kept = move |x: u32, y: u32| {
                    b.len() <= cap
                        || (scope != PairScope::Across
                            && data.source_of(x) == data.source_of(y)
                            && of_source(data.source_of(x)) <= cap)
                };
                b.iter().enumerate().flat_map(move |(i, &a)| {
                    b[i + 1..]
                        .iter()
                        .filter(move |&&c| kept(a, c))
                        .map(move |&c| (a.min(c), a.max(c)))
                })
            })
            .filter(|&(a, b)| scope.admits(data, a, b))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    proptest::proptest! {
        #[test]
        fn compared_block_by_block_is_the_merged_union(
            n in 2usize..40,
            rules in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::btree_set(0u32..40, 0..9), 0..8),
                0..7),
            cap in 2usize..8,
            scope in proptest::prop_oneof![
                proptest::strategy::Just(PairScope::All),
                proptest::strategy::Just(PairScope::Across),
                proptest::strategy::Just(PairScope::Within)],
        ) {
            let data = Plain(n);
            let rules: Vec<Vec<Vec<u32>>> = rules
                .into_iter()
                .map(|blocks| {
                    blocks
                        .into_iter()
                        .map(|b| b.into_iter().filter(|&id| (id as usize) < n).collect())
                        .collect()
                })
                .collect();
            let mut blocks = Blocks::new(n, rules.len());
            let capped_by = Cap::new(cap, scope, &data.source_sizes());
            for (i, r) in rules.iter().enumerate() {
                blocks.add_rule(i.to_string(), r.iter().map(Vec::as_slice), &capped_by);
            }
            let (compared, got) = blocks.compare_owned(&data, scope, |a, b| {
                levels_naming(a, b)
            });
            let (want_pairs, want) = union_of_rules(
                rules.iter().enumerate().map(|(i, r)| {
                    let pairs = rule_pairs(r, cap, &data, scope);
                    let mut rep = RuleReport::named(i.to_string());
                    rep.pairs = pairs.len();
                    (pairs, rep)
                }),
                scope.possible(&data.source_sizes()),
            );
            let pairs: Vec<(u32, u32)> = compared.iter().map(pair_of).collect();
            proptest::prop_assert_eq!(&pairs, &want_pairs);
            // Each pair compared as (a, b), once.
            for c in &compared {
                let ((a, b), levels) = (pair_of(c), levels_of(c));
                proptest::prop_assert_eq!(levels, levels_naming(a, b));
            }
            proptest::prop_assert_eq!(got.pairs, want.pairs);
            for (i, (g, w)) in got.rules.iter().zip(&want.rules).enumerate() {
                proptest::prop_assert_eq!(g.pairs, w.pairs, "rule {} pairs", i);
                proptest::prop_assert_eq!(g.new_pairs, w.new_pairs, "rule {} new", i);
                proptest::prop_assert_eq!(g.blocks, rules[i].len());
                let capped: Vec<&Vec<u32>> = rules[i].iter().filter(|b| b.len() > cap).collect();
                proptest::prop_assert_eq!(g.capped_blocks, capped.len());
                proptest::prop_assert_eq!(
                    g.capped_records,
                    capped.iter().map(|b| b.len()).sum::<usize>()
                );
            }
        }
    }

    #[test]
    fn a_pair_in_two_blocks_of_one_rule_and_in_a_later_rule_is_compared_once() {
        let data = Plain(6);
        let mut blocks = Blocks::new(6, 2);
        // Records 1 and 2 share two phones (two blocks of the first rule) and a name (second).
        blocks.add_rule(
            "phones".into(),
            [&[1, 2][..], &[0, 1, 2], &[4]].into_iter(),
            &Cap::new(10, PairScope::All, &data.source_sizes()),
        );
        let cap = Cap::new(10, PairScope::All, &data.source_sizes());
        blocks.add_rule("name".into(), [&[1, 2, 5][..]].into_iter(), &cap);
        let (compared, report) = blocks.compare_owned(&data, PairScope::All, |_, _| NO_COMPARISON);
        let pairs: Vec<(u32, u32)> = compared.iter().map(pair_of).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (1, 5), (2, 5)]);
        assert_eq!(report.rules[0].pairs, 3);
        assert_eq!(report.rules[0].new_pairs, 3);
        assert_eq!(report.rules[1].pairs, 3);
        assert_eq!(report.rules[1].new_pairs, 2);
        assert_eq!(report.rules[0].blocks, 3);
    }
}
