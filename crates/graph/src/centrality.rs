//! Degree statistics, PageRank and betweenness.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};

/// Degrees of the simple graph and the whole-network figures derived from them.
#[derive(Clone, Debug, PartialEq)]
pub struct DegreeStats {
    /// Distinct neighbours of each node (self-loops not counted).
    pub degrees: Vec<usize>,
    pub max_degree: usize,
    pub mean_degree: f64,
    /// Links over possible links, `2L / (n (n - 1))`; `None` below two nodes.
    pub density: Option<f64>,
    /// Freeman degree centralization `sum(max - d_i) / ((n - 1)(n - 2))`, in [0, 1] (1 for a
    /// star); `None` below three nodes.
    pub centralization: Option<f64>,
}

/// Degree statistics.
pub fn degree_stats(g: &Csr) -> Result<DegreeStats> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("degree statistics need a node"));
    }
    let degrees: Vec<usize> = (0..n as NodeIx).map(|u| g.degree(u)).collect();
    let max_degree = degrees.iter().copied().max().unwrap_or(0);
    let sum: usize = degrees.iter().sum();
    let nf = n as f64;
    let density = (n >= 2).then(|| sum as f64 / (nf * (nf - 1.0)));
    let centralization = (n >= 3).then(|| {
        let spread: usize = degrees.iter().map(|&d| max_degree - d).sum();
        spread as f64 / ((nf - 1.0) * (nf - 2.0))
    });
    Ok(DegreeStats {
        mean_degree: sum as f64 / nf,
        degrees,
        max_degree,
        density,
        centralization,
    })
}

/// PageRank settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageRankConfig {
    /// Probability of following a link rather than jumping (0.85 by convention).
    pub damping: f64,
    /// Stop when the L1 change between iterations falls below this.
    pub tolerance: f64,
    pub max_iterations: usize,
    /// Follow links in proportion to their weight rather than uniformly.
    pub weighted: bool,
}

impl Default for PageRankConfig {
    fn default() -> Self {
        PageRankConfig {
            damping: 0.85,
            tolerance: 1e-10,
            max_iterations: 200,
            weighted: true,
        }
    }
}

/// PageRank scores (summing to 1) and how the iteration ended.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRank {
    pub scores: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// PageRank by power iteration. Nodes without links ("dangling") spread their score uniformly,
