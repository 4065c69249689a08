//! Schema migrations, applied in order and tracked with SQLite's `user_version`.

use std::path::Path;

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Each entry moves the schema one version up. Never edit a shipped entry: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: sources, imports, records, identifiers, events, rejects.
    r#"
    CREATE TABLE sources (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        agency     TEXT,
        country    TEXT NOT NULL,
        mapping    TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE imports (
        id             INTEGER PRIMARY KEY,
        source_id      INTEGER NOT NULL REFERENCES sources(id),
        file_name      TEXT NOT NULL,
        file_sha256    TEXT NOT NULL,
        file_size      INTEGER NOT NULL,
        mapping_sha256 TEXT NOT NULL,
        format         TEXT NOT NULL,
        encoding       TEXT NOT NULL,
        header         TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
        rows_read      INTEGER NOT NULL DEFAULT 0,
        rows_stored    INTEGER NOT NULL DEFAULT 0,
        rows_unchanged INTEGER NOT NULL DEFAULT 0,
        rows_updated   INTEGER NOT NULL DEFAULT 0,
        rows_rejected  INTEGER NOT NULL DEFAULT 0,
        -- Of the stored and updated rows, those kept with a warning (an invalid identifier kept
        -- unmatched, an unrecognised code).
        rows_warned    INTEGER NOT NULL DEFAULT 0,
        checkpoint     TEXT,
        started_at     TEXT NOT NULL,
        finished_at    TEXT,
        error          TEXT,
        CHECK (rows_read = rows_stored + rows_unchanged + rows_updated + rows_rejected)
    );
    CREATE INDEX imports_by_file ON imports(source_id, file_sha256, mapping_sha256);
    CREATE TABLE records (
        id                INTEGER PRIMARY KEY,
        source_id         INTEGER NOT NULL REFERENCES sources(id),
        record_key        TEXT NOT NULL,
        import_id         INTEGER NOT NULL REFERENCES imports(id),
        line              INTEGER NOT NULL,
        -- The last import whose file held this record, and where: a second row with the same id
        -- in one file is a repeat, whichever import first stored the record.
        seen_import_id    INTEGER NOT NULL,
        seen_line         INTEGER NOT NULL,
        raw               TEXT NOT NULL,
        given_display     TEXT NOT NULL,
        surnames_display  TEXT NOT NULL,
        given             TEXT NOT NULL,
        given_alternates  TEXT NOT NULL,
        surname1          TEXT,
        surname2          TEXT,
        married_surname   TEXT,
        given_phonetic    TEXT,
        surname1_phonetic TEXT,
        surname2_phonetic TEXT,
        birth_date        TEXT,
        birth_year        INTEGER,
        birth_flags       INTEGER NOT NULL DEFAULT 0,
        sex               TEXT NOT NULL,
        nationality       TEXT,
        attributes        TEXT,
        warnings          TEXT,
        UNIQUE (source_id, record_key)
    );
    -- Identifiers and events are stored clustered by their record (WITHOUT ROWID, keyed by the
    -- record and the item's place in it): reading a record's items is one range scan, and an
    -- import inserts into one B-tree per table instead of a table and an index.
    CREATE TABLE identifiers (
        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        raw       TEXT NOT NULL,
        value     TEXT NOT NULL,
        country   TEXT,
        valid     INTEGER NOT NULL,
        problem   TEXT,
        PRIMARY KEY (record_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        event_key  TEXT,
        date       TEXT,
        date_flags INTEGER NOT NULL DEFAULT 0,
        place      TEXT,
        PRIMARY KEY (record_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE rejects (
        id          INTEGER PRIMARY KEY,
        import_id   INTEGER NOT NULL REFERENCES imports(id),
        line        INTEGER NOT NULL,
        column_name TEXT,
        reason      TEXT NOT NULL,
        raw         TEXT NOT NULL
    );
    CREATE INDEX rejects_by_import ON rejects(import_id, line);
    "#,
    // 2: the record's postal address, as the JSON of its normalised parts (NULL when none).
    r#"
    ALTER TABLE records ADD COLUMN address TEXT;
    "#,
];

/// The newest schema version this program knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn apply(conn: &Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        // The migration and its version bump commit together, so a crash never leaves a half-applied
        // schema behind.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {version}; COMMIT;"
        ))?;
    }
    Ok(())
}
