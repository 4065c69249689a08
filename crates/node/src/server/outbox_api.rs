//! The requester's outbox: the follow-up requests this node sent and where each stands
//! (`sending`, `filed` at the owner, `refused`, `undelivered`, `answered`).
//! `GET /api/v1/outbox`, for the roles that send requests; sending is `POST` on the same path
//! (`release_api::send_request`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{ApiError, ErrorBody, Person};
use super::release_api::{blocking, require};
use crate::users::Role;

/// The most requests listed.
const MAX_LISTED: usize = 1000;

#[derive(Serialize, ToSchema)]
pub struct SentRequest {
    /// The request's message id.
    pub id: String,
    /// The owning node it went to.
    pub peer: String,
    /// Seconds since the Unix epoch.
    pub sent_at: i64,
    /// `sending`, `filed`, `refused`, `undelivered` or `answered`.
    pub status: String,
    /// The request as sent: hit, purpose, offence, legal basis, handling code, fields, flags,
    /// officer.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

/// The requests this node sent, newest first.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "exchange", security(("session" = [])),
    responses(
        (status = 200, description = "Requests sent", body = [SentRequest]),
        (status = 403, description = "Not an analyst or officer", body = ErrorBody)))]
pub(super) async fn sent_requests(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Vec<SentRequest>>, ApiError> {
    require(
        &state,
        &person,
        &[Role::Analyst, Role::Officer],
        "read_outbox",
        None,
    )
    .await?;
    let rows = blocking(&state, |ctx| ctx.ledger().sent_list(MAX_LISTED))
        .await?
        .map_err(|e| ApiError::internal("outbox", e))?;
    let out = rows
        .into_iter()
        .map(|r| {
            Ok(SentRequest {
                request: serde_json::to_value(&r.sent.request)?,
                id: r.id,
                peer: r.sent.peer,
                sent_at: r.sent_at,
                status: r.sent.status,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(|e| ApiError::internal("outbox", e))?;
    Ok(Json(out))
}
