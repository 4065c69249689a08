//! `enlace project`: a data holder's steps in a linkage project at a linkage unit — create it
//! (the initiator), join it (fetch and open the sealed secret), upload the encodings of a
//! source, run it (the initiator) and fetch this node's side of the hits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use enlace_encode::Encoder;
use enlace_link::{Blocker, Dataset, PairScope, Source, TrainOptions};
use enlace_node::project::holder::{Holder, UploadReport};
use enlace_store::Store;

use crate::node_cmd::load;

/// Records per uploaded chunk: about 4 MiB of encodings under the default schema.
const DEFAULT_CHUNK_RECORDS: usize = 10_000;

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project at a linkage unit, with this node as initiator: make the project
    /// secret, seal it to each other holder, and send the project to the unit.
    Create {
        /// This node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The linkage unit (an id in the roster).
        #[arg(long)]
        unit: String,
        /// The project's id (lowercase letters, digits and '-').
        #[arg(long)]
        project: String,
        /// The other data holders, comma-separated ids in the roster.
        #[arg(long, value_delimiter = ',', required = true)]
        with: Vec<String>,
        /// An encoding schema (JSON, from `enlace schema`) instead of the default; its id must
        /// be the project's.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Join a project another node created: fetch this node's sealed copy of the secret from
    /// the unit, check the initiator's signature, and keep the secret here (owner-only).
    Join {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        unit: String,
        #[arg(long)]
        project: String,
    },
    /// Encode a source of this node's records under the project's secret and upload them to
    /// the unit in checksummed chunks; an interrupted upload resumes where it stopped.
    Upload {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        project: String,
        /// The source in the node's record store to upload.
        #[arg(long)]
        source: String,
        /// The record store (default: DIR/records).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Records per chunk.
        #[arg(long, default_value_t = DEFAULT_CHUNK_RECORDS)]
        chunk_records: usize,
        /// Do not deduplicate the source first (each record then stands alone at the unit).
        #[arg(long)]
        no_groups: bool,
    },
    /// Ask the unit to link the holders' current uploads (the initiator only), and wait.
    Run {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        project: String,
        /// Seconds to wait for the run to finish.
        #[arg(long, default_value_t = 600)]
        wait: u64,
    },
    /// The project's state at the unit: holders' uploads, runs and their counts.
    Status {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        project: String,
    },
    /// Measure the online query: records of a source sent as queries by concurrent clients
    /// (p50, p99, queries per second, as JSON).
    BenchQuery {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        project: String,
        #[arg(long)]
        source: String,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
    },
    /// Fetch this node's side of the latest run's hits, print them and keep them in
    /// DIR/projects/PROJECT/results.json.
    Results {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        project: String,
        /// Print the rows as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::Create {
            dir,
            unit,
            project,
            with,
            schema,
        } => {
            let node = load(&dir)?;
            let schema = match schema {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    Some(
                        enlace_encode::Schema::from_json(&text)
                            .with_context(|| format!("schema {}", p.display()))?,
                    )
                }
                None => None,
            };
            let spec = Holder::new(&node)
                .create(&unit, &project, &with, schema)
                .with_context(|| format!("creating project {project} at {unit}"))?;
            outln!(
                "project {} created at {unit}: holders {}; the secret stays at the holders (sealed to each), the unit cannot open it",
                spec.id,
                spec.holders.join(", ")
            );
            Ok(())
        }
        ProjectCommand::Join { dir, unit, project } => {
            let node = load(&dir)?;
            let spec = Holder::new(&node)
                .join(&unit, &project)
                .with_context(|| format!("joining project {project} at {unit}"))?;
            outln!(
                "joined project {} (initiator {}); its secret is in {}",
                spec.id,
                spec.initiator,
                node.dir.holder_projects().join(&spec.id).display()
            );
            Ok(())
        }
        ProjectCommand::Upload {
            dir,
            project,
            source,
            store,
            chunk_records,
            no_groups,
        } => {
            let node = load(&dir)?;
            let store = store.unwrap_or_else(|| node.dir.records());
            let report = upload(&node, &project, &store, &source, chunk_records, !no_groups)?;
            outln!(
                "uploaded {} records of {source} to project {project}: {} chunks, {} sent now ({} KiB in {:.2} s, {:.0} records/s), upload {}",
                report.records,
                report.chunks,
                report.sent,
                report.bytes / 1024,
                report.seconds,
                report.records as f64 / report.seconds.max(1e-9),
                &report.upload[..16]
            );
            Ok(())
        }
        ProjectCommand::Run { dir, project, wait } => {
            let node = load(&dir)?;
            let holder = Holder::new(&node);
            let run = holder
                .run(&project)
                .with_context(|| format!("starting a run of {project}"))?;
            outln!("run {run} of {project} started at the linkage unit");
            let done = holder
                .wait(&project, Duration::from_secs(wait))
                .with_context(|| format!("waiting for run {run} of {project}"))?;
            print_summary(&done["summary"]);
            Ok(())
        }
        ProjectCommand::BenchQuery {
            dir,
            project,
            source,
            clients,
            queries,
        } => crate::query_cmd::bench_query(&dir, &project, &source, clients, queries),
        ProjectCommand::Status { dir, project } => {
            let node = load(&dir)?;
            let holder = Holder::new(&node);
            let (joined, _) = holder.joined(&project)?;
            let status = holder.status(&joined.unit, &project)?;
            outln!("{}", serde_json::to_string_pretty(&status)?);
            Ok(())
        }
        ProjectCommand::Results { dir, project, json } => {
            let node = load(&dir)?;
            let (run, rows) = Holder::new(&node)
                .results(&project)
                .with_context(|| format!("fetching the results of {project}"))?;
            let recorded = record_hit_references(&node, &project, &rows)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let keys = read_refs(&node.dir.holder_projects().join(&project))?;
            outln!(
                "run {run}: {} rows (one per own record and partner record); {recorded} of this node's records can now be named in follow-up requests",
                rows.len()
            );
            outln!("record\tpartner\tpartner_ref\tband\tcluster");
            for r in &rows {
                let key = keys.get(&r.reference).map(String::as_str).unwrap_or("?");
                outln!(
                    "{key}\t{}\t{}\t{}\t{}",
                    r.partner,
                    r.partner_ref,
                    r.band,
                    r.cluster
                );
            }
            Ok(())
        }
    }
}

