//! Linkage projects over real node processes on loopback: three agencies and a linkage unit,
//! each `enlace serve`, driven by `enlace project` as operators would. What each party sees,
//! what is refused, and what survives `kill -9`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use enlace_node::client::Request;

const PROJECT: &str = "tri";
const AGENCIES: [(&str, &str, &str); 3] = [
    ("us", "US", "us-encounters"),
    ("mx", "MX", "mx-registros"),
    ("gt", "GT", "gt-registros"),
];

/// Three agencies with their records imported, a linkage unit, and an agency outside the
/// project ("us-other"); every node trusts every other.
struct Fed {
    root: PathBuf,
    lu: PathBuf,
}

impl Fed {
    fn new(root: &Path, people: usize) -> Fed {
        let data = root.join("data");
        run_ok(
            Command::new(BIN)
                .args(["generate", "--people", &people.to_string(), "--out"])
                .arg(&data),
        );
        let lu = init_with_roles(root, "lu", "MX", &["linkage-unit"]);
        let mut dirs = vec![lu.clone()];
        for (id, country, source) in AGENCIES {
            let dir = init(root, id, country);
            run_ok(
                Command::new(BIN)
                    .args(["import", "--quiet", "--store"])
                    .arg(dir.join("records"))
                    .arg("--mapping")
                    .arg(data.join(format!("mappings/{source}.toml")))
                    .arg(data.join(format!("{source}.csv"))),
            );
            dirs.push(dir);
        }
        dirs.push(init(root, "us-other", "US"));
        for a in &dirs {
            for b in &dirs {
                if a != b {
                    trust(a, b);
                }
            }
        }
        Fed {
            root: root.to_path_buf(),
            lu,
        }
    }

    /// A federation with its unit served and the project created and joined.
    fn joined(root: &Path, people: usize) -> (Fed, Served) {
        let fed = Fed::new(root, people);
        let lu = Served::start(&fed.lu, &[]);
        fed.create_and_join();
        (fed, lu)
    }

    /// Every agency's upload of its source.
    fn upload_all(&self) {
        for (id, _, _) in AGENCIES {
            self.upload(id, &[]);
        }
    }

