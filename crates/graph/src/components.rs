//! Connected components.

use crate::csr::{Csr, NodeIx};

/// Component labels numbered 0.. in order of each component's lowest node index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Components {
    pub membership: Vec<u32>,
    pub sizes: Vec<usize>,
}

impl Components {
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Label of the largest component (the lowest label among equals), if any.
    pub fn largest(&self) -> Option<u32> {
        let best = self.sizes.iter().copied().max()?;
        self.sizes.iter().position(|&s| s == best).map(|p| p as u32)
    }
}

/// Connected components by breadth-first search.
pub fn connected_components(g: &Csr) -> Components {
    let n = g.node_count();
    let mut membership = vec![u32::MAX; n];
    let mut sizes = Vec::new();
    let mut queue = Vec::new();
    for s in 0..n {
        if membership[s] != u32::MAX {
            continue;
        }
        let label = sizes.len() as u32;
        membership[s] = label;
        queue.clear();
        queue.push(s as NodeIx);
        let mut head = 0;
        while head < queue.len() {
            let u = queue[head];
            head += 1;
            for &v in g.neighbors(u) {
                if membership[v as usize] == u32::MAX {
                    membership[v as usize] = label;
                    queue.push(v);
                }
            }
        }
        sizes.push(queue.len());
    }
    Components { membership, sizes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_components_and_an_isolate() {
        let g = Csr::from_undirected(6, &[(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0)]).unwrap();
        let c = connected_components(&g);
        assert_eq!(c.membership, vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(c.sizes, vec![3, 2, 1]);
        assert_eq!(c.largest(), Some(0));
    }
}
