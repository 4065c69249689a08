//! The store on a real SQLite file: migrations, permissions and the counts' invariant.

use enlace_store::{ImportStatus, NewImport, Store, StoreError};

#[test]
fn opening_twice_keeps_the_schema_and_refuses_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("node");
    let store = Store::open(&store_dir).unwrap();
    let id = store
        .ensure_source("us", Some("US-CBP"), "US", "mapping")
        .unwrap();
    drop(store);
    let store = Store::open(&store_dir).unwrap();
    assert_eq!(store.source_id("us").unwrap(), id);
    store
        .connection()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    drop(store);
    match Store::open(&store_dir) {
        Err(StoreError::TooNew { found: 99, .. }) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a store from a newer version must be refused"),
    }
}

#[cfg(unix)]
#[test]
fn store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("node");
    let store = Store::open(&store_dir).unwrap();
    let dir_mode = std::fs::metadata(&store_dir).unwrap().permissions().mode() & 0o777;
    let db_mode = std::fs::metadata(store.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert_eq!(db_mode, 0o600);
}

#[test]
fn unknown_source_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let err = store.record_count("nope").unwrap_err().to_string();
    assert!(err.contains("`nope`"), "{err}");
}

#[test]
fn counts_that_do_not_add_up_are_refused_by_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let source = store.ensure_source("mx", None, "MX", "m").unwrap();
    let id = begin_import(&store, source);
    let bad = store
        .connection()
        .execute("UPDATE imports SET rows_read = 5 WHERE id = ?1", [id.0]);
    assert!(
        bad.is_err(),
        "the CHECK constraint must refuse unbalanced counts"
    );
    store
        .finish_import(id, ImportStatus::Complete, None)
        .unwrap();
    let run = store.import(id).unwrap();
    assert_eq!(run.status, ImportStatus::Complete);
    assert_eq!(store.import_header(id).unwrap(), ["id"]);
    let found = store.find_import(source, "00", "11").unwrap().unwrap();
    assert_eq!(found.id, id);
    assert!(store.find_import(source, "00", "22").unwrap().is_none());
}

/// A record with `ids` phone numbers and `events` encounters.
fn record_with(key: &str, ids: usize, events: usize) -> enlace_model::Record {
    use enlace_normalize::{IdKind, Identifier, PersonName, Sex};
    enlace_model::Record {
        key: key.to_string(),
        name: PersonName {
            given: vec!["ana".into(), "maria".into()],
            surname1: Some("xol".into()),
            ..PersonName::default()
        },
        birth_date: None,
        sex: Sex::Female,
        nationality: Some("GT".into()),
        identifiers: (0..ids)
            .map(|i| Identifier {
                kind: if i == 0 {
                    IdKind::Phone
                } else {
                    IdKind::Passport
                },
                raw: format!("raw {key} {i}"),
                value: format!("{key}-{i}"),
                country: Some("GT".into()),
                valid: true,
                problem: None,
            })
            .collect(),
        events: (0..events)
            .map(|i| enlace_model::Event {
                kind: "encounter".into(),
                id: Some(format!("{key}/{i}")),
                date: None,
                place: None,
            })
            .collect(),
        address: None,
        attributes: Vec::new(),
        warnings: Vec::new(),
    }
}

/// A new import of a one-column CSV file into `source`.
fn begin_import(store: &Store, source: enlace_store::SourceId) -> enlace_store::ImportId {
    let header = vec!["id".to_string()];
    store
        .begin_import(&NewImport {
            source,
            file_name: "f.csv",
            file_sha256: "00",
            file_size: 1,
            mapping_sha256: "11",
            format: "csv",
            encoding: "utf-8",
            header: &header,
        })
        .unwrap()
}

/// Imports `rows` into `source` as one batch of a new import.
fn import_rows(
    store: &mut Store,
    source: enlace_store::SourceId,
    rows: &[enlace_store::RowOutcome],
) {
    let import = begin_import(store, source);
    store
        .write_batch(import, source, "id", rows, "end")
        .unwrap();
}

