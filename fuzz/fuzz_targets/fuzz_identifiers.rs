//! normalize_identifier on arbitrary text for every kind and a range of issuing countries:
//! never panics, and validity agrees with the problem field.
#![no_main]

use enlace_normalize::{IdKind, normalize_identifier};
use libfuzzer_sys::fuzz_target;

const KINDS: [IdKind; 8] = [
    IdKind::Phone,
    IdKind::Curp,
    IdKind::DpiCui,
    IdKind::ANumber,
    IdKind::Passport,
    IdKind::Plate,
    IdKind::Account,
    IdKind::Other,
];

const COUNTRIES: [Option<&str>; 10] =
    [None, Some("MX"), Some("US"), Some("GT"), Some("HN"), Some("SV"), Some("US-TX"), Some("mex"), Some("ZZ"), Some("")];

fuzz_target!(|data: &[u8]| {
    let [kind, country, rest @ ..] = data else {
        return;
    };
    let kind = KINDS[usize::from(*kind) % KINDS.len()];
    let country = COUNTRIES[usize::from(*country) % COUNTRIES.len()];
    let raw = String::from_utf8_lossy(rest);
    let id = normalize_identifier(kind, &raw, country);
    assert_eq!(id.valid, id.problem.is_none());
    assert_eq!(id.kind, kind);
    if id.valid && kind == IdKind::Phone {
        assert!(id.value.starts_with('+') && id.value[1..].bytes().all(|b| b.is_ascii_digit()));
    }
});
