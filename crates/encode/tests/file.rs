mod common;

use common::*;
use enlace_encode::file::{FORMAT_VERSION, HEADER_LEN, MAGIC, record_size};
use enlace_encode::{Encoder, EncodingFile, FileError, Schema};
use enlace_normalize::Sex;
use proptest::prelude::*;

fn sample_file(n: usize) -> EncodingFile {
    sample_file_of(n, Schema::default_with_id("file-test"))
}

/// As [`sample_file`] under `schema`; every other record met in one of two events.
fn sample_file_of(n: usize, schema: Schema) -> EncodingFile {
    let e = Encoder::new(&secret(1), schema).unwrap();
    let mut records = Vec::new();
    for i in 0..n {
        let mut r = person(
            "juan carlos",
            &format!("perez{i}"),
            "gomez",
            Some(date(1980 + i as i32 % 30, 5, 6)),
            Sex::Male,
        );
        if i % 3 == 0 {
            r.identifiers.clear();
            r.birth_date = None;
        }
        if i % 2 == 0 {
            r.events.push(enlace_model::Event {
                kind: "encounter".into(),
                id: Some(format!("E-{}", i % 4)),
                date: None,
                place: None,
            });
        }
        records.push(e.encode(&r, i as u64 * 31));
    }
    EncodingFile {
        schema: e.schema().clone(),
        key_check: e.key_check(),
        records,
    }
}

/// A file's field filters record after record: what a split read gathers apart.
fn filter_words(f: &EncodingFile) -> Vec<u64> {
    f.records
        .iter()
        .flat_map(|r| r.fields.iter().flat_map(|x| x.words().iter().copied()))
        .collect()
}

/// Recomputes the checksum after a deliberate edit, so that the check under test is reached.
fn reseal(bytes: &mut [u8]) {
    let mut h = blake3::Hasher::new();
    h.update(&bytes[..96]);
    h.update(&bytes[HEADER_LEN..]);
    let sum = *h.finalize().as_bytes();
    bytes[96..128].copy_from_slice(&sum);
}

fn body_at(bytes: &[u8]) -> usize {
    let schema_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    (HEADER_LEN + schema_len).next_multiple_of(8)
}

#[test]
fn round_trip() {
    let f = sample_file(10);
    let bytes = f.to_bytes().unwrap();
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(
        bytes.len(),
        body_at(&bytes) + 10 * record_size(&f.schema) as usize
    );
    let back = EncodingFile::from_bytes(&bytes).unwrap();
    assert_eq!(back, f);
    // Read with the filters apart: the same records without their filters, and the filters
    // record after record.
    let split = EncodingFile::read_split_from(bytes.as_slice(), 1 << 30).unwrap();
    let words = filter_words(&f);
    assert_eq!(split.filters, words);
    assert_eq!(
        words.len(),
        10 * f.schema.fields.len() * f.schema.filter_words()
    );
    let bare: Vec<_> = f
        .records
        .iter()
        .map(|r| enlace_encode::EncodedRecord {
            fields: vec![],
            ..r.clone()
        })
        .collect();
    assert_eq!(split.file.records, bare);
    assert!(matches!(
        EncodingFile::read_split_from(bytes.as_slice(), 100),
        Err(FileError::TooLarge { .. })
    ));
    // The same from a file on disk, its buffer sized from the file's length.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.enc");
    std::fs::write(&path, &bytes).unwrap();
    let from_disk =
        EncodingFile::read_split_file(std::fs::File::open(&path).unwrap(), 1 << 30).unwrap();
    assert_eq!(from_disk.filters, split.filters);
    assert_eq!(from_disk.file.records, split.file.records);
    assert!(matches!(
        EncodingFile::read_split_file(std::fs::File::open(&path).unwrap(), 100),
        Err(FileError::TooLarge { .. })
    ));
    let mut written = Vec::new();
    f.write_to(&mut written).unwrap();
    assert_eq!(
        EncodingFile::read_from(written.as_slice(), 1 << 30).unwrap(),
        f
    );
    assert!(matches!(
        EncodingFile::read_from(written.as_slice(), 100),
        Err(FileError::TooLarge { .. })
    ));
    let empty = EncodingFile {
        records: vec![],
        ..f.clone()
    };
    assert_eq!(
        EncodingFile::from_bytes(&empty.to_bytes().unwrap()).unwrap(),
        empty
    );
}

