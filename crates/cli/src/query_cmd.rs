//! `enlace query`: the border officer's question — is this person in another agency's records?
//! The node encodes one person's details under a project's secret and asks the linkage unit,
//! which answers hit or no hit with opaque references and bands. And `enlace project
//! bench-query`, which measures that answer's latency under concurrent clients.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_encode::Encoder;
use enlace_model::Record;
use enlace_node::person::Person;
use enlace_node::project::holder::Holder;

use crate::node_cmd::load;

#[derive(Args)]
pub struct QueryArgs {
    /// This node's directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// The project whose linkage unit and secret to use.
    #[arg(long)]
    pub project: String,
    /// The person, as JSON (see `docs/protocol.md`, "Online query"); `-` reads standard input.
    #[arg(long)]
    pub person: PathBuf,
    /// Print the unit's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A person's details (the JSON `enlace query --person` reads) as a normalised record.
pub fn record_from_json(text: &str) -> Result<Record> {
    let person: Person = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "the person's JSON, line {}: {}",
            e.line(),
            e.classify_name()
        )
    })?;
    Ok(person.record(chrono::Utc::now().date_naive())?)
}

/// One record as a one-record encoding file under the project's secret and schema.
pub fn encode_one(encoder: &Encoder, record: &Record) -> Result<Vec<u8>> {
    Ok(enlace_node::person::encode_one(encoder, record)?)
}

pub fn query(args: QueryArgs) -> Result<()> {
    let mut text = String::new();
    if args.person == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(&args.person)
            .with_context(|| format!("reading {}", args.person.display()))?;
    }
    let record = record_from_json(&text)?;
    let node = load(&args.dir)?;
    let holder = Holder::new(&node);
    let (joined, secret) = holder.joined(&args.project)?;
    let encoder = Encoder::new(&secret, joined.spec.schema.clone())?;
    let started = Instant::now();
    let answer = holder
        .query(&args.project, encode_one(&encoder, &record)?)
        .with_context(|| format!("querying project {}", args.project))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let matches = answer["matches"].as_array().cloned().unwrap_or_default();
    if matches.is_empty() {
        outln!("NO HIT in project {} ({ms:.0} ms)", args.project);
    } else {
        outln!(
            "HIT in project {}: {} record(s) at other agencies ({ms:.0} ms)",
            args.project,
            matches.len()
        );
        for m in &matches {
            outln!(
                "   {} {} — band {}",
                m["partner"].as_str().unwrap_or("?").to_uppercase(),
                m["partner_ref"].as_str().unwrap_or("?"),
                m["band"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(())
}

/// What `classify_name` says of a JSON error, without quoting the input.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "could not be read",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => {
                "fields missing, unknown or of the wrong type (given, surname1 required)"
            }
            serde_json::error::Category::Eof => "ends too soon",
        }
    }
}

/// Latency of the online query: `queries` records of a source of this node's store, encoded
/// and sent by `clients` concurrent clients, each on a connection of its own kept open.
pub fn bench_query(
    dir: &Path,
    project: &str,
    source: &str,
    clients: usize,
    queries: usize,
) -> Result<()> {
    let node = load(dir)?;
    let holder = Holder::new(&node);
    let (joined, secret) = holder.joined(project)?;
    let encoder = Encoder::new(&secret, joined.spec.schema.clone())?;
    let store = enlace_store::Store::open(&node.dir.records())?;
    let records: Vec<Record> = store
        .records(source)?
        .into_iter()
        .map(|r| r.record)
        .collect();
    if records.is_empty() {
        bail!("source `{source}` holds no records");
    }
    let step = (records.len() / queries.max(1)).max(1);
    let bodies: Vec<Vec<u8>> = records
        .iter()
        .step_by(step)
        .take(queries)
        .map(|r| encode_one(&encoder, r))
        .collect::<Result<_>>()?;
    // One query first, unmeasured: a unit that has just started or finished a run may still
    // be building its search index, and the first query waits for it.
    if let Some(first) = bodies.first() {
        holder.query(project, first.clone())?;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let hits = std::sync::atomic::AtomicUsize::new(0);
    let latencies = std::sync::Mutex::new(Vec::with_capacity(bodies.len()));
    let failures = std::sync::Mutex::new(Vec::new());
    // A lock is poisoned only by a client thread that panicked, and the scope re-raises that
    // panic when it ends, so a poisoned lock's entry can be skipped: the run fails anyway.
    let started = Instant::now();
    let path = format!("/api/v1/projects/{project}/query");
    std::thread::scope(|scope| {
        for _ in 0..clients.max(1) {
            scope.spawn(|| {
                // Each client keeps its connection, as a border post's terminal would.
                let mut conn = match holder.unit_connection(project) {
                    Ok(c) => c,
                    Err(e) => {
                        if let Ok(mut f) = failures.lock() {
                            f.push(e.to_string());
                        }
                        return;
                    }
                };
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let answer = conn
                        .send(enlace_node::client::Request::post_bytes(
                            &path,
                            body.clone(),
                        ))
                        .map_err(|e| e.to_string())
                        .and_then(|r| {
                            if r.status == 200 {
                                r.json().ok_or_else(|| "not JSON".to_string())
                            } else {
                                Err(format!("status {}", r.status))
                            }
                        });
                    match answer {
                        Ok(answer) => {
                            if answer["hit"] == true {
                                hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            if let Ok(mut l) = latencies.lock() {
                                l.push(t.elapsed());
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failures.lock() {
                                f.push(e);
                            }
                        }
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    let failures = failures.into_inner().unwrap_or_default();
    if let Some(first) = failures.first() {
        bail!(
            "{} of {} queries failed; the first: {first}",
            failures.len(),
            bodies.len()
        );
    }
    let mut l = latencies.into_inner().unwrap_or_default();
    l.sort_unstable();
    let at = |q: f64| -> Duration {
        l.get(((l.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let summary = serde_json::json!({
        "queries": l.len(),
        "clients": clients,
        "hits": hits.into_inner(),
        "p50_ms": ms(at(0.5)),
        "p99_ms": ms(at(0.99)),
        "max_ms": ms(at(1.0)),
        "queries_per_second": l.len() as f64 / wall.as_secs_f64().max(1e-9),
    });
    outln!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
