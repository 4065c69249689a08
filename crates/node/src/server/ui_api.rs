//! The endpoints the web UI needs beyond the exchange's, at an agency node:
//!
//! * `GET /api/v1/overview`: the node, the signed-in person, the sources and import runs of the
//!   node's record store, the linkage projects this node holds with their latest results, the
//!   inbox's pending count (approvers) and the audit chain's state. Any signed-in person.
//! * `GET /api/v1/hits?project=ID`: this node's side of a project's hits — its record, the
//!   partner, the partner's opaque reference, the band. Analysts; each read audited.
//! * `POST /api/v1/query`: the border query. The node normalises the person's details, encodes
//!   them under the project's secret (which never leaves the node) and asks the linkage unit.
//!   Officers; audited.
//! * `GET /api/v1/inbox/{id}/policy`: what the node's policy would release of a request's
//!   fields (names and reasons, never values), shown to the approver before deciding.
//!
//! A role that may not take an action gets 403, and the refusal is audited.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{ApiError, ApiJson, ErrorBody, Person};
use super::release_api::{blocking, read_record, require, sync_audit};
use crate::client;
use crate::config::{NodeId, NodeRole};
use crate::exchange::ResolveReference;
use crate::exchange::inbox::request_of;
use crate::node_dir::NodeDir;
use crate::person::{Person as PersonDetails, encode_one};
use crate::project::ResultRow;
use crate::project::holder::{Holder, Joined};
use crate::project::spec::valid_project_id;
use crate::users::Role;
use enlace_audit::{Action, NewEntry};

pub const OVERVIEW: &str = "/api/v1/overview";
pub const HITS: &str = "/api/v1/hits";
pub const QUERY: &str = "/api/v1/query";
pub const INBOX_POLICY: &str = "/api/v1/inbox/{id}/policy";

/// How long the linkage unit has to answer a border query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Serialize, ToSchema)]
pub struct Overview {
    pub node: String,
    pub country: String,
    /// `agency` or `linkage_unit`.
    pub node_role: String,
    /// The signed-in person.
    pub user: String,
    pub role: Role,
    pub sources: Vec<SourceRow>,
    /// Newest first.
    pub imports: Vec<ImportRow>,
    pub projects: Vec<LocalProject>,
    /// Follow-up requests waiting for a decision (approvers only; absent for other roles).
    pub inbox_pending: Option<usize>,
    pub audit: AuditStatus,
    /// At a linkage unit: the projects it runs, with their uploads and latest run (counts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted: Option<Vec<HostedProject>>,
}

/// A project as the linkage unit that runs it sees it: holders, their current uploads (record
/// counts) and the runs, never a record.
#[derive(Serialize, ToSchema)]
pub struct HostedProject {
    pub id: String,
    pub initiator: String,
    pub holders: Vec<String>,
    pub uploads: Vec<crate::project::unit::HolderUpload>,
    /// Newest first.
    pub runs: Vec<crate::project::unit::RunState>,
}

