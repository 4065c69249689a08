//! What a node keeps of the exchange beyond its inbox, in the same file (`DIR/exchange.db`):
//!
//! * at the owner, the **outbox** of decisions and releases — each written in one transaction
//!   with the inbox item's new status before anything is sent, marked delivered after the
//!   requester's 2xx, and sent again at start-up until then;
//! * at the requester, the **follow-up requests it sent** and the **releases it received**,
//!   each stored in one transaction with its id in the replay store, and deleted when its
//!   retention period ends;
//! * the **hit references** that lead from a linkage project's opaque reference to one of this
//!   node's records ([`ResolveReference`]), filled today from an encoding's references file and
//!   later by the linkage-project protocol.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::envelope::{Envelope, EnvelopeError, ReplayGuard, record_seen};
use super::inbox::Inbox;
use super::release::{Outcome, ReleaseBody};
use super::request::FollowUpRequest;

/// Errors of the ledger. Never quote released values.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("no follow-up request {0} in the inbox")]
    UnknownRequest(String),
    #[error("follow-up request {0} was already decided")]
    AlreadyDecided(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("this node already holds an answer from {from} to request {request}")]
    DuplicateRelease { from: String, request: String },
    #[error("refused before commit: {0}")]
    Aborted(String),
    #[error("exchange store: {0}")]
    Store(String),
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        LedgerError::Store(e.to_string())
    }
}

fn text_of(envelope: &Envelope) -> Result<String, LedgerError> {
    serde_json::to_string(envelope).map_err(|e| LedgerError::Store(e.to_string()))
}

fn envelope_of(text: &str) -> Result<Envelope, LedgerError> {
    serde_json::from_str(text).map_err(|e| LedgerError::Store(format!("stored envelope: {e}")))
}

/// A follow-up request in the inbox, as the decision needs it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub from: String,
    pub status: String,
    pub envelope: Envelope,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub peer: String,
    pub request_id: String,
    pub envelope: Envelope,
}

/// A follow-up request this node sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub peer: String,
    pub status: String,
    pub request: FollowUpRequest,
}

/// A request this node sent, as its outbox lists it.
#[derive(Debug, Clone)]
pub struct SentRow {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub sent_at: i64,
    pub sent: Sent,
}

/// A release (or rejection) held at the requester.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReleasedItem {
    /// The release message's id.
    pub id: String,
    /// The owning node that sent it.
    pub from: String,
    /// The follow-up request it answers.
    pub request_id: String,
    /// Unix seconds.
    pub received_at: i64,
    /// Unix seconds; the release is deleted then.
    pub retain_until: i64,
    pub outcome: Outcome,
    /// `H0`…`H3`; `H2` blocks any export.
    pub handling: String,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// Where a hit's reference leads among this node's records: the seam between the exchange and
/// the linkage projects. The project protocol fills the table as its references are made
/// (`Ledger::add_reference`); until then an encoding's `.refs.csv` fills it
/// (`enlace references add`).
pub trait ResolveReference {
    /// The (source, record id) that `reference` in `project` stands for, if this node made it.
    fn resolve_reference(
        &self,
        project: &str,
        reference: &str,
    ) -> Result<Option<(String, String)>, LedgerError>;
}

