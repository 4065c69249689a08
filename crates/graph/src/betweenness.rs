//! Betweenness centrality (Brandes 2001): exact, and estimated from seeded pivots (Brandes and
//! Pich 2007).
//!
//! Large sparse graphs are memory-bound here: each source touches every node's state and every
//! adjacency entry. So the graph is first renumbered in breadth-first order (nodes met together
//! sit together in memory), each search reads rows in index order wherever it can, and both
//! passes choose, level by level, the direction that reads fewer rows (see [`Workspace`]).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};

/// Exact betweenness centrality on the unweighted simple graph: for each node, the number of
/// shortest paths between other pairs that pass through it, each unordered pair counted once.
/// `normalized` divides by the number of pairs `(n - 1)(n - 2) / 2`.
pub fn betweenness(g: &Csr, normalized: bool) -> Result<Vec<f64>> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("betweenness needs a node"));
    }
    let sources: Vec<NodeIx> = (0..n as NodeIx).collect();
    Ok(finish(
        brandes::<f64>(g, &sources, Tuning::DEFAULT)?,
        n,
        1.0,
        normalized,
    ))
}

/// Betweenness estimated from `pivots` source nodes drawn without replacement with a seeded
/// generator, scaled by `n / pivots`. With every node as a pivot it equals [`betweenness`].
///
/// An estimate from fewer pivots than nodes counts paths in single precision: its sampling
/// error (of the order of `1 / √pivots`, several per cent at a thousand pivots) dwarfs the
/// rounding (about 10⁻⁷ of each value), and the smaller counts halve the memory the searches
/// wait on. A source whose path counts grow beyond single precision's comfortable range is
/// searched again in double precision.
pub fn betweenness_sampled(
    g: &Csr,
    pivots: usize,
    seed: u64,
    normalized: bool,
) -> Result<Vec<f64>> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("betweenness needs a node"));
    }
    if pivots == 0 || pivots > n {
        return Err(GraphError::InvalidParameter {
            name: "pivots",
            reason: format!("{pivots} is not between 1 and the node count {n}"),
        });
    }
    let sources = draw_pivots(n, pivots, seed);
    let acc = if pivots == n {
        brandes::<f64>(g, &sources, Tuning::DEFAULT)?
    } else {
        brandes::<f32>(g, &sources, Tuning::DEFAULT)?
    };
    Ok(finish(acc, n, n as f64 / pivots as f64, normalized))
}

/// `k` distinct nodes of `0..n` drawn with a generator seeded by `seed`, in ascending order: the
/// pivot set, not the draw order, decides the result, and sorting makes the chunking of
/// [`brandes`] identical to the exact run's when all nodes are pivots.
fn draw_pivots(n: usize, k: usize, seed: u64) -> Vec<NodeIx> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sources: Vec<NodeIx> = rand::seq::index::sample(&mut rng, n, k)
        .into_iter()
        .map(|i| i as NodeIx)
        .collect();
    sources.sort_unstable();
    sources
}

fn finish(mut acc: Vec<f64>, n: usize, scale: f64, normalized: bool) -> Vec<f64> {
    // Each unordered pair was counted from both ends.
    let mut factor = scale / 2.0;
    if normalized && n > 2 {
        factor /= ((n - 1) * (n - 2)) as f64 / 2.0;
    }
    acc.iter_mut().for_each(|x| *x *= factor);
    acc
}

/// The number type of path counts and of the backward coefficients during a search; sums over
/// rows and dependencies are always taken in `f64`.
trait PathCount:
    Copy + Default + PartialOrd + std::ops::AddAssign + std::ops::Mul<Output = Self> + Send + Sync
{
    /// Counts above this are searched again in `f64` (see [`betweenness_sampled`]).
    const LIMIT: f64;
    fn of(x: f64) -> Self;
    fn get(self) -> f64;
    /// `self` times `bit` (0 or 1). Not written as a select, nor as a mask of the bits, which
    /// the compiler turns into a branch: a mispredicted branch throws away the random reads in
    /// flight behind it. A product it must keep (`inf · 0` is not 0), and for finite counts
    /// it is exact. A count that overflowed to infinity makes NaN here, which the check after
    /// the forward pass sends to the wider type like the overflow itself.
    fn times(self, bit: u64) -> Self;
}

impl PathCount for f64 {
    const LIMIT: f64 = f64::INFINITY;
    fn of(x: f64) -> Self {
        x
    }
    fn get(self) -> f64 {
        self
    }
    fn times(self, bit: u64) -> Self {
        self * bit as f64
    }
}

impl PathCount for f32 {
    // Far enough below `f32::MAX` that `1 / sigma` stays a normal number.
    const LIMIT: f64 = 1e30;
    fn of(x: f64) -> Self {
        x as f32
    }
    fn get(self) -> f64 {
        self as f64
    }
    fn times(self, bit: u64) -> Self {
        self * bit as f32
    }
}