#[test]
fn default_schema_record_size() {
    // 24 + 9 × 128 (fields) + 128 (CLK) + 3 × 8 (blocking) + 8 × 40 (identifiers) + 4 × 8
    // (events)
    let schema = Schema::default_with_id("x");
    assert_eq!(schema.fields.len(), 9);
    assert_eq!(record_size(&schema), 24 + 1152 + 128 + 24 + 320 + 32);
}

#[test]
fn wrong_magic() {
    let mut b = sample_file(2).to_bytes().unwrap();
    b[0] = b'X';
    assert!(matches!(
        EncodingFile::from_bytes(&b),
        Err(FileError::BadMagic { .. })
    ));
    assert!(matches!(
        EncodingFile::from_bytes(b"PK\x03\x04zipzipzip"),
        Err(FileError::BadMagic { .. })
    ));
}

#[test]
fn wrong_version() {
    let mut b = sample_file(2).to_bytes().unwrap();
    b[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = EncodingFile::from_bytes(&b).unwrap_err();
    assert!(
        matches!(
            err,
            FileError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION
            } if found == FORMAT_VERSION + 1
        ),
        "{err}"
    );
}

#[test]
fn groups_round_trip_and_version_1_reads_as_ungrouped() {
    // Schemas had no event slots before version 3.
    let mut old = Schema::default_with_id("file-test");
    old.event_slots = 0;
    let mut f = sample_file_of(4, old.clone());
    f.records[1].group = 7;
    f.records[2].group = 7;
    let back = EncodingFile::from_bytes(&f.to_bytes().unwrap()).unwrap();
    assert_eq!(back, f);

    // A version 1 file: the group bytes were reserved and zero (and schemas had no event
    // slots).
    let mut v1 = sample_file_of(4, old).to_bytes().unwrap();
    v1[8..10].copy_from_slice(&1u16.to_le_bytes());
    reseal(&mut v1);
    let read = EncodingFile::from_bytes(&v1).unwrap();
    assert!(read.records.iter().all(|r| r.group == 0));

    // Version 1 with those bytes set is refused.
    let mut bad = f.to_bytes().unwrap();
    bad[8..10].copy_from_slice(&1u16.to_le_bytes());
    reseal(&mut bad);
    let err = EncodingFile::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(err, FileError::BadRecord { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn event_tokens_round_trip_and_older_versions_have_none() {
    let f = sample_file(6);
    assert!(f.records[0].event_tokens.len() == 1 && f.records[1].event_tokens.is_empty());
    assert_eq!(f.records[0].event_tokens, f.records[4].event_tokens);
    assert_ne!(f.records[0].event_tokens, f.records[2].event_tokens);
    let bytes = f.to_bytes().unwrap();
    assert_eq!(EncodingFile::from_bytes(&bytes).unwrap(), f);
    assert_eq!(
        EncodingFile::split_from_bytes(&bytes).unwrap().file.records[4].event_tokens,
        f.records[4].event_tokens
    );

    // A version 2 file was written under a schema without event slots: it reads, eventless.
    let mut old = Schema::default_with_id("file-test");
    old.event_slots = 0;
    let mut v2 = sample_file_of(6, old).to_bytes().unwrap();
    v2[8..10].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut v2);
    let read = EncodingFile::from_bytes(&v2).unwrap();
    assert!(read.records.iter().all(|r| r.event_tokens.is_empty()));
    // A version 2 file whose schema asks for slots it cannot have is refused.
    let mut bad = bytes.clone();
    bad[8..10].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut bad);
    let err = EncodingFile::from_bytes(&bad).unwrap_err();
    assert!(err.to_string().contains("event slots"), "{err}");

    // Tokens out of order, repeated or beyond the count are refused with the record's index.
    let rsize = record_size(&f.schema) as usize;
    let slots_at = rsize - 32;
    let at = body_at(&bytes) + 2 * rsize;
    let token = f.records[2].event_tokens[0];
    let cases: [(usize, u64, u8); 3] = [
        (slots_at + 8, token, 2),     // the same token twice
        (slots_at + 8, token - 1, 2), // a smaller one after it
        (slots_at + 16, 5, 1),        // an unused slot not zero
    ];
    for (offset, value, count) in cases {
        let mut b = bytes.clone();
        b[at + offset..at + offset + 8].copy_from_slice(&value.to_le_bytes());
        b[at + 17] = count;
        reseal(&mut b);
        let err = EncodingFile::from_bytes(&b).unwrap_err();
        assert!(
            matches!(err, FileError::BadRecord { index: 2, .. }),
            "offset {offset}: {err}"
        );
    }
}

#[test]
fn truncated() {
    let b = sample_file(3).to_bytes().unwrap();
    for cut in [0, 7, 50, HEADER_LEN + 5, b.len() - 1, b.len() - 100] {
        let err = EncodingFile::from_bytes(&b[..cut]).unwrap_err();
        assert!(
            matches!(err, FileError::Truncated { .. }),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn checksum_mismatch() {
    let mut b = sample_file(3).to_bytes().unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    let err = EncodingFile::from_bytes(&b).unwrap_err();
    assert!(matches!(err, FileError::ChecksumMismatch { .. }), "{err}");
}

#[test]
fn count_mismatch() {
    let f = sample_file(3);
    let mut b = f.to_bytes().unwrap();
    b[16..24].copy_from_slice(&5u64.to_le_bytes());
    reseal(&mut b);
    let err = EncodingFile::from_bytes(&b).unwrap_err();
    assert!(
        matches!(err, FileError::CountMismatch { header: 5, body: 3 }),
        "{err}"
    );
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        EncodingFile::from_bytes(&b),
        Err(FileError::BadHeader(_))
    ));
}

#[test]
fn trailing_bytes() {
    let mut b = sample_file(1).to_bytes().unwrap();
    b.extend_from_slice(&[0; 5]);
    reseal(&mut b);
    assert!(matches!(
        EncodingFile::from_bytes(&b),
        Err(FileError::TrailingBytes(5))
    ));
}

#[test]
fn record_size_mismatch() {
    let mut b = sample_file(0).to_bytes().unwrap();
    b[24..28].copy_from_slice(&8u32.to_le_bytes());
    reseal(&mut b);
    let err = EncodingFile::from_bytes(&b).unwrap_err();
    assert!(
        matches!(err, FileError::RecordSizeMismatch { header: 8, .. }),
        "{err}"
    );
}

#[test]
fn bad_schema_and_fingerprint() {
    let mut b = sample_file(1).to_bytes().unwrap();
    // "filter_bits":1024 → "filter_bits":1000 keeps the length but breaks validation.
    let at = body_at(&b);
    let text = String::from_utf8_lossy(&b[HEADER_LEN..at])
        .replace("\"filter_bits\":1024", "\"filter_bits\":1000");
    b[HEADER_LEN..HEADER_LEN + text.len()].copy_from_slice(text.as_bytes());
    reseal(&mut b);
    assert!(matches!(
        EncodingFile::from_bytes(&b),
        Err(FileError::Schema(_))
    ));

    let mut b = sample_file(1).to_bytes().unwrap();
    b[32] ^= 0xff;
    reseal(&mut b);
    let err = EncodingFile::from_bytes(&b).unwrap_err();
    assert!(err.to_string().contains("fingerprint"), "{err}");
}

#[test]
fn invalid_records_are_refused_with_their_index() {
    let f = sample_file(3);
    let rsize = record_size(&f.schema) as usize;
    let base = f.to_bytes().unwrap();
    let at = body_at(&base) + 2 * rsize;
    for (offset, value) in [(18, 1u8), (8 + 3, 0x80), (16, 99)] {
        let mut b = base.clone();
        b[at + offset] = value;
        reseal(&mut b);
        let err = EncodingFile::from_bytes(&b).unwrap_err();
        assert!(
            matches!(err, FileError::BadRecord { index: 2, .. }),
            "offset {offset}: {err}"
        );
        let err = EncodingFile::inspect(&b).unwrap_err();
        assert!(
            matches!(err, FileError::BadRecord { index: 2, .. }),
            "inspect, offset {offset}: {err}"
        );
        let err = EncodingFile::split_from_bytes(&b).unwrap_err();
        assert!(
            matches!(err, FileError::BadRecord { index: 2, .. }),
            "split, offset {offset}: {err}"
        );
    }
    let summary = EncodingFile::inspect(&base).unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(summary.schema, f.schema);
    assert!(summary.key_check.matches(&f.key_check));
}

#[test]
fn files_of_several_parallel_chunks_read_in_order_and_name_the_first_bad_record() {
    // More records than one parallel chunk holds (4,096), so that chunks are read apart and
    // gathered: the records and the split filters in file order, and of two bad records the
    // first named, though its chunk is not the first.
    let f = sample_file(9_000);
    let bytes = f.to_bytes().unwrap();
    assert_eq!(EncodingFile::from_bytes(&bytes).unwrap(), f);
    let split = EncodingFile::split_from_bytes(&bytes).unwrap();
    let words = filter_words(&f);
    assert_eq!(split.filters, words);
    assert_eq!(split.file.records.len(), 9_000);
    assert!(
        split
            .file
            .records
            .iter()
            .zip(&f.records)
            .all(|(a, b)| a.reference == b.reference)
    );
    let rsize = record_size(&f.schema) as usize;
    let mut bad = bytes.clone();
    for index in [8_500, 5_000] {
        bad[body_at(&bytes) + index * rsize + 18] = 1;
    }
    reseal(&mut bad);
    for err in [
        EncodingFile::from_bytes(&bad).unwrap_err(),
        EncodingFile::split_from_bytes(&bad)
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, FileError::BadRecord { index: 5_000, .. }),
            "{err}"
        );
    }
}

