//! The rejects file: every row an import did not store, with its line, column and reason, and
//! the row as read. It is written from the store (where rejects commit with their batch), so it
//! is complete even for an import that was interrupted and resumed.

use std::io::Write;
use std::path::Path;

use enlace_store::{ImportId, Store};

use crate::ImportError;

pub fn write_rejects(store: &Store, import: ImportId, path: &Path) -> Result<(), ImportError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
    let tmp = path.with_extension("csv.partial");
    {
        let file = create_private(&tmp)?;
        let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
        out.write_record(["line", "column", "reason", "row"])
            .map_err(|e| ImportError::input(&tmp, e.to_string()))?;
        for reject in store.rejects(import)? {
            out.write_record([
                reject.line.to_string().as_str(),
                reject.column.as_deref().unwrap_or(""),
                &reject.reason,
                &reject.raw,
            ])
            .map_err(|e| ImportError::input(&tmp, e.to_string()))?;
        }
        let mut inner = out
            .into_inner()
            .map_err(|e| ImportError::input(&tmp, e.to_string()))?;
        inner.flush().map_err(|e| ImportError::io(&tmp, e))?;
        inner
            .get_ref()
            .sync_all()
            .map_err(|e| ImportError::io(&tmp, e))?;
    }
    // Renaming makes the file appear whole or not at all.
    std::fs::rename(&tmp, path).map_err(|e| ImportError::io(path, e))
}

/// Rejected rows hold personal data: the file is readable by its owner alone.
fn create_private(path: &Path) -> Result<std::fs::File, ImportError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| ImportError::io(path, e))
}