/// When each search switches direction. Tests set the extremes so that every kind of level is
/// checked against the definition on small graphs.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    /// Forward: a level is found bottom-up (each unreached node sums its neighbours' path
    /// counts) rather than top-down (each frontier node adds its count to its neighbours) when
    /// the rows still to scan bottom-up hold fewer than this many times the frontier's entries:
    /// a bottom-up entry is a read in a branch-free sum over a row met in memory order, several
    /// times cheaper than a top-down entry's test-and-write at a random place. 0: always
    /// top-down; `usize::MAX`: bottom-up from the second level.
    bottom_up_factor: usize,
    /// Backward: a level's dependencies are pushed up from the level below (each node of it adds
    /// its coefficient to its parents) rather than pulled (each node sums over its own row) when
    /// the rows of the level below hold fewer than this many times the level's own entries. A
    /// broad level over a thin one below (the last large level of a search) is mostly rows
    /// without a single child. 0: always push; `usize::MAX`: always pull.
    push_back_factor: usize,
}

impl Tuning {
    const DEFAULT: Tuning = Tuning {
        bottom_up_factor: 4,
        push_back_factor: 2,
    };
}

/// Sum of dependencies over the given sources. Sources are cut into a fixed number of chunks
/// summed in chunk order, so the result does not depend on the thread count or scheduling.
fn brandes<C: PathCount>(g: &Csr, sources: &[NodeIx], tuning: Tuning) -> Result<Vec<f64>> {
    const CHUNKS: usize = 16;
    let n = g.node_count();
    let (local, new_of) = bfs_renumbered(g)?;
    let per = sources.len().div_ceil(CHUNKS).max(1);
    let partials: Vec<Vec<f64>> = sources
        .par_chunks(per)
        .map_init(
            // A search leaves its workspace clear, so one serves every chunk a thread takes; the
            // double-precision one is made only if a source needs it.
            || (Workspace::<C>::new(n, tuning), None),
            |(ws, wide), chunk| {
                let mut acc = vec![0.0; n];
                for &s in chunk {
                    let s = new_of[s as usize];
                    if !ws.accumulate(&local, s, &mut acc) {
                        wide.get_or_insert_with(|| Workspace::<f64>::new(n, tuning))
                            .accumulate(&local, s, &mut acc);
                    }
                }
                acc
            },
        )
        .collect();
    let mut total = vec![0.0; n];
    for p in partials {
        total.iter_mut().zip(p).for_each(|(t, x)| *t += x);
    }
    // Back to the caller's numbering.
    Ok((0..n).map(|u| total[new_of[u] as usize]).collect())
}

/// Neighbour lists only (weights play no part in hop counts), renumbered in breadth-first order
/// from the highest-degree node of each component; returns them with each old node's new index.
/// Row offsets are 32-bit (half the memory of `usize` ones, read on every row), so the rows may
/// hold fewer than 2³² entries.
fn bfs_renumbered(g: &Csr) -> Result<(Rows, Vec<NodeIx>)> {
    let n = g.node_count();
    let mut new_of = vec![NodeIx::MAX; n];
    let mut order: Vec<NodeIx> = Vec::with_capacity(n);

    let mut starts: Vec<NodeIx> = (0..n as NodeIx).collect();
    starts.sort_by_key(|&u| std::cmp::Reverse(g.degree(u)));
    for s in starts {
        if new_of[s as usize] != NodeIx::MAX {
            continue;
        }
        new_of[s as usize] = order.len() as NodeIx;
        let mut head = order.len();
        order.push(s);
        while head < order.len() {
            let u = order[head];
            head += 1;
            for &v in g.neighbors(u) {
                if new_of[v as usize] == NodeIx::MAX {
                    new_of[v as usize] = order.len() as NodeIx;
                    order.push(v);
                }
            }
        }
    }
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0u32);
    let mut targets = Vec::with_capacity(g.neighbors_len());
    for &u in &order {
        let start = targets.len();
        targets.extend(
            g.neighbors(u)
                .iter()
                .filter(|&&v| v != u)
                .map(|&v| new_of[v as usize]),
        );
        targets[start..].sort_unstable();
        offsets.push(u32::try_from(targets.len()).map_err(|_| GraphError::TooLarge)?);
    }
    // Room for [`CopiedRows`] to read a whole span past the last row.
    targets.resize(targets.len() + COPY_SPAN, 0);
    Ok((Rows { offsets, targets }, new_of))
}

/// Plain adjacency rows without weights or self-loops, followed by [`COPY_SPAN`] unused entries.
struct Rows {
    offsets: Vec<u32>,
    targets: Vec<NodeIx>,
}

