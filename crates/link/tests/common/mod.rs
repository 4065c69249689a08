//! Loading a generated scenario, shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use enlace_ingest::{ImportOptions, import};
use enlace_link::{Dataset, Source};
use enlace_store::Store;

pub const SOURCES: [&str; 3] = ["us-encounters", "mx-registros", "gt-registros"];

pub fn load(dir: &Path) -> Dataset {
    let store_dir = dir.join("store");
    for name in SOURCES {
        let mut opts = ImportOptions::new(
            &store_dir,
            &dir.join("mappings").join(format!("{name}.toml")),
            &dir.join(format!("{name}.csv")),
        );
        opts.today = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        import(&opts).unwrap();
    }
    let store = Store::open(&store_dir).unwrap();
    Dataset::new(
        SOURCES
            .iter()
            .map(|name| Source {
                name: name.to_string(),
                records: store
                    .records(name)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.record)
                    .collect(),
            })
            .collect(),
    )
}