/// The exchange file's tables beyond the inbox.
pub struct Ledger {
    conn: Connection,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        // The inbox's and the replay store's tables, which transactions here touch too.
        drop(Inbox::open(path)?);
        drop(ReplayGuard::open(path)?);
        let conn = super::connect(path)?;
        // Deleted releases are overwritten in the file, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS outbox (
                 id           TEXT PRIMARY KEY,
                 request_id   TEXT NOT NULL UNIQUE,
                 peer         TEXT NOT NULL,
                 envelope     TEXT NOT NULL,
                 created_at   INTEGER NOT NULL,
                 delivered_at INTEGER,
                 attempts     INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS sent_requests (
                 id       TEXT PRIMARY KEY,
                 peer     TEXT NOT NULL,
                 officer  TEXT NOT NULL,
                 sent_at  INTEGER NOT NULL,
                 status   TEXT NOT NULL
                          CHECK (status IN ('sending', 'filed', 'refused', 'undelivered', 'answered')),
                 envelope TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS released (
                 id           TEXT PRIMARY KEY,
                 sender       TEXT NOT NULL,
                 request_id   TEXT NOT NULL,
                 outcome      TEXT NOT NULL,
                 handling     TEXT NOT NULL,
                 received_at  INTEGER NOT NULL,
                 retain_until INTEGER NOT NULL,
                 envelope     TEXT NOT NULL,
                 UNIQUE (sender, request_id)
             );
             CREATE INDEX IF NOT EXISTS released_by_retention ON released(retain_until);
             CREATE TABLE IF NOT EXISTS hit_references (
                 project    TEXT NOT NULL,
                 reference  TEXT NOT NULL,
                 source     TEXT NOT NULL,
                 record_key TEXT NOT NULL,
                 PRIMARY KEY (project, reference)
             ) WITHOUT ROWID;",
        )?;
        Ok(Ledger { conn })
    }

    // ----- the owner -----

    /// A request in the inbox, whatever its status.
    pub fn pending(&self, id: &str) -> Result<Option<Pending>, LedgerError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT sender, status, envelope FROM requests WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(from, status, text)| {
            Ok(Pending {
                from,
                status,
                envelope: envelope_of(&text)?,
            })
        })
        .transpose()
    }

    /// Records a decision: the inbox item's new status and the message that carries it to the
    /// requester, in one transaction. `before_commit` runs inside it (the audit entry): if it
    /// fails, nothing is recorded.
    pub fn commit_decision(
        &mut self,
        request_id: &str,
        outcome: Outcome,
        message: &Envelope,
        now: i64,
        before_commit: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), LedgerError> {
        let status = match outcome {
            Outcome::Confirmed => "released",
            Outcome::Rejected => "rejected",
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let known: Option<String> = tx
            .query_row(
                "SELECT status FROM requests WHERE id = ?1",
                [request_id],
                |r| r.get(0),
            )
            .optional()?;
        match known.as_deref() {
            None => return Err(LedgerError::UnknownRequest(request_id.into())),
            Some("pending") => {}
            Some(_) => return Err(LedgerError::AlreadyDecided(request_id.into())),
        }
        tx.execute(
            "UPDATE requests SET status = ?2 WHERE id = ?1",
            params![request_id, status],
        )?;
        tx.execute(
            "INSERT INTO outbox(id, request_id, peer, envelope, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![message.id, request_id, message.to, text_of(message)?, now],
        )?;
        before_commit().map_err(LedgerError::Aborted)?;
        tx.commit()?;
        Ok(())
    }

    /// Messages not yet delivered, oldest first.
    pub fn undelivered(&self) -> Result<Vec<Outgoing>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT peer, request_id, envelope FROM outbox WHERE delivered_at IS NULL
             ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (peer, request_id, text) = row?;
            out.push(Outgoing {
                peer,
                request_id,
                envelope: envelope_of(&text)?,
            });
        }
        Ok(out)
    }

    /// Counts an attempt to deliver `id`; with `delivered`, marks it delivered.
    pub fn note_attempt(&self, id: &str, delivered: bool, now: i64) -> Result<(), LedgerError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1,
                    delivered_at = CASE WHEN ?2 THEN ?3 ELSE delivered_at END
             WHERE id = ?1",
            params![id, delivered, now],
        )?;
        Ok(())
    }

    /// Replaces an undelivered message that has expired by a fresh one (same body, new id).
    pub fn renew(&self, old_id: &str, fresh: &Envelope) -> Result<(), LedgerError> {
        self.conn.execute(
            "UPDATE outbox SET id = ?2, envelope = ?3 WHERE id = ?1 AND delivered_at IS NULL",
            params![old_id, fresh.id, text_of(fresh)?],
        )?;
        Ok(())
    }

    /// Whether `id` has been delivered (tests and the CLI).
    pub fn delivered(&self, request_id: &str) -> Result<Option<bool>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT delivered_at IS NOT NULL FROM outbox WHERE request_id = ?1",
                [request_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    // ----- the requester -----

    /// Records a follow-up request about to be sent.
    pub fn record_sent(
        &self,
        envelope: &Envelope,
        officer: &str,
        now: i64,
    ) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO sent_requests(id, peer, officer, sent_at, status, envelope)
             VALUES (?1, ?2, ?3, ?4, 'sending', ?5)",
            params![envelope.id, envelope.to, officer, now, text_of(envelope)?],
        )?;
        Ok(())
    }

    /// Sets a sent request's status: `filed`, `refused` or `undelivered`.
    pub fn set_sent_status(&self, id: &str, status: &str) -> Result<(), LedgerError> {
        self.conn.execute(
            "UPDATE sent_requests SET status = ?2 WHERE id = ?1 AND status <> 'answered'",
            params![id, status],
        )?;
        Ok(())
    }

    /// The requests this node sent, newest first: (id, sent at, the request and its status).
    pub fn sent_list(&self, limit: usize) -> Result<Vec<SentRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, peer, sent_at, status, envelope FROM sent_requests
             ORDER BY sent_at DESC, id LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], super::message_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, peer, sent_at, status, text)| {
                let env = envelope_of(&text)?;
                let request = serde_json::from_value(env.body)
                    .map_err(|e| LedgerError::Store(format!("sent request {id}: {e}")))?;
                Ok(SentRow {
                    id,
                    sent_at,
                    sent: Sent {
                        peer,
                        status,
                        request,
                    },
                })
            })
            .collect()
    }

    /// A request this node sent.
    pub fn sent(&self, id: &str) -> Result<Option<Sent>, LedgerError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT peer, status, envelope FROM sent_requests WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(peer, status, text)| {
            let env = envelope_of(&text)?;
            let request = serde_json::from_value(env.body)
                .map_err(|e| LedgerError::Store(format!("sent request {id}: {e}")))?;
            Ok(Sent {
                peer,
                status,
                request,
            })
        })
        .transpose()
    }

    /// Stores a verified release in one transaction with its id in the replay store (a replay
    /// is refused, and a second answer to the same request too). `before_commit` runs inside
    /// it (the audit entry): if it fails, nothing is stored.
    pub fn store_release(
        &mut self,
        envelope: &Envelope,
        body: &ReleaseBody,
        retain_until: i64,
        now: i64,
        before_commit: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        record_seen(&tx, envelope, now)?;
        let outcome = match body.outcome {
            Outcome::Confirmed => "confirmed",
            Outcome::Rejected => "rejected",
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO released(id, sender, request_id, outcome, handling, received_at,
                                            retain_until, envelope)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                envelope.id,
                envelope.from,
                body.request_id,
                outcome,
                format!("{:?}", body.handling),
                now,
                retain_until,
                text_of(envelope)?
            ],
        )?;
        if inserted == 0 {
            return Err(LedgerError::DuplicateRelease {
                from: envelope.from.clone(),
                request: body.request_id.clone(),
            });
        }
        tx.execute(
            "UPDATE sent_requests SET status = 'answered' WHERE id = ?1",
            [&body.request_id],
        )?;
        before_commit().map_err(LedgerError::Aborted)?;
        tx.commit()?;
        Ok(())
    }

    /// Releases still within their retention at `now`, newest first.
    pub fn released(&self, now: i64) -> Result<Vec<ReleasedItem>, LedgerError> {
        self.released_where("retain_until > ?1", params![now])
    }

    /// One release still within its retention.
    pub fn release(&self, id: &str, now: i64) -> Result<Option<ReleasedItem>, LedgerError> {
        Ok(self
            .released_where("retain_until > ?1 AND id = ?2", params![now, id])?
            .pop())
    }

    fn released_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ReleasedItem>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, sender, request_id, received_at, retain_until, outcome, handling, envelope
             FROM released WHERE {filter} ORDER BY received_at DESC, id"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, from, request_id, received_at, retain_until, outcome, handling, text) = row?;
            let outcome = if outcome == "rejected" {
                Outcome::Rejected
            } else {
                Outcome::Confirmed
            };
            out.push(ReleasedItem {
                id,
                from,
                request_id,
                received_at,
                retain_until,
                outcome,
                handling,
                body: envelope_of(&text)?.body,
            });
        }
        Ok(out)
    }

    /// The signed message a release came in, for an export.
    pub fn release_envelope(&self, id: &str, now: i64) -> Result<Option<Envelope>, LedgerError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT envelope FROM released WHERE id = ?1 AND retain_until > ?2",
                params![id, now],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| envelope_of(&t)).transpose()
    }

    /// Deletes the releases whose retention has ended by `now`; `before_delete` is told each
    /// (id, sender, request id) inside the transaction (the audit entries): if it fails,
    /// nothing is deleted this time. Returns how many were deleted.
    pub fn purge_expired(
        &mut self,
        now: i64,
        mut before_delete: impl FnMut(&str, &str, &str) -> Result<(), String>,
    ) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let due: Vec<(String, String, String)> = {
            let mut stmt =
                tx.prepare("SELECT id, sender, request_id FROM released WHERE retain_until <= ?1")?;
            stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        if due.is_empty() {
            return Ok(0);
        }
        for (id, sender, request) in &due {
            before_delete(id, sender, request).map_err(LedgerError::Aborted)?;
        }
        tx.execute("DELETE FROM released WHERE retain_until <= ?1", [now])?;
        tx.commit()?;
        // The values are gone from the table; make sure they leave the file's free pages too.
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        Ok(due.len())
    }

    // ----- hit references -----

    /// Records that `reference` in `project` stands for this node's record `key` of `source`.
    pub fn add_reference(
        &self,
        project: &str,
        reference: &str,
        source: &str,
        key: &str,
    ) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO hit_references(project, reference, source, record_key) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(project, reference) DO UPDATE SET source = excluded.source,
                                                           record_key = excluded.record_key",
            params![project, reference, source, key],
        )?;
        Ok(())
    }

    /// Adds many references in one transaction; returns how many.
    pub fn add_references(
        &mut self,
        project: &str,
        rows: &[(String, String, String)],
    ) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO hit_references(project, reference, source, record_key) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(project, reference) DO UPDATE SET source = excluded.source,
                                                               record_key = excluded.record_key",
            )?;
            for (source, reference, key) in rows {
                stmt.execute(params![project, reference, source, key])?;
            }
        }
        tx.commit()?;
        Ok(rows.len())
    }
}

