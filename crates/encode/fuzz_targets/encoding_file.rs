//! Fuzz target for the encoding-file reader: any bytes must give `Ok` or a clean error, never a
//! panic, and whatever parses must write back to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = enlace_encode::EncodingFile::from_bytes(data) {
        let again = file.to_bytes().expect("a file that parsed must serialise");
        assert_eq!(again, data, "round trip changed the bytes");
    }
});
