//! The commands a person runs against their own node's server, signed in: `enlace decide` (an
//! approver's decision on a request in the inbox), `enlace released` (what partners released
//! to this node, and its export where the handling code allows), and the sign-in they share
//! (`enlace request` uses it too). `enlace references add` fills the table that leads from a
//! hit's reference to one of the node's records.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use enlace_node::client::{self, Request, Response};
use enlace_node::exchange::Ledger;
use enlace_node::identity::Fingerprint;
use enlace_node::node_dir::NodeDir;
use zeroize::Zeroizing;

/// The environment variable a password may come from instead of stdin or a file.
pub const PASSWORD_ENV: &str = "ENLACE_PASSWORD";

/// Who signs in, and where the password comes from — never the command line.
#[derive(Args, Debug)]
pub struct SignInArgs {
    /// The user name to sign in to this node as.
    #[arg(long)]
    pub user: String,
    /// Read the password from standard input (first line).
    #[arg(long, conflicts_with = "password_file")]
    pub password_stdin: bool,
    /// Read the password from this file's first line. Without either flag the password comes
    /// from the ENLACE_PASSWORD environment variable.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

impl SignInArgs {
    fn password(&self) -> Result<Zeroizing<String>> {
        let mut raw = Zeroizing::new(String::new());
        if self.password_stdin {
            std::io::stdin()
                .read_to_string(&mut raw)
                .context("reading the password from stdin")?;
        } else if let Some(path) = &self.password_file {
            *raw = std::fs::read_to_string(path)
                .with_context(|| format!("reading the password from {}", path.display()))?;
        } else if let Ok(value) = std::env::var(PASSWORD_ENV) {
            *raw = value;
        } else {
            bail!(
                "give the password with --password-stdin, --password-file FILE or {PASSWORD_ENV}"
            );
        }
        Ok(Zeroizing::new(
            raw.lines().next().unwrap_or_default().to_owned(),
        ))
    }
}

/// A session with this node's own server, signed out when dropped.
pub struct Session {
    url: String,
    pin: Fingerprint,
    token: Zeroizing<String>,
}

const TIMEOUT: Duration = Duration::from_secs(60);

impl Session {
    /// Signs in to the server running from `dir` (its port in `run/port`).
    pub fn open(dir: &Path, who: &SignInArgs) -> Result<Session> {
        let node = NodeDir::new(dir)
            .load()
            .with_context(|| format!("loading the node in {}", dir.display()))?;
        let port = std::fs::read_to_string(node.dir.port_file())
            .ok()
            .and_then(|t| t.trim().parse::<u16>().ok())
            .with_context(|| {
                format!(
                    "the node's server is not running: start `enlace serve --dir {}`",
                    dir.display()
                )
            })?;
        let ip = node.config.listen.ip();
        let url = match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => format!("https://127.0.0.1:{port}"),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => format!("https://[::1]:{port}"),
            std::net::IpAddr::V6(v6) => format!("https://[{v6}]:{port}"),
            std::net::IpAddr::V4(v4) => format!("https://{v4}:{port}"),
        };
        let pin = node.identity.fingerprint();
        let password = who.password()?;
        let body = Zeroizing::new(
            serde_json::json!({"name": who.user, "password": password.as_str()}).to_string(),
        );
        let response = client::send_blocking(
            &url,
            pin,
            None,
            Request::post_json("/api/v1/session", body.as_bytes().to_vec()),
            TIMEOUT,
        )
        .context("signing in to this node")?;
        if response.status != 200 {
            bail!("signing in: {}", error_of(&response));
        }
        let token = response
            .json()
            .and_then(|v| v["token"].as_str().map(str::to_owned))
            .context("signing in: the server sent no token")?;
        Ok(Session {
            url,
            pin,
            token: Zeroizing::new(token),
        })
    }

    /// Sends `request` with the session's token.
    pub fn call(&self, request: Request) -> Result<Response> {
        client::send_blocking(
            &self.url,
            self.pin,
            None,
            request.bearer(&self.token),
            TIMEOUT,
        )
        .context("calling this node")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let out = Request::delete("/api/v1/session").bearer(&self.token);
        let _ = client::send_blocking(&self.url, self.pin, None, out, TIMEOUT);
    }
}

