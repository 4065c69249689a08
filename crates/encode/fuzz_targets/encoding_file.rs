//! Fuzz target for the encoding-file reader: any bytes must give `Ok` or a clean error, never a
//! panic. Whatever parses must write back to exactly the same bytes when it was in the current
//! format version; an older version's file is rewritten in the current one, and that must read
//! back to the same file. The split reader (filters apart from records) must accept exactly the
//! same bytes and hold the same filters.
#![no_main]

use enlace_encode::EncodingFile;
use enlace_encode::file::FORMAT_VERSION;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = EncodingFile::split_from_bytes(data);
    assert_eq!(
        split.is_ok(),
        EncodingFile::from_bytes(data).is_ok(),
        "the two readers disagree on whether the file is valid"
    );
    if let (Ok(file), Ok(split)) = (EncodingFile::from_bytes(data), split) {
        let words: Vec<u64> = file
            .records
            .iter()
            .flat_map(|r| r.fields.iter().flat_map(|f| f.words().iter().copied()))
            .collect();
        assert_eq!(words, split.filters, "the split reader holds other filters");
        assert!(split.file.records.iter().all(|r| r.fields.is_empty()));
        let again = file.to_bytes().expect("a file that parsed must serialise");
        if data[8..10] == FORMAT_VERSION.to_le_bytes() {
            assert_eq!(again, data, "round trip changed the bytes");
        } else {
            let reread = EncodingFile::from_bytes(&again).expect("a rewritten file must parse");
            assert_eq!(reread, file, "rewriting an older version changed the file");
        }
    }
});
