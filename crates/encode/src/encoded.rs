//! An encoded record: everything about a record that leaves its holder.

use enlace_normalize::IdKind;
use subtle::ConstantTimeEq;

use crate::bloom::BitVector;

/// The first 8 bytes of a 32-byte hash as a little-endian number: how every 64-bit token and
/// reference is cut from its keyed hash.
pub(crate) fn leading_u64(hash: &[u8; 32]) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = *hash;
    u64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// Keyed hash of one valid identifier (BLAKE3 under the identifier kind's key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdHash {
    pub kind: IdKind,
    pub hash: [u8; 32],
}

impl IdHash {
    /// Constant-time equality, for uses where a match authenticates something.
    pub fn ct_eq(&self, other: &IdHash) -> bool {
        self.kind == other.kind && bool::from(self.hash.ct_eq(&other.hash))
    }

    /// The first 8 bytes as a number, for use as a blocking key.
    pub fn token(&self) -> u64 {
        leading_u64(&self.hash)
    }
}

impl std::fmt::Debug for IdHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IdHash({}, {})",
            self.kind.as_str(),
            hex::encode(&self.hash[..6])
        )
    }
}

/// A keyed blocking token: two records share it only if the underlying values agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockToken(pub u64);

/// One record as it leaves its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// Opaque reference that only the holder can map back to the record.
    pub reference: u64,
    /// The holder's own deduplication: records of one file with the same non-zero group are
    /// one person by the holder's plaintext deduplication; 0 when the holder did not group.
    pub group: u32,
    /// One filter per schema field, in schema order; all zero when the value is absent.
    pub fields: Vec<BitVector>,
    /// Bit i set: field i had a value.
    pub present: u32,
    /// The record-level CLK, when the schema has one.
    pub clk: Option<BitVector>,
    /// Keyed hashes of the valid identifiers, in record order, duplicates removed.
    pub id_hashes: Vec<IdHash>,
    /// One entry per schema blocking key, `None` where a part of its input was missing.
    pub block_tokens: Vec<Option<BlockToken>>,
    /// Keyed tokens of the record's events (kind and id), sorted, distinct and never 0, at
    /// most the schema's `event_slots`: records of one file sharing a token were met in one
    /// event (a family unit, one vehicle), which the linkage unit's companions' pass reads.
    pub event_tokens: Vec<u64>,
}

impl EncodedRecord {
    /// Whether field `i` had a value.
    pub fn has_field(&self, i: usize) -> bool {
        i < 32 && self.present >> i & 1 == 1
    }
}