/// The server's `error` field, or the status.
pub fn error_of(response: &Response) -> String {
    response
        .json()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .map(|e| format!("{e} ({})", response.status))
        .unwrap_or_else(|| format!("the server answered {}", response.status))
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("outcome").required(true).args(["confirm", "reject"])))]
pub struct DecideArgs {
    /// This node's directory (its server must be running).
    #[arg(long)]
    pub dir: PathBuf,
    /// The follow-up request's id (from `enlace inbox`).
    #[arg(long)]
    pub id: String,
    #[command(flatten)]
    pub who: SignInArgs,
    /// The hit is the same person: release the fields given with --fields that the policy
    /// allows.
    #[arg(long, requires = "fields")]
    pub confirm: bool,
    /// The fields to release, comma-separated (of those requested).
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// The hit is not the same person: release nothing, say why with --reason.
    #[arg(long, requires = "reason", conflicts_with = "fields")]
    pub reject: bool,
    /// Why the hit is rejected.
    #[arg(long)]
    pub reason: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn decide(args: DecideArgs) -> Result<()> {
    let body = if args.confirm {
        let fields: Vec<&str> = args.fields.iter().map(|f| f.trim()).collect();
        serde_json::json!({"outcome": "confirm", "fields": fields})
    } else {
        serde_json::json!({"outcome": "reject", "reason": args.reason})
    };
    let session = Session::open(&args.dir, &args.who)?;
    let path = format!("/api/v1/inbox/{}/decision", args.id);
    let response = session.call(Request::post_json(&path, body.to_string()))?;
    if response.status != 200 {
        bail!("the decision was refused: {}", error_of(&response));
    }
    let made = response.json().context("the server's answer is not JSON")?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&made)?);
        return Ok(());
    }
    outln!(
        "request {}: {}",
        args.id,
        made["outcome"].as_str().unwrap_or("?")
    );
    if let Some(fields) = made["released"].as_array() {
        let names: Vec<&str> = fields.iter().filter_map(|f| f.as_str()).collect();
        outln!(
            "released: {} (kept {} days by the requester)",
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            },
            made["retention_days"]
        );
    }
    if let Some(withheld) = made["withheld"].as_object() {
        for (field, reason) in withheld {
            outln!("withheld {field}: {}", reason.as_str().unwrap_or(""));
        }
    }
    if made["delivered"] == true {
        outln!("delivered to the requester");
    } else {
        outln!("committed; not delivered yet: the node sends it again until the requester has it");
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ReleasedArgs {
    /// This node's directory (its server must be running).
    #[arg(long)]
    pub dir: PathBuf,
    #[command(flatten)]
    pub who: SignInArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Export this release (its message id) as a signed document to --out; refused under
    /// handling code H2.
    #[arg(long, requires = "out")]
    pub export: Option<String>,
    /// Where the export goes (written readable by the owner only).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn released(args: ReleasedArgs) -> Result<()> {
    let session = Session::open(&args.dir, &args.who)?;
    if let (Some(id), Some(out)) = (&args.export, &args.out) {
        let response = session.call(Request::get(&format!("/api/v1/released/{id}/export")))?;
        if response.status != 200 {
            bail!("the export was refused: {}", error_of(&response));
        }
        write_private(out, &response.body)?;
        outln!("release {id} exported to {}", out.display());
        return Ok(());
    }
    let response = session.call(Request::get("/api/v1/released"))?;
    if response.status != 200 {
        bail!("reading released data: {}", error_of(&response));
    }
    let items = response.json().context("the server's answer is not JSON")?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    let items = items.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        outln!("nothing released to this node");
    }
    for item in items {
        let body = &item["body"];
        outln!(
            "{}  from {}  request {}  {}  {}  kept until {}",
            item["id"].as_str().unwrap_or("?"),
            item["from"].as_str().unwrap_or("?"),
            item["request_id"].as_str().unwrap_or("?"),
            item["outcome"].as_str().unwrap_or("?"),
            item["handling"].as_str().unwrap_or("?"),
            chrono::DateTime::from_timestamp(item["retain_until"].as_i64().unwrap_or(0), 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        );
        if let Some(reason) = body["reason"].as_str() {
            outln!("  rejected: {reason}");
        }
        if let Some(fields) = body["released"].as_object() {
            for (field, value) in fields {
                outln!("  {field}: {value}");
            }
        }
        if let Some(fields) = body["withheld"].as_object() {
            for (field, reason) in fields {
                outln!("  ({field} withheld: {})", reason.as_str().unwrap_or(""));
            }
        }
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(Subcommand, Debug)]
pub enum ReferencesCommand {
    /// Record which of this node's records a linkage project's references stand for, from the
    /// `.refs.csv` that `enlace encode` wrote beside the encoding (source,reference,record_id).
    Add {
        /// This node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The linkage project the references belong to.
        #[arg(long)]
        project: String,
        /// The references file.
        file: PathBuf,
    },
}

pub fn references(command: ReferencesCommand) -> Result<()> {
    let ReferencesCommand::Add { dir, project, file } = command;
    let node_dir = NodeDir::new(&dir);
    if !node_dir.config().exists() {
        bail!("{} holds no node (no node.toml)", dir.display());
    }
    let mut reader =
        csv::Reader::from_path(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut rows = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: line {}", file.display(), i + 2))?;
        let (Some(source), Some(reference), Some(key)) = (row.get(0), row.get(1), row.get(2))
        else {
            bail!(
                "{}: line {}: expected source,reference,record_id",
                file.display(),
                i + 2
            );
        };
        rows.push((source.to_string(), reference.to_string(), key.to_string()));
    }
    let mut ledger = Ledger::open(&node_dir.exchange())?;
    let n = ledger.add_references(&project, &rows)?;
    outln!("{n} reference(s) of project {project} recorded");
    Ok(())
}
