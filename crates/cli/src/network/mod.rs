//! `enlace network`: build the network of a node's records and linkage results, and analyse it.
//!
//! `build` saves the graph under `OUT/graph/` (see [`build`]); every other command reads it from
//! there with `--graph OUT`, and `communities` and `centrality` leave their results beside it
//! (`communities.csv`, `centrality.csv`) for `report` and `export` to pick up. Node ids name
//! phones and plates, so errors about an id name the argument, never the value.

pub mod analyse;
pub mod brokers;
pub mod build;
pub mod filter;
mod released;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use enlace_graph::{Graph, GraphError, NodeIx, NodeKind, SavedDir};

pub use enlace_graph::saved::{CENTRALITY_FILE, COMMUNITIES_FILE, GRAPH_DIR};
/// `source,record_id,person`: which person node holds each record.
pub const RECORDS_FILE: &str = "records.csv";
/// `source,country` of every source read, for the countries a community spans.
pub const SOURCES_FILE: &str = "sources.csv";

#[derive(Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Build (or update) the graph from stores, clusters, hits, vehicles and transfers.
    Build(build::BuildArgs),
    /// Find communities with Leiden (modularity or CPM); writes communities.csv.
    Communities(analyse::CommunitiesArgs),
    /// Degree, PageRank and sampled betweenness; writes centrality.csv and lists the top nodes.
    Centrality(analyse::CentralityArgs),
    /// Pairs of persons seen together in several events within a time window.
    Cotravel(analyse::CoTravelArgs),
    /// Nodes whose ties reach across countries or communities (brokerage).
    Brokerage(brokers::BrokerageArgs),
    /// A shortest path between two nodes, the k shortest, or a time-respecting one.
    Path(analyse::PathArgs),
    /// The nodes within a few hops of one node.
    Ego(analyse::EgoArgs),
    /// Write the graph as GraphML, GEXF, CSV or JSON, with communities and centrality if computed.
    Export(analyse::ExportArgs),
    /// Per community: members, key brokers, countries, shared phones and vehicles, timeline.
    Report(report::ReportArgs),
}

pub fn run(args: NetworkArgs) -> Result<()> {
    match args.command {
        NetworkCommand::Build(a) => build::run(a),
        NetworkCommand::Communities(a) => analyse::communities(a),
        NetworkCommand::Centrality(a) => analyse::centrality(a),
        NetworkCommand::Cotravel(a) => analyse::cotravel(a),
        NetworkCommand::Brokerage(a) => brokers::run(a),
        NetworkCommand::Path(a) => analyse::path(a),
        NetworkCommand::Ego(a) => analyse::ego(a),
        NetworkCommand::Export(a) => analyse::export(a),
        NetworkCommand::Report(a) => report::run(a),
    }
}

/// The directory `build` wrote, given as `--graph`.
#[derive(Args, Clone)]
pub struct GraphDir {
    /// The output directory of `enlace network build`.
    #[arg(long = "graph")]
    pub dir: PathBuf,
}

impl GraphDir {
    /// The saved graph, without what partners released whose retention has ended: that is
    /// dropped from the saved graph for good (and the analyses of the graph that held it
    /// removed) before anything reads it.
    pub fn load(&self) -> Result<Graph> {
        let saved = self.saved();
        if !saved.exists() {
            bail!(
                "no graph in {} (run `enlace network build --out {}` first)",
                self.dir.display(),
                self.dir.display()
            );
        }
        let (g, pruned) = saved
            .load(chrono::Utc::now().timestamp())
            .with_context(|| format!("reading the graph in {}", saved.graph_dir().display()))?;
        if let Some(dropped) = pruned {
            eprintln!(
                "note: dropped {} nodes and {} edges partners released whose retention has ended (communities and centrality must be computed again)",
                dropped.nodes, dropped.edges
            );
        }
        Ok(g)
    }

    /// The same directory as the graph crate reads it.
    pub fn saved(&self) -> SavedDir {
        SavedDir::new(&self.dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The node kind `--kind` names.
pub fn kind_arg(kind: &str) -> Result<NodeKind> {
    kind.parse().map_err(|_| {
        anyhow::anyhow!("--kind: not a node kind (person, phone, vehicle, address, account, organisation, encounter, crossing, case, transfer)")
    })
}

/// Looks up a node id given on the command line; an unknown id is named by its argument only.
pub fn node_ix(g: &Graph, id: &str, arg: &str) -> Result<NodeIx> {
    match g.ix(id) {
        Ok(ix) => Ok(ix),
        Err(GraphError::UnknownNode(_)) => {
            bail!(
                "{arg}: no node with that id in the graph (ids look like person:…, phone:…, event:SOURCE:…)"
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// Output directories hold phone numbers and plates: only the owner may read them.
pub fn restrict_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// One row of a graph's `records.csv`.
pub struct RecordPerson {
    pub source: String,
    pub record_id: String,
    /// The person node's id and index.
    pub person: String,
    pub ix: NodeIx,
}

/// The rows of a graph's `records.csv` (`source,record_id,person`): which person node holds each
/// record, checked against the saved graph. Errors name the file and line; the person id is not
/// echoed.
pub fn read_record_persons(path: &Path, g: &Graph) -> Result<Vec<RecordPerson>> {
    let mut r = csv::Reader::from_path(path)
        .with_context(|| format!("reading {} (saved with the graph)", path.display()))?;
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{} line {line}", path.display()))?;
        let (Some(s), Some(k), Some(p)) = (row.get(0), row.get(1), row.get(2)) else {
            bail!(
                "{} line {line}: expected source,record_id,person",
                path.display()
            );
        };
        let Ok(ix) = g.ix(p) else {
            bail!(
                "{} line {line}: a person not in the saved graph; rebuild with --rebuild",
                path.display()
            );
        };
        out.push(RecordPerson {
            source: s.to_owned(),
            record_id: k.to_owned(),
            person: p.to_owned(),
            ix,
        });
    }
    Ok(out)
}

/// Reads `communities.csv` when present and matching the graph.
pub fn read_communities(dir: &GraphDir, g: &Graph) -> Result<Option<Vec<u32>>> {
    let path = dir.file(COMMUNITIES_FILE);
    dir.saved()
        .communities(g)
        .with_context(|| format!("reading {}", path.display()))
}
