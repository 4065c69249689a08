//! Prints comparisons per second for each kernel path, by wall clock and per CPU-second of this
//! process (which stays meaningful when other work shares the cores). Linux only for the CPU
//! figure (it reads /proc/self/stat).
//!
//! cargo run --release -p enlace-encode --example throughput

use enlace_encode::kernel::{FilterSet, search_many_vs_many_with, supported_paths};
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

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut make = |n: usize| {
        let mut set = FilterSet::new(16).unwrap();
        for _ in 0..n {
            let row: Vec<u64> = (0..16)
                .map(|_| rng.random::<u64>() & rng.random::<u64>())
                .collect();
            set.push(&row).unwrap();
        }
        set
    };
    let left = make(2048);
    let right = make(64 * 1024);
    let comparisons = (left.len() * right.len()) as f64;
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for path in supported_paths() {
            let reps = if path.name() == "portable" { 1 } else { 3 };
            let (t0, c0) = (Instant::now(), cpu_seconds());
            for _ in 0..reps {
                pool.install(|| search_many_vs_many_with(path, &left, &right, 0.9).unwrap());
            }
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
            let n = comparisons * reps as f64;
            println!(
                "{:>17} {threads} thread(s): {:7.1} M comparisons/s wall, {:7.1} M per CPU-second",
                path.name(),
                n / wall / 1e6,
                n / cpu.max(1e-9) / 1e6
            );
        }
        // The AVX-512 path stops comparing a block of eight once none can reach the threshold,
        // so its speed depends on the threshold: lower ones, for the record.
        for threshold in [0.8, 0.7, 0.6, 0.5] {
            let Some(path) = supported_paths().into_iter().next() else {
                continue;
            };
            let (t0, c0) = (Instant::now(), cpu_seconds());
            pool.install(|| search_many_vs_many_with(path, &left, &right, threshold).unwrap());
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
            println!(
                "{:>17} {threads} thread(s) at threshold {threshold}: {:7.1} M comparisons/s wall, {:7.1} M per CPU-second",
                path.name(),
                comparisons / wall / 1e6,
                comparisons / cpu.max(1e-9) / 1e6
            );
        }
    }
}
