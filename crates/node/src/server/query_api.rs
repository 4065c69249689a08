//! The online border query at the linkage unit (Prüm's "without delay"): a holder sends one
//! person's encoding and learns at once whether another holder's records match, by opaque
//! reference and band. The unit keeps, per project, an in-memory index of every holder's
//! current upload, weighed by the latest run's model; a holder's new upload replaces its part
//! of the index in the background, so its records become searchable without a new run.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use enlace_link::encoded::{SearchIndex, SourceIndex};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{ApiError, ErrorBody, Peer};
use super::project_api::{Projects, parse_encodings};
use super::{AppState, lock};
use crate::project::run::opaque_ref;
use crate::project::{Band, Bands};
use enlace_audit::{Action, NewEntry};

pub const QUERY: &str = "/api/v1/projects/{id}/query";

/// Postings longer than this are not searched (as blocks in a run).
const MAX_POSTING: usize = 300;

/// One project's searchable encodings.
struct Indexed {
    run: u32,
    /// Holder → the upload indexed for it.
    uploads: BTreeMap<String, String>,
    index: SearchIndex,
    ref_key: [u8; 32],
    bands: Bands,
}

/// The unit's search indexes, one per project, built on first use and kept up to date.
#[derive(Default)]
pub(crate) struct Indexes {
    by_project: Mutex<HashMap<String, Arc<ProjectIndex>>>,
}

#[derive(Default)]
struct ProjectIndex {
    state: RwLock<Option<Indexed>>,
    /// One refresh at a time per project.
    refreshing: Mutex<()>,
}

impl Indexes {
    fn of(&self, project: &str) -> Arc<ProjectIndex> {
        lock(&self.by_project)
            .entry(project.to_string())
            .or_default()
            .clone()
    }
}

/// Brings a project's index up to date with its latest finished run and every holder's current
/// upload, rebuilding only the holders whose upload changed. Returns false when no run has
/// finished yet (nothing to weigh queries with).
pub(crate) fn refresh(projects: &Projects, project: &str) -> Result<bool, String> {
    let entry = projects.indexes.of(project);
    let _one = lock(&entry.refreshing);
    let (model, uploads, ref_key, spec) = {
        let s = lock(&projects.store);
        let model = s.latest_model(project).map_err(|e| e.to_string())?;
        let uploads = s.current_uploads(project).map_err(|e| e.to_string())?;
        let key = s.ref_key(project).map_err(|e| e.to_string())?;
        let spec = s.project(project).map_err(|e| e.to_string())?;
        (model, uploads, key, spec)
    };
    let (Some((run, model)), Some(ref_key), Some((spec, _))) = (model, ref_key, spec) else {
        return Ok(false);
    };
    let wanted: BTreeMap<String, String> =
        uploads.into_iter().map(|u| (u.holder, u.upload)).collect();
    let (fresh, stale): (bool, Vec<String>) = {
        let state = entry
            .state
            .read()
            .map_err(|_| "index lock poisoned".to_string())?;
        match state.as_ref() {
            Some(i) if i.run == run => (
                false,
                wanted
                    .iter()
                    .filter(|(h, u)| i.uploads.get(*h) != Some(u))
                    .map(|(h, _)| h.clone())
                    .collect(),
            ),
            _ => (true, wanted.keys().cloned().collect()),
        }
    };
    if !fresh && stale.is_empty() {
        return Ok(true);
    }
    let mut built = Vec::new();
    for holder in &stale {
        let upload = &wanted[holder];
        let bodies = lock(&projects.store)
            .upload_chunks(project, holder, upload)
            .map_err(|e| e.to_string())?;
        let mut records = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let file = enlace_encode::EncodingFile::from_bytes(body)
                .map_err(|e| format!("holder {holder}, chunk {i}: {e}"))?;
            records.extend(file.records);
        }
        built.push(SourceIndex::new(holder, records));
    }
    let mut state = entry
        .state
        .write()
        .map_err(|_| "index lock poisoned".to_string())?;
    if fresh || state.is_none() {
        let model = enlace_link::Model::from_json(&model).map_err(|e| e.to_string())?;
        *state = Some(Indexed {
            run,
            uploads: BTreeMap::new(),
            index: SearchIndex::new(&spec.schema, model, MAX_POSTING),
            ref_key,
            bands: spec.bands,
        });
    }
    if let Some(indexed) = state.as_mut() {
        for source in built {
            indexed.index.install(source);
        }
        indexed.uploads = wanted;
    }
    Ok(true)
}

