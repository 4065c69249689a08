use criterion::{Criterion, criterion_group, criterion_main};

fn names(c: &mut Criterion) {
    c.bench_function("parse_name/parts", |b| {
        b.iter(|| {
            enlace_normalize::parse_name(enlace_normalize::NameInput::Parts {
                given: "María de los Ángeles",
                surname1: "García",
                surname2: "López",
            })
        })
    });
}

criterion_group!(benches, names);
criterion_main!(benches);
