//! Fuzz target for the encoding-file reader: any bytes must give `Ok` or a clean error, never a
//! panic. Whatever parses must write back to exactly the same bytes when it was in the current
//! format version; an older version's file is rewritten in the current one, and that must read
//! back to the same file.
#![no_main]

use enlace_encode::EncodingFile;
use enlace_encode::file::FORMAT_VERSION;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = EncodingFile::from_bytes(data) {
        let again = file.to_bytes().expect("a file that parsed must serialise");
        if data[8..10] == FORMAT_VERSION.to_le_bytes() {
            assert_eq!(again, data, "round trip changed the bytes");
        } else {
            let reread = EncodingFile::from_bytes(&again).expect("a rewritten file must parse");
            assert_eq!(reread, file, "rewriting an older version changed the file");
        }
    }
});
