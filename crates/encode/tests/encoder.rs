mod common;

use common::*;
use enlace_encode::{Encoder, Field, SaltSource, Schema};
use enlace_normalize::{IdKind, Sex};

fn encoder(secret_byte: u8) -> Encoder {
    Encoder::new(&secret(secret_byte), Schema::default_with_id("test")).unwrap()
}

fn field_dice(
    e: &Encoder,
    a: &enlace_model::Record,
    b: &enlace_model::Record,
    field: Field,
) -> f64 {
    let i = e.schema().field_index(field).unwrap();
    e.encode(a, 0).fields[i].dice(&e.encode(b, 1).fields[i])
}

#[test]
fn same_secret_and_record_give_the_same_encoding() {
    let r = typical();
    let a = encoder(1).encode(&r, 7);
    let b = encoder(1).encode(&r, 7);
    assert_eq!(a, b);
    assert_eq!(a.reference, 7);
    // Every default field but the alternates and the event dates (the record has neither).
    let absent = |f| encoder(1).schema().field_index(f).unwrap();
    let all = (1u32 << a.fields.len()) - 1;
    assert_eq!(
        a.present,
        all & !(1 << absent(Field::GivenAlternates)) & !(1 << absent(Field::EventDates))
    );
    assert!(a.block_tokens.iter().all(Option::is_some));
    assert_eq!(a.id_hashes.len(), 2);
}

fn caught_on(dates: &[PartialDateParts]) -> enlace_model::Record {
    let mut r = typical();
    r.events = dates
        .iter()
        .map(|&(y, m, d)| enlace_model::Event {
            kind: "encounter".into(),
            id: None,
            date: Some(date(y, m, d)),
            place: None,
        })
        .collect();
    r
}

type PartialDateParts = (i32, u8, u8);

#[test]
fn event_dates_share_tokens_as_their_days_are_near() {
    let e = encoder(1);
    let dice = |a: &[PartialDateParts], b: &[PartialDateParts]| {
        field_dice(&e, &caught_on(a), &caught_on(b), Field::EventDates)
    };
    let day = (2024, 3, 1);
    assert_eq!(dice(&[day], &[day]), 1.0);
    // One journey: a fortnight, seven weeks (across a year's end too).
    assert!(dice(&[day], &[(2024, 3, 15)]) >= 0.6);
    assert!(dice(&[(2023, 12, 20)], &[(2024, 2, 5)]) >= 0.6);
    // Months apart within a year: some long windows shared.
    let months = dice(&[day], &[(2024, 9, 20)]);
    assert!((0.1..0.6).contains(&months), "{months}");
    // Years apart: nothing shared but the filter's chance collisions.
    assert!(dice(&[day], &[(2021, 6, 1)]) < 0.1);
    // The nearest of several events counts: a repeat encounter near the other's date.
    assert!(dice(&[(2019, 5, 5), day], &[(2024, 3, 10)]) >= 0.3);
    // A placeholder date is no event date.
    let mut placeholder = caught_on(&[(2024, 1, 1)]);
    if let Some(d) = placeholder.events[0].date.as_mut() {
        d.placeholder = true;
    }
    let i = e.schema().field_index(Field::EventDates).unwrap();
    assert!(!e.encode(&placeholder, 0).has_field(i));
}

fn met_in(events: &[(&str, &str)]) -> enlace_model::Record {
    let mut r = typical();
    r.events = events
        .iter()
        .map(|&(kind, id)| enlace_model::Event {
            kind: kind.into(),
            id: Some(id.into()),
            date: None,
            place: None,
        })
        .collect();
    r
}

