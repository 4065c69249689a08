//! The linkage unit's project store (`DIR/projects.db`, with chunk bodies under `DIR/chunks/`):
//! projects and the sealed secrets it relays, uploads in checksummed chunks, runs, and each
//! run's results per holder.
//!
//! Every change is one SQLite transaction, so a kill at any moment leaves either the old state
//! or the new one: a chunk's body is written to its own file, synced and renamed into place
//! before the row that records it is committed (a body without a row is simply written again),
//! an upload becomes a holder's current one only when all its chunks are in, and a run's results
//! appear together with its `done` state. A run found `running` at start-up was interrupted and
//! is run again from its recorded inputs. Bodies are files, not rows, because SQLite would write
//! each megabyte twice (log, then database) and uploads are bound by the disk.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::SealedSecret;
use super::spec::ProjectSpec;

/// Errors of the project store. Never carry encodings or record values.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("project store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("project store: stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "project store {path} has format {found}; this build reads formats 1 to {FORMAT} (a newer build wrote it)"
    )]
    Format { path: String, found: i64 },
    #[error("project store: {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What [`UnitStore::create`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    New,
    /// The same project was created before (a retried call): nothing changed.
    Again,
    /// A different project already has this id.
    Conflict,
}

/// What [`UnitStore::put_chunk`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkStored {
    New,
    /// This chunk, with this checksum, was already stored (a resent chunk).
    Again,
    /// The upload already has a different chunk at this position.
    Conflict,
    /// The upload is complete; it takes no more chunks.
    Closed,
}

/// What [`UnitStore::complete_upload`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Completed {
    Done,
    /// Already complete with the same totals.
    Again,
    /// Chunks not received yet, by position.
    Missing(Vec<u32>),
    /// The totals do not match the chunks received.
    Mismatch(String),
}

/// One upload as the store knows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UploadState {
    pub upload: String,
    /// Positions of the chunks received, ascending.
    pub received: Vec<u32>,
    /// Records in the chunks received.
    pub records: u64,
    /// Unix seconds; absent while incomplete.
    pub completed_at: Option<i64>,
}

/// A holder's current (latest complete) upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HolderUpload {
    pub holder: String,
    pub upload: String,
    pub records: u64,
    pub completed_at: i64,
}

/// A run's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RunState {
    pub run: u32,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Counts only (records, pairs compared, hits per pair of holders); see
    /// [`super::run::RunSummary`].
    #[schema(value_type = Object)]
    pub summary: Option<serde_json::Value>,
    /// Why a failed run failed.
    pub error: Option<String>,
}

/// One row of a holder's results: one of its records, one partner record of the same person.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ResultRow {
    /// The holder's own reference of its record (16 hex digits), as it uploaded it.
    pub reference: String,
    /// How partners know this record: quote it in a follow-up request about it.
    pub opaque: String,
    /// The partner node holding the other record.
    pub partner: String,
    /// The partner's record, opaque: stable across runs, meaningless without the partner.
    pub partner_ref: String,
    /// The person across all holders, opaque and stable while the cluster's first member is.
    pub cluster: String,
    /// `certain`, `probable` or `possible`.
    pub band: String,
    /// The two records' comparison levels, one digit per field ("1.1.2.1.0.1.0.0"), which
    /// with the results' weight table draw the hit's waterfall. Absent on runs before format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<String>,
    /// The pair's match weight (bits): prior, fields and the surname frequency adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// What the two records' companions (people met in one event with them, by the holders'
    /// event tokens) added to the pair's weight in the run's second pass (docs/linkage.md,
    /// "Companions"); the band was read from the pair's weight and this together. Absent when
    /// no record had companions, and on runs before format 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companions: Option<f64>,
    /// A holder's clerical review of this pair that the run applied: `accept` (reported as
    /// certain), `unsure` (kept in its band); rejected pairs are not reported at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
}

/// A clerical decision on one pair of records, as a holder sends it to the unit: the pair by
/// its two opaque references, never the reviewer's reason (that stays at the agency).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairReview {
    /// The holder's own record, as the results name it (`opaque`).
    pub opaque: String,
    /// The partner's record (`partner_ref`).
    pub partner_ref: String,
    /// `accept`, `reject` or `unsure`.
    pub decision: String,
}

/// The decisions a review may carry.
pub const DECISIONS: [&str; 3] = ["accept", "reject", "unsure"];

