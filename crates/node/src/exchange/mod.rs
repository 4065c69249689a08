//! Messages between nodes after a hit (the two-step exchange): signed envelopes that expire and
//! cannot be replayed, the follow-up request they carry, the owner's decision and the release
//! that answers it. The transport (mutual TLS between pinned nodes) says which node is on the
//! line; the envelope's signature makes each message stand on its own, so a release can be
//! shown to an auditor or a court long after the connection is gone.

pub mod envelope;
pub mod inbox;
pub mod ledger;
pub mod release;
pub mod request;

pub use envelope::{Envelope, EnvelopeError, MessageKind, ReplayGuard};
pub use inbox::{Inbox, InboxItem};
pub use ledger::{Ledger, LedgerError, ReleasedItem, ResolveReference};
pub use release::{Choice, Outcome, ReleaseBody};
pub use request::{FollowUpRequest, HandlingCode, HitRef, RequestError};

/// Opens the node's exchange file as every part of it does: write-ahead log, each commit synced
/// (`synchronous = FULL`: a request, a release or a review acknowledged survives a power cut),
/// and a wait of up to ten seconds for another connection's write.
pub fn connect(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// A stored message's row as the inbox and the outbox list them: id, the other node, when,
/// status, and the envelope's JSON.
pub(crate) type MessageRow = (String, String, i64, String, String);

/// Reads a [`MessageRow`] from a query selecting those five columns in that order.
pub(crate) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}
