//! `enlace import`

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use enlace_ingest::{ImportOptions, ImportOutcome, ImportReport, Progress};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct ImportArgs {
    /// The node's store directory (created if missing).
    #[arg(long)]
    pub store: PathBuf,
    /// The source's name in the store; the mapping's `source.name` by default.
    #[arg(long)]
    pub source: Option<String>,
    /// The mapping (TOML) that says what the file's columns mean; see docs/mapping.md.
    #[arg(long)]
    pub mapping: PathBuf,
    /// Where to write rejected rows; `<store>/rejects/<source>-<import>.csv` by default.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Rows per committed batch.
    #[arg(long, default_value_t = enlace_ingest::DEFAULT_BATCH_ROWS)]
    pub batch_rows: usize,
    /// Treat this date (YYYY-MM-DD) as today when rejecting future dates.
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The file to import: CSV, JSONL or Parquet.
    pub input: PathBuf,
}

pub fn run(args: ImportArgs) -> Result<()> {
    let report = import_file(&args)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

pub fn import_file(args: &ImportArgs) -> Result<ImportReport> {
    let mut opts = ImportOptions::new(&args.store, &args.mapping, &args.input);
    opts.source = args.source.clone();
    opts.rejects = args.rejects.clone();
    opts.batch_rows = args.batch_rows;
    if let Some(today) = args.today {
        opts.today = today;
    }
    let bar = if args.quiet || args.json {
        None
    } else {
        Some(progress_bar())
    };
    if let Some(bar) = &bar {
        let bar = bar.clone();
        opts.progress = Some(Arc::new(move |p: Progress| {
            bar.set_length(p.size);
            bar.set_position(p.position);
            bar.set_message(format!("{} rows", p.rows));
        }));
    }
    let result = enlace_ingest::import(&opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Import errors already name the file (and line and column where there is one).
    Ok(result?)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn print_report(r: &ImportReport) {
    let how = match r.outcome {
        ImportOutcome::New => "imported".to_string(),
        ImportOutcome::Resumed { from_row } => format!("resumed after row {from_row} and imported"),
        ImportOutcome::AlreadyImported => {
            "already imported with this mapping; nothing added".to_string()
        }
    };
    let c = &r.counts;
    outln!(
        "{} → source `{}` (import #{}): {how}",
        r.file,
        r.source,
        r.import_id
    );
    outln!(
        "  read {}  = stored {} + unchanged {} + updated {} + rejected {}   [{} {}, {:.2} s]",
        c.read,
        c.stored,
        c.unchanged,
        c.updated,
        c.rejected,
        r.format,
        r.encoding,
        r.seconds
    );
    if c.warned > 0 {
        outln!(
            "  {} stored with a warning (an invalid identifier kept but never matched, an unknown code)",
            c.warned
        );
    }
    if c.rejected > 0 {
        outln!(
            "  rejects with line, column and reason: {}",
            r.rejects_file.display()
        );
    }
}
