//! `enlace network build`: the graph of a node's store and its linkage results.
//!
//! What becomes what:
//! - a **person** is a resolved cluster (`--clusters`, the `clusters.csv` of `dedupe` or `link`),
//!   or a record alone when no cluster names it; its id is `person:CLUSTER_ID` (or
//!   `person:SOURCE:RECORD_ID`);
//! - a record's valid **phones** (`used`), plates (`used`), accounts (`owned`) and address
//!   (`lived_at`) become nodes shared by every person who gave them;
//! - a record's **events** become event nodes (`event:SOURCE:EVENT_ID`) dated by the event, each
//!   person tied to them by `involved_in`;
//! - `--hits` (a link run's `clusters.csv`) adds `matched_across_border` edges between different
//!   persons whose records it puts together;
//! - `--vehicles` and `--transfers` (files keyed by source and record id, as the generated
//!   scenario's `events/`) add vehicles and dated transfers (`paid` to the transfer, `owned` account);
//! - `--organisations` adds the organisations records name (`used`: found on a company's vehicle
//!   or bus at an event; `member_of`: works for it), dated by the event;
//! - `--node DIR` adds what partners released after hits, from the node's ledger (see
//!   [`super::released`]): `released_by_partner` edges marked with partner and handling code.
//!
//! The graph is saved under `OUT/graph/` with `OUT/records.csv` (which person holds each record)
//! and `OUT/applied.csv` (which side-file rows are in). A later build over the same `OUT` reads
//! them back and applies only what is new — records not yet held, new hits, new side rows — as
//! one update of the saved graph; `--rebuild` starts over.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_graph::{Country, EdgeKind, Graph, Node, NodeKind, Update, persist};
use enlace_model::Record;
use enlace_normalize::{IdKind, PartialDate};
use enlace_store::Store;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::{GRAPH_DIR, RECORDS_FILE, SOURCES_FILE, restrict_dir};

const APPLIED_FILE: &str = "applied.csv";

/// Weight of a `matched_across_border` edge: a linkage hit says two nodes are one person, a far
/// stronger tie than sharing a phone, so communities keep the two together.
const MATCH_WEIGHT: f64 = 5.0;

#[derive(Args)]
pub struct BuildArgs {
    /// A store to read: a store directory (all its sources) or STORE:SOURCE. Repeat for each.
    #[arg(long = "from", required = true)]
    pub from: Vec<String>,
    /// Resolved persons: a `clusters.csv` (`cluster_id,source,record_id`) of `enlace dedupe` or
    /// `enlace link`. Records no cluster names are persons of their own. Repeatable.
    #[arg(long)]
    pub clusters: Vec<PathBuf>,
    /// Linkage hits: a link run's `clusters.csv`; its clusters that join different persons add
    /// `matched_across_border` edges between them. Repeatable.
    #[arg(long)]
    pub hits: Vec<PathBuf>,
    /// Vehicles seen with records: `source,record_id,event_id,plate,plate_country,plate_state`.
    #[arg(long)]
    pub vehicles: Option<PathBuf>,
    /// Money transfers: `transfer_id,date,sender_source,sender_record_id,receiver_source,
    /// receiver_record_id,account,amount_usd`.
    #[arg(long)]
    pub transfers: Option<PathBuf>,
    /// Organisations records name: `source,record_id,event_id,organisation,organisation_kind,
    /// country,relation` (relation `used` or `member_of`), as the scenario's
    /// `events/organisations.csv`.
    #[arg(long)]
    pub organisations: Option<PathBuf>,
    /// A node directory: add what partners released after hits (its `exchange.db`, through the
    /// ledger), placed on persons through its projects' `results.json` and `refs.csv`. Give it on
    /// every build: releases the ledger no longer holds are dropped from the graph.
    #[arg(long)]
    pub node: Option<PathBuf>,
    /// Skip (and count) vehicle and transfer rows naming a record the stores do not hold (a row
    /// rejected at import) instead of failing. Clusters and hits must always name known records.
    #[arg(long)]
    pub skip_unknown_records: bool,
    /// Output directory: the graph is saved in OUT/graph; a graph already there is updated.
    /// Default with --node: the node's own `DIR/network`, where its web UI's explorer reads it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Ignore a graph already in OUT and build from scratch.
    #[arg(long)]
    pub rebuild: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Default)]
