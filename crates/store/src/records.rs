//! Writing import batches and reading records back.

use enlace_model::{Event, Record};
use enlace_normalize::{IdKind, Identifier, PartialDate, PersonName, Sex};
use rusqlite::types::ToSql;
use rusqlite::{Transaction, params, params_from_iter};
use serde::Serialize;

use crate::{ImportId, Result, SourceId, Store, StoreError};

/// Counts of an import run or batch. `read` always equals the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub read: i64,
    pub stored: i64,
    /// Rows whose record id was already stored, from an earlier import, with the same content.
    pub unchanged: i64,
    /// Rows whose record id was already stored, from an earlier import, with other content.
    pub updated: i64,
    pub rejected: i64,
    /// Of the stored and updated rows, those kept with a warning; not part of the balance.
    pub warned: i64,
}

impl BatchCounts {
    pub fn add(&mut self, other: &BatchCounts) {
        self.read += other.read;
        self.stored += other.stored;
        self.unchanged += other.unchanged;
        self.updated += other.updated;
        self.rejected += other.rejected;
        self.warned += other.warned;
    }

    /// Whether the counts add up.
    pub fn balanced(&self) -> bool {
        self.read == self.stored + self.unchanged + self.updated + self.rejected
    }
}

/// One input row on its way into the store.
#[derive(Debug, Clone)]
pub enum RowOutcome {
    /// A row that became a record. `raw` is the row's values as a JSON array, in header order.
    Record {
        line: u64,
        raw: String,
        record: Box<Record>,
    },
    /// A row that did not. `raw` is the row as read (its text, or its values as JSON).
    Reject {
        line: u64,
        column: Option<String>,
        reason: String,
        raw: String,
    },
}

/// A record read back from the store.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: i64,
    pub source: String,
    pub line: u64,
    pub record: Record,
}

const FLAG_PLACEHOLDER: i64 = 1;
const FLAG_AMBIGUOUS: i64 = 2;

fn date_parts(d: Option<&PartialDate>) -> (Option<String>, Option<i32>, i64) {
    match d {
        None => (None, None, 0),
        Some(d) => {
            let flags = if d.placeholder { FLAG_PLACEHOLDER } else { 0 }
                | if d.ambiguous_order { FLAG_AMBIGUOUS } else { 0 };
            (Some(d.iso()), Some(d.year), flags)
        }
    }
}

fn parse_date_parts(iso: Option<String>, flags: i64) -> Option<PartialDate> {
    let iso = iso?;
    let mut parts = iso.split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next().and_then(|m| m.parse().ok());
    let day = parts.next().and_then(|d| d.parse().ok());
    Some(PartialDate {
        year,
        month,
        day,
        placeholder: flags & FLAG_PLACEHOLDER != 0,
        ambiguous_order: flags & FLAG_AMBIGUOUS != 0,
    })
}

/// How much of each record a read fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Whole,
    ForLinkage,
}

/// Lists are stored joined by ';', which folded names never contain.
fn join_list(items: &[String]) -> String {
    items.join(";")
}

/// The items of a joined list, in a vector of their number (one grown item by item holds room
/// for four).
fn split_list(text: &str) -> Vec<String> {
    let items = || text.split(';').filter(|s| !s.is_empty());
    let mut out = Vec::with_capacity(items().count());
    out.extend(items().map(str::to_string));
    out
}

