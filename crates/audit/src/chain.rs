//! The hash chain. Each entry's hash covers the previous entry's hash and every field of the
//! entry in a length-prefixed encoding, so no field can be moved into another, and no entry
//! edited, removed, inserted or moved without changing every hash after it.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::entry::NewEntry;

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Separates this use of SHA-256 from any other.
const DOMAIN: &[u8] = b"enlace audit entry v1\0";

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn put_opt(h: &mut Sha256, v: &Option<String>) {
    match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            put(h, s.as_bytes());
        }
    }
}

/// The canonical timestamp text: what is stored and what is hashed.
pub(crate) fn time_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hash of entry `seq` with body `e`, written at `at`, after `prev`.
pub fn entry_hash(prev: &[u8; 32], seq: u64, at: &DateTime<Utc>, e: &NewEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(seq.to_le_bytes());
    put(&mut h, time_text(at).as_bytes());
    put(&mut h, e.action.as_str().as_bytes());
    put(&mut h, e.actor.as_bytes());
    put_opt(&mut h, &e.subject);
    put_opt(&mut h, &e.purpose);
    put_opt(&mut h, &e.recipient);
    h.update((e.detail.len() as u64).to_le_bytes());
    for (k, v) in &e.detail {
        put(&mut h, k.as_bytes());
        put(&mut h, v.as_bytes());
    }
    h.finalize().into()
}