impl Rows {
    /// Where row `u` starts and ends in `targets`.
    fn span(&self, u: NodeIx) -> (usize, usize) {
        let u = u as usize;
        (self.offsets[u] as usize, self.offsets[u + 1] as usize)
    }

    fn row(&self, u: NodeIx) -> &[NodeIx] {
        let (start, end) = self.span(u);
        &self.targets[start..end]
    }

    /// Row entries in all (`targets` holds [`COPY_SPAN`] more, read past the last row).
    fn entries(&self) -> usize {
        self.offsets.last().map_or(0, |&e| e as usize)
    }

    fn degree(&self, u: NodeIx) -> usize {
        let (start, end) = self.span(u);
        end - start
    }
}

/// `Σ x[v]` over a row, in four independent sums so that the additions do not wait on each
/// other's loads.
#[inline]
fn row_sum<C: PathCount>(row: &[NodeIx], x: &[C]) -> f64 {
    let mut s = [0.0; 4];
    let mut quads = row.chunks_exact(4);
    for q in &mut quads {
        s[0] += x[q[0] as usize].get();
        s[1] += x[q[1] as usize].get();
        s[2] += x[q[2] as usize].get();
        s[3] += x[q[3] as usize].get();
    }
    for (i, &v) in quads.remainder().iter().enumerate() {
        s[i] += x[v as usize].get();
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// A level of fewer than `n / SPARSE_LEVEL` nodes has its rows copied out before a pass reads
/// them (a denser level's rows lie close enough for the processor's own prefetching).
const SPARSE_LEVEL: usize = 8;

/// Rows of nodes scattered through the graph, copied into one buffer by a loop that only moves
/// memory. Rows of a sparse set of nodes lie apart and each costs a trip to memory; a loop whose
/// branches wait on a row's contents cannot start fetching the next row before the last one has
/// arrived, while a plain copy has many rows on their way at once.
///
/// Each row is moved in whole spans of [`COPY_SPAN`] entries, whatever its length, so that most
/// rows are one fixed-size move with no call and no branch on the length; the buffer and the
/// graph's entries both have a span of room at their ends.
#[derive(Default)]
struct CopiedRows {
    /// The rows back to back from 0, then whatever the last spans left; `ends` says where.
    buffer: Vec<NodeIx>,
    ends: Vec<usize>,
}

/// Entries a [`CopiedRows`] moves at a time: 64 bytes, more than most rows hold.
const COPY_SPAN: usize = 16;

impl CopiedRows {
    fn fill(&mut self, g: &Rows, nodes: &[NodeIx]) {
        self.ends.clear();
        let mut len = 0;
        for &u in nodes {
            let (start, end) = g.span(u);
            let row = end - start;
            if self.buffer.len() < len + row + COPY_SPAN {
                let room = (len + row + COPY_SPAN).max(2 * self.buffer.len());
                self.buffer.resize(room, 0);
            }
            let mut done = 0;
            loop {
                let (from, to) = (start + done, len + done);
                self.buffer[to..to + COPY_SPAN].copy_from_slice(&g.targets[from..from + COPY_SPAN]);
                done += COPY_SPAN;
                if done >= row {
                    break;
                }
            }
            len += row;
            self.ends.push(len);
        }
    }

    /// Entries copied in all.
    fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The copied rows, in the order of the nodes given to [`CopiedRows::fill`].
    fn rows(&self) -> impl Iterator<Item = &[NodeIx]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let row = &self.buffer[start..end];
            start = end;
            row
        })
    }
}

fn bit(v: NodeIx) -> (usize, u64) {
    (v as usize / 64, 1u64 << (v % 64))
}

/// Node `v`'s bit of a bitmap, as the number 0 or 1 (see [`PathCount::times`]).
fn bit_of(bits: &[u64], v: NodeIx) -> u64 {
    (bits[v as usize / 64] >> (v % 64)) & 1
}

/// One search's buffers, allocated once per thread and cleared after each source for the nodes
/// it reached only (or wholesale when it reached most of them).
struct Workspace<C> {
    tuning: Tuning,
    /// The one per-node array searched at random, so that it alone competes for the cache.
    /// Forward: shortest paths from the source (`sigma`), 0 for a node not reached (yet).
    /// Backward: `(1 + delta) / sigma` of the nodes of the levels below the one being summed,
    /// 0 elsewhere.
    sigma: Vec<C>,
    /// `sigma` of `order[i]` at `i`, kept for the backward pass.
    sigma_at: Vec<C>,
    /// Reached nodes, one bit each (small enough to stay in cache).
    seen: Vec<u64>,
    /// Forward: nodes found by the top-down level under way. Backward: the nodes of the level
    /// being summed, while it is pushed to. All clear between levels.
    marked: Vec<u64>,
    /// Reached nodes level by level; level `d` is `order[level_at[d]..level_at[d + 1]]`, and
    /// its rows hold `entries[d]` entries.
    order: Vec<NodeIx>,
    level_at: Vec<usize>,
    entries: Vec<usize>,
    /// Candidates for bottom-up levels: nodes not reached when the first one began, in index
    /// order (reached ones are dropped as they are met).
    unreached: Vec<NodeIx>,
    unreached_ready: bool,
    /// Per node of one level: its path count found bottom-up, or its sum of `coef` backward.
    scratch: Vec<f64>,
    /// The rows of the level a pass is reading, where they lie apart.
    copied: CopiedRows,
    /// The path counts of a top-down frontier, in its order.
    frontier_sigma: Vec<C>,
}

