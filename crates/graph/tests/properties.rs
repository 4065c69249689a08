mod common;

use common::communities_connected;
use enlace_graph::{
    Csr, LeidenConfig, Objective, PageRankConfig, betweenness, betweenness_sampled, leiden,
    modularity, nmi, pagerank,
};
use proptest::prelude::*;

/// Random simple graphs of up to 40 nodes, possibly disconnected, possibly weighted.
fn graphs() -> impl Strategy<Value = Csr> {
    (2usize..40).prop_flat_map(|n| {
        proptest::collection::vec((0..n as u32, 0..n as u32, 1u32..4), 0..n * 3).prop_map(
            move |raw| {
                let edges: Vec<_> = raw
                    .into_iter()
                    .filter(|(a, b, _)| a != b)
                    .map(|(a, b, w)| (a, b, f64::from(w)))
                    .collect();
                Csr::from_undirected(n, &edges).unwrap()
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn leiden_partitions_cover_every_node_once_with_connected_communities(
        g in graphs(),
        seed in 0u64..1000,
        cpm in any::<bool>(),
        resolution in 0.05f64..2.0,
    ) {
        let objective = if cpm {
            Objective::Cpm { resolution }
        } else {
            Objective::Modularity { resolution }
        };
        let cfg = LeidenConfig { objective, seed, ..LeidenConfig::default() };
        let p = leiden(&g, &cfg).unwrap();
        prop_assert_eq!(p.membership.len(), g.node_count());
        // Labels are exactly 0..count, each used.
        let mut used = vec![false; p.count];
        for &c in &p.membership {
            prop_assert!((c as usize) < p.count);
            used[c as usize] = true;
        }
        prop_assert!(used.iter().all(|&u| u));
        prop_assert!(communities_connected(&g, &p.membership));
    }

    #[test]
    fn modularity_is_within_bounds(g in graphs(), labels in proptest::collection::vec(0u32..5, 40)) {
        prop_assume!(g.total_weight() > 0.0);
        let m = &labels[..g.node_count()];
        let q = modularity(&g, m, 1.0).unwrap();
        prop_assert!((-0.5 - 1e-12..=1.0).contains(&q), "{}", q);
        // Leiden does at least as well as singletons.
        let p = leiden(&g, &LeidenConfig::default()).unwrap();
        let singletons: Vec<u32> = (0..g.node_count() as u32).collect();
        prop_assert!(p.quality >= modularity(&g, &singletons, 1.0).unwrap() - 1e-12);
    }

    #[test]
    fn pagerank_is_a_distribution(g in graphs()) {
        let pr = pagerank(&g, &PageRankConfig::default()).unwrap();
        let sum: f64 = pr.scores.iter().sum();
        prop_assert!((sum - 1.0).abs() < 1e-9);
        prop_assert!(pr.scores.iter().all(|&p| p > 0.0));
    }

    #[test]
    fn sampling_every_pivot_is_exact(g in graphs(), seed in any::<u64>()) {
        let exact = betweenness(&g, false).unwrap();
        let sampled = betweenness_sampled(&g, g.node_count(), seed, false).unwrap();
        for (a, b) in exact.iter().zip(&sampled) {
            prop_assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0));
        }
    }

    #[test]
    fn nmi_is_symmetric_and_bounded(
        a in proptest::collection::vec(0u32..4, 1..30),
        b in proptest::collection::vec(0u32..4, 30),
    ) {
        let b = &b[..a.len()];
        let x = nmi(&a, b).unwrap();
        prop_assert!((0.0..=1.0).contains(&x));
        prop_assert!((x - nmi(b, &a).unwrap()).abs() < 1e-12);
        prop_assert!((nmi(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    }
}
