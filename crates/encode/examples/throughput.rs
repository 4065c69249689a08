//! Prints comparisons per second for each kernel path, by wall clock and per CPU-second of this
//! process (which stays meaningful when other work shares the cores). Linux only for the CPU
//! figure (it reads /proc/self/stat).
//!
//! cargo run --release -p enlace-encode --example throughput
#![deny(clippy::unwrap_used, clippy::expect_used)]

use enlace_encode::kernel::{FilterSet, Path, search_many_vs_many_with, supported_paths};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn cpu_seconds() -> f64 {
    // utime and stime, fields 14 and 15, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Comparisons per wall second and per CPU-second of `reps` searches of `left` against `right`.
fn measure(
    pool: &rayon::ThreadPool,
    path: Path,
    (left, right): (&FilterSet, &FilterSet),
    threshold: f64,
    reps: usize,
) -> Res<(f64, f64)> {
    let (t0, c0) = (Instant::now(), cpu_seconds());
    for _ in 0..reps {
        pool.install(|| search_many_vs_many_with(path, left, right, threshold))?;
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let n = (left.len() * right.len() * reps) as f64;
    Ok((n / wall / 1e6, n / cpu.max(1e-9) / 1e6))
}

fn main() -> Res<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut make = |n: usize| -> Res<FilterSet> {
        let mut set = FilterSet::new(16)?;
        for _ in 0..n {
            let row: Vec<u64> = (0..16)
                .map(|_| rng.random::<u64>() & rng.random::<u64>())
                .collect();
            set.push(&row)?;
        }
        Ok(set)
    };
    let sets = (&make(2048)?, &make(64 * 1024)?);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        for path in supported_paths() {
            let reps = if path.name() == "portable" { 1 } else { 3 };
            let (wall, cpu) = measure(&pool, path, sets, 0.9, reps)?;
            println!(
                "{:>17} {threads} thread(s): {wall:7.1} M comparisons/s wall, {cpu:7.1} M per CPU-second",
                path.name(),
            );
        }
        // The AVX-512 path stops comparing a block of eight once none can reach the threshold,
        // so its speed depends on the threshold: lower ones, for the record (on the fastest
        // path; `scripts/bench` reads only the lines above).
        if let Some(path) = supported_paths().into_iter().next() {
            for threshold in [0.85, 0.8, 0.75, 0.7, 0.6, 0.5] {
                let (wall, cpu) = measure(&pool, path, sets, threshold, 1)?;
                println!(
                    "{:>17} {threads} thread(s) at threshold {threshold}: {wall:7.1} M comparisons/s wall, {cpu:7.1} M per CPU-second",
                    path.name(),
                );
            }
        }
    }
    Ok(())
}
