//! Import: reads an agency's file (CSV in UTF-8 or Windows-1252, JSONL, Parquet) through its
//! declared mapping, normalises every row and writes it to the node's store — or to the rejects,
//! with line, column and reason. Nothing is lost: rows read = stored + unchanged + updated +
//! rejected, and an import killed at any moment resumes from its last committed batch.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod pipeline;
pub mod read;
mod rejects;

pub use error::ImportError;
pub use pipeline::{
    DEFAULT_BATCH_ROWS, ImportOptions, ImportOutcome, ImportReport, Progress, import,
};
pub use read::RawRow;
