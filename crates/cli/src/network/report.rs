//! `enlace network report`: per community, its members, key brokers, countries spanned, the
//! phones and vehicles its members share, and a timeline of its events — as Markdown for a
//! reader and JSON for a program.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use enlace_graph::{Graph, NodeIx, NodeKind, betweenness, betweenness_sampled};
use serde::Serialize;

use super::analyse::{LeidenArgs, compute_communities};
use super::{GraphDir, RECORDS_FILE, SOURCES_FILE, read_communities};

/// Communities up to this many nodes get exact betweenness; larger ones a seeded sample.
const EXACT_UP_TO: usize = 4_000;
const PIVOTS: usize = 1_000;

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    /// Used when `communities` has not been run since the last build.
    #[command(flatten)]
    pub leiden: LeidenArgs,
    /// Communities to report, largest (by persons) first.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Leave out communities with fewer persons than this.
    #[arg(long, default_value_t = 3)]
    pub min_persons: usize,
    /// Brokers to name per community.
    #[arg(long, default_value_t = 5)]
    pub brokers: usize,
    /// Directory for report.md and report.json (default: the graph's directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Member {
    id: String,
    records: Vec<String>,
}

#[derive(Serialize)]
struct Broker {
    id: String,
    /// Normalized betweenness inside the community's own subgraph.
    betweenness: f64,
    degree: usize,
}

#[derive(Serialize)]
struct Shared {
    id: String,
    kind: NodeKind,
    persons: Vec<String>,
    /// `partner handling` when only a partner's release holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    released_by: Option<String>,
}

#[derive(Serialize)]
struct Moment {
    date: String,
    event: String,
    kind: NodeKind,
    place: Option<String>,
    persons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    released_by: Option<String>,
}

/// A value a partner released about a member.
#[derive(Serialize)]
struct ReleasedTie {
    person: String,
    node: String,
    kind: NodeKind,
    partner: String,
    handling: String,
    date: String,
}

#[derive(Serialize)]
struct CommunityReport {
    community: u32,
    nodes: usize,
    persons: usize,
    countries: Vec<String>,
    members: Vec<Member>,
    brokers: Vec<Broker>,
    shared: Vec<Shared>,
    timeline: Vec<Moment>,
    /// What partners released about members (not under H2).
    released: Vec<ReleasedTie>,
    /// Values released under handling code H2 (no onward sharing), left out of the report.
    released_withheld_h2: usize,
}

