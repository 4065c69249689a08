//! The encoding file: a self-describing, versioned, checksummed container of encoded records.
//! The byte layout is specified in docs/encoding.md; this module is its reference
//! implementation. The reader takes bytes from outside, so every length and count is checked
//! before use and no input makes it panic.

use std::io::{Read, Write};

use rayon::prelude::*;

use enlace_normalize::IdKind;

use crate::bloom::BitVector;
use crate::encoded::{BlockToken, EncodedRecord, IdHash};
use crate::kernel::{FilterSet, KernelError};
use crate::keys::KeyCheck;
use crate::schema::{Schema, SchemaError};

/// First bytes of every encoding file.
pub const MAGIC: [u8; 8] = *b"ENLACEBF";
/// The format version this code writes. Version 2 added the record's group (bytes 20..24 of a
/// record, reserved and zero in version 1), so version 1 files read as ungrouped. Version 3
/// added the event-token count (byte 17, reserved and zero before) and the schema's event
/// slots after the identifier slots; older files' schemas have no slots, so they read as
/// records without events.
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this code reads.
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Fixed header length; the schema JSON follows it.
pub const HEADER_LEN: usize = 128;
/// Largest schema JSON accepted.
pub const MAX_SCHEMA_LEN: u32 = 1 << 20;
/// Fixed part of every record before the filters.
pub const RECORD_PREFIX_LEN: usize = 24;
/// Bytes per identifier slot: kind code, 7 reserved bytes, 32-byte hash.
pub const ID_SLOT_LEN: usize = 40;
/// Bytes per event slot: one token.
pub const EVENT_SLOT_LEN: usize = 8;

/// Where the header's checksum sits; it covers the bytes before it and those from
/// [`HEADER_LEN`] on.
pub(crate) const CHECKSUM_AT: usize = 96;

/// Why an encoding file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("not an encoding file: magic bytes are {found:02x?}, expected \"ENLACEBF\"")]
    BadMagic { found: [u8; 8] },
    #[error(
        "encoding file format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("encoding file is truncated: {needed} bytes needed, {found} present")]
    Truncated { needed: u64, found: u64 },
    #[error("encoding file header announces {header} records but the body holds {body}")]
    CountMismatch { header: u64, body: u64 },
    #[error("encoding file has {0} bytes after its last record")]
    TrailingBytes(u64),
    #[error("encoding file checksum mismatch: stored {stored}, computed {computed}")]
    ChecksumMismatch { stored: String, computed: String },
    #[error("encoding file header is invalid: {0}")]
    BadHeader(String),
    #[error("encoding file schema: {0}")]
    Schema(#[from] SchemaError),
    #[error("encoding file records are {header} bytes but its schema implies {schema}")]
    RecordSizeMismatch { header: u64, schema: u64 },
    #[error("record {index}: {reason}")]
    BadRecord { index: u64, reason: String },
    #[error("encoding file exceeds the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("encodings were made under different project secrets (key checks differ)")]
    DifferentSecret,
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("encoding file I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A schema, the key check of the secret the records were encoded under, and the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodingFile {
    pub schema: Schema,
    pub key_check: KeyCheck,
    pub records: Vec<EncodedRecord>,
}

fn id_code(kind: IdKind) -> u8 {
    match kind {
        IdKind::Phone => 1,
        IdKind::Curp => 2,
        IdKind::DpiCui => 3,
        IdKind::ANumber => 4,
        IdKind::Passport => 5,
        IdKind::Plate => 6,
        IdKind::Account => 7,
        IdKind::Other => 8,
        IdKind::NationalId => 9,
    }
}

fn id_kind(code: u8) -> Option<IdKind> {
    Some(match code {
        1 => IdKind::Phone,
        2 => IdKind::Curp,
        3 => IdKind::DpiCui,
        4 => IdKind::ANumber,
        5 => IdKind::Passport,
        6 => IdKind::Plate,
        7 => IdKind::Account,
        8 => IdKind::Other,
        9 => IdKind::NationalId,
        _ => return None,
    })
}

/// A file whose records' field filters are held apart ([`EncodingFile::split_from_bytes`]):
/// record `i`'s field `f` at words `(i × fields + f) × filter_words` of `filters`, all zero
/// where the record has no value; the records' `fields` are empty.
#[derive(Debug, Clone)]
pub struct SplitFile {
    pub file: EncodingFile,
    pub filters: Vec<u64>,
}

/// What [`EncodingFile::inspect`] found in a valid file.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub schema: Schema,
    pub key_check: KeyCheck,
    pub records: u64,
    /// The file's BLAKE3 checksum, as stored in its header and found right.
    pub checksum: [u8; 32],
}