impl Store {
    /// Writes one batch of an import and moves its checkpoint, all in one transaction.
    /// `key_column` names the record-id column, for the reason given when an id repeats.
    pub fn write_batch(
        &mut self,
        import: ImportId,
        source: SourceId,
        key_column: &str,
        rows: &[RowOutcome],
        checkpoint: &str,
    ) -> Result<BatchCounts> {
        let tx = self.conn.transaction()?;
        let mut counts = BatchCounts::default();
        let mut hot = HotStatements::prepare(&tx)?;
        for row in rows {
            counts.read += 1;
            match row {
                RowOutcome::Record { line, raw, record } => {
                    match write_record(&tx, &mut hot, import, source, *line, raw, record)? {
                        Written::Stored => {
                            counts.stored += 1;
                            counts.warned += i64::from(!record.warnings.is_empty());
                        }
                        Written::Unchanged => counts.unchanged += 1,
                        Written::Updated => {
                            counts.updated += 1;
                            counts.warned += i64::from(!record.warnings.is_empty());
                        }
                        Written::Repeated { first_line } => {
                            counts.rejected += 1;
                            insert_reject(
                                &tx,
                                import,
                                *line,
                                Some(key_column),
                                &format!(
                                    "record id repeats a row already stored from line {first_line} of this file"
                                ),
                                raw,
                            )?;
                        }
                    }
                }
                RowOutcome::Reject {
                    line,
                    column,
                    reason,
                    raw,
                } => {
                    counts.rejected += 1;
                    insert_reject(&tx, import, *line, column.as_deref(), reason, raw)?;
                }
            }
        }
        drop(hot);
        tx.execute(
            "UPDATE imports SET rows_read = rows_read + ?2, rows_stored = rows_stored + ?3,
                    rows_unchanged = rows_unchanged + ?4, rows_updated = rows_updated + ?5,
                    rows_rejected = rows_rejected + ?6, checkpoint = ?7, rows_warned = rows_warned + ?8
             WHERE id = ?1",
            params![
                import.0,
                counts.read,
                counts.stored,
                counts.unchanged,
                counts.updated,
                counts.rejected,
                checkpoint,
                counts.warned
            ],
        )?;
        tx.commit()?;
        Ok(counts)
    }