#[derive(Serialize, ToSchema)]
pub struct SourceRow {
    pub name: String,
    pub country: String,
    pub records: i64,
    pub imports: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRow {
    pub id: i64,
    pub source: String,
    pub file_name: String,
    /// `running`, `complete` or `failed`.
    pub status: String,
    pub read: i64,
    pub stored: i64,
    pub unchanged: i64,
    pub updated: i64,
    pub rejected: i64,
    pub warned: i64,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// A linkage project this node takes part in, with the latest results it fetched.
#[derive(Serialize, ToSchema)]
pub struct LocalProject {
    pub id: String,
    /// The linkage unit that runs it.
    pub unit: String,
    pub holders: Vec<String>,
    /// The run of the results fetched (absent before any).
    pub run: Option<u32>,
    /// Result rows: one per own record and partner record.
    pub rows: usize,
    /// This node's records with at least one hit.
    pub records: usize,
    /// Rows per band.
    pub bands: BTreeMap<String, usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditStatus {
    pub entries: u64,
    /// Every entry chains to the one before and the newest signature checks.
    pub intact: bool,
    pub problems: usize,
    /// RFC 3339.
    pub last_at: Option<String>,
}

/// The node, the person, and what the node holds. Any signed-in person.
#[utoipa::path(get, path = "/api/v1/overview", tag = "ui", security(("session" = [])),
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 401, description = "No valid session", body = ErrorBody)))]
pub(super) async fn overview(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<Overview>, ApiError> {
    let role = person.0.role;
    let inbox_pending = if role == Role::Approver {
        let exchange = state.exchange.clone();
        let items = tokio::task::spawn_blocking(move || {
            let ex = super::lock(&exchange);
            ex.inbox.list(Some("pending"))
        })
        .await
        .map_err(|e| ApiError::internal("inbox", e))?
        .map_err(|e| ApiError::internal("inbox", e))?;
        Some(items.len())
    } else {
        None
    };
    let (sources, imports, projects, audit) = blocking(&state, |ctx| {
        let dir = ctx.dir();
        let (sources, imports) = store_summary(dir)?;
        let projects = local_projects(dir);
        let audit = audit_status(dir, ctx)?;
        Ok::<_, String>((sources, imports, projects, audit))
    })
    .await?
    .map_err(|e| ApiError::internal("overview", e))?;
    let hosted = match &state.projects {
        Some(projects) => {
            let store = projects.store.clone();
            let found = tokio::task::spawn_blocking(move || {
                let s = super::lock(&store);
                let mut out = Vec::new();
                for spec in s.all_projects()? {
                    let mut runs = s.runs(&spec.id)?;
                    runs.sort_by_key(|r| std::cmp::Reverse(r.run));
                    out.push(HostedProject {
                        uploads: s.current_uploads(&spec.id)?,
                        runs,
                        id: spec.id,
                        initiator: spec.initiator,
                        holders: spec.holders,
                    });
                }
                Ok::<_, crate::project::unit::UnitError>(out)
            })
            .await
            .map_err(|e| ApiError::internal("projects", e))?
            .map_err(|e| ApiError::internal("projects", e))?;
            Some(found)
        }
        None => None,
    };
    Ok(Json(Overview {
        hosted,
        node: state.node_id.to_string(),
        country: state.country.to_string(),
        node_role: match state.role {
            NodeRole::Agency => "agency".into(),
            NodeRole::LinkageUnit => "linkage_unit".into(),
        },
        user: person.0.name,
        role,
        sources,
        imports,
        projects,
        inbox_pending,
        audit,
    }))
}

/// The audit chain's state: entries, whether every link and the newest signature check.
pub(super) fn audit_status(
    dir: &NodeDir,
    ctx: &super::release_api::ReleaseCtx,
) -> Result<AuditStatus, String> {
    let key = ctx.identity().ed25519_public();
    let report = enlace_audit::verify(&dir.audit(), &key, enlace_audit::Signatures::Newest)
        .map_err(|e| e.to_string())?;
    Ok(AuditStatus {
        entries: report.entries,
        intact: report.is_intact(),
        problems: report.problems.len(),
        last_at: report.last_at.map(|t| t.to_rfc3339()),
    })
}

fn store_summary(dir: &NodeDir) -> Result<(Vec<SourceRow>, Vec<ImportRow>), String> {
    let records = dir.records();
    if !records.join(enlace_store::DB_FILE).exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let store = enlace_store::Store::open(&records).map_err(|e| e.to_string())?;
    let sources = store
        .sources()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| SourceRow {
            name: s.name,
            country: s.country,
            records: s.records,
            imports: s.imports,
        })
        .collect();
    let mut imports: Vec<ImportRow> = store
        .imports()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|i| ImportRow {
            id: i.id.0,
            source: i.source,
            file_name: i.file_name,
            status: format!("{:?}", i.status).to_lowercase(),
            read: i.counts.read,
            stored: i.counts.stored,
            unchanged: i.counts.unchanged,
            updated: i.counts.updated,
            rejected: i.counts.rejected,
            warned: i.counts.warned,
            started_at: i.started_at,
            finished_at: i.finished_at,
        })
        .collect();
    imports.sort_by_key(|i| std::cmp::Reverse(i.id));
    Ok((sources, imports))
}

/// The results a holder fetched (`DIR/projects/ID/results.json`, as the unit sent them).
#[derive(Deserialize)]
pub(super) struct Fetched {
    pub run: u32,
    pub rows: Vec<ResultRow>,
    #[serde(default)]
    pub weights: Option<enlace_link::WeightTable>,
}

