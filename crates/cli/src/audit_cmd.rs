//! `enlace audit verify|export`: checking a node's audit log and writing its disclosure
//! accounting.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, TimeZone, Utc};
use clap::{Args, Subcommand};
use enlace_audit::{Signatures, entries_in, verify, write_disclosures};
use enlace_node::node_dir::NodeDir;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the audit log's chain and signatures; fails, naming each entry, when it was edited,
    /// entries were removed, inserted or reordered, or the end was cut off.
    Verify(VerifyArgs),
    /// Write the disclosure accounting (date, nature, purpose, recipient) of a period as CSV.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The node's directory (from `enlace init`).
    #[arg(long)]
    pub dir: PathBuf,
    /// Check every entry's signature, not only the newest (which covers the chain).
    #[arg(long)]
    pub all_signatures: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The node's directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// First day (YYYY-MM-DD, UTC), inclusive.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD, UTC), inclusive.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// The CSV file to write (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify(args) => verify_log(args),
        AuditCommand::Export(args) => export(args),
    }
}

fn verify_log(args: VerifyArgs) -> Result<()> {
    let dir = NodeDir::new(&args.dir);
    let node = dir
        .load()
        .with_context(|| format!("loading the node in {}", args.dir.display()))?;
    let mode = if args.all_signatures {
        Signatures::All
    } else {
        Signatures::Newest
    };
    let report = verify(&dir.audit(), &node.identity.ed25519_public(), mode)
        .with_context(|| format!("verifying the audit log in {}", dir.audit().display()))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "{} entries, {} signature(s) checked{}",
            report.entries,
            report.signatures_checked,
            match (report.first_at, report.last_at) {
                (Some(a), Some(b)) => format!(", {} to {}", a.to_rfc3339(), b.to_rfc3339()),
                _ => String::new(),
            }
        );
        for p in &report.problems {
            outln!("  {p}");
        }
    }
    if !report.is_intact() {
        bail!(
            "the audit log is not intact: {} problem(s)",
            report.problems.len()
        );
    }
    if !args.json {
        outln!("intact");
    }
    Ok(())
}

fn export(args: ExportArgs) -> Result<()> {
    let dir = NodeDir::new(&args.dir);
    let node = dir
        .load()
        .with_context(|| format!("loading the node in {}", args.dir.display()))?;
    let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    if let (Some(f), Some(t)) = (args.from, args.to)
        && f > t
    {
        bail!("--from {f} is after --to {t}");
    }
    let from = args.from.map(day);
    let to = args.to.and_then(|d| d.succ_opt()).map(day);
    // Verify first: an accounting drawn from a tampered log would be worthless.
    let report = verify(
        &dir.audit(),
        &node.identity.ed25519_public(),
        Signatures::Newest,
    )?;
    if !report.is_intact() {
        bail!(
            "the audit log is not intact ({}); run `enlace audit verify`",
            report.problems[0]
        );
    }
    let entries = entries_in(&dir.audit(), from, to)?;
    let n = match &args.out {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            write_disclosures(&entries, f)?
        }
        None => write_disclosures(&entries, std::io::stdout().lock())?,
    };
    eprintln!(
        "{n} disclosure(s) of {} entries in the period",
        entries.len()
    );
    Ok(())
}
