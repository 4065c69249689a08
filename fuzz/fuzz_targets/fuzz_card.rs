//! Node cards arrive from other agencies: any text is a card that verifies, or a clear error.
#![no_main]

use enlace_node::roster::Card;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(card) = toml::from_str::<Card>(text) {
            let _ = card.verify();
            let _ = card.ed25519_key();
        }
    }
});
