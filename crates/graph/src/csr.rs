//! Compressed sparse row adjacency of an undirected, weighted graph.
//!
//! Every algorithm in the crate runs on this one shape: each row lists a node's distinct
//! neighbours in ascending order with the summed weight of all edges between the two. Parallel
//! typed edges (a phone used on many days) collapse into one weighted link here, so shortest-path
//! counts and degrees are those of the simple graph. A self-loop is stored once, in its node's row,
//! holding the total weight of edges inside that node; the typed graph never has one, but the
//! aggregated graphs Leiden builds do.

use rayon::prelude::*;

use crate::error::{GraphError, Result};

/// Node index inside a graph (dense, from 0).
pub type NodeIx = u32;

/// Undirected weighted adjacency in CSR form.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    offsets: Vec<usize>,
    targets: Vec<NodeIx>,
    weights: Vec<f64>,
}

impl Csr {
    /// Builds from undirected edges: each `(u, v, w)` with `u != v` is entered in both rows, a
    /// self-loop once. Duplicate pairs are summed.
    ///
    /// A counting sort straight from the edge list: count each row's entries, then drop every
    /// entry into its row's slot, with no intermediate list of directed entries.
    pub fn from_undirected(n: usize, edges: &[(NodeIx, NodeIx, f64)]) -> Result<Self> {
        let mut starts = vec![0usize; n + 1];
        for &(u, v, _) in edges {
            check_ix(u, n)?;
            check_ix(v, n)?;
            starts[u as usize + 1] += 1;
            if u != v {
                starts[v as usize + 1] += 1;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut bucket: Vec<(NodeIx, f64)> = vec![(0, 0.0); starts[n]];
        for &(u, v, w) in edges {
            bucket[next[u as usize]] = (v, w);
            next[u as usize] += 1;
            if u != v {
                bucket[next[v as usize]] = (u, w);
                next[v as usize] += 1;
            }
        }
        Ok(Self::from_buckets(starts, bucket))
    }

    /// Builds from directed row entries `(row, column, weight)` taken as they are (the caller
    /// provides both directions), summing duplicates. Indices must be below `n`.
    pub(crate) fn from_entries(n: usize, entries: Vec<(NodeIx, NodeIx, f64)>) -> Self {
        let mut starts = vec![0usize; n + 1];
        for &(u, _, _) in &entries {
            starts[u as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut bucket: Vec<(NodeIx, f64)> = vec![(0, 0.0); entries.len()];
        for (u, v, w) in entries {
            bucket[next[u as usize]] = (v, w);
            next[u as usize] += 1;
        }
        Self::from_buckets(starts, bucket)
    }

    /// Rows from entries bucketed by row (`bucket[starts[u]..starts[u + 1]]` for row `u`, in
    /// any order): each row is sorted by target and then weight — so the summation order, and
    /// the sums, do not depend on the order entries arrived in — and repeated targets are
    /// summed. Rows are sorted in parallel, then packed.
    fn from_buckets(starts: Vec<usize>, mut bucket: Vec<(NodeIx, f64)>) -> Self {
        let n = starts.len() - 1;
        // Sorting and merging works in place and returns each row's merged length.
        let mut rows: Vec<&mut [(NodeIx, f64)]> = Vec::with_capacity(n);
        let mut rest = &mut bucket[..];
        for u in 0..n {
            let (row, tail) = rest.split_at_mut(starts[u + 1] - starts[u]);
            rows.push(row);
            rest = tail;
        }
        let lens: Vec<usize> = rows
            .into_par_iter()
            .with_min_len(1024)
            .map(|row| {
                row.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.total_cmp(&b.1)));
                let mut len = 0;
                for i in 0..row.len() {
                    if len > 0 && row[len - 1].0 == row[i].0 {
                        row[len - 1].1 += row[i].1;
                    } else {
                        row[len] = row[i];
                        len += 1;
                    }
                }
                len
            })
            .collect();
        let total: usize = lens.iter().sum();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut targets: Vec<NodeIx> = Vec::with_capacity(total);
        let mut weights: Vec<f64> = Vec::with_capacity(total);
        for (u, &len) in lens.iter().enumerate() {
            let row = &bucket[starts[u]..starts[u] + len];
            targets.extend(row.iter().map(|e| e.0));
            weights.extend(row.iter().map(|e| e.1));
            offsets.push(targets.len());
        }
        Csr {
            offsets,
            targets,
            weights,
        }
    }

    /// Builds from rows already sorted by target without repeats (the caller guarantees it).
    pub(crate) fn from_sorted_rows(
        offsets: Vec<usize>,
        targets: Vec<NodeIx>,
        weights: Vec<f64>,
    ) -> Self {
        debug_assert_eq!(targets.len(), weights.len());
        debug_assert_eq!(offsets.last().copied(), Some(targets.len()));
        Csr {
            offsets,
            targets,
            weights,
        }
    }

    /// A new adjacency with `n` nodes (at least the current count) holding these links plus the
    /// undirected `added` ones. Existing rows are merged with the sorted additions rather than
    /// re-sorted, so an update costs O(n + m + a log a) for `a` added links, not a rebuild.
    pub fn with_added(&self, n: usize, added: &[(NodeIx, NodeIx, f64)]) -> Result<Self> {
        if n < self.node_count() {
            return Err(GraphError::InvalidParameter {
                name: "n",
                reason: "an update cannot remove nodes".into(),
            });
        }
        let delta = Csr::from_undirected(n, added)?;
        if self.targets.is_empty() {
            // Nothing to merge with (a first build): the additions are the adjacency.
            return Ok(delta);
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut targets = Vec::with_capacity(self.targets.len() + delta.targets.len());
        let mut weights = Vec::with_capacity(targets.capacity());
        for u in 0..n as NodeIx {
            let (old_t, old_w) = if (u as usize) < self.node_count() {
                (self.neighbors(u), self.weights(u))
            } else {
                (&[][..], &[][..])
            };
            let (new_t, new_w) = (delta.neighbors(u), delta.weights(u));
            let (mut i, mut j) = (0, 0);
            while i < old_t.len() || j < new_t.len() {
                let take_old = j == new_t.len() || (i < old_t.len() && old_t[i] < new_t[j]);
                let take_new = i == old_t.len() || (j < new_t.len() && new_t[j] < old_t[i]);
                if take_old {
                    targets.push(old_t[i]);
                    weights.push(old_w[i]);
                    i += 1;
                } else if take_new {
                    targets.push(new_t[j]);
                    weights.push(new_w[j]);
                    j += 1;
                } else {
                    targets.push(old_t[i]);
                    weights.push(old_w[i] + new_w[j]);
                    i += 1;
                    j += 1;
                }
            }
            offsets.push(targets.len());
        }
        Ok(Csr {
            offsets,
            targets,
            weights,
        })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of distinct undirected links, self-loops included.
    pub fn link_count(&self) -> usize {
        let loops = (0..self.node_count())
            .filter(|&u| self.self_loop(u as NodeIx) > 0.0)
            .count();
        (self.targets.len() - loops) / 2 + loops
    }

    /// Neighbours of `u` in ascending order (including `u` itself if it has a self-loop).
    pub fn neighbors(&self, u: NodeIx) -> &[NodeIx] {
        let u = u as usize;
        &self.targets[self.offsets[u]..self.offsets[u + 1]]
    }

    /// Total length of all neighbour rows (each link twice, a self-loop once).
    pub fn neighbors_len(&self) -> usize {
        self.targets.len()
    }

    /// Where `u`'s row begins in the concatenation of all rows.
    pub(crate) fn row_start(&self, u: NodeIx) -> usize {
        self.offsets[u as usize]
    }

    /// Weights matching [`Csr::neighbors`].
    pub fn weights(&self, u: NodeIx) -> &[f64] {
        let u = u as usize;
        &self.weights[self.offsets[u]..self.offsets[u + 1]]
    }

    /// Neighbours with weights.
    pub fn edges(&self, u: NodeIx) -> impl Iterator<Item = (NodeIx, f64)> + '_ {
        self.neighbors(u)
            .iter()
            .copied()
            .zip(self.weights(u).iter().copied())
    }

    /// Number of distinct neighbours other than `u` itself.
    pub fn degree(&self, u: NodeIx) -> usize {
        let row = self.neighbors(u);
        row.len() - usize::from(row.binary_search(&u).is_ok())
    }

    /// Weight of the self-loop on `u` (0 if none).
    pub fn self_loop(&self, u: NodeIx) -> f64 {
        match self.neighbors(u).binary_search(&u) {
            Ok(i) => self.weights(u)[i],
            Err(_) => 0.0,
        }
    }

    /// Weighted degree, a self-loop counting twice (so strengths sum to twice the total weight).
    pub fn strength(&self, u: NodeIx) -> f64 {
        self.weights(u).iter().sum::<f64>() + self.self_loop(u)
    }

    /// Sum of all link weights, each undirected link once.
    pub fn total_weight(&self) -> f64 {
        (0..self.node_count())
            .map(|u| self.strength(u as NodeIx))
            .sum::<f64>()
            / 2.0
    }
}

pub(crate) fn check_ix(u: NodeIx, n: usize) -> Result<()> {
    if (u as usize) < n {
        Ok(())
    } else {
        Err(GraphError::NodeOutOfRange {
            index: u as usize,
            len: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_summed_and_rows_sorted() {
        let g =
            Csr::from_undirected(3, &[(2, 0, 1.0), (0, 1, 2.0), (0, 2, 0.5), (1, 1, 3.0)]).unwrap();
        assert_eq!(g.neighbors(0), &[1, 2]);
        assert_eq!(g.weights(0), &[2.0, 1.5]);
        assert_eq!(g.neighbors(1), &[0, 1]);
        assert_eq!(g.degree(1), 1);
        assert_eq!(g.self_loop(1), 3.0);
        assert_eq!(g.strength(1), 8.0);
        assert_eq!(g.link_count(), 3);
        assert_eq!(g.total_weight(), 6.5);
    }

    #[test]
    fn rows_equal_a_plain_map_of_summed_pairs() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 3000;
        // Many repeats and some self-loops, weights that round differently in other orders.
        let edges: Vec<(NodeIx, NodeIx, f64)> = (0..40_000)
            .map(|_| {
                let a = rng.random_range(0..n as NodeIx);
                let b = if rng.random_bool(0.05) {
                    a
                } else {
                    (a + rng.random_range(0..40)) % n as NodeIx
                };
                (a, b, rng.random_range(0.1..1.0))
            })
            .collect();
        let g = Csr::from_undirected(n, &edges).unwrap();
        let mut want: std::collections::BTreeMap<(NodeIx, NodeIx), Vec<f64>> = Default::default();
        for &(a, b, w) in &edges {
            want.entry((a, b)).or_default().push(w);
            if a != b {
                want.entry((b, a)).or_default().push(w);
            }
        }
        let mut got = Vec::new();
        for u in 0..n as NodeIx {
            got.extend(g.edges(u).map(|(v, w)| ((u, v), w)));
        }
        let want: Vec<_> = want
            .into_iter()
            .map(|(k, mut ws)| {
                ws.sort_by(f64::total_cmp);
                (k, ws.iter().fold(0.0, |s, w| s + w))
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(Csr::from_entries(n, g_entries(&g)), g);
    }

    fn g_entries(g: &Csr) -> Vec<(NodeIx, NodeIx, f64)> {
        (0..g.node_count() as NodeIx)
            .rev()
            .flat_map(|u| g.edges(u).map(move |(v, w)| (u, v, w)))
            .collect()
    }

    #[test]
    fn merging_additions_equals_building_at_once() {
        let first = [(0, 1, 1.0), (1, 2, 2.0)];
        let more = [(2, 3, 1.0), (0, 1, 0.5), (3, 0, 4.0)];
        let merged = Csr::from_undirected(3, &first)
            .unwrap()
            .with_added(4, &more)
            .unwrap();
        let all: Vec<_> = first.iter().chain(more.iter()).copied().collect();
        assert_eq!(merged, Csr::from_undirected(4, &all).unwrap());
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        let err = Csr::from_undirected(2, &[(0, 2, 1.0)]).unwrap_err();
        assert!(matches!(
            err,
            GraphError::NodeOutOfRange { index: 2, len: 2 }
        ));
    }
}