impl<C: PathCount> Workspace<C> {
    fn new(n: usize, tuning: Tuning) -> Self {
        Workspace {
            tuning,
            sigma: vec![C::default(); n],
            sigma_at: Vec::with_capacity(n),
            seen: vec![0; n.div_ceil(64)],
            marked: vec![0; n.div_ceil(64)],
            order: Vec::with_capacity(n),
            level_at: Vec::new(),
            entries: Vec::new(),
            unreached: Vec::new(),
            unreached_ready: false,
            scratch: Vec::new(),
            copied: CopiedRows::default(),
            frontier_sigma: Vec::new(),
        }
    }

    fn is_seen(&self, v: NodeIx) -> bool {
        let (word, bit) = bit(v);
        self.seen[word] & bit != 0
    }

    fn mark_seen(&mut self, v: NodeIx) {
        let (word, bit) = bit(v);
        self.seen[word] |= bit;
    }

    /// One source's breadth-first search and dependency accumulation (Brandes), adding each
    /// node's dependency on `s` to `acc`. Returns false, with `acc` untouched and the workspace
    /// clear, when the path counts outgrow `C` (see [`PathCount::LIMIT`]).
    ///
    /// Forward, level by level, counting shortest paths `sigma`. Top-down, each frontier node
    /// adds its count to its unreached neighbours; bottom-up, each unreached node sums `sigma`
    /// over its row — its reached neighbours are all on the frontier, as a breadth-first search
    /// never skips a level, and the counts of nodes found in the same level are written only
    /// after the sweep.
    ///
    /// Backward, deepest level first: a node's dependency is `sigma[w] * Σ (1 + delta[v]) /
    /// sigma[v]` over its neighbours `v` one level down. With `coef[v] = (1 + delta[v]) /
    /// sigma[v]` set for the levels below and 0 for every shallower node, that is `sigma[w]`
    /// times the plain sum of `coef` over `w`'s row (pulled): no distances, no successor lists.
    /// Or, when the level below is much thinner, each of its nodes adds its `coef` to its
    /// neighbours of the level (pushed). A level's sums are all taken before its own `coef`
    /// values are written, since nodes of one level may be neighbours.
    fn accumulate(&mut self, g: &Rows, s: NodeIx, acc: &mut [f64]) -> bool {
        self.forward(g, s);
        let n = self.sigma.len();
        // `level_at` now holds each level's start and, last, the end of the deepest.
        let levels = self.level_at.len() - 1;

        // Keep sigma by position and clear the array for the coefficients.
        self.sigma_at.clear();
        let sigma = &self.sigma;
        self.sigma_at
            .extend(self.order.iter().map(|&w| sigma[w as usize]));
        self.clear_reached(n);
        self.seen.fill(0);
        if self
            .sigma_at
            .iter()
            .any(|x| x.get() > C::LIMIT || x.get().is_nan())
        {
            return false;
        }
        for d in (1..levels).rev() {
            let (lo, hi) = (self.level_at[d], self.level_at[d + 1]);
            self.scratch.clear();
            if d + 1 == levels {
                // The deepest level has nothing below it.
                self.scratch.resize(hi - lo, 0.0);
            } else if self.entries[d + 1].saturating_mul(self.tuning.push_back_factor)
                < self.entries[d]
            {
                self.push_back(g, d);
            } else if hi - lo < n / SPARSE_LEVEL {
                self.copied.fill(g, &self.order[lo..hi]);
                let coef = &self.sigma;
                self.scratch
                    .extend(self.copied.rows().map(|row| row_sum(row, coef)));
            } else {
                let coef = &self.sigma;
                self.scratch
                    .extend(self.order[lo..hi].iter().map(|&w| row_sum(g.row(w), coef)));
            }
            for ((&w, &sum), &sw) in self.order[lo..hi]
                .iter()
                .zip(&self.scratch)
                .zip(&self.sigma_at[lo..hi])
            {
                let sw = sw.get();
                let delta = sw * sum;
                self.sigma[w as usize] = C::of((1.0 + delta) / sw);
                acc[w as usize] += delta;
            }
        }
        self.clear_reached(n);
        true
    }

