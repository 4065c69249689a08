//! The analysis commands over a saved graph: communities, centrality, co-travel, paths, ego
//! networks and exports.

use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use enlace_graph::export::{
    write_edges_csv, write_gexf, write_graphml, write_json, write_nodes_csv,
};
use enlace_graph::{
    Centrality, CoTravelConfig, EdgeKind, Filter, Graph, LeidenConfig, NodeKind, Objective,
    PageRankConfig, TimeWindow, betweenness_sampled, co_travel, co_travel_edges, ego_network,
    k_shortest_paths, leiden, pagerank, persist, shareable, shortest_path, time_respecting_path,
};
use serde_json::json;

use super::filter::FilterArgs;

use super::{
    CENTRALITY_FILE, COMMUNITIES_FILE, GRAPH_DIR, GraphDir, kind_arg, node_ix, read_communities,
};

const DAY: i64 = 86_400;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Method {
    /// Modularity (resolution 1 is the classic definition; higher finds smaller groups).
    Modularity,
    /// Constant Potts Model: a group must be denser than the resolution to hold together.
    Cpm,
}

/// Leiden options shared by `communities` and `report`.
#[derive(Args, Clone)]
pub struct LeidenArgs {
    #[arg(long, value_enum, default_value = "modularity")]
    pub method: Method,
    /// Resolution (modularity: default 1; CPM: the density a group must exceed, default 0.05).
    #[arg(long)]
    pub resolution: Option<f64>,
    /// Seed: the same seed gives the same communities.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl LeidenArgs {
    pub fn config(&self) -> Result<LeidenConfig> {
        let objective = match self.method {
            Method::Modularity => Objective::Modularity {
                resolution: self.resolution.unwrap_or(1.0),
            },
            Method::Cpm => Objective::Cpm {
                resolution: self.resolution.unwrap_or(0.05),
            },
        };
        if let Some(r) = self.resolution
            && !(r.is_finite() && r >= 0.0)
        {
            bail!("--resolution must be a finite number ≥ 0");
        }
        Ok(LeidenConfig {
            objective,
            seed: self.seed,
            ..LeidenConfig::default()
        })
    }
}

#[derive(Args)]
pub struct CommunitiesArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    #[command(flatten)]
    pub leiden: LeidenArgs,
    /// Communities to list (largest first, by persons).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

/// Runs Leiden on the whole graph and writes `communities.csv`.
pub fn compute_communities(
    dir: &GraphDir,
    g: &Graph,
    args: &LeidenArgs,
) -> Result<(Vec<u32>, f64)> {
    if g.adjacency().link_count() == 0 {
        bail!("the graph has no edges: there is nothing to group");
    }
    let p = leiden(g.adjacency(), &args.config()?).context("finding communities")?;
    let path = dir.file(COMMUNITIES_FILE);
    dir.saved()
        .write_communities(g, &p.membership)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((p.membership, p.quality))
}