pub struct Summary {
    incremental: bool,
    records_read: usize,
    records_new: usize,
    persons_new: usize,
    nodes_new: usize,
    edges_new: usize,
    pub nodes: usize,
    pub edges: usize,
    /// Clusters that put records of persons already in the graph together: kept as separate
    /// persons joined by a `matched_across_border` edge until a `--rebuild` merges them.
    clusters_joining_existing_persons: usize,
    hits_added: usize,
    vehicle_rows: usize,
    transfer_rows: usize,
    organisation_rows: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    released: Option<super::released::ReleasedSummary>,
    skipped_unknown_records: usize,
    events_without_id: usize,
    events_without_date: usize,
    seconds: f64,
}

/// A record as the graph needs it.
struct Rec {
    source: String,
    country: Option<Country>,
    record: Record,
}

type Key = (String, String);
/// A source's name and the country of its agency.
type SourceCountry = (String, String);

/// Where the graph goes: `--out`, else the node's `DIR/network`.
pub fn out_dir(args: &BuildArgs) -> Result<PathBuf> {
    match (&args.out, &args.node) {
        (Some(out), _) => Ok(out.clone()),
        (None, Some(node)) => Ok(enlace_node::node_dir::NodeDir::new(node).network()),
        (None, None) => bail!("--out is needed without --node"),
    }
}

pub fn run(args: BuildArgs) -> Result<()> {
    let s = build(&args)?;
    let graph_dir = out_dir(&args)?.join(GRAPH_DIR);
    print_summary(&s, &graph_dir, args.json)
}

