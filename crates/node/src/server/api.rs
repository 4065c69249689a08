//! The endpoints, their OpenAPI document, and the middleware around them.
//!
//! | method | path | who |
//! |---|---|---|
//! | GET | `/health` | anyone |
//! | POST | `/api/v1/session` | anyone with a name and password (signs in) |
//! | DELETE | `/api/v1/session` | a signed-in person (signs out) |
//! | GET | `/api/v1/me` | a signed-in person |
//! | GET | `/api/v1/users` | a signed-in admin |
//! | GET | `/api/v1/node/ping` | a peer node (pinned certificate) |
//! | POST | `/api/v1/node/messages` | a peer node: a signed follow-up request, release or decision |
//! | GET | `/api/v1/inbox` | a signed-in approver |
//! | POST | `/api/v1/inbox/{id}/decision` | a signed-in approver: confirm and release, or reject |
//! | POST | `/api/v1/outbox` | a signed-in analyst or officer: send a follow-up request |
//! | GET | `/api/v1/released` | a signed-in analyst or officer (each read audited) |
//! | GET | `/api/v1/released/{id}/export` | a signed-in analyst or officer; never under H2 |
//! | GET | `/api/v1/openapi.json` | a signed-in person or a peer node |
//! | … | `/api/v1/projects…` | peer nodes at a linkage unit: see `project_api` |
//! | GET | `/`, `/ui/{file}` | anyone: the web UI's files (`ui`) |
//! | … | `/api/v1/overview`, `hits`, `query`, `inbox/{id}/policy` | people, by role: see `ui_api` |
//! | GET | `/api/v1/network`, `network/community/{id}`, `ego`, `path`, `export/{file}` | analysts: see `network_api` |

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::auth::{ApiError, ApiJson, Caller, ErrorBody, Peer, Person};
use super::{AppState, ConnInfo};
use crate::users::Role;

pub const HEALTH: &str = "/health";
pub const SESSION: &str = "/api/v1/session";
pub const ME: &str = "/api/v1/me";
pub const USERS: &str = "/api/v1/users";
pub const NODE_PING: &str = "/api/v1/node/ping";
pub const OPENAPI: &str = "/api/v1/openapi.json";

/// Every path the server routes; the OpenAPI document must describe exactly these.
pub const PATHS: [&str; 38] = [
    HEALTH,
    SESSION,
    ME,
    USERS,
    NODE_PING,
    OPENAPI,
    super::exchange_api::NODE_MESSAGES,
    super::exchange_api::INBOX,
    super::project_api::PROJECTS,
    super::project_api::PROJECT,
    super::project_api::SECRET,
    super::project_api::CHUNK,
    super::project_api::UPLOAD,
    super::project_api::COMPLETE,
    super::project_api::RUN,
    super::project_api::RESULTS,
    super::query_api::QUERY,
    super::release_api::OUTBOX,
    super::release_api::DECISION,
    super::release_api::RELEASED,
    super::release_api::RELEASED_EXPORT,
    super::ui::INDEX,
    super::ui::ASSET,
    super::ui::VENDOR,
    super::ui_api::OVERVIEW,
    super::ui_api::HITS,
    super::ui_api::QUERY,
    super::ui_api::INBOX_POLICY,
    super::review_api::REVIEWS,
    super::review_api::UNIT_REVIEWS,
    super::audit_api::AUDIT,
    super::audit_api::DISCLOSURES,
    super::audit_api::REJECTS,
    super::network_api::SUMMARY,
    super::network_api::COMMUNITY,
    super::network_api::EGO,
    super::network_api::PATH,
    super::network_api::EXPORT,
];

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) fn router(state: AppState) -> Router {
    use super::project_api as p;
    let max_body = state.limits.max_body_bytes;
    let max_upload = state.limits.max_upload_bytes;
    // Chunks of encodings are larger than anything else a node accepts: their route has its
    // own limit, every other route the general one.
    let uploads = Router::new()
        .route(p::CHUNK, axum::routing::put(p::put_chunk))
        .layer(axum::extract::DefaultBodyLimit::max(max_upload))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_upload))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            refuse_declared_oversize(max_upload as u64, request, next)
        }));
    Router::new()
        .route(HEALTH, get(health))
        .route(SESSION, axum::routing::post(sign_in).delete(sign_out))
        .route(ME, get(me))
        .route(USERS, get(list_users))
        .route(NODE_PING, get(node_ping))
        .route(OPENAPI, get(openapi_json))
        .route(
            super::exchange_api::NODE_MESSAGES,
            axum::routing::post(super::exchange_api::receive_message),
        )
        .route(super::exchange_api::INBOX, get(super::exchange_api::inbox))
        .route(p::PROJECTS, axum::routing::post(p::create).get(p::list))
        .route(p::PROJECT, get(p::status))
        .route(p::SECRET, get(p::secret))
        .route(p::UPLOAD, get(p::upload_state))
        .route(p::COMPLETE, axum::routing::post(p::complete))
        .route(p::RUN, axum::routing::post(p::run))
        .route(p::RESULTS, get(p::results))
        .route(
            super::query_api::QUERY,
            axum::routing::post(super::query_api::query),
        )
        .route(
            super::release_api::OUTBOX,
            axum::routing::post(super::release_api::send_request)
                .get(super::outbox_api::sent_requests),
        )
        .route(
            super::release_api::DECISION,
            axum::routing::post(super::release_api::decide),
        )
        .route(
            super::release_api::RELEASED,
            get(super::release_api::released),
        )
        .route(
            super::release_api::RELEASED_EXPORT,
            get(super::release_api::export),
        )
        .merge(super::ui_api::routes())
        .merge(super::network_api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            refuse_declared_oversize(max_body as u64, request, next)
        }))
        .merge(uploads)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(super::ui::security_headers))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request: method, route template (never the raw path or query), status,
