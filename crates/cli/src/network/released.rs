//! What partners released after hits, as edges of the graph (`enlace network build --node DIR`).
//!
//! The releases come from the node's exchange file through its ledger (`Ledger::released`: only
//! confirmed releases still within their retention). Each is placed on the person the hit
//! belongs to: the release names the hit by project and the partner's opaque reference; the
//! node's own results of that project (`DIR/projects/P/results.json`) give which of its records
//! the partner's record matched, and `DIR/projects/P/refs.csv` which source and record id that
//! reference stands for; `records.csv` of the graph gives the person holding that record.
//!
//! Released phones, documents, addresses and encounters become nodes (a phone or address the
//! node's own records also hold is the same node) tied to the person by `released_by_partner`
//! edges whose provenance names the partner, the handling code, the release and its retention.
//! Names, birth date, sex, nationality and the case reference describe the person the graph
//! already has and stay in the ledger (`enlace released`).
//!
//! Retention: a release the ledger no longer holds (deleted when its retention ended) is dropped
//! from the saved graph at the next build — its nodes that no own record declared and its edges —
//! and every command that loads a graph drops released data past its `retain_until` first
//! ([`super::GraphDir::load`]), so a graph built earlier never brings it back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use enlace_graph::{Country, EdgeKind, Handling, Node, NodeKind, Provenance, Update};
use enlace_node::exchange::{Ledger, Outcome, ReleaseBody};
use enlace_node::node_dir::NodeDir;
use enlace_node::policy::ReleaseField;
use serde::Serialize;

/// What `build --node` made of the releases held.
#[derive(Serialize, Default, Debug)]
pub struct ReleasedSummary {
    /// Confirmed releases within their retention in the ledger.
    pub held: usize,
    /// Added to the graph by this build.
    pub added: usize,
    /// Already in the graph.
    pub already: usize,
    /// Whose hit leads to no record of the graph (no results or references for the project,
    /// or a record the stores given do not hold): left out, tried again at the next build.
    pub unplaced: usize,
    /// Releases dropped from the saved graph because the ledger no longer holds them.
    pub dropped_releases: usize,
    pub dropped_nodes: usize,
    pub dropped_edges: usize,
    /// Released values by handling code (H2 ones never leave through an export).
    pub by_handling: BTreeMap<String, usize>,
}

/// A confirmed release, read from the ledger.
pub struct Release {
    pub id: String,
    pub origin: Provenance,
    pub body: ReleaseBody,
}

/// The confirmed releases the ledger of the node at `dir` holds now.
pub fn read(dir: &Path, now: i64) -> Result<Vec<Release>> {
    let node = NodeDir::new(dir);
    let path = node.exchange();
    if !path.exists() {
        bail!(
            "{} holds no exchange file (exchange.db): not a node, or no release received yet",
            dir.display()
        );
    }
    let ledger = Ledger::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let items = ledger
        .released(now)
        .with_context(|| format!("reading the releases in {}", path.display()))?;
    let mut out = Vec::new();
    for item in items {
        if item.outcome != Outcome::Confirmed {
            continue;
        }
        let body: ReleaseBody = serde_json::from_value(item.body)
            .with_context(|| format!("release {}: its body is not a release", item.id))?;
        let handling: Handling = item
            .handling
            .parse()
            .with_context(|| format!("release {}: handling code", item.id))?;
        out.push(Release {
            origin: Provenance {
                partner: item.from,
                handling,
                release: item.id.clone(),
                retain_until: Some(item.retain_until),
            },
            id: item.id,
            body,
        });
    }
    Ok(out)
}

/// A (source, record id) of this node.
type RecordKey = (String, String);
/// (partner, partner's reference) -> this node's records that matched it.
type HitMap = HashMap<(String, String), Vec<RecordKey>>;

/// Which (source, record id) a project's hit with `partner`'s record `partner_ref` leads to.
pub struct HitRecords {
    root: PathBuf,
    /// project -> (partner, partner_ref) -> own (source, record id)s.
    cache: HashMap<String, HitMap>,
}

impl HitRecords {
    pub fn new(node_dir: &Path) -> Self {
        HitRecords {
            root: NodeDir::new(node_dir).holder_projects(),
            cache: HashMap::new(),
        }
    }

    pub fn records(
        &mut self,
        project: &str,
        partner: &str,
        partner_ref: &str,
    ) -> Result<Vec<RecordKey>> {
        if !self.cache.contains_key(project) {
            let map = self.load(project)?;
            self.cache.insert(project.to_owned(), map);
        }
        Ok(self
            .cache
            .get(project)
            .and_then(|m| m.get(&(partner.to_owned(), partner_ref.to_owned())))
            .cloned()
            .unwrap_or_default())
    }

