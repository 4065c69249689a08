//! Mapping files are outside input too: any text parses to a mapping or a clear error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(mapping) = enlace_model::Mapping::from_toml(text) {
            let header: Vec<String> = mapping.columns().iter().map(|c| c.to_string()).collect();
            let _ = mapping.bind(&header);
        }
    }
});
