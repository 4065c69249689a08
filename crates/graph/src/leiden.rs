//! Leiden community detection (Traag, Waltman and van Eck, "From Louvain to Leiden: guaranteeing
//! well-connected communities", Scientific Reports 9, 5233, 2019), following the paper's
//! pseudo-code: fast local moving driven by a queue, refinement of each community by merging
//! well-connected singletons at random (randomness θ), aggregation of the *refined* partition
//! with the non-refined one as the aggregate's starting partition, repeated until no community
//! holds more than one aggregate node. Communities are therefore connected.
//!
//! Both quality functions share one move gain. Moving an isolated node `v` into community `C`
//! changes the quality by `w(v, C) - gamma * a_v * A_C * s` where `a` is a node weight and `A_C`
//! its sum over `C`: for modularity `a` is the strength and `s = 1 / 2m`; for the Constant Potts
//! Model `a` is the number of original nodes and `s = 1`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};
use crate::quality;

/// The quality function Leiden maximises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Objective {
    /// Modularity with a resolution (1 is the classic definition; higher finds smaller groups).
    Modularity { resolution: f64 },
    /// Constant Potts Model: a group must be denser than `resolution` (a link density in [0, 1]
    /// for unit weights) for its members to belong together.
    Cpm { resolution: f64 },
}

/// Leiden settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeidenConfig {
    pub objective: Objective,
    /// θ, the randomness of the refinement merges (0.01 in the paper).
    pub randomness: f64,
    /// Seed of the one generator every random choice draws from.
    pub seed: u64,
    /// Upper bound on full Leiden iterations; each starts from the previous partition and the
    /// run stops early once an iteration changes nothing.
    pub max_iterations: usize,
}

impl Default for LeidenConfig {
    fn default() -> Self {
        LeidenConfig {
            objective: Objective::Modularity { resolution: 1.0 },
            randomness: 0.01,
            seed: 0,
            max_iterations: 10,
        }
    }
}

/// A partition found by Leiden.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    /// Community of each node, numbered 0.. by decreasing size (ties by lowest member).
    pub membership: Vec<u32>,
    pub count: usize,
    /// The objective's value (modularity, or the CPM quality).
    pub quality: f64,
    pub iterations: usize,
}

/// Leiden from singletons.
pub fn leiden(g: &Csr, cfg: &LeidenConfig) -> Result<Partition> {
    let init: Vec<u32> = (0..g.node_count() as u32).collect();
    leiden_from(g, &init, cfg)
}

/// Leiden from a given partition (for example yesterday's, after an incremental update).
pub fn leiden_from(g: &Csr, initial: &[u32], cfg: &LeidenConfig) -> Result<Partition> {
    let n = g.node_count();
    if n == 0 {
        return Err(GraphError::Empty("community detection needs a node"));
    }
    if initial.len() != n {
        return Err(GraphError::PartitionLength {
            expected: n,
            got: initial.len(),
        });
    }
    let (gamma, modularity) = match cfg.objective {
        Objective::Modularity { resolution } => (resolution, true),
        Objective::Cpm { resolution } => (resolution, false),
    };
    if !(gamma.is_finite() && gamma >= 0.0) {
        return Err(GraphError::InvalidParameter {
            name: "resolution",
            reason: format!("{gamma} is not a finite non-negative number"),
        });
    }
    if !(cfg.randomness.is_finite() && cfg.randomness > 0.0) {
        return Err(GraphError::InvalidParameter {
            name: "randomness",
            reason: format!("{} is not a finite positive number", cfg.randomness),
        });
    }
    let total = 2.0 * g.total_weight();
    let score = |m: &[u32]| -> Result<f64> {
        if modularity {
            if total > 0.0 {
                quality::modularity(g, m, gamma)
            } else {
                Ok(0.0)
            }
        } else {
            quality::cpm(g, m, gamma)
        }
    };
    let mut membership = renumber(initial).0;
    let mut iterations = 0;
    if modularity && total <= 0.0 {
        // No links: nothing to gain anywhere, every node is its own community.
        membership = (0..n as u32).collect();
    } else {
        let params = Params {
            gamma,
            // Scale of the null-model term in the gain, and of gains as seen by θ (modularity
            // differences are taken per unit of total weight, as the quality itself is).
            null_scale: if modularity { 1.0 / total } else { 1.0 },
            gain_scale: if modularity { 2.0 / total } else { 1.0 },
            theta: cfg.randomness,
        };
        let weights: Vec<f64> = if modularity {
            (0..n as NodeIx).map(|u| g.strength(u)).collect()
        } else {
            vec![1.0; n]
        };
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        while iterations < cfg.max_iterations.max(1) {
            iterations += 1;
            let next = one_iteration(g, &weights, &membership, &params, &mut rng);
            let changed = next != membership;
            membership = next;
            if !changed {
                break;
            }
        }
    }
    let membership = canonical(&membership);
    let count = membership
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    Ok(Partition {
        quality: score(&membership)?,
        membership,
        count,
        iterations,
    })
}