/// The unordered pair of two opaque references, as reviews are keyed.
pub fn pair_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// A holder and the bodies of its upload's chunks, in chunk order.
pub type HolderChunks = (String, Vec<Vec<u8>>);

/// The project store.
pub struct UnitStore {
    conn: Connection,
    chunks: PathBuf,
}

/// The store's format, in SQLite's `user_version`: a store of another format is refused rather
/// than misread.
/// Format 2 added each result's evidence (levels and weight) and the holders' reviews, format
/// 3 what companions added to it; older stores are migrated in place when opened.
const FORMAT: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projects (
    id          TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    ref_key     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sealed (
    project     TEXT NOT NULL REFERENCES projects(id),
    holder      TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    PRIMARY KEY (project, holder)
);
CREATE TABLE IF NOT EXISTS uploads (
    project      TEXT NOT NULL REFERENCES projects(id),
    holder       TEXT NOT NULL,
    upload       TEXT NOT NULL,
    chunks       INTEGER,
    records      INTEGER,
    completed_at INTEGER,
    PRIMARY KEY (project, holder, upload)
);
CREATE TABLE IF NOT EXISTS chunks (
    project     TEXT NOT NULL,
    holder      TEXT NOT NULL,
    upload      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    checksum    TEXT NOT NULL,
    records     INTEGER NOT NULL,
    PRIMARY KEY (project, holder, upload, seq)
);
CREATE TABLE IF NOT EXISTS current (
    project     TEXT NOT NULL,
    holder      TEXT NOT NULL,
    upload      TEXT NOT NULL,
    PRIMARY KEY (project, holder)
);
CREATE TABLE IF NOT EXISTS runs (
    project     TEXT NOT NULL,
    run         INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    inputs      TEXT NOT NULL,
    summary     TEXT,
    error       TEXT,
    model       TEXT,
    PRIMARY KEY (project, run)
);
CREATE TABLE IF NOT EXISTS results (
    project     TEXT NOT NULL,
    run         INTEGER NOT NULL,
    holder      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    opaque      TEXT NOT NULL,
    partner     TEXT NOT NULL,
    partner_ref TEXT NOT NULL,
    cluster     TEXT NOT NULL,
    band        TEXT NOT NULL,
    levels      TEXT,
    weight      REAL,
    review      TEXT,
    companions  REAL
);
CREATE INDEX IF NOT EXISTS results_by_holder ON results (project, run, holder);
CREATE TABLE IF NOT EXISTS reviews (
    project     TEXT NOT NULL,
    low         TEXT NOT NULL,
    high        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'unsure')),
    holder      TEXT NOT NULL,
    decided_at  INTEGER NOT NULL,
    PRIMARY KEY (project, low, high)
) WITHOUT ROWID;
";

/// From format 1: results gain their evidence and review columns (old rows have none); the
/// reviews table is made by [`SCHEMA`].
const MIGRATE_1_TO_2: &str = "
ALTER TABLE results ADD COLUMN levels TEXT;
ALTER TABLE results ADD COLUMN weight REAL;
ALTER TABLE results ADD COLUMN review TEXT;
";

/// From format 2: results gain what companions added to their weight (old rows have none).
const MIGRATE_2_TO_3: &str = "ALTER TABLE results ADD COLUMN companions REAL;";

