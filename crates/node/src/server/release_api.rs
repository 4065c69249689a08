//! The second half of the exchange, as endpoints:
//!
//! * at the requester, `POST /api/v1/outbox`: a signed-in analyst or officer has the node sign
//!   a follow-up request, record it, audit it and deliver it to the owner;
//! * at the owner, `POST /api/v1/inbox/{id}/decision`: an approver confirms the hit and
//!   releases what the node's policy allows (or rejects it as a false hit); the decision and
//!   the signed message that carries it are committed together before anything is sent, and a
//!   message not yet delivered is sent again at start-up and every few seconds;
//! * at the requester, the release arrives through `POST /api/v1/node/messages`
//!   ([`receive_answer`]), is checked against the request it answers, stored with its id in the
//!   replay store, shown to analysts and officers (`GET /api/v1/released`, each read audited),
//!   exported unless its handling code forbids it (`GET /api/v1/released/{id}/export`), and
//!   deleted when its retention period ends.
//!
//! Every decision, withheld field, release sent and received, read, export, deletion and
//! refused call is an audit entry, written before the answer (or the data) leaves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::now;
use super::audit;
use super::auth::{ApiError, ApiJson, ErrorBody, Person};
use super::exchange_api::{NODE_MESSAGES, Received, status_of};
use super::{AppState, ServerError};
use crate::client;
use crate::config::{Country, NodeId};
use crate::exchange::envelope::MAX_TTL_SECS;
use crate::exchange::inbox::request_of;
use crate::exchange::ledger::{Ledger, LedgerError, ReleasedItem, ResolveReference};
use crate::exchange::release::{self, DAY_SECS, Outcome, ReleaseBody};
use crate::exchange::{
    Envelope, EnvelopeError, FollowUpRequest, HandlingCode, HitRef, MessageKind,
};
use crate::identity::NodeIdentity;
use crate::node_dir::NodeDir;
use crate::policy::{Flag, Offence, Policy, ReleaseField};
use crate::users::Role;
use enlace_audit::{Action, NewEntry};

pub const OUTBOX: &str = "/api/v1/outbox";
pub const DECISION: &str = "/api/v1/inbox/{id}/decision";
pub const RELEASED: &str = "/api/v1/released";
pub const RELEASED_EXPORT: &str = "/api/v1/released/{id}/export";

/// How long a follow-up request stays valid for the owner to receive it.
const REQUEST_TTL_SECS: i64 = 3600;
/// How long a release message stays valid; an undelivered one is re-signed after that.
const RELEASE_TTL_SECS: i64 = MAX_TTL_SECS;
/// How long a peer has to answer a delivery.
const PEER_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the requester looks for releases whose retention has ended.
const RETENTION_TICK: Duration = Duration::from_secs(1);
/// How often the owner retries undelivered messages (all of them at start-up).
const RESEND_TICK: Duration = Duration::from_secs(15);
/// A message younger than this is left to the delivery the decision itself started.
const RESEND_MIN_AGE_SECS: i64 = 30;

/// Test hook: the owner aborts right after committing a decision, before sending it.
pub const TEST_ABORT_ENV: &str = "ENLACE_TEST_ABORT_AFTER_COMMIT";
/// Test hook: a day of retention lasts this many seconds (1 to 86,400; it can only shorten).
pub const TEST_DAY_ENV: &str = "ENLACE_TEST_SECONDS_PER_DAY";

/// What the release endpoints share: the node's signing identity, its policy and record store,
/// and the ledger in its exchange file.
pub(crate) struct ReleaseCtx {
    identity: NodeIdentity,
    dir: NodeDir,
    policy: Option<Policy>,
    ledger: Mutex<Ledger>,
    day_secs: i64,
    abort_after_commit: bool,
}

