//! Verification. Every entry is checked for its place in the chain (numbers without gaps, each
//! `prev_hash` the hash before it, each hash recomputed from the entry's fields); the newest
//! entry's signature is checked, and with [`Signatures::All`] every entry's. Since each hash
//! covers all before it, a valid signature on the newest entry vouches for the whole chain:
//! rewriting an entry means recomputing every later hash, and the newest one can then not be
//! signed without the node's key. Checking every signature costs a public-key operation per
//! entry; it shows which entries are forged when the chain itself is broken.

use std::path::Path;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use rayon::prelude::*;
use serde::Serialize;

use crate::chain::{GENESIS, entry_hash};
use crate::entry::Entry;
use crate::error::AuditError;
use crate::log::{DB_FILE, Head, db_err, open_db, parse_row, read_head, row_parts};

/// Which signatures to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signatures {
    /// The newest entry's (and the head file's), which covers the chain.
    Newest,
    /// Every entry's.
    All,
}

/// Something wrong in the log. Each names the entry number, never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Entries are numbered 1, 2, 3…: one was removed or inserted here.
    Gap { expected: u64, found: u64 },
    /// The entry's `prev_hash` is not the hash of the entry before it.
    BrokenLink { seq: u64 },
    /// The entry's fields do not give its stored hash: it was edited.
    HashMismatch { seq: u64 },
    /// The signature is not the node's over this entry's hash.
    BadSignature { seq: u64 },
    /// The head file names an entry the log no longer has: entries were cut off the end.
    Truncated { head_seq: u64, last_seq: u64 },
    /// The head file's entry has another hash or signature in the log.
    HeadMismatch { seq: u64 },
    /// A row that cannot be read as an entry.
    Unreadable { seq: i64, reason: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Gap { expected, found } => write!(
                f,
                "entry {found} follows entry {}: an entry was removed or inserted",
                expected - 1
            ),
            Problem::BrokenLink { seq } => write!(
                f,
                "entry {seq} does not chain to the entry before it (removed, inserted or reordered)"
            ),
            Problem::HashMismatch { seq } => {
                write!(f, "entry {seq} does not match its hash: it was edited")
            }
            Problem::BadSignature { seq } => {
                write!(f, "entry {seq} is not signed by this node's key")
            }
            Problem::Truncated { head_seq, last_seq } => write!(
                f,
                "the head names entry {head_seq} but the log ends at {last_seq}: entries were removed from the end"
            ),
            Problem::HeadMismatch { seq } => {
                write!(f, "entry {seq} differs from the one the head file names")
            }
            Problem::Unreadable { seq, reason } => {
                write!(f, "entry {seq} cannot be read: {reason}")
            }
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
    pub signatures_checked: u64,
    pub head: Option<Head>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

fn signed_by(key: &VerifyingKey, e: &Entry) -> bool {
    key.verify_strict(&e.hash, &Signature::from_bytes(&e.signature))
        .is_ok()
}

/// Verifies the log in `dir` against the node's public key.
pub fn verify(
    dir: &Path,
    key: &VerifyingKey,
    signatures: Signatures,
) -> Result<VerifyReport, AuditError> {
    let path = dir.join(DB_FILE);
    let conn = open_db(dir)?;
    let e = db_err(&path);
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, action, actor, subject, purpose, recipient, detail, prev_hash, hash,
                    signature
             FROM entries ORDER BY seq",
        )
        .map_err(&e)?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for row in stmt.query_map([], row_parts).map_err(&e)? {
        let parts = row.map_err(&e)?;
        let seq = parts.0;
        match parse_row(parts, &path) {
            Ok(entry) => entries.push(entry),
            Err(AuditError::Corrupt { reason, .. }) => {
                problems.push(Problem::Unreadable { seq, reason })
            }
            Err(other) => return Err(other),
        }
    }

    // Numbering and links need the neighbour; the hashes each entry alone: all in parallel.
    let mut local: Vec<(usize, Problem)> = entries
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, en)| {
            let mut found = Vec::new();
            let (expected, prev) = match i {
                0 => (1, GENESIS),
                _ => (entries[i - 1].seq + 1, entries[i - 1].hash),
            };
            if en.seq != expected {
                found.push(Problem::Gap {
                    expected,
                    found: en.seq,
                });
            } else if en.prev_hash != prev {
                found.push(Problem::BrokenLink { seq: en.seq });
            }
            if entry_hash(&en.prev_hash, en.seq, &en.at, &en.body) != en.hash {
                found.push(Problem::HashMismatch { seq: en.seq });
            }
            let check_signature = signatures == Signatures::All || i + 1 == entries.len();
            if check_signature && !signed_by(key, en) {
                found.push(Problem::BadSignature { seq: en.seq });
            }
            found.into_iter().map(move |p| (i, p))
        })
        .collect();
    local.sort_by_key(|(i, _)| *i);
    problems.extend(local.into_iter().map(|(_, p)| p));

    let head = read_head(dir)?;
    let last_seq = entries.last().map_or(0, |e| e.seq);
    if let Some(h) = head {
        match entries.iter().find(|e| e.seq == h.seq) {
            None if h.seq > last_seq => problems.push(Problem::Truncated {
                head_seq: h.seq,
                last_seq,
            }),
            None => problems.push(Problem::HeadMismatch { seq: h.seq }),
            Some(e) if e.hash != h.hash || e.signature != h.signature => {
                problems.push(Problem::HeadMismatch { seq: h.seq })
            }
            Some(_) => {}
        }
    }
    let signatures_checked = match signatures {
        Signatures::All => entries.len() as u64,
        Signatures::Newest => u64::from(!entries.is_empty()),
    };
    Ok(VerifyReport {
        entries: entries.len() as u64,
        first_at: entries.first().map(|e| e.at),
        last_at: entries.last().map(|e| e.at),
        signatures_checked,
        head,
        problems,
    })
}
