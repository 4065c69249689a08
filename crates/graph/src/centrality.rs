//! Degree statistics and PageRank; betweenness lives in [`crate::betweenness`] and is
//! re-exported here beside them.

use rayon::prelude::*;

pub use crate::betweenness::{betweenness, betweenness_sampled};

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
