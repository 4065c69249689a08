//! The log file: one SQLite database (`audit.db`, WAL, synchronous FULL so a committed entry
//! survives a power cut) and a head file (`audit.head`) naming the newest entry, so that entries
//! cut off the end are noticed too.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey};
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::chain::{GENESIS, entry_hash, time_text};
use crate::entry::{Action, Entry, NewEntry};
use crate::error::AuditError;

pub(crate) const DB_FILE: &str = "audit.db";
pub(crate) const HEAD_FILE: &str = "audit.head";

/// Append-only by schema as well as by API: updates and deletes abort. Someone with the file
/// can drop the triggers, which is why the chain and signatures exist; the triggers stop
/// honest mistakes.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    subject    TEXT,
    purpose    TEXT,
    recipient  TEXT,
    detail     TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL,
    signature  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_time ON entries(at);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
";

/// The newest entry as last recorded beside the database: its number, hash and signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    #[serde(with = "hex::serde")]
    pub hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub signature: [u8; 64],
}

/// A node's audit log, open for appending.
pub struct AuditLog {
    conn: Connection,
    dir: PathBuf,
    key: SigningKey,
    /// The newest entry this handle has seen (another writer may have appended since).
    last_seq: u64,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

pub(crate) fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
    move |source| AuditError::Db {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn open_db(dir: &Path) -> Result<Connection, AuditError> {
    let path = dir.join(DB_FILE);
    let e = db_err(&path);
    let conn = Connection::open(&path).map_err(&e)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(&e)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(&e)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(&e)?;
    conn.execute_batch(SCHEMA).map_err(&e)?;
    Ok(conn)
}

/// The newest entry's number, hash and time (0, the genesis hash and none for an empty log).
type ChainEnd = (u64, [u8; 32], Option<DateTime<Utc>>);

/// The end of the chain as the database holds it.
fn chain_end(conn: &Connection, path: &Path) -> Result<ChainEnd, AuditError> {
    let last: Option<(i64, Vec<u8>, String)> = conn
        .query_row(
            "SELECT seq, hash, at FROM entries ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db_err(path))?;
    let Some((seq, hash, at)) = last else {
        return Ok((0, GENESIS, None));
    };
    let corrupt = |reason: &str| AuditError::Corrupt {
        path: path.to_path_buf(),
        seq,
        reason: reason.to_string(),
    };
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt("hash is not 32 bytes"))?;
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|_| corrupt("time does not parse"))?
        .with_timezone(&Utc);
    Ok((
        u64::try_from(seq).map_err(|_| corrupt("negative number"))?,
        hash,
        Some(at),
    ))
}

pub(crate) fn read_head(dir: &Path) -> Result<Option<Head>, AuditError> {
    let path = dir.join(HEAD_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuditError::BadHead {
                path,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuditError::Io { path, source }),
    }
}

impl AuditLog {
    /// Opens (creating when missing) the log in `dir`, signing with `key`.
    pub fn open(dir: &Path, key: SigningKey) -> Result<AuditLog, AuditError> {
        std::fs::create_dir_all(dir).map_err(|source| AuditError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let conn = open_db(dir)?;
        let (last_seq, _, _) = chain_end(&conn, &dir.join(DB_FILE))?;
        Ok(AuditLog {
            conn,
            dir: dir.to_path_buf(),
            key,
            last_seq,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of entries in the log when this handle last opened or appended to it.
    pub fn len(&self) -> u64 {
        self.last_seq
    }

    pub fn is_empty(&self) -> bool {
        self.last_seq == 0
    }

    /// Appends one entry in its own transaction.
    pub fn append(&mut self, entry: NewEntry) -> Result<Entry, AuditError> {
        let mut out = self.append_batch(vec![entry])?;
        out.pop()
            .ok_or_else(|| AuditError::Invalid("nothing was appended".into()))
    }

    /// Appends entries in one transaction (one disk flush for all: the way to take many
    /// entries a second). All or none are written.
    pub fn append_batch(&mut self, entries: Vec<NewEntry>) -> Result<Vec<Entry>, AuditError> {
        let path = self.dir.join(DB_FILE);
        let e = db_err(&path);
        // Another process of the node (the command line beside the server) may have appended
        // since this one last did: the chain is continued from the end the database holds,
        // read under the write lock that the transaction takes at once.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&e)?;
        let (mut seq, mut prev, mut floor) = chain_end(&tx, &path)?;
        // Times never go backwards in the log, even if the clock does (`floor`).
        // Hashes chain, so they are computed in order; signatures are independent of each
        // other and take most of the time, so they are made in parallel.
        let mut chained = Vec::with_capacity(entries.len());
        for body in entries {
            if body.actor.is_empty() {
                return Err(AuditError::Invalid("an entry needs an actor".into()));
            }
            seq += 1;
            let mut at = Utc::now();
            if let Some(f) = floor.filter(|f| *f > at) {
                at = f;
            }
            floor = Some(at);
            let hash = entry_hash(&prev, seq, &at, &body);
            chained.push((seq, at, body, prev, hash));
            prev = hash;
        }
        let key = &self.key;
        let written: Vec<Entry> = chained
            .into_par_iter()
            .map(|(seq, at, body, prev_hash, hash)| {
                let signature: Signature = key.sign(&hash);
                Entry {
                    seq,
                    at,
                    body,
                    prev_hash,
                    hash,
                    signature: signature.to_bytes(),
                }
            })
            .collect();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO entries(seq, at, action, actor, subject, purpose, recipient, detail,
                                         prev_hash, hash, signature)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(&e)?;
            for w in &written {
                let detail = serde_json::to_string(&w.body.detail)
                    .map_err(|err| AuditError::Invalid(err.to_string()))?;
                stmt.execute(params![
                    w.seq as i64,
                    time_text(&w.at),
                    w.body.action.as_str(),
                    w.body.actor,
                    w.body.subject,
                    w.body.purpose,
                    w.body.recipient,
                    detail,
                    &w.prev_hash[..],
                    &w.hash[..],
                    &w.signature[..],
                ])
                .map_err(&e)?;
            }
        }
        tx.commit().map_err(&e)?;
        if let Some(last) = written.last() {
            self.last_seq = last.seq;
            self.write_head(Head {
                seq: last.seq,
                hash: last.hash,
                signature: last.signature,
            })?;
        }
        Ok(written)
    }

    /// The head file is replaced whole (temporary file and rename): a crash leaves the old
    /// head or the new one, and an old head only lags, which verification accepts.
    fn write_head(&self, head: Head) -> Result<(), AuditError> {
        let path = self.dir.join(HEAD_FILE);
        let tmp = self.dir.join(format!("{HEAD_FILE}.partial"));
        let io = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec(&head).map_err(|e| AuditError::Invalid(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// Entries written from `from` (inclusive) to `to` (exclusive), oldest first.
    pub fn entries(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Entry>, AuditError> {
        read_entries(&self.conn, &self.dir.join(DB_FILE), from, to)
    }
}

/// Entries of the log in `dir` written from `from` (inclusive) to `to` (exclusive), oldest
/// first, for readers that do not append (and hold no key).
pub fn entries_in(
    dir: &Path,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<Entry>, AuditError> {
    let conn = open_db(dir)?;
    read_entries(&conn, &dir.join(DB_FILE), from, to)
}

/// Reads entries between two times (both optional) from an open database.
pub(crate) fn read_entries(
    conn: &Connection,
    path: &Path,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<Entry>, AuditError> {
    let e = db_err(path);
    let from = from.map(|t| time_text(&t)).unwrap_or_default();
    let to = to
        .map(|t| time_text(&t))
        .unwrap_or_else(|| "9999".to_string());
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, action, actor, subject, purpose, recipient, detail, prev_hash, hash,
                    signature
             FROM entries WHERE at >= ?1 AND at < ?2 ORDER BY seq",
        )
        .map_err(&e)?;
    let rows = stmt.query_map(params![from, to], row_parts).map_err(&e)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(parse_row(row.map_err(&e)?, path)?);
    }
    Ok(out)
}

/// One row's columns as stored, before checking.
pub(crate) type RowParts = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);

pub(crate) fn row_parts(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowParts> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

pub(crate) fn parse_row(p: RowParts, path: &Path) -> Result<Entry, AuditError> {
    let (seq, at, action, actor, subject, purpose, recipient, detail, prev, hash, sig) = p;
    let corrupt = |reason: &str| AuditError::Corrupt {
        path: path.to_path_buf(),
        seq,
        reason: reason.to_string(),
    };
    Ok(Entry {
        seq: u64::try_from(seq).map_err(|_| corrupt("negative number"))?,
        at: DateTime::parse_from_rfc3339(&at)
            .map_err(|_| corrupt("time does not parse"))?
            .with_timezone(&Utc),
        body: NewEntry {
            action: Action::parse(&action).ok_or_else(|| corrupt("unknown action"))?,
            actor,
            subject,
            purpose,
            recipient,
            detail: serde_json::from_str(&detail).map_err(|_| corrupt("detail is not a map"))?,
        },
        prev_hash: prev
            .try_into()
            .map_err(|_| corrupt("previous hash is not 32 bytes"))?,
        hash: hash
            .try_into()
            .map_err(|_| corrupt("hash is not 32 bytes"))?,
        signature: sig
            .try_into()
            .map_err(|_| corrupt("signature is not 64 bytes"))?,
    })
}
