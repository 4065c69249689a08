#![allow(dead_code)]

use enlace_graph::Csr;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Zachary's karate club (1977), 34 members and 78 friendships, members numbered from 1.
pub const KARATE: &[(u32, &[u32])] = &[
    (1, &[2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 18, 20, 22, 32]),
    (2, &[3, 4, 8, 14, 18, 20, 22, 31]),
    (3, &[4, 8, 9, 10, 14, 28, 29, 33]),
    (4, &[8, 13, 14]),
    (5, &[7, 11]),
    (6, &[7, 11, 17]),
    (7, &[17]),
    (9, &[31, 33, 34]),
    (10, &[34]),
    (14, &[34]),
    (15, &[33, 34]),
    (16, &[33, 34]),
    (19, &[33, 34]),
    (20, &[34]),
    (21, &[33, 34]),
    (23, &[33, 34]),
    (24, &[26, 28, 30, 33, 34]),
    (25, &[26, 28, 32]),
    (26, &[32]),
    (27, &[30, 34]),
    (28, &[34]),
    (29, &[32, 34]),
    (30, &[33, 34]),
    (31, &[33, 34]),
    (32, &[33, 34]),
    (33, &[34]),
];

pub fn karate() -> Csr {
    let edges: Vec<(u32, u32, f64)> = KARATE
        .iter()
        .flat_map(|&(a, bs)| bs.iter().map(move |&b| (a - 1, b - 1, 1.0)))
        .collect();
    assert_eq!(edges.len(), 78);
    Csr::from_undirected(34, &edges).unwrap()
}

/// A planted partition: `groups` blocks of `size` nodes, each pair linked with probability
/// `p_in` inside a block and `p_out` across. Returns the graph and the planted membership.
pub fn planted(groups: u32, size: u32, p_in: f64, p_out: f64, seed: u64) -> (Csr, Vec<u32>) {
    let n = groups * size;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut edges = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            let p = if a / size == b / size { p_in } else { p_out };
            if rng.random::<f64>() < p {
                edges.push((a, b, 1.0));
            }
        }
    }
    let truth = (0..n).map(|v| v / size).collect();
    (Csr::from_undirected(n as usize, &edges).unwrap(), truth)
}

/// True if every community of `membership` induces a connected subgraph.
pub fn communities_connected(g: &Csr, membership: &[u32]) -> bool {
    let n = g.node_count();
    let mut seen = vec![false; n];
    let mut done_comm = std::collections::HashSet::new();
    for s in 0..n {
        let c = membership[s];
        if !done_comm.insert(c) {
            if !seen[s] {
                return false;
            }
            continue;
        }
        let mut stack = vec![s as u32];
        seen[s] = true;
        while let Some(u) = stack.pop() {
            for &v in g.neighbors(u) {
                if membership[v as usize] == c && !seen[v as usize] {
                    seen[v as usize] = true;
                    stack.push(v);
                }
            }
        }
    }
    true
}