    /// Finds the levels from `s`, filling `order`, `level_at`, `entries` and `sigma`.
    fn forward(&mut self, g: &Rows, s: NodeIx) {
        self.order.clear();
        self.level_at.clear();
        self.entries.clear();
        self.unreached_ready = false;
        self.sigma[s as usize] = C::of(1.0);
        self.mark_seen(s);
        self.order.push(s);
        self.level_at.push(0);
        let mut frontier_entries = g.degree(s);
        let mut unreached_entries = g.entries() - frontier_entries;
        loop {
            self.entries.push(frontier_entries);
            let lo = *self.level_at.last().unwrap_or(&0);
            let hi = self.order.len();
            if lo == hi {
                break;
            }
            self.level_at.push(hi);
            let next_entries = if unreached_entries
                < self
                    .tuning
                    .bottom_up_factor
                    .saturating_mul(frontier_entries)
            {
                self.bottom_up(g)
            } else {
                self.top_down(g, lo, hi)
            };
            unreached_entries -= next_entries;
            frontier_entries = next_entries;
        }
    }

    /// Sums, for each node of level `d`, the coefficients of its neighbours one level down by
    /// letting each of those add its coefficient to its marked neighbours; leaves the sums in
    /// `scratch` and `marked` clear.
    fn push_back(&mut self, g: &Rows, d: usize) {
        let (lo, hi) = (self.level_at[d], self.level_at[d + 1]);
        let below = hi..self.level_at[d + 2];
        for &w in &self.order[lo..hi] {
            let (word, bit) = bit(w);
            self.marked[word] |= bit;
        }
        // Level `d`'s own coefficients are still 0, so its sums build up in place.
        self.copied.fill(g, &self.order[below.clone()]);
        let (sigma, marked) = (&mut self.sigma[..], &self.marked[..]);
        for (row, &v) in self.copied.rows().zip(&self.order[below]) {
            let cv = sigma[v as usize];
            for &w in row {
                // Masked rather than branched on (see `top_down`): adding nothing to a node of
                // another level leaves its coefficient as it was.
                sigma[w as usize] += cv.times(bit_of(marked, w));
            }
        }
        let sigma = &self.sigma;
        self.scratch
            .extend(self.order[lo..hi].iter().map(|&w| sigma[w as usize].get()));
        for &w in &self.order[lo..hi] {
            self.marked[w as usize / 64] = 0;
        }
    }

    /// Zeroes `sigma` for the nodes in `order`, or wholesale when they are many.
    fn clear_reached(&mut self, n: usize) {
        if self.order.len() > n / 8 {
            self.sigma.fill(C::default());
        } else {
            for &w in &self.order {
                self.sigma[w as usize] = C::default();
            }
        }
    }

    /// Appends the next level from the frontier `order[lo..hi]`, pushing from each frontier
    /// node; returns the next level's row entries. The level is left in index order, as
    /// bottom-up levels are, so the backward pass meets its rows in memory order.
    /// The frontier's rows are copied out first ([`CopiedRows`]).
    fn top_down(&mut self, g: &Rows, lo: usize, hi: usize) -> usize {
        self.copied.fill(g, &self.order[lo..hi]);
        self.frontier_sigma.clear();
        let sigma = &self.sigma;
        self.frontier_sigma
            .extend(self.order[lo..hi].iter().map(|&u| sigma[u as usize]));
        if self.copied.len() > self.marked.len() {
            // Many entries: every one is marked and adds its count, masked to nothing for a node
            // already reached, with no branch on the bitmaps (a mispredicted branch would throw
            // away the random reads in flight behind it). The level is then read back from the
            // bits marked and not yet seen, in index order.
            let (sigma, seen, marked) = (&mut self.sigma[..], &self.seen[..], &mut self.marked[..]);
            for (row, &su) in self.copied.rows().zip(&self.frontier_sigma) {
                for &v in row {
                    let (word, bit) = bit(v);
                    marked[word] |= bit;
                    sigma[v as usize] += su.times(bit_of(seen, v) ^ 1);
                }
            }
            for (word, (m, s)) in self.marked.iter_mut().zip(self.seen.iter_mut()).enumerate() {
                let mut bits = *m & !*s;
                *s |= bits;
                *m = 0;
                while bits != 0 {
                    self.order
                        .push((word * 64) as NodeIx + bits.trailing_zeros());
                    bits &= bits - 1;
                }
            }
        } else {
            // Few: a bitmap sweep would cost more than the entries, so new nodes are listed
            // as they are found.
            for (row, &su) in self.copied.rows().zip(&self.frontier_sigma) {
                for &v in row {
                    let (word, bit) = bit(v);
                    if self.seen[word] & bit == 0 {
                        if self.marked[word] & bit == 0 {
                            self.marked[word] |= bit;
                            self.order.push(v);
                        }
                        self.sigma[v as usize] += su;
                    }
                }
            }
            self.order[hi..].sort_unstable();
            for i in hi..self.order.len() {
                let v = self.order[i];
                self.mark_seen(v);
                self.marked[v as usize / 64] = 0;
            }
        }
        // Counted here, in index order, rather than at each discovery.
        self.order[hi..].iter().map(|&v| g.degree(v)).sum()
    }

