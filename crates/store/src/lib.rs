//! A node's store: one embedded SQLite database (WAL) per node holding its sources, import runs,
//! records (the raw row and its normalised form), identifiers, events and rejected rows.
//!
//! Every import batch is one transaction that also moves the import's checkpoint, so a process
//! killed at any moment leaves the store consistent and the import resumable from the last batch.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod migrations;
mod records;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

pub use records::{BatchCounts, RowOutcome, StoredRecord};

/// The database file's name inside a store directory.
pub const DB_FILE: &str = "enlace.db";

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("store directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store at {path} has schema version {found}, newer than this program's {supported}")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("no source named `{0}` in this store")]
    UnknownSource(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Identifies a source within a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SourceId(pub i64);

/// Identifies an import run within a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ImportId(pub i64);

/// An import run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    Running,
    Complete,
    Failed,
}

impl ImportStatus {
    fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Running => "running",
            ImportStatus::Complete => "complete",
            ImportStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(ImportStatus::Running),
            "complete" => Ok(ImportStatus::Complete),
            "failed" => Ok(ImportStatus::Failed),
            other => Err(StoreError::Corrupt(format!(
                "unknown import status `{other}`"
            ))),
        }
    }
}

/// One import run as stored.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRun {
    pub id: ImportId,
    pub source: String,
    pub file_name: String,
    pub file_sha256: String,
    pub file_size: i64,
    pub mapping_sha256: String,
    pub format: String,
    pub encoding: String,
    pub status: ImportStatus,
    pub counts: BatchCounts,
    /// Where to resume reading (format-specific, opaque to the store).
    pub checkpoint: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// What a new import run records about its input.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    pub source: SourceId,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub file_size: i64,
    pub mapping_sha256: &'a str,
    pub format: &'a str,
    pub encoding: &'a str,
    /// The file's header, stored once so each record's raw row can be kept as values alone.
    pub header: &'a [String],
}

/// A source with its record count.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub id: SourceId,
    pub name: String,
    pub agency: Option<String>,
    pub country: String,
    pub records: i64,
    pub imports: i64,
}