impl ResolveReference for Ledger {
    fn resolve_reference(
        &self,
        project: &str,
        reference: &str,
    ) -> Result<Option<(String, String)>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT source, record_key FROM hit_references WHERE project = ?1 AND reference = ?2",
                [project, reference],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::release::ReleaseBody;
    use crate::exchange::{HandlingCode, HitRef, MessageKind};
    use ed25519_dalek::SigningKey;

    fn release(now: i64, id: u8) -> (Envelope, ReleaseBody) {
        answer(now, id, &"ab".repeat(16))
    }

    fn answer(now: i64, id: u8, request: &str) -> (Envelope, ReleaseBody) {
        let body = ReleaseBody {
            request_id: request.to_string(),
            hit: HitRef {
                project: "p".into(),
                partner_reference: "r".into(),
            },
            outcome: Outcome::Confirmed,
            reason: None,
            released: Default::default(),
            withheld: Default::default(),
            handling: HandlingCode::H2,
            retention_days: 1,
            retain_until: now + 10,
            approver: "rosa".into(),
        };
        let env = Envelope::seal(
            MessageKind::Release,
            "gt-a",
            "mx-a",
            &body,
            now,
            600,
            &SigningKey::from_bytes(&[7; 32]),
            [id; 16],
        )
        .unwrap();
        (env, body)
    }