    /// Every record of a source, in record-id order of storage.
    pub fn records(&self, source: &str) -> Result<Vec<StoredRecord>> {
        let id = self.source_id(source)?;
        in_snapshot(&self.conn, || {
            let count: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM records WHERE source_id = ?1",
                [id.0],
                |r| r.get(0),
            )?;
            let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
            read_records(&self.conn, source, id, Scope::All, Read::Whole, &mut out)?;
            Ok(out)
        })
    }

    /// Every record of a source with what linkage and encoding compare, and no more: the
    /// display forms of the names, identifiers' raw text and problems, attributes and
    /// warnings are left empty. Reading a million records whole, those strings and their
    /// JSON were a good part of the time and memory; nothing that links uses them.
    ///
    /// A large source is read in parts, one per core (at most [`MAX_READ_PARTS`]) with at least
    /// [`PARTS_FROM`] records each, side by side (see [`Store::records_for_linkage_in`]).
    pub fn records_for_linkage(&self, source: &str) -> Result<Vec<StoredRecord>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.read_for_linkage(source, |count| {
            let by_size = usize::try_from(count / PARTS_FROM).unwrap_or(1);
            cores.min(MAX_READ_PARTS).min(by_size)
        })
    }

    /// [`Store::records_for_linkage`] in `parts` ranges of record ids (at most one per
    /// record), each read in a read transaction of its own connection, side by side, and joined
    /// in id order. Each record comes whole from one snapshot; with an import writing
    /// meanwhile, the parts may see the store at slightly different moments, as a single read
    /// begun a little earlier or later would. One part is read on the store's own connection.
    pub fn records_for_linkage_in(&self, source: &str, parts: usize) -> Result<Vec<StoredRecord>> {
        self.read_for_linkage(source, |_| parts)
    }

    /// The linkage read in the number of parts `parts_for` gives for the source's record count.
    fn read_for_linkage(
        &self,
        source: &str,
        parts_for: impl Fn(i64) -> usize,
    ) -> Result<Vec<StoredRecord>> {
        let id = self.source_id(source)?;
        let (first, last, count): (Option<i64>, Option<i64>, i64) = self.conn.query_row(
            "SELECT MIN(id), MAX(id), COUNT(*) FROM records WHERE source_id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        let count = usize::try_from(count).unwrap_or(0);
        let parts = parts_for(count as i64).clamp(1, count.max(1));
        if parts == 1 {
            // The range just found bounds the read, so it is not counted a second time.
            let range = Scope::Ids(first, last);
            let mut out = Vec::with_capacity(count);
            let read = || read_records(&self.conn, source, id, range, Read::ForLinkage, &mut out);
            in_snapshot(&self.conn, read)?;
            return Ok(out);
        }
        let ranges = id_ranges(first, last, parts);
        let readers = ranges
            .iter()
            .map(|_| self.reader())
            .collect::<Result<Vec<_>>>()?;
        let read: Vec<Result<Vec<StoredRecord>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .zip(readers)
                .enumerate()
                .map(|(part, (&(lo, hi), conn))| {
                    scope.spawn(move || {
                        let range = Scope::Ids(lo, hi);
                        // The first part has room for them all, the others are moved into it:
                        // a vector for the whole source, filled from every part, held the
                        // records twice over.
                        let room = if part == 0 {
                            count
                        } else {
                            usize::try_from(hi - lo + 1).unwrap_or(0).min(count)
                        };
                        let mut out = Vec::with_capacity(room);
                        in_snapshot(&conn, || {
                            read_records(&conn, source, id, range, Read::ForLinkage, &mut out)
                        })?;
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(StoreError::Corrupt("a reading thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut parts = read.into_iter();
        let mut out = parts.next().transpose()?.unwrap_or_default();
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    /// A second connection to the store's database, for reading beside this one.
    fn reader(&self) -> Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        Ok(conn)
    }

    /// The record of `source` with record id `key`, if there is one.
    pub fn record(&self, source: &str, key: &str) -> Result<Option<StoredRecord>> {
        let id = self.source_id(source)?;
        let mut out = Vec::with_capacity(1);
        let read = || {
            read_records(
                &self.conn,
                source,
                id,
                Scope::Key(key),
                Read::Whole,
                &mut out,
            )
        };
        in_snapshot(&self.conn, read)?;
        Ok(out.pop())
    }

    /// How many records a source holds.
    pub fn record_count(&self, source: &str) -> Result<i64> {
        let id = self.source_id(source)?;
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM records WHERE source_id = ?1",
            [id.0],
            |r| r.get(0),
        )?)
    }
}

/// Reads too few records to be worth a thread of their own: a part of a linkage read holds at
/// least this many.
const PARTS_FROM: i64 = 50_000;

/// Parts of a linkage read at most, whatever the cores.
const MAX_READ_PARTS: usize = 8;

/// Which records of a source a read takes.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    All,
    Key(&'a str),
    /// Record ids `lo..=hi`.
    Ids(i64, i64),
}

/// `parts` consecutive ranges of ids covering `first..=last`, of (nearly) equal width.
fn id_ranges(first: i64, last: i64, parts: usize) -> Vec<(i64, i64)> {
    let parts = parts.max(1) as i64;
    let width = (last - first + 1).max(1);
    (0..parts)
        .map(|p| {
            (
                first + width * p / parts,
                first + width * (p + 1) / parts - 1,
            )
        })
        .filter(|(lo, hi)| lo <= hi)
        .collect()
}

/// `read` inside one read transaction on `conn` (a savepoint, which also nests inside a
/// caller's transaction), so that the queries it runs see the same snapshot of the database.
fn in_snapshot<T>(conn: &rusqlite::Connection, read: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("SAVEPOINT read_records")?;
    let out = read();
    // Only read: releasing and rolling back differ in nothing but the error they may meet.
    conn.execute_batch("RELEASE read_records")?;
    out
}

/// The records of `scope`, appended to `out`, read by three queries stepped side by side in
/// record-id order: each record takes its identifiers and events from the front of the other
/// two as they come. Gathering those two into lists first (a million items each, grown by
/// doubling) cost a linkage read much of its time and memory.
fn read_records(
    conn: &rusqlite::Connection,
    source: &str,
    source_id: SourceId,
    scope: Scope<'_>,
    read: Read,
    out: &mut Vec<StoredRecord>,
) -> Result<()> {
    // Columns left out of a read for linkage are selected as NULL, so SQLite does not
    // decode them and no string is made for them.
    let whole = read == Read::Whole;
    let col = |name: &'static str| if whole { name } else { "NULL" };
    // With a key, every query reads one record through the (source, key) index. With a range
    // of ids, each query reads its table's range in primary-key order: the `+` keeps SQLite
    // from the (source, key) index, through which it visited every record of the source in key
    // order and then sorted the range's; the identifiers and events of the whole range are
    // read, and those of other sources' records skipped as the records are met.
    let filter = match scope {
        Scope::All => "source_id = ?1",
        Scope::Key(_) => "source_id = ?1 AND record_key = ?2",
        Scope::Ids(..) => "+source_id = ?1 AND id BETWEEN ?2 AND ?3",
    };
    let of_records = match scope {
        Scope::Ids(..) => "record_id BETWEEN ?2 AND ?3".to_string(),
        _ => format!("record_id IN (SELECT id FROM records WHERE {filter})"),
    };
    let args: Vec<&dyn ToSql> = match &scope {
        Scope::All => vec![&source_id.0],
        Scope::Key(k) => vec![&source_id.0, k],
        Scope::Ids(lo, hi) => vec![&source_id.0, lo, hi],
    };
    let mut ids_stmt = conn.prepare_cached(&format!(
        "SELECT record_id, kind, {}, value, country, valid, {} FROM identifiers
         WHERE {of_records} ORDER BY record_id, seq",
        col("raw"),
        col("problem"),
    ))?;
    let mut identifiers = ids_stmt
        .query_map(&args[..], |r| {
            // A kind this program does not know is the store's fault, reported with its
            // record's turn.
            let item = match parse_kind(r.get_ref(1)?.as_str()?) {
                Ok(kind) => Ok(Identifier {
                    kind,
                    raw: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    value: r.get(3)?,
                    country: r.get(4)?,
                    valid: r.get(5)?,
                    problem: r.get(6)?,
                }),
                Err(e) => Err(e),
            };
            Ok((r.get::<_, i64>(0)?, item))
        })?
        .peekable();
    let mut ev_stmt = conn.prepare_cached(&format!(
        "SELECT record_id, kind, event_key, date, date_flags, place FROM events
         WHERE {of_records} ORDER BY record_id, seq"
    ))?;
    let mut events = ev_stmt
        .query_map(&args[..], |r| {
            let event = Event {
                kind: r.get(1)?,
                id: r.get(2)?,
                date: parse_date_parts(r.get(3)?, r.get(4)?),
                place: r.get(5)?,
            };
            Ok((r.get::<_, i64>(0)?, Ok(event)))
        })?
        .peekable();

    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, record_key, line, {}, {}, given, given_alternates, surname1, surname2,
                married_surname, given_phonetic, surname1_phonetic, surname2_phonetic, birth_date, birth_flags,
                sex, nationality, {}, {}, address
         FROM records WHERE {filter} ORDER BY id",
        col("given_display"),
        col("surnames_display"),
        col("attributes"),
        col("warnings"),
    ))?;
    let rows = stmt.query_map(&args[..], |r| {
        let id: i64 = r.get(0)?;
        let given: String = r.get(5)?;
        let alternates: String = r.get(6)?;
        let sex: String = r.get(15)?;
        let attributes: Option<String> = r.get(17)?;
        let warnings: Option<String> = r.get(18)?;
        let address: Option<String> = r.get(19)?;
        Ok((
            id,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            PersonName {
                given_display: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                surnames_display: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                given: split_list(&given),
                given_alternates: split_list(&alternates),
                surname1: r.get(7)?,
                surname2: r.get(8)?,
                married_surname: r.get(9)?,
                given_phonetic: r.get(10)?,
                surname1_phonetic: r.get(11)?,
                surname2_phonetic: r.get(12)?,
            },
            parse_date_parts(r.get(13)?, r.get(14)?),
            sex,
            r.get::<_, Option<String>>(16)?,
            attributes,
            warnings,
            address,
        ))
    })?;
    let mut taken_ids = Vec::new();
    let mut taken_events = Vec::new();
    for row in rows {
        let (id, key, line, name, birth_date, sex, nationality, attributes, warnings, address) =
            row?;
        let address = match address {
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("address: {e}")))?,
            ),
            None => None,
        };
        let attributes: Vec<(String, String)> = match attributes {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))?,
            None => Vec::new(),
        };
        let warnings: Vec<String> = match warnings {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("warnings: {e}")))?,
            None => Vec::new(),
        };
        out.push(StoredRecord {
            id,
            source: source.to_string(),
            line: line as u64,
            record: Record {
                key,
                name,
                birth_date,
                sex: parse_sex(&sex)?,
                nationality,
                identifiers: take_rows(&mut identifiers, id, &mut taken_ids)?,
                events: take_rows(&mut events, id, &mut taken_events)?,
                address,
                attributes,
                warnings,
            },
        });
    }
    Ok(())
}

