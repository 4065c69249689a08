//! Encoding throughput on one core for a typical record: given names, two surnames, birth date,
//! sex, two identifiers, phonetic keys, CLK and three blocking tokens (the default schema).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enlace_encode::{Encoder, ProjectSecret, Schema, write_encoding_file};
use enlace_model::Record;
use enlace_normalize::{IdKind, Identifier, PartialDate, PersonName, Sex, spanish_phonetic};
use std::hint::black_box;

const GIVEN: &[&str] = &[
    "maria guadalupe",
    "jose luis",
    "juan carlos",
    "ana",
    "maria",
    "jose",
    "juan",
    "luis",
    "carlos",
    "jorge",
    "francisco",
    "miguel angel",
    "rosa",
    "ana maria",
    "sofia",
    "valentina",
    "diego",
    "alejandro",
    "fernando",
    "ricardo",
    "pedro",
    "veronica",
    "patricia",
    "lucia",
    "elena",
    "carmen",
    "isabel",
    "manuel",
    "raul",
    "oscar",
    "javier",
    "hector",
    "gabriela",
    "daniela",
    "andrea",
    "monica",
    "silvia",
    "ramon",
    "sergio",
    "arturo",
    "mario",
];
const SURNAMES: &[&str] = &[
    "hernandez",
    "garcia",
    "lopez",
    "martinez",
    "gonzalez",
    "perez",
    "rodriguez",
    "sanchez",
    "ramirez",
    "cruz",
    "flores",
    "gomez",
    "morales",
    "vazquez",
    "reyes",
    "jimenez",
    "torres",
    "diaz",
    "gutierrez",
    "ruiz",
    "mendoza",
    "aguilar",
    "ortiz",
    "moreno",
    "castillo",
    "romero",
    "alvarez",
    "mendez",
    "chavez",
    "rivera",
    "juarez",
    "ramos",
    "dominguez",
    "herrera",
    "medina",
    "castro",
    "vargas",
    "guzman",
    "velazquez",
    "munoz",
    "rojas",
    "de la cruz",
    "salazar",
    "contreras",
    "estrada",
    "figueroa",
    "cortes",
    "navarro",
    "campos",
    "ayala",
    "xicara",
    "tzoc",
    "cojti",
    "ixcoy",
    "quispe",
    "chuc",
    "tun",
    "pech",
    "canul",
    "uc",
    "ek",
    "cab",
];

/// Spread-out synthetic people: names from the lists above, dates over 80 years, unique phones.
fn typical(i: usize) -> Record {
    let mix = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let pick = |shift: u32, n: usize| (mix >> shift) as usize % n;
    let given = GIVEN[pick(0, GIVEN.len())];
    let s1 = SURNAMES[pick(8, SURNAMES.len())];
    let s2 = SURNAMES[pick(16, SURNAMES.len())];
    let gl: Vec<String> = given.split(' ').map(str::to_string).collect();
    let id = |kind, value: &str| Identifier {
        kind,
        raw: value.to_string(),
        value: value.to_string(),
        country: Some("MX".to_string()),
        valid: true,
        problem: None,
    };
    Record {
        key: i.to_string(),
        name: PersonName {
            given_display: given.to_string(),
            surnames_display: format!("{s1} {s2}"),
            given_phonetic: Some(spanish_phonetic(&gl[0])),
            given: gl,
            surname1: Some(s1.to_string()),
            surname2: Some(s2.to_string()),
            surname1_phonetic: Some(spanish_phonetic(s1)),
            surname2_phonetic: Some(spanish_phonetic(s2)),
            ..PersonName::default()
        },
        birth_date: Some(PartialDate {
            year: 1940 + pick(24, 80) as i32,
            month: Some(1 + pick(32, 12) as u8),
            day: Some(1 + pick(40, 28) as u8),
            placeholder: false,
            ambiguous_order: false,
        }),
        sex: if pick(48, 2) == 0 {
            Sex::Female
        } else {
            Sex::Male
        },
        nationality: Some("MX".to_string()),
        identifiers: vec![
            id(IdKind::Phone, &format!("+5255{:08}", i)),
            id(IdKind::Curp, "GAHJ850314HDFRRN09"),
        ],
        events: Vec::new(),
        address: None,
        attributes: Vec::new(),
        warnings: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let secret = ProjectSecret::from_bytes(&[7u8; 32]).unwrap();
    let encoder = Encoder::new(&secret, Schema::default_with_id("bench")).unwrap();
    let records: Vec<Record> = (0..20_000).map(typical).collect();
    let mut group = c.benchmark_group("encode_typical_record");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.sample_size(10);
    group.bench_function("one_core/single_calls", |b| {
        b.iter(|| {
            for (i, r) in records.iter().enumerate() {
                black_box(encoder.encode(r, i as u64));
            }
        })
    });
    // On one thread, records taken in salt order, draws and values remembered within each salt.
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    group.bench_function("one_core/encode_all", |b| {
        b.iter(|| one_thread.install(|| black_box(encoder.encode_all(&records, |i, _| i as u64))))
    });
    // What `enlace encode` runs: the same, streamed into the file's bytes (here a buffer in
    // memory, reused from one iteration to the next as a file's pages would be).
    let mut file = std::io::Cursor::new(Vec::new());
    group.bench_function("one_core/write_encoding_file", |b| {
        b.iter(|| {
            file.get_mut().clear();
            file.set_position(0);
            one_thread
                .install(|| {
                    write_encoding_file(&encoder, &records, |i, _| i as u64, |_, _| 0, &mut file)
                })
                .unwrap();
            black_box(file.get_ref().len())
        })
    });
    // A session as a long-running encoding job uses it: warmed by earlier records.
    let mut session = encoder.session();
    for (i, r) in records.iter().enumerate() {
        black_box(session.encode(r, i as u64));
    }
    group.bench_function("one_core/session", |b| {
        b.iter(|| {
            for (i, r) in records.iter().enumerate() {
                black_box(session.encode(r, i as u64));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