impl ReleaseCtx {
    /// Loads the policy (if the node has one: a broken policy stops the start) and opens the
    /// ledger.
    pub(crate) fn open(dir: &NodeDir, country: Country) -> Result<ReleaseCtx, ServerError> {
        let identity = NodeIdentity::load(&dir.keys())
            .map_err(|e| ServerError::Release(format!("node identity: {e}")))?;
        let policy_path = dir.policy();
        let policy = if policy_path.exists() {
            let text = std::fs::read_to_string(&policy_path).map_err(|source| ServerError::Io {
                path: policy_path.display().to_string(),
                source,
            })?;
            Some(
                Policy::from_toml(&text, country)
                    .map_err(|e| ServerError::Release(format!("{}: {e}", policy_path.display())))?,
            )
        } else {
            tracing::warn!("no policy.toml: this node releases nothing");
            None
        };
        let ledger = Ledger::open(&dir.exchange())
            .map_err(|e| ServerError::Release(format!("exchange ledger: {e}")))?;
        let day_secs = match std::env::var(TEST_DAY_ENV).ok().map(|v| v.parse::<i64>()) {
            Some(Ok(secs)) if (1..=DAY_SECS).contains(&secs) => {
                tracing::warn!("{TEST_DAY_ENV}: a day of retention lasts {secs} s (tests only)");
                secs
            }
            _ => DAY_SECS,
        };
        Ok(ReleaseCtx {
            identity,
            dir: dir.clone(),
            policy,
            ledger: Mutex::new(ledger),
            day_secs,
            abort_after_commit: std::env::var_os(TEST_ABORT_ENV).is_some(),
        })
    }

    /// For the web UI's endpoints (`ui_api`): the node's directory, identity and policy.
    pub(super) fn dir(&self) -> &NodeDir {
        &self.dir
    }
    pub(super) fn identity(&self) -> &NodeIdentity {
        &self.identity
    }
    pub(super) fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    pub(super) fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        super::lock(&self.ledger)
    }
}

/// Runs `f` with the release context on a blocking thread (SQLite, the record store, audit
/// appends).
pub(super) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&ReleaseCtx) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let ctx = state.release.clone();
    tokio::task::spawn_blocking(move || f(&ctx))
        .await
        .map_err(|e| ApiError::internal("exchange", e))
}

/// Refuses a call: audited first (who, about what, why), then answered.
async fn refuse(
    state: &AppState,
    actor: &str,
    subject: Option<&str>,
    what: &str,
    status: StatusCode,
    reason: String,
) -> ApiError {
    let mut entry = NewEntry::new(Action::Refusal, actor.to_string())
        .detail("what", what.to_string())
        .detail("status", status.as_u16().to_string())
        .detail("reason", reason.clone());
    if let Some(s) = subject {
        entry = entry.subject(s.to_string());
    }
    if let Err(e) = audit(state, entry).await {
        return e;
    }
    ApiError::new(status, reason)
}

/// A person with one of `roles`, or a 403 that is audited.
pub(super) async fn require(
    state: &AppState,
    person: &Person,
    roles: &[Role],
    what: &str,
    subject: Option<&str>,
) -> Result<(), ApiError> {
    if roles.contains(&person.0.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let reason = format!("this needs the {} role", names.join(" or "));
    Err(refuse(
        state,
        &person.0.name,
        subject,
        what,
        StatusCode::FORBIDDEN,
        reason,
    )
    .await
    .with_code("role"))
}

pub(super) fn sync_audit(state: &AppState, entry: NewEntry) -> Result<(), String> {
    state
        .audit
        .append(entry)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn seal(
    state: &AppState,
    kind: MessageKind,
    to: &str,
    body: &impl Serialize,
    now: i64,
    ttl: i64,
) -> Result<Envelope, ApiError> {
    let id = crate::identity::os_random::<16>().map_err(|e| ApiError::internal("sealing", e))?;
    Envelope::seal(
        kind,
        state.node_id.as_str(),
        to,
        body,
        now,
        ttl,
        &state.release.identity.signing_key(),
        id,
    )
    .map_err(|e| ApiError::internal("sealing", e))
}

/// Delivers a signed message to a peer's `/api/v1/node/messages`. A 409 counts as delivered:
/// the peer already holds this message (its replay store says so) or another answer to the
/// same request.
async fn deliver(state: &AppState, envelope: &Envelope) -> Result<(), String> {
    let peer: NodeId = envelope
        .to
        .parse()
        .map_err(|_| format!("{} is not a node id", envelope.to))?;
    let card = state
        .roster
        .get(&peer)
        .ok_or_else(|| format!("{peer} is not in the roster"))?;
    let body = serde_json::to_vec(envelope).map_err(|e| e.to_string())?;
    let response = client::send(
        &card.url,
        card.tls_cert_sha256,
        Some(&state.release.identity),
        client::Request::post_json(NODE_MESSAGES, body),
        PEER_TIMEOUT,
    )
    .await
    .map_err(|e| e.to_string())?;
    match response.status {
        200..=299 | 409 => Ok(()),
        status => Err(format!(
            "{peer} answered {status}: {}",
            peer_error(&response.body)
        )),
    }
}

/// A peer's error message (its `error` field: words, never a body).
fn peer_error(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "no reason given".into())
}

// ----- the requester's outbox -----

/// A follow-up request to send, as a signed-in analyst or officer asks for it. The officer is
/// the person signed in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboxRequest {
    /// The owning node (an id in the roster).
    pub peer: String,
    /// `{"project", "partner_reference"}`: the hit.
    #[schema(value_type = Object)]
    pub hit: HitRef,
    #[serde(default)]
    pub purpose: String,
    /// One of the offence categories of docs/policy.md.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub offence: Option<Offence>,
    #[serde(default)]
    pub legal_basis: String,
    /// `H0`, `H1`, `H2` or `H3`.
    #[schema(value_type = String)]
    pub handling: HandlingCode,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub fields: BTreeSet<ReleaseField>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub flags: BTreeSet<Flag>,
}