#[derive(Serialize)]
struct Report {
    graph_nodes: usize,
    graph_edges: usize,
    communities: usize,
    brokerage: &'static str,
    reported: Vec<CommunityReport>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let g = args.graph.load()?;
    let membership = match read_communities(&args.graph, &g)? {
        Some(m) => m,
        None => compute_communities(&args.graph, &g, &args.leiden)?.0,
    };
    let records = read_records(&args.graph, &g)?;
    let countries = read_sources(&args.graph)?;
    let k = membership
        .iter()
        .copied()
        .max()
        .map_or(0, |x| x as usize + 1);
    let mut members: Vec<Vec<NodeIx>> = vec![Vec::new(); k];
    for (u, &c) in membership.iter().enumerate() {
        members[c as usize].push(u as NodeIx);
    }
    let persons_in = |c: usize| {
        members[c]
            .iter()
            .filter(|&&u| g.nodes()[u as usize].kind == NodeKind::Person)
            .count()
    };
    let mut order: Vec<usize> = (0..k)
        .filter(|&c| persons_in(c) >= args.min_persons)
        .collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(persons_in(c)), c));
    order.truncate(args.top);

    let mut reported = Vec::new();
    for c in order {
        reported.push(community_report(
            &g,
            &membership,
            c as u32,
            &members[c],
            &records,
            &countries,
            args.brokers,
        )?);
    }
    let report = Report {
        graph_nodes: g.node_count(),
        graph_edges: g.edge_count(),
        communities: k,
        brokerage: "normalized betweenness of each person inside the subgraph of its own community",
        reported,
    };
    let out = args.out.clone().unwrap_or_else(|| args.graph.dir.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let json_path = out.join("report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = out.join("report.md");
    std::fs::write(&md_path, markdown(&report))
        .with_context(|| format!("writing {}", md_path.display()))?;
    outln!(
        "Reported {} of {} communities: {} and {}",
        report.reported.len(),
        k,
        md_path.display(),
        json_path.display()
    );
    Ok(())
}

fn community_report(
    g: &Graph,
    membership: &[u32],
    c: u32,
    nodes: &[NodeIx],
    records: &BTreeMap<NodeIx, Vec<(String, String)>>,
    countries: &BTreeMap<String, String>,
    brokers: usize,
) -> Result<CommunityReport> {
    let kind = |u: NodeIx| g.nodes()[u as usize].kind;
    let id = |u: NodeIx| g.nodes()[u as usize].id.clone();
    let persons: Vec<NodeIx> = nodes
        .iter()
        .copied()
        .filter(|&u| kind(u) == NodeKind::Person)
        .collect();
    let mut spanned = BTreeSet::new();
    let members: Vec<Member> = persons
        .iter()
        .map(|&u| {
            let recs = records.get(&u).map(Vec::as_slice).unwrap_or_default();
            for (s, _) in recs {
                if let Some(country) = countries.get(s) {
                    spanned.insert(country.clone());
                }
            }
            Member {
                id: id(u),
                records: recs.iter().map(|(s, k)| format!("{s}:{k}")).collect(),
            }
        })
        .collect();

    // Brokers: betweenness inside the community, so a person ranks for bridging the parts of
    // this network rather than for its position in the whole graph.
    let sub = g.induced(nodes)?;
    let adj = sub.adjacency();
    let b = if sub.node_count() <= EXACT_UP_TO {
        betweenness(adj, true)?
    } else {
        betweenness_sampled(adj, PIVOTS, 0, true)?
    };
    let mut ranked: Vec<NodeIx> = (0..sub.node_count() as NodeIx)
        .filter(|&u| sub.nodes()[u as usize].kind == NodeKind::Person)
        .collect();
    ranked.sort_by(|&x, &y| b[y as usize].total_cmp(&b[x as usize]).then(x.cmp(&y)));
    let brokers = ranked
        .iter()
        .take(brokers)
        .map(|&u| Broker {
            id: sub.nodes()[u as usize].id.clone(),
            betweenness: b[u as usize],
            degree: adj.degree(u),
        })
        .collect();

    // Phones and vehicles at least two of the community's persons share.
    let mut shared = Vec::new();
    let mut timeline = Vec::new();
    let person_neighbours = |u: NodeIx| -> Vec<String> {
        g.adjacency()
            .neighbors(u)
            .iter()
            .filter(|&&v| kind(v) == NodeKind::Person && membership[v as usize] == c)
            .map(|&v| id(v))
            .collect()
    };
    let released_by = |u: NodeIx| {
        g.nodes()[u as usize]
            .origin
            .as_deref()
            .map(|o| format!("{} {}", o.partner, o.handling))
    };
    // Released values: per member, its released_by_partner ties; H2 ones only counted.
    let mut released = Vec::new();
    let mut released_withheld_h2 = 0;
    for e in g.edges() {
        let Some(o) = g.origin(e) else { continue };
        let (p, v) = if kind(e.src) == NodeKind::Person {
            (e.src, e.dst)
        } else {
            (e.dst, e.src)
        };
        if membership[p as usize] != c {
            continue;
        }
        if !o.shareable() || !g.nodes()[v as usize].shareable() {
            released_withheld_h2 += 1;
            continue;
        }
        released.push(ReleasedTie {
            person: id(p),
            node: id(v),
            kind: kind(v),
            partner: o.partner.clone(),
            handling: o.handling.to_string(),
            date: match e.time {
                Some(t) => enlace_graph::export::iso_time(t)?
                    .chars()
                    .take(10)
                    .collect(),
                None => String::new(),
            },
        });
    }
    released.sort_by(|a, b| (&a.person, &a.node).cmp(&(&b.person, &b.node)));
    for &u in nodes {
        let k = kind(u);
        // A value released under H2 stays out of the report, as out of every export.
        if !g.nodes()[u as usize].shareable() {
            continue;
        }
        if matches!(
            k,
            NodeKind::Phone
                | NodeKind::Vehicle
                | NodeKind::Account
                | NodeKind::Address
                | NodeKind::Organisation
                | NodeKind::Document
        ) {
            let ps = person_neighbours(u);
            if ps.len() >= 2 {
                shared.push(Shared {
                    id: id(u),
                    kind: k,
                    persons: ps,
                    released_by: released_by(u),
                });
            }
        } else if k.is_event() {
            let n = &g.nodes()[u as usize];
            timeline.push(Moment {
                date: match n.time {
                    Some(t) => enlace_graph::export::iso_time(t)?
                        .chars()
                        .take(10)
                        .collect(),
                    None => String::new(),
                },
                event: n.id.clone(),
                kind: k,
                place: n.label.clone(),
                persons: person_neighbours(u),
                released_by: released_by(u),
            });
        }
    }
    shared.sort_by(|a, b| b.persons.len().cmp(&a.persons.len()).then(a.id.cmp(&b.id)));
    // Undated events sort first, as they cannot be placed.
    timeline.sort_by(|a, b| a.date.cmp(&b.date).then(a.event.cmp(&b.event)));
    Ok(CommunityReport {
        community: c,
        nodes: nodes.len(),
        persons: persons.len(),
        countries: spanned.into_iter().collect(),
        members,
        brokers,
        shared,
        timeline,
        released,
        released_withheld_h2,
    })
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Network report\n\nGraph: {} nodes, {} edges, {} communities; {} reported below, largest first.\n\nBrokers are ranked by {}.\n",
        r.graph_nodes,
        r.graph_edges,
        r.communities,
        r.reported.len(),
        r.brokerage
    );
    for c in &r.reported {
        let _ = writeln!(
            s,
            "## Community {}\n\n{} persons, {} nodes; countries: {}.\n",
            c.community,
            c.persons,
            c.nodes,
            if c.countries.is_empty() {
                "none recorded".to_string()
            } else {
                c.countries.join(", ")
            }
        );
        let _ = writeln!(
            s,
            "**Key brokers**\n\n| person | betweenness | degree |\n| --- | --- | --- |"
        );
        for b in &c.brokers {
            let _ = writeln!(s, "| {} | {:.4} | {} |", b.id, b.betweenness, b.degree);
        }
        let _ = writeln!(
            s,
            "\n**Shared phones, vehicles, accounts, addresses and organisations**\n"
        );
        if c.shared.is_empty() {
            let _ = writeln!(s, "None shared by two members or more.");
        } else {
            let _ = writeln!(s, "| node | kind | persons |\n| --- | --- | --- |");
            for x in c.shared.iter().take(30) {
                let _ = writeln!(
                    s,
                    "| {}{} | {} | {} |",
                    x.id,
                    x.released_by
                        .as_deref()
                        .map(|r| format!(" (released by {r})"))
                        .unwrap_or_default(),
                    x.kind,
                    x.persons.len()
                );
            }
            if c.shared.len() > 30 {
                let _ = writeln!(s, "\n…and {} more (see report.json).", c.shared.len() - 30);
            }
        }
        if !c.released.is_empty() || c.released_withheld_h2 > 0 {
            let _ = writeln!(
                s,
                "\n**Released by partners**\n\n| person | value | kind | partner | handling | date |\n| --- | --- | --- | --- | --- | --- |"
            );
            for r in &c.released {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    r.person, r.node, r.kind, r.partner, r.handling, r.date
                );
            }
            if c.released_withheld_h2 > 0 {
                let _ = writeln!(
                    s,
                    "\n{} released values under handling code H2 (no onward sharing) are left out of this report.",
                    c.released_withheld_h2
                );
            }
        }
        let _ = writeln!(
            s,
            "\n**Timeline** ({} events)\n\n| date | event | kind | place | persons |\n| --- | --- | --- | --- | --- |",
            c.timeline.len()
        );
        for m in c.timeline.iter().take(40) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                if m.date.is_empty() {
                    "undated"
                } else {
                    &m.date
                },
                m.event,
                m.kind,
                m.place.as_deref().unwrap_or(""),
                m.persons.len()
            );
        }
        if c.timeline.len() > 40 {
            let _ = writeln!(
                s,
                "\n…and {} more (see report.json).",
                c.timeline.len() - 40
            );
        }
        let _ = writeln!(s, "\n**Members** ({})\n", c.members.len());
        for m in c.members.iter().take(60) {
            let _ = writeln!(s, "- {} ({})", m.id, m.records.join(", "));
        }
        if c.members.len() > 60 {
            let _ = writeln!(s, "- …and {} more (see report.json).", c.members.len() - 60);
        }
        let _ = writeln!(s);
    }
    s
}

fn read_records(dir: &GraphDir, g: &Graph) -> Result<BTreeMap<NodeIx, Vec<(String, String)>>> {
    let mut out: BTreeMap<NodeIx, Vec<(String, String)>> = BTreeMap::new();
    for r in super::read_record_persons(&dir.file(RECORDS_FILE), g)? {
        out.entry(r.ix).or_default().push((r.source, r.record_id));
    }
    Ok(out)
}

fn read_sources(dir: &GraphDir) -> Result<BTreeMap<String, String>> {
    let path = dir.file(SOURCES_FILE);
    let mut r =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (i, row) in r.records().enumerate() {
        let row = row.with_context(|| format!("{} line {}", path.display(), i + 2))?;
        if let (Some(s), Some(c)) = (row.get(0), row.get(1)) {
            out.insert(s.to_owned(), c.to_owned());
        }
    }
    Ok(out)
}