/// so no mass leaks and the scores stay a probability distribution.
///
/// Each iteration pulls: a node sums `weight × score / out-weight` over its row (the graph is
/// undirected, so its row lists exactly the nodes linking to it), in parallel over fixed blocks
/// of nodes whose partial sums (the dangling mass, the change) are added in block order, so the
/// result does not depend on the thread count. Weights that are all 1 are not read at all, and
/// weights that are whole numbers below 2^24 (counts of parallel edges) are read as `f32`,
/// which holds them exactly: same products, a third less memory traffic.
pub fn pagerank(g: &Csr, cfg: &PageRankConfig) -> Result<PageRank> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("PageRank needs a node"));
    }
    if !(0.0..1.0).contains(&cfg.damping) {
        return Err(GraphError::InvalidParameter {
            name: "damping",
            reason: format!("{} is not in [0, 1)", cfg.damping),
        });
    }
    let weights = if cfg.weighted {
        RowWeights::of(g)
    } else {
        RowWeights::Ones
    };
    let nf = n as f64;
    let out: Vec<f64> = (0..n as NodeIx)
        .into_par_iter()
        .map(|u| {
            if cfg.weighted {
                g.weights(u).iter().sum()
            } else {
                g.neighbors(u).len() as f64
            }
        })
        .collect();
    let mut pr = vec![1.0 / nf; n];
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < cfg.max_iterations {
        iterations += 1;
        let dangling: f64 = share
            .par_chunks_mut(PR_BLOCK)
            .zip(pr.par_chunks(PR_BLOCK).zip(out.par_chunks(PR_BLOCK)))
            .map(|(s, (p, o))| {
                let mut dangling = 0.0;
                for ((s, &p), &o) in s.iter_mut().zip(p).zip(o) {
                    if o > 0.0 {
                        *s = p / o;
                    } else {
                        *s = 0.0;
                        dangling += p;
                    }
                }
                dangling
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        let base = (1.0 - cfg.damping) / nf + cfg.damping * dangling / nf;
        let delta: f64 = next
            .par_chunks_mut(PR_BLOCK)
            .zip(pr.par_chunks(PR_BLOCK))
            .enumerate()
            .map(|(b, (next, pr))| {
                let first = (b * PR_BLOCK) as NodeIx;
                let mut delta = 0.0;
                for (i, (x, &p)) in next.iter_mut().zip(pr).enumerate() {
                    let v = first + i as NodeIx;
                    *x = base + cfg.damping * weights.inflow(g, v, &share);
                    delta += (*x - p).abs();
                }
                delta
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        std::mem::swap(&mut pr, &mut next);
        if delta < cfg.tolerance {
            converged = true;
            break;
        }
    }
    let total: f64 = pr.iter().sum();
    pr.iter_mut().for_each(|p| *p /= total);
    Ok(PageRank {
        scores: pr,
        iterations,
        converged,
    })
}

/// Nodes per block of a PageRank iteration: the unit of parallel work and of the partial sums.
const PR_BLOCK: usize = 1 << 14;

/// How a PageRank iteration reads link weights.
enum RowWeights<'a> {
    /// Every weight is 1 (or weights are ignored).
    Ones,
    /// Whole numbers below 2^24, held exactly in `f32`.
    Small(Vec<f32>),
    Any(&'a Csr),
}

impl<'a> RowWeights<'a> {
    fn of(g: &'a Csr) -> Self {
        let all = (0..g.node_count() as NodeIx).flat_map(|u| g.weights(u).iter());
        let mut ones = true;
        let mut small = true;
        for &w in all {
            ones &= w == 1.0;
            small &= w.fract() == 0.0 && (0.0..16_777_216.0).contains(&w);
            if !small {
                break;
            }
        }
        if ones {
            RowWeights::Ones
        } else if small {
            RowWeights::Small(
                (0..g.node_count() as NodeIx)
                    .flat_map(|u| g.weights(u).iter().map(|&w| w as f32))
                    .collect(),
            )
        } else {
            RowWeights::Any(g)
        }
    }

    /// `Σ w(u, v) × share[u]` over `v`'s row, in row order.
    #[inline]
    fn inflow(&self, g: &Csr, v: NodeIx, share: &[f64]) -> f64 {
        let row = g.neighbors(v);
        match self {
            RowWeights::Ones => row.iter().map(|&u| share[u as usize]).sum(),
            RowWeights::Small(w) => {
                let at = g.row_start(v);
                row.iter()
                    .zip(&w[at..at + row.len()])
                    .map(|(&u, &w)| f64::from(w) * share[u as usize])
                    .sum()
            }
            RowWeights::Any(g) => g.edges(v).map(|(u, w)| w * share[u as usize]).sum(),
        }
    }
}

/// Exact betweenness centrality (Brandes 2001) on the unweighted simple graph: for each node, the
/// number of shortest paths between other pairs that pass through it, each unordered pair
/// counted once. `normalized` divides by the number of pairs `(n - 1)(n - 2) / 2`.
pub fn betweenness(g: &Csr, normalized: bool) -> Result<Vec<f64>> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("betweenness needs a node"));
    }
    let sources: Vec<NodeIx> = (0..n as NodeIx).collect();
    Ok(finish(brandes(g, &sources), n, 1.0, normalized))
}

/// Betweenness estimated from `pivots` source nodes drawn without replacement with a seeded
/// generator, scaled by `n / pivots` (Brandes and Pich 2007). With every node as a pivot it
/// equals [`betweenness`].
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
    Ok(finish(
        brandes(g, &sources),
        n,
        n as f64 / pivots as f64,
        normalized,
    ))
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

/// Sum of dependencies over the given sources. Sources are cut into a fixed number of chunks
/// summed in chunk order, so the result does not depend on the thread count or scheduling.
///
/// Large sparse graphs are memory-bound here: each source touches every node's state and every
/// adjacency entry. So the graph is first renumbered in breadth-first order (nodes met together
/// sit together in memory), and each search (see [`Workspace::accumulate`]) is written as
/// gathers: a node sums a value over its row, reading its neighbours' entries in a
/// branch-free loop whose loads the processor overlaps, instead of pushing updates to them.
fn brandes(g: &Csr, sources: &[NodeIx]) -> Vec<f64> {
    brandes_with(g, sources, BOTTOM_UP_FACTOR)
}