/// Prints a run's summary: records per holder and hits per pair of holders by band.
pub fn print_summary(summary: &serde_json::Value) {
    if let Some(records) = summary["records"].as_object() {
        let parts: Vec<String> = records
            .iter()
            .map(|(h, n)| format!("{} {}", h.to_uppercase(), n))
            .collect();
        outln!("   records linked: {}", parts.join(", "));
    }
    outln!(
        "   {} candidate pairs compared; {} people in two or more countries' records, {} in all of them",
        summary["pairs_compared"],
        summary["people_across"],
        summary["people_in_all"]
    );
    for h in summary["hits"].as_array().into_iter().flatten() {
        outln!(
            "   {}–{}: {} people (certain {}, probable {}, possible {})",
            h["a"].as_str().unwrap_or("?").to_uppercase(),
            h["b"].as_str().unwrap_or("?").to_uppercase(),
            h["people"],
            h["certain"],
            h["probable"],
            h["possible"]
        );
    }
}

/// Records, in the node's exchange file, which of its records each opaque reference of the
/// results stands for: a partner's follow-up request quotes that reference, and the approver's
/// decision reads the record it names. Returns how many references were recorded.
pub fn record_hit_references(
    node: &enlace_node::node_dir::Node,
    project: &str,
    rows: &[enlace_node::project::ResultRow],
) -> Result<usize> {
    let path = node.dir.holder_projects().join(project).join("refs.csv");
    let mut by_reference: HashMap<String, (String, String)> = HashMap::new();
    if let Ok(mut reader) = csv::Reader::from_path(&path) {
        for row in reader.records() {
            let row = row.with_context(|| format!("reading {}", path.display()))?;
            if let (Some(source), Some(reference), Some(key)) = (row.get(0), row.get(1), row.get(2))
            {
                by_reference.insert(reference.to_string(), (source.to_string(), key.to_string()));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let entries: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| seen.insert(r.opaque.clone()))
        .filter_map(|r| {
            by_reference
                .get(&r.reference)
                .map(|(source, key)| (source.clone(), r.opaque.clone(), key.clone()))
        })
        .collect();
    let mut ledger = enlace_node::exchange::ledger::Ledger::open(&node.dir.exchange())
        .with_context(|| format!("opening {}", node.dir.exchange().display()))?;
    Ok(ledger.add_references(project, &entries)?)
}

/// Reads the node's map from references to record keys (`refs.csv`, kept at the node).
pub fn read_refs(project_dir: &Path) -> Result<HashMap<String, String>> {
    let path = project_dir.join("refs.csv");
    let mut out = HashMap::new();
    let mut reader = match csv::Reader::from_path(&path) {
        Ok(r) => r,
        Err(_) => return Ok(out),
    };
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", path.display()))?;
        if let (Some(reference), Some(key)) = (row.get(1), row.get(2)) {
            out.insert(reference.to_string(), key.to_string());
        }
    }
    Ok(out)
}

/// Deduplicates a source in plaintext (the agency's own view of its records), encodes it
/// under the project's secret with those groups, keeps the reference map at the node and
/// uploads the encodings.
pub fn upload(
    node: &enlace_node::node_dir::Node,
    project: &str,
    store_dir: &Path,
    source: &str,
    chunk_records: usize,
    groups: bool,
) -> Result<UploadReport> {
    let holder = Holder::new(node);
    let (joined, secret) = holder.joined(project)?;
    let store = Store::open(store_dir)
        .with_context(|| format!("opening the record store {}", store_dir.display()))?;
    let records: Vec<enlace_model::Record> = store
        .records_for_linkage(source)
        .with_context(|| format!("reading {source}"))?
        .into_iter()
        .map(|r| r.record)
        .collect();
    if records.is_empty() {
        bail!(
            "source `{source}` in {} holds no records",
            store_dir.display()
        );
    }
    let mut group_of: HashMap<u32, u32> = HashMap::new();
    if groups {
        let one = Dataset::new(vec![Source {
            name: source.to_string(),
            records: records.clone(),
        }]);
        let within = Blocker {
            scope: PairScope::Within,
            ..Blocker::default()
        };
        let deduped = enlace_link::run(&one, &within, None, &TrainOptions::default())
            .with_context(|| format!("deduplicating {source}"))?;
        let multi = deduped.clusters.iter().filter(|c| c.members.len() > 1);
        for (group, cluster) in (1u32..).zip(multi) {
            for &m in &cluster.members {
                group_of.insert(m, group);
            }
        }
    }
    let t0 = Instant::now();
    let encoder = Encoder::new(&secret, joined.spec.schema.clone())?;
    let mut encoded = encoder.encode_all(&records, |_, r| encoder.reference_for(&r.key));
    for (i, e) in encoded.iter_mut().enumerate() {
        e.group = group_of.get(&(i as u32)).copied().unwrap_or(0);
    }
    tracing::info!(
        records = records.len(),
        seconds = t0.elapsed().as_secs_f64(),
        "encoded"
    );
    let mut refs = csv::Writer::from_writer(Vec::new());
    refs.write_record(["source", "reference", "record_id"])?;
    for (r, e) in records.iter().zip(&encoded) {
        refs.write_record([
            source,
            &enlace_link::encoded::reference_key(e.reference),
            &r.key,
        ])?;
    }
    let refs_path = node.dir.holder_projects().join(project).join("refs.csv");
    write_private_atomic(&refs_path, &refs.into_inner()?)?;
    holder
        .upload(project, encoded, chunk_records)
        .with_context(|| format!("uploading {source} to project {project}"))
}

/// Writes a file readable by its owner only, through a temporary file renamed into place.
fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