    /// Appends the next level by letting every unreached node sum the path counts of its
    /// neighbours (only frontier nodes have any); returns the next level's row entries.
    fn bottom_up(&mut self, g: &Rows) -> usize {
        if !self.unreached_ready {
            // Word by word: a test per node would be a branch the processor cannot guess.
            let n = self.sigma.len();
            self.unreached.clear();
            for (word, &seen) in self.seen.iter().enumerate() {
                let mut bits = !seen;
                if (word + 1) * 64 > n {
                    bits &= (1u64 << (n % 64)) - 1;
                }
                while bits != 0 {
                    self.unreached
                        .push((word * 64) as NodeIx + bits.trailing_zeros());
                    bits &= bits - 1;
                }
            }
            self.unreached_ready = true;
        }
        let start = self.order.len();
        self.scratch.clear();
        let mut entries = 0;
        let mut kept = 0;
        for j in 0..self.unreached.len() {
            let v = self.unreached[j];
            if self.is_seen(v) {
                continue;
            }
            let row = g.row(v);
            let sum = row_sum(row, &self.sigma);
            if sum > 0.0 {
                self.order.push(v);
                self.scratch.push(sum);
                entries += row.len();
            } else {
                self.unreached[kept] = v;
                kept += 1;
            }
        }
        self.unreached.truncate(kept);
        for k in 0..self.scratch.len() {
            let v = self.order[start + k];
            self.sigma[v as usize] = C::of(self.scratch[k]);
            self.mark_seen(v);
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: u32) -> Csr {
        let e: Vec<_> = (0..n - 1).map(|i| (i, i + 1, 1.0)).collect();
        Csr::from_undirected(n as usize, &e).unwrap()
    }

    #[test]
    fn path_betweenness_matches_the_closed_form() {
        let n = 9u32;
        let b = betweenness(&path(n), false).unwrap();
        for i in 0..n {
            assert_eq!(b[i as usize], (i * (n - 1 - i)) as f64, "node {i}");
        }
    }

    #[test]
    fn cycle_betweenness_counts_split_paths_by_halves() {
        // In a 4-cycle each node lies on one of the two shortest paths between its neighbours.
        let g =
            Csr::from_undirected(4, &[(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0)]).unwrap();
        assert_eq!(betweenness(&g, false).unwrap(), vec![0.5; 4]);
    }

    #[test]
    fn sampled_with_every_pivot_equals_exact_and_is_seeded() {
        let e: Vec<_> = (0..40u32)
            .flat_map(|i| [(i, (i * 7 + 3) % 40, 1.0), (i, (i + 1) % 40, 1.0)])
            .filter(|(a, b, _)| a != b)
            .collect();
        let g = Csr::from_undirected(40, &e).unwrap();
        let exact = betweenness(&g, false).unwrap();
        let all = betweenness_sampled(&g, 40, 9, false).unwrap();
        for (a, b) in exact.iter().zip(&all) {
            assert!((a - b).abs() < 1e-9);
        }
        let s1 = betweenness_sampled(&g, 10, 5, false).unwrap();
        let s2 = betweenness_sampled(&g, 10, 5, false).unwrap();
        let s3 = betweenness_sampled(&g, 10, 6, false).unwrap();
        assert_eq!(s1, s2);
        assert_ne!(s1, s3);
        assert!(betweenness_sampled(&g, 0, 1, false).is_err());
        assert!(betweenness_sampled(&g, 41, 1, false).is_err());
    }

    /// Distances and shortest-path counts from `s` by a plain breadth-first search.
    fn bfs_counts(g: &Csr, s: NodeIx) -> (Vec<Option<u32>>, Vec<f64>) {
        let n = g.node_count();
        let mut dist = vec![None; n];
        let mut sigma = vec![0.0; n];
        dist[s as usize] = Some(0);
        sigma[s as usize] = 1.0;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            let du = dist[u as usize].unwrap();
            for &v in g.neighbors(u).iter().filter(|&&v| v != u) {
                if dist[v as usize].is_none() {
                    dist[v as usize] = Some(du + 1);
                    queue.push_back(v);
                }
                if dist[v as usize] == Some(du + 1) {
                    sigma[v as usize] += sigma[u as usize];
                }
            }
        }
        (dist, sigma)
    }