fn rows_of(prefix: &str, shapes: &[(usize, usize)]) -> Vec<enlace_store::RowOutcome> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, &(ids, events))| enlace_store::RowOutcome::Record {
            line: i as u64 + 2,
            raw: "[]".into(),
            record: Box::new(record_with(&format!("{prefix}{i}"), ids, events)),
        })
        .collect()
}

#[test]
fn each_record_reads_back_its_own_identifiers_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let gt = store.ensure_source("gt", None, "GT", "m").unwrap();
    let mx = store.ensure_source("mx", None, "MX", "m").unwrap();
    // Records with none, one and several of each, in every order, so that a record taking
    // another's items (or none of its own) shows; another source's records, with items of
    // their own, stored between them.
    let shapes = [(2, 1), (0, 0), (1, 3), (0, 2), (3, 0), (1, 1), (0, 0)];
    import_rows(&mut store, gt, &rows_of("r", &shapes[..4]));
    import_rows(&mut store, mx, &rows_of("m", &[(2, 2), (1, 0), (0, 1)]));
    let mut late = rows_of("r", &shapes);
    late.drain(..4);
    import_rows(&mut store, gt, &late);
    let read = store.records("gt").unwrap();
    let keys: Vec<&str> = read.iter().map(|r| r.record.key.as_str()).collect();
    assert_eq!(keys, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
    let shapes_read: Vec<(usize, usize)> = read
        .iter()
        .map(|r| (r.record.identifiers.len(), r.record.events.len()))
        .collect();
    assert_eq!(shapes_read, shapes);
    for (i, r) in read.iter().enumerate() {
        assert_eq!(
            r.record,
            record_with(&format!("r{i}"), shapes[i].0, shapes[i].1)
        );
        // Each list holds room for its items and no more.
        assert_eq!(r.record.identifiers.capacity(), shapes[i].0);
        assert_eq!(r.record.events.capacity(), shapes[i].1);
    }
    let values = |records: &[enlace_store::StoredRecord]| -> Vec<Vec<String>> {
        records
            .iter()
            .map(|r| {
                r.record
                    .identifiers
                    .iter()
                    .map(|i| i.value.clone())
                    .collect()
            })
            .collect()
    };
    let events = |records: &[enlace_store::StoredRecord]| -> Vec<Vec<Option<String>>> {
        records
            .iter()
            .map(|r| r.record.events.iter().map(|e| e.id.clone()).collect())
            .collect()
    };
    for parts in [1, 2, 3, 7] {
        let lean = store.records_for_linkage_in("gt", parts).unwrap();
        assert_eq!(values(&lean), values(&read), "{parts} parts");
        assert_eq!(events(&lean), events(&read), "{parts} parts");
        let other = store.records_for_linkage_in("mx", parts).unwrap();
        assert_eq!(
            values(&other),
            [vec!["m0-0", "m0-1"], vec!["m1-0"], vec![]],
            "{parts} parts"
        );
        assert_eq!(
            other[0].record.events.len() + other[2].record.events.len(),
            3
        );
    }
    // An identifier kind this program does not know is reported as the store's corruption,
    // not a panic, in the whole read and the one of a single record.
    store
        .connection()
        .execute(
            "UPDATE identifiers SET kind = 'bogus' WHERE value = 'r2-0'",
            [],
        )
        .unwrap();
    let err = store.records("gt").unwrap_err().to_string();
    assert!(err.contains("unknown identifier kind `bogus`"), "{err}");
    let err = store.record("gt", "r2").unwrap_err().to_string();
    assert!(err.contains("unknown identifier kind `bogus`"), "{err}");
    let err = store
        .records_for_linkage_in("gt", 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown identifier kind `bogus`"), "{err}");
    assert_eq!(
        store.record("gt", "r0").unwrap().unwrap().record,
        read[0].record
    );
}
