//! `enlace`: every step of Enlace from the shell — generate a scenario, import an agency's files,
//! inspect a store, run the demo, make and serve a node.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// `println!` for the command's output: a closed pipe (`enlace status | head`) ends the program
/// quietly instead of panicking, as a shell user expects.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::output_failed(e);
        }
    }};
}

/// `print!` with the same handling of a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            $crate::output_failed(e);
        }
    }};
}

mod audit_cmd;
mod csv_rows;
mod demo;
mod demo_exchange;
mod demo_linkage;
mod demo_network;
mod demo_nodes;
mod encode;
mod evaluate;
mod exchange_cmd;
mod generate;
mod import;
mod link;
mod network;
mod node_cmd;
mod policy_cmd;
mod project_cmd;
mod query_cmd;
mod release_cmd;
mod review_cmd;
mod status;

use anyhow::Result;
use clap::{Parser, Subcommand};

// Import allocates records on the normalising threads and frees them on the writer thread;
// glibc's allocator spends a third of the import's time on such cross-thread frees, mimalloc
// little.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Enlace: find the same people, phones, vehicles and accounts across agencies' records without
/// handing over raw data, and investigate the networks those links reveal.
#[derive(Parser)]
#[command(name = "enlace", version, propagate_version = true)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug). Logs never contain personal data.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole story on this machine with synthetic data.
    Demo(demo::DemoArgs),
    /// Write a synthetic trilateral scenario: three agencies' files, their mappings, ground truth.
    Generate(generate::GenerateArgs),
    /// Import a file into a node's store through a declared mapping.
    Import(import::ImportArgs),
    /// Link records: deduplicate each source and link across sources, in plaintext (stores or
    /// files with mappings) or on encodings (--encoded).
    Link(link::LinkArgs),
    /// Deduplicate one source: find the records of one person within it.
    Dedupe(link::DedupeArgs),
    /// Write a new project secret to a file (shared by the agencies, never by the linkage unit).
    Secret(encode::SecretArgs),
    /// Encode a source's records under the project secret for privacy-preserving linkage.
    Encode(encode::EncodeArgs),
    /// Print the default encoding schema (JSON), to edit and pass to `encode --schema`.
    Schema(encode::SchemaArgs),
    /// Score a linkage run against ground truth and draw its precision/recall and weight charts.
    Evaluate(evaluate::EvaluateArgs),
    /// Explain one pair's match weight, field by field, as a text waterfall.
    Explain(link::ExplainArgs),
    /// Show a store's sources and import runs.
    Status(status::StatusArgs),
    /// Make a new node: its directory, keys, TLS certificate and configuration.
    Init(node_cmd::InitArgs),
    /// Exchange node cards: export this node's, add a peer's, list the peers.
    #[command(subcommand)]
    Roster(node_cmd::RosterCommand),
    /// Manage the people who may sign in to a node.
    #[command(subcommand)]
    User(node_cmd::UserCommand),
    /// Run a node's HTTPS server (mutual TLS with pinned peers) until Ctrl-C or SIGTERM.
    Serve(node_cmd::ServeArgs),
    /// Talk to peer nodes.
    #[command(subcommand)]
    Node(node_cmd::NodeCommand),
    /// Verify a node's audit log, or export its disclosure accounting.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Send a follow-up request after a hit to the node that owns the record.
    Request(exchange_cmd::RequestArgs),
    /// The follow-up requests waiting at this node for an approver.
    Inbox(exchange_cmd::InboxArgs),
    /// Decide a follow-up request in this node's inbox: confirm and release what the policy
    /// allows, or reject a false hit (an approver, signed in to this node's server).
    Decide(release_cmd::DecideArgs),
    /// What partners released to this node (each read audited), or the export of one release.
    /// Record a clerical decision on one of this node's hits (accept, reject, unsure) with a
    /// reason; the linkage unit applies it to the next run.
    Review(review_cmd::ReviewArgs),
    Released(release_cmd::ReleasedArgs),
    /// Which of this node's records a linkage project's references stand for.
    #[command(subcommand)]
    References(release_cmd::ReferencesCommand),
    /// Check a release policy, or see what it releases for a request.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Build the network of a node's records and linkage results, and analyse it.
    Network(network::NetworkArgs),
    /// A data holder's steps in a linkage project at a linkage unit: create, join, upload,
    /// run, results.
    #[command(subcommand)]
    Project(project_cmd::ProjectCommand),
    /// Ask a project's linkage unit, at once, whether one person is in another agency's
    /// records: hit or no hit, with opaque references and bands.
    Query(query_cmd::QueryArgs),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENLACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of contexts, one line: "importing x.csv: mapping m.toml: …".
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn output_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing output: {e}");
    std::process::exit(1);
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Import(args) => import::run(args),
        Command::Link(args) => link::run(args),
        Command::Dedupe(args) => link::dedupe(args),
        Command::Secret(args) => encode::secret(args),
        Command::Encode(args) => encode::encode(args),
        Command::Schema(args) => encode::schema(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Explain(args) => link::explain(args),
        Command::Status(args) => status::run(args),
        Command::Init(args) => node_cmd::init(args),
        Command::Roster(command) => node_cmd::roster(command),
        Command::User(command) => node_cmd::user(command),
        Command::Serve(args) => node_cmd::serve(args),
        Command::Node(command) => node_cmd::node(command),
        Command::Audit(command) => audit_cmd::run(command),
        Command::Policy(command) => policy_cmd::run(command),
        Command::Request(args) => exchange_cmd::request(args),
        Command::Inbox(args) => exchange_cmd::inbox(args),
        Command::Decide(args) => release_cmd::decide(args),
        Command::Released(args) => release_cmd::released(args),
        Command::Review(args) => review_cmd::review(args),
        Command::References(command) => release_cmd::references(command),
        Command::Network(args) => network::run(args),
        Command::Project(command) => project_cmd::run(command),
        Command::Query(args) => query_cmd::query(args),
    }
}
