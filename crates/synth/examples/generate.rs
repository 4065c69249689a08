//! Generates a scenario: `cargo run --release -p enlace-synth --example generate -- DIR PEOPLE SEED`.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "scenario".into());
    let people: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let started = Instant::now();
    let summary = enlace_synth::generate(
        &enlace_synth::GenerateOptions::new(people, seed),
        out.as_ref(),
    )?;
    eprintln!(
        "{} people, {} records in {:.1?}",
        summary.people,
        summary.records.total(),
        started.elapsed()
    );
    Ok(())
}