/// One rejected row.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    pub raw: String,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        restrict_permissions(dir, 0o700)?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode keeps the database consistent after a crash; a power loss may drop
        // the last transactions, which the import checkpoint then simply re-reads.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB of page cache (the default is 2 MiB): an import touches the records' key index
        // and three tables at once, and a small cache turns that into page-cache churn.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        migrations::apply(&conn, &path)?;
        restrict_permissions(&path, 0o600)?;
        Ok(Store { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Direct access for read-only queries by other crates of the node.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Finds or creates the source `name`, recording the mapping text it is imported with.
    pub fn ensure_source(
        &self,
        name: &str,
        agency: Option<&str>,
        country: &str,
        mapping: &str,
    ) -> Result<SourceId> {
        self.conn.execute(
            "INSERT INTO sources(name, agency, country, mapping, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET agency = excluded.agency, country = excluded.country,
                                             mapping = excluded.mapping",
            params![name, agency, country, mapping, now()],
        )?;
        let id = self
            .conn
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
                r.get(0)
            })?;
        Ok(SourceId(id))
    }

    /// The source called `name`.
    pub fn source_id(&self, name: &str) -> Result<SourceId> {
        self.conn
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .map(SourceId)
            .ok_or_else(|| StoreError::UnknownSource(name.to_string()))
    }

    /// The latest run importing this exact file with this exact mapping into `source`, if any.
    pub fn find_import(
        &self,
        source: SourceId,
        file_sha256: &str,
        mapping_sha256: &str,
    ) -> Result<Option<ImportRun>> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM imports WHERE source_id = ?1 AND file_sha256 = ?2 AND mapping_sha256 = ?3
                 ORDER BY id DESC LIMIT 1",
                params![source.0, file_sha256, mapping_sha256],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| self.import(ImportId(id))).transpose()
    }

    /// Starts a new import run.
    pub fn begin_import(&self, new: &NewImport<'_>) -> Result<ImportId> {
        let header =
            serde_json::to_string(new.header).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO imports(source_id, file_name, file_sha256, file_size, mapping_sha256, format, encoding,
                                 header, status, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9)",
            params![
                new.source.0,
                new.file_name,
                new.file_sha256,
                new.file_size,
                new.mapping_sha256,
                new.format,
                new.encoding,
                header,
                now()
            ],
        )?;
        Ok(ImportId(self.conn.last_insert_rowid()))
    }

    /// Marks a run as running again (after a crash or a failure) so it can be resumed.
    pub fn reopen_import(&self, id: ImportId) -> Result<()> {
        self.conn.execute(
            "UPDATE imports SET status = 'running', finished_at = NULL, error = NULL WHERE id = ?1",
            [id.0],
        )?;
        Ok(())
    }

    /// Ends a run.
    pub fn finish_import(
        &self,
        id: ImportId,
        status: ImportStatus,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE imports SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
            params![id.0, status.as_str(), now(), error],
        )?;
        Ok(())
    }

    /// One import run.
    pub fn import(&self, id: ImportId) -> Result<ImportRun> {
        self.conn
            .query_row(
                &format!("{IMPORT_COLUMNS} WHERE i.id = ?1"),
                [id.0],
                import_from_row,
            )?
            .map_err(StoreError::Corrupt)
    }

    /// Every import run, newest first.
    pub fn imports(&self) -> Result<Vec<ImportRun>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{IMPORT_COLUMNS} ORDER BY i.id DESC"))?;
        let rows = stmt.query_map([], import_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.map_err(StoreError::Corrupt)?);
        }
        Ok(out)
    }

    /// Every source with its record count.
    pub fn sources(&self) -> Result<Vec<SourceSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.name, s.agency, s.country,
                    (SELECT COUNT(*) FROM records r WHERE r.source_id = s.id),
                    (SELECT COUNT(*) FROM imports i WHERE i.source_id = s.id)
             FROM sources s ORDER BY s.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceSummary {
                id: SourceId(r.get(0)?),
                name: r.get(1)?,
                agency: r.get(2)?,
                country: r.get(3)?,
                records: r.get(4)?,
                imports: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The rows rejected by an import run, in line order.
    pub fn rejects(&self, id: ImportId) -> Result<Vec<Reject>> {
        let mut stmt = self.conn.prepare(
            "SELECT line, column_name, reason, raw FROM rejects WHERE import_id = ?1 ORDER BY line, id",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            Ok(Reject {
                line: r.get::<_, i64>(0)? as u64,
                column: r.get(1)?,
                reason: r.get(2)?,
                raw: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Up to `limit` warnings noted on records stored by an import run, as "COLUMN: reason".
    pub fn warnings(&self, id: ImportId, limit: usize) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT warnings FROM records WHERE import_id = ?1 AND warnings IS NOT NULL LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![id.0, limit as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for text in rows {
            let list: Vec<String> = serde_json::from_str(&text?)
                .map_err(|e| StoreError::Corrupt(format!("warnings: {e}")))?;
            out.extend(list);
        }
        Ok(out)
    }

    /// The header stored for an import run.
    pub fn import_header(&self, id: ImportId) -> Result<Vec<String>> {
        let text: String =
            self.conn
                .query_row("SELECT header FROM imports WHERE id = ?1", [id.0], |r| {
                    r.get(0)
                })?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("import header: {e}")))
    }
}

/// The columns `import_from_row` reads, in its order.
const IMPORT_COLUMNS: &str = "SELECT i.id, s.name, i.file_name, i.file_sha256, i.file_size, i.mapping_sha256,
        i.format, i.encoding, i.status, i.rows_read, i.rows_stored, i.rows_unchanged, i.rows_updated,
        i.rows_rejected, i.checkpoint, i.rows_warned, i.started_at, i.finished_at, i.error
    FROM imports i JOIN sources s ON s.id = i.source_id";

type ImportRowResult = std::result::Result<ImportRun, String>;

fn import_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRowResult> {
    let status: String = r.get(8)?;
    let status = match ImportStatus::parse(&status) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.to_string())),
    };
    Ok(Ok(ImportRun {
        id: ImportId(r.get(0)?),
        source: r.get(1)?,
        file_name: r.get(2)?,
        file_sha256: r.get(3)?,
        file_size: r.get(4)?,
        mapping_sha256: r.get(5)?,
        format: r.get(6)?,
        encoding: r.get(7)?,
        status,
        counts: BatchCounts {
            read: r.get(9)?,
            stored: r.get(10)?,
            unchanged: r.get(11)?,
            updated: r.get(12)?,
            rejected: r.get(13)?,
            warned: r.get(15)?,
        },
        checkpoint: r.get(14)?,
        started_at: r.get(16)?,
        finished_at: r.get(17)?,
        error: r.get(18)?,
    }))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}