/// Builds or updates the graph and saves it; the summary says what it did.
pub fn build(args: &BuildArgs) -> Result<Summary> {
    let started = Instant::now();
    let mut s = Summary::default();
    let out = out_dir(args)?;
    let graph_dir = out.join(GRAPH_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    restrict_dir(&out)?;
    let existing = !args.rebuild && persist::exists(&graph_dir);
    s.incremental = existing;
    let now = chrono::Utc::now().timestamp();
    let releases = match &args.node {
        Some(dir) => Some(super::released::read(dir, now)?),
        None => None,
    };
    let (mut graph, mut held, mut applied) = if existing {
        let g = persist::load(&graph_dir)
            .with_context(|| format!("reading the graph in {}", graph_dir.display()))?;
        let held = read_held(&out.join(RECORDS_FILE), &g)?;
        let applied = read_applied(&out.join(APPLIED_FILE))?;
        (Some(g), held, applied)
    } else {
        (None, BTreeMap::new(), BTreeSet::new())
    };

    // Released data the ledger no longer holds, or past its retention, leaves the graph first.
    let mut rel_summary = super::released::ReleasedSummary::default();
    if let Some(g) = &graph {
        let current: BTreeSet<&str> = releases.iter().flatten().map(|r| r.id.as_str()).collect();
        let gone = |o: &enlace_graph::Provenance| {
            o.expired(now) || (releases.is_some() && !current.contains(o.release.as_str()))
        };
        let gone_ids: BTreeSet<String> = g
            .origins()
            .iter()
            .chain(g.nodes().iter().filter_map(|n| n.origin.as_deref()))
            .filter(|o| gone(o))
            .map(|o| o.release.clone())
            .collect();
        if let Some((pruned, dropped)) = g
            .without_released(gone)
            .context("dropping released data no longer held")?
        {
            rel_summary.dropped_releases = gone_ids.len();
            rel_summary.dropped_nodes = dropped.nodes;
            rel_summary.dropped_edges = dropped.edges;
            graph = Some(pruned);
        }
        applied.retain(|k| {
            k.strip_prefix("release|")
                .is_none_or(|id| !gone_ids.contains(id))
        });
    }

    let (recs, sources) = load_records(&args.from)?;
    s.records_read = recs.len();
    let by_key: FxHashMap<Key, usize> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.source.clone(), r.record.key.clone()), i))
        .collect();

    // Which cluster each record belongs to.
    let mut cluster_of: FxHashMap<usize, String> = FxHashMap::default();
    for path in &args.clusters {
        for (line, cluster, key) in read_clusters(path)? {
            let Some(&i) = by_key.get(&key) else {
                bail!(
                    "{} line {line}: record {}:{} is not in the given stores",
                    path.display(),
                    key.0,
                    key.1
                );
            };
            if let Some(prev) = cluster_of.insert(i, cluster.clone())
                && prev != cluster
            {
                bail!(
                    "{} line {line}: record {}:{} is already in cluster {prev} of another clusters file",
                    path.display(),
                    key.0,
                    key.1
                );
            }
        }
    }

    let mut up = Update::new();
    let mut matched: FxHashSet<(String, String)> = match &graph {
        Some(g) => g
            .edges()
            .iter()
            .filter(|e| e.kind == EdgeKind::MatchedAcrossBorder)
            .map(|e| pair(&g.nodes()[e.src as usize].id, &g.nodes()[e.dst as usize].id))
            .collect(),
        None => FxHashSet::default(),
    };
    let mut add_match = |up: &mut Update, a: &str, b: &str, s: &mut Summary| -> bool {
        if a != b && matched.insert(pair(a, b)) {
            up.edge_with(a, b, EdgeKind::MatchedAcrossBorder, MATCH_WEIGHT, None);
            s.hits_added += 1;
            true
        } else {
            false
        }
    };

    // Group records by cluster (a record alone is its own group), in a fixed order.
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in recs.iter().enumerate() {
        let g = match cluster_of.get(&i) {
            Some(c) => c.clone(),
            None => format!("{}:{}", r.source, r.record.key),
        };
        groups.entry(g).or_default().push(i);
    }
    let mut person_ids: FxHashSet<String> = held.values().cloned().collect();
    for (group, members) in &groups {
        let holders: BTreeSet<&String> = members
            .iter()
            .filter_map(|&i| held.get(&key_of(&recs[i])))
            .collect();
        let new: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| !held.contains_key(&key_of(&recs[i])))
            .collect();
        let person = match holders.iter().next() {
            Some(p) => (*p).clone(),
            None => {
                let mut id = format!("person:{group}");
                // A cluster id reused by a later linkage run for other records.
                let mut n = 1;
                while person_ids.contains(&id) {
                    n += 1;
                    id = format!("person:{group}#{n}");
                }
                id
            }
        };
        if holders.len() > 1 {
            s.clusters_joining_existing_persons += 1;
            let first = person.clone();
            let rest: Vec<String> = holders.iter().skip(1).map(|p| (*p).clone()).collect();
            for other in rest {
                add_match(&mut up, &first, &other, &mut s);
            }
        }
        if new.is_empty() {
            continue;
        }
        if holders.is_empty() {
            s.persons_new += 1;
            person_ids.insert(person.clone());
            let countries: BTreeSet<&str> = new
                .iter()
                .filter_map(|&i| recs[i].country.map(Country::as_str))
                .collect();
            let mut node = Node::new(person.clone(), NodeKind::Person).label(format!(
                "{} record{}: {}",
                new.len(),
                if new.len() == 1 { "" } else { "s" },
                countries.iter().copied().collect::<Vec<_>>().join(" ")
            ));
            if countries.len() == 1 {
                node.country = new.iter().find_map(|&i| recs[i].country);
            }
            up.node(node);
        }
        for &i in &new {
            s.records_new += 1;
            add_record(&mut up, &person, &recs[i], &mut s);
            held.insert(key_of(&recs[i]), person.clone());
        }
    }

    for path in &args.hits {
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (line, cluster, key) in read_clusters(path)? {
            let Some(p) = held.get(&key) else {
                bail!(
                    "{} line {line}: hit names record {}:{}, which is not in the given stores",
                    path.display(),
                    key.0,
                    key.1
                );
            };
            by_cluster.entry(cluster).or_default().push(p.clone());
        }
        for persons in by_cluster.values() {
            let distinct: BTreeSet<&String> = persons.iter().collect();
            let mut it = distinct.into_iter();
            if let Some(first) = it.next() {
                for other in it {
                    add_match(&mut up, first, other, &mut s);
                }
            }
        }
    }

    let event_dates: FxHashMap<(&str, &str), i64> = recs
        .iter()
        .flat_map(|r| {
            r.record.events.iter().filter_map(move |e| {
                Some((
                    (r.source.as_str(), e.id.as_deref()?),
                    day_seconds(e.date.as_ref()?)?,
                ))
            })
        })
        .collect();
    let mut ctx = SideCtx {
        held: &held,
        applied: &mut applied,
        skip_unknown: args.skip_unknown_records,
        summary: &mut s,
    };
    if let Some(path) = &args.vehicles {
        read_vehicles(path, &mut up, &mut ctx, &event_dates)?;
    }
    if let Some(path) = &args.transfers {
        read_transfers(path, &mut up, &mut ctx)?;
    }
    if let Some(path) = &args.organisations {
        read_organisations(path, &mut up, &mut ctx, &event_dates)?;
    }
    if let (Some(releases), Some(dir)) = (&releases, &args.node) {
        let mut hits = super::released::HitRecords::new(dir);
        rel_summary.held = releases.len();
        for r in releases {
            let key = format!("release|{}", r.id);
            if applied.contains(&key) {
                rel_summary.already += 1;
                continue;
            }
            let records = hits.records(
                &r.body.hit.project,
                &r.origin.partner,
                &r.body.hit.partner_reference,
            )?;
            let persons: BTreeSet<String> = records
                .into_iter()
                .filter_map(|k| held.get(&k).cloned())
                .collect();
            if persons.is_empty() {
                rel_summary.unplaced += 1;
                continue;
            }
            let values = super::released::add(&mut up, &persons, r);
            *rel_summary
                .by_handling
                .entry(r.origin.handling.to_string())
                .or_default() += values;
            rel_summary.added += 1;
            applied.insert(key);
        }
    }
    if args.node.is_some() || rel_summary.dropped_releases > 0 {
        s.released = Some(rel_summary);
    }

    let graph = match graph.take() {
        Some(mut g) => {
            let a = g.apply(up).context("updating the saved graph")?;
            s.nodes_new = a.new_nodes;
            s.edges_new = a.new_edges;
            g
        }
        None => {
            let g = up.build().context(
                "building the graph (the stores hold no records, or an input is malformed)",
            )?;
            s.nodes_new = g.node_count();
            s.edges_new = g.edge_count();
            g
        }
    };
    s.nodes = graph.node_count();
    s.edges = graph.edge_count();
    persist::save(&graph, &graph_dir)
        .with_context(|| format!("saving the graph in {}", graph_dir.display()))?;
    write_held(&out.join(RECORDS_FILE), &held)?;
    write_applied(&out.join(APPLIED_FILE), &applied)?;
    write_sources(&out.join(SOURCES_FILE), &sources)?;
    // Analyses of the previous graph no longer describe this one.
    enlace_graph::SavedDir::new(&out)
        .remove_analyses()
        .context("removing the stale communities.csv and centrality.csv")?;
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}