    fn node(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// `enlace project ARGS --dir NODE` (the node's directory appended).
    fn project(&self, node: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("project")
            .args(args)
            .arg("--dir")
            .arg(self.node(node));
        cmd
    }

    fn create_and_join(&self) {
        run_ok(&mut self.project(
            "us",
            &[
                "create",
                "--unit",
                "lu",
                "--project",
                PROJECT,
                "--with",
                "mx,gt",
            ],
        ));
        for id in ["mx", "gt"] {
            run_ok(&mut self.project(id, &["join", "--unit", "lu", "--project", PROJECT]));
        }
    }

    fn upload(&self, node: &str, extra: &[&str]) -> String {
        let source = AGENCIES.iter().find(|a| a.0 == node).unwrap().2;
        let mut args = vec!["upload", "--project", PROJECT, "--source", source];
        args.extend_from_slice(extra);
        run_ok(&mut self.project(node, &args))
    }

    fn results(&self, node: &str) -> Vec<serde_json::Value> {
        let out = run_ok(&mut self.project(node, &["results", "--project", PROJECT, "--json"]));
        serde_json::from_str(&out).unwrap()
    }

    /// The references a node keeps for its uploaded records.
    fn references(&self, node: &str) -> BTreeSet<String> {
        let path = self.node(node).join(format!("projects/{PROJECT}/refs.csv"));
        csv::Reader::from_path(path)
            .unwrap()
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect()
    }
}

/// The audit entries of a node: (action, actor, detail JSON).
fn audit_entries(dir: &Path) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(dir.join("audit/audit.db")).unwrap();
    db.prepare("SELECT action, actor, detail FROM entries ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn error_of(r: &enlace_node::client::Response) -> String {
    r.json().unwrap()["error"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_three_party_project_gives_each_holder_only_its_own_side_and_refuses_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (fed, lu) = Fed::joined(tmp.path(), 500);
    // The unit keeps the sealed copies but not the secret: no secret file, and the copies in
    // its store are ciphertext.
    assert!(!fed.lu.join("projects").exists());
    for id in ["us", "mx", "gt"] {
        let secret = fed.node(id).join(format!("projects/{PROJECT}/secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = secret.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", secret.display());
        }
    }
    let secrets: BTreeSet<String> = ["us", "mx", "gt"]
        .iter()
        .map(|id| {
            std::fs::read_to_string(fed.node(id).join(format!("projects/{PROJECT}/secret")))
                .unwrap()
        })
        .collect();
    assert_eq!(secrets.len(), 1, "every holder opened the same secret");
    let unit_db = std::fs::read(fed.lu.join("projects.db")).unwrap();
    let secret_hex = secrets.iter().next().unwrap().trim().to_string();
    assert!(
        !String::from_utf8_lossy(&unit_db).contains(&secret_hex),
        "the unit's store holds the plain secret"
    );

    // A run before every holder uploaded is refused.
    fed.upload("us", &["--chunk-records", "300"]);
    let early = fed
        .project("us", &["run", "--project", PROJECT, "--wait", "5"])
        .output()
        .unwrap();
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("every holder needs a complete upload"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    fed.upload("mx", &[]);
    fed.upload("gt", &[]);
    // Only the initiator starts runs.
    let by_mx = lu.call_as_node(
        &fed.node("mx"),
        Request::post_json(&format!("/api/v1/projects/{PROJECT}/run"), "{}"),
    );
    assert_eq!(by_mx.status, 403, "{}", body(&by_mx));
    let out = run_ok(&mut fed.project("us", &["run", "--project", PROJECT]));
    assert!(
        out.contains("people in two or more countries' records"),
        "{out}"
    );

    // Each holder's rows name only its own records; partners' records are opaque, and the two
    // sides of a hit agree.
    let mut opaque_of: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut rows_of: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (id, _, _) in AGENCIES {
        let rows = fed.results(id);
        assert!(rows.len() > 20, "{id}: {} rows", rows.len());
        // The uploads carry event tokens, so the run weighed the records' companions.
        assert!(
            rows.iter().any(|r| r["companions"].as_f64().is_some()),
            "{id}: no row says what companions added"
        );
        let own = fed.references(id);
        for r in &rows {
            let reference = r["reference"].as_str().unwrap();
            assert!(
                own.contains(reference),
                "{id} got a row for a record it does not hold"
            );
            // What a row may say, and nothing else: no partner reference, no encoding, no
            // value; the evidence is the pair's levels and weight, and what companions added.
            let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            let allowed: BTreeSet<&str> = [
                "reference",
                "opaque",
                "partner",
                "partner_ref",
                "cluster",
                "band",
                "levels",
                "weight",
                "review",
                "companions",
            ]
            .into();
            assert!(keys.is_subset(&allowed), "{keys:?}");
            assert!(
                r["levels"]
                    .as_str()
                    .is_some_and(|l| l.split('.').count() == enlace_link::compare::FIELD_COUNT)
            );
            assert!(["certain", "probable", "possible"].contains(&r["band"].as_str().unwrap()));
            let partner_ref = r["partner_ref"].as_str().unwrap();
            assert!(partner_ref.starts_with("r-") && partner_ref.len() == 26);
            opaque_of.insert(
                (id.to_string(), reference.to_string()),
                r["opaque"].as_str().unwrap().to_string(),
            );
        }
        rows_of.insert(id.to_string(), rows);
    }
    let all_refs: BTreeSet<String> = AGENCIES.iter().flat_map(|a| fed.references(a.0)).collect();
    for (id, rows) in &rows_of {
        for r in rows {
            let partner = r["partner"].as_str().unwrap();
            assert_ne!(partner, id);
            assert!(!all_refs.contains(r["partner_ref"].as_str().unwrap()));
            // The partner has the mirror row, with the same band and cluster.
            let mirror = rows_of[partner].iter().any(|m| {
                m["opaque"] == r["partner_ref"]
                    && m["partner_ref"] == r["opaque"]
                    && m["partner"] == id.as_str()
                    && m["band"] == r["band"]
                    && m["cluster"] == r["cluster"]
            });
            assert!(mirror, "no mirror of a {id}–{partner} row");
        }
    }
    // Three-party clusters exist.
    let mut holders_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, rows) in &rows_of {
        for r in rows {
            holders_of
                .entry(r["cluster"].as_str().unwrap().to_string())
                .or_default()
                .insert(id.clone());
        }
    }
    assert!(holders_of.values().any(|h| h.len() == 3));

    // Asking for another holder's results, being outside the project, or asking an agency
    // node for projects: refused.
    let theirs = lu.call_as_node(
        &fed.node("us"),
        Request::get(&format!("/api/v1/projects/{PROJECT}/results/mx")),
    );
    assert_eq!(theirs.status, 403, "{}", body(&theirs));
    let outsider = lu.call_as_node(
        &fed.node("us-other"),
        Request::get(&format!("/api/v1/projects/{PROJECT}")),
    );
    assert_eq!(outsider.status, 404, "{}", body(&outsider));
    let outsider = lu.call_as_node(
        &fed.node("us-other"),
        Request::get(&format!("/api/v1/projects/{PROJECT}/results/us-other")),
    );
    assert_eq!(outsider.status, 404);
    let person = lu.call(Request::get(&format!("/api/v1/projects/{PROJECT}")));
    assert_eq!(person.status, 401, "no certificate, no project");

    // Malformed and mismatched uploads get clear 4xx answers.
    let chunk_path = |seq: u32| {
        format!(
            "/api/v1/projects/{PROJECT}/uploads/{}/chunks/{seq}",
            "a".repeat(64)
        )
    };
    let garbage = b"not an encoding file at all".to_vec();
    // A chunk names itself by the BLAKE3 checksum its own header stores.
    let sha = |b: &[u8]| {
        enlace_encode::EncodingFile::stored_checksum(b)
            .map(hex::encode)
            .unwrap_or_else(|| "0".repeat(64))
    };
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), garbage.clone()).header("x-enlace-checksum", &sha(b"x")),
    );
    assert_eq!(r.status, 422);
    assert!(
        error_of(&r).contains("not a valid encoding file"),
        "{}",
        body(&r)
    );
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), garbage.clone())
            .header("x-enlace-checksum", &sha(&garbage)),
    );
    assert_eq!(r.status, 422);
    assert!(
        error_of(&r).contains("not a valid encoding file"),
        "{}",
        body(&r)
    );
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), garbage.clone()),
    );
    assert_eq!(r.status, 400);
    // Encodings under another secret and schema (the old per-file `enlace encode` path).
    let key = tmp.path().join("other.key");
    run_ok(Command::new(BIN).args(["secret", "--out"]).arg(&key));
    let other = tmp.path().join("other.enc");
    run_ok(
        Command::new(BIN)
            .args(["encode", "--project", PROJECT, "--secret-file"])
            .arg(&key)
            .arg("--from")
            .arg(format!(
                "{}:mx-registros",
                fed.node("mx").join("records").display()
            ))
            .arg("--out")
            .arg(&other),
    );
    let bytes = std::fs::read(&other).unwrap();
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), bytes.clone()).header("x-enlace-checksum", &sha(&bytes)),
    );
    assert_eq!(r.status, 422);
    assert!(
        error_of(&r).contains("another project secret"),
        "{}",
        body(&r)
    );
    // A checksum that is not the chunk's, and a chunk damaged on the way: 400.
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), bytes.clone())
            .header("x-enlace-checksum", &"ab".repeat(32)),
    );
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("checksum"), "{}", body(&r));
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    let r = lu.call_as_node(
        &fed.node("mx"),
        Request::put_bytes(&chunk_path(0), damaged).header("x-enlace-checksum", &sha(&bytes)),
    );
    assert_eq!(r.status, 400, "{}", body(&r));
    assert!(
        error_of(&r).contains("does not match its checksum"),
        "{}",
        body(&r)
    );

    // The refusal of another holder's results is on the unit's record.
    let entries = audit_entries(&fed.lu);
    assert!(
        entries
            .iter()
            .any(|(action, actor, detail)| action == "refusal"
                && actor == "us"
                && detail.contains("another holder's results"))
    );
    for (id, _, _) in AGENCIES {
        assert!(
            entries
                .iter()
                .any(|(a, actor, _)| a == "upload" && actor == id),
            "no upload entry for {id}"
        );
        // Each holder has its own record of the encodings it sent, and its log still verifies
        // though the command line wrote it while the node's server was running.
        let own = audit_entries(&fed.node(id));
        assert!(
            own.iter().any(|(a, actor, detail)| a == "upload"
                && actor == id
                && detail.contains("\"direction\":\"sent\"")
                && detail.contains("\"records\"")),
            "{id} did not record its upload: {own:?}"
        );
        audit_verifies(&fed.node(id));
    }
    assert!(
        entries
            .iter()
            .any(|(a, _, d)| a == "project" && d.contains("run_done"))
    );

    // A rerun after one holder uploads its records differently (no deduplication groups):
    // the same pairs of records keep the same opaque references.
    let out = fed.upload("gt", &["--no-groups"]);
    assert!(out.contains("sent now"), "{out}");
    run_ok(&mut fed.project("us", &["run", "--project", PROJECT]));
    let again = fed.results("mx");
    let key = |r: &serde_json::Value| {
        (
            r["reference"].as_str().unwrap().to_string(),
            r["opaque"].as_str().unwrap().to_string(),
            r["partner"].as_str().unwrap().to_string(),
            r["partner_ref"].as_str().unwrap().to_string(),
        )
    };
    let before: BTreeSet<_> = rows_of["mx"].iter().map(key).collect();
    let after: BTreeSet<_> = again.iter().map(key).collect();
    let kept = before.intersection(&after).count();
    assert!(
        kept * 10 >= before.len() * 9,
        "only {kept} of {} rows kept their references",
        before.len()
    );
    // Uploading the same records again sends nothing: the unit has every chunk.
    let out = fed.upload("mx", &[]);
    assert!(out.contains(", 0 sent now"), "{out}");

    let status = lu.stop();
    assert!(status.success());
    run_ok(
        Command::new(BIN)
            .args(["audit", "verify", "--dir"])
            .arg(&fed.lu),
    );
}

