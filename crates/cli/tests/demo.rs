//! The README's first command, run as a person would: it must tell its story and exit 0, and
//! neither its output nor its most verbose logs may carry a name from the data.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_enlace");

#[test]
fn demo_tells_the_story_and_logs_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(BIN)
        .args(["-vv", "demo", "--people", "1500", "--exit", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for node in ["[US]", "[MX]", "[GT]"] {
        assert!(stdout.contains(node), "{stdout}");
    }
    assert!(stdout.contains("AlreadyImported"), "{stdout}");
    // Four node processes served the story, and each left a server log.
    for node in ["us", "mx", "gt", "lu"] {
        let log = dir.join(format!("nodes/{node}/server.log"));
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains(&format!("node {node} serving")), "{text}");
        assert!(text.contains(&format!("node {node} stopped")), "{text}");
    }
    // The unit saw every holder's uploads and answered each one's results.
    let unit_log = std::fs::read_to_string(dir.join("nodes/lu/server.log")).unwrap();
    for holder in ["us", "mx", "gt"] {
        let peer = format!("peer=\"{holder}\"");
        assert!(
            unit_log.lines().any(|l| l
                .contains("route=/api/v1/projects/{id}/uploads/{upload}/chunks/{seq} status=201")
                && l.contains(&peer)),
            "{unit_log}"
        );
        assert!(
            unit_log.lines().any(|l| l
                .contains("route=/api/v1/projects/{id}/results/{holder} status=200")
                && l.contains(&peer)),
            "{unit_log}"
        );
    }
    for pair in ["GT–MX:", "GT–US:", "MX–US:"] {
        assert!(stdout.contains(pair), "{stdout}");
    }
    assert!(stdout.contains("one hit on the Mexican side"), "{stdout}");
    let figure = |label: &str| -> f64 {
        let at = stdout
            .find(label)
            .unwrap_or_else(|| panic!("no `{label}` in {stdout}"));
        stdout[at + label.len()..]
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find(|t| !t.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    // After the hit: the request, the decision with the phone withheld by policy, the release
    // held under H2 and refused for export; the border query; every audit chain intact.
    assert!(
        stdout.contains("mx-analyst sends a follow-up request"),
        "{stdout}"
    );
    assert!(
        stdout.contains("phones — no rule releases it"),
        "the policy withholds the phone: {stdout}"
    );
    let arrived = stdout
        .lines()
        .find(|l| l.contains("the signed release arrived"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        arrived.contains("surnames") && !arrived.contains("phones"),
        "{arrived}"
    );
    assert!(arrived.contains("handling H2"), "{arrived}");
    assert!(stdout.contains("exporting it is refused (403)"), "{stdout}");
    assert!(
        stdout.contains("a traveller already in the records: HIT in"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("every signature checked: intact").count(),
        4,
        "{stdout}"
    );
    let (precision, f1) = (figure("precision "), figure("F1 "));
    assert!(precision > 0.95 && f1 > 0.9, "{stdout}");
    // Every node's audit chain is intact after the story.
    for node in ["us", "mx", "gt", "lu"] {
        let out = Command::new(BIN)
            .args(["audit", "verify", "--dir"])
            .arg(dir.join(format!("nodes/{node}")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Every name in the Guatemalan file (UTF-8) must be absent from everything printed.
    let mut names = std::collections::BTreeSet::new();
    let mut reader = csv::Reader::from_path(dir.join("data/gt-registros.csv")).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        for col in [1, 3] {
            let v = row[col].trim();
            if v.len() >= 4 {
                names.insert(v.to_string());
            }
        }
    }
    assert!(names.len() > 50);
    let mut logs = String::new();
    for node in ["us", "mx", "gt", "lu"] {
        logs += &std::fs::read_to_string(dir.join(format!("nodes/{node}/server.log"))).unwrap();
    }
    for name in &names {
        assert!(
            !stdout.contains(name.as_str()),
            "stdout shows a name from the data"
        );
        assert!(
            !stderr.contains(name.as_str()),
            "logs show a name from the data"
        );
        assert!(
            !logs.contains(name.as_str()),
            "a node's server log shows a name from the data"
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "demo", "generate", "import", "status", "link", "dedupe", "explain", "evaluate", "secret",
        "encode", "schema",
    ] {
        let out = Command::new(BIN).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
    }
}

#[test]
fn status_lists_sources_and_imports_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(BIN)
        .args([
            "generate", "--people", "300", "--seed", "5", "--json", "--out",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let store = tmp.path().join("store");
    let out = Command::new(BIN)
        .args(["import", "--json", "--store"])
        .arg(&store)
        .arg("--mapping")
        .arg(data.join("mappings/mx-registros.toml"))
        .arg(data.join("mx-registros.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = &report["counts"];
    let read = counts["read"].as_i64().unwrap();
    assert!(read > 0);
    assert_eq!(
        read,
        counts["stored"].as_i64().unwrap() + counts["rejected"].as_i64().unwrap()
    );
    assert_eq!(report["encoding"], "windows-1252");

    let out = Command::new(BIN)
        .args(["status", "--json", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sources"][0]["name"], "mx-registros");
    assert_eq!(
        status["sources"][0]["records"].as_i64().unwrap(),
        counts["stored"].as_i64().unwrap()
    );
    assert_eq!(status["imports"][0]["status"], "complete");
}

#[test]
fn a_missing_mapping_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["import", "--store"])
        .arg(tmp.path().join("s"))
        .args([
            "--mapping",
            "/nonexistent/mapping.toml",
            "/nonexistent/input.csv",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/mapping.toml"), "{stderr}");
}
