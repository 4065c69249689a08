//! What the integration tests with real node processes share: making nodes with `enlace init`,
//! exchanging cards, adding people, running `enlace serve` as a child process, calling it as a
//! person or as a peer node, and reading its audit log.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use enlace_node::client::{self, Request, Response};
use enlace_node::identity::{Fingerprint, NodeIdentity};
use enlace_node::node_dir::NodeDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_enlace");
pub const PASSWORD: &str = "a sufficiently long passphrase";

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// A port free right now on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `enlace init` an agency node listening on a free loopback port.
pub fn init(root: &Path, id: &str, country: &str) -> PathBuf {
    init_with_roles(root, id, country, &["agency"])
}

/// `enlace init` a node with `roles` (agency, linkage-unit) on a free loopback port.
pub fn init_with_roles(root: &Path, id: &str, country: &str, roles: &[&str]) -> PathBuf {
    let dir = root.join(id);
    let mut cmd = Command::new(BIN);
    cmd.args(["init", "--node-id", id, "--country", country, "--listen"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--dir")
        .arg(&dir);
    for role in roles {
        cmd.args(["--role", role]);
    }
    run_ok(&mut cmd);
    dir
}

/// Replaces node.toml's [limits] with `limits` (TOML lines).
pub fn set_limits(dir: &Path, limits: &str) {
    let path = dir.join("node.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let head = text.split("[limits]").next().unwrap();
    std::fs::write(&path, format!("{head}[limits]\n{limits}\n")).unwrap();
}

/// `enlace roster export` from `from`, `enlace roster add` into `to`.
pub fn trust(to: &Path, from: &Path) {
    let card = from.with_extension("card.toml");
    run_ok(
        Command::new(BIN)
            .args(["roster", "export", "--dir"])
            .arg(from)
            .arg("--out")
            .arg(&card),
    );
    run_ok(
        Command::new(BIN)
            .args(["roster", "add", "--dir"])
            .arg(to)
            .arg(&card),
    );
}

pub fn add_user(dir: &Path, name: &str, role: &str) {
    let mut child = Command::new(BIN)
        .args([
            "user",
            "add",
            "--password-stdin",
            "--name",
            name,
            "--role",
            role,
        ])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `enlace` with `args`, signed in with the test password through ENLACE_PASSWORD.
pub fn signed_in(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("ENLACE_PASSWORD", PASSWORD);
    cmd
}

pub fn identity(dir: &Path) -> NodeIdentity {
    NodeDir::new(dir).load().unwrap().identity
}

pub fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A running `enlace serve`, killed if the test ends without stopping it.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub pin: Fingerprint,
    pub log: PathBuf,
}

impl Served {
    /// Starts `enlace serve` (with `extra` arguments) and waits for `run/port`.
    pub fn start(dir: &Path, extra: &[&str]) -> Served {
        Served::start_with_env(dir, extra, &[])
    }

    /// The same, with environment variables set for the server.
    pub fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Served {
        let port_file = dir.join("run/port");
        let _ = std::fs::remove_file(&port_file);
        let log = dir.with_extension(format!("{}.log", free_port()));
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--dir"])
            .arg(dir)
            .args(extra)
            .env("ENLACE_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse::<u16>()
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Served {
            child,
            url: format!("https://127.0.0.1:{port}"),
            pin: identity(dir).fingerprint(),
            log,
        }
    }

    /// A request as a person's client makes it: the server pinned, no client certificate.
    pub fn call(&self, request: Request) -> Response {
        client::send_blocking(&self.url, self.pin, None, request, Duration::from_secs(20)).unwrap()
    }

    /// A request as a peer node makes it, with `from`'s certificate.
    pub fn call_as(&self, from: &NodeIdentity, request: Request) -> Response {
        client::send_blocking(
            &self.url,
            self.pin,
            Some(from),
            request,
            Duration::from_secs(20),
        )
        .unwrap()
    }

    /// A request as a peer node makes it, with the certificate of the node in `dir`.
    pub fn call_as_node(&self, dir: &Path, request: Request) -> Response {
        let id = identity(dir);
        client::send_blocking(
            &self.url,
            self.pin,
            Some(&id),
            request,
            Duration::from_secs(60),
        )
        .unwrap()
    }

    pub fn sign_in(&self, name: &str, password: &str) -> Response {
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        self.call(Request::post_json("/api/v1/session", body))
    }

    pub fn token(&self, name: &str) -> String {
        let r = self.sign_in(name, PASSWORD);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json().unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(self) -> std::process::ExitStatus {
        self.stop_with_output().0
    }

    /// SIGTERM, then the exit status and what the server printed on stdout.
    pub fn stop_with_output(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        run_ok(Command::new("kill").args(["-TERM", &pid]));
        let status = self.wait(Duration::from_secs(20));
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        }
        (status, out)
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end on its own.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, for up to `limit`.
pub fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(x) = f() {
            return x;
        }
        assert!(Instant::now() < deadline, "gave up waiting");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Counts a node's audit entries with `action`.
pub fn audit_count(dir: &Path, action: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join("audit/audit.db")).unwrap();
    db.query_row(
        "SELECT count(*) FROM entries WHERE action = ?1",
        [action],
        |r| r.get(0),
    )
    .unwrap()
}

/// `enlace audit verify --all-signatures` must pass.
pub fn audit_verifies(dir: &Path) {
    let out = run_ok(
        Command::new(BIN)
            .args(["audit", "verify", "--all-signatures", "--dir"])
            .arg(dir),
    );
    assert!(out.trim_end().ends_with("intact"), "{out}");
}
