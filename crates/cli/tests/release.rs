//! The second half of the exchange with real nodes on loopback: a Mexican node (the requester)
//! asks a Guatemalan node (the owner) about a hit through its own server; the owner's approver
//! decides; the owner's policy withholds what it forbids; the signed release travels back,
//! is stored, read (audited), exported unless H2 forbids it, survives a crash of the owner
//! between commit and send without arriving twice, and is deleted when its retention ends.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use enlace_node::client::Request;
use enlace_node::exchange::MessageKind;
use enlace_node::node_dir::NodeDir;

const MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/mappings/gt-registros.toml"
);

/// The phone number in the owner's record: the policy never releases phones to the requester.
const PHONE: &str = "55512345";

fn policy(retention_days: u32) -> String {
    format!(
        r#"
[defaults]
retention_days = 365

[[rules]]
name = "own nationals need a court order"
partners = ["*"]
offences = ["*"]
subjects = ["own"]
withhold = ["*"]
unless = ["court_order"]

[[rules]]
name = "smuggling investigations"
partners = ["mx-r"]
offences = ["smuggling_of_migrants"]
release = ["given_names", "surnames", "birth_date", "case_reference"]
retention_days = {retention_days}
"#
    )
}

struct Pair {
    _tmp: tempfile::TempDir,
    gt: PathBuf,
    mx: PathBuf,
}

/// Two nodes that trust each other; the owner (gt-r) with a policy, records and the references
/// of project p-1; people on both.
fn pair(retention_days: u32) -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let gt = init(tmp.path(), "gt-r", "GT");
    let mx = init(tmp.path(), "mx-r", "MX");
    trust(&gt, &mx);
    trust(&mx, &gt);
    add_user(&gt, "rosa.approver", "approver");
    add_user(&gt, "ana.analyst", "analyst");
    add_user(&mx, "luis.officer", "officer");
    add_user(&mx, "mia.analyst", "analyst");
    add_user(&mx, "pat.approver", "approver");
    std::fs::write(gt.join("policy.toml"), policy(retention_days)).unwrap();
    let csv = tmp.path().join("gt-registros.csv");
    std::fs::write(
        &csv,
        "id_registro,primer_nombre,segundo_nombre,primer_apellido,segundo_apellido,fecha_nacimiento,sexo,nacionalidad,dpi,telefono,evento_id,fecha_evento,lugar\n\
         GT-1,Ana,María,López,Xol,1990-04-02,F,HN,,+502 5551 2345,E1,2024-01-02,Tecún Umán\n\
         GT-2,Juan,,Caal,Tzul,1985-01-01,M,GT,,,E2,2024-01-03,Tecún Umán\n",
    )
    .unwrap();
    run_ok(
        Command::new(BIN)
            .args(["import", "--quiet", "--mapping", MAPPING, "--store"])
            .arg(gt.join("records"))
            .arg(&csv),
    );
    let refs = tmp.path().join("gt.enc.refs.csv");
    std::fs::write(
        &refs,
        "source,reference,record_id\ngt-registros,ref-ana,GT-1\ngt-registros,ref-juan,GT-2\n",
    )
    .unwrap();
    let out = run_ok(
        Command::new(BIN)
            .args(["references", "add", "--project", "p-1", "--dir"])
            .arg(&gt)
            .arg(&refs),
    );
    assert!(out.contains("2 reference(s)"), "{out}");
    Pair { _tmp: tmp, gt, mx }
}

/// `enlace request` from mx to gt through mx's server; the request's id.
fn request(mx: &Path, reference: &str, handling: &str, fields: &str) -> String {
    let out = run_ok(
        signed_in(&["request", "--user", "luis.officer", "--peer", "gt-r"])
            .args(["--project", "p-1", "--reference", reference])
            .args(["--purpose", "identify a convoy driver", "--offence"])
            .args([
                "smuggling_of_migrants",
                "--legal-basis",
                "bilateral agreement art. 4",
            ])
            .args(["--handling", handling, "--fields", fields, "--dir"])
            .arg(mx),
    );
    assert!(out.contains("filed at gt-r"), "{out}");
    out.split_whitespace().nth(1).unwrap().to_owned()
}

fn decide(gt: &Path, id: &str, user: &str, how: &[&str]) -> std::process::Output {
    signed_in(&["decide", "--json", "--id", id, "--user", user])
        .args(how)
        .arg("--dir")
        .arg(gt)
        .output()
        .unwrap()
}

fn released(mx: &Path) -> serde_json::Value {
    let out = run_ok(signed_in(&["released", "--json", "--user", "mia.analyst", "--dir"]).arg(mx));
    serde_json::from_str(&out).unwrap()
}

