//! The signed envelope: who sends what to whom, when it was issued and until when it holds, a
//! random id, the body, and the sender's Ed25519 signature over all of it.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest a message may be valid: a request waits for a person's decision, not for days.
pub const MAX_TTL_SECS: i64 = 24 * 3600;
/// Clock difference tolerated between nodes.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    FollowUpRequest,
    Decision,
    Release,
}

impl MessageKind {
    fn as_str(self) -> &'static str {
        match self {
            MessageKind::FollowUpRequest => "follow_up_request",
            MessageKind::Decision => "decision",
            MessageKind::Release => "release",
        }
    }
}

/// A message refused, and why. Never quotes the body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("message {id} is addressed to {to}, not to this node")]
    WrongRecipient { id: String, to: String },
    #[error("message {id} is not signed by {from}")]
    BadSignature { id: String, from: String },
    #[error("message {id} expired at {expires_at} (now {now})")]
    Expired {
        id: String,
        expires_at: i64,
        now: i64,
    },
    #[error("message {id} is issued in the future ({issued_at}, now {now})")]
    FromTheFuture {
        id: String,
        issued_at: i64,
        now: i64,
    },
    #[error("message {id} claims a validity of {secs} s; at most {MAX_TTL_SECS} s is accepted")]
    TooLong { id: String, secs: i64 },
    #[error("message {id} from {from} was already received: a replay")]
    Replayed { id: String, from: String },
    #[error("message: {0}")]
    Malformed(String),
    #[error("replay store: {0}")]
    Store(String),
}

/// A signed message between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub version: u32,
    pub kind: MessageKind,
    pub from: String,
    pub to: String,
    /// 32 hex digits, random.
    pub id: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    pub body: serde_json::Value,
    /// Ed25519 over [`Envelope::signed_bytes`], 128 hex digits.
    pub signature: String,
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

impl Envelope {
    /// Signs `body` from `from` to `to`, valid for `ttl_secs` from `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        kind: MessageKind,
        from: &str,
        to: &str,
        body: &impl Serialize,
        now: i64,
        ttl_secs: i64,
        key: &SigningKey,
        id: [u8; 16],
    ) -> Result<Envelope, EnvelopeError> {
        let body =
            serde_json::to_value(body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let mut e = Envelope {
            version: 1,
            kind,
            from: from.to_string(),
            to: to.to_string(),
            id: hex::encode(id),
            issued_at: now,
            expires_at: now + ttl_secs.clamp(1, MAX_TTL_SECS),
            body,
            signature: String::new(),
        };
        e.signature = hex::encode(key.sign(&e.signed_bytes()?).to_bytes());
        Ok(e)
    }

    /// What the signature covers: every field but the signature, length-prefixed, the body as
    /// canonical JSON (keys sorted), hashed with a domain tag.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        let body =
            serde_json::to_vec(&self.body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let mut h = Sha256::new();
        h.update(b"enlace node message v1\0");
        h.update(self.version.to_le_bytes());
        put(&mut h, self.kind.as_str().as_bytes());
        put(&mut h, self.from.as_bytes());
        put(&mut h, self.to.as_bytes());
        put(&mut h, self.id.as_bytes());
        h.update(self.issued_at.to_le_bytes());
        h.update(self.expires_at.to_le_bytes());
        put(&mut h, &body);
        Ok(h.finalize().to_vec())
    }

    /// Checks the message for node `me` at `now` against its sender's key, records its id so it
    /// cannot be played again, and returns the body. The order matters: a forged message is
    /// refused before it can fill the replay store.
    pub fn open(
        &self,
        me: &str,
        sender: &VerifyingKey,
        now: i64,
        replay: &mut ReplayGuard,
    ) -> Result<&serde_json::Value, EnvelopeError> {
        self.verify(me, sender, now)?;
        replay.record(&self.from, &self.id, self.expires_at + CLOCK_SKEW_SECS, now)?;
        Ok(&self.body)
    }

    /// Every check of [`Envelope::open`] but the replay store's: for a receiver that records
    /// the id in the same transaction as what it stores ([`record_seen`]).
    pub fn verify(
        &self,
        me: &str,
        sender: &VerifyingKey,
        now: i64,
    ) -> Result<&serde_json::Value, EnvelopeError> {
        let id = self.id.clone();
        if self.version != 1 || self.id.len() != 32 || hex::decode(&self.id).is_err() {
            return Err(EnvelopeError::Malformed(format!(
                "message {id}: unknown version or malformed id"
            )));
        }
        if self.to != me {
            return Err(EnvelopeError::WrongRecipient {
                id,
                to: self.to.clone(),
            });
        }
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| EnvelopeError::BadSignature {
                id: id.clone(),
                from: self.from.clone(),
            })?;
        sender
            .verify_strict(&self.signed_bytes()?, &Signature::from_bytes(&sig))
            .map_err(|_| EnvelopeError::BadSignature {
                id: id.clone(),
                from: self.from.clone(),
            })?;
        if self.issued_at > now + CLOCK_SKEW_SECS {
            return Err(EnvelopeError::FromTheFuture {
                id,
                issued_at: self.issued_at,
                now,
            });
        }
        if self.expires_at - self.issued_at > MAX_TTL_SECS {
            return Err(EnvelopeError::TooLong {
                id,
                secs: self.expires_at - self.issued_at,
            });
        }
        if now > self.expires_at + CLOCK_SKEW_SECS {
            return Err(EnvelopeError::Expired {
                id,
                expires_at: self.expires_at,
                now,
            });
        }
        Ok(&self.body)
    }
}

