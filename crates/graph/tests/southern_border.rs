//! The published trafficking network from Mexico's southern border (34 operators, 225 ties):
//! reproduces the density and Freeman degree centralization its paper reports.

use std::path::PathBuf;

use enlace_graph::{EdgeKind, NodeKind, degree_stats, read_edge_list};

fn data_dir() -> PathBuf {
    // The shared folder sits at the workspace root (`shared/`) in a checkout that has one, or
    // beside the checkout when several worktrees share it.
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        crate_dir.join("../../shared/data/southern-border-network"),
        crate_dir.join("../../../shared/data/southern-border-network"),
    ];
    match candidates.iter().find(|d| d.join("edges.txt").is_file()) {
        Some(dir) => dir.clone(),
        None => panic!(
            "the southern-border data set is missing: looked for edges.txt in {:?}; this test \
             must not pass without it",
            candidates
        ),
    }
}

#[test]
fn density_and_degree_centralization_match_the_paper() {
    let file = std::fs::File::open(data_dir().join("edges.txt")).unwrap();
    let g = read_edge_list(
        std::io::BufReader::new(file),
        NodeKind::Person,
        EdgeKind::Associated,
    )
    .unwrap();
    assert_eq!(g.node_count(), 34);
    assert_eq!(g.adjacency().link_count(), 225);
    let stats = degree_stats(g.adjacency()).unwrap();
    let density = stats.density.unwrap();
    let centralization = stats.centralization.unwrap();
    // The paper reports 0.401 and 44.32 %.
    assert_eq!(format!("{density:.3}"), "0.401");
    assert_eq!(format!("{:.2}", centralization * 100.0), "44.32");
}

#[test]
fn every_operator_has_a_role() {
    let labels = std::fs::read_to_string(data_dir().join("labels.csv")).unwrap();
    let ids: Vec<u32> = labels
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(ids, (0..34).collect::<Vec<_>>());
}