fn print_summary(s: &Summary, graph_dir: &Path, json: bool) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        outln!(
            "{} graph in {}: {} nodes, {} edges ({} new nodes, {} new edges) from {} records ({} new, {} new persons) in {:.1} s",
            if s.incremental { "Updated" } else { "Built" },
            graph_dir.display(),
            s.nodes,
            s.edges,
            s.nodes_new,
            s.edges_new,
            s.records_read,
            s.records_new,
            s.persons_new,
            s.seconds
        );
        if s.hits_added > 0 {
            outln!("  matched_across_border edges added: {}", s.hits_added);
        }
        if s.clusters_joining_existing_persons > 0 {
            outln!(
                "  {} clusters join persons already in the graph: kept apart with a matched edge (--rebuild merges them)",
                s.clusters_joining_existing_persons
            );
        }
        if s.organisation_rows > 0 {
            outln!(
                "  organisation rows: {} (used and member_of edges)",
                s.organisation_rows
            );
        }
        if let Some(r) = &s.released {
            let codes: Vec<String> = r
                .by_handling
                .iter()
                .map(|(h, n)| format!("{h}: {n}"))
                .collect();
            outln!(
                "  released by partners: {} releases held, {} added ({} values; {}), {} already in, {} not placed (no result or record for their hit)",
                r.held,
                r.added,
                r.by_handling.values().sum::<usize>(),
                if codes.is_empty() {
                    "none".to_owned()
                } else {
                    codes.join(", ")
                },
                r.already,
                r.unplaced
            );
            if r.dropped_releases > 0 {
                outln!(
                    "  dropped {} releases no longer held (retention ended): {} nodes, {} edges",
                    r.dropped_releases,
                    r.dropped_nodes,
                    r.dropped_edges
                );
            }
        }
        if s.skipped_unknown_records > 0 {
            outln!(
                "  skipped {} side-file rows naming records not in the stores",
                s.skipped_unknown_records
            );
        }
        if s.events_without_date > 0 || s.events_without_id > 0 {
            outln!(
                "  events without a date: {} (kept undated); without an id: {} (not shared, left out)",
                s.events_without_date,
                s.events_without_id
            );
        }
    }
    Ok(())
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

