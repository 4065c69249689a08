//! The demo's linkage chapter, over the running nodes: the US node creates a three-party
//! project at the linkage unit, Mexico and Guatemala join it, each agency deduplicates and
//! encodes its records and uploads them, the unit links them, and each agency fetches its own
//! side of the hits. The demo alone holds the scenario's truth, and scores the hits with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use enlace_link::Truth;
use enlace_node::node_dir::NodeDir;
use enlace_node::project::ResultRow;
use enlace_node::project::holder::Holder;

use crate::demo_nodes::Federation;
use crate::project_cmd::{print_summary, read_refs, upload};

/// The project the demo runs.
pub const PROJECT: &str = "demo-trilateral";

/// Node id and source name of each agency.
pub const SOURCES: [(&str, &str); 3] = [
    ("us", "us-encounters"),
    ("mx", "mx-registros"),
    ("gt", "gt-registros"),
];

/// What each agency got back: its id, its rows and its reference → record key map.
type NodeHits = (String, Vec<ResultRow>, HashMap<String, String>);

pub fn run(fed: &Federation, data: &Path) -> Result<()> {
    let load = |id: &str| {
        NodeDir::new(fed.dir(id))
            .load()
            .with_context(|| format!("loading node {id}"))
    };
    outln!(
        "\n4. The US node creates the three-party project `{PROJECT}` at the linkage unit; the project secret is sealed to MX and GT, and the unit relays copies it cannot open:"
    );
    let us = load("us")?;
    let spec = Holder::new(&us).create("lu", PROJECT, &["mx".into(), "gt".into()], None)?;
    for id in ["mx", "gt"] {
        let node = load(id)?;
        Holder::new(&node).join("lu", PROJECT)?;
        outln!(
            "   [{}] opened its sealed copy (signed by {}); key check matches the project's",
            id.to_uppercase(),
            spec.initiator.to_uppercase()
        );
    }

    outln!(
        "\n5. Each agency deduplicates its own records in plaintext, encodes them under the project secret and uploads them in checksummed chunks:"
    );
    for (id, source) in SOURCES {
        let node = load(id)?;
        let report = upload(&node, PROJECT, &node.dir.records(), source, 2_000, true)?;
        outln!(
            "   [{}] {} encodings in {} chunks ({} KiB; no names, dates or ids in them)",
            id.to_uppercase(),
            report.records,
            report.chunks,
            report.bytes / 1024
        );
    }

    outln!("\n6. The linkage unit, which never holds the secret, links the three uploads:");
    let holder = Holder::new(&us);
    holder.run(PROJECT)?;
    let done = holder.wait(PROJECT, Duration::from_secs(300))?;
    print_summary(&done["summary"]);

    outln!(
        "\n7. Each agency fetches its own side of the hits — its record, the partner, an opaque reference, a band, and how each field compared (never a partner's value):"
    );
    let mut by_node = Vec::new();
    for (id, _) in SOURCES {
        let node = load(id)?;
        let (_, rows) = Holder::new(&node).results(PROJECT)?;
        crate::project_cmd::record_hit_references(&node, PROJECT, &rows)?;
        let refs = read_refs(&node.dir.holder_projects().join(PROJECT))?;
        let mut bands: BTreeMap<&str, usize> = BTreeMap::new();
        let own: BTreeSet<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
        for r in &rows {
            *bands.entry(r.band.as_str()).or_default() += 1;
        }
        outln!(
            "   [{}] {} of its records are hits ({} rows: {})",
            id.to_uppercase(),
            own.len(),
            rows.len(),
            bands
                .iter()
                .map(|(b, n)| format!("{n} {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        by_node.push((id.to_string(), rows, refs));
    }
    explain_one(&by_node);
    score(&by_node, data)?;
    Ok(())
}

/// One hit as the Mexican analyst sees it: a record of theirs, and the same person's records
/// at the other agencies, by opaque reference and band.
fn explain_one(by_node: &[NodeHits]) {
    let Some((_, rows, refs)) = by_node.iter().find(|(id, _, _)| id == "mx") else {
        return;
    };
    let mut by_ref: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        by_ref.entry(r.reference.as_str()).or_default().push(r);
    }
    // A record found in both other countries if there is one.
    let Some((reference, partners)) = by_ref
        .iter()
        .max_by_key(|(_, ps)| ps.iter().map(|p| &p.partner).collect::<BTreeSet<_>>().len())
    else {
        return;
    };
    let key = refs.get(*reference).map(String::as_str).unwrap_or("?");
    outln!(
        "   one hit on the Mexican side: its record {key} (reference {reference}, known to partners as {}) is the same person as",
        partners[0].opaque
    );
    for p in partners {
        outln!(
            "      {} record {} — band {}",
            p.partner.to_uppercase(),
            p.partner_ref,
            p.band
        );
    }
    outln!(
        "      (to learn more, MX sends a follow-up request quoting {}; the owner decides what to release)",
        partners[0].partner_ref
    );
}

/// Scores the hits against the scenario's truth: a pair of records of two agencies is a true
/// hit when both are the same generated person.
fn score(by_node: &[NodeHits], data: &Path) -> Result<()> {
    let truth = Truth::from_records_csv(&data.join("truth/records.csv"))?;
    let source_of: HashMap<&str, &str> = SOURCES.iter().copied().collect();
    // The demo alone sees every agency's side: the cluster ids join them.
    let mut clusters: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for (id, rows, refs) in by_node {
        for r in rows {
            if let Some(key) = refs.get(&r.reference) {
                clusters
                    .entry(r.cluster.as_str())
                    .or_default()
                    .insert((source_of[id.as_str()], key.as_str()));
            }
        }
    }
    let person = |(s, k): (&str, &str)| truth.person(s, k);
    let mut predicted = BTreeSet::new();
    for members in clusters.values() {
        let m: Vec<_> = members.iter().copied().collect();
        for (i, &a) in m.iter().enumerate() {
            for &b in &m[i + 1..] {
                if a.0 != b.0 {
                    predicted.insert((a.min(b), a.max(b)));
                }
            }
        }
    }
    let correct = predicted
        .iter()
        .filter(|(a, b)| person(*a).is_some() && person(*a) == person(*b))
        .count();
    // Every true pair of two agencies' uploaded records.
    let mut by_person: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (node, _, refs) in by_node {
        let source = source_of[node.as_str()];
        for key in refs.values() {
            if let Some(p) = truth.person(source, key) {
                by_person.entry(p).or_default().push((source, key.as_str()));
            }
        }
    }
    let mut true_pairs = 0usize;
    for members in by_person.values() {
        for (i, a) in members.iter().enumerate() {
            true_pairs += members[i + 1..].iter().filter(|b| b.0 != a.0).count();
        }
    }
    let precision = correct as f64 / predicted.len().max(1) as f64;
    let recall = correct as f64 / true_pairs.max(1) as f64;
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    outln!(
        "   against the scenario's truth (which only the demo holds): {} of {} record pairs across agencies found — precision {precision:.3}, recall {recall:.3}, F1 {f1:.3}",
        correct,
        true_pairs
    );
    Ok(())
}
