//! `enlace request` (send a follow-up request after a hit to the owning node) and `enlace inbox`
//! (the requests waiting at this node).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_node::client::{self, Request};
use enlace_node::config::NodeId;
use enlace_node::exchange::{FollowUpRequest, HandlingCode, HitRef, Inbox, MessageKind};
use enlace_node::node_dir::NodeDir;
use enlace_node::policy::{Flag, Offence, ReleaseField};

/// How long a request stays valid for the owner to receive it.
const REQUEST_TTL_SECS: i64 = 3600;

#[derive(Args, Debug)]
pub struct RequestArgs {
    /// This node's directory.
    #[arg(long)]
    pub dir: PathBuf,
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
    /// The requesting officer's user name.
    #[arg(long)]
    pub officer: String,
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

fn now() -> i64 {
    chrono::Utc::now().timestamp()
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
        officer: args.officer.clone(),
        fields,
        flags,
    };
    request.validate()?;
    let node = NodeDir::new(&args.dir)
        .load()
        .with_context(|| format!("loading the node in {}", args.dir.display()))?;
    let card = node.roster.get(&args.peer).with_context(|| {
        format!(
            "{} is not in the roster of {}",
            args.peer,
            args.dir.display()
        )
    })?;
    let envelope = node.seal_message(
        MessageKind::FollowUpRequest,
        args.peer.as_str(),
        &request,
        now(),
        REQUEST_TTL_SECS,
    )?;
    let body = serde_json::to_vec(&envelope)?;
    let response = client::send_blocking(
        &card.url,
        card.tls_cert_sha256,
        Some(&node.identity),
        Request::post_json("/api/v1/node/messages", body),
        Duration::from_secs(20),
    )
    .with_context(|| format!("sending the request to {}", args.peer))?;
    let text = String::from_utf8_lossy(&response.body);
    if response.status != 202 {
        bail!(
            "{} refused the request ({}): {}",
            args.peer,
            response.status,
            text.trim()
        );
    }
    println!("request {} filed at {}", envelope.id, args.peer);
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