fn key_of(r: &Rec) -> Key {
    (r.source.clone(), r.record.key.clone())
}

/// Midnight UTC of a full date, in seconds; a partial date (year or month only) is no day.
fn day_seconds(d: &PartialDate) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(d.year, u32::from(d.month?), u32::from(d.day?))?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

fn event_kind(kind: &str) -> NodeKind {
    match kind {
        "crossing" => NodeKind::Crossing,
        "case" => NodeKind::Case,
        "transfer" => NodeKind::Transfer,
        _ => NodeKind::Encounter,
    }
}

/// The nodes and edges one record brings to its person.
fn add_record(up: &mut Update, person: &str, r: &Rec, s: &mut Summary) {
    // A record's identifiers are dated by its first dated event: when the agency saw them.
    let when = r
        .record
        .events
        .iter()
        .find_map(|e| e.date.as_ref().and_then(day_seconds));
    for e in &r.record.events {
        let Some(id) = &e.id else {
            s.events_without_id += 1;
            continue;
        };
        let node_id = format!("event:{}:{id}", r.source);
        let mut node = Node::new(node_id.clone(), event_kind(&e.kind));
        node.country = r.country;
        node.time = e.date.as_ref().and_then(day_seconds);
        if node.time.is_none() {
            s.events_without_date += 1;
        }
        if let Some(place) = &e.place {
            node.label = Some(place.clone());
        }
        let t = node.time;
        up.node(node);
        up.edge_with(person, &node_id, EdgeKind::InvolvedIn, 1.0, t);
    }
    for id in r.record.identifiers.iter().filter(|i| i.valid) {
        let (prefix, kind, edge) = match id.kind {
            IdKind::Phone => ("phone", NodeKind::Phone, EdgeKind::Used),
            IdKind::Plate => ("vehicle", NodeKind::Vehicle, EdgeKind::Used),
            IdKind::Account => ("account", NodeKind::Account, EdgeKind::Owned),
            // Document numbers name the person, not something people share: linkage uses them.
            _ => continue,
        };
        let node_id = format!("{prefix}:{}", id.value);
        up.node(Node::new(node_id.clone(), kind));
        up.edge_with(person, &node_id, edge, 1.0, when);
    }
    if let Some(node_id) = r.record.address.as_ref().and_then(address_id) {
        up.node(Node::new(node_id.clone(), NodeKind::Address));
        up.edge_with(person, &node_id, EdgeKind::LivedAt, 1.0, when);
    }
}

/// The node id of a normalised address; `None` without a street (a town or region alone is not
/// a place people share).
pub fn address_id(a: &enlace_normalize::Address) -> Option<String> {
    a.street.as_ref()?;
    let parts: Vec<&str> = [&a.street, &a.locality, &a.postcode, &a.region, &a.country]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    Some(format!("address:{}", parts.join(", ")))
}

/// `STORE` or `STORE:SOURCE`; a colon followed by a path separator belongs to the path.
fn parse_from(spec: &str) -> (PathBuf, Option<String>) {
    match spec.rsplit_once(':') {
        Some((store, source))
            if !source.is_empty() && !source.contains('/') && !store.is_empty() =>
        {
            (PathBuf::from(store), Some(source.to_string()))
        }
        _ => (PathBuf::from(spec), None),
    }
}

/// The records of the stores, with each source's name and country.
fn load_records(specs: &[String]) -> Result<(Vec<Rec>, Vec<SourceCountry>)> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    let mut seen = BTreeSet::new();
    for spec in specs {
        let (dir, only) = parse_from(spec);
        if !dir.join(enlace_store::DB_FILE).exists() {
            bail!("no store at {}", dir.display());
        }
        let store =
            Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))?;
        let sources = store.sources()?;
        let wanted: Vec<_> = match &only {
            Some(name) => {
                let Some(s) = sources.iter().find(|s| &s.name == name) else {
                    bail!("store {} has no source {name}", dir.display());
                };
                vec![s.clone()]
            }
            None => sources,
        };
        for src in wanted {
            if !seen.insert(src.name.clone()) {
                bail!("source `{}` is named twice", src.name);
            }
            let country = src.country.parse::<Country>().ok();
            names.push((src.name.clone(), src.country.clone()));
            let records = store
                .records(&src.name)
                .with_context(|| format!("reading {} from {}", src.name, dir.display()))?;
            out.extend(records.into_iter().map(|r| Rec {
                source: src.name.clone(),
                country,
                record: r.record,
            }));
        }
    }
    Ok((out, names))
}

