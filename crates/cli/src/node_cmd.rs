//! `enlace init`, `roster`, `user`, `serve` and `node`: making a node, exchanging cards with
//! peers, adding the people who sign in, and running the node's server.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Datelike;
use clap::{Args, Subcommand};
use enlace_node::client::{self, Request};
use enlace_node::config::{Country, Limits, NodeConfig, NodeId, NodeRole};
use enlace_node::node_dir::NodeDir;
use enlace_node::roster::Card;
use enlace_node::server::Server;
use enlace_node::users::{Role, UserStore};

#[derive(Args)]
pub struct InitArgs {
    /// The node's directory (created; must not hold a node yet).
    #[arg(long)]
    dir: PathBuf,
    /// The node's id: lowercase letters, digits and '-' (e.g. mx-fgr).
    #[arg(long)]
    node_id: NodeId,
    /// The country of the agency running the node: US, MX or GT.
    #[arg(long)]
    country: Country,
    /// A role the node's card announces: agency or linkage-unit (repeat for both).
    #[arg(long = "role", default_value = "agency")]
    roles: Vec<NodeRole>,
    /// The address the server binds (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The URL peers reach this node at [default: https://LISTEN].
    #[arg(long)]
    url: Option<String>,
}

pub fn init(args: InitArgs) -> Result<()> {
    let config = NodeConfig {
        url: args
            .url
            .unwrap_or_else(|| format!("https://{}", args.listen)),
        node_id: args.node_id,
        country: args.country,
        roles: args.roles,
        listen: args.listen,
        limits: Limits::default(),
    };
    let dir = NodeDir::new(&args.dir);
    let identity = dir
        .init(&config, chrono::Utc::now().year())
        .with_context(|| format!("making a node in {}", args.dir.display()))?;
    outln!(
        "node {} ({}) made in {}",
        config.node_id,
        config.country,
        args.dir.display()
    );
    outln!("TLS certificate sha256 {}", identity.fingerprint());
    outln!(
        "next: `enlace roster export --dir {}` and give the card to your peers",
        args.dir.display()
    );
    Ok(())
}

#[derive(Subcommand)]
pub enum RosterCommand {
    /// Write this node's signed card (to stdout, or --out FILE).
    Export {
        /// The node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Write the card to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a peer's card and add it to this node's roster.
    Add {
        /// The node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The peer's card file.
        card: PathBuf,
    },
    /// List the peers in this node's roster.
    List {
        /// The node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn roster(command: RosterCommand) -> Result<()> {
    match command {
        RosterCommand::Export { dir, out } => {
            let node = load(&dir)?;
            let text = node.card().to_toml()?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => out!("{text}"),
            }
        }
        RosterCommand::Add { dir, card } => {
            let node = load(&dir)?;
            let peer = Card::read(&card).with_context(|| format!("reading {}", card.display()))?;
            let own = node.card();
            let mut roster = node.roster;
            roster
                .add(peer.clone(), &own)
                .with_context(|| format!("adding {}", card.display()))?;
            roster.save(&node.dir.roster())?;
            outln!(
                "added {} ({}, {}) with TLS certificate sha256 {}",
                peer.id,
                peer.country,
                roles(&peer.roles),
                peer.tls_cert_sha256
            );
            outln!("a running server reads the roster when it starts: restart it");
        }
        RosterCommand::List { dir, json } => {
            let node = load(&dir)?;
            if json {
                let peers: Vec<_> = node
                    .roster
                    .peers()
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id, "country": c.country, "url": c.url, "roles": c.roles,
                            "tls_cert_sha256": c.tls_cert_sha256,
                        })
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&peers)?);
            } else {
                for c in node.roster.peers() {
                    outln!(
                        "{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.country,
                        roles(&c.roles),
                        c.url,
                        c.tls_cert_sha256
                    );
                }
            }
        }
    }
    Ok(())
}

fn roles(roles: &[NodeRole]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn load(dir: &std::path::Path) -> Result<enlace_node::node_dir::Node> {
    NodeDir::new(dir)
        .load()
        .with_context(|| format!("loading the node in {}", dir.display()))
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a person who may sign in. The password comes from stdin or a file, never the
    /// command line.
    Add {
        /// The node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The sign-in name.
        #[arg(long)]
        name: String,
        /// analyst, approver, officer or admin.
        #[arg(long)]
        role: Role,
        /// Read the password from standard input (one line).
        #[arg(long, conflicts_with = "password_file")]
        password_stdin: bool,
        /// Read the password from this file's first line.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

pub fn user(command: UserCommand) -> Result<()> {
    let UserCommand::Add {
        dir,
        name,
        role,
        password_stdin,
        password_file,
    } = command;
    let mut raw = String::new();
    match (password_stdin, password_file) {
        (true, None) => {
            std::io::stdin()
                .read_to_string(&mut raw)
                .context("reading the password from stdin")?;
        }
        (false, Some(path)) => {
            raw = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the password from {}", path.display()))?;
        }
        _ => bail!("give the password with --password-stdin or --password-file FILE"),
    }
    let password = zeroize::Zeroizing::new(raw.lines().next().unwrap_or_default().to_owned());
    zeroize::Zeroize::zeroize(&mut raw);
    let node_dir = NodeDir::new(&dir);
    if !node_dir.config().exists() {
        bail!("{} holds no node: run `enlace init` first", dir.display());
    }
    let store = UserStore::open(&node_dir.db())
        .with_context(|| format!("opening {}", node_dir.db().display()))?;
    store
        .add(&name, role, &password, chrono::Utc::now().timestamp())
        .context("adding the user")?;
    outln!("user added with role {role}");
    Ok(())
}

#[derive(Args)]
pub struct ServeArgs {
    /// The node's directory.
    #[arg(long)]
    dir: PathBuf,
    /// The role to serve in; one of the roles in the node's card [default: its first].
    #[arg(long)]
    role: Option<NodeRole>,
    /// Bind this address instead of node.toml's `listen` (port 0: any free port; the bound port
    /// is written to DIR/run/port).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub fn serve(args: ServeArgs) -> Result<()> {
    let node = load(&args.dir)?;
    let role = args.role.unwrap_or(node.config.roles[0]);
    let node_id = node.config.node_id.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = Server::bind(node, role, args.listen)
            .await
            .context("starting the server")?;
        outln!(
            "node {node_id} serving as {role} at https://{}",
            server.local_addr()
        );
        server.run(shutdown_signal()).await?;
        outln!("node {node_id} stopped");
        Ok(())
    })
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Call a peer's /api/v1/node/ping with this node's certificate, pinning the peer's.
    Ping {
        /// The node's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The peer's id in the roster.
        #[arg(long)]
        peer: NodeId,
    },
}

pub fn node(command: NodeCommand) -> Result<()> {
    let NodeCommand::Ping { dir, peer } = command;
    let node = load(&dir)?;
    let card = node
        .roster
        .get(&peer)
        .with_context(|| format!("{peer} is not in the roster of {}", dir.display()))?;
    let response = client::send_blocking(
        &card.url,
        card.tls_cert_sha256,
        Some(&node.identity),
        Request::get("/api/v1/node/ping"),
        Duration::from_secs(10),
    )
    .with_context(|| format!("calling {peer}"))?;
    let body = String::from_utf8_lossy(&response.body);
    if response.status != 200 {
        bail!("{peer} answered {}: {}", response.status, body.trim());
    }
    outln!("{}", body.trim());
    Ok(())
}
