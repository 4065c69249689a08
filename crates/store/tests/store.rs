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
    let header = vec!["a".to_string()];
    let id = store
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
        .unwrap();
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
    assert_eq!(store.import_header(id).unwrap(), header);
    let found = store.find_import(source, "00", "11").unwrap().unwrap();
    assert_eq!(found.id, id);
    assert!(store.find_import(source, "00", "22").unwrap().is_none());
}
