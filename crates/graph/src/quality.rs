//! Partition quality functions (modularity, Constant Potts Model) and normalized mutual
//! information between two partitions.

use rustc_hash::FxHashMap;

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};

fn check_len(g: &Csr, membership: &[u32]) -> Result<()> {
    if membership.len() != g.node_count() {
        return Err(GraphError::PartitionLength {
            expected: g.node_count(),
            got: membership.len(),
        });
    }
    Ok(())
}

/// Per community: internal link weight (each link once) and total strength.
fn internal_and_strength(g: &Csr, membership: &[u32]) -> FxHashMap<u32, (f64, f64)> {
    let mut per: FxHashMap<u32, (f64, f64)> = FxHashMap::default();
    for u in 0..g.node_count() as NodeIx {
        let c = membership[u as usize];
        let entry = per.entry(c).or_insert((0.0, 0.0));
        for (v, w) in g.edges(u) {
            if membership[v as usize] == c {
                // Links between two nodes are seen from both rows; self-loops once.
                entry.0 += if v == u { w } else { w / 2.0 };
            }
        }
        entry.1 += g.strength(u);
    }
    per
}

/// Modularity with resolution `gamma`:
/// `Q = sum_c [ W_c / m - gamma (K_c / 2m)^2 ]` with `W_c` the weight inside community `c`, `K_c`
/// its total strength and `m` the total weight. For `gamma = 1` it lies in [-1/2, 1].
pub fn modularity(g: &Csr, membership: &[u32], gamma: f64) -> Result<f64> {
    check_len(g, membership)?;
    let m = g.total_weight();
    if m <= 0.0 {
        return Err(GraphError::Empty("modularity needs at least one link"));
    }
    Ok(internal_and_strength(g, membership)
        .values()
        .map(|&(w, k)| w / m - gamma * (k / (2.0 * m)).powi(2))
        .sum())
}

/// Constant Potts Model quality `sum_c [ W_c - gamma * n_c (n_c - 1) / 2 ]` with `n_c` the
/// number of nodes in community `c`: a community must hold links denser than `gamma` to pay.
pub fn cpm(g: &Csr, membership: &[u32], gamma: f64) -> Result<f64> {
    check_len(g, membership)?;
    let mut sizes: FxHashMap<u32, f64> = FxHashMap::default();
    for &c in membership {
        *sizes.entry(c).or_default() += 1.0;
    }
    Ok(internal_and_strength(g, membership)
        .iter()
        .map(|(c, &(w, _))| {
            let n = sizes.get(c).copied().unwrap_or(0.0);
            w - gamma * n * (n - 1.0) / 2.0
        })
        .sum())
}

/// Normalized mutual information `2 I(X; Y) / (H(X) + H(Y))` between two partitions of the same
/// items, in [0, 1]: 1 when they are the same up to relabelling. Two single-block partitions
/// count as identical (1).
pub fn nmi(a: &[u32], b: &[u32]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(GraphError::PartitionLength {
            expected: a.len(),
            got: b.len(),
        });
    }
    if a.is_empty() {
        return Err(GraphError::Empty("NMI needs at least one item"));
    }
    let n = a.len() as f64;
    let mut ca: FxHashMap<u32, f64> = FxHashMap::default();
    let mut cb: FxHashMap<u32, f64> = FxHashMap::default();
    let mut joint: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for (&x, &y) in a.iter().zip(b) {
        *ca.entry(x).or_default() += 1.0;
        *cb.entry(y).or_default() += 1.0;
        *joint.entry((x, y)).or_default() += 1.0;
    }
    let entropy =
        |c: &FxHashMap<u32, f64>| -> f64 { c.values().map(|&k| -(k / n) * (k / n).ln()).sum() };
    let (ha, hb) = (entropy(&ca), entropy(&cb));
    if ha + hb == 0.0 {
        return Ok(1.0);
    }
    let mi: f64 = joint
        .iter()
        .map(|(&(x, y), &k)| (k / n) * ((k * n) / (ca[&x] * cb[&y])).ln())
        .sum();
    Ok((2.0 * mi / (ha + hb)).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two triangles joined by one link.
    fn barbell() -> Csr {
        Csr::from_undirected(
            6,
            &[
                (0, 1, 1.0),
                (1, 2, 1.0),
                (0, 2, 1.0),
                (3, 4, 1.0),
                (4, 5, 1.0),
                (3, 5, 1.0),
                (2, 3, 1.0),
            ],
        )
        .unwrap()
    }

    #[test]
    fn modularity_of_two_triangles_by_hand() {
        // m = 7; each side holds 3 links and strength 7: Q = 2 (3/7 - (7/14)^2) = 5/14.
        let q = modularity(&barbell(), &[0, 0, 0, 1, 1, 1], 1.0).unwrap();
        assert!((q - 5.0 / 14.0).abs() < 1e-12);
        // Everything in one block: Q = 1 - 1 = 0.
        assert!(modularity(&barbell(), &[0; 6], 1.0).unwrap().abs() < 1e-12);
        // gamma scales only the null-model term: 6/7 - 0.5 * 0.5 = 0.6071...
        let q = modularity(&barbell(), &[0, 0, 0, 1, 1, 1], 0.5).unwrap();
        assert!((q - (6.0 / 7.0 - 0.25)).abs() < 1e-12);
        assert!(modularity(&barbell(), &[0; 5], 1.0).is_err());
    }

    #[test]
    fn cpm_by_hand() {
        // Two triangles at gamma 0.5: 2 * (3 - 0.5 * 3) = 3.
        assert_eq!(cpm(&barbell(), &[0, 0, 0, 1, 1, 1], 0.5).unwrap(), 3.0);
        // One block: 7 - 0.5 * 15 = -0.5.
        assert_eq!(cpm(&barbell(), &[0; 6], 0.5).unwrap(), -0.5);
    }

    #[test]
    fn nmi_identity_relabelling_and_independence() {
        let a = [0, 0, 1, 1, 2, 2];
        assert!((nmi(&a, &[5, 5, 3, 3, 9, 9]).unwrap() - 1.0).abs() < 1e-12);
        // Two halves against an alternating split share no information.
        assert!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap().abs() < 1e-12);
        // A hand-computed case: X = {0,0,1,1}, Y = {0,0,0,1}:
        // H(X) = ln 2, H(Y) = -(3/4 ln 3/4 + 1/4 ln 1/4), I = H(Y) - H(Y|X) = H(Y) - ln(2)/2.
        let hx = 2f64.ln();
        let hy = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
        let expected = 2.0 * (hy - hx / 2.0) / (hx + hy);
        assert!((nmi(&[0, 0, 1, 1], &[0, 0, 0, 1]).unwrap() - expected).abs() < 1e-12);
        assert!(nmi(&[0], &[0, 1]).is_err());
    }
}