/// [`brandes`] with the direction switch as a parameter (0: always top-down; `usize::MAX`:
/// bottom-up from the second level), so tests can check both kinds of level.
fn brandes_with(g: &Csr, sources: &[NodeIx], bottom_up_factor: usize) -> Vec<f64> {
    const CHUNKS: usize = 16;
    let n = g.node_count();
    let (local, new_of) = bfs_renumbered(g);
    let per = sources.len().div_ceil(CHUNKS).max(1);
    let partials: Vec<Vec<f64>> = sources
        .par_chunks(per)
        .map_init(
            // A search leaves its workspace clear, so one serves every chunk a thread takes.
            || Workspace::new(n, bottom_up_factor),
            |ws, chunk| {
                let mut acc = vec![0.0; n];
                for &s in chunk {
                    ws.accumulate(&local, new_of[s as usize], &mut acc);
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
    (0..n).map(|u| total[new_of[u] as usize]).collect()
}

/// Neighbour lists only (weights play no part in hop counts), renumbered in breadth-first order
/// from the highest-degree node of each component; returns them with each old node's new index.
fn bfs_renumbered(g: &Csr) -> (Rows, Vec<NodeIx>) {
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
    offsets.push(0usize);
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
        offsets.push(targets.len());
    }
    (Rows { offsets, targets }, new_of)
}

/// Plain adjacency rows without weights or self-loops.
struct Rows {
    offsets: Vec<usize>,
    targets: Vec<NodeIx>,
}

impl Rows {
    fn row(&self, u: NodeIx) -> &[NodeIx] {
        &self.targets[self.offsets[u as usize]..self.offsets[u as usize + 1]]
    }

    fn degree(&self, u: NodeIx) -> usize {
        self.offsets[u as usize + 1] - self.offsets[u as usize]
    }
}

/// A level is searched bottom-up (each unreached node sums its neighbours' path counts) rather
/// than top-down (each frontier node adds its count to its neighbours) when the rows still to
/// scan bottom-up hold fewer than this many times the frontier's entries: a bottom-up entry is
/// a read in a branch-free sum over a row met in memory order, several times cheaper than a
/// top-down entry's test-and-write at a random place.
const BOTTOM_UP_FACTOR: usize = 4;

/// `Σ x[v]` over a row, in four independent sums so that the additions do not wait on each
/// other's loads.
#[inline]
fn row_sum(row: &[NodeIx], x: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let mut quads = row.chunks_exact(4);
    for q in &mut quads {
        s[0] += x[q[0] as usize];
        s[1] += x[q[1] as usize];
        s[2] += x[q[2] as usize];
        s[3] += x[q[3] as usize];
    }
    for (i, &v) in quads.remainder().iter().enumerate() {
        s[i] += x[v as usize];
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// One search's buffers, allocated once per thread and cleared after each source for the nodes
/// it reached only (or wholesale when it reached most of them).
struct Workspace {
    /// The one per-node array searched at random, so that it alone competes for the cache.
    /// Forward: shortest paths from the source (`sigma`), 0 for a node not reached (yet).
    /// Backward: `(1 + delta) / sigma` of the nodes of the level below the one being summed,
    /// 0 elsewhere.
    sigma: Vec<f64>,
    /// `sigma` of `order[i]` at `i`, kept for the backward pass.
    sigma_at: Vec<f64>,
    /// Reached nodes, one bit each (small enough to stay in cache).
    seen: Vec<u64>,
    /// Nodes found by the top-down level under way; all clear between levels.
    fresh: Vec<u64>,
    /// Reached nodes level by level; level `d` is `order[level_at[d]..level_at[d + 1]]`.
    order: Vec<NodeIx>,
    level_at: Vec<usize>,
    /// Candidates for bottom-up levels: nodes not reached when the first one began, in index
    /// order (reached ones are dropped as they are met).
    unreached: Vec<NodeIx>,
    unreached_ready: bool,
    /// Per node of one level: its path count found bottom-up, or its sum of `coef` backward.
    scratch: Vec<f64>,
    /// See [`BOTTOM_UP_FACTOR`].
    bottom_up_factor: usize,
}

impl Workspace {
    fn new(n: usize, bottom_up_factor: usize) -> Self {
        Workspace {
            bottom_up_factor,
            sigma: vec![0.0; n],
            sigma_at: Vec::with_capacity(n),
            seen: vec![0; n.div_ceil(64)],
            fresh: vec![0; n.div_ceil(64)],
            order: Vec::with_capacity(n),
            level_at: Vec::new(),
            unreached: Vec::new(),
            unreached_ready: false,
            scratch: Vec::new(),
        }
    }

    fn is_seen(&self, v: NodeIx) -> bool {
        self.seen[v as usize / 64] & (1 << (v % 64)) != 0
    }

    fn mark_seen(&mut self, v: NodeIx) {
        self.seen[v as usize / 64] |= 1 << (v % 64);
    }

    /// One source's breadth-first search and dependency accumulation (Brandes), adding each
    /// node's dependency on `s` to `acc`.
    ///
    /// Forward, level by level, counting shortest paths `sigma`. Top-down, each frontier node
    /// adds its count to its unreached neighbours; bottom-up, each unreached node sums `sigma`
    /// over its row — its reached neighbours are all on the frontier, as a breadth-first search
    /// never skips a level, and the counts of nodes found in the same level are written only
    /// after the sweep.
    ///
    /// Backward, deepest level first: a node's dependency is `sigma[w] * Σ (1 + delta[v]) /
    /// sigma[v]` over its neighbours `v` one level down. With `coef[v] = (1 + delta[v]) /
    /// sigma[v]` set for the level below and 0 for every shallower node, that is `sigma[w]` times
    /// the plain sum of `coef` over `w`'s row: no distances, no successor lists. A level's sums
    /// are all taken before its own `coef` values are written, since nodes of one level may be
    /// neighbours.
    fn accumulate(&mut self, g: &Rows, s: NodeIx, acc: &mut [f64]) {
        let n = self.sigma.len();
        self.order.clear();
        self.level_at.clear();
        self.unreached_ready = false;
        self.sigma[s as usize] = 1.0;
        self.mark_seen(s);
        self.order.push(s);
        self.level_at.push(0);
        let mut frontier_entries = g.degree(s);
        let mut unreached_entries = g.targets.len() - frontier_entries;
        loop {
            let lo = *self.level_at.last().unwrap_or(&0);
            let hi = self.order.len();
            if lo == hi {
                break;
            }
            self.level_at.push(hi);
            let next_entries =
                if unreached_entries < self.bottom_up_factor.saturating_mul(frontier_entries) {
                    self.bottom_up(g)
                } else {
                    self.top_down(g, lo, hi)
                };
            unreached_entries -= next_entries;
            frontier_entries = next_entries;
        }
        // `level_at` now holds each level's start and, last, the end of the deepest.
        let levels = self.level_at.len() - 1;

        // Keep sigma by position and clear the array for the coefficients.
        self.sigma_at.clear();
        let sigma = &self.sigma;
        self.sigma_at
            .extend(self.order.iter().map(|&w| sigma[w as usize]));
        self.clear_reached(n);
        let coef = &mut self.sigma;
        for d in (1..levels).rev() {
            let (lo, hi) = (self.level_at[d], self.level_at[d + 1]);
            self.scratch.clear();
            if d + 1 < levels {
                let coef = &*coef;
                self.scratch
                    .extend(self.order[lo..hi].iter().map(|&w| row_sum(g.row(w), coef)));
            } else {
                // The deepest level has nothing below it.
                self.scratch.resize(hi - lo, 0.0);
            }
            for ((&w, &sum), &sw) in self.order[lo..hi]
                .iter()
                .zip(&self.scratch)
                .zip(&self.sigma_at[lo..hi])
            {
                let delta = sw * sum;
                coef[w as usize] = (1.0 + delta) / sw;
                acc[w as usize] += delta;
            }
        }
        self.clear_reached(n);
        self.seen.fill(0);
    }

    /// Zeroes `sigma` for the nodes in `order`, or wholesale when they are many.
    fn clear_reached(&mut self, n: usize) {
        if self.order.len() > n / 8 {
            self.sigma.fill(0.0);
        } else {
            for &w in &self.order {
                self.sigma[w as usize] = 0.0;
            }
        }
    }

    /// Appends the next level from the frontier `order[lo..hi]`, pushing from each frontier
    /// node; returns the next level's row entries. The level is left in index order, as
    /// bottom-up levels are, so the backward pass meets its rows in memory order.
    fn top_down(&mut self, g: &Rows, lo: usize, hi: usize) -> usize {
        for i in lo..hi {
            let u = self.order[i];
            let su = self.sigma[u as usize];
            for &v in g.row(u) {
                if !self.is_seen(v) {
                    let (word, bit) = (v as usize / 64, 1u64 << (v % 64));
                    if self.fresh[word] & bit == 0 {
                        self.fresh[word] |= bit;
                        self.order.push(v);
                    }
                    self.sigma[v as usize] += su;
                }
            }
        }
        let found = self.order.len() - hi;
        if found > self.fresh.len() {
            // Many: read the level back from its bits, in order, and move them to `seen`.
            self.order.truncate(hi);
            for (word, (f, s)) in self.fresh.iter_mut().zip(self.seen.iter_mut()).enumerate() {
                let mut bits = *f;
                while bits != 0 {
                    self.order
                        .push((word * 64) as NodeIx + bits.trailing_zeros());
                    bits &= bits - 1;
                }
                *s |= *f;
                *f = 0;
            }
        } else {
            self.order[hi..].sort_unstable();
            for i in hi..self.order.len() {
                let v = self.order[i];
                self.mark_seen(v);
                self.fresh[v as usize / 64] = 0;
            }
        }
        // Counted here, in index order, rather than at each discovery.
        self.order[hi..].iter().map(|&v| g.degree(v)).sum()
    }

    /// Appends the next level by letting every unreached node sum the path counts of its
    /// neighbours (only frontier nodes have any); returns the next level's row entries.
    fn bottom_up(&mut self, g: &Rows) -> usize {
        if !self.unreached_ready {
            let n = self.sigma.len() as NodeIx;
            self.unreached.clear();
            for v in 0..n {
                if !self.is_seen(v) {
                    self.unreached.push(v);
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
            self.sigma[v as usize] = self.scratch[k];
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

    fn star(n: u32) -> Csr {
        let e: Vec<_> = (1..n).map(|i| (0, i, 1.0)).collect();
        Csr::from_undirected(n as usize, &e).unwrap()
    }

    #[test]
    fn star_has_full_centralization_and_the_hub_all_betweenness() {
        let n = 7;
        let g = star(n);
        let d = degree_stats(&g).unwrap();
        assert_eq!(d.max_degree, 6);
        assert!((d.centralization.unwrap() - 1.0).abs() < 1e-12);
        assert!((d.density.unwrap() - 2.0 / 7.0).abs() < 1e-12);
        let b = betweenness(&g, false).unwrap();
        assert_eq!(b[0], ((n - 1) * (n - 2) / 2) as f64);
        assert!(b[1..].iter().all(|&x| x == 0.0));
        assert_eq!(betweenness(&g, true).unwrap()[0], 1.0);
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

    fn assert_close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{what}: node {i}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn brandes_matches_the_definition_top_down_bottom_up_and_mixed() {
        for (n, links, seed) in [(60, 90, 1), (120, 400, 2), (200, 300, 3), (150, 1500, 4)] {
            let g = random_graph(n, links, seed);
            let all: Vec<NodeIx> = (0..n).collect();
            let some = draw_pivots(n as usize, 17, seed);
            for sources in [&all[..], &some[..]] {
                let want = brute_force(&g, sources);
                for factor in [0, 1, BOTTOM_UP_FACTOR, usize::MAX] {
                    let got = brandes_with(&g, sources, factor);
                    assert_close(&got, &want, &format!("n {n} factor {factor}"));
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
        assert_close(&got, &want, "sampled");
        assert!(got.iter().any(|&x| x > 0.0));
    }

    #[test]
    fn brandes_equals_the_previous_implementation() {
        // The search before the gather form, kept here as a second reference on a graph too
        // large for the pair-by-pair definition.
        let g = random_graph(5000, 20000, 11);
        let sources = draw_pivots(5000, 64, 3);
        let want = previous::brandes(&g, &sources);
        assert_close(&brandes(&g, &sources), &want, "previous");
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
            factor in proptest::prop_oneof![proptest::strategy::Just(0usize), 1usize..8, proptest::strategy::Just(usize::MAX)],
        ) {
            let e: Vec<_> = raw.into_iter().map(|(a, b)| (a % n, b % n, 1.0)).collect();
            let g = Csr::from_undirected(n as usize, &e).unwrap();
            let all: Vec<NodeIx> = (0..n).collect();
            let got = brandes_with(&g, &all, factor);
            let want = brute_force(&g, &all);
            for (x, y) in got.iter().zip(&want) {
                proptest::prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{} vs {}", x, y);
            }
        }
    }

    #[test]
    fn pagerank_sums_to_one_and_handles_dangling_nodes() {
        // A star plus two isolated nodes: the isolates are dangling.
        let e: Vec<_> = (1..5u32).map(|i| (0, i, 1.0)).collect();
        let g = Csr::from_undirected(7, &e).unwrap();
        let pr = pagerank(&g, &PageRankConfig::default()).unwrap();
        assert!(pr.converged);
        let sum: f64 = pr.scores.iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        assert!(pr.scores[0] > pr.scores[1]);
        assert!((pr.scores[5] - pr.scores[6]).abs() < 1e-15);
        assert!((pr.scores[1] - pr.scores[4]).abs() < 1e-12);
    }

    /// PageRank as it was computed before the blocked pull form: one allocation per iteration,
    /// the dangling mass and the change summed sequentially.
    fn previous_pagerank(g: &Csr, cfg: &PageRankConfig) -> (Vec<f64>, usize) {
        let n = g.node_count();
        let nf = n as f64;
        let out: Vec<f64> = (0..n as NodeIx)
            .map(|u| {
                if cfg.weighted {
                    g.weights(u).iter().sum()
                } else {
                    g.neighbors(u).len() as f64
                }
            })
            .collect();
        let mut pr = vec![1.0 / nf; n];
        let mut iterations = 0;
        while iterations < cfg.max_iterations {
            iterations += 1;
            let share: Vec<f64> = pr
                .iter()
                .zip(&out)
                .map(|(&p, &o)| if o > 0.0 { p / o } else { 0.0 })
                .collect();
            let dangling: f64 = pr
                .iter()
                .zip(&out)
                .filter(|&(_, &o)| o == 0.0)
                .map(|(p, _)| p)
                .sum();
            let base = (1.0 - cfg.damping) / nf + cfg.damping * dangling / nf;
            let next: Vec<f64> = (0..n as NodeIx)
                .map(|v| {
                    let inflow: f64 = if cfg.weighted {
                        g.edges(v).map(|(u, w)| w * share[u as usize]).sum()
                    } else {
                        g.neighbors(v).iter().map(|&u| share[u as usize]).sum()
                    };
                    base + cfg.damping * inflow
                })
                .collect();
            let delta: f64 = next.iter().zip(&pr).map(|(a, b)| (a - b).abs()).sum();
            pr = next;
            if delta < cfg.tolerance {
                break;
            }
        }
        let total: f64 = pr.iter().sum();
        pr.iter_mut().for_each(|p| *p /= total);
        (pr, iterations)
    }

    #[test]
    fn pagerank_equals_the_previous_implementation_for_every_kind_of_weights() {
        use rand::Rng;
        // More nodes than one block, some isolated (dangling), to cross block boundaries.
        let n = 20_000u32;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut pairs: Vec<(u32, u32)> = (0..50_000)
            .map(|_| (rng.random_range(0..n - 500), rng.random_range(0..n - 500)))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        // Distinct pairs, so that weights of 1 stay 1 in the adjacency.
        pairs.sort_unstable();
        pairs.dedup();
        let ones: Vec<_> = pairs.iter().map(|&(a, b)| (a, b, 1.0)).collect();
        let counts: Vec<_> = pairs
            .iter()
            .map(|&(a, b)| (a, b, f64::from(rng.random_range(1..4u8))))
            .collect();
        let reals: Vec<_> = pairs
            .iter()
            .map(|&(a, b)| (a, b, rng.random_range(0.1..3.0)))
            .collect();
        for (what, edges) in [("ones", ones), ("counts", counts), ("reals", reals)] {
            let g = Csr::from_undirected(n as usize, &edges).unwrap();
            let kind = match RowWeights::of(&g) {
                RowWeights::Ones => "ones",
                RowWeights::Small(_) => "counts",
                RowWeights::Any(_) => "reals",
            };
            assert_eq!(kind, what);
            for weighted in [true, false] {
                let cfg = PageRankConfig {
                    weighted,
                    ..PageRankConfig::default()
                };
                let got = pagerank(&g, &cfg).unwrap();
                let (want, iterations) = previous_pagerank(&g, &cfg);
                assert!(got.converged);
                assert_eq!(got.iterations, iterations, "{what}");
                for (a, b) in got.scores.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-12 * b,
                        "{what} weighted {weighted}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn pagerank_on_a_regular_graph_is_uniform() {
        let e: Vec<_> = (0..10u32).map(|i| (i, (i + 1) % 10, 1.0)).collect();
        let g = Csr::from_undirected(10, &e).unwrap();
        let pr = pagerank(&g, &PageRankConfig::default()).unwrap();
        assert!(pr.scores.iter().all(|&p| (p - 0.1).abs() < 1e-12));
    }

    #[test]
    fn pagerank_rejects_bad_damping() {
        let g = star(3);
        let cfg = PageRankConfig {
            damping: 1.0,
            ..PageRankConfig::default()
        };
        assert!(pagerank(&g, &cfg).is_err());
    }
}