struct Params {
    gamma: f64,
    null_scale: f64,
    gain_scale: f64,
    theta: f64,
}

/// One run of the paper's `Leiden(G, P)` loop; returns the flat membership.
fn one_iteration(
    g0: &Csr,
    weights0: &[f64],
    initial: &[u32],
    p: &Params,
    rng: &mut ChaCha8Rng,
) -> Vec<u32> {
    let n0 = g0.node_count();
    let mut owned: Option<Csr> = None;
    let mut weights = weights0.to_vec();
    let mut part = renumber(initial).0;
    // Aggregate node holding each original node.
    let mut level_of: Vec<u32> = (0..n0 as u32).collect();
    loop {
        let g = owned.as_ref().unwrap_or(g0);
        let n = g.node_count();
        move_nodes_fast(g, &weights, &mut part, p, rng);
        let (p2, count) = renumber(&part);
        part = p2;
        if count == n {
            break;
        }
        let refined = refine(g, &weights, &part, p, rng);
        let (refined, rcount) = renumber(&refined);
        // If refinement merged nothing, aggregating it would not shrink the graph; aggregate the
        // moved partition instead so the loop always makes progress.
        let (basis, k) = if rcount < n {
            (refined, rcount)
        } else {
            (part.clone(), count)
        };
        let mut next_part = vec![0u32; k];
        let mut next_weights = vec![0.0; k];
        for v in 0..n {
            let b = basis[v] as usize;
            next_part[b] = part[v];
            next_weights[b] += weights[v];
        }
        let next_graph = aggregate(g, &basis, k);
        for x in level_of.iter_mut() {
            *x = basis[*x as usize];
        }
        owned = Some(next_graph);
        weights = next_weights;
        part = next_part;
    }
    level_of.iter().map(|&a| part[a as usize]).collect()
}

