//! The owner's inbox of follow-up requests (`DIR/exchange.db`), where approvers find what
//! partners asked, and the replay store beside it.

use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::envelope::{Envelope, EnvelopeError};
use super::request::FollowUpRequest;

/// A request waiting in the inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    /// The message id.
    pub id: String,
    /// The requesting node.
    pub from: String,
    /// Unix seconds.
    pub received_at: i64,
    /// `pending`, `released` or `rejected`.
    pub status: String,
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

/// The inbox file.
pub struct Inbox {
    conn: Connection,
}

fn store_err(e: rusqlite::Error) -> EnvelopeError {
    EnvelopeError::Store(e.to_string())
}

impl Inbox {
    pub fn open(path: &Path) -> Result<Inbox, EnvelopeError> {
        let conn = super::connect(path).map_err(store_err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS requests (
                 id          TEXT PRIMARY KEY,
                 sender      TEXT NOT NULL,
                 received_at INTEGER NOT NULL,
                 status      TEXT NOT NULL CHECK (status IN ('pending', 'released', 'rejected')),
                 envelope    TEXT NOT NULL
             )",
        )
        .map_err(store_err)?;
        Ok(Inbox { conn })
    }

    /// Files an opened, validated request with the envelope it came in (kept whole: the
    /// signature is the proof of who asked what).
    pub fn file(&self, envelope: &Envelope, now: i64) -> Result<(), EnvelopeError> {
        let text =
            serde_json::to_string(envelope).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        self.conn
            .execute(
                "INSERT INTO requests(id, sender, received_at, status, envelope)
                 VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![envelope.id, envelope.from, now, text],
            )
            .map_err(store_err)?;
        Ok(())
    }

    /// Requests with `status` (all when `None`), oldest first.
    pub fn list(&self, status: Option<&str>) -> Result<Vec<InboxItem>, EnvelopeError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, sender, received_at, status, envelope FROM requests
                 WHERE ?1 IS NULL OR status = ?1 ORDER BY received_at, id",
            )
            .map_err(store_err)?;
        let rows = stmt
            .query_map(params![status], super::message_row)
            .map_err(store_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, from, received_at, status, envelope) = row.map_err(store_err)?;
            let env: Envelope = serde_json::from_str(&envelope)
                .map_err(|e| EnvelopeError::Store(format!("request {id}: {e}")))?;
            out.push(InboxItem {
                id,
                from,
                received_at,
                status,
                request: env.body,
            });
        }
        Ok(out)
    }
}

/// Parses and validates the body of an opened follow-up request.
pub fn request_of(body: &serde_json::Value) -> Result<FollowUpRequest, String> {
    let r: FollowUpRequest = serde_json::from_value(body.clone())
        .map_err(|e| format!("not a follow-up request: {e}"))?;
    r.validate().map_err(|e| e.to_string())?;
    Ok(r)
}