    #[test]
    fn a_release_is_stored_once_and_deleted_when_its_retention_ends() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("exchange.db")).unwrap();
        let (env, body) = release(1000, 1);
        l.store_release(&env, &body, 1010, 1000, || Ok(())).unwrap();
        // The same message again: a replay; another message answering the same request: a
        // duplicate; an audit failure: nothing stored.
        assert!(matches!(
            l.store_release(&env, &body, 1010, 1001, || Ok(())),
            Err(LedgerError::Envelope(EnvelopeError::Replayed { .. }))
        ));
        let (other, body2) = release(1000, 2);
        assert!(matches!(
            l.store_release(&other, &body2, 1010, 1001, || Ok(())),
            Err(LedgerError::DuplicateRelease { .. })
        ));
        // Another request's answer, whose audit entry cannot be written: nothing stored.
        let (third, body3) = answer(1000, 3, &"cd".repeat(16));
        assert!(matches!(
            l.store_release(&third, &body3, 1010, 1001, || Err("audit down".into())),
            Err(LedgerError::Aborted(_))
        ));
        assert_eq!(l.released(1005).unwrap().len(), 1);
        assert!(l.release(&env.id, 1005).unwrap().is_some());
        assert!(l.release(&third.id, 1005).unwrap().is_none());
        // Past its retention it is neither shown nor kept.
        assert!(l.released(1010).unwrap().is_empty());
        let mut seen = Vec::new();
        let n = l
            .purge_expired(1010, |id, _, _| {
                seen.push(id.to_string());
                Ok(())
            })
            .unwrap();
        assert_eq!((n, seen), (1, vec![env.id.clone()]));
        let left: i64 = l
            .conn
            .query_row("SELECT count(*) FROM released", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_decision_and_its_message_commit_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exchange.db");
        let inbox = Inbox::open(&path).unwrap();
        let (request, _) = release(1000, 9);
        inbox.file(&request, 1000).unwrap();
        let mut l = Ledger::open(&path).unwrap();
        let (msg, _) = release(1001, 4);
        let err = l
            .commit_decision(&request.id, Outcome::Confirmed, &msg, 1001, || {
                Err("audit down".into())
            })
            .unwrap_err();
        assert!(matches!(err, LedgerError::Aborted(_)), "{err}");
        assert_eq!(l.pending(&request.id).unwrap().unwrap().status, "pending");
        assert!(l.undelivered().unwrap().is_empty());
        l.commit_decision(&request.id, Outcome::Confirmed, &msg, 1001, || Ok(()))
            .unwrap();
        assert_eq!(l.pending(&request.id).unwrap().unwrap().status, "released");
        assert_eq!(l.undelivered().unwrap().len(), 1);
        assert!(matches!(
            l.commit_decision(&request.id, Outcome::Rejected, &msg, 1002, || Ok(())),
            Err(LedgerError::AlreadyDecided(_))
        ));
        l.note_attempt(&msg.id, true, 1003).unwrap();
        assert!(l.undelivered().unwrap().is_empty());
        assert_eq!(l.delivered(&request.id).unwrap(), Some(true));
    }

    #[test]
    fn references_resolve_to_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("exchange.db")).unwrap();
        l.add_references("p-1", &[("gt-reg".into(), "00ff".into(), "GT-1".into())])
            .unwrap();
        assert_eq!(
            l.resolve_reference("p-1", "00ff").unwrap(),
            Some(("gt-reg".into(), "GT-1".into()))
        );
        assert_eq!(l.resolve_reference("p-2", "00ff").unwrap(), None);
    }
}