#[derive(Serialize, ToSchema)]
pub struct SentRequest {
    /// The request's message id, which the release will name.
    pub id: String,
    pub peer: String,
    /// `filed`: the owner has it in its inbox.
    pub status: String,
}

/// Signs, records, audits and delivers a follow-up request. Analysts and officers.
#[utoipa::path(post, path = "/api/v1/outbox", tag = "exchange", security(("session" = [])),
    request_body = OutboxRequest,
    responses(
        (status = 202, description = "Filed in the owner's inbox", body = SentRequest),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst or officer", body = ErrorBody),
        (status = 422, description = "Missing purpose, offence category, legal basis, fields or hit; or a peer not in the roster", body = ErrorBody),
        (status = 502, description = "The owner refused the request or could not be reached", body = ErrorBody)))]
pub(super) async fn send_request(
    State(state): State<AppState>,
    person: Person,
    ApiJson(input): ApiJson<OutboxRequest>,
) -> Result<(StatusCode, Json<SentRequest>), ApiError> {
    const WHAT: &str = "follow_up_request";
    require(&state, &person, &[Role::Analyst, Role::Officer], WHAT, None).await?;
    let officer = person.0.name.clone();
    let request = FollowUpRequest {
        hit: input.hit,
        purpose: input.purpose,
        offence: input.offence,
        legal_basis: input.legal_basis,
        handling: input.handling,
        officer: officer.clone(),
        fields: input.fields,
        flags: input.flags,
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if let Err(e) = request.validate() {
        return Err(refuse(&state, &officer, None, WHAT, unprocessable, e.to_string()).await);
    }
    let known = input
        .peer
        .parse::<NodeId>()
        .ok()
        .filter(|id| state.roster.get(id).is_some());
    let Some(peer) = known else {
        let reason = "the peer is not a node in this node's roster".to_string();
        return Err(refuse(&state, &officer, None, WHAT, unprocessable, reason).await);
    };
    let peer = peer.to_string();
    let now = now();
    let envelope = seal(
        &state,
        MessageKind::FollowUpRequest,
        &peer,
        &request,
        now,
        REQUEST_TTL_SECS,
    )?;
    // On the record before it leaves: what was asked of whom, on what basis — not the
    // officer's free text, which may name people.
    let entry = NewEntry::new(Action::RequestSent, officer.clone())
        .subject(envelope.id.clone())
        .purpose(request.offence.map(|o| o.to_string()).unwrap_or_default())
        .recipient(peer.clone())
        .detail("project", request.hit.project.clone())
        .detail("legal_basis", request.legal_basis.clone())
        .detail("handling", format!("{:?}", request.handling))
        .detail("fields", request.fields.len().to_string());
    audit(&state, entry).await?;
    let (env, who) = (envelope.clone(), officer.clone());
    blocking(&state, move |ctx| ctx.ledger().record_sent(&env, &who, now))
        .await?
        .map_err(|e| ApiError::internal("outbox", e))?;
    let outcome = deliver(&state, &envelope).await;
    let status = if outcome.is_ok() { "filed" } else { "refused" };
    let id = envelope.id.clone();
    blocking(&state, move |ctx| ctx.ledger().set_sent_status(&id, status))
        .await?
        .map_err(|e| ApiError::internal("outbox", e))?;
    match outcome {
        Ok(()) => {
            tracing::info!("follow-up request delivered");
            Ok((
                StatusCode::ACCEPTED,
                Json(SentRequest {
                    id: envelope.id,
                    peer,
                    status: "filed".into(),
                }),
            ))
        }
        Err(reason) => Err(refuse(
            &state,
            &officer,
            Some(&envelope.id),
            WHAT,
            StatusCode::BAD_GATEWAY,
            format!("the request was not filed: {reason}"),
        )
        .await),
    }
}

// ----- the owner's decision -----

/// The approver's decision on an inbox item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The same person: release (some of) the fields.
    Confirm,
    /// A false hit: release nothing.
    Reject,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub outcome: DecisionKind,
    /// For `confirm`: the fields the approver releases (of those requested); the policy may
    /// withhold some of them.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub fields: BTreeSet<ReleaseField>,
    /// For `reject`: why the hit is not the same person.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionMade {
    pub request_id: String,
    /// The id of the signed message that carries the decision.
    pub message_id: String,
    pub outcome: Outcome,
    /// The fields released (names only).
    pub released: Vec<String>,
    /// The requested fields withheld, with the reason of each.
    pub withheld: BTreeMap<String, String>,
    pub retention_days: u32,
    /// Whether the requester has it already; if not, it is sent again until it does.
    pub delivered: bool,
}

