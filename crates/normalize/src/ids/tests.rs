use super::*;

fn check(kind: IdKind, raw: &str, country: Option<&str>, value: &str, valid: bool) {
    let id = normalize_identifier(kind, raw, country);
    assert_eq!(
        (id.value.as_str(), id.valid),
        (value, valid),
        "{kind:?} {raw:?} → {:?}",
        id.problem
    );
    assert_eq!(id.problem.is_none(), valid);
    assert_eq!(id.raw, raw.trim());
    if let Some(p) = &id.problem {
        let trimmed = raw.trim();
        assert!(
            trimmed.len() < 3 || !p.contains(trimmed),
            "problem repeats the value: {p}"
        );
    }
}

#[test]
fn identifiers_table() {
    use IdKind::*;
    let cases: &[(IdKind, &str, Option<&str>, &str, bool)] = &[
        (Phone, "55 1234 5678", Some("MX"), "+525512345678", true),
        (Phone, "044 55 1234 5678", Some("MX"), "+525512345678", true),
        (Phone, "12", Some("MX"), "12", false),
        (Phone, "(202) 555-0143", Some("USA"), "+12025550143", true),
        (Curp, "hegg560427mvzrrl04", None, "HEGG560427MVZRRL04", true),
        (
            Curp,
            " HEGG-560427-MVZRRL04 ",
            None,
            "HEGG560427MVZRRL04",
            true,
        ),
        (
            Curp,
            "HEGG560427MVZRRL05",
            None,
            "HEGG560427MVZRRL05",
            false,
        ),
        (Curp, "HEGG560427", None, "HEGG560427", false),
        (DpiCui, "1234 56789 0101", None, "1234567890101", true),
        (DpiCui, "1234-56789-0101", None, "1234567890101", true),
        (DpiCui, "1234 56788 0101", None, "1234567880101", false),
        (ANumber, "A012345678", None, "A012345678", true),
        (ANumber, "a-12345678", None, "A012345678", true),
        (ANumber, "012-345-678", None, "A012345678", true),
        (ANumber, "A 123 456 789", None, "A123456789", true),
        (ANumber, "1234567", None, "1234567", false),
        (ANumber, "A1234567890", None, "A1234567890", false),
        (ANumber, "A00000000", None, "A000000000", false),
        (ANumber, "AB1234567", None, "AB1234567", false),
        (Passport, "g 1234-5678", Some("MX"), "G12345678", true),
        (Passport, "p-123 456", Some("GT"), "P123456", true),
        (Passport, "12", Some("GT"), "12", false),
        (Plate, "abc-12-34", Some("MX"), "ABC1234", true),
        (Plate, "7ABC 123", Some("US-CA"), "7ABC123", true),
        (Plate, "X", Some("US"), "X", false),
        (
            Account,
            "032180000118359719",
            Some("MX"),
            "032180000118359719",
            true,
        ),
        (
            Account,
            "032180000118359718",
            Some("MX"),
            "032180000118359718",
            false,
        ),
        (
            Account,
            "032180000118359718",
            Some("US"),
            "032180000118359718",
            true,
        ),
        (
            Account,
            "GT82 TRAJ 0102 0000 0012 1002 9690",
            Some("GT"),
            "GT82TRAJ01020000001210029690",
            true,
        ),
        (
            Account,
            "GT83 TRAJ 0102 0000 0012 1002 9690",
            Some("GT"),
            "GT83TRAJ01020000001210029690",
            false,
        ),
        (Account, "12", None, "12", false),
        (Other, "  exp  123 ", None, "EXP 123", true),
    ];
    for (kind, raw, country, value, valid) in cases {
        check(*kind, raw, *country, value, *valid);
    }
}

#[test]
fn empty_is_invalid() {
    for kind in [
        IdKind::Phone,
        IdKind::Curp,
        IdKind::DpiCui,
        IdKind::ANumber,
        IdKind::Passport,
        IdKind::NationalId,
        IdKind::Plate,
    ] {
        let id = normalize_identifier(kind, "   ", Some("MX"));
        assert!(!id.valid);
        assert_eq!(id.problem.as_deref(), Some("empty"));
    }
}

#[test]
fn issuing_country() {
    let country = |kind, c| normalize_identifier(kind, "ABC12345", c).country;
    assert_eq!(country(IdKind::Curp, Some("US")), Some("MX".to_string()));
    assert_eq!(country(IdKind::DpiCui, None), Some("GT".to_string()));
    assert_eq!(country(IdKind::ANumber, Some("MX")), Some("US".to_string()));
    assert_eq!(
        country(IdKind::Passport, Some("gtm")),
        Some("GT".to_string())
    );
    assert_eq!(country(IdKind::Passport, Some("US-TX")), None);
    assert_eq!(
        country(IdKind::Plate, Some("us-tx")),
        Some("US-TX".to_string())
    );
    assert_eq!(country(IdKind::Plate, Some("Mexico")), None);
    // A valid phone carries the country its number belongs to.
    let phone = normalize_identifier(IdKind::Phone, "+502 2232 1234", Some("MX"));
    assert_eq!(phone.country.as_deref(), Some("GT"));
}

#[test]
fn national_ids_are_compacted_and_checked_for_length() {
    let id = normalize_identifier(IdKind::NationalId, "123-45 6789", Some("US"));
    assert!(id.valid);
    assert_eq!(id.value, "123456789");
    assert_eq!(id.country.as_deref(), Some("US"));
    let short = normalize_identifier(IdKind::NationalId, "12", Some("US"));
    assert!(!short.valid);
    assert!(IdKind::NationalId.is_official() && IdKind::NationalId.is_personal());
    assert!(!IdKind::Plate.is_personal() && !IdKind::Phone.is_official());
}
