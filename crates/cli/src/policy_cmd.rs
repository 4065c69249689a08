//! `enlace policy check|decide`: for the legal officer who writes a node's release policy, to
//! check the file and to see what it would release for a given request before any request comes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use enlace_node::config::Country;
use enlace_node::policy::{Flag, Offence, Policy, ReleaseField, RequestContext};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Check a policy file; errors name the rule and the key.
    Check(CheckArgs),
    /// Show what a policy releases and withholds for one request.
    Decide(DecideArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The policy file (TOML; see docs/policy.md).
    pub file: PathBuf,
    /// The country of the node the policy is for (its "own" nationals).
    #[arg(long)]
    pub country: Country,
}

#[derive(Args, Debug)]
pub struct DecideArgs {
    #[command(flatten)]
    pub policy: CheckArgs,
    /// The requesting node's id.
    #[arg(long)]
    pub partner: String,
    /// The stated offence category.
    #[arg(long)]
    pub offence: String,
    /// The data subject's nationality (ISO alpha-2), as the record has it.
    #[arg(long)]
    pub nationality: Option<String>,
    /// A condition the request carries (repeat): court_order, subject_consent, urgent.
    #[arg(long = "flag")]
    pub flags: Vec<String>,
    /// The fields requested, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
}

fn load(args: &CheckArgs) -> Result<Policy> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    Policy::from_toml(&text, args.country).with_context(|| args.file.display().to_string())
}

pub fn run(command: PolicyCommand) -> Result<()> {
    match command {
        PolicyCommand::Check(args) => {
            let policy = load(&args)?;
            println!(
                "{}: valid (default retention {} days)",
                args.file.display(),
                policy.default_retention_days()
            );
            Ok(())
        }
        PolicyCommand::Decide(args) => decide(args),
    }
}

fn decide(args: DecideArgs) -> Result<()> {
    let policy = load(&args.policy)?;
    let Some(offence) = Offence::parse(&args.offence) else {
        bail!(
            "offence {:?} is not one of {}",
            args.offence,
            Offence::names()
        );
    };
    let mut flags = BTreeSet::new();
    for f in &args.flags {
        match Flag::parse(f) {
            Some(flag) => flags.insert(flag),
            None => bail!("flag {f:?} is not one of {}", Flag::names()),
        };
    }
    let mut requested = BTreeSet::new();
    for f in &args.fields {
        match ReleaseField::parse(f.trim()) {
            Some(field) => requested.insert(field),
            None => bail!("field {f:?} is not one of {}", ReleaseField::names()),
        };
    }
    if requested.is_empty() {
        requested = ReleaseField::ALL.iter().copied().collect();
    }
    let ctx = RequestContext {
        partner: &args.partner,
        offence,
        subject_nationality: args.nationality.as_deref(),
        flags: &flags,
    };
    let d = policy.decide(&ctx, &requested);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    println!("release ({} days):", d.retention_days);
    for f in &d.release {
        println!("  {f}");
    }
    println!("withhold:");
    for (f, why) in &d.withheld {
        println!("  {f}: {why}");
    }
    Ok(())
}
