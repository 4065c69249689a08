//! Nodes as operators run them: real `enlace` processes on loopback, reached over TLS by other
//! nodes and by people. Pinned peers get in; an unpinned certificate, a person without the
//! role, an expired session, oversized and malformed bodies are refused with clear answers; the
//! server stops cleanly on SIGTERM; its log names no one.

use std::process::Command;
use std::time::Duration;

use enlace_node::client::{self, Request};
use enlace_node::node_dir::NodeDir;

mod common;

use common::*;

#[test]
fn pinned_peers_reach_node_endpoints_and_an_unpinned_certificate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let us = init(tmp.path(), "us-a", "US");
    let mx = init(tmp.path(), "mx-a", "MX");
    // gt trusts us, but us has not pinned gt.
    let gt = init(tmp.path(), "gt-a", "GT");
    trust(&us, &mx);
    trust(&mx, &us);
    trust(&gt, &us);
    let listed = run_ok(Command::new(BIN).args(["roster", "list", "--dir"]).arg(&us));
    assert!(listed.starts_with("mx-a\tMX\tagency\t"), "{listed}");

    let server = Served::start(&us, &[]);

    // The pinned peer, through the real command.
    let pong = run_ok(
        Command::new(BIN)
            .args(["node", "ping", "--peer", "us-a", "--dir"])
            .arg(&mx),
    );
    let pong: serde_json::Value = serde_json::from_str(&pong).unwrap();
    assert_eq!(pong["caller"], "mx-a");
    assert_eq!(pong["node"], "us-a");

    // A node whose certificate us has not pinned: refused at the TLS handshake.
    let out = Command::new(BIN)
        .args(["node", "ping", "--peer", "us-a", "--dir"])
        .arg(&gt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("calling us-a"), "{err}");
    assert!(err.contains("fatal alert"), "{err}");

    // The same through the library, to see what the server answers.
    let gt_id = identity(&gt);
    let refused = client::send_blocking(
        &server.url,
        server.pin,
        Some(&gt_id),
        Request::get("/api/v1/node/ping"),
        Duration::from_secs(20),
    );
    assert!(refused.is_err(), "{refused:?}");

    // No client certificate at all (a browser): the node endpoints say why they refuse.
    let r = server.call(Request::get("/api/v1/node/ping"));
    assert_eq!(r.status, 401, "{}", body(&r));
    assert!(body(&r).contains("pinned"), "{}", body(&r));

    // Health needs nothing.
    let r = server.call(Request::get("/health"));
    assert_eq!((r.status, body(&r).as_str()), (200, r#"{"status":"ok"}"#));

    // A client that pins another certificate than the server's does not talk to it.
    let wrong_pin = client::send_blocking(
        &server.url,
        gt_id.fingerprint(),
        None,
        Request::get("/health"),
        Duration::from_secs(20),
    );
    assert!(wrong_pin.is_err(), "{wrong_pin:?}");

    // A peer may read the OpenAPI document with its certificate alone.
    let r = client::send_blocking(
        &server.url,
        server.pin,
        Some(&identity(&mx)),
        Request::get("/api/v1/openapi.json"),
        Duration::from_secs(20),
    )
    .unwrap();
    assert_eq!(r.status, 200);

    let log = server.log();
    assert!(log.contains("not pinned in the roster"), "{log}");
    assert!(log.contains(r#"peer="mx-a""#), "{log}");
}

#[test]
fn people_sign_in_with_roles_sessions_expire_and_sigterm_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let us = init(tmp.path(), "us-b", "US");
    add_user(&us, "ana.analyst", "analyst");
    add_user(&us, "root.admin", "admin");

    let server = Served::start(&us, &["--listen", "127.0.0.1:0"]);
    assert_eq!(
        server.sign_in("ana.analyst", "not the password").status,
        401
    );
    assert_eq!(server.sign_in("nobody", PASSWORD).status, 401);

    let analyst = server.token("ana.analyst");
    let r = server.call(Request::get("/api/v1/me").bearer(&analyst));
    assert_eq!(r.status, 200, "{}", body(&r));
    let me = r.json().unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("ana.analyst"), Some("analyst"))
    );

    // The wrong role: 403, and why.
    let r = server.call(Request::get("/api/v1/users").bearer(&analyst));
    assert_eq!(r.status, 403, "{}", body(&r));
    assert!(body(&r).contains("admin role"), "{}", body(&r));
    let admin = server.token("root.admin");
    let r = server.call(Request::get("/api/v1/users").bearer(&admin));
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json().unwrap().as_array().unwrap().len(), 2);

    // No session, a forged one: 401.
    assert_eq!(server.call(Request::get("/api/v1/me")).status, 401);
    let forged = "0".repeat(96);
    assert_eq!(
        server
            .call(Request::get("/api/v1/me").bearer(&forged))
            .status,
        401
    );

    // The OpenAPI document needs a session too, and lists every endpoint.
    assert_eq!(
        server.call(Request::get("/api/v1/openapi.json")).status,
        401
    );
    let r = server.call(Request::get("/api/v1/openapi.json").bearer(&analyst));
    assert_eq!(r.status, 200);
    let doc = r.json().unwrap();
    for path in enlace_node::server::PATHS {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }

    // Signing out ends the session.
    let mut out = Request::get("/api/v1/session").bearer(&admin);
    out.method = hyper::Method::DELETE;
    assert_eq!(server.call(out).status, 204);
    assert_eq!(
        server
            .call(Request::get("/api/v1/me").bearer(&admin))
            .status,
        401
    );

    // SIGTERM: exit 0, port file removed.
    let log_before = server.log();
    let (status, stdout) = server.stop_with_output();
    assert!(status.success(), "{status:?}");
    assert!(stdout.contains("stopped"), "{stdout}");
    assert!(!us.join("run/port").exists());

    // Sessions that last one second.
    set_limits(
        &us,
        "session_ttl_secs = 1\nmax_body_bytes = 1048576\nrate_per_second = 20\nrate_burst = 60",
    );
    let server = Served::start(&us, &["--listen", "127.0.0.1:0"]);
    let short = server.token("ana.analyst");
    std::thread::sleep(Duration::from_millis(2100));
    let r = server.call(Request::get("/api/v1/me").bearer(&short));
    assert_eq!(r.status, 401, "{}", body(&r));
    assert!(body(&r).contains("expired"), "{}", body(&r));

    // Nothing a person typed or is called appears in the log.
    let log = log_before + &server.log();
    for secret in [
        "ana.analyst",
        "root.admin",
        PASSWORD,
        &analyst,
        &admin,
        &short,
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    assert!(log.contains("sign-in refused"), "{log}");
}

