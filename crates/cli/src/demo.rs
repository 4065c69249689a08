//! `enlace demo`: the whole story on one machine. It generates the trilateral scenario, starts
//! three agency nodes (US, MX, GT) and a linkage unit as separate processes on loopback with
//! mutual TLS, imports each agency's file into its own node, runs a three-party linkage project
//! over the nodes' APIs, and tells what happened at each step; then it keeps the nodes up for
//! people to sign in until Ctrl-C (or stops them, with `--exit`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::demo_nodes::Federation;
use clap::Args;
use enlace_store::Store;

use crate::import::{ImportArgs, import_file, print_report};

#[derive(Args)]
pub struct DemoArgs {
    /// Working directory for the demo's data and node stores.
    #[arg(long, default_value = "enlace-demo")]
    pub dir: PathBuf,
    /// People in the generated scenario.
    #[arg(long, default_value_t = 5_000)]
    pub people: usize,
    /// Random seed of the scenario.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Stop at the end of the story (for scripts and tests).
    #[arg(long)]
    pub exit: bool,
}

/// The three agencies of the demo: node name, their file and mapping in the generated scenario.
const AGENCIES: &[(&str, &str, &str)] = &[
    ("us", "us-encounters.csv", "us-encounters.toml"),
    ("mx", "mx-registros.csv", "mx-registros.toml"),
    ("gt", "gt-registros.csv", "gt-registros.toml"),
];

/// Marks a directory as the demo's own, so a rerun may clear it and nothing else ever is.
const MARKER: &str = ".enlace-demo";

fn prepare_dir(dir: &std::path::Path) -> Result<()> {
    if dir.exists() {
        let ours = dir.join(MARKER).exists();
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_none();
        if !ours && !empty {
            anyhow::bail!(
                "{} exists and is not a demo directory; choose another with --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("clearing the previous demo in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "A directory made by `enlace demo`; the next demo run clears it.\n",
    )
    .with_context(|| format!("writing into {}", dir.display()))?;
    Ok(())
}

/// The import of one agency's generated file into its node's store.
fn agency_import(
    store: &std::path::Path,
    data: &std::path::Path,
    file: &str,
    mapping: &str,
) -> ImportArgs {
    ImportArgs {
        store: store.to_path_buf(),
        source: None,
        mapping: data.join("mappings").join(mapping),
        rejects: None,
        batch_rows: enlace_ingest::DEFAULT_BATCH_ROWS,
        today: None,
        json: false,
        quiet: true,
        input: data.join(file),
    }
}

/// Counts of equal reasons, most frequent first (ties in first-seen order).
fn tally(reasons: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for reason in reasons {
        match counts.iter_mut().find(|(k, _)| *k == reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((reason, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
}

pub fn run(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    prepare_dir(&args.dir)?;
    let data = args.dir.join("data");
    outln!(
        "Enlace demo — {} people, seed {}, in {}",
        args.people,
        args.seed,
        args.dir.display()
    );
    outln!("\n1. Generating a synthetic trilateral scenario (US, MX, GT) with ground truth…");
    crate::generate::generate(&data, args.people, args.seed)?;
    for (_, file, _) in AGENCIES {
        let size = std::fs::metadata(data.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        outln!("   {file:<22} {:>8} KiB", size / 1024);
    }

    outln!(
        "\n2. Four nodes start as separate processes, talking HTTPS with pinned mutual TLS on loopback:"
    );
    let mut fed = Federation::create(&args.dir.join("nodes"))?;
    fed.start()?;
    for (id, url) in &fed.urls {
        let what = if id == "lu" {
            "linkage unit".to_string()
        } else {
            format!("{} agency", id.to_uppercase())
        };
        outln!("   {id:<3} {what:<14} {url}");
    }

    outln!(
        "\n3. Each agency imports its own file into its own node, through its declared mapping:"
    );
    for (node, file, mapping) in AGENCIES {
        let store = fed.dir(node).join("records");
        let report = import_file(&agency_import(&store, &data, file, mapping))?;
        out!("   [{}] ", node.to_uppercase());
        print_report(&report);
        let store = Store::open(&store)?;
        let import_id = enlace_store::ImportId(report.import_id);
        let rejects = store.rejects(import_id)?;
        let rejected = rejects
            .iter()
            .map(|r| format!("{}: {}", r.column.as_deref().unwrap_or("row"), r.reason));
        for (reason, n) in tally(rejected).iter().take(4) {
            outln!("      rejected {n} × {reason}");
        }
        for (warning, n) in tally(store.warnings(import_id, 1_000)?.into_iter())
            .iter()
            .take(4)
        {
            outln!("      kept with a warning {n} × {warning}");
        }
    }
    outln!("   Importing the same files again adds nothing:");
    for (node, file, mapping) in AGENCIES {
        let report = import_file(&agency_import(
            &fed.dir(node).join("records"),
            &data,
            file,
            mapping,
        ))?;
        outln!(
            "   [{}] {} — {:?}",
            node.to_uppercase(),
            report.file,
            report.outcome
        );
    }

    crate::demo_linkage::run(&fed, &data)?;
    crate::demo_exchange::run(&fed)?;
    crate::demo_network::run(&fed, &data)?;

    outln!(
        "\nDone in {:.1} s. Nodes: {}/nodes/{{us,mx,gt,lu}} (records, keys, audit logs, server.log); ground truth: {}/truth.",
        started.elapsed().as_secs_f64(),
        args.dir.display(),
        data.display()
    );
    outln!(
        "Beyond the demo, as commands: follow-up requests and releases (`enlace request`, `inbox`, `decide`, `released`, `policy`), the audit log (`enlace audit`) and network analysis (`enlace network`)."
    );
    if args.exit {
        fed.stop();
        return Ok(());
    }
    outln!(
        "\nThe nodes stay up until Ctrl-C. Open a node's URL in a browser (its certificate is self-signed: accept it once) and sign in:"
    );
    for (id, url) in &fed.urls {
        for a in fed.accounts.iter().filter(|a| &a.node == id) {
            outln!(
                "   {url}  {:<14} {:<9} {}",
                a.name,
                a.role.to_string(),
                a.password
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(crate::node_cmd::shutdown_signal());
    outln!("stopping the nodes…");
    fed.stop();
    Ok(())
}
