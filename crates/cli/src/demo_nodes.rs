//! The demo's federation: three agency nodes (US, MX, GT) and a linkage unit, each made like
//! `enlace init` would, trusting each other's cards, with people who may sign in, and each
//! served by its own `enlace serve` process on loopback with pinned mutual TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Datelike;
use enlace_node::config::{Country, Limits, NodeConfig, NodeId, NodeRole};
use enlace_node::node_dir::NodeDir;
use enlace_node::users::{Role, UserStore};
use rand::Rng;

/// The node ids of the demo, their country and role.
pub const NODES: [(&str, Country, NodeRole); 4] = [
    ("us", Country::US, NodeRole::Agency),
    ("mx", Country::MX, NodeRole::Agency),
    ("gt", Country::GT, NodeRole::Agency),
    // The demo's linkage unit is run from Mexico; in a deployment it is whichever body the
    // three agree on, and it holds no records of its own.
    ("lu", Country::MX, NodeRole::LinkageUnit),
];

/// The release policy of the demo's agencies.
const DEMO_POLICY: &str = include_str!("demo_policy.toml");

/// One person who may sign in to a node.
pub struct Account {
    pub node: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// A running node.
struct Running {
    id: String,
    child: Child,
}

/// The four nodes, their URLs and accounts.
pub struct Federation {
    pub root: PathBuf,
    pub urls: Vec<(String, String)>,
    pub accounts: Vec<Account>,
    running: Vec<Running>,
}

/// A loopback port free now, for a node that starts seconds later (its card, with the URL, is
/// exchanged before). Drawn below Linux's ephemeral range (32768 and up): a port the kernel
/// hands out for `bind(0)` or for an outgoing connection meanwhile — which other programs, and
/// the demo's own nodes, make by the thousand — could otherwise take it before the node binds.
fn free_port() -> Result<u16> {
    let mut rng = rand::rng();
    for _ in 0..100 {
        let port = rng.random_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .context("finding a free loopback port")?
        .local_addr()?
        .port())
}

fn password() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..14)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

impl Federation {
    /// Makes the four node directories under `root`, exchanges their cards and adds accounts.
    pub fn create(root: &Path) -> Result<Federation> {
        let year = chrono::Utc::now().year();
        let mut urls = Vec::new();
        let mut nodes = Vec::new();
        for (id, country, role) in NODES {
            let port = free_port()?;
            let listen = format!("127.0.0.1:{port}").parse()?;
            let config = NodeConfig {
                node_id: id.parse::<NodeId>()?,
                country,
                roles: vec![role],
                listen,
                url: format!("https://127.0.0.1:{port}"),
                limits: Limits {
                    // The demo's people click around the web pages and the CLI uploads in
                    // bursts, all from one address.
                    rate_per_second: 200,
                    rate_burst: 400,
                    ..Limits::default()
                },
            };
            let dir = NodeDir::new(root.join(id));
            dir.init(&config, year)
                .with_context(|| format!("making node {id}"))?;
            urls.push((id.to_string(), config.url.clone()));
            nodes.push(dir);
        }
        let cards: Vec<_> = nodes
            .iter()
            .map(|d| d.load().map(|n| n.card()))
            .collect::<Result<_, _>>()?;
        for dir in &nodes {
            let node = dir.load()?;
            let own = node.card();
            let mut roster = node.roster;
            for card in cards.iter().filter(|c| c.id != own.id) {
                roster.add(card.clone(), &own)?;
            }
            roster.save(&dir.roster())?;
        }
        for ((id, _, role), dir) in NODES.iter().zip(&nodes) {
            if *role == NodeRole::Agency {
                let path = dir.policy();
                std::fs::write(&path, DEMO_POLICY)
                    .with_context(|| format!("writing the policy of {id}"))?;
            }
        }
        let mut accounts = Vec::new();
        let now = chrono::Utc::now().timestamp();
        for ((id, _, role), dir) in NODES.iter().zip(&nodes) {
            let users = UserStore::open(&dir.db())?;
            let roles: &[Role] = match role {
                NodeRole::Agency => &[Role::Analyst, Role::Approver, Role::Officer, Role::Admin],
                NodeRole::LinkageUnit => &[Role::Admin],
            };
            for &r in roles {
                let account = Account {
                    node: id.to_string(),
                    name: format!("{id}-{r}"),
                    role: r,
                    password: password(),
                };
                users.add(&account.name, r, &account.password, now)?;
                accounts.push(account);
            }
        }
        Ok(Federation {
            root: root.to_path_buf(),
            urls,
            accounts,
            running: Vec::new(),
        })
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Starts every node's server as a process of its own, logging to DIR/server.log, and
    /// waits until each has bound its port.
    pub fn start(&mut self) -> Result<()> {
        let exe = std::env::current_exe().context("finding the enlace executable")?;
        for (id, _, _) in NODES {
            let dir = self.dir(id);
            let _ = std::fs::remove_file(dir.join("run/port"));
            let log_path = dir.join("server.log");
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .with_context(|| format!("opening {}", log_path.display()))?;
            let child = Command::new(&exe)
                .args(["serve", "--dir"])
                .arg(&dir)
                .env("ENLACE_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting node {id}"))?;
            self.running.push(Running {
                id: id.to_string(),
                child,
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for (id, _, _) in NODES {
            let port_file = self.dir(id).join("run/port");
            while !port_file.exists() {
                if let Some(r) = self.running.iter_mut().find(|r| r.id == id)
                    && let Ok(Some(status)) = r.child.try_wait()
                {
                    bail!(
                        "node {id} stopped at start ({status}); see {}",
                        self.dir(id).join("server.log").display()
                    );
                }
                if Instant::now() > deadline {
                    bail!("node {id} did not start within 30 s");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Stops every node with SIGTERM (a graceful shutdown), killing any that does not stop
    /// within 15 s.
    pub fn stop(&mut self) {
        for r in &self.running {
            let _ = Command::new("kill")
                .args(["-TERM", &r.child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for mut r in self.running.drain(..) {
            loop {
                match r.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = r.child.kill();
                        let _ = r.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        self.stop();
    }
}
