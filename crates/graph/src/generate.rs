//! Benchmark graphs with planted communities: cells of varied sizes, and LFR graphs
//! (Lancichinetti, Fortunato and Radicchi, "Benchmark graphs for testing community detection
//! algorithms", Phys. Rev. E 78, 046110, 2008). Both are seeded, so a benchmark or a test can
//! name the graph it ran on, and an outside tool can be handed the same edges.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{GraphError, Result};

/// A generated graph: node count, undirected edges without self-loops or duplicates, and the
/// planted community of each node.
#[derive(Clone, Debug)]
pub struct Planted {
    pub nodes: usize,
    pub edges: Vec<(u32, u32)>,
    pub truth: Vec<u32>,
}

fn bad(name: &'static str, reason: &str) -> GraphError {
    GraphError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

/// Sorts, drops self-loops and duplicates.
fn simple(mut edges: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    for e in edges.iter_mut() {
        if e.0 > e.1 {
            *e = (e.1, e.0);
        }
    }
    edges.retain(|e| e.0 != e.1);
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// Cells: `count` groups with sizes drawn uniformly from `min_size..=max_size`, each node with
/// about `internal_degree` random ties inside its cell and `external_degree` to random nodes
/// anywhere. Cells of equal internal degree but different sizes are what modularity's
/// resolution limit merges, and what the Constant Potts Model keeps apart.
pub fn cells(
    count: usize,
    min_size: usize,
    max_size: usize,
    internal_degree: f64,
    external_degree: f64,
    seed: u64,
) -> Result<Planted> {
    if count == 0 || min_size < 2 || max_size < min_size {
        return Err(bad("cells", "need at least one cell of two or more nodes"));
    }
    if !(internal_degree > 0.0 && external_degree >= 0.0) {
        return Err(bad("degree", "internal > 0 and external ≥ 0"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sizes: Vec<usize> = (0..count)
        .map(|_| rng.random_range(min_size..=max_size))
        .collect();
    let n: usize = sizes.iter().sum();
    if u32::try_from(n).is_err() {
        return Err(GraphError::TooLarge);
    }
    let mut truth = Vec::with_capacity(n);
    let mut edges = Vec::new();
    let mut start = 0u32;
    for (c, &size) in sizes.iter().enumerate() {
        truth.extend(std::iter::repeat_n(c as u32, size));
        let links = (size as f64 * internal_degree / 2.0).round() as usize;
        for _ in 0..links {
            let a = start + rng.random_range(0..size as u32);
            let b = start + rng.random_range(0..size as u32);
            edges.push((a, b));
        }
        start += size as u32;
    }
    let external = (n as f64 * external_degree / 2.0).round() as usize;
    for _ in 0..external {
        let a = rng.random_range(0..n as u32);
        let b = rng.random_range(0..n as u32);
        edges.push((a, b));
    }
    Ok(Planted {
        nodes: n,
        edges: simple(edges),
        truth,
    })
}

/// LFR settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LfrConfig {
    pub nodes: usize,
    pub mean_degree: f64,
    pub max_degree: usize,
    /// Mixing: the share of each node's ties that leave its community.
    pub mu: f64,
    /// Exponent of the degree distribution.
    pub tau1: f64,
    /// Exponent of the community-size distribution.
    pub tau2: f64,
    pub min_community: usize,
    pub max_community: usize,
    pub seed: u64,
}

impl Default for LfrConfig {
    fn default() -> Self {
        LfrConfig {
            nodes: 10_000,
            mean_degree: 20.0,
            max_degree: 50,
            mu: 0.3,
            tau1: 2.0,
            tau2: 1.0,
            min_community: 20,
            max_community: 100,
            seed: 0,
        }
    }
}

/// A draw from a power law with exponent `tau` on `[lo, hi]` (inverse transform).
fn power_law(rng: &mut ChaCha8Rng, lo: f64, hi: f64, tau: f64) -> f64 {
    let u: f64 = rng.random();
    if (tau - 1.0).abs() < 1e-9 {
        lo * (hi / lo).powf(u)
    } else {
        let a = 1.0 - tau;
        (lo.powf(a) + u * (hi.powf(a) - lo.powf(a))).powf(1.0 / a)
    }
}

/// An LFR benchmark graph. Degrees follow a power law (exponent `tau1`) between a minimum
/// chosen to give the mean degree and `max_degree`; community sizes a power law (`tau2`) between
/// the bounds. Each node puts `(1 - mu)` of its degree inside its community, wired by a
/// configuration model per community, and the rest across communities by one global
/// configuration model; self-loops and repeated pairs are dropped, so realised degrees and mixing
/// fall slightly below the targets (reported by [`mixing`]).
pub fn lfr(cfg: &LfrConfig) -> Result<Planted> {
    let n = cfg.nodes;
    if n < cfg.max_community || cfg.min_community < 2 || cfg.max_community < cfg.min_community {
        return Err(bad(
            "communities",
            "need 2 ≤ min ≤ max community size ≤ nodes",
        ));
    }
    if !(0.0..1.0).contains(&cfg.mu) || cfg.mean_degree < 1.0 || cfg.max_degree < 2 {
        return Err(bad("lfr", "mu in [0, 1), mean degree ≥ 1, max degree ≥ 2"));
    }
    if u32::try_from(n).is_err() {
        return Err(GraphError::TooLarge);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    // The minimum degree giving the requested mean, by bisection on the power law's mean.
    let kmax = cfg.max_degree as f64;
    let mean_of = |kmin: f64| {
        let a = 1.0 - cfg.tau1;
        let b = 2.0 - cfg.tau1;
        if cfg.tau1 == 2.0 {
            (kmax / kmin).ln() / (1.0 / kmin - 1.0 / kmax)
        } else {
            (a / b) * (kmax.powf(b) - kmin.powf(b)) / (kmax.powf(a) - kmin.powf(a))
        }
    };
    let (mut lo, mut hi) = (1.0, kmax);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if mean_of(mid) < cfg.mean_degree {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let kmin = lo;
    let degree: Vec<usize> = (0..n)
        .map(|_| power_law(&mut rng, kmin, kmax, cfg.tau1).round().max(1.0) as usize)
        .collect();
    let internal: Vec<usize> = degree
        .iter()
        .map(|&k| ((1.0 - cfg.mu) * k as f64).round() as usize)
        .collect();

    // Community sizes summing to n.
    let mut sizes = Vec::new();
    let mut total = 0;
    while total < n {
        let s = power_law(
            &mut rng,
            cfg.min_community as f64,
            cfg.max_community as f64,
            cfg.tau2,
        )
        .round() as usize;
        let s = s.clamp(cfg.min_community, cfg.max_community);
        sizes.push(s);
        total += s;
    }
    // Trim the overshoot from the largest communities that stay above the minimum.
    let mut over = total - n;
    while over > 0 {
        let (i, _) = sizes
            .iter()
            .enumerate()
            .max_by_key(|&(_, s)| *s)
            .ok_or_else(|| bad("communities", "none drawn"))?;
        let cut = over.min(sizes[i] - cfg.min_community);
        if cut == 0 {
            // Every community is at the minimum: fold the last into the others.
            let last = sizes.pop().unwrap_or(0);
            over = over.saturating_sub(last);
            continue;
        }
        sizes[i] -= cut;
        over -= cut;
    }
    let total: usize = sizes.iter().sum();
    if total < n {
        // Folding left a shortfall: grow the smallest communities back.
        let mut short = n - total;
        let len = sizes.len();
        let mut i = 0;
        while short > 0 {
            sizes[i % len] += 1;
            short -= 1;
            i += 1;
        }
    }

    // Assign nodes, largest internal degree first, each to a random community with room whose
    // size exceeds its internal degree (so its internal ties can be placed).
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order.sort_by_key(|&v| std::cmp::Reverse(internal[v]));
    let mut room: Vec<usize> = sizes.clone();
    let mut truth = vec![u32::MAX; n];
    for &v in &order {
        let fits: Vec<usize> = (0..sizes.len())
            .filter(|&c| room[c] > 0 && sizes[c] > internal[v])
            .collect();
        let c = if fits.is_empty() {
            // No community is big enough: take the largest with room and cap the node's ties.
            (0..sizes.len())
                .filter(|&c| room[c] > 0)
                .max_by_key(|&c| sizes[c])
                .ok_or_else(|| bad("communities", "no room left"))?
        } else {
            fits[rng.random_range(0..fits.len())]
        };
        room[c] -= 1;
        truth[v] = c as u32;
    }

    // Configuration model inside each community, then across.
    let mut stubs_in: Vec<Vec<u32>> = vec![Vec::new(); sizes.len()];
    let mut stubs_out: Vec<u32> = Vec::new();
    for v in 0..n {
        let c = truth[v] as usize;
        let k_in = internal[v].min(sizes[c] - 1);
        stubs_in[c].extend(std::iter::repeat_n(v as u32, k_in));
        stubs_out.extend(std::iter::repeat_n(v as u32, degree[v] - k_in));
    }
    let mut seen: rustc_hash::FxHashSet<(u32, u32)> = rustc_hash::FxHashSet::default();
    let mut edges = Vec::new();
    for stubs in stubs_in.iter_mut() {
        wire(stubs, &mut rng, &mut seen, &mut edges, |_, _| true);
    }
    wire(&mut stubs_out, &mut rng, &mut seen, &mut edges, |a, b| {
        truth[a as usize] != truth[b as usize]
    });
    Ok(Planted {
        nodes: n,
        edges: simple(edges),
        truth,
    })
}

/// Pairs stubs at random into new edges `ok` accepts; a pair that is a self-loop, a repeat or
/// refused goes back into the pool, which is reshuffled up to a fixed number of rounds, so few
/// stubs stay unwired.
fn wire(
    stubs: &mut Vec<u32>,
    rng: &mut ChaCha8Rng,
    seen: &mut rustc_hash::FxHashSet<(u32, u32)>,
    edges: &mut Vec<(u32, u32)>,
    ok: impl Fn(u32, u32) -> bool,
) {
    for _ in 0..20 {
        if stubs.len() < 2 {
            break;
        }
        stubs.shuffle(rng);
        let mut left = Vec::new();
        for p in stubs.chunks_exact(2) {
            let (a, b) = (p[0].min(p[1]), p[0].max(p[1]));
            if a != b && ok(a, b) && seen.insert((a, b)) {
                edges.push((a, b));
            } else {
                left.push(p[0]);
                left.push(p[1]);
            }
        }
        *stubs = left;
    }
}

/// The realised mixing: the share of edges whose ends are in different planted communities.
pub fn mixing(p: &Planted) -> f64 {
    if p.edges.is_empty() {
        return 0.0;
    }
    let across = p
        .edges
        .iter()
        .filter(|&&(a, b)| p.truth[a as usize] != p.truth[b as usize])
        .count();
    across as f64 / p.edges.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_have_the_sizes_and_degrees_asked_for() {
        let p = cells(50, 20, 200, 8.0, 1.0, 3).unwrap();
        assert_eq!(p.truth.len(), p.nodes);
        let mean = 2.0 * p.edges.len() as f64 / p.nodes as f64;
        assert!((8.0..=9.2).contains(&mean), "mean degree {mean}");
        assert!(mixing(&p) < 0.15);
        assert!(p.edges.iter().all(|&(a, b)| a < b));
        assert!(cells(0, 20, 200, 8.0, 1.0, 3).is_err());
    }

    #[test]
    fn lfr_meets_its_mixing_and_degree() {
        for mu in [0.1, 0.3, 0.5] {
            let cfg = LfrConfig {
                nodes: 5_000,
                mu,
                ..LfrConfig::default()
            };
            let p = lfr(&cfg).unwrap();
            assert!(p.truth.iter().all(|&c| c != u32::MAX));
            let mean = 2.0 * p.edges.len() as f64 / p.nodes as f64;
            assert!((17.0..=21.0).contains(&mean), "mean degree {mean}");
            let m = mixing(&p);
            assert!((m - mu).abs() < 0.05, "mixing {m} for mu {mu}");
            let mut sizes = std::collections::HashMap::new();
            for &c in &p.truth {
                *sizes.entry(c).or_insert(0usize) += 1;
            }
            assert!(
                sizes.values().all(|&s| (20..=100).contains(&s)),
                "{sizes:?}"
            );
        }
    }
}