/// time, and the calling node when a peer called. No person's name, no address, no body.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unrouted)".into());
    let peer = request
        .extensions()
        .get::<ConnInfo>()
        .and_then(|i| i.peer.as_ref())
        .map(|p| p.id.to_string());
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        peer = peer.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(ip) = request.extensions().get::<ConnInfo>().map(|i| i.addr.ip()) else {
        return next.run(request).await;
    };
    if state.limiter.allow(ip, Instant::now()) {
        next.run(request).await
    } else {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests; slow down",
        )
        .with_code("rate_limited")
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}

/// The most of an oversized body read and thrown away before answering 413.
const DRAIN_CAP: u64 = 4 << 20;
/// How long the server keeps reading it.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A body whose declared length is over the limit gets 413 before any of it is used. Unless it
/// is huge, the server first reads and discards it: a server that answers and closes while the
/// client is still sending makes the client's kernel see a reset, and the client then reports a
/// broken connection instead of the 413. (Bodies without a declared length are cut off at the
/// limit by `RequestBodyLimitLayer`.)
async fn refuse_declared_oversize(max: u64, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(length) = declared.filter(|&len| len > max) else {
        return next.run(request).await;
    };
    if length <= DRAIN_CAP.max(max.saturating_mul(4)) {
        let mut body = request.into_body();
        let drain = async {
            while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
                if frame.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is larger than this node accepts",
    )
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
}

/// Whether the server is up. The only endpoint that needs no authentication.
#[utoipa::path(get, path = "/health", tag = "node",
    responses((status = 200, description = "The server is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer TOKEN`. Shown once.
    pub token: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Signs a person in with name and password; returns a session token.
#[utoipa::path(post, path = "/api/v1/session", tag = "people", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = SessionCreated),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Json<SessionCreated>, ApiError> {
    let password = Zeroizing::new(body.password);
    let name = body.name;
    let users = state.users.clone();
    let ttl = state.limits.session_ttl_secs;
    let result = tokio::task::spawn_blocking(move || {
        let store = super::lock(&users);
        store.sign_in(&name, &password, now(), ttl)
    })
    .await
    .map_err(|e| ApiError::internal("sign-in", e))?
    .map_err(|e| ApiError::internal("sign-in", e))?;
    // The sign-in is on the record before the caller learns its outcome; if it cannot be
    // recorded, nobody signs in. A refused attempt does not record the name typed: it may be a
    // password typed in the wrong box.
    let entry = match &result {
        Some((_, user)) => {
            enlace_audit::NewEntry::new(enlace_audit::Action::SignIn, user.name.clone())
                .detail("role", user.role.to_string())
        }
        None => enlace_audit::NewEntry::new(enlace_audit::Action::SignInRefused, "anonymous")
            .detail("reason", "wrong name or password"),
    };
    super::audit(&state, entry).await?;
    match result {
        Some((token, user)) => {
            tracing::info!(role = %user.role, "signed in");
            Ok(Json(SessionCreated {
                token: token.as_str().to_owned(),
                role: user.role,
                expires_at: user.expires_at,
            }))
        }
        None => {
            tracing::info!("sign-in refused");
            Err(ApiError::unauthorized("wrong name or password"))
        }
    }
}

/// Ends the caller's session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "people", security(("session" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid session", body = ErrorBody)))]
async fn sign_out(
    State(state): State<AppState>,
    _person: Person,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let (parts, _) = request.into_parts();
    let token = super::auth::bearer(&parts).unwrap_or_default().to_owned();
    let users = state.users.clone();
    tokio::task::spawn_blocking(move || {
        let store = super::lock(&users);
        store.sign_out(&token, now())
    })
    .await
    .map_err(|e| ApiError::internal("sign-out", e))?
    .map_err(|e| ApiError::internal("sign-out", e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
    /// The node signed in to.
    pub node: String,
}

/// The signed-in person and their session.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid session", body = ErrorBody)))]
async fn me(State(state): State<AppState>, Person(user): Person) -> Json<Me> {
    Json(Me {
        name: user.name,
        role: user.role,
        expires_at: user.expires_at,
        node: state.node_id.to_string(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
}

/// The node's users. Admins only.
#[utoipa::path(get, path = "/api/v1/users", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "Every user", body = [UserEntry]),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Vec<UserEntry>>, ApiError> {
    super::release_api::require(&state, &person, &[Role::Admin], "list_users", None).await?;
    let users = state.users.clone();
    let list = tokio::task::spawn_blocking(move || {
        let store = super::lock(&users);
        store.list()
    })
    .await
    .map_err(|e| ApiError::internal("listing users", e))?
    .map_err(|e| ApiError::internal("listing users", e))?;
    Ok(Json(
        list.into_iter()
            .map(|(name, role)| UserEntry { name, role })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Pong {
    /// The calling node, as its pinned certificate identifies it.
    pub caller: String,
    /// This node.
    pub node: String,
    pub country: String,
    /// The role this node is serving in.
    pub role: String,
}

/// Node-to-node reachability check: who the caller is, as this node sees it.
#[utoipa::path(get, path = "/api/v1/node/ping", tag = "node", security(("node_certificate" = [])),
    responses(
        (status = 200, description = "The caller is a pinned peer", body = Pong),
        (status = 401, description = "No pinned client certificate", body = ErrorBody)))]
async fn node_ping(State(state): State<AppState>, Peer(peer): Peer) -> Json<Pong> {
    Json(Pong {
        caller: peer.id.to_string(),
        node: state.node_id.to_string(),
        country: state.country.to_string(),
        role: state.role.to_string(),
    })
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "node",
    security(("session" = []), ("node_certificate" = [])),
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json"),
        (status = 401, description = "Neither a session nor a pinned certificate", body = ErrorBody)))]
async fn openapi_json(_caller: Caller) -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/session, as `Authorization: Bearer`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "node_certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "The calling node's TLS client certificate, pinned in this node's roster"
                        .into(),
                ),
                extensions: None,
            },
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Enlace node API",
        description = "The HTTPS API of an Enlace node: people sign in with sessions, peer nodes call with pinned client certificates."
    ),
    paths(health, sign_in, sign_out, me, list_users, node_ping, openapi_json,
        super::exchange_api::receive_message, super::exchange_api::inbox,
        super::project_api::create, super::project_api::list, super::project_api::status,
        super::project_api::secret, super::project_api::put_chunk, super::project_api::upload_state,
        super::project_api::complete, super::project_api::run, super::project_api::results,
        super::query_api::query,
        super::release_api::send_request, super::outbox_api::sent_requests,
        super::release_api::decide,
        super::release_api::released, super::release_api::export,
        super::ui::index, super::ui::asset, super::ui::vendor, super::ui_api::overview,
        super::ui_api::hits, super::ui_api::query, super::ui_api::inbox_policy,
        super::review_api::review, super::review_api::unit_reviews, super::audit_api::audit_page,
        super::audit_api::disclosures, super::audit_api::rejects,
        super::network_api::summary, super::network_api::community, super::network_api::ego,
        super::network_api::path, super::network_api::export),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// The node's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_describes_every_route_and_nothing_else() {
        let doc = openapi();
        let mut documented: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        let mut routed = PATHS.to_vec();
        documented.sort_unstable();
        routed.sort_unstable();
        assert_eq!(documented, routed);
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["components"]["securitySchemes"]["node_certificate"].is_object());
    }
}
