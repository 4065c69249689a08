//! Writing an encoding file straight from records, in bounded memory.
//!
//! [`EncodingFile::to_bytes`](crate::EncodingFile::to_bytes) needs every [`EncodedRecord`] in
//! memory, each in a dozen allocations, and then the whole file again as bytes: for a million
//! records, several gigabytes, most of it fresh pages the kernel must zero. An agency's node
//! only needs the file, so [`write_encoding_file`] encodes a slice of records at a time into
//! the file's record layout and writes it out, reusing the same buffers slice after slice. The
//! bytes are exactly those of `to_bytes` (a test holds them equal).

use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use enlace_model::Record;
use rayon::prelude::*;

use crate::encoder::{Encoder, SALT_RUN};
use crate::file::{CHECKSUM_AT, FileError, HEADER_LEN, head, record_size, write_record};
use crate::memo::MemoShelf;

/// Records encoded between two writes. Within a slice, records are encoded in salt order (see
/// [`Encoder::salt_order`]) and written back in input order: the file's order must not tell the
/// linkage unit which records share a birth year.
const SLICE: usize = 1 << 16;

/// Bytes gathered before each write (and checksum update).
const WRITE_BUFFER: usize = 1 << 20;

/// What [`write_encoding_file`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    /// Bytes of the file.
    pub bytes: u64,
    /// Time spent handing bytes to the writer (for a file, mostly the kernel copying them into
    /// its page cache), apart from encoding them.
    pub writing: Duration,
}

/// Encodes `records` and writes them as an encoding file to `out`, in input order.
/// `reference` and `group` give each record's reference and group (0: none) from its index.
pub fn write_encoding_file<W: Write + Seek>(
    encoder: &Encoder,
    records: &[Record],
    reference: impl Fn(usize, &Record) -> u64 + Sync,
    group: impl Fn(usize, &Record) -> u32 + Sync,
    out: W,
) -> Result<Written, FileError> {
    write_in_slices(encoder, records, SLICE, reference, group, out)
}

