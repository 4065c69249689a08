//! Analysis of the published southern-border trafficking network (34 operators, 225 ties):
//! whole-network figures, Leiden communities with their roles, and the top brokers.
//!
//! Usage: `cargo run -p enlace-graph --example southern_border [DATA_DIR] [OUT.gexf]`
//! DATA_DIR defaults to the shared data folder; OUT.gexf, if given, receives the graph with
//! community, betweenness and PageRank columns for Gephi.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use enlace_graph::export::write_gexf;
use enlace_graph::{
    Column, EdgeKind, LeidenConfig, Node, NodeKind, Objective, PageRankConfig, Update, Values,
    betweenness, brokerage, connected_components, degree_stats, leiden, nmi, pagerank,
    read_edge_list,
};

fn data_dir(arg: Option<String>) -> Result<PathBuf, Box<dyn Error>> {
    if let Some(a) = arg {
        return Ok(PathBuf::from(a));
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        "../../shared/data/southern-border-network",
        "../../../shared/data/southern-border-network",
    ]
    .iter()
    .map(|p| crate_dir.join(p))
    .find(|d| d.join("edges.txt").is_file())
    .ok_or_else(|| "southern-border data not found; pass its folder as the first argument".into())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = data_dir(args.next())?;
    let out = args.next();

    let plain = read_edge_list(
        BufReader::new(File::open(dir.join("edges.txt"))?),
        NodeKind::Person,
        EdgeKind::Associated,
    )?;
    // Attach each operator's role as the node label.
    let mut roles = BTreeMap::new();
    for (i, line) in std::fs::read_to_string(dir.join("labels.csv"))?
        .lines()
        .enumerate()
    {
        let Some((id, role)) = line.split_once(',') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("labels.csv line {}: expected id,role", i + 1).into());
        };
        roles.insert(id.trim().to_owned(), role.trim().to_owned());
    }
    let mut up = Update::new();
    for n in plain.nodes() {
        let role = roles.get(&n.id).cloned().unwrap_or_else(|| "?".into());
        up.node(Node::new(n.id.clone(), NodeKind::Person).label(role));
    }
    let g = {
        let mut g = up.build()?;
        let mut edges = Update::new();
        for e in plain.edges() {
            edges.edge(
                &plain.nodes()[e.src as usize].id,
                &plain.nodes()[e.dst as usize].id,
                e.kind,
            );
        }
        g.apply(edges)?;
        g
    };
    let adj = g.adjacency();
    let role = |u: usize| g.nodes()[u].label.clone().unwrap_or_default();

    let stats = degree_stats(adj)?;
    let comps = connected_components(adj);
    println!(
        "nodes {}  links {}  components {}",
        g.node_count(),
        adj.link_count(),
        comps.count()
    );
    println!(
        "density {:.3}  Freeman degree centralization {:.2} %  mean degree {:.2}  max degree {}",
        stats.density.unwrap_or(f64::NAN),
        100.0 * stats.centralization.unwrap_or(f64::NAN),
        stats.mean_degree,
        stats.max_degree
    );

    // Communities: seed 0, and how stable the result is over seeds 1..=20.
    let cfg = LeidenConfig::default();
    let part = leiden(adj, &cfg)?;
    let mut agree = Vec::new();
    let mut best_q = part.quality;
    for seed in 1..=20 {
        let p = leiden(adj, &LeidenConfig { seed, ..cfg })?;
        agree.push(nmi(&part.membership, &p.membership)?);
        best_q = best_q.max(p.quality);
    }
    let mean_nmi = agree.iter().sum::<f64>() / agree.len() as f64;
    println!(
        "\nLeiden (modularity, resolution 1, seed 0): {} communities, modularity {:.4}",
        part.count, part.quality
    );
    println!(
        "  over seeds 1..20: best modularity {best_q:.4}, mean NMI with seed 0 {mean_nmi:.3}, min {:.3}",
        agree.iter().copied().fold(f64::INFINITY, f64::min)
    );
    for c in 0..part.count as u32 {
        let mut in_c: Vec<usize> = (0..g.node_count())
            .filter(|&u| part.membership[u] == c)
            .collect();
        // Numeric ids in numeric order.
        in_c.sort_by_key(|&u| (g.nodes()[u].id.len(), g.nodes()[u].id.clone()));
        let members: Vec<String> = in_c
            .into_iter()
            .map(|u| format!("{} ({})", g.nodes()[u].id, role(u)))
            .collect();
        println!(
            "  community {c} [{}]: {}",
            members.len(),
            members.join(", ")
        );
    }
    for resolution in [0.3, 0.5] {
        let p = leiden(
            adj,
            &LeidenConfig {
                objective: Objective::Cpm { resolution },
                ..cfg
            },
        )?;
        let sizes: Vec<usize> = (0..p.count as u32)
            .map(|c| p.membership.iter().filter(|&&m| m == c).count())
            .collect();
        println!(
            "  CPM resolution {resolution}: {} communities, sizes {sizes:?}",
            p.count
        );
    }

    let bet = betweenness(adj, true)?;
    let pr = pagerank(adj, &PageRankConfig::default())?;
    let brk = brokerage(adj, &part.membership)?;
    let mut order: Vec<usize> = (0..g.node_count()).collect();
    order.sort_by(|&a, &b| bet[b].total_cmp(&bet[a]).then(a.cmp(&b)));
    println!("\nTop brokers by betweenness (normalized):");
    println!(
        "  id  role                    betweenness  degree  pagerank  community  other communities reached  participation"
    );
    for &u in order.iter().take(10) {
        println!(
            "  {:>2}  {:<22}  {:>11.4}  {:>6}  {:>8.4}  {:>9}  {:>25}  {:>13.3}",
            g.nodes()[u].id,
            role(u),
            bet[u],
            stats.degrees[u],
            pr.scores[u],
            part.membership[u],
            brk[u].groups_reached,
            brk[u].participation
        );
    }
    // Roles as a whole: mean betweenness per role family (the role name without its number).
    let mut family: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (u, b) in bet.iter().enumerate() {
        let name: String = role(u)
            .trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .to_owned();
        let e = family.entry(name).or_insert((0.0, 0));
        e.0 += b;
        e.1 += 1;
    }
    let mut fam: Vec<_> = family.into_iter().collect();
    fam.sort_by(|a, b| (b.1.0 / b.1.1 as f64).total_cmp(&(a.1.0 / a.1.1 as f64)));
    println!("\nMean normalized betweenness by role:");
    for (name, (sum, count)) in fam {
        println!(
            "  {name:<20} {:>2} operators  {:.4}",
            count,
            sum / count as f64
        );
    }

    if let Some(path) = out {
        let cols = [
            Column {
                name: "community",
                values: Values::Int(&part.membership),
            },
            Column {
                name: "betweenness",
                values: Values::Float(&bet),
            },
            Column {
                name: "pagerank",
                values: Values::Float(&pr.scores),
            },
        ];
        write_gexf(&g, &cols, std::io::BufWriter::new(File::create(&path)?))?;
        println!("\nwrote {path}");
    }
    Ok(())
}