/// A refusal decided on the blocking thread, audited on the way out.
struct Refused(StatusCode, String);

impl From<LedgerError> for Refused {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::UnknownRequest(_) => Refused(StatusCode::NOT_FOUND, e.to_string()),
            LedgerError::AlreadyDecided(_) => Refused(StatusCode::CONFLICT, e.to_string()),
            other => {
                tracing::error!("decision: {other}");
                Refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }
}

/// Confirms (releasing what the policy and the approver allow) or rejects a follow-up request
/// in the inbox. Approvers only.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/decision", tag = "exchange",
    security(("session" = [])),
    params(("id" = String, Path, description = "The follow-up request's message id")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Decided; the signed message is committed and sent", body = DecisionMade),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an approver", body = ErrorBody),
        (status = 404, description = "No such request in the inbox", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, description = "A field not requested, a rejection without reason, or a hit that names no record of this node", body = ErrorBody)))]
pub(super) async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    person: Person,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<Json<DecisionMade>, ApiError> {
    const WHAT: &str = "decision";
    let approver = person.0.name.clone();
    require(&state, &person, &[Role::Approver], WHAT, Some(&id)).await?;
    let st = state.clone();
    let (who, rid) = (approver.clone(), id.clone());
    let made = blocking(&state, move |ctx| {
        decide_blocking(&st, ctx, &rid, &who, input)
    })
    .await?;
    let (made, message) = match made {
        Ok(x) => x,
        Err(Refused(status, reason)) => {
            return Err(refuse(&state, &approver, Some(&id), WHAT, status, reason).await);
        }
    };
    if state.release.abort_after_commit {
        // The test of a crash between the commit and the send.
        std::process::abort();
    }
    let delivered = deliver_and_note(&state, &message).await;
    Ok(Json(DecisionMade { delivered, ..made }))
}

/// Delivers one outbox message and notes the attempt; whether it was delivered.
async fn deliver_and_note(state: &AppState, message: &Envelope) -> bool {
    let delivered = match deliver(state, message).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("delivering message {}: {e}; will retry", message.id);
            false
        }
    };
    let id = message.id.clone();
    let noted = blocking(state, move |ctx| {
        ctx.ledger().note_attempt(&id, delivered, now())
    })
    .await;
    match noted {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("noting a delivery: {e}"),
        Err(_) => tracing::error!("noting a delivery: the task failed"),
    }
    delivered
}

