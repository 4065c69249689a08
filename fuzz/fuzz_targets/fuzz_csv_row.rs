//! The CSV row reader and the mapping binding on arbitrary bytes: whatever the file holds, the
//! reader yields rows or row problems (never a panic), and every row either becomes a record or
//! a field problem.
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
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let Ok(mut rows) = read::open(file.path(), FileFormat::Csv, &mapping, None) else { return };
    // The mapping may not fit a random header; read the rows all the same.
    let binding = mapping.bind(rows.header()).ok();
    while let Some(row) = rows.next_row() {
        let Ok(row) = row else { break };
        if let (Ok(values), Some(binding)) = (&row.values, &binding) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let _ = binding.apply(&refs, today);
        }
    }
});
