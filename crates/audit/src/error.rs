use std::path::PathBuf;

/// What can go wrong with an audit log. Messages name the file and the entry, never its content.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("audit log {path}: entry {seq} cannot be read: {reason}")]
    Corrupt {
        path: PathBuf,
        seq: i64,
        reason: String,
    },
    #[error("audit head {path}: {reason}")]
    BadHead { path: PathBuf, reason: String },
    #[error("audit entry: {0}")]
    Invalid(String),
    #[error("disclosure export: {0}")]
    Export(String),
}
