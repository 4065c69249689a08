//! Times the main operations on a generated planted-partition graph.
//!
//! Usage: `cargo run --release -p enlace-graph --example bench -- [NODES] [EDGES] [PIVOTS]`
//! (defaults 1,000,000 nodes, 5,000,000 edges, 1,000 pivots). Nodes fall into groups of 100;
//! 80 % of edges stay inside a group. Build time includes interning string ids.

use std::error::Error;
use std::time::Instant;

use enlace_graph::{
    EdgeKind, LeidenConfig, Node, NodeKind, PageRankConfig, Update, betweenness_sampled, leiden,
    nmi, pagerank,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn arg(i: usize, default: usize) -> Result<usize, Box<dyn Error>> {
    match std::env::args().nth(i) {
        Some(a) => Ok(a.replace('_', "").parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let n = arg(1, 1_000_000)?;
    let m = arg(2, 5_000_000)?;
    let pivots = arg(3, 1_000)?;
    let group = 100;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let mut up = Update::new();
    for id in &ids {
        up.node(Node::new(id.clone(), NodeKind::Person));
    }
    let mut added = 0;
    while added < m {
        let u = rng.random_range(0..n);
        let v = if rng.random::<f64>() < 0.8 {
            (u / group) * group + rng.random_range(0..group.min(n - (u / group) * group))
        } else {
            rng.random_range(0..n)
        };
        if u != v {
            up.edge(&ids[u], &ids[v], EdgeKind::Associated);
            added += 1;
        }
    }
    let t = Instant::now();
    let g = up.build()?;
    println!(
        "build: {:.2} s ({} nodes, {} edges, {} distinct links)",
        t.elapsed().as_secs_f64(),
        g.node_count(),
        g.edge_count(),
        g.adjacency().link_count()
    );
    let adj = g.adjacency();
    let t = Instant::now();
    let pr = pagerank(adj, &PageRankConfig::default())?;
    println!(
        "pagerank: {:.2} s ({} iterations)",
        t.elapsed().as_secs_f64(),
        pr.iterations
    );
    let t = Instant::now();
    let p = leiden(adj, &LeidenConfig::default())?;
    let truth: Vec<u32> = (0..n as u32).map(|u| u / group as u32).collect();
    // Planted labels follow node index; the graph's indices follow first appearance of ids,
    // which is id order here because all nodes were declared first.
    println!(
        "leiden: {:.2} s ({} communities, modularity {:.4}, {} iterations, NMI to planted {:.3})",
        t.elapsed().as_secs_f64(),
        p.count,
        p.quality,
        p.iterations,
        nmi(&truth, &p.membership)?
    );
    let t = Instant::now();
    let b = betweenness_sampled(adj, pivots.min(n), 7, true)?;
    println!(
        "betweenness, {} pivots: {:.2} s (max {:.3e})",
        pivots.min(n),
        t.elapsed().as_secs_f64(),
        b.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}