impl UnitStore {
    /// Opens (creating) the store at `path`, with chunk bodies under `chunks`.
    pub fn open(path: &Path, chunks: &Path) -> Result<UnitStore, UnitError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a chunk acknowledged to a holder survives a power cut, not only a kill.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let fresh: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if fresh > 0 && !(1..=FORMAT).contains(&version) {
            return Err(UnitError::Format {
                path: path.display().to_string(),
                found: version,
            });
        }
        let tx = conn.unchecked_transaction()?;
        if fresh > 0 && version == 1 {
            tx.execute_batch(MIGRATE_1_TO_2)?;
        }
        if fresh > 0 && (1..=2).contains(&version) {
            tx.execute_batch(MIGRATE_2_TO_3)?;
        }
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", FORMAT)?;
        tx.commit()?;
        Ok(UnitStore {
            conn,
            chunks: chunks.to_path_buf(),
        })
    }

    /// Where a chunk's body lives. Every part was validated before (project and node ids,
    /// 64-hex upload id and checksum), so the path stays under the chunk folder; the checksum in
    /// the name keeps a conflicting body from ever replacing the stored one.
    pub fn chunk_path(
        &self,
        project: &str,
        holder: &str,
        upload: &str,
        seq: u32,
        checksum: &str,
    ) -> PathBuf {
        self.chunks
            .join(project)
            .join(holder)
            .join(upload)
            .join(format!("{seq:06}-{checksum}.enc"))
    }

    /// Records a new project with the sealed secrets to relay and the unit's own key for opaque
    /// references. Creating the same project again changes nothing.
    pub fn create(
        &mut self,
        spec: &ProjectSpec,
        sealed: &[SealedSecret],
        ref_key: &[u8; 32],
        now: i64,
    ) -> Result<Created, UnitError> {
        let text = serde_json::to_string(spec)?;
        let tx = self.conn.transaction()?;
        let existing: Option<String> = tx
            .query_row("SELECT spec FROM projects WHERE id = ?1", [&spec.id], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(existing) = existing {
            let same = serde_json::from_str::<ProjectSpec>(&existing)? == *spec;
            return Ok(if same {
                Created::Again
            } else {
                Created::Conflict
            });
        }
        tx.execute(
            "INSERT INTO projects (id, spec, created_at, ref_key) VALUES (?1, ?2, ?3, ?4)",
            params![spec.id, text, now, &ref_key[..]],
        )?;
        for s in sealed {
            tx.execute(
                "INSERT INTO sealed (project, holder, sealed) VALUES (?1, ?2, ?3)",
                params![spec.id, s.recipient, serde_json::to_string(s)?],
            )?;
        }
        tx.commit()?;
        Ok(Created::New)
    }

    pub fn project(&self, id: &str) -> Result<Option<(ProjectSpec, i64)>, UnitError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT spec, created_at FROM projects WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((text, at)) => Ok(Some((serde_json::from_str(&text)?, at))),
            None => Ok(None),
        }
    }

    /// Projects in which `node` is a holder, newest first.
    pub fn projects_of(&self, node: &str) -> Result<Vec<ProjectSpec>, UnitError> {
        let mut all = self.all_projects()?;
        all.retain(|spec| spec.is_holder(node));
        Ok(all)
    }

    /// Every project the unit runs, newest first.
    pub fn all_projects(&self) -> Result<Vec<ProjectSpec>, UnitError> {
        let mut stmt = self
            .conn
            .prepare("SELECT spec FROM projects ORDER BY created_at DESC, id")?;
        let specs = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        specs
            .iter()
            .map(|text| serde_json::from_str(text).map_err(UnitError::from))
            .collect()
    }

    pub fn ref_key(&self, id: &str) -> Result<Option<[u8; 32]>, UnitError> {
        let key: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT ref_key FROM projects WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(key.and_then(|k| k.try_into().ok()))
    }

    pub fn sealed_for(
        &self,
        project: &str,
        holder: &str,
    ) -> Result<Option<SealedSecret>, UnitError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT sealed FROM sealed WHERE project = ?1 AND holder = ?2",
                [project, holder],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match text {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    }

    /// Whether chunk `seq` of an upload still needs storing (`None`), or what storing it would
    /// answer: already there with this checksum, a different one there, or the upload closed.
    pub fn chunk_status(
        &self,
        project: &str,
        holder: &str,
        upload: &str,
        seq: u32,
        checksum: &str,
    ) -> Result<Option<ChunkStored>, UnitError> {
        let completed: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT completed_at FROM uploads WHERE project = ?1 AND holder = ?2 AND upload = ?3",
                [project, holder, upload],
                |r| r.get(0),
            )
            .optional()?;
        let existing: Option<String> = self
            .conn
            .query_row(
                "SELECT checksum FROM chunks WHERE project = ?1 AND holder = ?2 AND upload = ?3 AND seq = ?4",
                params![project, holder, upload, seq],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match (existing, completed) {
            (Some(sha), _) if sha == checksum => Some(ChunkStored::Again),
            (Some(_), _) => Some(ChunkStored::Conflict),
            (None, Some(Some(_))) => Some(ChunkStored::Closed),
            (None, _) => None,
        })
    }

    /// Writes a chunk's body to its file, synced (no lock on the store needed: the path is
    /// the chunk's own and the file appears whole or not at all).
    pub fn write_chunk_body(path: &Path, body: &[u8]) -> Result<(), UnitError> {
        let io = |source| UnitError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        crate::fsutil::write_atomic(path, body, crate::fsutil::Access::Secret).map_err(io)
    }

    /// Records chunk `seq` of an upload, whose body is already in its file.
    pub fn record_chunk(
        &mut self,
        project: &str,
        holder: &str,
        upload: &str,
        seq: u32,
        checksum: &str,
        records: u64,
    ) -> Result<ChunkStored, UnitError> {
        if let Some(answer) = self.chunk_status(project, holder, upload, seq, checksum)? {
            return Ok(answer);
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO uploads (project, holder, upload) VALUES (?1, ?2, ?3)",
            [project, holder, upload],
        )?;
        tx.execute(
            "INSERT INTO chunks (project, holder, upload, seq, checksum, records)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![project, holder, upload, seq, checksum, records as i64],
        )?;
        tx.commit()?;
        Ok(ChunkStored::New)
    }

    /// Stores chunk `seq` of an upload: its body, then its row. A chunk already there with the
    /// same checksum is acknowledged again; with another checksum it is a conflict.
    #[allow(clippy::too_many_arguments)]
    pub fn put_chunk(
        &mut self,
        project: &str,
        holder: &str,
        upload: &str,
        seq: u32,
        checksum: &str,
        records: u64,
        body: &[u8],
    ) -> Result<ChunkStored, UnitError> {
        if let Some(answer) = self.chunk_status(project, holder, upload, seq, checksum)? {
            return Ok(answer);
        }
        UnitStore::write_chunk_body(
            &self.chunk_path(project, holder, upload, seq, checksum),
            body,
        )?;
        self.record_chunk(project, holder, upload, seq, checksum, records)
    }

    /// What the store holds of an upload; `None` when it has none of it.
    pub fn upload_state(
        &self,
        project: &str,
        holder: &str,
        upload: &str,
    ) -> Result<Option<UploadState>, UnitError> {
        let completed: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT completed_at FROM uploads WHERE project = ?1 AND holder = ?2 AND upload = ?3",
                [project, holder, upload],
                |r| r.get(0),
            )
            .optional()?;
        let Some(completed_at) = completed else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT seq, records FROM chunks WHERE project = ?1 AND holder = ?2 AND upload = ?3 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([project, holder, upload], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(UploadState {
            upload: upload.to_string(),
            received: rows.iter().map(|r| r.0).collect(),
            records: rows.iter().map(|r| r.1.max(0) as u64).sum(),
            completed_at,
        }))
    }

    /// Closes an upload of `chunks` chunks and `records` records and makes it the holder's
    /// current one, which the next run links.
    pub fn complete_upload(
        &mut self,
        project: &str,
        holder: &str,
        upload: &str,
        chunks: u32,
        records: u64,
        now: i64,
    ) -> Result<Completed, UnitError> {
        let Some(state) = self.upload_state(project, holder, upload)? else {
            return Ok(Completed::Missing((0..chunks).collect()));
        };
        if state.completed_at.is_some() {
            let (c, r): (i64, i64) = self.conn.query_row(
                "SELECT chunks, records FROM uploads WHERE project = ?1 AND holder = ?2 AND upload = ?3",
                [project, holder, upload],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            return Ok(if c == i64::from(chunks) && r == records as i64 {
                Completed::Again
            } else {
                Completed::Mismatch(format!(
                    "the upload was completed with {c} chunks and {r} records"
                ))
            });
        }
        if let Some(&beyond) = state.received.iter().find(|&&s| s >= chunks) {
            return Ok(Completed::Mismatch(format!(
                "chunk {beyond} was received but the upload is said to have {chunks} chunks"
            )));
        }
        let missing: Vec<u32> = (0..chunks)
            .filter(|s| state.received.binary_search(s).is_err())
            .collect();
        if !missing.is_empty() {
            return Ok(Completed::Missing(missing));
        }
        if state.records != records {
            return Ok(Completed::Mismatch(format!(
                "the chunks hold {} records, not {records}",
                state.records
            )));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE uploads SET chunks = ?4, records = ?5, completed_at = ?6
             WHERE project = ?1 AND holder = ?2 AND upload = ?3",
            params![project, holder, upload, chunks, records as i64, now],
        )?;
        tx.execute(
            "INSERT INTO current (project, holder, upload) VALUES (?1, ?2, ?3)
             ON CONFLICT (project, holder) DO UPDATE SET upload = excluded.upload",
            [project, holder, upload],
        )?;
        tx.commit()?;
        Ok(Completed::Done)
    }

    /// Every holder's current upload.
    pub fn current_uploads(&self, project: &str) -> Result<Vec<HolderUpload>, UnitError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.holder, c.upload, u.records, u.completed_at FROM current c
             JOIN uploads u ON u.project = c.project AND u.holder = c.holder AND u.upload = c.upload
             WHERE c.project = ?1 ORDER BY c.holder",
        )?;
        let rows = stmt
            .query_map([project], |r| {
                Ok(HolderUpload {
                    holder: r.get(0)?,
                    upload: r.get(1)?,
                    records: r.get::<_, i64>(2)?.max(0) as u64,
                    completed_at: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Starts a run over the holders' current uploads, unless one is running already (whose
    /// number is returned instead). `Ok(None)`: some holder has no complete upload.
    pub fn start_run(
        &mut self,
        spec: &ProjectSpec,
        now: i64,
    ) -> Result<Option<(u32, bool)>, UnitError> {
        let tx = self.conn.transaction()?;
        let running: Option<u32> = tx
            .query_row(
                "SELECT run FROM runs WHERE project = ?1 AND state = 'running'",
                [&spec.id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(run) = running {
            return Ok(Some((run, false)));
        }
        let inputs: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare("SELECT holder, upload FROM current WHERE project = ?1 ORDER BY holder")?;
            stmt.query_map([&spec.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?
        };
        if spec
            .holders
            .iter()
            .any(|h| !inputs.iter().any(|(i, _)| i == h))
        {
            return Ok(None);
        }
        let run: u32 = tx.query_row(
            "SELECT COALESCE(MAX(run), 0) + 1 FROM runs WHERE project = ?1",
            [&spec.id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO runs (project, run, state, started_at, inputs) VALUES (?1, ?2, 'running', ?3, ?4)",
            params![spec.id, run, now, serde_json::to_string(&inputs)?],
        )?;
        tx.commit()?;
        Ok(Some((run, true)))
    }

    /// The chunk bodies a run links, per holder in holder order, each holder's in chunk order.
    pub fn run_inputs(&self, project: &str, run: u32) -> Result<Vec<HolderChunks>, UnitError> {
        let inputs: String = self.conn.query_row(
            "SELECT inputs FROM runs WHERE project = ?1 AND run = ?2",
            params![project, run],
            |r| r.get(0),
        )?;
        let inputs: Vec<(String, String)> = serde_json::from_str(&inputs)?;
        let mut out = Vec::new();
        for (holder, upload) in inputs {
            let bodies = self.upload_chunks(project, &holder, &upload)?;
            out.push((holder, bodies));
        }
        Ok(out)
    }

    /// Stores a run's results and marks it done, in one transaction.
    pub fn finish_run(
        &mut self,
        project: &str,
        run: u32,
        rows: &[(String, ResultRow)],
        summary: &serde_json::Value,
        model: &str,
        now: i64,
    ) -> Result<(), UnitError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM results WHERE project = ?1 AND run = ?2",
            params![project, run],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO results (project, run, holder, reference, opaque, partner, partner_ref, cluster, band, levels, weight, review, companions)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for (holder, r) in rows {
                insert.execute(params![
                    project,
                    run,
                    holder,
                    r.reference,
                    r.opaque,
                    r.partner,
                    r.partner_ref,
                    r.cluster,
                    r.band,
                    r.levels,
                    r.weight,
                    r.review,
                    r.companions
                ])?;
            }
        }
        tx.execute(
            "UPDATE runs SET state = 'done', finished_at = ?3, summary = ?4, model = ?5 WHERE project = ?1 AND run = ?2",
            params![project, run, now, serde_json::to_string(summary)?, model],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn fail_run(
        &mut self,
        project: &str,
        run: u32,
        error: &str,
        now: i64,
    ) -> Result<(), UnitError> {
        self.conn.execute(
            "UPDATE runs SET state = 'failed', finished_at = ?3, error = ?4 WHERE project = ?1 AND run = ?2",
            params![project, run, now, error],
        )?;
        Ok(())
    }

    /// Projects with at least one finished run (whose search index a starting unit builds).
    pub fn projects_with_results(&self) -> Result<Vec<String>, UnitError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT project FROM runs WHERE state = 'done' ORDER BY project")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Runs left `running` by a unit that stopped mid-run.
    pub fn interrupted_runs(&self) -> Result<Vec<(String, u32)>, UnitError> {
        let mut stmt = self.conn.prepare(
            "SELECT project, run FROM runs WHERE state = 'running' ORDER BY project, run",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The latest finished run and its model (JSON), which the online search weighs with.
    pub fn latest_model(&self, project: &str) -> Result<Option<(u32, String)>, UnitError> {
        Ok(self
            .conn
            .query_row(
                "SELECT run, model FROM runs WHERE project = ?1 AND state = 'done' AND model IS NOT NULL
                 ORDER BY run DESC LIMIT 1",
                [project],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The chunk bodies of one upload, in chunk order.
    pub fn upload_chunks(
        &self,
        project: &str,
        holder: &str,
        upload: &str,
    ) -> Result<Vec<Vec<u8>>, UnitError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, checksum FROM chunks WHERE project = ?1 AND holder = ?2 AND upload = ?3 ORDER BY seq",
        )?;
        let chunks = stmt
            .query_map([project, holder, upload], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut bodies = Vec::with_capacity(chunks.len());
        for (seq, sha) in chunks {
            let path = self.chunk_path(project, holder, upload, seq, &sha);
            bodies.push(std::fs::read(&path).map_err(|source| UnitError::Io {
                path: path.display().to_string(),
                source,
            })?);
        }
        Ok(bodies)
    }

    /// The project's runs, newest first.
    pub fn runs(&self, project: &str) -> Result<Vec<RunState>, UnitError> {
        let mut stmt = self.conn.prepare(
            "SELECT run, state, started_at, finished_at, summary, error FROM runs
             WHERE project = ?1 ORDER BY run DESC",
        )?;
        let rows = stmt
            .query_map([project], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(run, state, started_at, finished_at, summary, error)| {
                Ok(RunState {
                    run,
                    state,
                    started_at,
                    finished_at,
                    summary: summary.map(|s| serde_json::from_str(&s)).transpose()?,
                    error,
                })
            })
            .collect()
    }

    /// The latest finished run's results for `holder`: `(run, rows)`, or `None` before any run
    /// finished.
    pub fn results(
        &self,
        project: &str,
        holder: &str,
    ) -> Result<Option<(u32, Vec<ResultRow>)>, UnitError> {
        let run: Option<u32> = self
            .conn
            .query_row(
                "SELECT MAX(run) FROM runs WHERE project = ?1 AND state = 'done'",
                [project],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(run) = run else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT reference, opaque, partner, partner_ref, cluster, band, levels, weight, review, companions FROM results
             WHERE project = ?1 AND run = ?2 AND holder = ?3 ORDER BY cluster, reference, partner, partner_ref",
        )?;
        let rows = stmt
            .query_map(params![project, run, holder], |r| {
                Ok(ResultRow {
                    reference: r.get(0)?,
                    opaque: r.get(1)?,
                    partner: r.get(2)?,
                    partner_ref: r.get(3)?,
                    cluster: r.get(4)?,
                    band: r.get(5)?,
                    levels: r.get(6)?,
                    weight: r.get(7)?,
                    review: r.get(8)?,
                    companions: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((run, rows)))
    }
}

impl UnitStore {
    /// Whether `holder`'s latest results hold the pair `opaque`–`partner_ref`: a holder reviews
    /// only the hits it was given.
    pub fn holder_has_pair(
        &self,
        project: &str,
        holder: &str,
        opaque: &str,
        partner_ref: &str,
    ) -> Result<bool, UnitError> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM results WHERE project = ?1 AND holder = ?2 AND opaque = ?3 AND partner_ref = ?4
                   AND run = (SELECT MAX(run) FROM runs WHERE project = ?1 AND state = 'done')
                 LIMIT 1",
                params![project, holder, opaque, partner_ref],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Records holders' reviews, the latest decision on a pair replacing an earlier one
    /// (whichever holder made it), in one transaction.
    pub fn record_reviews(
        &mut self,
        project: &str,
        holder: &str,
        reviews: &[PairReview],
        now: i64,
    ) -> Result<(), UnitError> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare(
                "INSERT INTO reviews (project, low, high, decision, holder, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (project, low, high)
                 DO UPDATE SET decision = excluded.decision, holder = excluded.holder, decided_at = excluded.decided_at",
            )?;
            for r in reviews {
                let (low, high) = pair_key(&r.opaque, &r.partner_ref);
                upsert.execute(params![project, low, high, r.decision, holder, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A project's reviews: the pair (as [`pair_key`]) and its decision.
    pub fn reviews(
        &self,
        project: &str,
    ) -> Result<std::collections::HashMap<(String, String), String>, UnitError> {
        let mut stmt = self
            .conn
            .prepare("SELECT low, high, decision FROM reviews WHERE project = ?1")?;
        let rows = stmt
            .query_map([project], |r| {
                Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_encode::{KeyCheck, Schema};

    fn spec() -> ProjectSpec {
        ProjectSpec::new(
            "p",
            "us",
            &["us".into(), "mx".into()],
            Schema::default_with_id("p"),
            &KeyCheck([1; 32]),
        )
    }

    fn store() -> (tempfile::TempDir, UnitStore) {
        let tmp = tempfile::tempdir().unwrap();
        let s =
            UnitStore::open(&tmp.path().join("projects.db"), &tmp.path().join("chunks")).unwrap();
        (tmp, s)
    }

    #[test]
    fn a_store_of_another_format_is_refused_and_a_reopened_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("projects.db");
        drop(UnitStore::open(&path, tmp.path()).unwrap());
        drop(UnitStore::open(&path, tmp.path()).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 0)
            .unwrap();
        let err = UnitStore::open(&path, tmp.path()).err().unwrap();
        assert!(matches!(err, UnitError::Format { found: 0, .. }), "{err}");
    }

    #[test]
    fn creating_a_project_twice_is_harmless_and_another_with_its_id_conflicts() {
        let (_tmp, mut s) = store();
        assert_eq!(s.create(&spec(), &[], &[7; 32], 1).unwrap(), Created::New);
        assert_eq!(s.create(&spec(), &[], &[8; 32], 2).unwrap(), Created::Again);
        let mut other = spec();
        other.holders.push("gt".into());
        assert_eq!(
            s.create(&other, &[], &[7; 32], 3).unwrap(),
            Created::Conflict
        );
        assert_eq!(
            s.ref_key("p").unwrap(),
            Some([7; 32]),
            "the first key stays"
        );
        assert_eq!(s.projects_of("mx").unwrap().len(), 1);
        assert!(s.projects_of("gt").unwrap().is_empty());
    }

    #[test]
    fn chunks_are_idempotent_conflicts_refused_and_completion_checked() {
        let (_tmp, mut s) = store();
        s.create(&spec(), &[], &[7; 32], 1).unwrap();
        let put = |s: &mut UnitStore, seq, sha: &str| {
            s.put_chunk("p", "mx", "u1", seq, sha, 10, b"body").unwrap()
        };
        assert_eq!(put(&mut s, 0, "aa"), ChunkStored::New);
        assert_eq!(put(&mut s, 0, "aa"), ChunkStored::Again);
        assert_eq!(put(&mut s, 0, "bb"), ChunkStored::Conflict);
        assert_eq!(
            s.complete_upload("p", "mx", "u1", 2, 20, 5).unwrap(),
            Completed::Missing(vec![1])
        );
        assert_eq!(put(&mut s, 1, "cc"), ChunkStored::New);
        assert!(matches!(
            s.complete_upload("p", "mx", "u1", 2, 25, 5).unwrap(),
            Completed::Mismatch(_)
        ));
        assert!(matches!(
            s.complete_upload("p", "mx", "u1", 1, 10, 5).unwrap(),
            Completed::Mismatch(_)
        ));
        assert_eq!(
            s.complete_upload("p", "mx", "u1", 2, 20, 5).unwrap(),
            Completed::Done
        );
        assert_eq!(
            s.complete_upload("p", "mx", "u1", 2, 20, 6).unwrap(),
            Completed::Again
        );
        assert_eq!(put(&mut s, 2, "dd"), ChunkStored::Closed);
        let state = s.upload_state("p", "mx", "u1").unwrap().unwrap();
        assert_eq!((state.received, state.records), (vec![0, 1], 20));
        assert_eq!(s.current_uploads("p").unwrap().len(), 1);
    }

    #[test]
    fn a_run_needs_every_holder_and_an_unfinished_one_is_found_again() {
        let (_tmp, mut s) = store();
        s.create(&spec(), &[], &[7; 32], 1).unwrap();
        for h in ["us", "mx"] {
            s.put_chunk("p", h, "u", 0, "aa", 1, b"x").unwrap();
        }
        s.complete_upload("p", "us", "u", 1, 1, 2).unwrap();
        assert_eq!(s.start_run(&spec(), 3).unwrap(), None);
        s.complete_upload("p", "mx", "u", 1, 1, 2).unwrap();
        assert_eq!(s.start_run(&spec(), 3).unwrap(), Some((1, true)));
        assert_eq!(s.start_run(&spec(), 4).unwrap(), Some((1, false)));
        assert_eq!(s.interrupted_runs().unwrap(), vec![("p".to_string(), 1)]);
        let inputs = s.run_inputs("p", 1).unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(s.results("p", "mx").unwrap(), None);
        let row = ResultRow {
            reference: "00".into(),
            opaque: "r-1".into(),
            partner: "us".into(),
            partner_ref: "r-2".into(),
            cluster: "c-1".into(),
            band: "certain".into(),
            levels: Some("1.1.1.1.0.1.0.0".into()),
            weight: Some(21.5),
            review: None,
            companions: Some(5.7),
        };
        s.finish_run(
            "p",
            1,
            &[("mx".into(), row.clone())],
            &serde_json::json!({}),
            "{\"model\": 1}",
            5,
        )
        .unwrap();
        assert_eq!(
            s.latest_model("p").unwrap(),
            Some((1, "{\"model\": 1}".to_string()))
        );
        assert!(s.interrupted_runs().unwrap().is_empty());
        assert_eq!(s.results("p", "mx").unwrap(), Some((1, vec![row])));
        assert_eq!(s.results("p", "us").unwrap(), Some((1, vec![])));
        assert_eq!(s.start_run(&spec(), 6).unwrap(), Some((2, true)));

        // Reviews: only pairs in the holder's latest results; the latest decision stands.
        assert!(s.holder_has_pair("p", "mx", "r-1", "r-2").unwrap());
        assert!(!s.holder_has_pair("p", "us", "r-1", "r-2").unwrap());
        assert!(!s.holder_has_pair("p", "mx", "r-2", "r-1").unwrap());
        let review = |d: &str| PairReview {
            opaque: "r-1".into(),
            partner_ref: "r-2".into(),
            decision: d.into(),
        };
        s.record_reviews("p", "mx", &[review("reject")], 7).unwrap();
        s.record_reviews("p", "mx", &[review("accept")], 8).unwrap();
        let reviews = s.reviews("p").unwrap();
        assert_eq!(reviews.len(), 1);
        assert_eq!(reviews[&pair_key("r-2", "r-1")], "accept");
        assert!(s.record_reviews("p", "mx", &[review("maybe")], 9).is_err());
    }

    #[test]
    fn a_format_1_store_is_migrated_and_keeps_its_results() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("projects.db");
        {
            // The results table as format 1 made it.
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE runs (project TEXT NOT NULL, run INTEGER NOT NULL, state TEXT NOT NULL,
                     started_at INTEGER NOT NULL, finished_at INTEGER, inputs TEXT NOT NULL,
                     summary TEXT, error TEXT, model TEXT, PRIMARY KEY (project, run));
                 CREATE TABLE results (project TEXT NOT NULL, run INTEGER NOT NULL, holder TEXT NOT NULL,
                     reference TEXT NOT NULL, opaque TEXT NOT NULL, partner TEXT NOT NULL,
                     partner_ref TEXT NOT NULL, cluster TEXT NOT NULL, band TEXT NOT NULL);
                 INSERT INTO runs VALUES ('p', 1, 'done', 1, 2, '[]', '{}', NULL, '{}');
                 INSERT INTO results VALUES ('p', 1, 'mx', '00', 'r-1', 'us', 'r-2', 'c-1', 'probable');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let s = UnitStore::open(&path, tmp.path()).unwrap();
        let (run, rows) = s.results("p", "mx").unwrap().unwrap();
        assert_eq!((run, rows.len()), (1, 1));
        assert_eq!(rows[0].band, "probable");
        assert_eq!(rows[0].levels, None, "old rows have no evidence");
        assert_eq!(rows[0].companions, None);
        assert!(s.reviews("p").unwrap().is_empty());
        drop(s);
        let version: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, FORMAT);
    }
}