#[test]
fn event_ids_become_keyed_tokens_shared_by_records_of_one_event() {
    let e = encoder(1);
    let tokens = |r: &enlace_model::Record| e.encode(r, 0).event_tokens;
    let one = tokens(&met_in(&[("encounter", "E-17")]));
    assert_eq!(one.len(), 1);
    assert_ne!(one[0], 0);
    // Another record of the same event: the same token; of another event, or of an event of
    // another kind with the same number, another.
    assert_eq!(tokens(&met_in(&[("encounter", " E-17 ")])), one);
    assert_ne!(tokens(&met_in(&[("encounter", "E-18")])), one);
    assert_ne!(tokens(&met_in(&[("case", "E-17")])), one);
    // Another secret, other tokens: the linkage unit cannot hash ids it guesses.
    assert_ne!(
        encoder(2)
            .encode(&met_in(&[("encounter", "E-17")]), 0)
            .event_tokens,
        one
    );
    // Sorted and distinct, events without an id left out, at most the schema's slots.
    let many = tokens(&met_in(&[
        ("encounter", "E-5"),
        ("encounter", "E-4"),
        ("encounter", "E-5"),
        ("encounter", ""),
        ("crossing", "C-1"),
        ("encounter", "E-3"),
        ("encounter", "E-2"),
    ]));
    assert_eq!(many.len(), usize::from(e.schema().event_slots));
    assert!(many.windows(2).all(|w| w[0] < w[1]), "{many:?}");
    let mut no_id = met_in(&[("encounter", "E-17")]);
    no_id.events[0].id = None;
    assert!(tokens(&no_id).is_empty());
    // A schema without event slots sends none.
    let mut schema = Schema::default_with_id("enc-test");
    schema.event_slots = 0;
    let bare = Encoder::new(&secret(1), schema).unwrap();
    assert!(
        bare.encode(&met_in(&[("encounter", "E-17")]), 0)
            .event_tokens
            .is_empty()
    );
}

#[test]
fn different_secrets_give_unrelated_filters() {
    let r = typical();
    let a = encoder(1).encode(&r, 0);
    let b = encoder(2).encode(&r, 0);
    for (i, (x, y)) in a.fields.iter().zip(&b.fields).enumerate() {
        if !a.has_field(i) {
            assert!(
                x.is_empty() && y.is_empty(),
                "absent field {i} is not empty"
            );
            continue;
        }
        // Random filters with fill ratios p and q share about p·q·m bits: Dice ≈ 2pq/(p+q).
        let (p, q) = (
            x.count_ones() as f64 / 1024.0,
            y.count_ones() as f64 / 1024.0,
        );
        let baseline = 2.0 * p * q / (p + q);
        let d = x.dice(y);
        assert!(
            (d - baseline).abs() < 0.15,
            "field {i}: dice {d:.3} vs random baseline {baseline:.3}"
        );
    }
    let d = a.clk.as_ref().unwrap().dice(b.clk.as_ref().unwrap());
    assert!(d < 0.45, "clk dice {d}");
    assert_ne!(a.id_hashes, b.id_hashes);
    assert_ne!(a.block_tokens, b.block_tokens);
}

#[test]
fn similar_names_score_high_and_different_names_low() {
    let e = encoder(3);
    let base = typical();
    let typo = person(
        "maria guadalupe",
        "hernandes",
        "lopes",
        base.birth_date,
        Sex::Female,
    );
    let other = person("jose luis", "ramirez", "castro", base.birth_date, Sex::Male);
    let s_typo = field_dice(&e, &base, &typo, Field::Surname1);
    let s_other = field_dice(&e, &base, &other, Field::Surname1);
    assert!(s_typo > 0.75, "hernandez/hernandes {s_typo}");
    assert!(s_other < 0.4, "hernandez/ramirez {s_other}");
    assert_eq!(field_dice(&e, &base, &typo, Field::Given), 1.0);
    let clk_typo = e
        .encode(&base, 0)
        .clk
        .unwrap()
        .dice(&e.encode(&typo, 1).clk.unwrap());
    let clk_other = e
        .encode(&base, 0)
        .clk
        .unwrap()
        .dice(&e.encode(&other, 1).clk.unwrap());
    assert!(
        clk_typo > 0.85 && clk_other < 0.6,
        "clk {clk_typo} vs {clk_other}"
    );
}

