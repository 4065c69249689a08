//! The node's audit log: every query, upload, hit, request, decision, release, read of released
//! data and sign-in becomes an append-only entry, chained to the one before by SHA-256 and
//! signed by the node's Ed25519 key. This crate owns the entry format, the chain, the SQLite
//! file it lives in, the verification that finds an edited, removed, inserted or reordered
//! entry, and the disclosure accounting exported from it.
//!
//! Entries hold opaque references, node ids, purposes and codes — never a data subject's name,
//! birth date or number: the log is read by auditors who need not see the data itself.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod chain;
mod entry;
mod error;
mod export;
mod log;
mod verify;
mod writer;

pub use chain::{GENESIS, entry_hash};
pub use entry::{Action, Entry, NewEntry};
pub use error::AuditError;
pub use export::{DISCLOSURE_HEADER, write_disclosures};
pub use log::{AuditLog, Head, entries_in};
pub use verify::{Problem, Signatures, VerifyReport, verify};
pub use writer::AuditWriter;