/// The items of record `id` at the front of `rows` (ordered by record id, as the records
/// are), taken off it, in a vector of their number: gathered in `scratch` first, since a
/// vector grown item by item holds room for four (400 bytes an identifier list, where most
/// records have one). Items of smaller ids, other sources' records', are skipped.
fn take_rows<T>(
    rows: &mut std::iter::Peekable<impl Iterator<Item = rusqlite::Result<(i64, Result<T>)>>>,
    id: i64,
    scratch: &mut Vec<T>,
) -> Result<Vec<T>> {
    scratch.clear();
    // Rows of later records, and errors, stay for their turn; an error is met once its
    // record's turn comes.
    while let Some(row) = rows.next_if(|row| !matches!(row, Ok((r, _)) if *r > id)) {
        let (r, item) = row?;
        if r == id {
            scratch.push(item?);
        }
    }
    let mut taken = Vec::with_capacity(scratch.len());
    taken.append(scratch);
    Ok(taken)
}

enum Written {
    Stored,
    Unchanged,
    Updated,
    Repeated { first_line: i64 },
}

/// The statements every stored row runs, prepared once per batch: looking them up in the
/// statement cache by their SQL text, row after row, cost the writer thread a few per cent.
struct HotStatements<'t> {
    insert_record: rusqlite::CachedStatement<'t>,
    insert_identifier: rusqlite::CachedStatement<'t>,
    insert_event: rusqlite::CachedStatement<'t>,
}