    fn load(&self, project: &str) -> Result<HitMap> {
        let mut out = HitMap::new();
        // A project name is a single path component.
        if project.is_empty() || project.contains(['/', '\\']) || project.starts_with('.') {
            return Ok(out);
        }
        let dir = self.root.join(project);
        let results = dir.join("results.json");
        let refs = dir.join("refs.csv");
        if !results.exists() || !refs.exists() {
            return Ok(out);
        }
        let text = std::fs::read_to_string(&results)
            .with_context(|| format!("reading {}", results.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not JSON", results.display()))?;
        let rows: Vec<enlace_node::project::ResultRow> =
            serde_json::from_value(value["rows"].clone())
                .with_context(|| format!("{}: no result rows", results.display()))?;
        let mut by_reference: HashMap<String, (String, String)> = HashMap::new();
        let mut r =
            csv::Reader::from_path(&refs).with_context(|| format!("reading {}", refs.display()))?;
        for (i, row) in r.records().enumerate() {
            let row = row.with_context(|| format!("{} line {}", refs.display(), i + 2))?;
            let (Some(source), Some(reference), Some(key)) = (row.get(0), row.get(1), row.get(2))
            else {
                bail!(
                    "{} line {}: expected source,reference,record_id",
                    refs.display(),
                    i + 2
                );
            };
            by_reference.insert(reference.to_owned(), (source.to_owned(), key.to_owned()));
        }
        for row in rows {
            if let Some(rec) = by_reference.get(&row.reference) {
                let slot = out.entry((row.partner, row.partner_ref)).or_default();
                if !slot.contains(rec) {
                    slot.push(rec.clone());
                }
            }
        }
        Ok(out)
    }
}

/// Midnight UTC of an ISO date `YYYY-MM-DD`; partial dates are no day.
fn iso_day(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// Adds one release's values, tied to `persons`, to the update. Returns how many values.
pub fn add(up: &mut Update, persons: &BTreeSet<String>, r: &Release) -> usize {
    let origin = &r.origin;
    let mut targets: Vec<(Node, Option<i64>)> = Vec::new();
    let released = &r.body.released;
    // Encounters first: their dates date the identifiers, as a record's events do.
    let mut first_date: Option<i64> = None;
    if let Some(serde_json::Value::Array(events)) = released.get(&ReleaseField::Encounters) {
        for e in events {
            let Some(id) = e["id"].as_str().filter(|s| !s.is_empty()) else {
                continue;
            };
            let kind = match e["kind"].as_str() {
                Some("crossing") => NodeKind::Crossing,
                Some("case") => NodeKind::Case,
                _ => NodeKind::Encounter,
            };
            let mut node = Node::new(format!("event:{}:{id}", origin.partner), kind);
            node.time = e["date"].as_str().and_then(iso_day);
            node.label = e["place"].as_str().map(str::to_owned);
            if let Some(t) = node.time {
                first_date = Some(first_date.map_or(t, |f: i64| f.min(t)));
            }
            let t = node.time;
            targets.push((node, t));
        }
    }
    if let Some(serde_json::Value::Array(phones)) = released.get(&ReleaseField::Phones) {
        for p in phones.iter().filter_map(|p| p.as_str()) {
            targets.push((Node::new(format!("phone:{p}"), NodeKind::Phone), first_date));
        }
    }
    if let Some(serde_json::Value::Array(docs)) = released.get(&ReleaseField::DocumentNumbers) {
        for d in docs {
            let (Some(kind), Some(number)) = (d["kind"].as_str(), d["number"].as_str()) else {
                continue;
            };
            let mut node = Node::new(format!("document:{kind}:{number}"), NodeKind::Document);
            node.country = d["country"]
                .as_str()
                .and_then(|c| c.parse::<Country>().ok());
            targets.push((node, first_date));
        }
    }
    if let Some(a) = released.get(&ReleaseField::Address)
        && let Ok(a) = serde_json::from_value::<enlace_normalize::Address>(a.clone())
        && let Some(id) = super::build::address_id(&a)
    {
        targets.push((Node::new(id, NodeKind::Address), first_date));
    }
    let n = targets.len();
    for (node, t) in targets {
        let id = node.id.clone();
        up.node(node.released(origin.clone()));
        for p in persons {
            up.released_edge(p, &id, EdgeKind::ReleasedByPartner, t, origin.clone());
        }
    }
    n
}