/// A file's checked header: what reading its records needs.
struct Checked {
    version: u16,
    schema: Schema,
    key_check: KeyCheck,
    rsize: u64,
    body_at: usize,
}

/// Size in bytes of one record under `schema`.
pub fn record_size(schema: &Schema) -> u64 {
    let words =
        schema.fields.len() * schema.filter_words() + schema.clk_words() + schema.blocking.len();
    (RECORD_PREFIX_LEN
        + 8 * words
        + ID_SLOT_LEN * usize::from(schema.max_identifiers)
        + EVENT_SLOT_LEN * usize::from(schema.event_slots)) as u64
}

/// A file's bytes before its body, for `records` records under `schema`: the header with the
/// checksum left zero, the schema JSON and its padding.
pub(crate) fn head(
    schema: &Schema,
    key_check: &KeyCheck,
    records: usize,
) -> Result<Vec<u8>, FileError> {
    schema.validate()?;
    let schema_json = schema.to_json();
    let schema_len = u32::try_from(schema_json.len())
        .ok()
        .filter(|&l| l <= MAX_SCHEMA_LEN)
        .ok_or_else(|| FileError::BadHeader("schema JSON too long".to_string()))?;
    let rsize32 = u32::try_from(record_size(schema))
        .map_err(|_| FileError::BadHeader("record too large".to_string()))?;
    let body_at = (HEADER_LEN + schema_json.len()).next_multiple_of(8);
    let mut out = Vec::with_capacity(body_at);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&schema_len.to_le_bytes());
    out.extend_from_slice(&(records as u64).to_le_bytes());
    out.extend_from_slice(&rsize32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&schema.fingerprint().0);
    out.extend_from_slice(&key_check.0);
    out.extend_from_slice(&[0u8; 32]); // checksum, filled in once the body is known
    out.extend_from_slice(schema_json.as_bytes());
    out.resize(body_at, 0);
    Ok(out)
}

/// Records a parallel read takes at a time.
const PARSE_CHUNK: usize = 4096;

fn checksum(file: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&file[..CHECKSUM_AT]);
    // The body (a gigabyte at a million records) hashed on every core: the same digest.
    h.update_rayon(&file[HEADER_LEN..]);
    *h.finalize().as_bytes()
}

/// Little-endian cursor over a slice whose length the caller has already checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let end = (self.at + n).min(self.bytes.len());
        let out = &self.bytes[self.at.min(end)..end];
        self.at = end;
        out
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let src = self.take(N);
        out[..src.len()].copy_from_slice(src);
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

