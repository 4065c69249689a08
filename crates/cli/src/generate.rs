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
    let spinner = (!args.json).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("generating {} people…", args.people));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let summary = generate(&args.out, args.people, args.seed);
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!(
            "Scenario written to {} (seed {}, {} people):",
            args.out.display(),
            args.seed,
            args.people
        );
        // The summary's shape belongs to the generator: show its headline figures and leave
        // the rest to summary.json.
        let v = serde_json::to_value(&summary)?;
        for (source, file) in [
            ("us", "us-encounters.csv"),
            ("mx", "mx-registros.csv"),
            ("gt", "gt-registros.csv"),
        ] {
            outln!(
                "  {file:<20} {:>9} records",
                v["records"][source].as_u64().unwrap_or(0)
            );
        }
        outln!(
            "  planted networks: {}   true record pairs: {}",
            v["networks"],
            v["true_pairs"]
        );
        outln!(
            "  mappings in {0}/mappings, ground truth in {0}/truth, all figures in {0}/summary.json",
            args.out.display()
        );
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