/// Merges this build's sources into `sources.csv`, kept from earlier builds.
fn write_sources(path: &Path, sources: &[SourceCountry]) -> Result<()> {
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    if path.exists() {
        let mut r =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        for row in r.records() {
            let row = row.with_context(|| format!("reading {}", path.display()))?;
            if let (Some(s), Some(c)) = (row.get(0), row.get(1)) {
                all.insert(s.to_owned(), c.to_owned());
            }
        }
    }
    all.extend(sources.iter().cloned());
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["source", "country"])?;
    for (s, c) in &all {
        w.write_record([s, c])?;
    }
    w.flush()?;
    Ok(())
}

/// Rows of a `cluster_id,source,record_id` file with their line numbers.
fn read_clusters(path: &Path) -> Result<Vec<(usize, String, Key)>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = r
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .clone();
    let col = |name: &str| -> Result<usize> {
        header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column {name} (expected cluster_id,source,record_id)",
                path.display()
            )
        })
    };
    let (c, s, k) = (col("cluster_id")?, col("source")?, col("record_id")?);
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{} line {line}", path.display()))?;
        let get = |j: usize| -> Result<String> {
            match row.get(j) {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => bail!(
                    "{} line {line}: a field is empty or missing",
                    path.display()
                ),
            }
        };
        out.push((line, get(c)?, (get(s)?, get(k)?)));
    }
    Ok(out)
}

struct SideCtx<'a> {
    held: &'a BTreeMap<Key, String>,
    applied: &'a mut BTreeSet<String>,
    skip_unknown: bool,
    summary: &'a mut Summary,
}

impl SideCtx<'_> {
    /// The person holding a record named by a side file, or `None` to skip the row.
    fn person(
        &mut self,
        path: &Path,
        line: usize,
        source: &str,
        id: &str,
    ) -> Result<Option<String>> {
        match self.held.get(&(source.to_owned(), id.to_owned())) {
            Some(p) => Ok(Some(p.clone())),
            None if self.skip_unknown => {
                self.summary.skipped_unknown_records += 1;
                Ok(None)
            }
            None => bail!(
                "{} line {line}: record {source}:{id} is not in the given stores (--skip-unknown-records skips such rows)",
                path.display()
            ),
        }
    }
}

fn side_reader(path: &Path, expected: &[&str]) -> Result<(csv::Reader<std::fs::File>, Vec<usize>)> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = r
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .clone();
    let cols = expected
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|h| h == *name)
                .with_context(|| format!("{}: no column {name}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((r, cols))
}

fn read_vehicles(
    path: &Path,
    up: &mut Update,
    ctx: &mut SideCtx<'_>,
    event_dates: &FxHashMap<(&str, &str), i64>,
) -> Result<()> {
    let (mut r, c) = side_reader(
        path,
        &["source", "record_id", "event_id", "plate", "plate_state"],
    )?;
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{} line {line}", path.display()))?;
        let f = |j: usize| row.get(c[j]).unwrap_or("");
        let (source, record, event, plate, state) = (f(0), f(1), f(2), f(3), f(4));
        if plate.is_empty() {
            bail!("{} line {line}: no plate", path.display());
        }
        let key = format!("vehicle|{source}|{record}|{event}|{state}|{plate}");
        if ctx.applied.contains(&key) {
            continue;
        }
        let Some(person) = ctx.person(path, line, source, record)? else {
            continue;
        };
        let node_id = if state.is_empty() {
            format!("vehicle:{plate}")
        } else {
            format!("vehicle:{state}:{plate}")
        };
        up.node(Node::new(node_id.clone(), NodeKind::Vehicle));
        let t = event_dates.get(&(source, event)).copied();
        up.edge_with(&person, &node_id, EdgeKind::Used, 1.0, t);
        ctx.applied.insert(key);
        ctx.summary.vehicle_rows += 1;
    }
    Ok(())
}