fn decide_blocking(
    state: &AppState,
    ctx: &ReleaseCtx,
    id: &str,
    approver: &str,
    input: DecisionInput,
) -> Result<(DecisionMade, Envelope), Refused> {
    let mut ledger = ctx.ledger();
    let pending = ledger
        .pending(id)?
        .ok_or_else(|| LedgerError::UnknownRequest(id.into()))?;
    if pending.status != "pending" {
        return Err(LedgerError::AlreadyDecided(id.into()).into());
    }
    let request = request_of(&pending.envelope.body).map_err(|e| {
        tracing::error!("an inbox item no longer parses: {e}");
        Refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
    })?;
    let unprocessable = |m: String| Refused(StatusCode::UNPROCESSABLE_ENTITY, m);
    if let Some(f) = input.fields.iter().find(|f| !request.fields.contains(f)) {
        return Err(unprocessable(format!(
            "field {f} was not asked for: an approver releases at most what was requested"
        )));
    }
    let partner = pending.from.clone();
    let now = now();
    let mut body = ReleaseBody {
        request_id: id.to_string(),
        hit: request.hit.clone(),
        outcome: Outcome::Confirmed,
        reason: None,
        released: BTreeMap::new(),
        withheld: BTreeMap::new(),
        handling: request.handling,
        retention_days: 0,
        retain_until: now,
        approver: approver.to_string(),
    };
    match input.outcome {
        DecisionKind::Reject => {
            let reason = input.reason.unwrap_or_default();
            if reason.trim().is_empty() {
                return Err(unprocessable("a rejection needs a reason".into()));
            }
            if reason.chars().count() > 1000 {
                return Err(unprocessable(
                    "the reason is longer than 1,000 characters".into(),
                ));
            }
            if !input.fields.is_empty() {
                return Err(unprocessable("a rejection releases no field".into()));
            }
            body.outcome = Outcome::Rejected;
            body.reason = Some(reason);
            // The requester keeps the answer itself as long as the policy's default says.
            body.retention_days = ctx
                .policy
                .as_ref()
                .map_or(365, |p| p.default_retention_days());
        }
        DecisionKind::Confirm => {
            let (source, key) = ledger
                .resolve_reference(&request.hit.project, &request.hit.partner_reference)?
                .ok_or_else(|| {
                    unprocessable(
                        "the hit's reference names no record of this node (no such project reference)"
                            .into(),
                    )
                })?;
            let record = read_record(&ctx.dir, &source, &key)
                .map_err(|e| unprocessable(format!("the hit's record cannot be read: {e}")))?;
            let resolved = release::resolve(
                ctx.policy.as_ref(),
                &partner,
                &request,
                &input.fields,
                &record,
                &source,
            );
            body.released = resolved.released;
            body.withheld = resolved.withheld;
            body.retention_days = resolved.retention_days;
        }
    }
    body.retain_until = now + i64::from(body.retention_days) * ctx.day_secs;
    let kind = match body.outcome {
        Outcome::Confirmed => MessageKind::Release,
        Outcome::Rejected => MessageKind::Decision,
    };
    let message = seal(state, kind, &partner, &body, now, RELEASE_TTL_SECS)
        .map_err(|_| Refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into()))?;
    let offence = request.offence.map(|o| o.to_string()).unwrap_or_default();
    // On the record before the commit: each withheld field and why, the decision, and the
    // release (names of fields, never values). If the log cannot take them, nothing is decided.
    let entries = audit_decision(approver, &partner, &offence, &body, &message);
    ledger.commit_decision(id, body.outcome, &message, now, || {
        for entry in entries {
            sync_audit(state, entry)?;
        }
        Ok(())
    })?;
    tracing::info!("decision committed");
    let made = DecisionMade {
        request_id: id.to_string(),
        message_id: message.id.clone(),
        outcome: body.outcome,
        released: body.released.keys().map(|f| f.to_string()).collect(),
        withheld: body
            .withheld
            .iter()
            .map(|(f, r)| (f.to_string(), r.clone()))
            .collect(),
        retention_days: body.retention_days,
        delivered: false,
    };
    Ok((made, message))
}