#[test]
fn comparability_needs_same_schema_and_secret() {
    let a = sample_file(1);
    let e2 = Encoder::new(&secret(2), a.schema.clone()).unwrap();
    let b = EncodingFile {
        key_check: e2.key_check(),
        ..a.clone()
    };
    assert!(matches!(
        a.check_comparable(&b),
        Err(FileError::DifferentSecret)
    ));
    let mut other = a.clone();
    other.schema.id = "other".to_string();
    let msg = a.check_comparable(&other).unwrap_err().to_string();
    assert!(
        msg.contains("`file-test`") && msg.contains("`other`"),
        "{msg}"
    );
    a.check_comparable(&a.clone()).unwrap();
}

#[test]
fn filter_sets_come_out_of_a_file() {
    let f = sample_file(20);
    let given = f.field_set(0).unwrap();
    assert_eq!(given.len(), 20);
    assert_eq!(given.row(3).unwrap(), f.records[3].fields[0].words());
    let clk = f.clk_set().unwrap().unwrap();
    let pairs = enlace_encode::kernel::search_many_vs_many(&clk, &clk, 1.0).unwrap();
    assert!(pairs.iter().filter(|p| p.left == p.right).count() == 20);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reader_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = EncodingFile::from_bytes(&bytes);
    }

    #[test]
    fn reader_never_panics_on_mutated_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        fix_checksum in any::<bool>(),
    ) {
        let mut b = sample_file(2).to_bytes().unwrap();
        for (i, v) in &edits {
            let i = i.index(b.len());
            b[i] = *v;
        }
        if truncate {
            b.truncate(cut.index(b.len() + 1));
        }
        if fix_checksum && b.len() >= HEADER_LEN {
            reseal(&mut b);
        }
        // Inspecting a file (an upload's check) accepts exactly what reading it accepts, and
        // refuses for the same reason.
        let inspected = EncodingFile::inspect(&b);
        // So does reading it with the filters apart.
        let split = EncodingFile::split_from_bytes(&b).map(|s| s.file.records.len());
        match EncodingFile::from_bytes(&b) {
            // Any file that parses must write back to the same bytes.
            Ok(f) => {
                prop_assert_eq!(inspected.map(|s| s.records).ok(), Some(f.records.len() as u64));
                prop_assert_eq!(split.ok(), Some(f.records.len()));
                prop_assert_eq!(f.to_bytes().unwrap(), b);
            }
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert_eq!(inspected.map(|_| ()).map_err(|i| i.to_string()), Err(e.to_string()));
                prop_assert_eq!(split.map(|_| ()).map_err(|i| i.to_string()), Err(e.to_string()));
            }
        }
    }
}