/// Records a verified message's id in the replay store through `conn` (inside the caller's
/// transaction), refusing one already seen.
pub fn record_seen(conn: &Connection, envelope: &Envelope, now: i64) -> Result<(), EnvelopeError> {
    remember(
        conn,
        &envelope.from,
        &envelope.id,
        envelope.expires_at + CLOCK_SKEW_SECS,
        now,
    )
}

fn remember(
    conn: &Connection,
    sender: &str,
    id: &str,
    forget_after: i64,
    now: i64,
) -> Result<(), EnvelopeError> {
    let err = |e: rusqlite::Error| EnvelopeError::Store(e.to_string());
    conn.execute(
        "DELETE FROM seen_messages WHERE forget_after < ?1",
        params![now],
    )
    .map_err(err)?;
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO seen_messages(sender, id, forget_after) VALUES (?1, ?2, ?3)",
            params![sender, id, forget_after],
        )
        .map_err(err)?;
    if inserted == 0 {
        return Err(EnvelopeError::Replayed {
            id: id.to_string(),
            from: sender.to_string(),
        });
    }
    Ok(())
}

/// The ids of messages received and not yet expired, by sender, kept in SQLite so a restart
/// does not reopen the door to replays. An id is forgotten once its message has expired: it
/// would be refused as expired anyway.
pub struct ReplayGuard {
    conn: Connection,
}