pub(super) fn fetched(dir: &NodeDir, project: &str) -> Option<Fetched> {
    let text = std::fs::read(dir.holder_projects().join(project).join("results.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The projects this node holds a secret for, by id.
fn local_projects(dir: &NodeDir) -> Vec<LocalProject> {
    let Ok(entries) = std::fs::read_dir(dir.holder_projects()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !valid_project_id(&id) {
            continue;
        }
        let Ok(text) = std::fs::read(entry.path().join("project.json")) else {
            continue;
        };
        let Ok(joined) = serde_json::from_slice::<Joined>(&text) else {
            continue;
        };
        let results = fetched(dir, &id);
        let mut bands = BTreeMap::new();
        let mut own = BTreeSet::new();
        for r in results.iter().flat_map(|f| &f.rows) {
            *bands.entry(r.band.clone()).or_default() += 1;
            own.insert(r.reference.as_str());
        }
        out.push(LocalProject {
            unit: joined.unit,
            holders: joined.spec.holders.clone(),
            run: results.as_ref().map(|f| f.run),
            rows: results.as_ref().map_or(0, |f| f.rows.len()),
            records: own.len(),
            bands,
            id,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[derive(Deserialize, IntoParams)]
pub struct HitsParams {
    /// The project's id.
    pub project: String,
}

/// One row of this node's side of a hit.
#[derive(Serialize, ToSchema)]
pub struct Hit {
    /// This node's record id.
    pub record: String,
    /// The record's reference in the project (as uploaded).
    pub reference: String,
    /// The partner node holding the other record.
    pub partner: String,
    /// The partner's record, opaque: quote it in a follow-up request.
    pub partner_ref: String,
    /// `certain`, `probable` or `possible`.
    pub band: String,
    /// This node's own record, as the unit names it: quote it in a review.
    pub opaque: String,
    /// The pair's comparison levels, one digit per field of `weights` ("1.1.2.1.0.1.0.0").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<String>,
    /// The pair's match weight, in bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// What the two records' companions added to the weight in the run (bits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub companions: Option<f64>,
    /// The review the unit applied to this pair in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_review: Option<String>,
    /// This node's own latest review of the pair (possibly made after the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::project::reviews::Review>,
}

#[derive(Serialize, ToSchema)]
pub struct Hits {
    pub project: String,
    pub run: u32,
    pub rows: Vec<Hit>,
    /// The run's weight of each level of each field: the waterfall of a hit is the prior, the
    /// weight of each of its levels, and the rest of its weight (the surname frequency
    /// adjustment).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub weights: Option<enlace_link::WeightTable>,
}

/// This node's side of a project's latest hits, as it fetched them. Analysts; each read is
/// audited.
#[utoipa::path(get, path = "/api/v1/hits", tag = "ui", security(("session" = [])),
    params(HitsParams),
    responses(
        (status = 200, description = "The hits", body = Hits),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such project, or no results fetched yet", body = ErrorBody)))]
pub(super) async fn hits(
    State(state): State<AppState>,
    person: Person,
    Query(params): Query<HitsParams>,
) -> Result<Json<Hits>, ApiError> {
    const WHAT: &str = "read_hits";
    let project = params.project;
    let subject = valid_project_id(&project).then_some(project.as_str());
    require(&state, &person, &[Role::Analyst], WHAT, subject).await?;
    if subject.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such project"));
    }
    let reader = person.0.name.clone();
    let st = state.clone();
    let pid = project.clone();
    let found = blocking(&state, move |ctx| {
        let dir = ctx.dir();
        let Some(results) = fetched(dir, &pid) else {
            return Ok(None);
        };
        let keys = read_refs(&dir.holder_projects().join(&pid).join("refs.csv"));
        let mut reviews = crate::project::reviews::ReviewBook::open(&dir.exchange())
            .and_then(|book| book.all(&pid))
            .map_err(|e| e.to_string())?;
        let rows: Vec<Hit> = results
            .rows
            .into_iter()
            .map(|r| Hit {
                record: keys.get(&r.reference).cloned().unwrap_or_default(),
                review: reviews.remove(&(r.opaque.clone(), r.partner_ref.clone())),
                reference: r.reference,
                partner: r.partner,
                partner_ref: r.partner_ref,
                band: r.band,
                opaque: r.opaque,
                levels: r.levels,
                weight: r.weight,
                companions: r.companions,
                applied_review: r.review,
            })
            .collect();
        sync_audit(
            &st,
            NewEntry::new(Action::Hit, reader)
                .subject(pid.clone())
                .detail("read", "hits")
                .detail("run", results.run.to_string())
                .detail("rows", rows.len().to_string()),
        )?;
        Ok::<_, String>(Some(Hits {
            project: pid,
            run: results.run,
            rows,
            weights: results.weights,
        }))
    })
    .await?
    .map_err(|e| ApiError::internal("reading hits", e))?;
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no results of this project at this node (fetch them with `enlace project results`)",
        )
        .with_code("no_results")
    })
}

/// The node's map from a project's references to its record ids (`refs.csv`: source,
/// reference, record id).
fn read_refs(path: &std::path::Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(mut reader) = csv::Reader::from_path(path) {
        for row in reader.records().flatten() {
            if let (Some(reference), Some(key)) = (row.get(1), row.get(2)) {
                out.insert(reference.to_string(), key.to_string());
            }
        }
    }
    out
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryInput {
    /// The project whose linkage unit and secret to use.
    pub project: String,
    pub person: PersonDetails,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct QueryMatch {
    pub partner: String,
    pub partner_ref: String,
    pub band: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueryResult {
    pub project: String,
    pub hit: bool,
    pub matches: Vec<QueryMatch>,
    /// How long the linkage unit took to answer, in milliseconds.
    pub ms: u64,
}

/// The border query: is this person in another agency's records? The node encodes the details
/// under the project's secret and asks the linkage unit, which answers hit or no hit. Officers;
/// audited (never the details themselves).
#[utoipa::path(post, path = "/api/v1/query", tag = "ui", security(("session" = [])),
    request_body = QueryInput,
    responses(
        (status = 200, description = "Hit or no hit", body = QueryResult),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an officer", body = ErrorBody),
        (status = 404, description = "This node holds no such project", body = ErrorBody),
        (status = 422, description = "The details cannot be read (the field is named)", body = ErrorBody),
        (status = 502, description = "The linkage unit refused or could not be reached", body = ErrorBody)))]
pub(super) async fn query(
    State(state): State<AppState>,
    person: Person,
    ApiJson(input): ApiJson<QueryInput>,
) -> Result<Json<QueryResult>, ApiError> {
    const WHAT: &str = "query";
    let project = input.project.clone();
    let subject = valid_project_id(&project).then_some(project.as_str());
    require(&state, &person, &[Role::Officer], WHAT, subject).await?;
    if subject.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such project"));
    }
    let pid = project.clone();
    let prepared = blocking(&state, move |ctx| {
        let node = ctx.dir().load().map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("loading the node: {e}"),
            )
        })?;
        let (joined, secret) = Holder::new(&node).joined(&pid).map_err(|e| match e {
            crate::project::holder::HolderError::NotJoined(_) => {
                (StatusCode::NOT_FOUND, e.to_string())
            }
            other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        })?;
        let record = input
            .person
            .record(chrono::Utc::now().date_naive())
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        let encoder = enlace_encode::Encoder::new(&secret, joined.spec.schema.clone())
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let body = encode_one(&encoder, &record)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok::<_, (StatusCode, String)>((joined.unit, body))
    })
    .await?;
    let (unit, body) = match prepared {
        Ok(x) => x,
        Err((status, message)) if status == StatusCode::INTERNAL_SERVER_ERROR => {
            return Err(ApiError::internal("query", message));
        }
        Err((status, message)) => return Err(ApiError::new(status, message)),
    };
    let card = unit
        .parse::<NodeId>()
        .ok()
        .and_then(|id| state.roster.get(&id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "the project's linkage unit is not in this node's roster",
            )
            .with_code("unit_unknown")
        })?;
    let started = Instant::now();
    let response = client::send(
        &card.url,
        card.tls_cert_sha256,
        Some(state.release.identity()),
        client::Request::post_bytes(&format!("/api/v1/projects/{project}/query"), body),
        QUERY_TIMEOUT,
    )
    .await
    .map_err(|e| {
        tracing::warn!("border query: {e}");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "the linkage unit could not be reached",
        )
        .with_code("unit_unreachable")
    })?;
    let ms = started.elapsed().as_millis() as u64;
    let answer = response.json().unwrap_or_default();
    if !(200..300).contains(&response.status) {
        let why = answer["error"].as_str().unwrap_or("no reason given");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("the linkage unit answered {}: {why}", response.status),
        ));
    }
    let matches: Vec<QueryMatch> = serde_json::from_value(answer["matches"].clone())
        .map_err(|e| ApiError::internal("the unit's answer", e))?;
    let entry = NewEntry::new(Action::Query, person.0.name.clone())
        .subject(project.clone())
        .recipient(unit)
        .detail("matches", matches.len().to_string());
    super::audit(&state, entry).await?;
    Ok(Json(QueryResult {
        project,
        hit: !matches.is_empty(),
        matches,
        ms,
    }))
}