/// The chunks of an upload and how many were sent by this call, from `enlace project upload`'s
/// line "… N chunks, M sent now …".
fn chunks_and_sent(out: &str) -> (u32, u32) {
    let number_before = |marker: &str| -> u32 {
        let head = out.split(marker).next().unwrap();
        head.rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{out}"))
    };
    (number_before(" chunks,"), number_before(" sent now"))
}

/// The unit's view of a holder's uploads and runs.
fn status(fed: &Fed) -> serde_json::Value {
    serde_json::from_str(&run_ok(
        &mut fed.project("us", &["status", "--project", PROJECT]),
    ))
    .unwrap()
}

/// Starts `enlace project upload` slowed between chunks, to be killed or cut off mid-way.
fn slow_upload(fed: &Fed, node: &str) -> std::process::Child {
    let source = AGENCIES.iter().find(|a| a.0 == node).unwrap().2;
    fed.project(
        node,
        &[
            "upload",
            "--project",
            PROJECT,
            "--source",
            source,
            "--chunk-records",
            "40",
        ],
    )
    .env("ENLACE_TEST_CHUNK_PAUSE_MS", "150")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits until the unit has stored at least `n` chunks of `node`'s upload (read from its
/// database, as an operator would check).
fn wait_for_chunks(fed: &Fed, node: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count: i64 = rusqlite::Connection::open(fed.lu.join("projects.db"))
            .and_then(|db| {
                db.query_row(
                    "SELECT COUNT(*) FROM chunks WHERE holder = ?1",
                    [node],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {count} chunks of {node} arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_of_the_unit_or_a_holder_loses_nothing_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let fed = Fed::new(tmp.path(), 400);
    set_limits(&fed.lu, "max_upload_bytes = 2097152");
    let lu = Served::start(&fed.lu, &[]);
    fed.create_and_join();
    // A chunk over the unit's upload limit is refused before it is read.
    let big = vec![0u8; 3 << 20];
    let r = lu.call_as_node(
        &fed.node("us"),
        Request::put_bytes(
            &format!(
                "/api/v1/projects/{PROJECT}/uploads/{}/chunks/0",
                "b".repeat(64)
            ),
            big,
        )
        .header("x-enlace-checksum", &"0".repeat(64)),
    );
    assert_eq!(r.status, 413, "{}", body(&r));
    let total = |node: &str| fed.references(node).len() as u64;

    // The unit dies during the US upload; the upload fails; after a restart it resumes.
    let up = slow_upload(&fed, "us");
    wait_for_chunks(&fed, "us", 3);
    lu.kill();
    let out = up.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the upload cannot finish without the unit"
    );
    let lu = Served::start(&fed.lu, &[]);
    let out = fed.upload("us", &["--chunk-records", "40"]);
    let (chunks, sent) = chunks_and_sent(&out);
    assert!(
        sent < chunks,
        "the resumed upload sent every chunk again: {out}"
    );

    // A holder dies during its upload; run again, it resumes.
    let mut up = slow_upload(&fed, "mx");
    wait_for_chunks(&fed, "mx", 2);
    up.kill().unwrap();
    up.wait().unwrap();
    let out = fed.upload("mx", &["--chunk-records", "40"]);
    let (chunks, sent) = chunks_and_sent(&out);
    assert!(sent > 0 && sent < chunks, "{out}");
    fed.upload("gt", &[]);

    let s = status(&fed);
    for (id, _, _) in AGENCIES {
        let up = s["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["holder"] == id)
            .unwrap_or_else(|| panic!("no upload of {id}: {s}"));
        assert_eq!(up["records"].as_u64().unwrap(), total(id), "{id}: {s}");
    }

    // The unit dies during the run; restarted, it runs the project to the end, once.
    let lu2 = {
        let status = lu.stop();
        assert!(status.success());
        Served::start_with_env(&fed.lu, &[], &[("ENLACE_TEST_RUN_PAUSE_MS", "5000")])
    };
    let started = lu2.call_as_node(
        &fed.node("us"),
        Request::post_json(&format!("/api/v1/projects/{PROJECT}/run"), "{}"),
    );
    assert_eq!(started.status, 202, "{}", body(&started));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&fed)["runs"][0]["state"], "running");
    lu2.kill();
    let lu3 = Served::start(&fed.lu, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let runs = loop {
        let s = status(&fed);
        if s["runs"][0]["state"] == "done" {
            break s["runs"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the interrupted run never finished: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["run"], 1);
    // Every record was linked exactly once per holder.
    for (id, _, _) in AGENCIES {
        assert_eq!(
            runs[0]["summary"]["records"][id].as_u64().unwrap(),
            total(id)
        );
    }
    assert_eq!(runs[0]["summary"]["duplicate_references"], 0);
    assert!(!fed.results("gt").is_empty());
    assert!(lu3.log().contains("resuming an interrupted run"));
    let status = lu3.stop();
    assert!(status.success());
    run_ok(
        Command::new(BIN)
            .args(["audit", "verify", "--dir"])
            .arg(&fed.lu),
    );
}

/// A person's JSON for `enlace query` from a row of the generated Guatemalan file.
fn person_of_gt_row(row: &csv::StringRecord) -> serde_json::Value {
    let given = format!("{} {}", &row[1], &row[2]);
    serde_json::json!({
        "given": given.trim(),
        "surname1": &row[3],
        "surname2": &row[4],
        "birth_date": &row[5],
        "sex": &row[6],
    })
}

fn query(fed: &Fed, node: &str, person: &serde_json::Value) -> std::process::Output {
    let path = fed.root.join(format!("person-{}.json", free_port()));
    std::fs::write(&path, person.to_string()).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["query", "--json", "--project", PROJECT, "--dir"])
        .arg(fed.node(node))
        .arg("--person")
        .arg(&path);
    cmd.output().unwrap()
}

#[test]
fn the_online_query_answers_hit_or_no_hit_and_finds_records_uploaded_after_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (fed, lu) = Fed::joined(tmp.path(), 400);
    fed.upload_all();
    let stranger = serde_json::json!({
        "given": "Zacarías", "surname1": "Quiñónez", "surname2": "Üxmal",
        "birth_date": "1931-02-03", "sex": "M", "nationality": "GT"
    });
    // Before any run there is no model to weigh a query with.
    let early = query(&fed, "gt", &stranger);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("no run of this project has finished"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    run_ok(&mut fed.project("us", &["run", "--project", PROJECT]));

    // A Guatemalan record the run found in other countries: querying its details from the GT
    // node finds the same partner records the results name.
    let rows = fed.results("gt");
    let keys: BTreeMap<String, String> = {
        let path = fed.node("gt").join(format!("projects/{PROJECT}/refs.csv"));
        csv::Reader::from_path(path)
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[2].to_string(), r[1].to_string())
            })
            .collect()
    };
    let mut reader = csv::Reader::from_path(fed.root.join("data/gt-registros.csv")).unwrap();
    let mut checked = 0;
    for row in reader.records().map(Result::unwrap) {
        let Some(reference) = keys.get(&row[0]) else {
            continue;
        };
        // The query weighs a person's details alone: links the run made certain with what the
        // records' companions added are the run's to find, not the query's.
        let partners: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r["reference"] == reference.as_str() && r["band"] == "certain")
            .filter(|r| r["companions"].as_f64().unwrap_or(0.0) <= 0.0)
            .map(|r| r["partner_ref"].as_str().unwrap())
            .collect();
        if partners.is_empty() {
            continue;
        }
        let out = query(&fed, "gt", &person_of_gt_row(&row));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["hit"], true, "{answer}");
        let found: BTreeSet<&str> = answer["matches"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|m| assert_ne!(m["partner"], "gt", "the asker's own records"))
            .map(|m| m["partner_ref"].as_str().unwrap())
            .collect();
        assert!(
            partners.iter().any(|p| found.contains(p)),
            "the query found {found:?}, the run {partners:?}"
        );
        checked += 1;
        if checked == 5 {
            break;
        }
    }
    assert_eq!(checked, 5);
    let out = query(&fed, "gt", &stranger);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["hit"], false, "{answer}");

    // A person the US node records only now: after its new upload, a query from Guatemala
    // finds them without a new run.
    let newcomer = fed.root.join("us-new.csv");
    std::fs::write(
        &newcomer,
        "RECORD_ID,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DOB,SEX,COUNTRY_OF_CITIZENSHIP,PHONE,A_NUMBER,EVENT_ID,ENCOUNTER_DATE,SECTOR,NOTES\n\
         CBP-NEW-1,WENDOLYN,,XICARA TZUL,07/12/1987,F,GUATEMALA,,,E-NEW-1,11/20/2026,EL PASO,\n",
    )
    .unwrap();
    run_ok(
        Command::new(BIN)
            .args(["import", "--quiet", "--store"])
            .arg(fed.node("us").join("records"))
            .arg("--mapping")
            .arg(fed.root.join("data/mappings/us-encounters.toml"))
            .arg(&newcomer),
    );
    let person = serde_json::json!({
        "given": "Wendolyn", "surname1": "Xicará", "surname2": "Tzul",
        "birth_date": "1987-07-12", "sex": "F", "nationality": "GT"
    });
    let before: serde_json::Value =
        serde_json::from_slice(&query(&fed, "gt", &person).stdout).unwrap();
    assert_eq!(before["hit"], false, "{before}");
    fed.upload("us", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer: serde_json::Value =
            serde_json::from_slice(&query(&fed, "gt", &person).stdout).unwrap();
        if answer["hit"] == true {
            assert_eq!(answer["matches"][0]["partner"], "us");
            assert_eq!(answer["run"], 1, "no new run was needed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new record never became searchable"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Malformed queries: clear 4xx.
    let path = format!("/api/v1/projects/{PROJECT}/query");
    let r = lu.call_as_node(
        &fed.node("gt"),
        Request::post_bytes(&path, b"nonsense".to_vec()),
    );
    assert_eq!(r.status, 422, "{}", body(&r));
    let r = lu.call_as_node(
        &fed.node("us-other"),
        Request::post_bytes(&path, b"x".to_vec()),
    );
    assert_eq!(r.status, 404);
    // Two records in one query.
    let two = std::fs::read(fed.lu.join("chunks")).ok();
    assert!(two.is_none(), "chunks is a folder");
    let chunk = walk_files(&fed.lu.join("chunks"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/gt/"))
        .unwrap();
    let r = lu.call_as_node(
        &fed.node("gt"),
        Request::post_bytes(&path, std::fs::read(chunk).unwrap()),
    );
    assert_eq!(r.status, 422);
    assert!(error_of(&r).contains("exactly one record"), "{}", body(&r));

    let entries = audit_entries(&fed.lu);
    let queries = entries
        .iter()
        .filter(|(a, actor, _)| a == "query" && actor == "gt")
        .count();
    assert!(queries >= 8, "{queries} queries audited");
    let status = lu.stop();
    assert!(status.success());
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The rows of `holder`'s side naming the pair (own record, partner's record).
fn rows_of_pair<'a>(
    rows: &'a [serde_json::Value],
    own: &str,
    partner_ref: &str,
) -> Vec<&'a serde_json::Value> {
    rows.iter()
        .filter(|r| r["opaque"] == own && r["partner_ref"] == partner_ref)
        .collect()
}

#[test]
fn hits_carry_their_evidence_and_clerical_reviews_feed_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (fed, lu) = Fed::joined(tmp.path(), 400);
    fed.upload_all();
    run_ok(&mut fed.project("us", &["run", "--project", PROJECT]));
    let rows = fed.results("mx");
    assert!(rows.len() > 20, "{} rows", rows.len());

    // Evidence: every row has its levels (one per field of the run's weight table) and weight;
    // the table's weights at those levels plus the prior account for the weight up to the
    // surname frequency adjustment, which is at most 4 bits either way.
    let fetched: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            fed.node("mx")
                .join(format!("projects/{PROJECT}/results.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let table = &fetched["weights"];
    let fields = table["fields"].as_array().unwrap();
    assert_eq!(fields.len(), enlace_link::compare::FIELD_COUNT, "{table}");
    for r in &rows {
        let levels: Vec<usize> = r["levels"]
            .as_str()
            .unwrap()
            .split('.')
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(levels.len(), fields.len());
        let sum: f64 = table["prior"].as_f64().unwrap()
            + fields
                .iter()
                .zip(&levels)
                .map(|(f, &l)| f["levels"][l]["weight"].as_f64().unwrap())
                .sum::<f64>();
        let weight = r["weight"].as_f64().unwrap();
        assert!((weight - sum).abs() <= 4.0 + 1e-9, "{r}: fields give {sum}");
    }

    // Reviews at the MX node, through its API: one pair rejected, one accepted (an uncertain
    // one when the run found any).
    add_user(&fed.node("mx"), "ana", "analyst");
    add_user(&fed.node("mx"), "oscar", "officer");
    let mx = Served::start(&fed.node("mx"), &[]);
    let ana = mx.token("ana");
    let mut by_cluster: BTreeMap<&str, &serde_json::Value> = BTreeMap::new();
    for r in &rows {
        by_cluster
            .entry(r["cluster"].as_str().unwrap())
            .or_insert(r);
    }
    let mut picks: Vec<&serde_json::Value> = by_cluster.values().copied().collect();
    picks.sort_by_key(|r| r["band"] == "certain");
    let (accepted, rejected) = (picks[0], picks[1]);
    let review = |token: &str, r: &serde_json::Value, decision: &str, reason: &str| {
        mx.call(
            Request::post_json(
                "/api/v1/reviews",
                serde_json::json!({
                    "project": PROJECT, "opaque": r["opaque"], "partner_ref": r["partner_ref"],
                    "decision": decision, "reason": reason,
                })
                .to_string(),
            )
            .bearer(token),
        )
    };
    let officer = mx.token("oscar");
    assert_eq!(review(&officer, accepted, "accept", "x").status, 403);
    let bad = review(&ana, accepted, "maybe", "x");
    assert_eq!(bad.status, 422, "{}", body(&bad));
    assert_eq!(review(&ana, accepted, "accept", "  ").status, 422);
    let mut unknown = accepted.clone();
    unknown["partner_ref"] = serde_json::json!(format!("r-{}", "0".repeat(24)));
    assert_eq!(review(&ana, &unknown, "accept", "x").status, 404);
    let out = review(&ana, accepted, "accept", "checked the case files");
    assert_eq!(out.status, 200, "{}", body(&out));
    assert_eq!(out.json().unwrap()["sent"], true, "{}", body(&out));
    // The same from the command line.
    let said = run_ok(
        signed_in(&[
            "review",
            "--user",
            "ana",
            "--project",
            PROJECT,
            "--opaque",
            rejected["opaque"].as_str().unwrap(),
            "--partner-ref",
            rejected["partner_ref"].as_str().unwrap(),
            "--decision",
            "reject",
            "--reason",
            "checked the case files",
            "--dir",
        ])
        .arg(fed.node("mx")),
    );
    assert!(said.contains("sent to the linkage unit"), "{said}");
    assert_eq!(audit_count(&fed.node("mx"), "review"), 2);
    assert_eq!(audit_count(&fed.lu, "review"), 2);
    // The reason stays at MX: neither the unit's store nor its audit has it.
    let unit_files = walk_files(&fed.lu);
    assert!(!unit_files.iter().any(|p| {
        std::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).contains("checked the case files"))
            .unwrap_or(false)
    }));

    // A holder may review only pairs of its own results, even talking to the unit directly.
    let direct = lu.call_as_node(
        &fed.node("gt"),
        Request::post_json(
            &format!("/api/v1/projects/{PROJECT}/reviews"),
            serde_json::json!({ "reviews": [{
                "opaque": accepted["opaque"], "partner_ref": accepted["partner_ref"], "decision": "reject"
            }]})
            .to_string(),
        ),
    );
    assert_eq!(direct.status, 422, "{}", body(&direct));

    // The hits page shows the decisions and the table to explain them with.
    let hits = mx.call(Request::get(&format!("/api/v1/hits?project={PROJECT}")).bearer(&ana));
    let hits = hits.json().unwrap();
    assert!(hits["weights"]["fields"].is_array());
    let shown = hits["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["opaque"] == accepted["opaque"] && r["partner_ref"] == accepted["partner_ref"])
        .unwrap();
    assert_eq!(shown["review"]["decision"], "accept");
    assert_eq!(shown["review"]["reviewer"], "ana");

    // The next run applies them: the rejected pair is gone from both sides, the accepted one
    // is certain and says why.
    run_ok(&mut fed.project("us", &["run", "--project", PROJECT]));
    let after = fed.results("mx");
    let a = rows_of_pair(
        &after,
        accepted["opaque"].as_str().unwrap(),
        accepted["partner_ref"].as_str().unwrap(),
    );
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["band"], "certain");
    assert_eq!(a[0]["review"], "accept");
    assert!(
        rows_of_pair(
            &after,
            rejected["opaque"].as_str().unwrap(),
            rejected["partner_ref"].as_str().unwrap()
        )
        .is_empty()
    );
    let partner = rejected["partner"].as_str().unwrap();
    let theirs = fed.results(partner);
    assert!(
        rows_of_pair(
            &theirs,
            rejected["partner_ref"].as_str().unwrap(),
            rejected["opaque"].as_str().unwrap()
        )
        .is_empty(),
        "the partner no longer sees the rejected pair either"
    );
    audit_verifies(&fed.node("mx"));
    audit_verifies(&fed.lu);
    mx.stop();
    lu.stop();
}