/// The paper's `MoveNodesFast`: visit nodes from a queue (initially all, in random order); move
/// each to the neighbouring or empty community with the largest positive gain and queue its
/// neighbours outside the new community that are not queued already.
fn move_nodes_fast(g: &Csr, w: &[f64], part: &mut [u32], p: &Params, rng: &mut ChaCha8Rng) {
    let n = g.node_count();
    let mut comm_weight = vec![0.0; n];
    let mut comm_size = vec![0usize; n];
    for v in 0..n {
        comm_weight[part[v] as usize] += w[v];
        comm_size[part[v] as usize] += 1;
    }
    let mut empty: Vec<u32> = (0..n as u32)
        .filter(|&c| comm_size[c as usize] == 0)
        .collect();
    let mut order: Vec<NodeIx> = (0..n as NodeIx).collect();
    order.shuffle(rng);
    let mut queue: std::collections::VecDeque<NodeIx> = order.into();
    let mut queued = vec![true; n];
    let mut link = vec![0.0; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut seen = vec![false; n];
    while let Some(v) = queue.pop_front() {
        let vi = v as usize;
        queued[vi] = false;
        // Nodes come in random order, so each row is a cache miss: load the row of a node a
        // few places ahead now (a load nothing waits on), and it is in cache by its turn.
        if let Some(&ahead) = queue.get(TOUCH_AHEAD) {
            std::hint::black_box((g.neighbors(ahead).first(), g.weights(ahead).first()));
        }
        let cur = part[vi];
        for (u, wt) in g.edges(v) {
            if u == v {
                continue;
            }
            let c = part[u as usize];
            if !seen[c as usize] {
                seen[c as usize] = true;
                touched.push(c);
            }
            link[c as usize] += wt;
        }
        comm_weight[cur as usize] -= w[vi];
        comm_size[cur as usize] -= 1;
        let null = p.gamma * w[vi] * p.null_scale;
        let gain = |c: u32, link: &[f64], cw: &[f64]| link[c as usize] - null * cw[c as usize];
        let mut best = cur;
        let mut best_gain = gain(cur, &link, &comm_weight);
        for &c in &touched {
            let gc = gain(c, &link, &comm_weight);
            if gc > best_gain {
                best = c;
                best_gain = gc;
            }
        }
        if best_gain < 0.0 && comm_size[cur as usize] > 0 {
            // Alone is better than anywhere else: take an empty community.
            while let Some(c) = empty.pop() {
                if comm_size[c as usize] == 0 && c != cur {
                    best = c;
                    break;
                }
            }
        }
        comm_weight[best as usize] += w[vi];
        comm_size[best as usize] += 1;
        part[vi] = best;
        if comm_size[cur as usize] == 0 {
            empty.push(cur);
        }
        for &c in &touched {
            link[c as usize] = 0.0;
            seen[c as usize] = false;
        }
        touched.clear();
        if best != cur {
            for &u in g.neighbors(v) {
                let ui = u as usize;
                if !queued[ui] && part[ui] != best {
                    queued[ui] = true;
                    queue.push_back(u);
                }
            }
        }
    }
}

/// How far ahead in the queue local moving loads a node's row.
const TOUCH_AHEAD: usize = 8;

/// The paper's `RefinePartition` / `MergeNodesSubset`: within each community `S`, start from
/// singletons and visit nodes in random order; a node still alone and well connected to `S`
/// joins a well-connected refined community of `S` it links to, chosen with probability
/// proportional to `exp(gain / θ)` among those with a non-negative gain (staying alone has gain
/// 0). Refined communities are thus connected subsets of the communities.
///
/// Each community is refined on its own (the paper's loop over `S` is independent from one
/// `S` to the next), in parallel, with its own generator seeded from one draw of `rng` and the
/// community's number: the result depends on the seed alone, not on the threads. `part` is
/// numbered `0..count`.
fn refine(g: &Csr, w: &[f64], part: &[u32], p: &Params, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let n = g.node_count();
    let count = part.iter().copied().max().map_or(0, |c| c as usize + 1);
    // The members of each community, in node order, and each node's place among them.
    let (start, members) = group(part, count);
    let mut place = vec![0u32; n];
    for c in 0..count {
        for (i, &v) in members[start[c]..start[c + 1]].iter().enumerate() {
            place[v as usize] = i as u32;
        }
    }
    let base: u64 = rng.random();
    // Refined labels in `members` order, cut into one slice per community.
    let mut labels = vec![0u32; n];
    let mut slices: Vec<(usize, &mut [u32])> = Vec::with_capacity(count);
    let mut rest: &mut [u32] = &mut labels;
    for c in 0..count {
        let (head, tail) = rest.split_at_mut(start[c + 1] - start[c]);
        slices.push((c, head));
        rest = tail;
    }
    let community = Community {
        g,
        w,
        part,
        place: &place,
        p,
    };
    slices
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, (c, out)| {
            let nodes = &members[start[c]..start[c + 1]];
            let seed = base ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            community.refine(nodes, c as u32, seed, scratch, out);
        });
    let mut refined = vec![0u32; n];
    for (&v, &label) in members.iter().zip(&labels) {
        refined[v as usize] = label;
    }
    refined
}

/// What the refinement of every community reads.
struct Community<'a> {
    g: &'a Csr,
    w: &'a [f64],
    part: &'a [u32],
    /// Each node's place among its community's members.
    place: &'a [u32],
    p: &'a Params,
}

/// One thread's working arrays, indexed by a node's place in the community being refined.
#[derive(Default)]
struct Scratch {
    ext: Vec<f64>,
    refined: Vec<u32>,
    r_weight: Vec<f64>,
    r_size: Vec<u32>,
    r_ext: Vec<f64>,
    link: Vec<f64>,
    seen: Vec<bool>,
    order: Vec<u32>,
    touched: Vec<u32>,
    candidates: Vec<(u32, f64)>,
}

