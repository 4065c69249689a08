//! Who is calling: a person with a session token, or a peer node with a pinned certificate.
//! Extractors that refuse a request which is neither, and errors as JSON.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{AppState, ConnInfo, PeerNode};
use crate::users::SessionUser;

/// An API error: a status and a message that names no person and echoes no input.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    code: Option<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words (English).
    pub error: String,
    /// A stable name of the error, for a client to say it in the reader's language (the web
    /// UI's catalogues have `server.<code>`); absent where the words are all there is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: None,
        }
    }

    /// This error with a stable code (see [`ErrorBody::code`]).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!("{what}: {e}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").with_code("internal")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
                code: self.code,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A signed-in person.
/// (Role checks are `release_api::require`, which audits each refusal.)
pub struct Person(pub SessionUser);

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("sign in first: no session token"))?
            .to_owned();
        let users = state.users.clone();
        let found = tokio::task::spawn_blocking(move || {
            let store = super::lock(&users);
            store.session(&token, super::api::now())
        })
        .await
        .map_err(|e| ApiError::internal("session lookup", e))?
        .map_err(|e| ApiError::internal("session lookup", e))?;
        found
            .map(Person)
            .ok_or_else(|| ApiError::unauthorized("the session is unknown or has expired"))
    }
}

/// A peer node that presented a certificate pinned in the roster.
pub struct Peer(pub PeerNode);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ConnInfo>()
            .and_then(|info| info.peer.clone())
            .map(Peer)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "this endpoint is for peer nodes: present a certificate pinned in the roster",
                )
            })
    }
}

/// A person or a peer node, for what either may read.
pub enum Caller {
    Person,
    Peer,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if Peer::from_request_parts(parts, state).await.is_ok() {
            return Ok(Caller::Peer);
        }
        Person::from_request_parts(parts, state)
            .await
            .map(|_| Caller::Person)
    }
}

/// A JSON body whose refusal says what is wrong in general terms, never quoting the body (which
/// may hold a password or personal data).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let message = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "expected a body with Content-Type: application/json"
                    }
                    JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON",
                    JsonRejection::JsonDataError(_) => {
                        "the body's JSON does not have the fields this endpoint expects"
                    }
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        "the body is larger than this node accepts"
                    }
                    _ => "the body could not be read",
                };
                Err(ApiError::new(rejection.status(), message))
            }
        }
    }
}
