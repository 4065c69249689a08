//! Tampering with the log file directly — the way someone with access to the disk would, with
//! the append-only triggers dropped — is found by `verify`: an edited, removed, inserted or
//! reordered entry, entries cut off the end, a forged entry, a rewritten chain.

use ed25519_dalek::SigningKey;
use enlace_audit::{
    Action, AuditLog, AuditWriter, NewEntry, Problem, Signatures, entry_hash, verify,
    write_disclosures,
};
use rusqlite::{Connection, params};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn entry(i: usize) -> NewEntry {
    let action = [
        Action::Query,
        Action::Request,
        Action::Release,
        Action::SignIn,
    ][i % 4];
    NewEntry::new(action, format!("officer{}", i % 3))
        .subject(format!("ref-{i:04}"))
        .purpose("smuggling of migrants")
        .recipient("mx-inm")
        .detail("handling", "H2")
}

/// A log of 20 entries, written as 5 single appends and a batch of 15.
fn log_of_20() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), key()).unwrap();
    for i in 0..5 {
        log.append(entry(i)).unwrap();
    }
    log.append_batch((5..20).map(entry).collect()).unwrap();
    dir
}

/// The database with its append-only triggers dropped, as an attacker would.
fn raw(dir: &tempfile::TempDir) -> Connection {
    let c = Connection::open(dir.path().join("audit.db")).unwrap();
    c.execute_batch("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
        .unwrap();
    c
}

fn problems(dir: &tempfile::TempDir, s: Signatures) -> Vec<Problem> {
    verify(dir.path(), &key().verifying_key(), s)
        .unwrap()
        .problems
}

#[test]
fn an_untouched_log_verifies_and_reopening_continues_the_chain() {
    let dir = log_of_20();
    let report = verify(dir.path(), &key().verifying_key(), Signatures::All).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.entries, report.signatures_checked), (20, 20));
    let mut log = AuditLog::open(dir.path(), key()).unwrap();
    assert_eq!(log.len(), 20);
    let e = log.append(entry(20)).unwrap();
    assert_eq!(e.seq, 21);
    assert!(problems(&dir, Signatures::All).is_empty());
    // Another node's key does not verify this node's log.
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    let r = verify(dir.path(), &other, Signatures::Newest).unwrap();
    assert_eq!(r.problems, vec![Problem::BadSignature { seq: 21 }]);
}

#[test]
fn two_writers_of_one_log_continue_one_chain() {
    // The server and the command line of one node each hold the log open and append: every
    // append continues the chain from the end the database holds, whoever wrote it.
    let dir = tempfile::tempdir().unwrap();
    let mut a = AuditLog::open(dir.path(), key()).unwrap();
    let mut b = AuditLog::open(dir.path(), key()).unwrap();
    a.append(entry(0)).unwrap();
    assert_eq!(b.append(entry(1)).unwrap().seq, 2);
    assert_eq!(
        a.append_batch((2..5).map(entry).collect()).unwrap()[2].seq,
        5
    );
    assert_eq!(b.append(entry(5)).unwrap().seq, 6);
    // And at the same time, from two threads with a handle each.
    std::thread::scope(|scope| {
        for mut log in [a, b] {
            scope.spawn(move || {
                for i in 0..50 {
                    log.append(entry(i)).unwrap();
                }
            });
        }
    });
    let report = verify(dir.path(), &key().verifying_key(), Signatures::All).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 106);
}

#[test]
fn the_triggers_refuse_updates_and_deletes() {
    let dir = log_of_20();
    let c = Connection::open(dir.path().join("audit.db")).unwrap();
    assert!(
        c.execute("UPDATE entries SET actor = 'x' WHERE seq = 3", [])
            .is_err()
    );
    assert!(c.execute("DELETE FROM entries WHERE seq = 3", []).is_err());
}

#[test]
fn an_edited_entry_is_found() {
    let dir = log_of_20();
    raw(&dir)
        .execute("UPDATE entries SET recipient = 'us-ice' WHERE seq = 7", [])
        .unwrap();
    assert_eq!(
        problems(&dir, Signatures::Newest),
        vec![Problem::HashMismatch { seq: 7 }]
    );
}

#[test]
fn a_removed_entry_is_found() {
    let dir = log_of_20();
    raw(&dir)
        .execute("DELETE FROM entries WHERE seq = 9", [])
        .unwrap();
    let p = problems(&dir, Signatures::Newest);
    assert_eq!(
        p,
        vec![Problem::Gap {
            expected: 9,
            found: 10
        }],
        "{p:?}"
    );
}

#[test]
fn entries_cut_off_the_end_are_found_through_the_head() {
    let dir = log_of_20();
    raw(&dir)
        .execute("DELETE FROM entries WHERE seq > 17", [])
        .unwrap();
    let p = problems(&dir, Signatures::Newest);
    assert_eq!(
        p,
        vec![Problem::Truncated {
            head_seq: 20,
            last_seq: 17
        }],
        "{p:?}"
    );
}