fn read_transfers(path: &Path, up: &mut Update, ctx: &mut SideCtx<'_>) -> Result<()> {
    let (mut r, c) = side_reader(
        path,
        &[
            "transfer_id",
            "date",
            "sender_source",
            "sender_record_id",
            "receiver_source",
            "receiver_record_id",
            "account",
        ],
    )?;
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{} line {line}", path.display()))?;
        let f = |j: usize| row.get(c[j]).unwrap_or("");
        let id = f(0);
        if id.is_empty() {
            bail!("{} line {line}: no transfer_id", path.display());
        }
        let key = format!("transfer|{id}");
        if ctx.applied.contains(&key) {
            continue;
        }
        let date = f(1);
        if date.is_empty() {
            bail!("{} line {line}: transfer {id} has no date", path.display());
        }
        let Ok(day) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            bail!(
                "{} line {line}: transfer {id}: date is not YYYY-MM-DD",
                path.display()
            );
        };
        let t = day.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp());
        let Some(sender) = ctx.person(path, line, f(2), f(3))? else {
            continue;
        };
        let Some(receiver) = ctx.person(path, line, f(4), f(5))? else {
            continue;
        };
        let node_id = format!("transfer:{id}");
        let mut node = Node::new(node_id.clone(), NodeKind::Transfer);
        node.time = t;
        up.node(node);
        up.edge_with(&sender, &node_id, EdgeKind::Paid, 1.0, t);
        up.edge_with(&node_id, &receiver, EdgeKind::Paid, 1.0, t);
        let account = f(6);
        if !account.is_empty() {
            let acc = format!("account:{account}");
            up.node(Node::new(acc.clone(), NodeKind::Account));
            up.edge_with(&node_id, &acc, EdgeKind::Paid, 1.0, t);
            up.edge_with(&receiver, &acc, EdgeKind::Owned, 1.0, t);
        }
        ctx.applied.insert(key);
        ctx.summary.transfer_rows += 1;
    }
    Ok(())
}

fn read_organisations(
    path: &Path,
    up: &mut Update,
    ctx: &mut SideCtx<'_>,
    event_dates: &FxHashMap<(&str, &str), i64>,
) -> Result<()> {
    let (mut r, c) = side_reader(
        path,
        &[
            "source",
            "record_id",
            "event_id",
            "organisation",
            "organisation_kind",
            "country",
            "relation",
        ],
    )?;
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{} line {line}", path.display()))?;
        let f = |j: usize| row.get(c[j]).unwrap_or("");
        let (source, record, event, name, kind, country, relation) =
            (f(0), f(1), f(2), f(3), f(4), f(5), f(6));
        if name.is_empty() {
            bail!("{} line {line}: no organisation", path.display());
        }
        let edge = match relation {
            "used" => EdgeKind::Used,
            "member_of" => EdgeKind::MemberOf,
            _ => bail!(
                "{} line {line}: relation must be used or member_of",
                path.display()
            ),
        };
        let key = format!("organisation|{source}|{record}|{event}|{name}|{relation}");
        if ctx.applied.contains(&key) {
            continue;
        }
        let Some(person) = ctx.person(path, line, source, record)? else {
            continue;
        };
        let node_id = format!("organisation:{name}");
        let mut node = Node::new(node_id.clone(), NodeKind::Organisation);
        node.country = country.parse::<Country>().ok();
        node.label = Some(if kind.is_empty() {
            name.to_owned()
        } else {
            format!("{name} ({kind})")
        });
        up.node(node);
        let t = event_dates.get(&(source, event)).copied();
        up.edge_with(&person, &node_id, edge, 1.0, t);
        ctx.applied.insert(key);
        ctx.summary.organisation_rows += 1;
    }
    Ok(())
}

fn read_held(path: &Path, g: &Graph) -> Result<BTreeMap<Key, String>> {
    Ok(super::read_record_persons(path, g)?
        .into_iter()
        .map(|r| ((r.source, r.record_id), r.person))
        .collect())
}

fn write_held(path: &Path, held: &BTreeMap<Key, String>) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["source", "record_id", "person"])?;
    for ((s, k), p) in held {
        w.write_record([s, k, p])?;
    }
    w.flush()?;
    Ok(())
}

fn read_applied(path: &Path) -> Result<BTreeSet<String>> {
    if !path.exists() {
        return Ok(BTreeSet::new());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.lines().skip(1).map(str::to_owned).collect())
}

fn write_applied(path: &Path, applied: &BTreeSet<String>) -> Result<()> {
    let mut text = String::from("row\n");
    for k in applied {
        text.push_str(k);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
