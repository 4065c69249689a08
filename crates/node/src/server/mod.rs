//! The node's HTTPS server: TLS on the node's certificate with pinned client certificates
//! (see [`crate::tls`]), one HTTP/1.1 connection per task, limits on body size and request rate,
//! and a graceful shutdown that lets requests in flight finish.

mod api;
mod audit_api;
mod auth;
mod exchange_api;
mod network_api;
mod outbox_api;
mod project_api;
mod query_api;
mod rate;
mod release_api;
mod review_api;
mod ui;
mod ui_api;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::{Country, Limits, NodeId, NodeRole};
use crate::fsutil::{self, Access};
use crate::identity::Fingerprint;
use crate::node_dir::{Node, NodeDir};
use crate::roster::Roster;
use crate::users::{UserError, UserStore};

pub use api::{PATHS, openapi};
pub use project_api::{CHUNK_CHECKSUM, test_pause};

/// How long a client has to finish the TLS handshake, and then to send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the node's card does not list the role {0}; its roles are in node.toml")]
    RoleNotInCard(NodeRole),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Users(#[from] UserError),
    #[error(transparent)]
    Audit(#[from] enlace_audit::AuditError),
    #[error("exchange store: {0}")]
    Exchange(#[from] crate::exchange::EnvelopeError),
    #[error(transparent)]
    Projects(#[from] crate::project::unit::UnitError),
    #[error("{0}")]
    Release(String),
}

/// A peer node, as its pinned client certificate identifies it.
#[derive(Clone, Debug)]
pub struct PeerNode {
    pub id: NodeId,
    pub country: Country,
    pub roles: Vec<NodeRole>,
}

/// What the server knows of a connection before any request on it.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub addr: SocketAddr,
    /// Set when the client presented a certificate pinned in the roster.
    pub peer: Option<PeerNode>,
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub node_id: NodeId,
    pub country: Country,
    pub role: NodeRole,
    pub limits: Limits,
    pub users: Arc<Mutex<UserStore>>,
    pub limiter: Arc<rate::RateLimiter>,
    /// Every sign-in (and, as the exchange grows, every query, request and release) is entered
    /// here before the answer goes out.
    pub audit: Arc<enlace_audit::AuditWriter>,
    /// The peers' cards: their signing keys check the messages they send.
    pub roster: Arc<Roster>,
    /// The inbox and the replay store, on one file; their calls are short and serialised.
    pub exchange: Arc<Mutex<Exchange>>,
    /// The linkage unit's projects; `None` on a node serving as an agency.
    pub projects: Option<project_api::Projects>,
    /// Decisions, releases, the outbox and released data (`release_api`).
    pub release: Arc<release_api::ReleaseCtx>,
}

/// The exchange's files, opened once at start.
pub(crate) struct Exchange {
    pub replay: crate::exchange::ReplayGuard,
    pub inbox: crate::exchange::Inbox,
}

/// Locks a mutex whose holder may have panicked: the data behind every lock here is a SQLite
/// handle or a cache that a panic leaves usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Appends `entry` to the node's audit log on a blocking thread; an entry that cannot be
/// written fails the call, so nothing happens off the record.
pub(crate) async fn audit(
    state: &AppState,
    entry: enlace_audit::NewEntry,
) -> Result<(), auth::ApiError> {
    let log = state.audit.clone();
    tokio::task::spawn_blocking(move || log.append(entry))
        .await
        .map_err(|e| auth::ApiError::internal("audit", e))?
        .map_err(|e| auth::ApiError::internal("audit", e))?;
    Ok(())
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    roster: Arc<Roster>,
    router: axum::Router,
    state: AppState,
    dir: NodeDir,
}

impl Server {
    /// Binds the node's listen address (or `listen`, when given) and writes the bound port to
    /// `run/port`. `role` must be one of the roles in the node's card.
    pub async fn bind(
        node: Node,
        role: NodeRole,
        listen: Option<SocketAddr>,
    ) -> Result<Server, ServerError> {
        if !node.config.roles.contains(&role) {
            return Err(ServerError::RoleNotInCard(role));
        }
        let tls = crate::tls::server_config(&node.identity, &node.roster)?;
        let users = UserStore::open(&node.dir.db())?;
        let audit_log = node.audit_log()?;
        let exchange = Exchange {
            replay: crate::exchange::ReplayGuard::open(&node.dir.exchange())?,
            inbox: crate::exchange::Inbox::open(&node.dir.exchange())?,
        };
        let projects = match role {
            NodeRole::LinkageUnit => Some(project_api::Projects {
                store: Arc::new(Mutex::new(crate::project::UnitStore::open(
                    &node.dir.projects(),
                    &node.dir.chunks(),
                )?)),
                runs: Arc::new(tokio::sync::Semaphore::new(1)),
                indexes: Arc::default(),
            }),
            NodeRole::Agency => None,
        };
        let roster = Arc::new(node.roster);
        let limits = node.config.limits.clone();
        let state = AppState {
            node_id: node.config.node_id.clone(),
            country: node.config.country,
            role,
            limiter: Arc::new(rate::RateLimiter::new(
                limits.rate_per_second,
                limits.rate_burst,
            )),
            limits,
            users: Arc::new(Mutex::new(users)),
            audit: Arc::new(enlace_audit::AuditWriter::start(audit_log)),
            roster: roster.clone(),
            exchange: Arc::new(Mutex::new(exchange)),
            projects,
            release: Arc::new(release_api::ReleaseCtx::open(
                &node.dir,
                node.config.country,
            )?),
        };
        let addr = listen.unwrap_or(node.config.listen);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let run = node.dir.run();
        let io = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| ServerError::Io { path, source }
        };
        fsutil::create_private_dir(&run).map_err(io(&run))?;
        let port_file = node.dir.port_file();
        fsutil::write_atomic(
            &port_file,
            format!("{}\n", local_addr.port()).as_bytes(),
            Access::Public,
        )
        .map_err(io(&port_file))?;
        Ok(Server {
            listener,
            local_addr,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            roster,
            router: api::router(state.clone()),
            state,
            dir: node.dir,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in flight finish
    /// (for up to 10 s) and removes `run/port`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        self.resume_interrupted_runs()?;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut purge = tokio::time::interval(Duration::from_secs(60));
        let background = release_api::spawn_background(self.state.clone());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (tcp, addr) = match accepted {
                        Ok(conn) => conn,
                        Err(e) => {
                            // Out of file descriptors and the like: wait, do not spin.
                            tracing::warn!("accepting a connection failed: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let watcher = graceful.watcher();
                    let acceptor = self.acceptor.clone();
                    let roster = self.roster.clone();
                    let router = self.router.clone();
                    tokio::spawn(async move {
                        serve_connection(tcp, addr, acceptor, roster, router, watcher).await;
                    });
                }
                _ = purge.tick() => {
                    let users = self.state.users.clone();
                    tokio::task::spawn_blocking(move || {
                        let store = lock(&users);
                        if let Err(e) = store.purge_expired(api::now()) {
                            tracing::warn!("purging expired sessions: {e}");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        background.abort();
        tracing::info!(
            "shutting down: waiting for {} connection(s)",
            graceful.count()
        );
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        }
        let port_file = self.dir.port_file();
        let _ = std::fs::remove_file(&port_file);
        Ok(())
    }
}

impl Server {
    /// Runs again every project run a previous process left unfinished (killed mid-run): its
    /// inputs are recorded, so the rerun links exactly what the first attempt would have. And
    /// builds the search index of every project that has results.
    fn resume_interrupted_runs(&self) -> Result<(), ServerError> {
        let Some(projects) = &self.state.projects else {
            return Ok(());
        };
        let (interrupted, searchable) = {
            let store = lock(&projects.store);
            (store.interrupted_runs()?, store.projects_with_results()?)
        };
        // The online search answers from memory: build each project's index now rather than
        // on the first officer's query.
        for project in searchable {
            query_api::refresh_later(projects.clone(), project);
        }
        for (project, run) in interrupted {
            tracing::info!(project = %project, run, "resuming an interrupted run");
            project_api::spawn_run(self.state.clone(), projects.clone(), project, run);
        }
        Ok(())
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    roster: Arc<Roster>,
    router: axum::Router,
    watcher: hyper_util::server::graceful::Watcher,
) {
    // Queries are small requests answered at once: do not let Nagle's algorithm hold them.
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::info!("TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::info!("TLS handshake timed out");
            return;
        }
    };
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|cert| roster.by_fingerprint(&Fingerprint::of(cert)))
        .map(|card| PeerNode {
            id: card.id.clone(),
            country: card.country,
            roles: card.roles.clone(),
        });
    let info = ConnInfo { addr, peer };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(tls), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection ended: {e}");
    }
}

/// A file the browser saves under `name` (a CSV, a GraphML…): its type and the disposition
/// that names it. A name that cannot go in a header is left out, not the file.
pub(super) fn download(
    content_type: &'static str,
    name: &str,
    body: Vec<u8>,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