pub fn communities(args: CommunitiesArgs) -> Result<()> {
    let g = args.graph.load()?;
    let (m, quality) = compute_communities(&args.graph, &g, &args.leiden)?;
    let k = m.iter().copied().max().map_or(0, |x| x as usize + 1);
    let mut nodes = vec![0usize; k];
    let mut persons = vec![0usize; k];
    for (n, &c) in g.nodes().iter().zip(&m) {
        nodes[c as usize] += 1;
        if n.kind == NodeKind::Person {
            persons[c as usize] += 1;
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(persons[c]), c));
    let listed: Vec<_> = order
        .iter()
        .take(args.top)
        .map(|&c| json!({"community": c, "nodes": nodes[c], "persons": persons[c]}))
        .collect();
    let cfg = args.leiden.config()?;
    let (method, resolution) = match cfg.objective {
        Objective::Modularity { resolution } => ("modularity", resolution),
        Objective::Cpm { resolution } => ("cpm", resolution),
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "method": method,
                "resolution": resolution,
                "seed": args.leiden.seed,
                "communities": k,
                "quality": quality,
                "largest": listed,
                "written": args.graph.file(COMMUNITIES_FILE),
            }))?
        );
    } else {
        outln!(
            "{k} communities ({method}, resolution {resolution}, seed {}), quality {quality:.4}; written to {}",
            args.leiden.seed,
            args.graph.file(COMMUNITIES_FILE).display()
        );
        outln!("  largest by persons:");
        for &c in order.iter().take(args.top) {
            outln!(
                "  community {c:>5}: {:>6} persons, {:>6} nodes",
                persons[c],
                nodes[c]
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct CentralityArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    /// Betweenness source samples (all nodes when the graph is smaller).
    #[arg(long, default_value_t = 1000)]
    pub pivots: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Nodes to list, by betweenness.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// List only nodes of this kind (person, phone, vehicle, …).
    #[arg(long, default_value = "person")]
    pub kind: String,
    #[arg(long)]
    pub json: bool,
}

pub fn compute_centrality(g: &Graph, pivots: usize, seed: u64) -> Result<Centrality> {
    let adj = g.adjacency();
    let n = g.node_count();
    let degree = (0..n as u32).map(|u| adj.degree(u) as u32).collect();
    let pr = pagerank(adj, &PageRankConfig::default()).context("PageRank")?;
    let betweenness =
        betweenness_sampled(adj, pivots.clamp(1, n), seed, true).context("betweenness")?;
    Ok(Centrality {
        degree,
        pagerank: pr.scores,
        betweenness,
    })
}

pub fn centrality(args: CentralityArgs) -> Result<()> {
    let kind = kind_arg(&args.kind)?;
    let g = args.graph.load()?;
    let c = compute_centrality(&g, args.pivots, args.seed)?;
    let path = args.graph.file(CENTRALITY_FILE);
    args.graph
        .saved()
        .write_centrality(&g, &c)
        .with_context(|| format!("writing {}", path.display()))?;
    let mut order: Vec<usize> = (0..g.node_count())
        .filter(|&i| g.nodes()[i].kind == kind)
        .collect();
    order.sort_by(|&a, &b| {
        c.betweenness[b]
            .total_cmp(&c.betweenness[a])
            .then(a.cmp(&b))
    });
    order.truncate(args.top);
    let top: Vec<_> = order
        .iter()
        .map(|&i| {
            json!({
                "id": g.nodes()[i].id,
                "label": g.nodes()[i].label,
                "degree": c.degree[i],
                "pagerank": c.pagerank[i],
                "betweenness": c.betweenness[i],
            })
        })
        .collect();
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"top": top, "written": path}))?
        );
    } else {
        outln!(
            "Top {} {kind} nodes by betweenness (written for all nodes to {}):",
            top.len(),
            path.display()
        );
        for &i in &order {
            outln!(
                "  {:<40} betweenness {:.5}  PageRank {:.6}  degree {}",
                g.nodes()[i].id,
                c.betweenness[i],
                c.pagerank[i],
                c.degree[i]
            );
        }
    }
    Ok(())
}

/// Reads `centrality.csv` when present.
pub fn read_centrality(dir: &GraphDir, g: &Graph) -> Result<Option<Centrality>> {
    let path = dir.file(CENTRALITY_FILE);
    dir.saved()
        .centrality(g)
        .with_context(|| format!("reading {}", path.display()))
}

