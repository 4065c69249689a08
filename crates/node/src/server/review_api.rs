//! Clerical review of hits. An analyst at an agency accepts, rejects or marks unsure a hit
//! (`POST /api/v1/reviews`, with a reason that stays at the agency); the node records it,
//! audits it and relays the pair and the decision to the project's linkage unit
//! (`POST /api/v1/projects/{id}/reviews`, node certificate), which keeps it for the next run:
//! a rejected pair is no longer reported, an accepted one is reported as certain.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::now;
use super::auth::{ApiError, ApiJson, ErrorBody, Peer, Person};
use super::project_api::{holders_project, unit, with_store};
use super::release_api::{blocking, require, sync_audit};
use super::{AppState, audit};
use crate::client;
use crate::config::NodeId;
use crate::project::holder::Holder;
use crate::project::reviews::ReviewBook;
use crate::project::spec::valid_project_id;
use crate::project::unit::{DECISIONS, PairReview};
use crate::users::Role;
use enlace_audit::{Action, NewEntry};

pub const REVIEWS: &str = "/api/v1/reviews";
pub const UNIT_REVIEWS: &str = "/api/v1/projects/{id}/reviews";

/// The longest reason kept with a decision.
const MAX_REASON: usize = 1000;
/// The most decisions one call relays to the unit.
const MAX_BATCH: usize = 10_000;

/// An opaque reference as the unit makes them: `r-` and 24 lowercase hex digits.
fn valid_opaque(s: &str) -> bool {
    s.len() == 26
        && s.starts_with("r-")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_pair(r: &PairReview) -> Result<(), &'static str> {
    if !DECISIONS.contains(&r.decision.as_str()) {
        return Err("decision must be accept, reject or unsure");
    }
    if !valid_opaque(&r.opaque) || !valid_opaque(&r.partner_ref) {
        return Err("opaque and partner_ref must be the unit's references (r- and 24 hex digits)");
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub project: String,
    /// This node's record, as the results name it.
    pub opaque: String,
    /// The partner's record.
    pub partner_ref: String,
    /// `accept`, `reject` or `unsure`.
    pub decision: String,
    /// Why: kept at this node with the decision, never sent.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewOutcome {
    /// The decision is recorded and audited here.
    pub recorded: bool,
    /// The linkage unit has it (with any earlier unsent ones); when false it goes with the
    /// next review or before the next run.
    pub sent: bool,
    /// Why it could not be sent, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_sent: Option<String>,
}

/// Records an analyst's decision on one of this node's hits and relays it to the unit.
#[utoipa::path(post, path = "/api/v1/reviews", tag = "ui", security(("session" = [])),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "Recorded (and sent, or kept to send)", body = ReviewOutcome),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such hit among this node's results", body = ErrorBody),
        (status = 422, description = "A bad decision, reference or reason", body = ErrorBody)))]
pub(super) async fn review(
    State(state): State<AppState>,
    person: Person,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<Json<ReviewOutcome>, ApiError> {
    let subject = valid_project_id(&input.project).then(|| input.project.clone());
    require(
        &state,
        &person,
        &[Role::Analyst],
        "review",
        subject.as_deref(),
    )
    .await?;
    let Some(project) = subject else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such project"));
    };
    let pair = PairReview {
        opaque: input.opaque,
        partner_ref: input.partner_ref,
        decision: input.decision,
    };
    check_pair(&pair).map_err(|why| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, why))?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("reason: give one, of at most {MAX_REASON} characters"),
        ));
    }
    let reviewer = person.0.name.clone();
    let st = state.clone();
    let pid = project.clone();
    // Record and audit first: what the analyst decided is kept whatever the unit does.
    let prepared = blocking(&state, move |ctx| {
        let dir = ctx.dir();
        let Some(results) = super::ui_api::fetched(dir, &pid) else {
            return Ok(None);
        };
        let Some(row) = results
            .rows
            .iter()
            .find(|r| r.opaque == pair.opaque && r.partner_ref == pair.partner_ref)
        else {
            return Ok(None);
        };
        let book = ReviewBook::open(&dir.exchange()).map_err(|e| e.to_string())?;
        book.record(&pid, &pair, &reason, &reviewer, now())
            .map_err(|e| e.to_string())?;
        sync_audit(
            &st,
            NewEntry::new(Action::Review, reviewer)
                .subject(pid.clone())
                .recipient(row.partner.clone())
                .detail("decision", pair.decision.clone())
                .detail("opaque", pair.opaque.clone())
                .detail("partner_ref", pair.partner_ref.clone())
                .detail("band", row.band.clone()),
        )?;
        let node = dir.load().map_err(|e| e.to_string())?;
        let (joined, _) = Holder::new(&node).joined(&pid).map_err(|e| e.to_string())?;
        let unsent = book.unsent(&pid).map_err(|e| e.to_string())?;
        Ok::<_, String>(Some((joined.unit, unsent)))
    })
    .await?
    .map_err(|e| ApiError::internal("recording a review", e))?;
    let Some((unit_id, unsent)) = prepared else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no such hit among this node's results",
        )
        .with_code("no_such_hit"));
    };
    let not_sent = match relay(&state, &unit_id, &project, &unsent).await {
        Ok(()) => {
            let pid = project.clone();
            blocking(&state, move |ctx| {
                ReviewBook::open(&ctx.dir().exchange())
                    .and_then(|book| book.mark_sent(&pid, &unsent))
                    .map_err(|e| e.to_string())
            })
            .await?
            .map_err(|e| ApiError::internal("recording a review", e))?;
            None
        }
        Err(why) => Some(why),
    };
    Ok(Json(ReviewOutcome {
        recorded: true,
        sent: not_sent.is_none(),
        not_sent,
    }))
}

