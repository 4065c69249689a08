//! A real `enlace import` process killed with SIGKILL at several moments, then run again: the
//! store must end up exactly as a clean import leaves it — nothing lost, nothing duplicated, no
//! half-written record.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_enlace");

fn import_cmd(store: &Path, mapping: &Path, input: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "import",
        "--quiet",
        "--batch-rows",
        "2000",
        "--today",
        "2025-06-30",
        "--store",
    ])
    .arg(store)
    .arg("--mapping")
    .arg(mapping)
    .arg(input)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// Rows committed so far by the newest import, read while the importer writes (WAL allows it).
fn committed_rows(store: &Path) -> i64 {
    let db = store.join("enlace.db");
    if !db.exists() {
        return 0;
    }
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.busy_timeout(Duration::from_secs(5)).ok();
    conn.query_row("SELECT COALESCE(MAX(rows_read), 0) FROM imports", [], |r| {
        r.get(0)
    })
    .unwrap_or(0)
}

fn kill_after(mut child: Child, store: &Path, rows: i64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false; // finished before we got to kill it
        }
        if committed_rows(store) >= rows {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("import made no progress in two minutes");
}

/// Everything the store holds about records, in a canonical order.
fn dump(store: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(store.join("enlace.db")).unwrap();
    let mut out = Vec::new();
    let mut q = |sql: &str| {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut line = Vec::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push(format!("{v:?}"));
                }
                Ok(line.join("|"))
            })
            .unwrap();
        for row in rows {
            out.push(row.unwrap());
        }
    };
    q("SELECT record_key, line, raw, given, surname1, surname2, birth_date, sex, nationality, warnings
       FROM records ORDER BY record_key");
    q("SELECT r.record_key, i.kind, i.value, i.valid FROM identifiers i JOIN records r ON r.id = i.record_id
       ORDER BY r.record_key, i.kind, i.value");
    q("SELECT r.record_key, e.kind, e.event_key, e.date FROM events e JOIN records r ON r.id = e.record_id
       ORDER BY r.record_key, e.event_key");
    q("SELECT line, column_name, reason, raw FROM rejects ORDER BY line, reason");
    q(
        "SELECT status, rows_read, rows_stored, rows_unchanged, rows_updated, rows_rejected FROM imports",
    );
    out
}

fn scenario(dir: &Path) -> (PathBuf, PathBuf) {
    let opts = enlace_synth::GenerateOptions::new(40_000, 11);
    enlace_synth::generate(&opts, dir).unwrap();
    (
        dir.join("mappings/us-encounters.toml"),
        dir.join("us-encounters.csv"),
    )
}

#[test]
fn kill_dash_nine_mid_import_loses_nothing_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (mapping, input) = scenario(&tmp.path().join("data"));
    let data_rows = csv::Reader::from_path(&input)
        .unwrap()
        .byte_records()
        .count() as i64;
    assert!(data_rows > 40_000);

    let clean = tmp.path().join("clean");
    let out = import_cmd(&clean, &mapping, &input).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let killed = tmp.path().join("killed");
    let mut kills = 0;
    for fraction in [0.1, 0.35, 0.6, 0.85] {
        let child = import_cmd(&killed, &mapping, &input).spawn().unwrap();
        if kill_after(child, &killed, (data_rows as f64 * fraction) as i64) {
            kills += 1;
            let rows = committed_rows(&killed);
            assert!(rows < data_rows, "killed after the end");
        }
    }
    assert!(
        kills >= 2,
        "the import finished before it could be killed often enough ({kills} kills)"
    );
    let out = import_cmd(&killed, &mapping, &input).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let clean_dump = dump(&clean);
    let killed_dump = dump(&killed);
    let last = killed_dump.last().unwrap().clone();
    assert!(
        last.starts_with(&format!("Text(\"complete\")|Integer({data_rows})|")),
        "{last}"
    );
    assert_eq!(clean_dump.len(), killed_dump.len());
    assert!(
        clean_dump == killed_dump,
        "the killed-and-resumed store differs from a clean import"
    );

    // The rejects file was written whole by the final run.
    let rejects = std::fs::read_dir(killed.join("rejects")).unwrap().count();
    assert_eq!(rejects, 1);
}
