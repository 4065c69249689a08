//! What the audit page and the data engineer's downloads read:
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/api/v1/audit` | approvers, admins | entries, newest first, filtered by action, actor, subject and time; the chain's state |
//! | GET | `/api/v1/audit/disclosures` | approvers, admins | the disclosure accounting as CSV (audited as an export) |
//! | GET | `/api/v1/imports/{id}/rejects` | admins | an import run's rejected rows as CSV: line, column, reason, raw row (audited as an export) |
//!
//! Audit entries name people, nodes, projects and requests, never record values; rejected rows
//! are records, so only the node's administrators (its data engineers) may download them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{ApiError, ErrorBody, Person};
use super::release_api::{blocking, require, sync_audit};
use super::ui_api::{AuditStatus, audit_status};
use crate::users::Role;
use enlace_audit::{Action, Entry, NewEntry};

pub const AUDIT: &str = "/api/v1/audit";
pub const DISCLOSURES: &str = "/api/v1/audit/disclosures";
pub const REJECTS: &str = "/api/v1/imports/{id}/rejects";

const READERS: [Role; 2] = [Role::Approver, Role::Admin];
/// Entries per page when the caller does not say.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// One action (`release`, `hit`, `review`…).
    pub action: Option<String>,
    /// The actor's name, exactly (a person or a node id).
    pub actor: Option<String>,
    /// Entries whose subject (project, request id…) contains this.
    pub subject: Option<String>,
    /// From this day (YYYY-MM-DD) or moment (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this day (inclusive) or moment (exclusive).
    pub to: Option<String>,
    /// Entries numbered below this (the next page).
    pub before: Option<u64>,
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    pub action: String,
    pub actor: String,
    pub subject: Option<String>,
    pub purpose: Option<String>,
    pub recipient: Option<String>,
    #[schema(value_type = Object)]
    pub detail: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub status: AuditStatus,
    /// Matching entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// How many entries match in all.
    pub matching: usize,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<u64>,
    /// The actions there are, for the filter.
    pub actions: Vec<String>,
}

/// A day or a moment; a day as `to` means the end of that day.
fn moment(text: &str, end_of_day: bool, name: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name}: give a date (YYYY-MM-DD) or an RFC 3339 moment"),
        )
    })?;
    let day = if end_of_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A time range, each end optional.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn range(from: Option<&str>, to: Option<&str>) -> Result<Range, ApiError> {
    Ok((
        from.filter(|s| !s.is_empty())
            .map(|s| moment(s, false, "from"))
            .transpose()?,
        to.filter(|s| !s.is_empty())
            .map(|s| moment(s, true, "to"))
            .transpose()?,
    ))
}

fn matches(e: &Entry, p: &AuditParams) -> bool {
    let action = p.action.as_deref().filter(|s| !s.is_empty());
    let actor = p.actor.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let subject = p
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    action.is_none_or(|a| e.body.action.as_str() == a)
        && actor.is_none_or(|a| e.body.actor == a)
        && subject.is_none_or(|s| e.body.subject.as_deref().is_some_and(|x| x.contains(s)))
}

/// The audit log's entries, newest first, with filters, and the chain's state.
#[utoipa::path(get, path = "/api/v1/audit", tag = "ui", security(("session" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 403, description = "Not an approver or admin", body = ErrorBody),
        (status = 422, description = "A date that cannot be read", body = ErrorBody)))]
pub(super) async fn audit_page(
    State(state): State<AppState>,
    person: Person,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    require(&state, &person, &READERS, "read_audit", None).await?;
    if let Some(a) = params.action.as_deref().filter(|s| !s.is_empty())
        && Action::parse(a).is_none()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "action: not an action of the audit log",
        ));
    }
    let (from, to) = range(params.from.as_deref(), params.to.as_deref())?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = blocking(&state, move |ctx| {
        let dir = ctx.dir();
        let status = audit_status(dir, ctx)?;
        let all = enlace_audit::entries_in(&dir.audit(), from, to).map_err(|e| e.to_string())?;
        let found: Vec<&Entry> = all.iter().rev().filter(|e| matches(e, &params)).collect();
        let matching = found.len();
        let page: Vec<&Entry> = found
            .into_iter()
            .filter(|e| params.before.is_none_or(|b| e.seq < b))
            .take(limit + 1)
            .collect();
        let next_before = (page.len() > limit).then(|| page[limit - 1].seq);
        let entries = page
            .into_iter()
            .take(limit)
            .map(|e| AuditEntry {
                seq: e.seq,
                at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                action: e.body.action.as_str().to_string(),
                actor: e.body.actor.clone(),
                subject: e.body.subject.clone(),
                purpose: e.body.purpose.clone(),
                recipient: e.body.recipient.clone(),
                detail: e.body.detail.clone(),
            })
            .collect();
        Ok::<_, String>(AuditPage {
            status,
            entries,
            matching,
            next_before,
            actions: Action::ALL.iter().map(|a| a.as_str().to_string()).collect(),
        })
    })
    .await?
    .map_err(|e| ApiError::internal("reading the audit log", e))?;
    Ok(Json(page))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// From this day (YYYY-MM-DD) or moment, inclusive.
    pub from: Option<String>,
    /// Until this day (inclusive) or moment (exclusive).
    pub to: Option<String>,
}

fn csv_download(name: &str, body: Vec<u8>) -> Response {
    super::download("text/csv; charset=utf-8", name, body)
}

/// The disclosure accounting (releases, uploads of encodings, hits reported) as CSV, for the
/// legal officer. The export is itself audited.
#[utoipa::path(get, path = "/api/v1/audit/disclosures", tag = "ui", security(("session" = [])),
    params(RangeParams),
    responses(
        (status = 200, description = "CSV: date, entry, nature, purpose, recipient, subject, details", content_type = "text/csv", body = String),
        (status = 403, description = "Not an approver or admin", body = ErrorBody)))]
pub(super) async fn disclosures(
    State(state): State<AppState>,
    person: Person,
    Query(params): Query<RangeParams>,
) -> Result<Response, ApiError> {
    require(&state, &person, &READERS, "export_disclosures", None).await?;
    let (from, to) = range(params.from.as_deref(), params.to.as_deref())?;
    let actor = person.0.name.clone();
    let st = state.clone();
    let csv = blocking(&state, move |ctx| {
        let entries =
            enlace_audit::entries_in(&ctx.dir().audit(), from, to).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let n = enlace_audit::write_disclosures(&entries, &mut out).map_err(|e| e.to_string())?;
        sync_audit(
            &st,
            NewEntry::new(Action::Export, actor)
                .detail("what", "disclosure_accounting")
                .detail("rows", n.to_string()),
        )?;
        Ok::<_, String>(out)
    })
    .await?
    .map_err(|e| ApiError::internal("disclosure accounting", e))?;
    Ok(csv_download("disclosures.csv", csv))
}

/// An import run's rejected rows, as CSV, for the node's data engineers (admins): each with its
/// line, the column at fault and the reason, and the raw row to correct. Audited as an export.
#[utoipa::path(get, path = "/api/v1/imports/{id}/rejects", tag = "ui", security(("session" = [])),
    params(("id" = i64, Path, description = "The import run")),
    responses(
        (status = 200, description = "CSV: line, column, reason, raw", content_type = "text/csv", body = String),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such import run", body = ErrorBody)))]
pub(super) async fn rejects(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let subject = format!("import {id}");
    require(
        &state,
        &person,
        &[Role::Admin],
        "download_rejects",
        Some(&subject),
    )
    .await?;
    let actor = person.0.name.clone();
    let st = state.clone();
    let csv = blocking(&state, move |ctx| {
        let records = ctx.dir().records();
        if !records.join(enlace_store::DB_FILE).exists() {
            return Ok(None);
        }
        let store = enlace_store::Store::open(&records).map_err(|e| e.to_string())?;
        let known = store
            .imports()
            .map_err(|e| e.to_string())?
            .into_iter()
            .any(|i| i.id.0 == id);
        if !known {
            return Ok(None);
        }
        let rows = store
            .rejects(enlace_store::ImportId(id))
            .map_err(|e| e.to_string())?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| e.to_string();
        w.write_record(["line", "column", "reason", "raw"])
            .map_err(err)?;
        for r in &rows {
            w.write_record([
                r.line.to_string().as_str(),
                r.column.as_deref().unwrap_or(""),
                &r.reason,
                &r.raw,
            ])
            .map_err(err)?;
        }
        let body = w.into_inner().map_err(|e| e.to_string())?;
        sync_audit(
            &st,
            NewEntry::new(Action::Export, actor)
                .subject(subject)
                .detail("what", "rejects")
                .detail("rows", rows.len().to_string()),
        )?;
        Ok::<_, String>(Some(body))
    })
    .await?
    .map_err(|e| ApiError::internal("rejects", e))?;
    csv.map(|body| csv_download(&format!("rejects-{id}.csv"), body))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such import run"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_moments_bound_the_range() {
        let (from, to) = range(Some("2026-03-01"), Some("2026-03-01")).unwrap();
        assert_eq!(from.unwrap().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(
            to.unwrap().to_rfc3339(),
            "2026-03-02T00:00:00+00:00",
            "the whole day"
        );
        let (from, to) = range(Some("2026-03-01T10:00:00Z"), None).unwrap();
        assert_eq!(from.unwrap().to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert!(to.is_none());
        assert!(range(Some("01/03/2026"), None).is_err());
        assert_eq!(range(Some(""), Some("")).unwrap(), (None, None));
    }
}