/// Sends decisions to the unit; the error says why in words fit for the analyst.
async fn relay(
    state: &AppState,
    unit_id: &str,
    project: &str,
    reviews: &[PairReview],
) -> Result<(), String> {
    let card = unit_id
        .parse::<NodeId>()
        .ok()
        .and_then(|id| state.roster.get(&id))
        .ok_or("the project's linkage unit is not in this node's roster")?;
    let body = serde_json::json!({ "reviews": reviews }).to_string();
    let response = client::send(
        &card.url,
        card.tls_cert_sha256,
        Some(state.release.identity()),
        client::Request::post_json(&format!("/api/v1/projects/{project}/reviews"), body),
        std::time::Duration::from_secs(10),
    )
    .await
    .map_err(|e| {
        tracing::warn!("sending reviews: {e}");
        "the linkage unit could not be reached".to_string()
    })?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        let answer = response.json().unwrap_or_default();
        Err(format!(
            "the linkage unit answered {}: {}",
            response.status,
            answer["error"].as_str().unwrap_or("no reason given")
        ))
    }
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitReviews {
    pub reviews: Vec<PairReview>,
}

#[derive(Serialize, ToSchema)]
pub struct UnitReviewsRecorded {
    pub recorded: usize,
}

/// A holder's decisions on pairs of its latest results, kept for the next run. A pair not in
/// the caller's results is refused (and the refusal audited): a holder reviews only its hits.
#[utoipa::path(post, path = "/api/v1/projects/{id}/reviews", tag = "projects",
    security(("node_certificate" = [])), request_body = UnitReviews,
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "Recorded", body = UnitReviewsRecorded),
        (status = 404, description = "No such project for this holder", body = ErrorBody),
        (status = 422, description = "A bad decision, or a pair not in the caller's results", body = ErrorBody)))]
pub(super) async fn unit_reviews(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UnitReviews>,
) -> Result<Json<UnitReviewsRecorded>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    if body.reviews.is_empty() || body.reviews.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("send between 1 and {MAX_BATCH} reviews"),
        ));
    }
    for (i, r) in body.reviews.iter().enumerate() {
        check_pair(r).map_err(|why| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("review {i}: {why}"),
            )
        })?;
    }
    let holder = peer.id.to_string();
    let (pid, h) = (spec.id.clone(), holder.clone());
    let reviews = body.reviews;
    let count = reviews.len();
    let outcome = with_store(&projects, move |s| {
        for (i, r) in reviews.iter().enumerate() {
            if !s.holder_has_pair(&pid, &h, &r.opaque, &r.partner_ref)? {
                return Ok(Err(i));
            }
        }
        s.record_reviews(&pid, &h, &reviews, now())?;
        let mut tally = [0usize; 3];
        for r in &reviews {
            if let Some(k) = DECISIONS.iter().position(|d| *d == r.decision) {
                tally[k] += 1;
            }
        }
        Ok(Ok(tally))
    })
    .await?;
    match outcome {
        Ok(tally) => {
            let mut entry = NewEntry::new(Action::Review, holder)
                .subject(spec.id)
                .detail("reviews", count.to_string());
            for (d, n) in DECISIONS.iter().zip(tally) {
                entry = entry.detail(*d, n.to_string());
            }
            audit(&state, entry).await?;
            Ok(Json(UnitReviewsRecorded { recorded: count }))
        }
        Err(i) => {
            let entry = NewEntry::new(Action::Refusal, holder.clone())
                .subject(spec.id)
                .recipient(holder)
                .detail("what", "reviews")
                .detail("reason", "a pair not in the holder's results");
            audit(&state, entry).await?;
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("review {i}: no such pair in your latest results"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_units_references_and_known_decisions_pass() {
        let good = PairReview {
            opaque: format!("r-{}", "a".repeat(24)),
            partner_ref: format!("r-{}", "0".repeat(24)),
            decision: "accept".into(),
        };
        assert!(check_pair(&good).is_ok());
        let mut bad = good.clone();
        bad.decision = "maybe".into();
        assert!(check_pair(&bad).is_err());
        let mut bad = good.clone();
        bad.opaque = format!("r-{}", "A".repeat(24));
        assert!(check_pair(&bad).is_err());
        let mut bad = good;
        bad.partner_ref = "r-1".into();
        assert!(check_pair(&bad).is_err());
    }
}
