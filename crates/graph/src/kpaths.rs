//! The k fewest-hops loopless paths between two nodes (Yen's algorithm), for an analyst who
//! wants the second and third ways two people are tied, not only the shortest.

use std::collections::BTreeSet;

use rustc_hash::FxHashSet;

use crate::csr::{Csr, NodeIx, check_ix};
use crate::error::Result;

/// Up to `k` loopless paths from `src` to `dst` (both included), fewest hops first; paths of
/// one length in the order of their node indices, so every run gives the same answer.
///
/// Yen (1971): each next path leaves a path already found at one of its nodes (the spur) and
/// goes on by the fewest hops, avoiding the root's own nodes and the next step of every path
/// found that shares the root. Each spur is one breadth-first search that stops at `dst`.
pub fn k_shortest_paths(g: &Csr, src: NodeIx, dst: NodeIx, k: usize) -> Result<Vec<Vec<NodeIx>>> {
    let n = g.node_count();
    check_ix(src, n)?;
    check_ix(dst, n)?;
    let mut search = Search::new(n);
    let mut found: Vec<Vec<NodeIx>> = Vec::new();
    if k == 0 {
        return Ok(found);
    }
    let Some(first) = search.path(g, src, dst, &[], &FxHashSet::default()) else {
        return Ok(found);
    };
    found.push(first);
    // Candidates by (hops, nodes): the shortest first, ties by node indices.
    let mut candidates: BTreeSet<(usize, Vec<NodeIx>)> = BTreeSet::new();
    while found.len() < k {
        let last = &found[found.len() - 1];
        for j in 0..last.len().saturating_sub(1) {
            let root = &last[..=j];
            let banned_steps: FxHashSet<(NodeIx, NodeIx)> = found
                .iter()
                .filter(|p| p.len() > j + 1 && p[..=j] == *root)
                .map(|p| (p[j], p[j + 1]))
                .collect();
            if let Some(spur) = search.path(g, last[j], dst, &root[..j], &banned_steps) {
                let mut whole = root[..j].to_vec();
                whole.extend(spur);
                candidates.insert((whole.len(), whole));
            }
        }
        let Some((_, next)) = candidates.pop_first() else {
            break;
        };
        found.push(next);
    }
    Ok(found)
}

/// A breadth-first search whose arrays are kept from one search to the next (a spur search
/// touches few nodes of a large graph; clearing all of them each time would cost more).
struct Search {
    parent: Vec<NodeIx>,
    blocked: Vec<bool>,
    reached: Vec<NodeIx>,
}

impl Search {
    fn new(n: usize) -> Search {
        Search {
            parent: vec![NodeIx::MAX; n],
            blocked: vec![false; n],
            reached: Vec::new(),
        }
    }

