//! Brokerage: how much a node's ties reach outside its own group, where the group is a community
//! (from Leiden) or a country (from the node's agency).

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};

/// A node's position between groups.
#[derive(Clone, Debug, PartialEq)]
pub struct Brokerage {
    /// Weight of the node's links to other groups.
    pub external: f64,
    /// Number of groups other than its own that it links to.
    pub groups_reached: usize,
    /// Participation coefficient `1 - sum_s (k_s / k)^2` over the groups `s` of its neighbours
    /// (Guimerà and Amaral 2005): 0 when all ties stay in one group, near 1 when spread evenly.
    pub participation: f64,
}

/// Brokerage of every node with respect to `groups` (one label per node).
pub fn brokerage(g: &Csr, groups: &[u32]) -> Result<Vec<Brokerage>> {
    if groups.len() != g.node_count() {
        return Err(GraphError::PartitionLength {
            expected: g.node_count(),
            got: groups.len(),
        });
    }
    let mut per_group: Vec<(u32, f64)> = Vec::new();
    Ok((0..g.node_count() as NodeIx)
        .map(|u| {
            per_group.clear();
            let own = groups[u as usize];
            let mut total = 0.0;
            let mut external = 0.0;
            for (v, w) in g.edges(u) {
                if v == u {
                    continue;
                }
                let s = groups[v as usize];
                total += w;
                if s != own {
                    external += w;
                }
                match per_group.iter_mut().find(|(x, _)| *x == s) {
                    Some(slot) => slot.1 += w,
                    None => per_group.push((s, w)),
                }
            }
            let participation = if total > 0.0 {
                1.0 - per_group
                    .iter()
                    .map(|(_, k)| (k / total).powi(2))
                    .sum::<f64>()
            } else {
                0.0
            };
            Brokerage {
                external,
                groups_reached: per_group.iter().filter(|(s, _)| *s != own).count(),
                participation,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_between_three_groups() {
        // Node 0 (group 0) links to 1 (group 0), 2 (group 1) and 3 (group 2).
        let g = Csr::from_undirected(4, &[(0, 1, 1.0), (0, 2, 1.0), (0, 3, 1.0)]).unwrap();
        let b = brokerage(&g, &[0, 0, 1, 2]).unwrap();
        assert_eq!(b[0].external, 2.0);
        assert_eq!(b[0].groups_reached, 2);
        assert!((b[0].participation - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(b[1].participation, 0.0);
        assert_eq!(b[2].groups_reached, 1);
        assert!(brokerage(&g, &[0]).is_err());
    }
}
