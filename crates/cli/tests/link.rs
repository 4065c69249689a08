//! `enlace link` as a user runs it: three agencies' stores in, links, clusters and a model out,
//! scored against the generated truth.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_enlace");

/// `enlace SUBCOMMAND` reading the demo's three node stores.
fn over_nodes(subcommand: &str, nodes: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg(subcommand);
    for node in ["us", "mx", "gt"] {
        cmd.arg("--from").arg(nodes.join(node));
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
        .arg(nodes.join("us"))
        .arg("--from")
        .arg(format!("{}:mx-registros", nodes.join("mx").display()))
        .arg("--from")
        .arg(nodes.join("gt"))
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

    // The first link, explained field by field from the saved model: levels and weights only.
    let first = &rows[0];
    let out = run_ok(
        over_nodes("explain", &nodes)
            .arg("--model")
            .arg(result.join("model.json"))
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