impl EncodingFile {
    /// Checks that every record has the shape the schema prescribes.
    fn check_shape(&self) -> Result<(), FileError> {
        let s = &self.schema;
        for (index, r) in self.records.iter().enumerate() {
            let bad = |reason: String| FileError::BadRecord {
                index: index as u64,
                reason,
            };
            if r.fields.len() != s.fields.len() {
                return Err(bad(format!(
                    "{} field filters, schema has {}",
                    r.fields.len(),
                    s.fields.len()
                )));
            }
            if r.fields.iter().any(|f| f.words().len() != s.filter_words()) {
                return Err(bad("a field filter has the wrong width".to_string()));
            }
            if s.fields.len() < 32 && r.present >> s.fields.len() != 0 {
                return Err(bad(
                    "presence bits set beyond the schema's fields".to_string()
                ));
            }
            if r.clk.as_ref().map_or(0, |c| c.words().len()) != s.clk_words() {
                return Err(bad("CLK missing or of the wrong width".to_string()));
            }
            if r.block_tokens.len() != s.blocking.len() {
                return Err(bad(format!(
                    "{} blocking tokens, schema has {}",
                    r.block_tokens.len(),
                    s.blocking.len()
                )));
            }
            if r.id_hashes.len() > usize::from(s.max_identifiers) {
                return Err(bad(format!(
                    "{} identifiers, schema allows {}",
                    r.id_hashes.len(),
                    s.max_identifiers
                )));
            }
            check_event_tokens(&r.event_tokens, s.event_slots).map_err(bad)?;
        }
        Ok(())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FileError> {
        let mut out = head(&self.schema, &self.key_check, self.records.len())?;
        self.check_shape()?;
        let rsize = record_size(&self.schema) as usize;
        out.reserve(self.records.len() * rsize);
        for r in &self.records {
            write_record(&mut out, &self.schema, r);
        }
        let sum = checksum(&out);
        out[CHECKSUM_AT..HEADER_LEN].copy_from_slice(&sum);
        Ok(out)
    }

    /// Writes the file to `w`.
    pub fn write_to(&self, mut w: impl Write) -> Result<(), FileError> {
        w.write_all(&self.to_bytes()?)?;
        Ok(())
    }

    /// Reads a whole file from `r`, refusing more than `limit` bytes.
    pub fn read_from(r: impl Read, limit: u64) -> Result<EncodingFile, FileError> {
        EncodingFile::from_bytes(&read_limited(r, limit, 0)?)
    }

    /// Reads a whole file from `r` as [`EncodingFile::split_from_bytes`] parses it.
    pub fn read_split_from(r: impl Read, limit: u64) -> Result<SplitFile, FileError> {
        EncodingFile::split_from_bytes(&read_limited(r, limit, 0)?)
    }

    /// [`EncodingFile::read_split_from`] on an open file, its bytes read into a buffer sized
    /// once from the file's length. A buffer grown as it fills is copied at each doubling and
    /// has about twice the file's size of fresh pages zeroed by the kernel: a tenth of a
    /// linkage run's time at a million records.
    pub fn read_split_file(file: std::fs::File, limit: u64) -> Result<SplitFile, FileError> {
        let len = file.metadata()?.len();
        if len > limit {
            return Err(FileError::TooLarge { limit });
        }
        let capacity = usize::try_from(len).map_err(|_| FileError::TooLarge { limit })?;
        EncodingFile::split_from_bytes(&read_limited(file, limit, capacity)?)
    }

    /// Checks everything of a file but its records: header, schema, sizes, checksum.
    fn checked_header(data: &[u8]) -> Result<Checked, FileError> {
        let found = data.len() as u64;
        if data.len() < HEADER_LEN {
            if data.len() >= MAGIC.len() && data[..MAGIC.len()] != MAGIC {
                return Err(FileError::BadMagic {
                    found: Cursor { bytes: data, at: 0 }.array(),
                });
            }
            return Err(FileError::Truncated {
                needed: HEADER_LEN as u64,
                found,
            });
        }
        let mut c = Cursor { bytes: data, at: 0 };
        let magic: [u8; 8] = c.array();
        if magic != MAGIC {
            return Err(FileError::BadMagic { found: magic });
        }
        let version = c.u16();
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(FileError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if c.u16() != 0 {
            return Err(FileError::BadHeader("unknown flags set".to_string()));
        }
        let schema_len = c.u32();
        if schema_len > MAX_SCHEMA_LEN {
            return Err(FileError::BadHeader(format!(
                "schema length {schema_len} exceeds {MAX_SCHEMA_LEN}"
            )));
        }
        let count = c.u64();
        let rsize = u64::from(c.u32());
        if c.u32() != 0 {
            return Err(FileError::BadHeader(
                "reserved header bytes are not zero".to_string(),
            ));
        }
        if rsize == 0 {
            return Err(FileError::BadHeader("record size is zero".to_string()));
        }
        let fingerprint: [u8; 32] = c.array();
        let key_check = KeyCheck(c.array());
        let stored_sum: [u8; 32] = c.array();

        let schema_end = HEADER_LEN + schema_len as usize;
        let body_at = schema_end.next_multiple_of(8);
        if data.len() < body_at {
            return Err(FileError::Truncated {
                needed: body_at as u64,
                found,
            });
        }
        let body_len = (data.len() - body_at) as u64;
        let expected = count.checked_mul(rsize).ok_or_else(|| {
            FileError::BadHeader("record count times record size overflows".to_string())
        })?;
        if body_len != expected {
            if body_len.is_multiple_of(rsize) {
                return Err(FileError::CountMismatch {
                    header: count,
                    body: body_len / rsize,
                });
            }
            if body_len < expected {
                return Err(FileError::Truncated {
                    needed: (body_at as u64).saturating_add(expected),
                    found,
                });
            }
            return Err(FileError::TrailingBytes(body_len - expected));
        }
        let computed = checksum(data);
        if computed != stored_sum {
            return Err(FileError::ChecksumMismatch {
                stored: hex::encode(stored_sum),
                computed: hex::encode(computed),
            });
        }
        if data[schema_end..body_at].iter().any(|&b| b != 0) {
            return Err(FileError::BadHeader(
                "padding after the schema is not zero".to_string(),
            ));
        }
        let json = std::str::from_utf8(&data[HEADER_LEN..schema_end])
            .map_err(|_| FileError::BadHeader("schema is not UTF-8".to_string()))?;
        let schema = Schema::from_json(json)?;
        if schema.fingerprint().0 != fingerprint {
            return Err(FileError::BadHeader(
                "stored schema fingerprint does not match the schema".to_string(),
            ));
        }
        if version < 3 && schema.event_slots > 0 {
            return Err(FileError::BadHeader(format!(
                "format version {version} has no event slots but the schema asks for {}",
                schema.event_slots
            )));
        }
        let implied = record_size(&schema);
        if implied != rsize {
            return Err(FileError::RecordSizeMismatch {
                header: rsize,
                schema: implied,
            });
        }
        Ok(Checked {
            version,
            schema,
            key_check,
            rsize,
            body_at,
        })
    }

    /// Parses and validates a file's bytes.
    pub fn from_bytes(data: &[u8]) -> Result<EncodingFile, FileError> {
        EncodingFile::parse(data, None)
    }

    /// Parses and validates a file's bytes as [`EncodingFile::from_bytes`] does, but leaves
    /// every record's `fields` empty and returns their filters in one array, record after
    /// record: what a linkage unit compares, without a heap block per filter.
    pub fn split_from_bytes(data: &[u8]) -> Result<SplitFile, FileError> {
        let mut filters = Vec::new();
        let file = EncodingFile::parse(data, Some(&mut filters))?;
        Ok(SplitFile { file, filters })
    }

    /// Records are read in parallel, a chunk of [`PARSE_CHUNK`] at a time (each record is
    /// independent and of fixed size), and gathered in file order; an error names the first
    /// bad record, as a sequential read would. Split filters go straight to their place in one
    /// array of the exact size.
    fn parse(data: &[u8], split: Option<&mut Vec<u64>>) -> Result<EncodingFile, FileError> {
        let Checked {
            version,
            schema,
            key_check,
            rsize,
            body_at,
        } = EncodingFile::checked_header(data)?;
        let body = &data[body_at..];
        let rsize = rsize as usize;
        let count = body.len() / rsize;
        let per_record = schema.fields.len() * schema.filter_words();
        let mut no_words = Vec::new();
        let want_split = split.is_some();
        let words = match split {
            Some(words) => {
                words.clear();
                words.resize(count * per_record, 0);
                words
            }
            None => &mut no_words,
        };
        let chunk_words = if want_split {
            PARSE_CHUNK * per_record
        } else {
            0
        };
        // Each chunk's place in the filter array (`count` records make `count / PARSE_CHUNK`
        // chunks rounded up, like the array), or none when the filters stay in the records.
        let places: Vec<Option<&mut [u64]>> = if chunk_words > 0 {
            words.chunks_mut(chunk_words).map(Some).collect()
        } else {
            (0..count.div_ceil(PARSE_CHUNK)).map(|_| None).collect()
        };
        let chunks: Vec<Result<Vec<EncodedRecord>, FileError>> = body[..count * rsize]
            .par_chunks(PARSE_CHUNK * rsize)
            .zip(places)
            .enumerate()
            .map(|(c, (bytes, place))| {
                let mut records = Vec::with_capacity(PARSE_CHUNK);
                let mut filters = Vec::with_capacity(chunk_words);
                for (j, record) in bytes.chunks_exact(rsize).enumerate() {
                    let bad = |reason| FileError::BadRecord {
                        index: (c * PARSE_CHUNK + j) as u64,
                        reason,
                    };
                    let r = read_record(&schema, record, want_split.then_some(&mut filters))
                        .map_err(bad)?;
                    if version < 2 && r.group != 0 {
                        return Err(bad("reserved bytes are not zero".to_string()));
                    }
                    records.push(r);
                }
                if let Some(place) = place {
                    place.copy_from_slice(&filters);
                }
                Ok(records)
            })
            .collect();
        let mut records = Vec::with_capacity(count);
        for chunk in chunks {
            records.extend(chunk?);
        }
        Ok(EncodingFile {
            schema,
            key_check,
            records,
        })
    }

    /// The checksum a file's header carries (BLAKE3 of the rest), unchecked: what a sender
    /// names a file by without hashing it again. `None` when the bytes are shorter than a header.
    pub fn stored_checksum(data: &[u8]) -> Option<[u8; 32]> {
        data.get(CHECKSUM_AT..HEADER_LEN)?.try_into().ok()
    }

    /// Checks a file's bytes as [`EncodingFile::from_bytes`] does — header, checksum and every
    /// rule of every record — without building the records: how a linkage unit accepts an
    /// upload at the speed of the disk.
    pub fn inspect(data: &[u8]) -> Result<FileSummary, FileError> {
        let Checked {
            version,
            schema,
            key_check,
            rsize,
            body_at,
        } = EncodingFile::checked_header(data)?;
        let mut records = 0u64;
        for (i, bytes) in data[body_at..].chunks_exact(rsize as usize).enumerate() {
            let bad = |reason| FileError::BadRecord {
                index: i as u64,
                reason,
            };
            let (_, group) = visit_record(&schema, bytes, Build::Nothing).map_err(bad)?;
            if version < 2 && group != 0 {
                return Err(bad("reserved bytes are not zero".to_string()));
            }
            records += 1;
        }
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&data[CHECKSUM_AT..HEADER_LEN]);
        Ok(FileSummary {
            schema,
            key_check,
            records,
            checksum,
        })
    }

    /// Refuses `other` unless it was encoded under the same schema and the same secret.
    pub fn check_comparable(&self, other: &EncodingFile) -> Result<(), FileError> {
        self.schema.check_compatible(&other.schema)?;
        if !self.key_check.matches(&other.key_check) {
            return Err(FileError::DifferentSecret);
        }
        Ok(())
    }

    /// The filters of field `i` of every record, ready for the kernel.
    pub fn field_set(&self, i: usize) -> Result<FilterSet, FileError> {
        let mut set = FilterSet::new(self.schema.filter_words())?;
        for r in &self.records {
            let f = r
                .fields
                .get(i)
                .ok_or_else(|| FileError::BadHeader(format!("no field {i}")))?;
            set.push(f.words())?;
        }
        Ok(set)
    }

    /// The CLKs of every record, or `None` when the schema has no CLK.
    pub fn clk_set(&self) -> Result<Option<FilterSet>, FileError> {
        if self.schema.clk.is_none() {
            return Ok(None);
        }
        let mut set = FilterSet::new(self.schema.clk_words())?;
        for r in &self.records {
            let c = r
                .clk
                .as_ref()
                .ok_or_else(|| FileError::BadHeader("record without CLK".to_string()))?;
            set.push(c.words())?;
        }
        Ok(Some(set))
    }
}

pub(crate) fn write_record(out: &mut Vec<u8>, schema: &Schema, r: &EncodedRecord) {
    let mut block_mask = 0u32;
    for (i, t) in r.block_tokens.iter().enumerate() {
        if t.is_some() {
            block_mask |= 1 << i;
        }
    }
    out.extend_from_slice(&r.reference.to_le_bytes());
    out.extend_from_slice(&r.present.to_le_bytes());
    out.extend_from_slice(&block_mask.to_le_bytes());
    out.push(r.id_hashes.len() as u8);
    out.push(r.event_tokens.len() as u8);
    out.extend_from_slice(&[0u8; 2]);
    out.extend_from_slice(&r.group.to_le_bytes());
    for f in &r.fields {
        put_words(out, f.words());
    }
    if let Some(c) = &r.clk {
        put_words(out, c.words());
    }
    for t in &r.block_tokens {
        out.extend_from_slice(&t.map_or(0, |t| t.0).to_le_bytes());
    }
    for slot in 0..usize::from(schema.max_identifiers) {
        match r.id_hashes.get(slot) {
            Some(id) => {
                out.push(id_code(id.kind));
                out.extend_from_slice(&[0u8; 7]);
                out.extend_from_slice(&id.hash);
            }
            None => out.extend_from_slice(&[0u8; ID_SLOT_LEN]),
        }
    }
    for slot in 0..usize::from(schema.event_slots) {
        let token = r.event_tokens.get(slot).copied().unwrap_or(0);
        out.extend_from_slice(&token.to_le_bytes());
    }
}

/// Event tokens as a record must hold them: at most `slots`, none 0 (0 marks an empty slot),
/// strictly increasing (so one set of events has one encoding).
fn check_event_tokens(tokens: &[u64], slots: u8) -> Result<(), String> {
    if tokens.len() > usize::from(slots) {
        return Err(format!(
            "{} event tokens, schema allows {slots}",
            tokens.len()
        ));
    }
    if tokens.first() == Some(&0) || tokens.windows(2).any(|w| w[0] >= w[1]) {
        return Err("event tokens are not distinct, increasing and non-zero".to_string());
    }
    Ok(())
}

/// Appends `words` little-endian: sized once and filled in place, as a word-by-word append
/// cost more than the rest of writing a record.
fn put_words(out: &mut Vec<u8>, words: &[u64]) {
    let start = out.len();
    out.resize(start + 8 * words.len(), 0);
    for (to, w) in out[start..].chunks_exact_mut(8).zip(words) {
        to.copy_from_slice(&w.to_le_bytes());
    }
}

/// Parses one record of exactly `record_size(schema)` bytes.
/// One record; its filters are appended to `split` when given, else built into `fields`.
fn read_record(
    schema: &Schema,
    bytes: &[u8],
    split: Option<&mut Vec<u64>>,
) -> Result<EncodedRecord, String> {
    visit_record(schema, bytes, Build::Record(split))
        .and_then(|(r, _)| r.ok_or_else(|| "the record was not built".to_string()))
}

/// What [`visit_record`] makes of a record besides checking it.
enum Build<'a> {
    /// Nothing: the checks only.
    Nothing,
    /// The record, its filters in `fields` or, when given, appended to the array.
    Record(Option<&'a mut Vec<u64>>),
}

/// Checks one record as [`read_record`] does, building it only when asked (checking an
/// upload needs every rule, not the record). Returns the record and its group.
fn visit_record(
    schema: &Schema,
    bytes: &[u8],
    what: Build<'_>,
) -> Result<(Option<EncodedRecord>, u32), String> {
    let (build, mut split) = match what {
        Build::Nothing => (false, None),
        Build::Record(split) => (true, split),
    };
    let mut c = Cursor { bytes, at: 0 };
    let reference = c.u64();
    let present = c.u32();
    let block_mask = c.u32();
    let id_count = c.u8();
    let event_count = c.u8();
    if c.take(2).iter().any(|&b| b != 0) {
        return Err("reserved bytes are not zero".to_string());
    }
    let group = c.u32();
    let nf = schema.fields.len();
    if nf < 32 && present >> nf != 0 {
        return Err("presence bits set beyond the schema's fields".to_string());
    }
    let nb = schema.blocking.len();
    if nb < 32 && block_mask >> nb != 0 {
        return Err("blocking bits set beyond the schema's blocking keys".to_string());
    }
    if id_count > schema.max_identifiers {
        return Err(format!(
            "{id_count} identifiers, schema allows {}",
            schema.max_identifiers
        ));
    }
    let fw = schema.filter_words();
    let mut fields = Vec::with_capacity(if build && split.is_none() { nf } else { 0 });
    for i in 0..nf {
        let raw = c.take(8 * fw);
        if present >> i & 1 == 0 && raw.iter().any(|&b| b != 0) {
            return Err(format!(
                "field {} is marked absent but its filter has bits set",
                schema.fields[i].field.as_str()
            ));
        }
        match split.as_deref_mut() {
            Some(words) => words.extend(words_of(raw)),
            None if build => fields.push(BitVector::from_words(words_of(raw).collect())),
            None => {}
        }
    }
    let clk_raw = schema.clk.as_ref().map(|_| c.take(8 * schema.clk_words()));
    let clk = match clk_raw {
        Some(raw) if build => Some(BitVector::from_words(words_of(raw).collect())),
        _ => None,
    };
    let mut block_tokens = Vec::with_capacity(if build { nb } else { 0 });
    for i in 0..nb {
        let t = c.u64();
        if block_mask >> i & 1 == 1 {
            if build {
                block_tokens.push(Some(BlockToken(t)));
            }
        } else if t != 0 {
            return Err(format!(
                "blocking key {} is marked absent but has a value",
                schema.blocking[i].as_str()
            ));
        } else if build {
            block_tokens.push(None);
        }
    }
    let mut id_hashes = Vec::with_capacity(if build { usize::from(id_count) } else { 0 });
    for slot in 0..usize::from(schema.max_identifiers) {
        let code = c.u8();
        let reserved = c.take(7);
        let hash: [u8; 32] = c.array();
        if slot < usize::from(id_count) {
            let kind = id_kind(code)
                .ok_or_else(|| format!("identifier slot {slot}: unknown kind code {code}"))?;
            if reserved.iter().any(|&b| b != 0) {
                return Err(format!(
                    "identifier slot {slot}: reserved bytes are not zero"
                ));
            }
            if build {
                id_hashes.push(IdHash { kind, hash });
            }
        } else if code != 0 || reserved.iter().any(|&b| b != 0) || hash.iter().any(|&b| b != 0) {
            return Err(format!("identifier slot {slot} is unused but not zero"));
        }
    }
    if event_count > schema.event_slots {
        return Err(format!(
            "{event_count} event tokens, schema allows {}",
            schema.event_slots
        ));
    }
    let mut event_tokens = Vec::with_capacity(usize::from(event_count));
    for slot in 0..usize::from(schema.event_slots) {
        let token = c.u64();
        if slot < usize::from(event_count) {
            event_tokens.push(token);
        } else if token != 0 {
            return Err(format!("event slot {slot} is unused but not zero"));
        }
    }
    check_event_tokens(&event_tokens, schema.event_slots)?;
    if !build {
        return Ok((None, group));
    }
    Ok((
        Some(EncodedRecord {
            reference,
            group,
            fields,
            present,
            clk,
            id_hashes,
            block_tokens,
            event_tokens,
        }),
        group,
    ))
}

/// Little-endian 64-bit words of `raw` (whose length is a multiple of 8).
fn words_of(raw: &[u8]) -> impl Iterator<Item = u64> + '_ {
    raw.chunks_exact(8).map(|w| {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        u64::from_le_bytes(b)
    })
}

/// The whole of `r`, refusing more than `limit` bytes, into a buffer of `capacity` to start.
fn read_limited(r: impl Read, limit: u64, capacity: usize) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::with_capacity(capacity);
    r.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}