#[derive(Args)]
pub struct CoTravelArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    /// Shared events a pair needs.
    #[arg(long, default_value_t = 2)]
    pub min_shared: usize,
    /// Those events must fall within this many days.
    #[arg(long, default_value_t = 365)]
    pub window_days: i64,
    /// Events with more persons than this are skipped (a mass apprehension says little).
    #[arg(long, default_value_t = 50)]
    pub max_group: usize,
    /// Pairs to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Add the pairs found to the saved graph as `travelled_with` edges.
    #[arg(long)]
    pub add_edges: bool,
    /// Leave out (and count) events without a full date instead of failing on the first.
    #[arg(long)]
    pub skip_undated: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn cotravel(args: CoTravelArgs) -> Result<()> {
    let mut g = args.graph.load()?;
    if args.window_days < 0 {
        bail!("--window-days must be ≥ 0");
    }
    // Travel only: a transfer or a case is not a journey taken together.
    let travel = g.filter(&Filter {
        node_kinds: vec![NodeKind::Person, NodeKind::Encounter, NodeKind::Crossing],
        edge_kinds: vec![EdgeKind::InvolvedIn],
        ..Filter::default()
    });
    let mut travel = match travel {
        Ok(t) => t,
        Err(enlace_graph::GraphError::Empty(_)) => {
            bail!("the graph has no persons or travel events")
        }
        Err(e) => return Err(e.into()),
    };
    let mut undated = 0;
    if args.skip_undated {
        let keep: Vec<u32> = (0..travel.node_count() as u32)
            .filter(|&u| {
                let n = &travel.nodes()[u as usize];
                let skip = n.kind.is_event() && n.time.is_none();
                undated += usize::from(skip);
                !skip
            })
            .collect();
        travel = travel.induced(&keep)?;
    }
    let cfg = CoTravelConfig {
        min_shared: args.min_shared,
        window: args.window_days * DAY,
        max_group: args.max_group,
    };
    let report = co_travel(&travel, &cfg).map_err(|e| match e {
        // The event id names a source's event, not a person: safe to show.
        enlace_graph::GraphError::UndatedEvent(id) => {
            anyhow::anyhow!(
                "event {id} has no date: co-travel needs every travel event dated (--skip-undated leaves such events out)"
            )
        }
        e => e.into(),
    })?;
    let id = |u: u32| travel.nodes()[u as usize].id.clone();
    let day = |t: i64| enlace_graph::export::iso_time(t).map(|s| s[..10].to_owned());
    let mut listed = Vec::new();
    for p in report.pairs.iter().take(args.top) {
        listed.push(json!({
            "a": id(p.a),
            "b": id(p.b),
            "shared_events": p.events.len(),
            "first": day(p.first)?,
            "last": day(p.last)?,
            "events": p.events.iter().map(|&e| id(e)).collect::<Vec<_>>(),
        }));
    }
    let mut added = 0;
    if args.add_edges && !report.pairs.is_empty() {
        let applied = g
            .apply(co_travel_edges(&travel, &report.pairs))
            .context("adding travelled_with edges")?;
        added = applied.new_edges;
        let dir = args.graph.file(GRAPH_DIR);
        persist::save(&g, &dir).with_context(|| format!("saving {}", dir.display()))?;
        args.graph
            .saved()
            .remove_analyses()
            .context("removing the stale communities.csv and centrality.csv")?;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "pairs": report.pairs.len(),
                "skipped_events": report.skipped_events.len(),
                "undated_events_left_out": undated,
                "edges_added": added,
                "top": listed,
            }))?
        );
    } else {
        outln!(
            "{} pairs share ≥ {} events within {} days ({} events of more than {} persons skipped, {} undated left out){}",
            report.pairs.len(),
            args.min_shared,
            args.window_days,
            report.skipped_events.len(),
            args.max_group,
            undated,
            if args.add_edges {
                format!("; {added} travelled_with edges added to the graph")
            } else {
                String::new()
            }
        );
        for p in &listed {
            outln!(
                "  {} – {}: {} events, {} to {}",
                p["a"].as_str().unwrap_or(""),
                p["b"].as_str().unwrap_or(""),
                p["shared_events"],
                p["first"].as_str().unwrap_or(""),
                p["last"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Start node id.
    pub from: String,
    /// End node id.
    pub to: String,
    /// Follow edges forward in time only (dated edges; undated ones are not used).
    #[arg(long)]
    pub time_respecting: bool,
    /// With --time-respecting: the longest wait between one edge and the next, in days.
    #[arg(long)]
    pub max_gap_days: Option<i64>,
    /// With --time-respecting: no edge before this day (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// With --time-respecting: no edge after this day (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// Up to K fewest-hops loopless paths, shortest first (Yen's algorithm; not with
    /// --time-respecting).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub k: u16,
    #[arg(long)]
    pub json: bool,
}

/// The nodes of a path as `hops` gives it, one line each.
fn print_nodes(path: &serde_json::Value) {
    for n in path["nodes"].as_array().into_iter().flatten() {
        outln!(
            "  {} ({})",
            n["id"].as_str().unwrap_or(""),
            n["kind"].as_str().unwrap_or("")
        );
    }
}

fn day_start(d: chrono::NaiveDate) -> Option<i64> {
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp())
}

pub fn path(args: PathArgs) -> Result<()> {
    let g = args.filter.apply(args.graph.load()?)?;
    let a = node_ix(&g, &args.from, "FROM")?;
    let b = node_ix(&g, &args.to, "TO")?;
    if a == b {
        bail!("FROM and TO are the same node");
    }
    let node = |u: u32| {
        let n = &g.nodes()[u as usize];
        json!({"id": n.id, "kind": n.kind})
    };
    let hops = |p: &[u32]| json!({"hops": p.len() - 1, "nodes": p.iter().map(|&u| node(u)).collect::<Vec<_>>()});
    if args.k > 1 {
        if args.time_respecting {
            bail!("--k gives the fewest-hops paths; it does not combine with --time-respecting");
        }
        let paths = k_shortest_paths(g.adjacency(), a, b, usize::from(args.k))?;
        let paths: Vec<_> = paths.iter().map(|p| hops(p)).collect();
        if args.json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&json!({"paths": paths}))?
            );
            return Ok(());
        }
        if paths.is_empty() {
            outln!("No path.");
        }
        for (i, p) in paths.iter().enumerate() {
            outln!("path {} of {}: {} hops", i + 1, paths.len(), p["hops"]);
            print_nodes(p);
        }
        return Ok(());
    }
    let result = if args.time_respecting {
        if args.max_gap_days.is_some_and(|d| d < 0) {
            bail!("--max-gap-days must be ≥ 0");
        }
        let window = TimeWindow {
            start: args.since.and_then(day_start),
            end: args.until.and_then(day_start).map(|t| t + DAY - 1),
            max_gap: args.max_gap_days.map(|d| d * DAY),
        };
        time_respecting_path(&g, &args.from, &args.to, &window)?.map(|p| {
            let steps: Vec<_> = p
                .edges
                .iter()
                .zip(p.nodes.windows(2))
                .map(|(&e, w)| {
                    let edge = &g.edges()[e as usize];
                    json!({
                        "from": node(w[0]),
                        "to": node(w[1]),
                        "kind": edge.kind,
                        "time": edge.time.map(enlace_graph::export::iso_time).transpose().ok().flatten(),
                    })
                })
                .collect();
            json!({"hops": p.edges.len(), "steps": steps})
        })
    } else {
        shortest_path(g.adjacency(), a, b)?.map(|p| hops(&p))
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"path": result}))?
        );
        return Ok(());
    }
    match result {
        None => outln!(
            "No path{}.",
            if args.time_respecting {
                " respecting time"
            } else {
                ""
            }
        ),
        Some(p) => {
            outln!("{} hops:", p["hops"]);
            print_nodes(&p);
            if let Some(steps) = p["steps"].as_array() {
                for s in steps {
                    outln!(
                        "  {} → {} [{} {}]",
                        s["from"]["id"].as_str().unwrap_or(""),
                        s["to"]["id"].as_str().unwrap_or(""),
                        s["kind"].as_str().unwrap_or(""),
                        s["time"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct EgoArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The centre's node id.
    pub id: String,
    /// Hops from the centre.
    #[arg(long, default_value_t = 2)]
    pub depth: u32,
    /// Also write the ego network as GEXF (for Gephi) to this file.
    #[arg(long)]
    pub gexf: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn ego(args: EgoArgs) -> Result<()> {
    let g = args.filter.apply(args.graph.load()?)?;
    let c = node_ix(&g, &args.id, "ID")?;
    let around = ego_network(g.adjacency(), c, args.depth)?;
    if let Some(path) = &args.gexf {
        let ixs: Vec<u32> = around.iter().map(|&(u, _)| u).collect();
        let sub = g.induced(&ixs)?;
        // What partners released under H2 never leaves in a file.
        let (sub, left) = sub.shareable()?;
        let f =
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
        write_gexf(&sub, &[], BufWriter::new(f))
            .with_context(|| format!("writing {}", path.display()))?;
        if !left.is_empty() {
            eprintln!("{}", h2_note(left));
        }
    }
    let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for &(u, _) in &around {
        *by_kind
            .entry(g.nodes()[u as usize].kind.as_str())
            .or_default() += 1;
    }
    let list: Vec<_> = around
        .iter()
        .map(|&(u, d)| {
            let n = &g.nodes()[u as usize];
            json!({"id": n.id, "kind": n.kind, "distance": d, "time": n.time.map(enlace_graph::export::iso_time).transpose().ok().flatten()})
        })
        .collect();
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"nodes": list, "by_kind": by_kind}))?
        );
    } else {
        outln!(
            "{} nodes within {} hops: {:?}",
            around.len(),
            args.depth,
            by_kind
        );
        for n in &list {
            outln!(
                "  {} {} ({})",
                n["distance"],
                n["id"].as_str().unwrap_or(""),
                n["kind"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Format {
    Graphml,
    Gexf,
    /// OUT is a directory: nodes.csv and edges.csv.
    Csv,
    Json,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum)]
    pub format: Format,
    /// The file to write (a directory for csv).
    #[arg(long)]
    pub out: PathBuf,
}

/// What an export says when it left out data under handling code H2.
fn h2_note(left: enlace_graph::Restricted) -> String {
    format!(
        "left out {} nodes and {} edges a partner released under handling code H2 (no onward sharing): they never leave this node",
        left.nodes, left.edges
    )
}

pub fn export(args: ExportArgs) -> Result<()> {
    let full = args.graph.load()?;
    let comm = read_communities(&args.graph, &full)?;
    let cent = read_centrality(&args.graph, &full)?;
    // The analyses were made on the whole graph; a filtered export keeps each staying node's
    // values.
    let (full, comm, cent) = match args.filter.filter()? {
        None => (full, comm, cent),
        Some(f) => {
            let part = full.filter(&f)?;
            let keep: Vec<usize> = part
                .nodes()
                .iter()
                .map(|n| full.ix(&n.id).map(|i| i as usize))
                .collect::<std::result::Result<_, _>>()?;
            let comm = comm.map(|m| keep.iter().map(|&i| m[i]).collect::<Vec<u32>>());
            let cent = cent.map(|c| c.select(&keep));
            (part, comm, cent)
        }
    };
    // Data a partner released under H2 (no onward sharing) is left out of every format; the
    // per-node columns follow the nodes that stay.
    let out = shareable(&full, comm.as_deref(), cent.as_ref())?;
    let (g, left, comm, cent): (&Graph, _, _, _) =
        (&out.graph, out.left_out, &out.communities, &out.centrality);
    let cols = out.columns();
    let create = |p: &std::path::Path| -> Result<BufWriter<std::fs::File>> {
        Ok(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("writing {}", p.display()))?,
        ))
    };
    let ctx = || format!("writing {}", args.out.display());
    match args.format {
        Format::Graphml => write_graphml(g, &cols, create(&args.out)?).with_context(ctx)?,
        Format::Gexf => write_gexf(g, &cols, create(&args.out)?).with_context(ctx)?,
        Format::Json => write_json(g, &cols, create(&args.out)?).with_context(ctx)?,
        Format::Csv => {
            std::fs::create_dir_all(&args.out).with_context(ctx)?;
            write_nodes_csv(g, &cols, create(&args.out.join("nodes.csv"))?).with_context(ctx)?;
            write_edges_csv(g, create(&args.out.join("edges.csv"))?).with_context(ctx)?;
        }
    }
    if !left.is_empty() {
        outln!("{}", h2_note(left));
    }
    outln!(
        "Wrote {} nodes and {} edges to {}{}",
        g.node_count(),
        g.edge_count(),
        args.out.display(),
        match (comm.is_some(), cent.is_some()) {
            (true, true) => " with communities and centrality",
            (true, false) => " with communities",
            (false, true) => " with centrality",
            (false, false) => "",
        }
    );
    Ok(())
}