fn audit_decision(
    approver: &str,
    partner: &str,
    offence: &str,
    body: &ReleaseBody,
    message: &Envelope,
) -> Vec<NewEntry> {
    let mut entries = Vec::new();
    for (field, reason) in &body.withheld {
        entries.push(
            NewEntry::new(Action::Withheld, approver.to_string())
                .subject(body.request_id.clone())
                .purpose(offence.to_string())
                .recipient(partner.to_string())
                .detail("field", field.to_string())
                .detail("reason", reason.clone()),
        );
    }
    let outcome = match body.outcome {
        Outcome::Confirmed => "confirmed",
        Outcome::Rejected => "rejected",
    };
    entries.push(
        NewEntry::new(Action::Decision, approver.to_string())
            .subject(body.request_id.clone())
            .purpose(offence.to_string())
            .recipient(partner.to_string())
            .detail("outcome", outcome)
            .detail("released", body.released.len().to_string())
            .detail("withheld", body.withheld.len().to_string())
            .detail("message", message.id.clone()),
    );
    if body.outcome == Outcome::Confirmed {
        let fields: Vec<String> = body.released.keys().map(|f| f.to_string()).collect();
        entries.push(
            NewEntry::new(Action::Release, approver.to_string())
                .subject(body.request_id.clone())
                .purpose(offence.to_string())
                .recipient(partner.to_string())
                .detail("fields", fields.join(","))
                .detail("handling", format!("{:?}", body.handling))
                .detail("retention_days", body.retention_days.to_string())
                .detail("message", message.id.clone()),
        );
    }
    entries
}

pub(super) fn read_record(
    dir: &NodeDir,
    source: &str,
    key: &str,
) -> Result<enlace_model::Record, String> {
    let store_dir = dir.records();
    if !store_dir.join(enlace_store::DB_FILE).exists() {
        return Err("this node has no record store (DIR/records)".into());
    }
    let store = enlace_store::Store::open(&store_dir).map_err(|e| e.to_string())?;
    store
        .record(source, key)
        .map_err(|e| e.to_string())?
        .map(|r| r.record)
        .ok_or_else(|| "no such record in the store".into())
}

// ----- the requester receives -----