impl ReplayGuard {
    pub fn open(path: &Path) -> Result<ReplayGuard, EnvelopeError> {
        let err = |e: rusqlite::Error| EnvelopeError::Store(e.to_string());
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        // The ledger writes to the same file from its own connection.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS seen_messages (
                 sender TEXT NOT NULL, id TEXT NOT NULL, forget_after INTEGER NOT NULL,
                 PRIMARY KEY (sender, id)) WITHOUT ROWID",
        )
        .map_err(err)?;
        Ok(ReplayGuard { conn })
    }

    fn record(
        &mut self,
        sender: &str,
        id: &str,
        forget_after: i64,
        now: i64,
    ) -> Result<(), EnvelopeError> {
        remember(&self.conn, sender, id, forget_after, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    fn sealed(now: i64) -> Envelope {
        let body = serde_json::json!({"purpose": "x", "n": 1});
        Envelope::seal(
            MessageKind::FollowUpRequest,
            "mx-a",
            "gt-a",
            &body,
            now,
            600,
            &key(1),
            [9; 16],
        )
        .unwrap()
    }

    fn guard() -> (tempfile::TempDir, ReplayGuard) {
        let dir = tempfile::tempdir().unwrap();
        let g = ReplayGuard::open(&dir.path().join("seen.db")).unwrap();
        (dir, g)
    }

    #[test]
    fn a_sealed_message_opens_once_for_its_recipient() {
        let (_d, mut g) = guard();
        let e = sealed(1000);
        assert_eq!(
            e.open("gt-a", &key(1).verifying_key(), 1010, &mut g)
                .unwrap()["n"],
            1
        );
        assert!(matches!(
            e.open("gt-a", &key(1).verifying_key(), 1020, &mut g),
            Err(EnvelopeError::Replayed { .. })
        ));
    }

    #[test]
    fn replays_are_refused_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seen.db");
        let e = sealed(1000);
        e.open(
            "gt-a",
            &key(1).verifying_key(),
            1010,
            &mut ReplayGuard::open(&path).unwrap(),
        )
        .unwrap();
        let mut again = ReplayGuard::open(&path).unwrap();
        assert!(matches!(
            e.open("gt-a", &key(1).verifying_key(), 1020, &mut again),
            Err(EnvelopeError::Replayed { .. })
        ));
    }

    #[test]
    fn edits_wrong_keys_wrong_recipients_and_expiry_are_refused() {
        let (_d, mut g) = guard();
        let vk = key(1).verifying_key();
        let mut edited = sealed(1000);
        edited.body["purpose"] = "something else".into();
        assert!(matches!(
            edited.open("gt-a", &vk, 1010, &mut g),
            Err(EnvelopeError::BadSignature { .. })
        ));
        let mut moved = sealed(1000);
        moved.expires_at += 3600;
        assert!(matches!(
            moved.open("gt-a", &vk, 1010, &mut g),
            Err(EnvelopeError::BadSignature { .. })
        ));
        let e = sealed(1000);
        assert!(matches!(
            e.open("gt-a", &key(2).verifying_key(), 1010, &mut g),
            Err(EnvelopeError::BadSignature { .. })
        ));
        assert!(matches!(
            e.open("us-a", &vk, 1010, &mut g),
            Err(EnvelopeError::WrongRecipient { .. })
        ));
        assert!(matches!(
            e.open("gt-a", &vk, 1000 + 600 + CLOCK_SKEW_SECS + 1, &mut g),
            Err(EnvelopeError::Expired { .. })
        ));
        assert!(matches!(
            e.open("gt-a", &vk, 1000 - CLOCK_SKEW_SECS - 1, &mut g),
            Err(EnvelopeError::FromTheFuture { .. })
        ));
        // None of the refusals used up the id: the genuine message still opens once.
        assert!(e.open("gt-a", &vk, 1010, &mut g).is_ok());
    }

    #[test]
    fn the_validity_is_capped_when_sealing_and_checked_when_opening() {
        let body = serde_json::json!({});
        let e = Envelope::seal(
            MessageKind::Release,
            "a",
            "b",
            &body,
            0,
            10 * MAX_TTL_SECS,
            &key(1),
            [1; 16],
        )
        .unwrap();
        assert_eq!(e.expires_at, MAX_TTL_SECS);
        let (_d, mut g) = guard();
        let mut long = e.clone();
        long.expires_at = 2 * MAX_TTL_SECS;
        long.signature = hex::encode(key(1).sign(&long.signed_bytes().unwrap()).to_bytes());
        assert!(matches!(
            long.open("b", &key(1).verifying_key(), 10, &mut g),
            Err(EnvelopeError::TooLong { .. })
        ));
    }
}
