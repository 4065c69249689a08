//! Throughput of the normalisers on a realistic mix: names in the three layouts (with accents,
//! particles, married names, abbreviations and nicknames), dates in several orders, identifiers.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enlace_normalize::name::FullNameOrder;
use enlace_normalize::{
    DateOrder, IdKind, NameInput, normalize_identifier, parse_date, parse_name,
};

const GIVEN: &[&str] = &[
    "José Luis",
    "María de los Ángeles",
    "Juan Carlos",
    "Ma. Guadalupe",
    "Lupe",
    "Francisco",
    "Fco. Javier",
    "Rosa",
    "Ana María",
    "Jesús",
    "Chuy",
    "Pedro",
    "Ximena",
    "José María",
    "María del Carmen",
    "Beto",
    "Guillermo",
    "Juan de Dios",
    "J. Antonio",
    "Carlos",
    "Mary",
    "Wendy",
    "Marvin",
    "Sonia",
    "Héctor",
    "Óscar",
    "Esperanza",
    "Toño",
    "Teresa",
    "Eduardo",
    "Juana",
    "Dolores",
];

const SURNAMES: &[&str] = &[
    "García",
    "López",
    "Hernández",
    "de la Cruz",
    "Xol",
    "Caal",
    "Tzul",
    "Pérez",
    "Rodríguez",
    "Martínez",
    "Ponce de León",
    "Vásquez",
    "Chen",
    "Pop",
    "Ixcoy",
    "Gómez",
    "Díaz",
    "Morales",
    "Reyes",
    "Jiménez",
    "Cux",
    "Tzunún",
    "Ramírez",
    "Flores",
    "Del Valle",
    "San Martín",
    "Quiñones",
    "Yáñez",
    "Ceballos",
    "Gutiérrez",
    "Sánchez",
    "Ortiz",
    "Castillo",
    "Méndez",
    "Aguilar",
    "Romero",
    "Ruiz",
    "Álvarez",
];

struct Names {
    given: Vec<String>,
    s1: Vec<String>,
    s2: Vec<String>,
    full: Vec<String>,
    full_sf: Vec<String>,
    last: Vec<String>,
}

/// 1,200 distinct names per layout, spread over the lists above; some upper case, some married.
fn names() -> Names {
    let n = 1200;
    let mut out = Names {
        given: vec![],
        s1: vec![],
        s2: vec![],
        full: vec![],
        full_sf: vec![],
        last: vec![],
    };
    for i in 0..n {
        let g = GIVEN[i % GIVEN.len()];
        let a = SURNAMES[(i / GIVEN.len() + i) % SURNAMES.len()];
        let b = SURNAMES[(i * 7 + 3) % SURNAMES.len()];
        let married = i % 17 == 0;
        let s1 = if married {
            format!("{a} de {b}")
        } else {
            a.to_string()
        };
        let s2 = if married {
            String::new()
        } else {
            b.to_string()
        };
        let upper = i % 3 == 0;
        let case = |s: String| if upper { s.to_uppercase() } else { s };
        out.full.push(case(format!("{g} {s1} {s2}")));
        out.full_sf.push(case(if i % 5 == 0 {
            format!("{s1} {s2}, {g}")
        } else {
            format!("{s1} {s2} {g}")
        }));
        out.last.push(case(if i % 4 == 0 {
            format!("{a}-{b}")
        } else {
            format!("{s1} {s2}")
        }));
        out.given.push(case(g.to_string()));
        out.s1.push(case(s1));
        out.s2.push(case(s2));
    }
    out
}

fn bench_names(c: &mut Criterion) {
    let n = names();
    let count = n.given.len() * 3;
    let mut group = c.benchmark_group("parse_name");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("mix_of_layouts", |b| {
        b.iter(|| {
            for i in 0..n.given.len() {
                let parts = NameInput::Parts {
                    given: &n.given[i],
                    surname1: &n.s1[i],
                    surname2: &n.s2[i],
                };
                let fml = NameInput::FirstMiddleLast {
                    first: &n.given[i],
                    middle: "",
                    last: &n.last[i],
                };
                let full = if i % 2 == 0 {
                    NameInput::Full {
                        full: &n.full[i],
                        order: FullNameOrder::GivenFirst,
                    }
                } else {
                    NameInput::Full {
                        full: &n.full_sf[i],
                        order: FullNameOrder::SurnamesFirst,
                    }
                };
                black_box(parse_name(black_box(parts)).ok());
                black_box(parse_name(black_box(fml)).ok());
                black_box(parse_name(black_box(full)).ok());
            }
        })
    });
    group.finish();
}

fn bench_dates_and_ids(c: &mut Criterion) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 15).unwrap_or_default();
    let dates = [
        "04/03/1990",
        "1990-03-04T10:00:00",
        "3 de marzo de 1990",
        "03/25/1990",
        "01/01/1985",
        "19900304",
    ];
    let mut group = c.benchmark_group("other");
    group.throughput(Throughput::Elements(dates.len() as u64));
    group.bench_function("parse_date", |b| {
        b.iter(|| {
            for d in dates {
                black_box(parse_date(black_box(d), DateOrder::Infer, today).ok());
            }
        })
    });
    let ids = [
        (IdKind::Curp, "HEGG560427MVZRRL04"),
        (IdKind::DpiCui, "1234 56789 0101"),
        (IdKind::ANumber, "A12345678"),
        (IdKind::Phone, "044 55 1234 5678"),
        (IdKind::Phone, "(202) 555-0143"),
    ];
    group.throughput(Throughput::Elements(ids.len() as u64));
    group.bench_function("normalize_identifier", |b| {
        b.iter(|| {
            for (kind, raw) in ids {
                let country = if raw.starts_with('(') { "US" } else { "MX" };
                black_box(normalize_identifier(kind, black_box(raw), Some(country)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_names, bench_dates_and_ids);
criterion_main!(benches);
