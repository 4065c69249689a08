//! Import throughput and memory: CSV → normalised → SQLite, on the generated US file.
//!
//! `cargo bench -p enlace-ingest --bench import -- [PEOPLE...]` generates a scenario per size
//! (1,000,000 people gives about 1.13 M US rows), imports its US file into a fresh store and
//! prints rows/s and the peak resident memory of the import alone (the peak is reset after
//! generating, through /proc/self/clear_refs). Several sizes show whether memory stays flat.

use std::path::Path;
use std::time::Instant;

use enlace_ingest::{ImportOptions, import};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak_rss() {
    // Writing 5 resets the peak resident set size (Linux ≥ 4.0); elsewhere the figure includes
    // the generator's own peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn run(people: usize, dir: &Path) {
    let data = dir.join(format!("data-{people}"));
    let summary = enlace_synth::generate(&enlace_synth::GenerateOptions::new(people, 42), &data)
        .expect("generating the scenario");
    drop(summary);
    let input = data.join("us-encounters.csv");
    let size = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let store = dir.join(format!("store-{people}"));
    reset_peak_rss();
    let started = Instant::now();
    let mut opts = ImportOptions::new(&store, &data.join("mappings/us-encounters.toml"), &input);
    opts.today = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).expect("a valid date");
    let report = import(&opts).expect("import");
    let secs = started.elapsed().as_secs_f64();
    let rows = report.counts.read;
    println!(
        "import us-encounters.csv  people {people:>9}  rows {rows:>9}  file {:>6.1} MB  {secs:>6.2} s  {:>9.0} rows/s  peak RSS {:>6.1} MB  (stored {}, rejected {})",
        size as f64 / 1e6,
        rows as f64 / secs,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        report.counts.stored,
        report.counts.rejected,
    );
}

fn main() {
    // `cargo bench` passes "--bench"; `cargo test --all-targets` does not, and then one small
    // size is run as a smoke test. Every other argument is a size.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|a| a == "--bench");
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = match (benching, sizes.is_empty()) {
        (false, _) => vec![2_000],
        (true, true) => vec![100_000, 300_000, 1_000_000],
        (true, false) => sizes,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "cores: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for people in sizes {
        run(people, dir.path());
    }
}
