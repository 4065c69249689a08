//! `enlace link` as a user runs it: three agencies' stores in, links, clusters and a model out,
//! scored against the generated truth.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_enlace");

/// `enlace SUBCOMMAND` reading the demo's three node stores.
fn over_nodes(subcommand: &str, nodes: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg(subcommand);
    for node in ["us", "mx", "gt"] {
        cmd.arg("--from").arg(nodes.join(node).join("records"));
    }
    cmd
}

/// Runs a command that must succeed, showing its stderr when it does not.
fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn link_three_stores_and_evaluate_against_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(BIN)
        .args(["demo", "--people", "1200", "--exit", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let result = tmp.path().join("link");
    let nodes = dir.join("nodes");
    let out = Command::new(BIN)
        .arg("link")
        .arg("--from")
        .arg(nodes.join("us").join("records"))
        .arg("--from")
        .arg(format!(
            "{}:mx-registros",
            nodes.join("mx").join("records").display()
        ))
        .arg("--from")
        .arg(nodes.join("gt").join("records"))
        .arg("--truth")
        .arg(dir.join("data/truth/records.csv"))
        .arg("--json")
        .arg("--out")
        .arg(&result)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f1 = summary["evaluation"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.93, "F1 {f1}");
    let completeness = summary["pairs_completeness"].as_f64().unwrap();
    assert!(
        (0.95..=1.0).contains(&completeness),
        "pairs completeness {completeness}"
    );
    // The kinds of errors add up to the clusters' errors.
    let errors = &summary["errors"];
    let count = |k: &str| errors[k].as_u64().unwrap();
    assert_eq!(
        count("missed_not_candidates")
            + count("missed_below_threshold")
            + count("missed_by_solver"),
        summary["evaluation"]["false_negatives"].as_u64().unwrap()
    );
    assert_eq!(
        count("false_direct") + count("false_through_merges"),
        summary["evaluation"]["false_positives"].as_u64().unwrap()
    );
    assert!(count("missed_below_threshold") > 0, "{errors}");
    assert!(summary["clusters_across_sources"].as_u64().unwrap() > 50);

    let mut links = csv::Reader::from_path(result.join("links.csv")).unwrap();
    assert_eq!(
        links.headers().unwrap(),
        vec![
            "left_source",
            "left_id",
            "right_source",
            "right_id",
            "match_weight",
            "match_probability"
        ]
    );
    let rows: Vec<csv::StringRecord> = links.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() as u64, summary["links"].as_u64().unwrap());
    for row in &rows {
        let p: f64 = row[5].parse().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
    let mut clusters = csv::Reader::from_path(result.join("clusters.csv")).unwrap();
    assert_eq!(
        clusters.headers().unwrap(),
        vec!["cluster_id", "source", "record_id"]
    );
    assert!(
        clusters.records().count() > 1000,
        "every record is in exactly one cluster"
    );

    // The first link, explained field by field from the saved model and the run's companions:
    // levels and weights only.
    let first = &rows[0];
    let out = run_ok(
        over_nodes("explain", &nodes)
            .arg("--model")
            .arg(result.join("model.json"))
            .arg("--companions")
            .arg(result.join("companions.csv"))
            .arg(format!("{}:{}", &first[0], &first[1]))
            .arg(format!("{}:{}", &first[2], &first[3])),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("prior (lambda)") && text.contains("total"),
        "{text}"
    );
    let weight: f64 = first[4].parse().unwrap();
    let shown: f64 = text
        .split("total ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a total in the waterfall");
    assert!(
        (shown - weight).abs() < 0.01,
        "the waterfall's total {shown} is the link's weight {weight}"
    );
    assert!(text.contains("companions: "), "{text}");

    // The saved model scores the same data to the same links.
    let again = tmp.path().join("again");
    run_ok(
        over_nodes("link", &nodes)
            .arg("--model")
            .arg(result.join("model.json"))
            .arg("--out")
            .arg(&again),
    );
    assert_eq!(
        std::fs::read(result.join("clusters.csv")).unwrap(),
        std::fs::read(again.join("clusters.csv")).unwrap()
    );
}

#[test]
fn link_refuses_a_missing_store() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("link")
        .arg("--from")
        .arg(tmp.path().join("nowhere"))
        .arg("--out")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
}

