//! Messages between nodes after a hit (the two-step exchange): signed envelopes that expire and
//! cannot be replayed, and the follow-up request they carry. The transport (mutual TLS between
//! pinned nodes) says which node is on the line; the envelope's signature makes each message
//! stand on its own, so a release can be shown to an auditor or a court long after the
//! connection is gone.

pub mod envelope;
pub mod inbox;
pub mod request;

pub use envelope::{Envelope, EnvelopeError, MessageKind, ReplayGuard};
pub use inbox::{Inbox, InboxItem};
pub use request::{FollowUpRequest, HandlingCode, HitRef, RequestError};