#[test]
fn an_inserted_entry_is_found() {
    let dir = log_of_20();
    let c = raw(&dir);
    // Make room after entry 4 and insert a copy of entry 2 there, renumbering the rest: the
    // copy keeps a valid signature, but not its place in the chain.
    c.execute("UPDATE entries SET seq = seq + 100 WHERE seq > 4", [])
        .unwrap();
    c.execute("UPDATE entries SET seq = seq - 99 WHERE seq > 100", [])
        .unwrap();
    c.execute(
        "INSERT INTO entries SELECT 5, at, action, actor, subject, purpose, recipient, detail,
                prev_hash, hash, signature FROM entries WHERE seq = 2",
        [],
    )
    .unwrap();
    let p = problems(&dir, Signatures::All);
    assert!(p.contains(&Problem::BrokenLink { seq: 5 }), "{p:?}");
    assert!(p.contains(&Problem::HashMismatch { seq: 5 }), "{p:?}");
    assert!(p.contains(&Problem::BrokenLink { seq: 6 }), "{p:?}");
}

#[test]
fn reordered_entries_are_found() {
    let dir = log_of_20();
    let c = raw(&dir);
    c.execute("UPDATE entries SET seq = 1000 WHERE seq = 11", [])
        .unwrap();
    c.execute("UPDATE entries SET seq = 11 WHERE seq = 12", [])
        .unwrap();
    c.execute("UPDATE entries SET seq = 12 WHERE seq = 1000", [])
        .unwrap();
    let p = problems(&dir, Signatures::Newest);
    assert!(p.contains(&Problem::BrokenLink { seq: 11 }), "{p:?}");
    assert!(p.contains(&Problem::HashMismatch { seq: 11 }), "{p:?}");
    assert!(p.contains(&Problem::HashMismatch { seq: 12 }), "{p:?}");
}

#[test]
fn a_rewritten_chain_without_the_key_is_found_by_the_signatures() {
    let dir = log_of_20();
    let mut entries = AuditLog::open(dir.path(), key())
        .unwrap()
        .entries(None, None)
        .unwrap();
    let c = raw(&dir);
    c.execute("UPDATE entries SET purpose = 'other' WHERE seq = 15", [])
        .unwrap();
    entries[14].body.purpose = Some("other".into());
    // Recompute hashes and links from entry 15 on, as someone without the key could; then the
    // head file too. Only the signatures are left wrong.
    let mut prev = entries[13].hash;
    let mut last = None;
    for e in &entries[14..] {
        let hash = entry_hash(&prev, e.seq, &e.at, &e.body);
        c.execute(
            "UPDATE entries SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            params![&prev[..], &hash[..], e.seq as i64],
        )
        .unwrap();
        prev = hash;
        last = Some((e.seq, hash, e.signature));
    }
    let (seq, hash, signature) = last.unwrap();
    let head = serde_json::json!({"seq": seq, "hash": hex::encode(hash), "signature": hex::encode(signature)});
    std::fs::write(dir.path().join("audit.head"), head.to_string()).unwrap();
    assert_eq!(
        problems(&dir, Signatures::Newest),
        vec![Problem::BadSignature { seq: 20 }]
    );
    let all = problems(&dir, Signatures::All);
    let bad: Vec<u64> = all
        .iter()
        .filter_map(|p| match p {
            Problem::BadSignature { seq } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(bad, (15..=20).collect::<Vec<_>>(), "{all:?}");
}

#[test]
fn the_disclosure_accounting_lists_releases_in_the_period() {
    let dir = log_of_20();
    let log = AuditLog::open(dir.path(), key()).unwrap();
    let all = log.entries(None, None).unwrap();
    let from = all[8].at;
    let period = log.entries(Some(from), None).unwrap();
    assert!(period.iter().all(|e| e.at >= from));
    let mut out = Vec::new();
    let n = write_disclosures(&period, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let releases = period
        .iter()
        .filter(|e| e.body.action == Action::Release)
        .count();
    assert!(releases > 0);
    assert_eq!(n, releases);
    assert_eq!(text.lines().count(), releases + 1);
    assert!(text.starts_with("date,entry,nature,purpose,recipient,subject,details"));
    assert!(
        text.contains(",release,smuggling of migrants,mx-inm,"),
        "{text}"
    );
}

#[test]
fn concurrent_appends_through_the_writer_form_one_valid_chain() {
    let dir = log_of_20();
    let writer = AuditWriter::start(AuditLog::open(dir.path(), key()).unwrap());
    std::thread::scope(|s| {
        for t in 0..8 {
            let writer = &writer;
            s.spawn(move || {
                for i in 0..25 {
                    let e = writer.append(entry(t * 100 + i)).unwrap();
                    assert!(e.seq > 20);
                }
            });
        }
    });
    let log = writer.close().unwrap();
    assert_eq!(log.len(), 220);
    let report = verify(dir.path(), &key().verifying_key(), Signatures::All).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 220);
}