impl Scratch {
    fn reset(&mut self, len: usize) {
        fn fill<T: Clone>(v: &mut Vec<T>, len: usize, x: T) {
            v.clear();
            v.resize(len, x);
        }
        fill(&mut self.ext, len, 0.0);
        fill(&mut self.r_weight, len, 0.0);
        fill(&mut self.r_size, len, 1);
        fill(&mut self.link, len, 0.0);
        fill(&mut self.seen, len, false);
        self.refined.clear();
        self.refined.extend(0..len as u32);
        self.order.clear();
        self.order.extend(0..len as u32);
        self.touched.clear();
        self.candidates.clear();
    }
}

impl Community<'_> {
    /// Refines community `s` of `nodes`, writing each one's refined community (the node that
    /// began it) to `out`, in the order of `nodes`.
    fn refine(&self, nodes: &[NodeIx], s: u32, seed: u64, t: &mut Scratch, out: &mut [u32]) {
        let (g, w, part, place, p) = (self.g, self.w, self.part, self.place, self.p);
        if nodes.len() == 1 {
            out[0] = nodes[0];
            return;
        }
        t.reset(nodes.len());
        let mut total = 0.0;
        for (i, &v) in nodes.iter().enumerate() {
            total += w[v as usize];
            t.r_weight[i] = w[v as usize];
            // Weight from the node to the rest of its community.
            t.ext[i] = g
                .edges(v)
                .filter(|&(u, _)| u != v && part[u as usize] == s)
                .map(|(_, x)| x)
                .sum();
        }
        // Weight from each refined community to the rest of its community.
        t.r_ext.clone_from(&t.ext);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order = std::mem::take(&mut t.order);
        order.shuffle(&mut rng);
        let null = p.gamma * p.null_scale;
        for &i in &order {
            let iu = i as usize;
            let own = t.refined[iu];
            if t.r_size[own as usize] != 1 {
                continue;
            }
            let (v, wv) = (nodes[iu], w[nodes[iu] as usize]);
            if t.ext[iu] < null * wv * (total - wv) {
                continue;
            }
            for (u, wt) in g.edges(v) {
                if u == v || part[u as usize] != s {
                    continue;
                }
                let c = t.refined[place[u as usize] as usize];
                if !t.seen[c as usize] {
                    t.seen[c as usize] = true;
                    t.touched.push(c);
                }
                t.link[c as usize] += wt;
            }
            t.candidates.clear();
            t.candidates.push((own, 0.0));
            for &c in &t.touched {
                let ci = c as usize;
                if c == own {
                    continue;
                }
                let well_connected =
                    t.r_ext[ci] >= null * t.r_weight[ci] * (total - t.r_weight[ci]);
                let gain = t.link[ci] - null * wv * t.r_weight[ci];
                if well_connected && gain >= 0.0 {
                    t.candidates.push((c, gain * p.gain_scale));
                }
            }
            if t.candidates.len() > 1 {
                let chosen = pick_by_gain(&mut t.candidates, p.theta, &mut rng);
                if chosen != own {
                    let ci = chosen as usize;
                    t.r_ext[ci] += t.ext[iu] - 2.0 * t.link[ci];
                    t.r_weight[ci] += wv;
                    t.r_size[ci] += 1;
                    t.r_weight[own as usize] = 0.0;
                    t.r_size[own as usize] = 0;
                    t.refined[iu] = chosen;
                }
            }
            for &c in &t.touched {
                t.link[c as usize] = 0.0;
                t.seen[c as usize] = false;
            }
            t.touched.clear();
        }
        t.order = order;
        for (o, &r) in out.iter_mut().zip(&t.refined) {
            *o = nodes[r as usize];
        }
    }
}

/// One of `candidates` (community, scaled gain; staying first), drawn with probability
/// proportional to `exp(gain / θ)`.
fn pick_by_gain(candidates: &mut [(u32, f64)], theta: f64, rng: &mut ChaCha8Rng) -> u32 {
    let top = candidates
        .iter()
        .map(|&(_, x)| x)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for cand in candidates.iter_mut() {
        cand.1 = ((cand.1 - top) / theta).exp();
        sum += cand.1;
    }
    let mut pick = rng.random::<f64>() * sum;
    let mut chosen = candidates[candidates.len() - 1].0;
    for &(c, x) in candidates.iter() {
        if pick < x {
            chosen = c;
            break;
        }
        pick -= x;
    }
    chosen
}

