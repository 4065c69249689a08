use std::path::PathBuf;

use enlace_model::MappingError;
use enlace_store::StoreError;

/// Why an import could not run. Row-level problems are not errors: they become rejects.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mapping {path}: {source}")]
    Mapping { path: PathBuf, source: MappingError },
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{path}: the file is empty (expected a header line)")]
    Empty { path: PathBuf },
    #[error("no source name: give --source or set source.name in the mapping")]
    NoSourceName,
    #[error("{path}: cannot tell the format from the extension; set source.format in the mapping")]
    UnknownFormat { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("import stopped: {0}")]
    Stopped(String),
}

impl ImportError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ImportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn input(path: &std::path::Path, message: impl Into<String>) -> Self {
        ImportError::Input {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