/// [`write_encoding_file`], `slice_len` records at a time.
fn write_in_slices<W: Write + Seek>(
    encoder: &Encoder,
    records: &[Record],
    slice_len: usize,
    reference: impl Fn(usize, &Record) -> u64 + Sync,
    group: impl Fn(usize, &Record) -> u32 + Sync,
    mut out: W,
) -> Result<Written, FileError> {
    let schema = encoder.schema();
    let rsize = record_size(schema) as usize;
    let start = out.stream_position()?;
    let head = head(schema, &encoder.key_check(), records.len())?;
    let mut checksum = blake3::Hasher::new();
    checksum.update(&head[..CHECKSUM_AT]);
    checksum.update(&head[HEADER_LEN..]);
    let t = Instant::now();
    out.write_all(&head)?;
    let mut writing = t.elapsed();

    let mut pending = Vec::with_capacity(WRITE_BUFFER + rsize);
    let mut position_of = Vec::new();
    let mut runs: Vec<Vec<u8>> = Vec::new();
    let shelf = MemoShelf::new(encoder.plan_count());
    for (s, slice) in records.chunks(slice_len.max(1)).enumerate() {
        let base = s * slice_len.max(1);
        let order = encoder.salt_order(slice);
        // Each run's records in the file's layout, in salt order, in buffers kept from slice
        // to slice: a buffer freed and taken anew is fresh pages the kernel zeroes again.
        runs.resize_with(runs.len().max(order.len().div_ceil(SALT_RUN)), Vec::new);
        order
            .par_chunks(SALT_RUN)
            .zip(runs.par_iter_mut())
            .for_each_init(
                || (shelf.hold(), encoder.blank()),
                |(memo, scratch), (run, bytes)| {
                    bytes.clear();
                    bytes.reserve(run.len() * rsize);
                    for &(salt, i) in run {
                        let record = &slice[i];
                        encoder.encode_into(
                            record,
                            reference(base + i, record),
                            Some(memo.for_salt(salt)),
                            scratch,
                        );
                        scratch.group = group(base + i, record);
                        write_record(bytes, schema, scratch);
                    }
                },
            );
        // Back to input order: record i of the slice is the p-th encoded.
        position_of.clear();
        position_of.resize(slice.len(), 0);
        for (p, &(_, i)) in order.iter().enumerate() {
            position_of[i] = p;
        }
        for &p in &position_of {
            let at = (p % SALT_RUN) * rsize;
            pending.extend_from_slice(&runs[p / SALT_RUN][at..at + rsize]);
            if pending.len() >= WRITE_BUFFER {
                checksum.update(&pending);
                let t = Instant::now();
                out.write_all(&pending)?;
                writing += t.elapsed();
                pending.clear();
            }
        }
    }
    checksum.update(&pending);
    let t = Instant::now();
    out.write_all(&pending)?;
    let end = out.stream_position()?;
    out.seek(SeekFrom::Start(start + CHECKSUM_AT as u64))?;
    out.write_all(checksum.finalize().as_bytes())?;
    out.seek(SeekFrom::Start(end))?;
    out.flush()?;
    writing += t.elapsed();
    Ok(Written {
        bytes: end - start,
        writing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncodingFile, ProjectSecret, SaltSource, Schema};
    use enlace_normalize::{IdKind, Identifier, PartialDate, PersonName, Sex};

    /// Varied records in no order of birth year: names recurring across years, some without a
    /// year or a day, identifiers on some.
    fn records(n: u32) -> Vec<Record> {
        let given = ["juan", "maria jose", "ana", "tzunun", "jose luis", "sofia"];
        (0..n)
            .map(|i| {
                let surname = format!("perez{}", i % 89);
                let birth_date = (i % 13 != 0).then(|| PartialDate {
                    year: 1940 + (i * 31 % 70) as i32,
                    month: Some(1 + (i % 12) as u8),
                    day: (i % 5 != 0).then_some(1 + (i % 28) as u8),
                    placeholder: i % 17 == 0,
                    ambiguous_order: i % 7 == 0,
                });
                let identifiers = (i % 3 == 0)
                    .then(|| Identifier {
                        kind: IdKind::Phone,
                        raw: format!("+5255{i:08}"),
                        value: format!("+5255{i:08}"),
                        country: Some("MX".to_string()),
                        valid: true,
                        problem: None,
                    })
                    .into_iter()
                    .collect();
                let first = given[(i % 6) as usize];
                Record {
                    key: format!("R-{i}"),
                    name: PersonName {
                        given: first.split(' ').map(str::to_string).collect(),
                        surname1: Some(surname),
                        surname2: (i % 4 != 0).then(|| "gomez".to_string()),
                        ..PersonName::default()
                    },
                    birth_date,
                    sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
                    nationality: Some("GT".to_string()),
                    identifiers,
                    events: Vec::new(),
                    address: None,
                    attributes: Vec::new(),
                    warnings: Vec::new(),
                }
            })
            .collect()
    }

    #[test]
    fn streamed_files_equal_the_files_of_encoded_records() {
        let secret = ProjectSecret::from_bytes(&[7; 32]).unwrap();
        let records = records(9_000);
        for salted in [false, true] {
            let mut schema = Schema::default_with_id("stream");
            schema.hardening.salt = salted.then_some(SaltSource::BirthYear);
            let encoder = Encoder::new(&secret, schema).unwrap();
            let reference = |i: usize, _: &Record| i as u64 * 5 + 1;
            let group = |i: usize, _: &Record| (i % 3) as u32;
            let mut encoded = encoder.encode_all(&records, reference);
            for (i, e) in encoded.iter_mut().enumerate() {
                e.group = group(i, &records[i]);
            }
            let whole = EncodingFile {
                schema: encoder.schema().clone(),
                key_check: encoder.key_check(),
                records: encoded,
            }
            .to_bytes()
            .unwrap();
            // Slices smaller than a run, of several runs, and all in one.
            for slice_len in [1_000, 2 * SALT_RUN + 7, SLICE] {
                let mut out = std::io::Cursor::new(Vec::new());
                let written =
                    write_in_slices(&encoder, &records, slice_len, reference, group, &mut out)
                        .unwrap();
                let streamed = out.into_inner();
                assert_eq!(written.bytes, streamed.len() as u64);
                assert!(
                    streamed == whole,
                    "salted {salted}, slices of {slice_len}: the streamed file differs"
                );
            }
        }
    }

    #[test]
    fn an_empty_source_streams_to_an_empty_file() {
        let secret = ProjectSecret::from_bytes(&[7; 32]).unwrap();
        let encoder = Encoder::new(&secret, Schema::default_with_id("stream")).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        write_encoding_file(&encoder, &[], |_, _| 0, |_, _| 0, &mut out).unwrap();
        let file = EncodingFile::from_bytes(out.get_ref()).unwrap();
        assert!(file.records.is_empty());
    }
}