impl<'t> HotStatements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> Result<HotStatements<'t>> {
        Ok(HotStatements {
            insert_record: tx.prepare_cached(INSERT_RECORD)?,
            insert_identifier: tx.prepare_cached(
                "INSERT INTO identifiers(record_id, seq, kind, raw, value, country, valid, problem)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            insert_event: tx.prepare_cached(
                "INSERT INTO events(record_id, seq, kind, event_key, date, date_flags, place)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
        })
    }
}

const INSERT_RECORD: &str = "INSERT INTO records(source_id, record_key, import_id, line, seen_import_id, seen_line, raw, given_display, surnames_display, given,
                             given_alternates, surname1, surname2, married_surname, given_phonetic,
                             surname1_phonetic, surname2_phonetic, birth_date, birth_year, birth_flags, sex,
                             nationality, attributes, warnings, address)
         VALUES (?1, ?2, ?3, ?4, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                 ?21, ?22, ?23)
         ON CONFLICT(source_id, record_key) DO NOTHING";

fn write_record(
    tx: &Transaction<'_>,
    hot: &mut HotStatements<'_>,
    import: ImportId,
    source: SourceId,
    line: u64,
    raw: &str,
    record: &Record,
) -> Result<Written> {
    let name = &record.name;
    let (birth_date, birth_year, birth_flags) = date_parts(record.birth_date.as_ref());
    let attributes = if record.attributes.is_empty() {
        None
    } else {
        Some(to_json(&record.attributes)?)
    };
    let warnings = if record.warnings.is_empty() {
        None
    } else {
        Some(to_json(&record.warnings)?)
    };
    let address = record.address.as_ref().map(to_json).transpose()?;
    let (given, alternates, line) = (
        join_list(&name.given),
        join_list(&name.given_alternates),
        line as i64,
    );
    // The record's columns from `raw` on, in the order both INSERT_RECORD (?5…) and the UPDATE
    // below (?4…) name them.
    let fields: [&dyn ToSql; 19] = [
        &raw,
        &name.given_display,
        &name.surnames_display,
        &given,
        &alternates,
        &name.surname1,
        &name.surname2,
        &name.married_surname,
        &name.given_phonetic,
        &name.surname1_phonetic,
        &name.surname2_phonetic,
        &birth_date,
        &birth_year,
        &birth_flags,
        &record.sex.code(),
        &record.nationality,
        &attributes,
        &warnings,
        &address,
    ];
    let head: [&dyn ToSql; 4] = [&source.0, &record.key, &import.0, &line];
    let inserted = hot
        .insert_record
        .execute(params_from_iter(head.iter().chain(fields.iter())))?;
    let (record_id, outcome) = if inserted == 1 {
        (tx.last_insert_rowid(), Written::Stored)
    } else {
        let (id, old_raw, seen_import, seen_line): (i64, String, i64, i64) = tx
            .prepare_cached(
                "SELECT id, raw, seen_import_id, seen_line FROM records WHERE source_id = ?1 AND record_key = ?2",
            )?
            .query_row(params![source.0, record.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        if seen_import == import.0 {
            return Ok(Written::Repeated {
                first_line: seen_line,
            });
        }
        if old_raw == raw {
            tx.prepare_cached(
                "UPDATE records SET seen_import_id = ?2, seen_line = ?3 WHERE id = ?1",
            )?
            .execute(params![id, import.0, line])?;
            return Ok(Written::Unchanged);
        }
        // A newer delivery of the same record replaces the old one whole, identifiers and events
        // included, so no stale identifier keeps matching.
        tx.prepare_cached("DELETE FROM identifiers WHERE record_id = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM events WHERE record_id = ?1")?
            .execute([id])?;
        tx.prepare_cached(
            "UPDATE records SET import_id = ?2, line = ?3, seen_import_id = ?2, seen_line = ?3, raw = ?4, given_display = ?5, surnames_display = ?6,
                    given = ?7, given_alternates = ?8, surname1 = ?9, surname2 = ?10, married_surname = ?11,
                    given_phonetic = ?12, surname1_phonetic = ?13, surname2_phonetic = ?14, birth_date = ?15,
                    birth_year = ?16, birth_flags = ?17, sex = ?18, nationality = ?19, attributes = ?20,
                    warnings = ?21, address = ?22
             WHERE id = ?1",
        )?
        .execute(params_from_iter(([&id, &import.0, &line] as [&dyn ToSql; 3]).iter().chain(fields.iter())))?;
        (id, Written::Updated)
    };
    for (seq, id) in record.identifiers.iter().enumerate() {
        hot.insert_identifier.execute(params![
            record_id,
            seq as i64,
            id.kind.as_str(),
            id.raw,
            id.value,
            id.country,
            id.valid,
            id.problem
        ])?;
    }
    for (seq, ev) in record.events.iter().enumerate() {
        let (date, _, flags) = date_parts(ev.date.as_ref());
        hot.insert_event.execute(params![
            record_id, seq as i64, ev.kind, ev.id, date, flags, ev.place
        ])?;
    }
    Ok(outcome)
}

fn insert_reject(
    tx: &Transaction<'_>,
    import: ImportId,
    line: u64,
    column: Option<&str>,
    reason: &str,
    raw: &str,
) -> Result<()> {
    tx.prepare_cached("INSERT INTO rejects(import_id, line, column_name, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![import.0, line as i64, column, reason, raw])?;
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The kind stored under its serialised name, read without making a string of it.
fn parse_kind(s: &str) -> Result<IdKind> {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    let name: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        s.into_deserializer();
    IdKind::deserialize(name)
        .map_err(|_| StoreError::Corrupt(format!("unknown identifier kind `{s}`")))
}

fn parse_sex(s: &str) -> Result<Sex> {
    match s {
        "M" => Ok(Sex::Male),
        "F" => Ok(Sex::Female),
        "U" => Ok(Sex::Unknown),
        other => Err(StoreError::Corrupt(format!("unknown sex code `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::id_ranges;

    #[test]
    fn id_ranges_cover_the_ids_once_in_order() {
        for (first, last) in [(1, 1), (1, 10), (5, 1_000_003), (-3, 4)] {
            for parts in [1, 2, 3, 7, 8, 50] {
                let ranges = id_ranges(first, last, parts);
                assert!(!ranges.is_empty() && ranges.len() <= parts);
                assert_eq!(ranges[0].0, first);
                assert_eq!(ranges[ranges.len() - 1].1, last);
                for w in ranges.windows(2) {
                    assert_eq!(w[1].0, w[0].1 + 1, "{first}..={last} in {parts}");
                }
                assert!(ranges.iter().all(|(lo, hi)| lo <= hi));
                let widths: Vec<i64> = ranges.iter().map(|(lo, hi)| hi - lo + 1).collect();
                let (min, max) = (widths.iter().min(), widths.iter().max());
                assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{widths:?}");
            }
        }
    }
}