/// A release or decision delivered by the owner (from `POST /api/v1/node/messages`): checked
/// against the request this node sent, stored with its id in the replay store and audited in
/// one step.
pub(super) async fn receive_answer(
    state: &AppState,
    caller: &str,
    envelope: Envelope,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    const WHAT: &str = "release";
    let id = envelope.id.clone();
    let refused = |status: StatusCode, reason: String| {
        let id = id.clone();
        async move { refuse(state, caller, Some(&id), WHAT, status, reason).await }
    };
    let key = match state
        .roster
        .get(&match caller.parse::<NodeId>() {
            Ok(n) => n,
            Err(_) => return Err(refused(StatusCode::FORBIDDEN, "unknown caller".into()).await),
        })
        .map(|c| c.ed25519_key())
    {
        Some(Ok(k)) => k,
        _ => {
            let reason = format!("no signing key on the card of {caller}");
            return Err(refused(StatusCode::FORBIDDEN, reason).await);
        }
    };
    let now = now();
    let body = match envelope.verify(state.node_id.as_str(), &key, now) {
        Ok(b) => b.clone(),
        Err(e) => return Err(refused(status_of(&e), e.to_string()).await),
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let body: ReleaseBody = match serde_json::from_value(body) {
        Ok(b) => b,
        Err(e) => return Err(refused(unprocessable, format!("not a release: {e}")).await),
    };
    let kind_fits = matches!(
        (envelope.kind, body.outcome),
        (MessageKind::Release, Outcome::Confirmed) | (MessageKind::Decision, Outcome::Rejected)
    );
    if !kind_fits {
        let reason = "a release confirms, a decision rejects: kind and outcome disagree";
        return Err(refused(unprocessable, reason.into()).await);
    }
    let st = state.clone();
    let (env, from) = (envelope.clone(), caller.to_string());
    let stored = blocking(state, move |ctx| {
        let mut ledger = ctx.ledger();
        let sent = match ledger.sent(&body.request_id)? {
            Some(s) if s.peer == from => s,
            _ => {
                return Ok(Err(format!(
                    "it answers no request this node sent to {from}"
                )));
            }
        };
        if let Err(e) = body.check_against(&body.request_id, &sent.request) {
            return Ok(Err(e.to_string()));
        }
        // Never longer than the period the owner's policy named, counted from issue.
        let cap = env
            .issued_at
            .saturating_add(i64::from(body.retention_days).saturating_mul(DAY_SECS));
        let retain_until = body.retain_until.min(cap);
        let outcome = match body.outcome {
            Outcome::Confirmed => "confirmed",
            Outcome::Rejected => "rejected",
        };
        let entry = NewEntry::new(Action::ReleaseReceived, from.clone())
            .subject(body.request_id.clone())
            .purpose(
                sent.request
                    .offence
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            )
            .recipient(from.clone())
            .detail("message", env.id.clone())
            .detail("outcome", outcome)
            .detail("handling", format!("{:?}", body.handling))
            .detail("released", body.released.len().to_string())
            .detail("withheld", body.withheld.len().to_string())
            .detail("retain_until", retain_until.to_string());
        ledger
            .store_release(&env, &body, retain_until, now, || sync_audit(&st, entry))
            .map(Ok)
    })
    .await?;
    match stored {
        Ok(Ok(())) => {
            tracing::info!("release received");
            Ok((StatusCode::ACCEPTED, Json(Received { id })))
        }
        Ok(Err(reason)) => Err(refused(unprocessable, format!("message {id}: {reason}")).await),
        Err(LedgerError::Envelope(e @ EnvelopeError::Replayed { .. })) => {
            Err(refused(StatusCode::CONFLICT, e.to_string()).await)
        }
        Err(e @ LedgerError::DuplicateRelease { .. }) => {
            Err(refused(StatusCode::CONFLICT, e.to_string()).await)
        }
        Err(e) => Err(ApiError::internal("storing a release", e)),
    }
}

// ----- the requester reads -----

/// The releases this node holds (within their retention), newest first. Analysts and
/// officers; each release shown is an audited read.
#[utoipa::path(get, path = "/api/v1/released", tag = "exchange", security(("session" = [])),
    responses(
        (status = 200, description = "Releases and rejections received", body = [ReleasedItem]),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst or officer", body = ErrorBody)))]
pub(super) async fn released(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Vec<ReleasedItem>>, ApiError> {
    require(
        &state,
        &person,
        &[Role::Analyst, Role::Officer],
        "read_released",
        None,
    )
    .await?;
    let st = state.clone();
    let reader = person.0.name.clone();
    let items = blocking(&state, move |ctx| {
        let items = ctx.ledger().released(now()).map_err(|e| e.to_string())?;
        for item in &items {
            sync_audit(
                &st,
                NewEntry::new(Action::ReadReleased, reader.clone())
                    .subject(item.request_id.clone())
                    .recipient(item.from.clone())
                    .detail("message", item.id.clone())
                    .detail("handling", item.handling.clone()),
            )?;
        }
        Ok::<_, String>(items)
    })
    .await?
    .map_err(|e| ApiError::internal("reading releases", e))?;
    Ok(Json(items))
}

#[derive(Serialize, ToSchema)]
pub struct Export {
    /// The signed message as received: it proves what the owner released.
    #[schema(value_type = Object)]
    pub envelope: Envelope,
    pub handling: String,
    /// Unix seconds.
    pub retain_until: i64,
    pub exported_by: String,
    /// Unix seconds.
    pub exported_at: i64,
}

/// One release as a standalone signed document, for onward use its handling code allows. A
/// release under H2 (no onward sharing) is never exported. Analysts and officers; audited.
#[utoipa::path(get, path = "/api/v1/released/{id}/export", tag = "exchange",
    security(("session" = [])),
    params(("id" = String, Path, description = "The release message's id")),
    responses(
        (status = 200, description = "The release and its signature", body = Export),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst or officer, or handling code H2", body = ErrorBody),
        (status = 404, description = "No such release (or its retention has ended)", body = ErrorBody)))]
pub(super) async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    person: Person,
) -> Result<Json<Export>, ApiError> {
    const WHAT: &str = "export";
    require(
        &state,
        &person,
        &[Role::Analyst, Role::Officer],
        WHAT,
        Some(&id),
    )
    .await?;
    let who = person.0.name.clone();
    let rid = id.clone();
    let found = blocking(&state, move |ctx| {
        let ledger = ctx.ledger();
        let now = now();
        Ok::<_, LedgerError>(
            ledger
                .release(&rid, now)?
                .zip(ledger.release_envelope(&rid, now)?),
        )
    })
    .await?
    .map_err(|e| ApiError::internal("reading a release", e))?;
    let Some((item, envelope)) = found else {
        let reason = format!("no release {id} at this node (or its retention has ended)");
        return Err(refuse(&state, &who, Some(&id), WHAT, StatusCode::NOT_FOUND, reason).await);
    };
    if item.handling == "H2" {
        let reason = format!(
            "release {id} is under handling code H2 (no onward sharing): it cannot be exported"
        );
        return Err(refuse(&state, &who, Some(&id), WHAT, StatusCode::FORBIDDEN, reason).await);
    }
    let entry = NewEntry::new(Action::Export, who.clone())
        .subject(item.request_id.clone())
        .recipient(item.from.clone())
        .detail("message", item.id.clone())
        .detail("handling", item.handling.clone());
    audit(&state, entry).await?;
    Ok(Json(Export {
        envelope,
        handling: item.handling,
        retain_until: item.retain_until,
        exported_by: who,
        exported_at: now(),
    }))
}