#[test]
fn blocking_options_are_checked_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--out")
            .arg(tmp.path().join("o"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&[
        "link",
        "--from",
        "nowhere",
        "--blocking",
        "identifier,surname_soundex",
    ]);
    assert!(
        err.contains("unknown blocking rule `surname_soundex`"),
        "{err}"
    );
    assert!(err.contains("surname1_phonetic+birth_year"), "{err}");
    let err = run(&["dedupe", "--from", "nowhere", "--max-block", "1"]);
    assert!(err.contains("--max-block must be at least 2"), "{err}");
    let err = run(&["link", "--encoded", "a.enc", "--blocking", "identifier"]);
    assert!(err.contains("choose plaintext blocking"), "{err}");
    let err = run(&["link", "--encoded", "a.enc", "--encoded-max-block", "1"]);
    assert!(
        err.contains("--encoded-max-block must be at least 2"),
        "{err}"
    );
}

const NODES: [(&str, &str); 3] = [
    ("us", "us-encounters"),
    ("mx", "mx-registros"),
    ("gt", "gt-registros"),
];

/// `enlace encode` at each agency into `out_dir`, with the agency's dedupe groups when
/// `groups_from` gives a directory of `dedupe-<source>` runs; returns the encoding files.
fn encode_nodes(
    nodes: &Path,
    key: &Path,
    out_dir: &Path,
    groups_from: Option<&Path>,
) -> Vec<PathBuf> {
    std::fs::create_dir_all(out_dir).unwrap();
    NODES
        .iter()
        .map(|(node, source)| {
            let out = out_dir.join(format!("{source}.enc"));
            let mut cmd = Command::new(BIN);
            cmd.arg("encode")
                .arg("--from")
                .arg(format!(
                    "{}:{source}",
                    nodes.join(node).join("records").display()
                ))
                .arg("--secret-file")
                .arg(key)
                .arg("--project")
                .arg("test")
                .arg("--out")
                .arg(&out);
            if let Some(dir) = groups_from {
                cmd.arg("--groups")
                    .arg(dir.join(format!("dedupe-{source}/clusters.csv")));
            }
            run_ok(&mut cmd);
            out
        })
        .collect()
}

