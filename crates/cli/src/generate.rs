//! `enlace generate`

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct GenerateArgs {
    /// Directory to write the scenario into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// How many distinct people to draw.
    #[arg(long, default_value_t = 10_000)]
    pub people: usize,
    /// Random seed: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GenerateArgs) -> Result<()> {
    let summary = generate(&args.out, args.people, args.seed)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "Scenario written to {} (seed {}, {} people):",
            args.out.display(),
            args.seed,
            args.people
        );
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}

pub fn generate(
    out: &std::path::Path,
    people: usize,
    seed: u64,
) -> Result<enlace_synth::GenerateSummary> {
    let opts = enlace_synth::GenerateOptions::new(people, seed);
    enlace_synth::generate(&opts, out)
        .with_context(|| format!("generating a scenario in {}", out.display()))
}
