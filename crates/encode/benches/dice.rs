//! Dice comparisons per second for 1024-bit filters, many-vs-many, on every kernel path this CPU
//! supports, with two rayon threads (and one, to show the per-core rate).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enlace_encode::kernel::{FilterSet, search_many_vs_many_with, supported_paths};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const WORDS: usize = 16;

/// Filters about as full as encoded names (~30% of bits set).
fn random_set(rng: &mut ChaCha8Rng, n: usize) -> FilterSet {
    let mut set = FilterSet::new(WORDS).unwrap();
    let mut row = [0u64; WORDS];
    for _ in 0..n {
        for w in &mut row {
            *w = rng.random::<u64>() & rng.random::<u64>()
                | rng.random::<u64>() & rng.random::<u64>() & rng.random::<u64>();
        }
        set.push(&row).unwrap();
    }
    set
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let left = random_set(&mut rng, 1024);
    let right = random_set(&mut rng, 32 * 1024);
    let comparisons = (left.len() * right.len()) as u64;
    let mut group = c.benchmark_group("dice_1024bit_many_vs_many");
    group.throughput(Throughput::Elements(comparisons));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));
    for threads in [2, 1] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for path in supported_paths() {
            group.bench_function(format!("{}/{}-threads", path.name(), threads), |b| {
                b.iter(|| {
                    pool.install(|| {
                        black_box(
                            search_many_vs_many_with(path, &left, &right, 0.9)
                                .unwrap()
                                .len(),
                        )
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
