//! The JSON Lines reader on arbitrary bytes: rows or row problems, never a panic.
#![no_main]

use std::io::Write;

use enlace_ingest::read;
use enlace_model::Mapping;
use enlace_model::mapping::FileFormat;
use libfuzzer_sys::fuzz_target;

const MAPPING: &str = include_str!("../../examples/mappings/us-encounters.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(mapping) = Mapping::from_toml(MAPPING) else { return };
    let Ok(mut file) = tempfile::NamedTempFile::new() else { return };
    if file.write_all(data).is_err() {
        return;
    }
    let Ok(mut rows) = read::open(file.path(), FileFormat::Jsonl, &mapping, None) else { return };
    while let Some(row) = rows.next_row() {
        if row.is_err() {
            break;
        }
    }
});