// ----- in the background -----

/// Deletes releases past their retention (every second, and at once at start-up) and sends
/// undelivered decisions again (at start-up, then every 15 s).
pub(super) fn spawn_background(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut retention = tokio::time::interval(RETENTION_TICK);
        let mut resend = tokio::time::interval(RESEND_TICK);
        let mut min_age = 0;
        loop {
            tokio::select! {
                _ = retention.tick() => purge_expired(&state).await,
                _ = resend.tick() => {
                    resend_undelivered(&state, min_age).await;
                    min_age = RESEND_MIN_AGE_SECS;
                }
            }
        }
    })
}

async fn purge_expired(state: &AppState) {
    let st = state.clone();
    let me = state.node_id.to_string();
    let purged = blocking(state, move |ctx| {
        ctx.ledger().purge_expired(now(), |id, sender, request| {
            sync_audit(
                &st,
                NewEntry::new(Action::Deletion, me.clone())
                    .subject(request.to_string())
                    .recipient(sender.to_string())
                    .detail("message", id.to_string())
                    .detail("reason", "retention period ended"),
            )
        })
    })
    .await;
    match purged {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!("{n} release(s) deleted at the end of their retention"),
        Ok(Err(e)) => tracing::error!("deleting expired releases: {e}"),
        Err(_) => tracing::error!("deleting expired releases: the task failed"),
    }
}

async fn resend_undelivered(state: &AppState, min_age: i64) {
    let pending = match blocking(state, |ctx| ctx.ledger().undelivered()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            tracing::error!("reading the outbox: {e}");
            return;
        }
        Err(_) => return,
    };
    let now = now();
    for outgoing in pending {
        if now - outgoing.envelope.issued_at < min_age {
            continue;
        }
        let mut message = outgoing.envelope;
        if message.expires_at - now < 60 {
            // Expired before it was delivered: the same body under a fresh id and validity.
            let fresh = match seal(
                state,
                message.kind,
                &outgoing.peer,
                &message.body,
                now,
                RELEASE_TTL_SECS,
            ) {
                Ok(f) => f,
                Err(_) => continue,
            };
            let (old, f) = (message.id.clone(), fresh.clone());
            if !matches!(
                blocking(state, move |ctx| ctx.ledger().renew(&old, &f)).await,
                Ok(Ok(()))
            ) {
                continue;
            }
            message = fresh;
        }
        if deliver_and_note(state, &message).await {
            tracing::info!("an undelivered decision was delivered");
        }
    }
}
