//! The graph benchmark driven by `scripts/bench-graph`: writes benchmark graphs to files, and
//! times this crate on a graph file so an outside tool can be timed on the very same file.
//!
//! ```text
//! graph_bench gen planted NODES EDGES SEED OUT     groups of 100, 80 % of edges inside
//! graph_bench gen lfr NODES MU SEED OUT            LFR, mean degree 20, max 50, communities 20–100
//! graph_bench gen cells COUNT SEED OUT             cells of 20–200 nodes, internal degree 8, 1 outside
//! graph_bench run OUT [--pivots K] [--cpm R] [--skip-pagerank] [--skip-leiden] [--skip-betweenness]
//! graph_bench cotravel EVENTS PERSONS SEED
//! ```
//!
//! A graph OUT is two files: `OUT.edges` (`a b` per line, node indices from 0) and `OUT.truth`
//! (the planted community of each node, one per line). `run` prints one JSON object: for each
//! step its wall time (`…_s`) and the CPU time of the whole process over that step (`…_cpu_s`,
//! user + system of all threads, read from `/proc/self/stat` at 1/100 s resolution; Linux only,
//! absent elsewhere).
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use enlace_graph::generate::{LfrConfig, Planted, cells, lfr, mixing};
use enlace_graph::{
    CoTravelConfig, EdgeKind, LeidenConfig, Node, NodeKind, Objective, PageRankConfig, Update,
    betweenness_sampled, co_travel, leiden, modularity, nmi, pagerank, write_atomic,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error>>;

/// User + system CPU seconds of this process so far (all threads), from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s, Linux's `CLK_TCK`); `None` where unreadable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Wall and CPU time of one step.
struct Timer {
    wall: Instant,
    cpu: Option<f64>,
}

impl Timer {
    fn start() -> Self {
        Timer {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    /// Sets `STEP_s` (wall) and `STEP_cpu_s` (CPU) in `result`.
    fn record(&self, result: &mut serde_json::Value, step: &str) {
        result[format!("{step}_s")] = json!(self.wall.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (self.cpu, cpu_seconds()) {
            result[format!("{step}_cpu_s")] = json!(b - a);
        }
    }
}

fn num<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Res<T>
where
    T::Err: std::fmt::Display,
{
    let a = args.get(i).ok_or_else(|| format!("missing {what}"))?;
    a.replace('_', "")
        .parse()
        .map_err(|e| format!("{what} {a:?}: {e}").into())
}

fn planted(n: usize, m: usize, seed: u64) -> Planted {
    let group = 100;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut edges = Vec::with_capacity(m);
    while edges.len() < m {
        let u = rng.random_range(0..n);
        let v = if rng.random::<f64>() < 0.8 {
            (u / group) * group + rng.random_range(0..group.min(n - (u / group) * group))
        } else {
            rng.random_range(0..n)
        };
        if u != v {
            edges.push((u as u32, v as u32));
        }
    }
    Planted {
        nodes: n,
        edges,
        truth: (0..n as u32).map(|u| u / group as u32).collect(),
    }
}

/// Writes `OUT.truth`, then `OUT.edges`, each atomically (a temporary file beside it, synced,
/// renamed into place): a killed run leaves no half-written file, and `OUT.edges`, which
/// `scripts/bench-graph` looks for to reuse a graph, appears only once both are whole.
fn write(p: &Planted, out: &str) -> Res<()> {
    write_atomic(Path::new(&format!("{out}.truth")), |w| {
        for c in &p.truth {
            writeln!(w, "{c}")?;
        }
        Ok(())
    })?;
    write_atomic(Path::new(&format!("{out}.edges")), |w| {
        for &(a, b) in &p.edges {
            writeln!(w, "{a} {b}")?;
        }
        Ok(())
    })?;
    eprintln!(
        "{out}: {} nodes, {} edges, mixing {:.3}",
        p.nodes,
        p.edges.len(),
        mixing(p)
    );
    Ok(())
}

fn read(out: &str) -> Res<Planted> {
    let mut truth = Vec::new();
    for (i, line) in BufReader::new(File::open(format!("{out}.truth"))?)
        .lines()
        .enumerate()
    {
        truth.push(
            line?
                .trim()
                .parse::<u32>()
                .map_err(|e| format!("{out}.truth line {}: {e}", i + 1))?,
        );
    }
    let mut edges = Vec::new();
    for (i, line) in BufReader::new(File::open(format!("{out}.edges"))?)
        .lines()
        .enumerate()
    {
        let line = line?;
        let mut it = line.split_ascii_whitespace().map(str::parse::<u32>);
        match (it.next(), it.next()) {
            (Some(Ok(a)), Some(Ok(b))) => edges.push((a, b)),
            _ => return Err(format!("{out}.edges line {}: expected `a b`", i + 1).into()),
        }
    }
    Ok(Planted {
        nodes: truth.len(),
        edges,
        truth,
    })
}

fn run(args: &[String]) -> Res<()> {
    let out = args.first().ok_or("missing graph")?;
    let mut pivots = 1000;
    let mut cpm_resolution: Option<f64> = None;
    let (mut do_pr, mut do_leiden, mut do_bt) = (true, true, true);
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--pivots" => {
                pivots = num(args, i + 1, "pivots")?;
                i += 2;
            }
            "--cpm" => {
                cpm_resolution = Some(num(args, i + 1, "cpm resolution")?);
                i += 2;
            }
            "--skip-pagerank" => {
                do_pr = false;
                i += 1;
            }
            "--skip-leiden" => {
                do_leiden = false;
                i += 1;
            }
            "--skip-betweenness" => {
                do_bt = false;
                i += 1;
            }
            a => return Err(format!("unknown argument {a}").into()),
        }
    }
    let p = read(out)?;
    // Build as the product does: string ids interned, typed edges, collapsed adjacency.
    let ids: Vec<String> = (0..p.nodes).map(|i| i.to_string()).collect();
    let mut result = json!({ "tool": "enlace-graph", "graph": out });
    let t = Timer::start();
    let mut up = Update::new();
    for id in &ids {
        up.node(Node::new(id.clone(), NodeKind::Person));
    }
    for &(a, b) in &p.edges {
        up.edge(&ids[a as usize], &ids[b as usize], EdgeKind::Associated);
    }
    let g = up.build()?;
    t.record(&mut result, "build");
    let adj = g.adjacency();
    // Node indices follow first declaration, which is index order here.
    result["nodes"] = json!(g.node_count());
    result["edges"] = json!(adj.link_count());
    if do_pr {
        let t = Timer::start();
        let pr = pagerank(adj, &PageRankConfig::default())?;
        t.record(&mut result, "pagerank");
        result["pagerank_iterations"] = json!(pr.iterations);
    }
    if do_leiden {
        let t = Timer::start();
        let part = leiden(adj, &LeidenConfig::default())?;
        t.record(&mut result, "leiden");
        result["leiden_iterations"] = json!(part.iterations);
        result["leiden_communities"] = json!(part.count);
        result["leiden_modularity"] = json!(modularity(adj, &part.membership, 1.0)?);
        result["leiden_nmi"] = json!(nmi(&p.truth, &part.membership)?);
        // Two iterations, igraph's default, for a like-for-like time at a fixed amount of work.
        let t = Timer::start();
        let two = leiden(
            adj,
            &LeidenConfig {
                max_iterations: 2,
                ..LeidenConfig::default()
            },
        )?;
        t.record(&mut result, "leiden2");
        result["leiden2_modularity"] = json!(modularity(adj, &two.membership, 1.0)?);
    }
    if let Some(r) = cpm_resolution {
        let t = Timer::start();
        let part = leiden(
            adj,
            &LeidenConfig {
                objective: Objective::Cpm { resolution: r },
                ..LeidenConfig::default()
            },
        )?;
        t.record(&mut result, "cpm");
        result["cpm_resolution"] = json!(r);
        result["cpm_communities"] = json!(part.count);
        result["cpm_nmi"] = json!(nmi(&p.truth, &part.membership)?);
    }
    if do_bt {
        let k = pivots.min(g.node_count());
        let t = Timer::start();
        betweenness_sampled(adj, k, 7, true)?;
        t.record(&mut result, "betweenness");
        result["betweenness_pivots"] = json!(k);
    }
    println!("{result}");
    Ok(())
}

/// Co-travel over `events` events of 2–6 persons each, drawn from `persons` persons who travel
/// in small groups (so some pairs meet again), dated over five years.
fn cotravel(args: &[String]) -> Res<()> {
    let events: usize = num(args, 0, "events")?;
    let persons: usize = num(args, 1, "persons")?;
    let seed: u64 = num(args, 2, "seed")?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = Instant::now();
    let mut up = Update::new();
    let pid: Vec<String> = (0..persons).map(|i| format!("p{i}")).collect();
    for id in &pid {
        up.node(Node::new(id.clone(), NodeKind::Person));
    }
    let mut incidences = 0;
    for e in 0..events {
        let id = format!("e{e}");
        let day = rng.random_range(0..5 * 365) as i64 * 86_400;
        up.node(Node::new(id.clone(), NodeKind::Crossing).at(day));
        let size = rng.random_range(2..=6);
        // Persons of one group of 10 travel together more often than chance.
        let group = rng.random_range(0..persons / 10);
        for _ in 0..size {
            let p = if rng.random::<f64>() < 0.7 {
                group * 10 + rng.random_range(0..10)
            } else {
                rng.random_range(0..persons)
            };
            up.edge(&pid[p], &id, EdgeKind::InvolvedIn);
            incidences += 1;
        }
    }
    let g = up.build()?;
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = co_travel(&g, &CoTravelConfig::default())?;
    println!(
        "{}",
        json!({
            "tool": "enlace-graph",
            "cotravel_events": events,
            "cotravel_persons": persons,
            "cotravel_incidences": incidences,
            "cotravel_build_s": build_s,
            "cotravel_s": t.elapsed().as_secs_f64(),
            "cotravel_pairs": r.pairs.len(),
        })
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let kind = args.get(1).ok_or("gen needs a kind")?;
            match kind.as_str() {
                "planted" => write(
                    &planted(
                        num(&args, 2, "nodes")?,
                        num(&args, 3, "edges")?,
                        num(&args, 4, "seed")?,
                    ),
                    args.get(5).ok_or("missing OUT")?,
                ),
                "lfr" => {
                    let cfg = LfrConfig {
                        nodes: num(&args, 2, "nodes")?,
                        mu: num(&args, 3, "mu")?,
                        seed: num(&args, 4, "seed")?,
                        ..LfrConfig::default()
                    };
                    write(&lfr(&cfg)?, args.get(5).ok_or("missing OUT")?)
                }
                "cells" => write(
                    &cells(
                        num(&args, 2, "count")?,
                        20,
                        200,
                        8.0,
                        1.0,
                        num(&args, 3, "seed")?,
                    )?,
                    args.get(4).ok_or("missing OUT")?,
                ),
                k => Err(format!("unknown graph kind {k}").into()),
            }
        }
        Some("run") => run(&args[1..]),
        Some("cotravel") => cotravel(&args[1..]),
        _ => Err("usage: graph_bench gen|run|cotravel … (see the file's header)".into()),
    }
}
