//! `enlace request` (have this node send a follow-up request after a hit to the owning node)
//! and `enlace inbox` (the requests waiting at this node).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use enlace_node::client::Request;
use enlace_node::config::NodeId;
use enlace_node::exchange::{FollowUpRequest, HandlingCode, HitRef, Inbox};
use enlace_node::node_dir::NodeDir;
use enlace_node::policy::{Flag, Offence, ReleaseField};

use crate::release_cmd::{Session, SignInArgs, error_of};

#[derive(Args, Debug)]
pub struct RequestArgs {
    /// This node's directory (its server must be running: it signs, records, audits and sends
    /// the request).
    #[arg(long)]
    pub dir: PathBuf,
    /// The requesting officer or analyst, signed in to this node; named in the request.
    #[command(flatten)]
    pub who: SignInArgs,
    /// The owning node (an id in the roster).
    #[arg(long)]
    pub peer: NodeId,
    /// The linkage project of the hit.
    #[arg(long)]
    pub project: String,
    /// The opaque reference the linkage unit gave for the owner's record.
    #[arg(long)]
    pub reference: String,
    /// Why, in the officer's words.
    #[arg(long)]
    pub purpose: String,
    /// The offence category: smuggling_of_migrants, trafficking_in_persons, document_fraud,
    /// money_laundering, missing_person, family_tracing, kidnapping.
    #[arg(long)]
    pub offence: String,
    /// The legal basis of the request.
    #[arg(long)]
    pub legal_basis: String,
    /// Handling code: H0 (purpose limitation), H1 (no court use without permission), H2 (no
    /// onward sharing), H3 (other conditions).
    #[arg(long)]
    pub handling: String,
    /// The fields asked for, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub fields: Vec<String>,
    /// A condition the request carries (repeat): court_order, subject_consent, urgent.
    #[arg(long = "flag")]
    pub flags: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InboxArgs {
    /// This node's directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn request(args: RequestArgs) -> Result<()> {
    let Some(offence) = Offence::parse(&args.offence) else {
        bail!(
            "offence {:?} is not one of {}",
            args.offence,
            Offence::names()
        );
    };
    let handling = match args.handling.as_str() {
        "H0" => HandlingCode::H0,
        "H1" => HandlingCode::H1,
        "H2" => HandlingCode::H2,
        "H3" => HandlingCode::H3,
        other => bail!("handling code {other:?} is not one of H0, H1, H2, H3"),
    };
    let mut fields = BTreeSet::new();
    for f in &args.fields {
        match ReleaseField::parse(f.trim()) {
            Some(x) => fields.insert(x),
            None => bail!("field {f:?} is not one of {}", ReleaseField::names()),
        };
    }
    let mut flags = BTreeSet::new();
    for f in &args.flags {
        match Flag::parse(f) {
            Some(x) => flags.insert(x),
            None => bail!("flag {f:?} is not one of {}", Flag::names()),
        };
    }
    let request = FollowUpRequest {
        hit: HitRef {
            project: args.project.clone(),
            partner_reference: args.reference.clone(),
        },
        purpose: args.purpose.clone(),
        offence: Some(offence),
        legal_basis: args.legal_basis.clone(),
        handling,
        officer: args.who.user.clone(),
        fields,
        flags,
    };
    request.validate()?;
    // The node signs and sends it, so that its own audit log records what was asked.
    let mut body = serde_json::to_value(&request)?;
    if let Some(map) = body.as_object_mut() {
        map.remove("officer");
        map.insert("peer".into(), args.peer.to_string().into());
    }
    let session = Session::open(&args.dir, &args.who)?;
    let response = session.call(Request::post_json("/api/v1/outbox", body.to_string()))?;
    if response.status != 202 {
        bail!("the request was not sent: {}", error_of(&response));
    }
    let id = response
        .json()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    outln!("request {id} filed at {}", args.peer);
    Ok(())
}

pub fn inbox(args: InboxArgs) -> Result<()> {
    let dir = NodeDir::new(&args.dir);
    if !dir.config().exists() {
        bail!("{} holds no node (no node.toml)", args.dir.display());
    }
    let items = Inbox::open(&dir.exchange())?.list(Some("pending"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if items.is_empty() {
        println!("no pending requests");
    }
    for item in items {
        let r = &item.request;
        println!(
            "{}  from {}  {}  fields: {}",
            item.id,
            item.from,
            r["offence"].as_str().unwrap_or("?"),
            r["fields"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        );
    }
    Ok(())
}