/// What the node's policy would do with each requested field.
#[derive(Serialize, ToSchema)]
pub struct PolicyPreview {
    pub request_id: String,
    /// The requested fields the policy allows (the approver may still release fewer).
    pub allowed: Vec<String>,
    /// The requested fields the policy withholds, each with its reason.
    pub withheld: BTreeMap<String, String>,
    /// How long the requester may keep what is released.
    pub retention_days: u32,
}

/// The policy's limits for one request in the inbox: which requested fields it allows and
/// which it withholds, and why. Names of fields only, never values. Approvers only.
#[utoipa::path(get, path = "/api/v1/inbox/{id}/policy", tag = "ui", security(("session" = [])),
    params(("id" = String, Path, description = "The follow-up request's message id")),
    responses(
        (status = 200, description = "The policy's limits", body = PolicyPreview),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an approver", body = ErrorBody),
        (status = 404, description = "No such request in the inbox", body = ErrorBody),
        (status = 422, description = "The hit names no record of this node", body = ErrorBody)))]
pub(super) async fn inbox_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    person: Person,
) -> Result<Json<PolicyPreview>, ApiError> {
    require(
        &state,
        &person,
        &[Role::Approver],
        "policy_preview",
        Some(&id),
    )
    .await?;
    let rid = id.clone();
    let preview = blocking(&state, move |ctx| {
        let ledger = ctx.ledger();
        let pending = ledger
            .pending(&rid)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or((StatusCode::NOT_FOUND, "no such request in the inbox".into()))?;
        let request = request_of(&pending.envelope.body)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let (source, key) = ledger
            .resolve_reference(&request.hit.project, &request.hit.partner_reference)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or((
                StatusCode::UNPROCESSABLE_ENTITY,
                "the hit's reference names no record of this node".into(),
            ))?;
        drop(ledger);
        let record = read_record(ctx.dir(), &source, &key)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e))?;
        let resolved = crate::exchange::release::resolve(
            ctx.policy(),
            &pending.from,
            &request,
            &request.fields,
            &record,
            &source,
        );
        Ok::<_, (StatusCode, String)>(PolicyPreview {
            request_id: rid,
            allowed: resolved.released.keys().map(|f| f.to_string()).collect(),
            withheld: resolved
                .withheld
                .into_iter()
                .map(|(f, r)| (f.to_string(), r))
                .collect(),
            retention_days: resolved.retention_days,
        })
    })
    .await?;
    match preview {
        Ok(p) => Ok(Json(p)),
        Err((status, message)) if status == StatusCode::INTERNAL_SERVER_ERROR => {
            Err(ApiError::internal("policy preview", message))
        }
        Err((status, message)) => Err(ApiError::new(status, message)),
    }
}

/// The web UI's routes (its files and these endpoints).
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(super::ui::INDEX, get(super::ui::index))
        .route(super::ui::ASSET, get(super::ui::asset))
        .route(super::ui::VENDOR, get(super::ui::vendor))
        .route(OVERVIEW, get(overview))
        .route(HITS, get(hits))
        .route(QUERY, post(query))
        .route(INBOX_POLICY, get(inbox_policy))
        .route(super::review_api::REVIEWS, post(super::review_api::review))
        .route(super::audit_api::AUDIT, get(super::audit_api::audit_page))
        .route(
            super::audit_api::DISCLOSURES,
            get(super::audit_api::disclosures),
        )
        .route(super::audit_api::REJECTS, get(super::audit_api::rejects))
        .route(
            super::review_api::UNIT_REVIEWS,
            post(super::review_api::unit_reviews),
        )
}