#[test]
fn only_valid_identifiers_are_encoded() {
    let e = encoder(4);
    let mut r = typical();
    r.identifiers = vec![
        id(IdKind::Phone, "+525512345678", Some("MX"), true),
        id(IdKind::Phone, "123", Some("MX"), false),
        id(IdKind::Passport, "G1234567", None, true),
        id(IdKind::Passport, "G1234567", Some("MX"), true),
        id(IdKind::Phone, "+525512345678", Some("MX"), true),
    ];
    let enc = e.encode(&r, 0);
    let kinds: Vec<IdKind> = enc.id_hashes.iter().map(|h| h.kind).collect();
    assert_eq!(kinds, [IdKind::Phone, IdKind::Passport]);
    // The same passport number issued by another country is another identifier.
    let mut r2 = r.clone();
    r2.identifiers = vec![id(IdKind::Passport, "G1234567", Some("GT"), true)];
    let other = e.encode(&r2, 0);
    assert!(!enc.id_hashes[1].ct_eq(&other.id_hashes[0]));
}

#[test]
fn matching_records_share_blocking_tokens() {
    let e = encoder(5);
    let a = typical();
    let mut b = person("maria", "hernandez", "lopez", a.birth_date, Sex::Female);
    b.identifiers.clear();
    let (ea, eb) = (e.encode(&a, 0), e.encode(&b, 1));
    assert_eq!(ea.block_tokens, eb.block_tokens);
    let c = person(
        "maria",
        "hernandez",
        "lopez",
        Some(date(1986, 3, 14)),
        Sex::Female,
    );
    assert_ne!(ea.block_tokens[0], e.encode(&c, 2).block_tokens[0]);
    let mut d = a.clone();
    d.birth_date = None;
    assert_eq!(e.encode(&d, 3).block_tokens, vec![None, None, None]);
}

#[test]
fn absent_fields_are_empty_and_marked() {
    let e = encoder(6);
    let r = person("ana", "ruiz", "", None, Sex::Unknown);
    let enc = e.encode(&r, 0);
    for f in [Field::Surname2, Field::BirthDate, Field::Sex] {
        let i = e.schema().field_index(f).unwrap();
        assert!(!enc.has_field(i) && enc.fields[i].is_empty(), "{f:?}");
    }
    assert!(enc.has_field(e.schema().field_index(Field::Given).unwrap()));
}

#[test]
fn salting_separates_birth_years() {
    let mut schema = Schema::default_with_id("salted");
    schema.hardening.salt = Some(SaltSource::BirthYear);
    let e = Encoder::new(&secret(7), schema).unwrap();
    let a = typical();
    let mut b = a.clone();
    b.birth_date = Some(date(1990, 3, 14));
    let i = e.schema().field_index(Field::Surname1).unwrap();
    assert_eq!(e.encode(&a, 0).fields[i], e.encode(&a.clone(), 0).fields[i]);
    assert!(e.encode(&a, 0).fields[i].dice(&e.encode(&b, 0).fields[i]) < 0.5);
}

#[test]
fn bit_flips_are_deterministic_and_bounded() {
    let mut schema = Schema::default_with_id("blip");
    schema.hardening.flip_ppm = 20_000;
    let e = Encoder::new(&secret(8), schema).unwrap();
    let plain = encoder(8);
    let r = typical();
    assert_eq!(e.encode(&r, 0), e.encode(&r, 0));
    let i = e.schema().field_index(Field::Given).unwrap();
    let d = e.encode(&r, 0).fields[i].dice(&e.encode(&r, 0).fields[i]);
    assert_eq!(d, 1.0);
    // Different schema → different keys; just check the noisy filter is still a plausible size.
    let ones = e.encode(&r, 0).fields[i].count_ones();
    let plain_ones = plain.encode(&r, 0).fields[i].count_ones();
    assert!(ones.abs_diff(plain_ones) < 120, "{ones} vs {plain_ones}");
}

#[test]
fn references_are_stable_and_keyed() {
    let (a, b) = (encoder(1), encoder(2));
    assert_eq!(a.reference_for("R-1"), a.reference_for("R-1"));
    assert_ne!(a.reference_for("R-1"), a.reference_for("R-2"));
    assert_ne!(a.reference_for("R-1"), b.reference_for("R-1"));
}