/// `enlace link --encoded` over `files` into `run_dir`, returning its JSON summary.
fn link_encoded(files: &[PathBuf], run_dir: &Path) -> serde_json::Value {
    let mut link = Command::new(BIN);
    link.arg("link").arg("--json").arg("--candidates");
    for f in files {
        link.arg("--encoded").arg(f);
    }
    let out = run_ok(link.arg("--out").arg(run_dir));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `enlace evaluate --json` of an encoded run, through the agencies' references files.
fn evaluate_encoded(run_dir: &Path, truth: &Path, files: &[PathBuf]) -> serde_json::Value {
    let mut eval = Command::new(BIN);
    eval.arg("evaluate")
        .arg("--json")
        .arg("--run")
        .arg(run_dir)
        .arg("--truth")
        .arg(truth);
    for f in files {
        let mut r = f.as_os_str().to_owned();
        r.push(".refs.csv");
        eval.arg("--refs").arg(r);
    }
    serde_json::from_slice(&run_ok(&mut eval).stdout).unwrap()
}

/// The privacy-preserving path as the agencies and the linkage unit run it: a shared secret,
/// each agency encodes its store, the linkage unit links the encoding files, and an agency
/// scores the result through its references; then with each agency's own deduplication sent as
/// groups. Also `dedupe` on one store, and the refusals.
#[test]
fn encode_link_encoded_dedupe_and_evaluate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    run_ok(
        Command::new(BIN)
            .args(["demo", "--people", "1200", "--exit", "--dir"])
            .arg(&dir),
    );
    let nodes = dir.join("nodes");
    let truth = dir.join("data/truth/records.csv");
    let key = tmp.path().join("project.key");
    run_ok(Command::new(BIN).arg("secret").arg("--out").arg(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second `secret` must not overwrite the first.
    let again = Command::new(BIN)
        .arg("secret")
        .arg("--out")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let files = encode_nodes(&nodes, &key, &tmp.path().join("plain-groups"), None);
    let run_dir = tmp.path().join("encoded");
    let summary = link_encoded(&files, &run_dir);
    assert_eq!(summary["mode"], "encoded");
    assert!(summary["clusters_across_sources"].as_u64().unwrap() > 50);
    // The linkage unit's output names records only by opaque references.
    let links = std::fs::read_to_string(run_dir.join("links.csv")).unwrap();
    let refs = std::fs::read_to_string(format!("{}.refs.csv", files[0].display())).unwrap();
    let some_id = refs.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert!(
        !links.contains(some_id),
        "a record id reached the linkage unit's output"
    );

    // A link of the encodings, explained from the files and the run's model: the encoded
    // levels' names, and the total is the link's weight.
    let first = links.lines().nth(1).unwrap();
    let cols: Vec<&str> = first.split(',').collect();
    let mut explain = Command::new(BIN);
    explain.arg("explain").arg("--json");
    for f in &files {
        explain.arg("--encoded").arg(f);
    }
    // The files carry event tokens: the run's second pass weighed companions too.
    assert!(run_dir.join("companions.csv").exists());
    let out = run_ok(
        explain
            .arg("--model")
            .arg(run_dir.join("model.json"))
            .arg("--companions")
            .arg(run_dir.join("companions.csv"))
            .arg(format!("{}:{}", cols[0], cols[1]))
            .arg(format!("{}:{}", cols[2], cols[3])),
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let weight: f64 = cols[4].parse().unwrap();
    let total = e["total"].as_f64().unwrap();
    assert!(
        (total - weight).abs() < 0.01,
        "total {total}, link {weight}"
    );
    let names: Vec<&str> = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["level_name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("filters") || n.contains("dice") || n.contains("keyed")),
        "{names:?}"
    );
    let e = evaluate_encoded(&run_dir, &truth, &files);
    let f1 = e["clusters"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "encoded F1 {f1}");
    assert_eq!(e["records_without_truth"], 0);
    let completeness = e["pairs_completeness"].as_f64().unwrap();
    assert!(
        (0.9..=1.0).contains(&completeness),
        "encoded pairs completeness {completeness}"
    );
    for chart in ["precision-recall.svg", "match-weights.svg"] {
        let svg = std::fs::read_to_string(run_dir.join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{chart}"
        );
        assert!(svg.contains("threshold"), "{chart} has no threshold marker");
    }

    // Each agency deduplicates its own records in plaintext and sends its groups with the
    // encodings: the linkage unit then links groups across agencies only, and does better.
    for (node, source) in NODES {
        run_ok(
            Command::new(BIN)
                .arg("dedupe")
                .arg("--from")
                .arg(format!(
                    "{}:{source}",
                    nodes.join(node).join("records").display()
                ))
                .arg("--out")
                .arg(tmp.path().join(format!("dedupe-{source}"))),
        );
    }
    let grouped = encode_nodes(&nodes, &key, &tmp.path().join("grouped"), Some(tmp.path()));
    let grouped_run = tmp.path().join("grouped-run");
    link_encoded(&grouped, &grouped_run);
    let g = evaluate_encoded(&grouped_run, &truth, &grouped);
    let grouped_f1 = g["clusters"]["f1"].as_f64().unwrap();
    assert!(
        grouped_f1 > f1,
        "grouped F1 {grouped_f1} is not above ungrouped {f1}"
    );

    // Without the references the truth knows none of the records: a clear error.
    let out = Command::new(BIN)
        .arg("evaluate")
        .arg("--run")
        .arg(&run_dir)
        .arg("--truth")
        .arg(&truth)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--refs"));

    // An agency that encoded under another secret is refused, naming both files.
    let other_key = tmp.path().join("other.key");
    run_ok(Command::new(BIN).arg("secret").arg("--out").arg(&other_key));
    let stray = tmp.path().join("stray.enc");
    run_ok(
        Command::new(BIN)
            .arg("encode")
            .arg("--from")
            .arg(format!(
                "{}:gt-registros",
                nodes.join("gt").join("records").display()
            ))
            .arg("--secret-file")
            .arg(&other_key)
            .arg("--project")
            .arg("test")
            .arg("--out")
            .arg(&stray),
    );
    let out = Command::new(BIN)
        .arg("link")
        .arg("--encoded")
        .arg(&files[0])
        .arg("--encoded")
        .arg(&stray)
        .arg("--out")
        .arg(tmp.path().join("refused"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("different project secrets") && err.contains("stray.enc"),
        "{err}"
    );

    // Deduplication of one store, scored.
    let out = run_ok(
        Command::new(BIN)
            .arg("dedupe")
            .arg("--json")
            .arg("--from")
            .arg(nodes.join("us").join("records"))
            .arg("--truth")
            .arg(&truth)
            .arg("--out")
            .arg(tmp.path().join("dedupe")),
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["clusters_across_sources"], 0);
    assert!(d["evaluation"]["f1"].as_f64().unwrap() > 0.93);
}