/// The graph whose nodes are the blocks of `basis`: links between blocks summed, links inside a
/// block kept as its self-loop so strengths and total weight are preserved. Built block by
/// block with a dense accumulator, so it costs one pass over the links and a sort of each
/// aggregate row, not a sort of every link; runs of blocks are built in parallel, each with
/// its own accumulator, and joined in block order.
fn aggregate(g: &Csr, basis: &[u32], k: usize) -> Csr {
    /// The fewest blocks a parallel run takes.
    const MIN_RUN: usize = 1024;
    let (start, members) = group(basis, k);
    // A few runs per thread: each allocates accumulators over all k blocks, whose pages the
    // kernel zeroes as they are touched.
    let run = k.div_ceil(4 * rayon::current_num_threads()).max(MIN_RUN);
    let runs: Vec<Rows> = (0..k.div_ceil(run))
        .into_par_iter()
        .map(|r| {
            let (mut acc, mut seen, mut touched) = (vec![0.0f64; k], vec![false; k], Vec::new());
            let mut rows = Rows::default();
            for c in r * run..((r + 1) * run).min(k) {
                for &u in &members[start[c]..start[c + 1]] {
                    for (v, wt) in g.edges(u) {
                        let cv = basis[v as usize];
                        if !seen[cv as usize] {
                            seen[cv as usize] = true;
                            touched.push(cv);
                        }
                        // A link inside the block is seen from both its rows: half each; a
                        // self-loop is stored once.
                        acc[cv as usize] += if cv as usize == c && u != v {
                            wt / 2.0
                        } else {
                            wt
                        };
                    }
                }
                touched.sort_unstable();
                for &cv in &touched {
                    rows.targets.push(cv);
                    rows.weights.push(acc[cv as usize]);
                    acc[cv as usize] = 0.0;
                    seen[cv as usize] = false;
                }
                touched.clear();
                rows.lengths.push(rows.targets.len());
            }
            rows
        })
        .collect();
    let links = runs.iter().map(|r| r.targets.len()).sum();
    let mut offsets = Vec::with_capacity(k + 1);
    offsets.push(0usize);
    let mut targets: Vec<NodeIx> = Vec::with_capacity(links);
    let mut weights: Vec<f64> = Vec::with_capacity(links);
    for run in runs {
        let at = targets.len();
        offsets.extend(run.lengths.iter().map(|&end| at + end));
        targets.extend(run.targets);
        weights.extend(run.weights);
    }
    Csr::from_sorted_rows(offsets, targets, weights)
}

/// The rows of a run of aggregate blocks: each row's end within the run, then the rows.
#[derive(Default)]
struct Rows {
    lengths: Vec<usize>,
    targets: Vec<NodeIx>,
    weights: Vec<f64>,
}

/// The nodes grouped by their label in `0..count`, in node order within a group: where each
/// group starts (and, last, the node count), and the nodes. A counting sort.
fn group(labels: &[u32], count: usize) -> (Vec<usize>, Vec<NodeIx>) {
    let mut start = vec![0usize; count + 1];
    for &l in labels {
        start[l as usize + 1] += 1;
    }
    for i in 0..count {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut members = vec![0 as NodeIx; labels.len()];
    for (v, &l) in labels.iter().enumerate() {
        members[fill[l as usize]] = v as NodeIx;
        fill[l as usize] += 1;
    }
    (start, members)
}

/// Labels renumbered 0.. in order of first appearance, with their count.
fn renumber(m: &[u32]) -> (Vec<u32>, usize) {
    let mut map = rustc_hash::FxHashMap::default();
    let out = m
        .iter()
        .map(|&c| {
            let next = map.len() as u32;
            *map.entry(c).or_insert(next)
        })
        .collect();
    (out, map.len())
}

/// Labels numbered by decreasing community size, ties by lowest member, so reports list the
/// largest communities first and equal partitions get equal labels.
fn canonical(m: &[u32]) -> Vec<u32> {
    let (m, k) = renumber(m);
    let mut size = vec![0usize; k];
    for &c in &m {
        size[c as usize] += 1;
    }
    // Renumbering by first appearance already orders ties by lowest member.
    let mut order: Vec<u32> = (0..k as u32).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(size[c as usize]), c));
    let mut rank = vec![0u32; k];
    for (r, &c) in order.iter().enumerate() {
        rank[c as usize] = r as u32;
    }
    m.iter().map(|&c| rank[c as usize]).collect()
}
