//! Enlace's encoding layer: what a record becomes before it leaves an agency's node, and the
//! similarity kernel that compares the result.
//!
//! This crate owns
//! - the project secret and the keys derived from it ([`ProjectSecret`], [`KeyCheck`]);
//! - the encoding [`Schema`] and its fingerprint;
//! - the [`Encoder`]: field-level keyed Bloom filters, the record-level CLK, keyed hashes of
//!   valid identifiers and keyed blocking tokens, gathered in an [`EncodedRecord`];
//! - the encoding file format ([`EncodingFile`], specified byte by byte in docs/encoding.md), and
//!   [`write_encoding_file`], which streams records into it in bounded memory;
//! - the Dice similarity [`kernel`] with run-time CPU dispatch and threshold searches.
//!
//! The linkage unit that compares encodings never learns the secret; everything it receives is
//! in an [`EncodingFile`].
#![deny(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod bloom;
pub mod encoded;
pub mod encoder;
pub mod file;
mod fingerprints;
mod keys;
mod memo;
pub mod schema;
pub mod secret;
mod stream;
mod tokens;
mod values;

/// The similarity kernel. It is the one place in the project allowed `unsafe`: the SIMD paths
/// call `std::arch` intrinsics, which are `unsafe` because they require CPU features and read
/// through raw pointers. The invariants that make them sound are that a SIMD function is only
/// entered after run-time detection confirmed its features (`Path::is_supported`), and that
/// every pointer read stays inside a slice whose length was checked against the filter width
/// and block count beforehand (see `kernel/x86.rs`).
#[allow(unsafe_code)]
pub mod kernel;

pub use bloom::BitVector;
pub use encoded::{BlockToken, EncodedRecord, IdHash};
pub use encoder::{EncodeSession, Encoder};
pub use file::{EncodingFile, FileError, FileSummary, SplitFile};
pub use keys::KeyCheck;
pub use schema::{
    BlockingKey, ClkField, ClkSpec, Field, FieldSpec, Fingerprint, Hardening, SaltSource, Schema,
    SchemaError,
};
pub use secret::{ProjectSecret, SecretError};
pub use stream::{Written, write_encoding_file};