    /// The definition, pair by pair: the share of the shortest `s`–`t` paths through `v`, summed
    /// over sources `s` and all targets `t` (each pair once from each of its ends when every
    /// node is a source), with no search shortcuts.
    fn brute_force(g: &Csr, sources: &[NodeIx]) -> Vec<f64> {
        let n = g.node_count();
        let all: Vec<_> = (0..n as NodeIx).map(|u| bfs_counts(g, u)).collect();
        let mut acc = vec![0.0; n];
        for &s in sources {
            let (ds, ss) = &all[s as usize];
            for t in 0..n {
                let Some(dst) = ds[t] else { continue };
                if t == s as usize {
                    continue;
                }
                for v in 0..n {
                    if v == t || v == s as usize {
                        continue;
                    }
                    let (dv, sv) = &all[v];
                    if let (Some(a), Some(b)) = (ds[v], dv[t])
                        && a + b == dst
                    {
                        acc[v] += ss[v] * sv[t] / ss[t];
                    }
                }
            }
        }
        acc
    }

    /// A random graph of `n` nodes: groups of 10 with most ties inside, some across, a few
    /// isolated nodes, so searches meet both small and large levels and unreached parts.
    fn random_graph(n: u32, links: usize, seed: u64) -> Csr {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let live = n - n / 20;
        let e: Vec<_> = (0..links)
            .map(|_| {
                let a = rng.random_range(0..live);
                let b = if rng.random_bool(0.7) {
                    (a / 10 * 10 + rng.random_range(0..10)).min(live - 1)
                } else {
                    rng.random_range(0..live)
                };
                (a, b, 1.0)
            })
            .filter(|(a, b, _)| a != b)
            .collect();
        Csr::from_undirected(n as usize, &e).unwrap()
    }

