//! The demo's last step: each agency node builds its network (its own records, the
//! organisations its records name, and what partners released to it) into `NODE_DIR/network`,
//! where its web UI's explorer reads it, with communities and centrality beside it.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use crate::demo_nodes::Federation;
use crate::network::GraphDir;
use crate::network::analyse::{LeidenArgs, Method, compute_centrality, compute_communities};
use crate::network::build::{BuildArgs, build};

/// Betweenness pivots: sampled, so the step stays within a second or two at demo sizes.
const PIVOTS: usize = 64;

pub fn run(fed: &Federation, data: &Path) -> Result<()> {
    outln!(
        "\n11. Each agency builds the network of its records and of what partners released to it (for the explorer):"
    );
    let side = |name: &str| Some(data.join("events").join(name)).filter(|p| p.is_file());
    for node in ["us", "mx", "gt"] {
        let started = Instant::now();
        let dir = fed.dir(node);
        let args = BuildArgs {
            from: vec![dir.join("records").display().to_string()],
            clusters: Vec::new(),
            hits: Vec::new(),
            vehicles: side("vehicles.csv"),
            transfers: side("transfers.csv"),
            organisations: side("organisations.csv"),
            node: Some(dir.clone()),
            // The scenario's side files name every agency's records; each node holds its own.
            skip_unknown_records: true,
            out: None,
            rebuild: true,
            json: false,
        };
        let summary = build(&args)?;
        let graph = GraphDir {
            dir: enlace_node::node_dir::NodeDir::new(&dir).network(),
        };
        let g = graph.load()?;
        let leiden = LeidenArgs {
            method: Method::Modularity,
            resolution: None,
            seed: 0,
        };
        let (membership, _) = compute_communities(&graph, &g, &leiden)?;
        let c = compute_centrality(&g, PIVOTS, 0)?;
        graph.saved().write_centrality(&g, &c)?;
        let communities = membership.iter().copied().max().map_or(0, |m| m + 1);
        outln!(
            "   [{}] {} nodes, {} edges, {communities} communities, in {:.1} s → {}",
            node.to_uppercase(),
            summary.nodes,
            summary.edges,
            started.elapsed().as_secs_f64(),
            graph.dir.display()
        );
    }
    Ok(())
}
