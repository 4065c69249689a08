mod common;

use common::{communities_connected, karate, planted};
use enlace_graph::{
    LeidenConfig, Objective, connected_components, cpm, leiden, leiden_from, modularity, nmi,
};

#[test]
fn karate_modularity_reaches_the_known_optimum_region() {
    let g = karate();
    let mut best: f64 = 0.0;
    for seed in 0..10 {
        let cfg = LeidenConfig {
            seed,
            ..LeidenConfig::default()
        };
        let p = leiden(&g, &cfg).unwrap();
        // The maximum modularity of the karate club is 0.4198 (four communities).
        assert!(p.quality >= 0.41, "seed {seed}: {}", p.quality);
        assert!(p.quality <= 0.41979 + 1e-4);
        assert!((p.quality - modularity(&g, &p.membership, 1.0).unwrap()).abs() < 1e-12);
        assert!(communities_connected(&g, &p.membership));
        best = best.max(p.quality);
    }
    assert!(best > 0.4197, "best {best}");
}

#[test]
fn same_seed_same_partition() {
    let (g, _) = planted(6, 30, 0.3, 0.02, 3);
    let cfg = LeidenConfig {
        seed: 42,
        ..LeidenConfig::default()
    };
    assert_eq!(leiden(&g, &cfg).unwrap(), leiden(&g, &cfg).unwrap());
}

/// The refinement runs community by community in parallel, each with a generator of its own:
/// the partition must not depend on how many threads did the work.
#[test]
fn the_partition_does_not_depend_on_the_threads() {
    let (g, _) = planted(24, 50, 0.2, 0.01, 5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let modularity = leiden(&g, &LeidenConfig::default()).unwrap();
            let cpm = leiden(
                &g,
                &LeidenConfig {
                    objective: Objective::Cpm { resolution: 0.05 },
                    seed: 9,
                    ..LeidenConfig::default()
                },
            )
            .unwrap();
            (modularity, cpm)
        })
    };
    let one = run(1);
    assert!(one.0.count > 1 && one.1.count > 1);
    assert_eq!(one, run(4));
    assert_eq!(one, run(3));
}

#[test]
fn planted_partition_is_recovered() {
    let (g, truth) = planted(8, 40, 0.25, 0.01, 11);
    let p = leiden(&g, &LeidenConfig::default()).unwrap();
    let score = nmi(&truth, &p.membership).unwrap();
    assert!(score > 0.95, "NMI {score}");
    assert!(communities_connected(&g, &p.membership));
}

#[test]
fn cpm_resolution_controls_granularity() {
    let (g, truth) = planted(5, 30, 0.5, 0.02, 7);
    // Blocks have density 0.5 and cross links 0.02: a resolution between keeps the blocks.
    let mid = leiden(
        &g,
        &LeidenConfig {
            objective: Objective::Cpm { resolution: 0.1 },
            ..LeidenConfig::default()
        },
    )
    .unwrap();
    assert!(nmi(&truth, &mid.membership).unwrap() > 0.95);
    assert!((mid.quality - cpm(&g, &mid.membership, 0.1).unwrap()).abs() < 1e-9);
    // Above the block density nothing is dense enough: far more, smaller communities.
    let high = leiden(
        &g,
        &LeidenConfig {
            objective: Objective::Cpm { resolution: 0.9 },
            ..LeidenConfig::default()
        },
    )
    .unwrap();
    assert!(
        high.count > 3 * mid.count,
        "{} vs {}",
        high.count,
        mid.count
    );
    assert!(communities_connected(&g, &high.membership));
    // A resolution of 0 rewards every link: one community per connected component.
    let zero = leiden(
        &g,
        &LeidenConfig {
            objective: Objective::Cpm { resolution: 0.0 },
            ..LeidenConfig::default()
        },
    )
    .unwrap();
    assert_eq!(zero.count, connected_components(&g).count());
}

#[test]
fn higher_modularity_resolution_gives_more_communities() {
    let g = karate();
    let count = |resolution| {
        leiden(
            &g,
            &LeidenConfig {
                objective: Objective::Modularity { resolution },
                ..LeidenConfig::default()
            },
        )
        .unwrap()
        .count
    };
    assert!(count(0.3) < count(1.0));
    assert!(count(1.0) < count(3.0));
}

#[test]
fn starting_from_a_good_partition_does_not_lose_quality() {
    let g = karate();
    let first = leiden(&g, &LeidenConfig::default()).unwrap();
    let again = leiden_from(&g, &first.membership, &LeidenConfig::default()).unwrap();
    assert!(again.quality >= first.quality - 1e-12);
}

#[test]
fn bad_settings_are_errors() {
    let g = karate();
    let bad = LeidenConfig {
        objective: Objective::Cpm { resolution: -1.0 },
        ..LeidenConfig::default()
    };
    assert!(leiden(&g, &bad).is_err());
    let bad = LeidenConfig {
        randomness: 0.0,
        ..LeidenConfig::default()
    };
    assert!(leiden(&g, &bad).is_err());
    assert!(leiden_from(&g, &[0, 1], &LeidenConfig::default()).is_err());
}

#[test]
fn cpm_keeps_small_cells_that_modularity_merges() {
    // 300 cells of 20–200 nodes, internal degree 8, one tie per node elsewhere: small cells
    // hold far fewer links than the square root of the total, so modularity's resolution limit
    // merges them; a CPM resolution between a cell's density (≥ 8/199) and the cross-cell
    // density keeps them apart.
    let p = enlace_graph::generate::cells(300, 20, 200, 8.0, 1.0, 5).unwrap();
    let edges: Vec<(u32, u32, f64)> = p.edges.iter().map(|&(a, b)| (a, b, 1.0)).collect();
    let g = enlace_graph::Csr::from_undirected(p.nodes, &edges).unwrap();
    let modularity = leiden(&g, &LeidenConfig::default()).unwrap();
    let cpm = leiden(
        &g,
        &LeidenConfig {
            objective: Objective::Cpm { resolution: 0.01 },
            ..LeidenConfig::default()
        },
    )
    .unwrap();
    let nmi_mod = nmi(&p.truth, &modularity.membership).unwrap();
    let nmi_cpm = nmi(&p.truth, &cpm.membership).unwrap();
    assert!(nmi_cpm > 0.95, "CPM NMI {nmi_cpm}");
    assert!(
        nmi_cpm > nmi_mod + 0.02,
        "CPM {nmi_cpm} vs modularity {nmi_mod}"
    );
    assert!(
        modularity.count < 300,
        "modularity merged cells: {}",
        modularity.count
    );
}