    fn assert_within(a: &[f64], b: &[f64], tolerance: f64, what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tolerance * x.abs().max(1.0),
                "{what}: node {i}: {x} vs {y}"
            );
        }
    }

    fn assert_close(a: &[f64], b: &[f64], what: &str) {
        assert_within(a, b, 1e-9, what);
    }

    /// What single-precision counts are held to against the definition.
    const SINGLE: f64 = 1e-5;

    /// Every direction choice: always top-down, always bottom-up after the first level, the
    /// defaults, and each backward choice forced both ways.
    fn tunings() -> Vec<Tuning> {
        let mut all = vec![Tuning::DEFAULT];
        for bottom_up_factor in [0, 1, usize::MAX] {
            for push_back_factor in [0, 1, usize::MAX] {
                all.push(Tuning {
                    bottom_up_factor,
                    push_back_factor,
                });
            }
        }
        all
    }

    #[test]
    fn brandes_matches_the_definition_in_every_direction_and_precision() {
        for (n, links, seed) in [(60, 90, 1), (120, 400, 2), (200, 300, 3), (150, 1500, 4)] {
            let g = random_graph(n, links, seed);
            let all: Vec<NodeIx> = (0..n).collect();
            let some = draw_pivots(n as usize, 17, seed);
            for sources in [&all[..], &some[..]] {
                let want = brute_force(&g, sources);
                for tuning in tunings() {
                    let got = brandes::<f64>(&g, sources, tuning).unwrap();
                    assert_close(&got, &want, &format!("n {n} {tuning:?}"));
                    let single = brandes::<f32>(&g, sources, tuning).unwrap();
                    assert_within(&single, &want, SINGLE, &format!("f32 n {n} {tuning:?}"));
                }
            }
        }
    }

    #[test]
    fn sampled_betweenness_is_the_scaled_sum_over_its_pivots() {
        let n = 300;
        let g = random_graph(n, 900, 8);
        let got = betweenness_sampled(&g, 40, 5, false).unwrap();
        let mut want = brute_force(&g, &draw_pivots(n as usize, 40, 5));
        want.iter_mut().for_each(|x| *x *= n as f64 / 40.0 / 2.0);
        assert_within(&got, &want, SINGLE, "sampled");
        assert!(got.iter().any(|&x| x > 0.0));
    }

    #[test]
    fn brandes_equals_the_previous_implementation() {
        // The search before the gather form, kept here as a second reference on a graph too
        // large for the pair-by-pair definition.
        let g = random_graph(5000, 20000, 11);
        let sources = draw_pivots(5000, 64, 3);
        let want = previous::brandes(&g, &sources);
        assert_close(
            &brandes::<f64>(&g, &sources, Tuning::DEFAULT).unwrap(),
            &want,
            "previous",
        );
        assert_within(
            &brandes::<f32>(&g, &sources, Tuning::DEFAULT).unwrap(),
            &want,
            SINGLE,
            "previous, single precision",
        );
        assert!(want.iter().filter(|&&x| x > 0.0).count() > 1000);
    }

    /// The implementation this one replaced (breadth-first search with a queue, recorded
    /// successors and per-node state records), on the caller's numbering.
    mod previous {
        use crate::csr::{Csr, NodeIx};

        #[derive(Clone, Copy)]
        struct State {
            dist: u32,
            sigma: f64,
            delta: f64,
        }

        const UNSEEN: State = State {
            dist: u32::MAX,
            sigma: 0.0,
            delta: 0.0,
        };

        pub fn brandes(g: &Csr, sources: &[NodeIx]) -> Vec<f64> {
            let n = g.node_count();
            let mut acc = vec![0.0; n];
            let mut state = vec![UNSEEN; n];
            let (mut order, mut succ, mut succ_at) = (Vec::new(), Vec::new(), Vec::new());
            for &s in sources {
                order.clear();
                succ.clear();
                succ_at.clear();
                state[s as usize] = State {
                    dist: 0,
                    sigma: 1.0,
                    delta: 0.0,
                };
                order.push(s);
                let mut head = 0;
                while head < order.len() {
                    let u = order[head];
                    head += 1;
                    succ_at.push(succ.len());
                    let (du, su) = (state[u as usize].dist, state[u as usize].sigma);
                    for &v in g.neighbors(u).iter().filter(|&&v| v != u) {
                        let sv = &mut state[v as usize];
                        if sv.dist == u32::MAX {
                            sv.dist = du + 1;
                            order.push(v);
                        }
                        if sv.dist == du + 1 {
                            sv.sigma += su;
                            succ.push(v);
                        }
                    }
                }
                succ_at.push(succ.len());
                for i in (0..order.len()).rev() {
                    let w = order[i];
                    let sw = state[w as usize].sigma;
                    let mut d = 0.0;
                    for &v in &succ[succ_at[i]..succ_at[i + 1]] {
                        let sv = state[v as usize];
                        d += sw / sv.sigma * (1.0 + sv.delta);
                    }
                    state[w as usize].delta = d;
                    if w != s {
                        acc[w as usize] += d;
                    }
                }
                for &w in &order {
                    state[w as usize] = UNSEEN;
                }
            }
            acc
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn brandes_matches_the_definition_on_any_small_graph(
            n in 2u32..30,
            raw in proptest::collection::vec((0u32..30, 0u32..30), 0..90),
            bottom_up_factor in proptest::prop_oneof![proptest::strategy::Just(0usize), 1usize..8, proptest::strategy::Just(usize::MAX)],
            push_back_factor in proptest::prop_oneof![proptest::strategy::Just(0usize), 1usize..8, proptest::strategy::Just(usize::MAX)],
        ) {
            let e: Vec<_> = raw.into_iter().map(|(a, b)| (a % n, b % n, 1.0)).collect();
            let g = Csr::from_undirected(n as usize, &e).unwrap();
            let all: Vec<NodeIx> = (0..n).collect();
            let tuning = Tuning { bottom_up_factor, push_back_factor };
            let got = brandes::<f64>(&g, &all, tuning).unwrap();
            let want = brute_force(&g, &all);
            for (x, y) in got.iter().zip(&want) {
                proptest::prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{} vs {}", x, y);
            }
            let single = brandes::<f32>(&g, &all, tuning).unwrap();
            for (x, y) in single.iter().zip(&want) {
                proptest::prop_assert!((x - y).abs() <= SINGLE * x.abs().max(1.0), "{} vs {}", x, y);
            }
        }
    }

    /// `k` diamonds in a row: 2^k shortest paths from one end to the other.
    fn diamond_chain(k: u32) -> Csr {
        let e: Vec<_> = (0..k)
            .flat_map(|i| {
                let (c, a, b, next) = (3 * i, 3 * i + 1, 3 * i + 2, 3 * i + 3);
                [(c, a, 1.0), (c, b, 1.0), (a, next, 1.0), (b, next, 1.0)]
            })
            .collect();
        Csr::from_undirected(3 * k as usize + 1, &e).unwrap()
    }

    #[test]
    fn counts_beyond_single_precision_are_searched_again_in_double() {
        // 2^110 paths from one end: past the f32 limit, not past f64's.
        let g = diamond_chain(110);
        let n = g.node_count() as NodeIx;
        let ends = [0, n - 1];
        let want = brandes::<f64>(&g, &ends, Tuning::DEFAULT).unwrap();
        let got = brandes::<f32>(&g, &ends, Tuning::DEFAULT).unwrap();
        assert!(got.iter().all(|x| x.is_finite()));
        // Redone in double precision, so equal to it, not merely close.
        assert_eq!(got, want);
        // Every inner node lies on half the end-to-end paths or all of them.
        assert!(want[1..n as usize - 1].iter().all(|&x| x >= 0.5));
        // A source in the middle stays in single precision (2^55 paths each way) and still
        // agrees.
        let mid = [3 * 55];
        assert_within(
            &brandes::<f32>(&g, &mid, Tuning::DEFAULT).unwrap(),
            &brandes::<f64>(&g, &mid, Tuning::DEFAULT).unwrap(),
            SINGLE,
            "middle",
        );
    }
}