fn count_rows(dir: &Path, table: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join("exchange.db")).unwrap();
    db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_decision_releases_what_the_policy_allows_signed_once_and_h2_is_never_exported() {
    let p = pair(180);
    let gt_server = Served::start(&p.gt, &[]);
    let mx_server = Served::start(&p.mx, &[]);

    // A request without a purpose or an offence category is refused by the requester's own
    // node, and the refusal is on its record.
    let officer = mx_server.token("luis.officer");
    let mut incomplete = serde_json::json!({
        "peer": "gt-r", "hit": {"project": "p-1", "partner_reference": "ref-ana"},
        "purpose": "", "offence": "smuggling_of_migrants", "legal_basis": "art. 4",
        "handling": "H2", "fields": ["surnames"]
    });
    let r = mx_server
        .call(Request::post_json("/api/v1/outbox", incomplete.to_string()).bearer(&officer));
    assert_eq!(r.status, 422, "{}", body(&r));
    assert!(body(&r).contains("needs a purpose"), "{}", body(&r));
    incomplete["purpose"] = "identify a driver".into();
    incomplete.as_object_mut().unwrap().remove("offence");
    let r = mx_server
        .call(Request::post_json("/api/v1/outbox", incomplete.to_string()).bearer(&officer));
    assert_eq!(r.status, 422, "{}", body(&r));
    assert!(body(&r).contains("offence category"), "{}", body(&r));
    assert_eq!(audit_count(&p.mx, "refusal"), 2);
    assert_eq!(
        count_rows(&p.gt, "requests"),
        0,
        "nothing reached the owner"
    );

    // The request, through the requester's server: H2, a field the policy forbids (phones).
    let h2 = request(
        &p.mx,
        "ref-ana",
        "H2",
        "given_names,surnames,phones,case_reference",
    );
    assert_eq!(audit_count(&p.mx, "request_sent"), 1);
    let inbox = run_ok(
        Command::new(BIN)
            .args(["inbox", "--json", "--dir"])
            .arg(&p.gt),
    );
    assert!(inbox.contains(&h2), "{inbox}");

    // Someone without the approver role cannot decide: 403, audited at the owner.
    let out = decide(
        &p.gt,
        &h2,
        "ana.analyst",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("approver role") && err.contains("403"),
        "{err}"
    );
    assert_eq!(audit_count(&p.gt, "refusal"), 1);

    // The approver releases given names, phones and the case reference; the policy forbids
    // phones; surnames were asked for and not chosen.
    let out = decide(
        &p.gt,
        &h2,
        "rosa.approver",
        &["--confirm", "--fields", "given_names,phones,case_reference"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["outcome"], "confirmed");
    assert_eq!(
        made["released"],
        serde_json::json!(["given_names", "case_reference"])
    );
    assert!(
        made["withheld"]["phones"]
            .as_str()
            .unwrap()
            .contains("no rule releases it"),
        "{made}"
    );
    assert_eq!(
        made["withheld"]["surnames"],
        "the approver did not release it"
    );
    assert_eq!(made["retention_days"], 180);
    assert_eq!(made["delivered"], true, "{made}");
    // Decided once only.
    let again = decide(
        &p.gt,
        &h2,
        "rosa.approver",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already decided"));

    // The requester holds the release: the values allowed, never the phone.
    let items = released(&p.mx);
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    let item = &items[0];
    assert_eq!(item["request_id"], h2.as_str());
    assert_eq!(item["from"], "gt-r");
    assert_eq!(item["handling"], "H2");
    assert_eq!(item["body"]["released"]["given_names"], "Ana María");
    assert_eq!(
        item["body"]["released"]["case_reference"],
        "gt-registros/GT-1"
    );
    assert!(item["body"]["released"].get("phones").is_none(), "{item}");
    assert!(item["body"]["withheld"]["phones"].is_string(), "{item}");
    // The owner's store holds the phone; the requester's files do not.
    let owner_store = std::fs::read(p.gt.join("records/enlace.db")).unwrap();
    let owner_wal = std::fs::read(p.gt.join("records/enlace.db-wal")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&owner_store).contains(PHONE)
            || String::from_utf8_lossy(&owner_wal).contains(PHONE)
    );
    let stored = std::fs::read(p.mx.join("exchange.db")).unwrap();
    let wal = std::fs::read(p.mx.join("exchange.db-wal")).unwrap_or_default();
    for bytes in [&stored, &wal] {
        assert!(
            !String::from_utf8_lossy(bytes).contains(PHONE),
            "the forbidden phone reached the requester"
        );
    }
    let release_id = item["id"].as_str().unwrap().to_owned();
    // An approver at the requester is not who reads released data.
    let approver = mx_server.token("pat.approver");
    let r = mx_server.call(Request::get("/api/v1/released").bearer(&approver));
    assert_eq!(r.status, 403, "{}", body(&r));

    // H2: no export, with a clear error, and no file.
    let out_file = p.mx.with_extension("export.json");
    let err = run_err(
        signed_in(&[
            "released",
            "--user",
            "mia.analyst",
            "--export",
            &release_id,
            "--out",
        ])
        .arg(&out_file)
        .arg("--dir")
        .arg(&p.mx),
    );
    assert!(
        err.contains("handling code H2") && err.contains("cannot be exported"),
        "{err}"
    );
    assert!(!out_file.exists());

    // H0 may be exported: the signed release, as received.
    let h0 = request(&p.mx, "ref-ana", "H0", "given_names");
    let out = decide(
        &p.gt,
        &h0,
        "rosa.approver",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h0_release = released(&p.mx)
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == h0.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run_ok(
        signed_in(&[
            "released",
            "--user",
            "mia.analyst",
            "--export",
            &h0_release,
            "--out",
        ])
        .arg(&out_file)
        .arg("--dir")
        .arg(&p.mx),
    );
    let export: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(export["envelope"]["kind"], "release");
    assert_eq!(export["envelope"]["signature"].as_str().unwrap().len(), 128);

    // A false hit: rejected with a reason, nothing released.
    let juan = request(&p.mx, "ref-juan", "H1", "given_names,birth_date");
    let out = decide(
        &p.gt,
        &juan,
        "rosa.approver",
        &["--reject", "--reason", "another man"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rejected = released(&p.mx)
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == juan.as_str())
        .cloned()
        .unwrap();
    assert_eq!(rejected["outcome"], "rejected");
    assert_eq!(rejected["body"]["reason"], "another man");
    assert!(rejected["body"]["released"].as_object().unwrap().is_empty());

    // The owner's own signed release played again: refused as a replay, audited.
    let gt_node = NodeDir::new(&p.gt).load().unwrap();
    let replay = mx_server.call_as(
        &gt_node.identity,
        Request::post_json(
            "/api/v1/node/messages",
            serde_json::to_vec(&export["envelope"]).unwrap(),
        ),
    );
    assert_eq!(replay.status, 409, "{}", body(&replay));
    // An expired one, and one answering a request mx never sent: refused, audited.
    let now = chrono::Utc::now().timestamp();
    let mut old_body = export["envelope"]["body"].clone();
    old_body["request_id"] = "0".repeat(32).into();
    let expired = gt_node
        .seal_message(
            MessageKind::Release,
            "mx-r",
            &export["envelope"]["body"],
            now - 7200,
            600,
        )
        .unwrap();
    let r = mx_server.call_as(
        &gt_node.identity,
        Request::post_json(
            "/api/v1/node/messages",
            serde_json::to_vec(&expired).unwrap(),
        ),
    );
    assert_eq!(r.status, 422, "{}", body(&r));
    assert!(body(&r).contains("expired"), "{}", body(&r));
    let stray = gt_node
        .seal_message(MessageKind::Release, "mx-r", &old_body, now, 600)
        .unwrap();
    let r = mx_server.call_as(
        &gt_node.identity,
        Request::post_json("/api/v1/node/messages", serde_json::to_vec(&stray).unwrap()),
    );
    assert_eq!(r.status, 422, "{}", body(&r));
    assert!(body(&r).contains("answers no request"), "{}", body(&r));
    assert_eq!(released(&p.mx).as_array().unwrap().len(), 3);

    assert!(gt_server.stop().success());
    assert!(mx_server.stop().success());

    // Both logs hold every step and verify.
    audit_verifies(&p.gt);
    audit_verifies(&p.mx);
    assert_eq!(audit_count(&p.gt, "request"), 3);
    assert_eq!(audit_count(&p.gt, "decision"), 3);
    assert_eq!(audit_count(&p.gt, "release"), 2);
    // phones and surnames on the first; birth_date and given_names were never released on
    // the rejection (nothing is withheld field by field there).
    assert_eq!(audit_count(&p.gt, "withheld"), 2);
    assert_eq!(
        audit_count(&p.gt, "refusal"),
        2,
        "the analyst's 403 and the second decision"
    );
    assert_eq!(audit_count(&p.mx, "request_sent"), 3);
    assert_eq!(audit_count(&p.mx, "release_received"), 3);
    assert!(audit_count(&p.mx, "read_released") >= 6);
    assert_eq!(audit_count(&p.mx, "export"), 1);
    // No purpose, no offence, the approver's 403, H2 export, replay, expired, stray.
    assert_eq!(audit_count(&p.mx, "refusal"), 7);
    // The owner's disclosure accounting lists the two releases.
    let accounting = run_ok(
        Command::new(BIN)
            .args(["audit", "export", "--dir"])
            .arg(&p.gt),
    );
    assert_eq!(
        accounting
            .lines()
            .filter(|l| l.contains(",release,"))
            .count(),
        2,
        "{accounting}"
    );
    // No log holds a released value.
    for dir in [&p.gt, &p.mx] {
        let db = rusqlite::Connection::open(dir.join("audit/audit.db")).unwrap();
        let dump: String = db
            .query_row(
                "SELECT group_concat(coalesce(purpose,'') || coalesce(subject,'') || detail, ' ') FROM entries",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            !dump.contains("Ana") && !dump.contains(PHONE) && !dump.contains("convoy"),
            "{dump}"
        );
    }
}

#[test]
fn a_release_committed_before_the_owner_dies_arrives_exactly_once_after_restart() {
    let p = pair(180);
    let mx_server = Served::start(&p.mx, &[]);
    let mut gt_server =
        Served::start_with_env(&p.gt, &[], &[("ENLACE_TEST_ABORT_AFTER_COMMIT", "1")]);
    let id = request(&p.mx, "ref-ana", "H1", "given_names,surnames");

    // The owner dies right after committing the decision, before sending anything.
    let out = decide(
        &p.gt,
        &id,
        "rosa.approver",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(!out.status.success(), "the decision's answer never came");
    let status = gt_server.wait(Duration::from_secs(20));
    assert!(!status.success(), "{status:?}");
    assert_eq!(count_rows(&p.mx, "released"), 0);
    assert!(released(&p.mx).as_array().unwrap().is_empty());
    drop(gt_server);

    // Restarted, it finds the undelivered release and sends it.
    let gt_server = Served::start(&p.gt, &[]);
    let items = eventually(Duration::from_secs(30), || {
        let items = released(&p.mx);
        (!items.as_array().unwrap().is_empty()).then_some(items)
    });
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["body"]["released"]["given_names"], "Ana María");
    assert!(gt_server.stop().success());

    // Another restart sends nothing twice: exactly one release at the requester.
    let gt_server = Served::start(&p.gt, &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count_rows(&p.mx, "released"), 1);
    assert_eq!(released(&p.mx).as_array().unwrap().len(), 1);
    assert!(gt_server.stop().success());
    assert!(mx_server.stop().success());
    assert_eq!(audit_count(&p.mx, "release_received"), 1);
    assert_eq!(audit_count(&p.gt, "decision"), 1);
    audit_verifies(&p.gt);
    audit_verifies(&p.mx);
}

#[test]
fn released_data_is_deleted_when_its_retention_ends_while_running_and_at_start_up() {
    // Retention of 8 days, a test day of one second.
    let p = pair(8);
    let day = [("ENLACE_TEST_SECONDS_PER_DAY", "1")];
    let gt_server = Served::start_with_env(&p.gt, &[], &day);
    let mx_server = Served::start(&p.mx, &[]);

    let first = request(&p.mx, "ref-ana", "H0", "given_names");
    let out = decide(
        &p.gt,
        &first,
        "rosa.approver",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["retention_days"], 8);
    assert_eq!(count_rows(&p.mx, "released"), 1);
    // The running server deletes it once its time is up, and records the deletion.
    eventually(Duration::from_secs(20), || {
        (count_rows(&p.mx, "released") == 0).then_some(())
    });
    assert!(released(&p.mx).as_array().unwrap().is_empty());
    assert_eq!(audit_count(&p.mx, "deletion"), 1);

    // A release whose time runs out while the requester is down is deleted when it starts.
    let second = request(&p.mx, "ref-ana", "H0", "given_names");
    assert!(mx_server.stop().success());
    // The owner cannot deliver while mx is down; it keeps the release and retries.
    let out = decide(
        &p.gt,
        &second,
        "rosa.approver",
        &["--confirm", "--fields", "given_names"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["delivered"], false);
    assert!(gt_server.stop().success());
    let mx_server = Served::start(&p.mx, &[]);
    // Restarting the owner delivers it; mx keeps it until its retention ends.
    let gt_server = Served::start_with_env(&p.gt, &[], &day);
    eventually(Duration::from_secs(20), || {
        (audit_count(&p.mx, "release_received") == 2).then_some(())
    });
    assert!(mx_server.stop().success());
    std::thread::sleep(Duration::from_secs(9));
    // Nobody has touched it while mx was down.
    assert_eq!(count_rows(&p.mx, "released"), 1);
    let mx_server = Served::start(&p.mx, &[]);
    eventually(Duration::from_secs(10), || {
        (count_rows(&p.mx, "released") == 0).then_some(())
    });
    assert_eq!(audit_count(&p.mx, "deletion"), 2);
    assert!(mx_server.stop().success());
    assert!(gt_server.stop().success());
    audit_verifies(&p.mx);
    audit_verifies(&p.gt);
}
