//! The exchange's endpoints: a peer node delivers a signed follow-up request (or, through
//! `release_api`, a release); an approver reads the inbox. Every request received and every refusal goes into the audit log before the
//! answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::api::now;
use super::auth::{ApiError, ApiJson, ErrorBody, Peer, Person};
use super::{AppState, audit};
use crate::exchange::inbox::request_of;
use crate::exchange::{Envelope, EnvelopeError, InboxItem, MessageKind};
use crate::users::Role;
use enlace_audit::{Action, NewEntry};

pub const NODE_MESSAGES: &str = "/api/v1/node/messages";
pub const INBOX: &str = "/api/v1/inbox";

#[derive(Serialize, ToSchema)]
pub struct Received {
    /// The message id, under which the request waits in the owner's inbox.
    pub id: String,
}

/// Refuses a message: audited first (who sent it, its id, why), then answered.
async fn refuse(
    state: &AppState,
    peer: &str,
    id: &str,
    status: StatusCode,
    reason: String,
) -> ApiError {
    let entry = NewEntry::new(Action::Refusal, peer.to_string())
        .subject(id.to_string())
        .recipient(peer.to_string())
        .detail("what", "follow_up_request")
        .detail("reason", reason.clone());
    if let Err(e) = audit(state, entry).await {
        return e;
    }
    ApiError::new(status, reason)
}

/// Runs `f` on the exchange's files on a blocking thread (SQLite calls, short and serialised).
async fn with_exchange<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut super::Exchange) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let exchange = state.exchange.clone();
    tokio::task::spawn_blocking(move || {
        let mut ex = super::lock(&exchange);
        f(&mut ex)
    })
    .await
    .map_err(|e| ApiError::internal("exchange", e))
}

pub(super) fn status_of(e: &EnvelopeError) -> StatusCode {
    match e {
        EnvelopeError::BadSignature { .. } => StatusCode::FORBIDDEN,
        EnvelopeError::Replayed { .. } => StatusCode::CONFLICT,
        EnvelopeError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A peer delivers a signed message: a follow-up request after a hit (filed in the inbox), or
/// the owner's release or rejection answering a request this node sent.
#[utoipa::path(post, path = "/api/v1/node/messages", tag = "exchange",
    security(("node_certificate" = [])),
    request_body(content = Object, description = "A signed envelope (docs/protocol.md)"),
    responses(
        (status = 202, description = "A request filed in the inbox, or a release stored", body = Received),
        (status = 401, description = "No pinned certificate", body = ErrorBody),
        (status = 403, description = "Not signed by the calling node", body = ErrorBody),
        (status = 409, description = "A replay, or a second answer to the same request", body = ErrorBody),
        (status = 422, description = "Expired, misaddressed, a request missing its purpose, offence category or other part, or a release that answers no request sent to that node", body = ErrorBody)))]
pub(super) async fn receive_message(
    State(state): State<AppState>,
    Peer(peer): Peer,
    ApiJson(envelope): ApiJson<Envelope>,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let caller = peer.id.to_string();
    let id = envelope.id.clone();
    // The signer must be the node on the line: a pinned peer cannot pass off another's message.
    if envelope.from != caller {
        let reason = format!(
            "message {id} claims to come from {}, but {caller} sent it",
            envelope.from
        );
        return Err(refuse(&state, &caller, &id, StatusCode::FORBIDDEN, reason).await);
    }
    // An owner's answer to a request this node sent.
    if matches!(envelope.kind, MessageKind::Release | MessageKind::Decision) {
        return super::release_api::receive_answer(&state, &caller, envelope).await;
    }
    let key = match state.roster.get(&peer.id).map(|c| c.ed25519_key()) {
        Some(Ok(k)) => k,
        _ => {
            let reason = format!("no signing key on the card of {caller}");
            return Err(refuse(&state, &caller, &id, StatusCode::FORBIDDEN, reason).await);
        }
    };
    let me = state.node_id.to_string();
    let env = envelope.clone();
    let opened = with_exchange(&state, move |ex| {
        let now = now();
        let body = env.open(&me, &key, now, &mut ex.replay)?.clone();
        Ok::<_, EnvelopeError>((body, now))
    })
    .await?;
    let (body, received_at) = match opened {
        Ok(x) => x,
        Err(e) => {
            let status = status_of(&e);
            return Err(refuse(&state, &caller, &id, status, e.to_string()).await);
        }
    };
    let request = match request_of(&body) {
        Ok(r) => r,
        Err(reason) => {
            return Err(refuse(
                &state,
                &caller,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                reason,
            )
            .await);
        }
    };
    // On the record before it is filed: the offence category, legal basis and handling code;
    // the officer's free-text purpose stays in the inbox (it may name people).
    let offence = request.offence.map(|o| o.to_string()).unwrap_or_default();
    let entry = NewEntry::new(Action::Request, caller.clone())
        .subject(id.clone())
        .purpose(offence)
        .recipient(caller.clone())
        .detail("project", request.hit.project.clone())
        .detail("legal_basis", request.legal_basis.clone())
        .detail("handling", format!("{:?}", request.handling))
        .detail("fields", request.fields.len().to_string());
    audit(&state, entry).await?;
    with_exchange(&state, move |ex| ex.inbox.file(&envelope, received_at))
        .await?
        .map_err(|e| ApiError::internal("inbox", e))?;
    tracing::info!("follow-up request filed");
    Ok((StatusCode::ACCEPTED, Json(Received { id })))
}

/// The follow-up requests waiting for a decision. Approvers only.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "exchange", security(("session" = [])),
    responses(
        (status = 200, description = "Pending requests, oldest first", body = [InboxItem]),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an approver", body = ErrorBody)))]
pub(super) async fn inbox(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Vec<InboxItem>>, ApiError> {
    super::release_api::require(&state, &person, &[Role::Approver], "read_inbox", None).await?;
    let items = with_exchange(&state, |ex| ex.inbox.list(Some("pending")))
        .await?
        .map_err(|e| ApiError::internal("inbox", e))?;
    Ok(Json(items))
}
