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
    let mut share = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < cfg.max_iterations {
        iterations += 1;
        share
            .par_iter_mut()
            .zip(pr.par_iter().zip(out.par_iter()))
            .for_each(|(s, (&p, &o))| *s = if o > 0.0 { p / o } else { 0.0 });
        let dangling: f64 = pr
            .iter()
            .zip(&out)
            .filter(|&(_, &o)| o == 0.0)
            .map(|(p, _)| p)
            .sum();
        let base = (1.0 - cfg.damping) / nf + cfg.damping * dangling / nf;
        let next: Vec<f64> = (0..n as NodeIx)
            .into_par_iter()
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
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sources: Vec<NodeIx> = rand::seq::index::sample(&mut rng, n, pivots)
        .into_iter()
        .map(|i| i as NodeIx)
        .collect();
    // The pivot set, not the draw order, decides the result; sorting makes the chunking below
    // identical to the exact run's when all nodes are pivots.
    sources.sort_unstable();
    Ok(finish(
        brandes(g, &sources),
        n,
        n as f64 / pivots as f64,
        normalized,
    ))
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
/// adjacency entry at random. So the graph is first renumbered in breadth-first order (nodes
/// met together sit together in memory, and a search's frontier walks the arrays nearly in
/// order), and each search keeps its per-node state in one array of small records and lists the
/// shortest-path successors it finds, so the backward pass reads those instead of rescanning
/// every neighbour. (Running eight searches side by side, each node holding all eight states,
/// was tried and measured twice as slow: the wider state costs more cache lines per visit than
/// the shared row scans save.)
fn brandes(g: &Csr, sources: &[NodeIx]) -> Vec<f64> {
    const CHUNKS: usize = 16;
    let n = g.node_count();
    let (local, new_of) = bfs_renumbered(g);
    let per = sources.len().div_ceil(CHUNKS).max(1);
    let partials: Vec<Vec<f64>> = sources
        .par_chunks(per)
        .map(|chunk| {
            let mut ws = Workspace::new(n);
            let mut acc = vec![0.0; n];
            for &s in chunk {
                ws.accumulate(&local, new_of[s as usize], &mut acc);
            }
            acc
        })
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

/// Plain adjacency rows without weights.
struct Rows {
    offsets: Vec<usize>,
    targets: Vec<NodeIx>,
}

impl Rows {
    fn row(&self, u: NodeIx) -> &[NodeIx] {
        &self.targets[self.offsets[u as usize]..self.offsets[u as usize + 1]]
    }
}

/// One node's state during a search, kept together so a visit costs one cache miss, not three.
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

struct Workspace {
    state: Vec<State>,
    order: Vec<NodeIx>,
    /// Shortest-path successors of each visited node, in visit order: `succ[succ_at[i]..
    /// succ_at[i + 1]]` belong to `order[i]`.
    succ: Vec<NodeIx>,
    succ_at: Vec<usize>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        Workspace {
            state: vec![UNSEEN; n],
            order: Vec::with_capacity(n),
            succ: Vec::new(),
            succ_at: Vec::with_capacity(n + 1),
        }
    }

    /// One source's breadth-first search and dependency accumulation; only the nodes reached
    /// are reset afterwards, which keeps sampled runs on large sparse graphs cheap.
    fn accumulate(&mut self, g: &Rows, s: NodeIx, acc: &mut [f64]) {
        self.order.clear();
        self.succ.clear();
        self.succ_at.clear();
        self.state[s as usize] = State {
            dist: 0,
            sigma: 1.0,
            delta: 0.0,
        };
        self.order.push(s);
        let mut head = 0;
        while head < self.order.len() {
            let u = self.order[head];
            head += 1;
            self.succ_at.push(self.succ.len());
            let State {
                dist: du,
                sigma: su,
                ..
            } = self.state[u as usize];
            for &v in g.row(u) {
                let sv = &mut self.state[v as usize];
                if sv.dist == u32::MAX {
                    sv.dist = du + 1;
                    self.order.push(v);
                }
                if sv.dist == du + 1 {
                    sv.sigma += su;
                    self.succ.push(v);
                }
            }
        }
        self.succ_at.push(self.succ.len());
        for i in (0..self.order.len()).rev() {
            let w = self.order[i];
            let sw = self.state[w as usize].sigma;
            let mut d = 0.0;
            for &v in &self.succ[self.succ_at[i]..self.succ_at[i + 1]] {
                let sv = self.state[v as usize];
                d += sw / sv.sigma * (1.0 + sv.delta);
            }
            self.state[w as usize].delta = d;
            if w != s {
                acc[w as usize] += d;
            }
        }
        for &w in &self.order {
            self.state[w as usize] = UNSEEN;
        }
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