#[test]
fn parallel_encoding_matches_sequential() {
    // More records than one run of `encode_all`, in no order of birth year (some without one),
    // with names repeating across years: encoded in salt order with remembered draws, they must
    // come back in input order and equal to one-by-one encoding.
    for salted in [false, true] {
        let mut schema = Schema::default_with_id("parallel");
        schema.hardening.salt = salted.then_some(SaltSource::BirthYear);
        let e = Encoder::new(&secret(9), schema).unwrap();
        let records: Vec<_> = (0..4500u32)
            .map(|i| {
                let year = (i * 7919 % 13 != 0).then(|| {
                    date(
                        1950 + (i * 31 % 60) as i32,
                        1 + (i % 12) as u8,
                        1 + (i % 28) as u8,
                    )
                });
                person(
                    ["juan", "maria jose", "ana", "tzunun"][(i % 4) as usize],
                    &format!("perez{}", i % 97),
                    "gomez",
                    year,
                    if i % 2 == 0 { Sex::Male } else { Sex::Female },
                )
            })
            .collect();
        let par = e.encode_all(&records, |i, _| i as u64 * 3);
        assert_eq!(par.len(), records.len());
        for (i, r) in records.iter().enumerate() {
            assert_eq!(
                par[i],
                e.encode(r, i as u64 * 3),
                "salted {salted}, record {i}"
            );
        }
    }
}

#[test]
fn secrets_never_print() {
    let s = secret(0xab);
    let shown = format!(
        "{s:?} {:?}",
        Encoder::new(&s, Schema::default_with_id("x")).unwrap()
    );
    assert!(!shown.contains("ab") || !shown.contains("abab"), "{shown}");
    assert!(shown.contains("redacted"));
}

#[test]
fn secret_files_hold_raw_bytes_or_hex() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::write(&raw, [9u8; 32]).unwrap();
    let hexf = dir.path().join("hex");
    std::fs::write(&hexf, format!("{}\n", "09".repeat(32))).unwrap();
    let a = enlace_encode::ProjectSecret::from_file(&raw).unwrap();
    let b = enlace_encode::ProjectSecret::from_file(&hexf).unwrap();
    assert_eq!(a.to_hex().as_str(), b.to_hex().as_str());
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "not a secret").unwrap();
    let msg = enlace_encode::ProjectSecret::from_file(&bad)
        .unwrap_err()
        .to_string();
    assert!(!msg.contains("not a secret"), "{msg}");
    assert!(enlace_encode::ProjectSecret::from_bytes(&[0u8; 32]).is_err());
    assert!(enlace_encode::ProjectSecret::from_bytes(&[1u8; 31]).is_err());
}

#[test]
fn sessions_encode_exactly_like_single_calls() {
    for salted in [false, true] {
        let mut schema = Schema::default_with_id("session");
        // Both ways, whatever the default is.
        schema.hardening.salt = salted.then_some(SaltSource::BirthYear);
        let e = Encoder::new(&secret(10), schema).unwrap();
        let mut session = e.session();
        for round in 0..2 {
            for i in 0..40 {
                let r = person(
                    "ana maria",
                    &format!("soto{}", i % 7),
                    "vega",
                    Some(date(1970 + i % 5, 1 + (i % 12) as u8, 9)),
                    Sex::Female,
                );
                assert_eq!(
                    session.encode(&r, i as u64),
                    e.encode(&r, i as u64),
                    "round {round} record {i}"
                );
            }
        }
    }
}

/// A record with any mix of names (accents, spaces at the edges, blanks, long ones), alternates,
/// partial, placeholder and ambiguous dates, sex and nationality.
fn any_record() -> impl proptest::strategy::Strategy<Value = enlace_model::Record> {
    use proptest::prelude::*;
    let name = || proptest::string::string_regex("( ?[a-cñé]{1,4}){0,3} ?").unwrap();
    let date = proptest::option::of((
        // Few dates, so that the same date comes with other flags in one run.
        1998i32..2001,
        proptest::option::of(1u8..4),
        proptest::option::of(1u8..4),
        any::<bool>(),
        any::<bool>(),
    ));
    (
        proptest::collection::vec(name(), 0..3),
        proptest::collection::vec(name(), 0..2),
        proptest::option::of(name()),
        proptest::option::of(name()),
        proptest::option::of(name()),
        date,
        0u8..3,
        proptest::option::of(prop_oneof![Just("mx"), Just("GT")]),
    )
        .prop_map(
            |(given, alternates, s1, s2, married, date, sex, nationality)| {
                let mut r = person("", "", "", None, Sex::Unknown);
                r.name.given = given;
                r.name.given_alternates = alternates;
                r.name.surname1 = s1;
                r.name.surname2 = s2;
                r.name.married_surname = married;
                r.birth_date = date.map(|(year, month, day, placeholder, ambiguous_order)| {
                    enlace_normalize::PartialDate {
                        year,
                        month,
                        day,
                        placeholder,
                        ambiguous_order,
                    }
                });
                r.sex = [Sex::Male, Sex::Female, Sex::Unknown][usize::from(sex)];
                r.nationality = nationality.map(str::to_string);
                r
            },
        )
}

