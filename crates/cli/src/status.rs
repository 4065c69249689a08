//! `enlace status`

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use enlace_store::Store;

#[derive(Args)]
pub struct StatusArgs {
    /// The node's store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StatusArgs) -> Result<()> {
    if !args.store.join(enlace_store::DB_FILE).exists() {
        anyhow::bail!("no store at {}", args.store.display());
    }
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let sources = store.sources()?;
    let imports = store.imports()?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "sources": sources, "imports": imports })
            )?
        );
        return Ok(());
    }
    outln!("Sources:");
    for s in &sources {
        outln!(
            "  {:<20} {:<10} {}  {:>9} records  {} imports",
            s.name,
            s.agency.as_deref().unwrap_or("-"),
            s.country,
            s.records,
            s.imports
        );
    }
    outln!("Imports:");
    for i in &imports {
        let c = &i.counts;
        outln!(
            "  #{:<4} {:<20} {:<28} {:<9} read {} stored {} unchanged {} updated {} rejected {} (warned {})",
            i.id.0,
            i.source,
            i.file_name,
            format!("{:?}", i.status).to_lowercase(),
            c.read,
            c.stored,
            c.unchanged,
            c.updated,
            c.rejected,
            c.warned
        );
        if let Some(e) = &i.error {
            outln!("        error: {e}");
        }
    }
    Ok(())
}
