//! `enlace review`: an analyst's clerical decision on one hit, through this node's own server
//! (which records it with the reason, audits it and relays it to the linkage unit).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use enlace_node::client::Request;

use crate::release_cmd::{Session, SignInArgs, error_of};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Decision {
    /// The two records are one person.
    Accept,
    /// They are two people: the next run no longer reports the pair.
    Reject,
    /// Cannot tell: the pair stays in its band, marked so.
    Unsure,
}

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// This node's directory (its server must be running).
    #[arg(long)]
    pub dir: PathBuf,
    #[command(flatten)]
    pub who: SignInArgs,
    #[arg(long)]
    pub project: String,
    /// This node's record, as the results name it (`opaque`).
    #[arg(long)]
    pub opaque: String,
    /// The partner's record (`partner_ref`).
    #[arg(long)]
    pub partner_ref: String,
    #[arg(long, value_enum)]
    pub decision: Decision,
    /// Why (kept at this node, never sent).
    #[arg(long)]
    pub reason: String,
}

pub fn review(args: ReviewArgs) -> Result<()> {
    let decision = match args.decision {
        Decision::Accept => "accept",
        Decision::Reject => "reject",
        Decision::Unsure => "unsure",
    };
    let body = serde_json::json!({
        "project": args.project, "opaque": args.opaque, "partner_ref": args.partner_ref,
        "decision": decision, "reason": args.reason,
    });
    let session = Session::open(&args.dir, &args.who)?;
    let response = session.call(Request::post_json("/api/v1/reviews", body.to_string()))?;
    if response.status != 200 {
        bail!("the review was refused: {}", error_of(&response));
    }
    let answer = response.json().context("the server's answer is not JSON")?;
    if answer["sent"] == true {
        outln!("recorded, and sent to the linkage unit: the next run applies it");
    } else {
        outln!(
            "recorded here; not sent yet ({}): it goes with the next review or before the next run",
            answer["not_sent"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(())
}