    /// The fewest-hops path from `src` to `dst` not through `banned_nodes` nor along
    /// `banned_steps` (taken in that direction); among equally short ones, the one through
    /// lower node indices.
    fn path(
        &mut self,
        g: &Csr,
        src: NodeIx,
        dst: NodeIx,
        banned_nodes: &[NodeIx],
        banned_steps: &FxHashSet<(NodeIx, NodeIx)>,
    ) -> Option<Vec<NodeIx>> {
        for &b in banned_nodes {
            self.blocked[b as usize] = true;
        }
        self.parent[src as usize] = src;
        self.reached.push(src);
        let mut head = 0;
        while head < self.reached.len() && self.parent[dst as usize] == NodeIx::MAX {
            let u = self.reached[head];
            head += 1;
            for &v in g.neighbors(u) {
                let vi = v as usize;
                if self.parent[vi] == NodeIx::MAX
                    && !self.blocked[vi]
                    && !banned_steps.contains(&(u, v))
                {
                    self.parent[vi] = u;
                    self.reached.push(v);
                }
            }
        }
        let path = (self.parent[dst as usize] != NodeIx::MAX).then(|| {
            let mut path = vec![dst];
            let mut at = dst;
            while at != src {
                at = self.parent[at as usize];
                path.push(at);
            }
            path.reverse();
            path
        });
        for &r in &self.reached {
            self.parent[r as usize] = NodeIx::MAX;
        }
        self.reached.clear();
        for &b in banned_nodes {
            self.blocked[b as usize] = false;
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::shortest_path;

    fn graph(n: usize, links: &[(NodeIx, NodeIx)]) -> Csr {
        let edges: Vec<(NodeIx, NodeIx, f64)> = links.iter().map(|&(a, b)| (a, b, 1.0)).collect();
        Csr::from_undirected(n, &edges).unwrap()
    }

    /// A square 0-1-3, 0-2-3 with a long way round 0-4-5-3.
    #[test]
    fn paths_come_shortest_first_and_loopless() {
        let g = graph(6, &[(0, 1), (1, 3), (0, 2), (2, 3), (0, 4), (4, 5), (5, 3)]);
        let paths = k_shortest_paths(&g, 0, 3, 5).unwrap();
        assert_eq!(
            paths,
            vec![vec![0, 1, 3], vec![0, 2, 3], vec![0, 4, 5, 3]],
            "only three loopless paths exist"
        );
        assert_eq!(k_shortest_paths(&g, 0, 3, 2).unwrap().len(), 2);
        assert!(k_shortest_paths(&g, 0, 3, 0).unwrap().is_empty());
        assert_eq!(k_shortest_paths(&g, 3, 3, 3).unwrap(), vec![vec![3]]);
        let apart = graph(3, &[(0, 1)]);
        assert!(k_shortest_paths(&apart, 0, 2, 3).unwrap().is_empty());
        assert!(k_shortest_paths(&apart, 0, 9, 3).is_err());
    }

    /// On random graphs: the first path is `shortest_path`'s, lengths never decrease, no path
    /// repeats or revisits a node, every step is a link, and each path is one no other search
    /// could have skipped: all loopless paths of small graphs, enumerated, agree on the counts.
    #[test]
    fn agrees_with_enumerating_every_path_on_small_random_graphs() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..40 {
            let n = rng.random_range(4..9usize);
            let mut links = Vec::new();
            for a in 0..n as NodeIx {
                for b in a + 1..n as NodeIx {
                    if rng.random::<f64>() < 0.4 {
                        links.push((a, b));
                    }
                }
            }
            let g = graph(n, &links);
            let (s, t) = (0, n as NodeIx - 1);
            let all = every_path(&g, s, t);
            let k = rng.random_range(1..12usize);
            let got = k_shortest_paths(&g, s, t, k).unwrap();
            assert_eq!(got.len(), k.min(all.len()));
            if let Some(first) = got.first() {
                assert_eq!(Some(first.clone()), shortest_path(&g, s, t).unwrap());
            }
            let mut lengths: Vec<usize> = all.iter().map(Vec::len).collect();
            lengths.sort_unstable();
            let got_lengths: Vec<usize> = got.iter().map(Vec::len).collect();
            assert_eq!(got_lengths, lengths[..got.len()].to_vec());
            let distinct: FxHashSet<&Vec<NodeIx>> = got.iter().collect();
            assert_eq!(distinct.len(), got.len());
            for p in &got {
                assert!(all.contains(p), "{p:?} is not a loopless path");
            }
        }
    }

    /// Every loopless path from `s` to `t`, by depth-first search.
    fn every_path(g: &Csr, s: NodeIx, t: NodeIx) -> Vec<Vec<NodeIx>> {
        fn walk(
            g: &Csr,
            at: NodeIx,
            t: NodeIx,
            path: &mut Vec<NodeIx>,
            out: &mut Vec<Vec<NodeIx>>,
        ) {
            if at == t {
                out.push(path.clone());
                return;
            }
            for &v in g.neighbors(at) {
                if !path.contains(&v) {
                    path.push(v);
                    walk(g, v, t, path, out);
                    path.pop();
                }
            }
        }
        let mut out = Vec::new();
        walk(g, s, t, &mut vec![s], &mut out);
        out
    }
}