/// Every field there is, in filters and in the CLK.
fn every_field_schema(salted: bool) -> Schema {
    use enlace_encode::{ClkField, FieldSpec};
    let mut schema = Schema::default_with_id("every-field");
    for field in [
        Field::GivenFirst,
        Field::MarriedSurname,
        Field::Surnames,
        Field::Nationality,
    ] {
        schema.fields.push(FieldSpec { field, k: 12 });
    }
    if let Some(clk) = schema.clk.as_mut() {
        for field in [Field::Names, Field::GivenAlternates, Field::Phonetic] {
            clk.fields.push(ClkField { field, k: 5 });
        }
    }
    schema.hardening.salt = salted.then_some(SaltSource::BirthYear);
    schema
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Everything a session remembers (token draws, name texts, whole dates), through a
    /// session, through `encode_all` and through the streamed file, gives what encoding each
    /// record alone gives.
    #[test]
    fn remembered_encodings_equal_fresh_ones(
        records in proptest::collection::vec(any_record(), 1..60),
        salted: bool,
    ) {
        let e = Encoder::new(&secret(12), every_field_schema(salted)).unwrap();
        let fresh: Vec<_> = records.iter().enumerate().map(|(i, r)| e.encode(r, i as u64)).collect();
        let mut session = e.session();
        for round in 0..2 {
            for (i, r) in records.iter().enumerate() {
                proptest::prop_assert_eq!(&session.encode(r, i as u64), &fresh[i], "round {} record {}", round, i);
            }
        }
        let all = e.encode_all(&records, |i, _| i as u64);
        proptest::prop_assert_eq!(&all, &fresh);
        let whole = enlace_encode::EncodingFile {
            schema: e.schema().clone(),
            key_check: e.key_check(),
            records: fresh,
        }
        .to_bytes()
        .unwrap();
        let mut doubled = records.clone();
        doubled.extend(records.iter().cloned());
        let mut out = std::io::Cursor::new(Vec::new());
        enlace_encode::write_encoding_file(&e, &doubled, |i, _| (i % records.len()) as u64, |_, _| 0, &mut out).unwrap();
        let streamed = enlace_encode::EncodingFile::from_bytes(out.get_ref()).unwrap();
        let again = enlace_encode::EncodingFile::from_bytes(&whole).unwrap();
        proptest::prop_assert_eq!(&streamed.records[..records.len()], &again.records[..]);
        proptest::prop_assert_eq!(&streamed.records[records.len()..], &again.records[..]);
    }
}

#[test]
fn a_session_that_stops_remembering_still_encodes_exactly() {
    // Unsalted, so one memo sees every record: dates and given names that never repeat, past
    // a full table and the look-ups after which remembering them is judged not to pay, then
    // repeated ones.
    let mut schema = Schema::default_with_id("rarely-found");
    schema.hardening.salt = None;
    let e = Encoder::new(&secret(13), schema).unwrap();
    let mut session = e.session();
    for i in 0..14_000u32 {
        let r = person(
            &format!("n{i}"),
            "soto",
            "vega",
            Some(date(
                1900 + (i / 336) as i32,
                1 + (i / 28 % 12) as u8,
                1 + (i % 28) as u8,
            )),
            Sex::Female,
        );
        assert_eq!(session.encode(&r, 0), e.encode(&r, 0), "record {i}");
    }
    let again = person("n1", "soto", "vega", Some(date(1900, 1, 2)), Sex::Female);
    assert_eq!(session.encode(&again, 0), e.encode(&again, 0));
}