#[test]
fn sign_ins_are_audited_and_a_tampered_audit_log_fails_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let mx = init(tmp.path(), "mx-audit", "MX");
    add_user(&mx, "rosa.approver", "approver");
    let server = Served::start(&mx, &["--listen", "127.0.0.1:0"]);
    server.token("rosa.approver");
    assert_eq!(server.sign_in("rosa.approver", "wrong").status, 401);
    server.token("rosa.approver");
    let status = server.stop();
    assert!(status.success());

    let dir = mx.to_str().unwrap();
    let out = run_ok(Command::new(BIN).args(["audit", "verify", "--dir", dir, "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["entries"], 3, "{out}");
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{out}");
    let out = run_ok(Command::new(BIN).args(["audit", "verify", "--dir", dir, "--all-signatures"]));
    assert!(out.contains("3 entries, 3 signature(s) checked"), "{out}");
    assert!(out.trim_end().ends_with("intact"), "{out}");
    // Sign-ins are not disclosures: the accounting has its header and nothing else.
    let out = run_ok(Command::new(BIN).args(["audit", "export", "--dir", dir]));
    assert_eq!(
        out.trim(),
        "date,entry,nature,purpose,recipient,subject,details"
    );

    // The refused attempt is on the record without the name typed; the sign-ins with theirs.
    let db = rusqlite::Connection::open(mx.join("audit/audit.db")).unwrap();
    let actors: Vec<(String, String)> = db
        .prepare("SELECT action, actor FROM entries ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        actors,
        [
            ("sign_in".into(), "rosa.approver".into()),
            ("sign_in_refused".into(), "anonymous".into()),
            ("sign_in".into(), "rosa.approver".into()),
        ]
    );

    // Someone with the file rewrites the refusal away.
    db.execute_batch(
        "DROP TRIGGER entries_no_update;
         UPDATE entries SET action = 'sign_in', actor = 'rosa.approver' WHERE seq = 2;",
    )
    .unwrap();
    drop(db);
    let out = Command::new(BIN)
        .args(["audit", "verify", "--dir", dir])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("entry 2 does not match its hash"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not intact"));
    let out = Command::new(BIN)
        .args(["audit", "export", "--dir", dir])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an accounting from a tampered log");
}

#[test]
fn a_follow_up_request_reaches_the_owners_inbox_once_and_bad_ones_are_refused_and_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let mx = init(tmp.path(), "mx-x", "MX");
    let gt = init(tmp.path(), "gt-x", "GT");
    let us = init(tmp.path(), "us-x", "US");
    trust(&mx, &gt);
    trust(&gt, &mx);
    trust(&gt, &us);
    add_user(&gt, "rosa.approver", "approver");
    add_user(&gt, "ana.analyst", "analyst");
    add_user(&mx, "luis.investigator", "officer");
    let server = Served::start(&gt, &[]);
    // The requester's own server signs, records and sends what its officer asks.
    let requester = Served::start(&mx, &[]);

    // Through the real command.
    let sent = run_ok(
        Command::new(BIN)
            .env("ENLACE_PASSWORD", PASSWORD)
            .args([
                "request",
                "--peer",
                "gt-x",
                "--project",
                "p-1",
                "--reference",
                "9f3c1a",
            ])
            .args([
                "--purpose",
                "identify a convoy driver",
                "--offence",
                "smuggling_of_migrants",
            ])
            .args([
                "--legal-basis",
                "bilateral agreement art. 4",
                "--handling",
                "H2",
            ])
            .args([
                "--user",
                "luis.investigator",
                "--fields",
                "surnames,birth_date",
            ])
            .arg("--dir")
            .arg(&mx),
    );
    assert!(sent.contains("filed at gt-x"), "{sent}");

    // The approver sees it; an analyst may not.
    let approver = server.token("rosa.approver");
    let r = server.call(Request::get("/api/v1/inbox").bearer(&approver));
    assert_eq!(r.status, 200, "{}", body(&r));
    let items = r.json().unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["from"], "mx-x");
    assert_eq!(items[0]["request"]["offence"], "smuggling_of_migrants");
    let analyst = server.token("ana.analyst");
    assert_eq!(
        server
            .call(Request::get("/api/v1/inbox").bearer(&analyst))
            .status,
        403
    );

    // Messages made with mx's own key, sent with its certificate.
    let node = NodeDir::new(&mx).load().unwrap();
    let now = chrono::Utc::now().timestamp();
    let post = |env: &enlace_node::exchange::Envelope| {
        let url = format!(
            "https://{}",
            std::fs::read_to_string(gt.join("node.toml"))
                .unwrap()
                .lines()
                .find(|l| l.starts_with("listen"))
                .unwrap()
                .split('"')
                .nth(1)
                .unwrap()
        );
        client::send_blocking(
            &url,
            identity(&gt).fingerprint(),
            Some(&node.identity),
            Request::post_json("/api/v1/node/messages", serde_json::to_vec(env).unwrap()),
            Duration::from_secs(20),
        )
        .unwrap()
    };
    let request = serde_json::json!({
        "hit": {"project": "p-1", "partner_reference": "77aa"},
        "purpose": "find a missing migrant's family", "offence": "missing_person",
        "legal_basis": "humanitarian protocol", "handling": "H0", "officer": "luis.investigator",
        "fields": ["relative_contact"]
    });
    let kind = enlace_node::exchange::MessageKind::FollowUpRequest;
    let good = node.seal_message(kind, "gt-x", &request, now, 600).unwrap();
    assert_eq!(post(&good).status, 202);
    // The same message again: a replay.
    let again = post(&good);
    assert_eq!(again.status, 409, "{}", body(&again));
    // Without a purpose or an offence category: refused, naming what is missing.
    let mut no_purpose = request.clone();
    no_purpose["purpose"] = "".into();
    let r = post(
        &node
            .seal_message(kind, "gt-x", &no_purpose, now, 600)
            .unwrap(),
    );
    assert_eq!(r.status, 422);
    assert!(body(&r).contains("needs a purpose"), "{}", body(&r));
    let mut no_offence = request.clone();
    no_offence.as_object_mut().unwrap().remove("offence");
    let r = post(
        &node
            .seal_message(kind, "gt-x", &no_offence, now, 600)
            .unwrap(),
    );
    assert_eq!(r.status, 422);
    assert!(body(&r).contains("offence category"), "{}", body(&r));
    // Expired, and one altered after signing.
    let old = node
        .seal_message(kind, "gt-x", &request, now - 7200, 600)
        .unwrap();
    assert_eq!(post(&old).status, 422);
    let mut altered = node.seal_message(kind, "gt-x", &request, now, 600).unwrap();
    altered.body["fields"] = serde_json::json!(["relative_contact", "document_numbers"]);
    assert_eq!(post(&altered).status, 403);
    // Signed by mx but claiming to come from us-x (whose card gt has): refused.
    let mut forged = node.seal_message(kind, "gt-x", &request, now, 600).unwrap();
    forged.from = "us-x".into();
    assert_eq!(post(&forged).status, 403);

    let status = server.stop();
    assert!(status.success());
    let status = requester.stop();
    assert!(status.success());
    // The requester recorded what it sent in its own log.
    let mx_db = rusqlite::Connection::open(mx.join("audit/audit.db")).unwrap();
    let sent_entries: i64 = mx_db
        .query_row(
            "SELECT count(*) FROM entries WHERE action = 'request_sent'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sent_entries, 1);
    // The inbox holds the two good requests; the audit log holds them and each refusal.
    let inbox = run_ok(
        Command::new(BIN)
            .args(["inbox", "--json", "--dir"])
            .arg(&gt),
    );
    let inbox: serde_json::Value = serde_json::from_str(&inbox).unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 2, "{inbox}");
    let db = rusqlite::Connection::open(gt.join("audit/audit.db")).unwrap();
    let count = |action: &str| -> i64 {
        db.query_row(
            "SELECT count(*) FROM entries WHERE action = ?1",
            [action],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(count("request"), 2);
    // Six refused messages, and the analyst's refused read of the inbox.
    assert_eq!(count("refusal"), 7);
    let purposes: Vec<String> = db
        .prepare("SELECT purpose FROM entries WHERE action = 'request' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(purposes, ["smuggling_of_migrants", "missing_person"]);
    // The officer's free text stays out of the audit log.
    let dump: String = db
        .prepare("SELECT group_concat(coalesce(purpose,'') || detail, ' ') FROM entries")
        .unwrap()
        .query_row([], |r| r.get(0))
        .unwrap();
    assert!(
        !dump.contains("convoy driver") && !dump.contains("missing migrant"),
        "{dump}"
    );
    run_ok(
        Command::new(BIN)
            .args(["audit", "verify", "--all-signatures", "--dir"])
            .arg(&gt),
    );
}

#[test]
fn oversized_and_malformed_requests_get_clear_4xx_and_the_server_stays_up() {
    let tmp = tempfile::tempdir().unwrap();
    let us = init(tmp.path(), "us-c", "US");
    set_limits(
        &us,
        "session_ttl_secs = 600\nmax_body_bytes = 4096\nrate_per_second = 50\nrate_burst = 100",
    );
    let server = Served::start(&us, &["--listen", "127.0.0.1:0"]);

    let big = format!(r#"{{"name":"x","password":"{}"}}"#, "p".repeat(64 * 1024));
    let r = server.call(Request::post_json("/api/v1/session", big));
    assert_eq!(r.status, 413, "{}", body(&r));

    let cases: [(Request, u16, &str); 5] = [
        (
            Request::post_json("/api/v1/session", "{\"name\": "),
            400,
            "not valid JSON",
        ),
        (
            Request::post_json("/api/v1/session", "{\"nom\": 1}"),
            422,
            "fields",
        ),
        (
            Request::post_json("/api/v1/session", [0xff, 0xfe, 0x00]),
            400,
            "not valid JSON",
        ),
        (
            Request {
                content_type: Some("text/plain".into()),
                ..Request::post_json("/api/v1/session", "{}")
            },
            415,
            "Content-Type",
        ),
        (
            Request::get("/api/v1/nothing-here"),
            404,
            "no such endpoint",
        ),
    ];
    for (request, status, words) in cases {
        let r = server.call(request);
        assert_eq!(r.status, status, "{}", body(&r));
        let error = r.json().unwrap()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(words), "{error}");
    }
    // The refusal never quotes the body.
    let r = server.call(Request::post_json(
        "/api/v1/session",
        r#"{"name": 12345678, "password": "secret-ish"}"#,
    ));
    assert_eq!(r.status, 422);
    assert!(!body(&r).contains("12345678"), "{}", body(&r));

    assert_eq!(server.call(Request::get("/health")).status, 200);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_client_over_its_rate_gets_429() {
    let tmp = tempfile::tempdir().unwrap();
    let us = init(tmp.path(), "us-d", "US");
    set_limits(
        &us,
        "session_ttl_secs = 600\nmax_body_bytes = 4096\nrate_per_second = 1\nrate_burst = 5",
    );
    let server = Served::start(&us, &["--listen", "127.0.0.1:0"]);
    let statuses: Vec<u16> = (0..12)
        .map(|_| server.call(Request::get("/health")).status)
        .collect();
    assert!(statuses[..5].iter().all(|&s| s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[test]
fn init_refuses_to_overwrite_a_node_and_keys_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let us = init(tmp.path(), "us-e", "US");
    let before = identity(&us).fingerprint();
    let out = Command::new(BIN)
        .args(["init", "--node-id", "us-e", "--country", "US", "--dir"])
        .arg(&us)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(identity(&us).fingerprint(), before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in ["ed25519.key", "x25519.key", "tls.key"] {
            let mode = std::fs::metadata(us.join("keys").join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    // A card altered after export is refused by the peer that would add it.
    let mx = init(tmp.path(), "mx-e", "MX");
    let card = tmp.path().join("us-e.card.toml");
    run_ok(
        Command::new(BIN)
            .args(["roster", "export", "--dir"])
            .arg(&us)
            .arg("--out")
            .arg(&card),
    );
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace("country = \"US\"", "country = \"GT\"")).unwrap();
    let out = Command::new(BIN)
        .args(["roster", "add", "--dir"])
        .arg(&mx)
        .arg(&card)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("signature does not verify"), "{err}");

    // A role the card does not announce cannot be served.
    let out = Command::new(BIN)
        .args(["serve", "--role", "linkage-unit", "--dir"])
        .arg(&us)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not list the role linkage-unit"), "{err}");
}

#[test]
fn every_node_subcommand_has_help() {
    for sub in [
        &["init"][..],
        &["roster", "export"],
        &["roster", "add"],
        &["roster", "list"],
        &["user", "add"],
        &["serve"],
        &["node", "ping"],
        &["request"],
        &["inbox"],
        &["decide"],
        &["released"],
        &["references", "add"],
        &["audit", "verify"],
        &["audit", "export"],
    ] {
        let out = Command::new(BIN).args(sub).arg("--help").output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Usage:") && help.contains("--dir"),
            "{sub:?}: {help}"
        );
    }
}