/// Refreshes a project's index in the background (after an upload completes or a run ends).
pub(crate) fn refresh_later(projects: Projects, project: String) {
    tokio::task::spawn_blocking(move || {
        if let Err(e) = refresh(&projects, &project) {
            tracing::warn!(project = %project, "refreshing the search index: {e}");
        }
    });
}

#[derive(Serialize, ToSchema)]
pub struct QueryMatch {
    /// The holder whose record matched.
    pub partner: String,
    /// That record, opaque, as in the project's results.
    pub partner_ref: String,
    /// `certain`, `probable` or `possible`.
    pub band: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueryAnswer {
    pub project: String,
    /// The run whose model weighed the query.
    pub run: u32,
    /// Whether any other holder's record matched.
    pub hit: bool,
    /// Best first; only other holders' records.
    pub matches: Vec<QueryMatch>,
}

/// One person's encoding (an encoding file of exactly one record, made under the project's
/// schema and secret) against every other holder's current upload: hit or no hit, with opaque
/// references and bands, never scores. Audited.
#[utoipa::path(post, path = "/api/v1/projects/{id}/query", tag = "projects",
    security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Hit or no hit", body = QueryAnswer),
        (status = 404, description = "No such project among the caller's", body = ErrorBody),
        (status = 409, description = "No run of the project has finished yet", body = ErrorBody),
        (status = 422, description = "Not one record under the project's schema and secret", body = ErrorBody)))]
pub(super) async fn query(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<QueryAnswer>, ApiError> {
    let projects = super::project_api::unit(&state)?;
    let spec = super::project_api::holders_project(&projects, &id, peer.id.as_str()).await?;
    let me = peer.id.to_string();
    let p2 = projects.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let file = parse_encodings(&spec, &body, "query")?;
        let [record] = <[_; 1]>::try_from(file.records).map_err(|r: Vec<_>| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("a query holds exactly one record, not {}", r.len()),
            )
        })?;
        let entry = p2.indexes.of(&spec.id);
        let ready = entry.state.read().map(|s| s.is_some()).unwrap_or(false);
        if !ready && !refresh(&p2, &spec.id).map_err(|e| ApiError::internal("search index", e))? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no run of this project has finished yet",
            ));
        }
        let state = entry
            .state
            .read()
            .map_err(|_| ApiError::internal("search index", "lock poisoned"))?;
        let Some(indexed) = state.as_ref() else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no run of this project has finished yet",
            ));
        };
        let hits = indexed.index.search(&record, Some(&me));
        let threshold = indexed.index.threshold();
        Ok(QueryAnswer {
            project: spec.id.clone(),
            run: indexed.run,
            hit: !hits.is_empty(),
            matches: hits
                .into_iter()
                .map(|h| QueryMatch {
                    partner_ref: opaque_ref(&indexed.ref_key, &h.source, h.reference),
                    band: Band::of(Some(h.weight), threshold, &indexed.bands)
                        .as_str()
                        .to_string(),
                    partner: h.source,
                })
                .collect(),
        })
    })
    .await
    .map_err(|e| ApiError::internal("query", e))??;
    let entry = NewEntry::new(Action::Query, peer.id.to_string())
        .subject(answer.project.clone())
        .recipient(peer.id.to_string())
        .detail("run", answer.run.to_string())
        .detail("matches", answer.matches.len().to_string());
    super::audit(&state, entry).await?;
    Ok(Json(answer))
}
