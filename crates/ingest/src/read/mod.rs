//! Streaming readers, one per input format. Each yields rows as strings in header order, with the
//! line they start on, and can report a checkpoint from which a new reader resumes exactly after
//! the last row it returned.

mod csv_file;
mod jsonl;
mod parquet_file;
pub mod text;

use std::path::Path;

use enlace_model::Mapping;
use enlace_model::mapping::FileFormat;
use serde::{Deserialize, Serialize};

use crate::ImportError;
pub use text::Decoder;

/// Rows longer than this are rejected rather than stored: no agency field is that long, and one
/// unbalanced quote can otherwise swallow the rest of a file into a single record.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// One row as read.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// The line (CSV, JSONL) or row number (Parquet) the row starts on, counting the header.
    pub line: u64,
    /// The row's values in header order, or why they could not be read.
    pub values: Result<Vec<String>, RowProblem>,
    /// For rows that could not be read: the row's text as read, kept for the rejects file.
    pub text: Option<String>,
}

/// A row that could not be read into values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub column: Option<String>,
    pub reason: String,
}

/// Where a reader stands, stored with each committed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Byte offset of the next row (CSV, JSONL) or index of the next row (Parquet).
    pub offset: u64,
    /// Line number of the next row.
    pub line: u64,
    /// Rows returned before this point, not counting the header.
    pub rows: u64,
}

/// A streaming reader of one input file.
pub trait RowReader: Send {
    /// Column names, in file order.
    fn header(&self) -> &[String];
    /// The next row, `None` at the end, or an error that stops the import.
    fn next_row(&mut self) -> Option<Result<RawRow, ImportError>>;
    /// The position just after the last row returned.
    fn checkpoint(&self) -> Checkpoint;
    /// The text encoding in use, for the import record.
    fn encoding(&self) -> &'static str;
}

/// The format a file will be read as.
pub fn format_of(path: &Path, mapping: &Mapping) -> Result<FileFormat, ImportError> {
    if let Some(f) = mapping.source.format {
        return Ok(f);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv" | "txt" | "tsv") => Ok(FileFormat::Csv),
        Some("jsonl" | "ndjson") => Ok(FileFormat::Jsonl),
        Some("parquet" | "pq") => Ok(FileFormat::Parquet),
        _ => Err(ImportError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// Opens `path` for reading from `from` (the start when `None`).
pub fn open(
    path: &Path,
    format: FileFormat,
    mapping: &Mapping,
    from: Option<Checkpoint>,
) -> Result<Box<dyn RowReader>, ImportError> {
    Ok(match format {
        FileFormat::Csv => Box::new(csv_file::CsvRows::open(path, mapping, from)?),
        FileFormat::Jsonl => Box::new(jsonl::JsonlRows::open(path, mapping, from)?),
        FileFormat::Parquet => Box::new(parquet_file::ParquetRows::open(path, from)?),
    })
}
