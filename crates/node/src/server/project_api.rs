//! The linkage unit's project endpoints, for peer nodes (pinned certificates) only. A holder
//! sees its own projects, its own sealed secret, its own uploads and its own side of each hit;
//! every refusal that touches another holder's data is audited.
//!
//! | method | path | who |
//! |---|---|---|
//! | POST | `/api/v1/projects` | an agency node: creates a project (it is the initiator) |
//! | GET | `/api/v1/projects` | a holder: its projects |
//! | GET | `/api/v1/projects/{id}` | a holder: the project, uploads and runs (counts only) |
//! | GET | `/api/v1/projects/{id}/secret` | a holder other than the initiator: its sealed secret |
//! | PUT | `/api/v1/projects/{id}/uploads/{upload}/chunks/{seq}` | a holder: one chunk |
//! | GET | `/api/v1/projects/{id}/uploads/{upload}` | a holder: what the unit has of its upload |
//! | POST | `/api/v1/projects/{id}/uploads/{upload}/complete` | a holder: closes its upload |
//! | POST | `/api/v1/projects/{id}/run` | the initiator: links the current uploads |
//! | GET | `/api/v1/projects/{id}/results/{holder}` | that holder only: its side of each hit |

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::now;
use super::auth::{ApiError, ApiJson, ErrorBody, Peer};
use super::{AppState, audit, lock};
use crate::config::NodeRole;
use crate::project::spec::valid_project_id;
use crate::project::unit::{ChunkStored, Completed, Created, HolderUpload, RunState, UploadState};
use crate::project::{ProjectSpec, ResultRow, SealedSecret, UnitStore};
use enlace_audit::{Action, NewEntry};

pub const PROJECTS: &str = "/api/v1/projects";
pub const PROJECT: &str = "/api/v1/projects/{id}";
pub const SECRET: &str = "/api/v1/projects/{id}/secret";
pub const CHUNK: &str = "/api/v1/projects/{id}/uploads/{upload}/chunks/{seq}";
pub const UPLOAD: &str = "/api/v1/projects/{id}/uploads/{upload}";
pub const COMPLETE: &str = "/api/v1/projects/{id}/uploads/{upload}/complete";
pub const RUN: &str = "/api/v1/projects/{id}/run";
pub const RESULTS: &str = "/api/v1/projects/{id}/results/{holder}";

/// The header carrying a chunk's checksum: the BLAKE3 checksum its own header stores (the
/// encoding file format's), 64 hex digits. The unit verifies the file against it, so no second
/// hash of the body is needed on either side.
pub const CHUNK_CHECKSUM: &str = "x-enlace-checksum";

/// The linkage unit's project state, shared by the handlers and the runs.
#[derive(Clone)]
pub(crate) struct Projects {
    pub store: Arc<Mutex<UnitStore>>,
    /// One run at a time: a run holds every holder's encodings in memory.
    pub runs: Arc<tokio::sync::Semaphore>,
    /// The online search's indexes.
    pub indexes: Arc<super::query_api::Indexes>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// The project: id, initiator, holders, encoding schema, key check, bands.
    #[schema(value_type = Object)]
    pub spec: ProjectSpec,
    /// The project secret sealed to each holder but the initiator.
    #[schema(value_type = Vec<Object>)]
    pub sealed: Vec<SealedSecret>,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectCreated {
    pub id: String,
    /// False when the same project had been created before (a retried call).
    pub created: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectStatus {
    #[schema(value_type = Object)]
    pub spec: ProjectSpec,
    /// Each holder's current (latest complete) upload.
    pub uploads: Vec<HolderUpload>,
    /// Newest first.
    pub runs: Vec<RunState>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteUpload {
    pub chunks: u32,
    pub records: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ChunkReceived {
    pub seq: u32,
    pub records: u64,
    /// False when the unit already had this chunk.
    pub stored: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RunStarted {
    pub run: u32,
    /// False when the project's run was already under way.
    pub started: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Results {
    pub project: String,
    pub holder: String,
    /// The run the rows come from.
    pub run: u32,
    pub rows: Vec<ResultRow>,
    /// The run's weight of every level of every field: with a row's `levels` it gives the
    /// waterfall of that hit (prior, each field's weight, the surname frequency adjustment as
    /// the rest of the row's `weight`). Absent for runs made before format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub weights: Option<enlace_link::WeightTable>,
}

pub(super) fn unit(state: &AppState) -> Result<Projects, ApiError> {
    match (&state.projects, state.role) {
        (Some(p), NodeRole::LinkageUnit) => Ok(p.clone()),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "this node is not serving as a linkage unit",
        )),
    }
}

/// Runs `f` on the project store on a blocking thread.
pub(super) async fn with_store<T: Send + 'static>(
    projects: &Projects,
    f: impl FnOnce(&mut UnitStore) -> Result<T, crate::project::unit::UnitError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = projects.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = super::lock(&store);
        f(&mut s)
    })
    .await
    .map_err(|e| ApiError::internal("project store", e))?
    .map_err(|e| ApiError::internal("project store", e))
}

/// The project, if it exists and the caller is one of its holders (404 otherwise: a node that
/// is not a holder does not learn that the project exists).
pub(super) async fn holders_project(
    projects: &Projects,
    id: &str,
    caller: &str,
) -> Result<ProjectSpec, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such project");
    if !valid_project_id(id) {
        return Err(not_found());
    }
    let id = id.to_string();
    let found = with_store(projects, move |s| s.project(&id)).await?;
    match found {
        Some((spec, _)) if spec.is_holder(caller) => Ok(spec),
        _ => Err(not_found()),
    }
}

fn valid_upload_id(upload: &str) -> bool {
    upload.len() == 64
        && upload
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Creates a project. The caller is its initiator; every holder must be an agency in this
/// unit's roster, and every holder but the initiator must have exactly one sealed copy.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProject,
    security(("node_certificate" = [])),
    responses(
        (status = 201, description = "Created", body = ProjectCreated),
        (status = 200, description = "The same project existed already", body = ProjectCreated),
        (status = 401, description = "Not a pinned peer", body = ErrorBody),
        (status = 403, description = "The caller is not the spec's initiator", body = ErrorBody),
        (status = 409, description = "Another project has this id", body = ErrorBody),
        (status = 422, description = "The spec or sealed secrets are invalid", body = ErrorBody)))]
pub(super) async fn create(
    State(state): State<AppState>,
    Peer(peer): Peer,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, Json<ProjectCreated>), ApiError> {
    let projects = unit(&state)?;
    let spec = body.spec;
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m);
    spec.validate().map_err(|e| unprocessable(e.to_string()))?;
    if spec.initiator != peer.id.as_str() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a project's initiator must be the node that creates it",
        ));
    }
    for h in &spec.holders {
        let known = h.parse::<crate::config::NodeId>().ok().and_then(|id| {
            state
                .roster
                .get(&id)
                .map(|c| c.roles.contains(&NodeRole::Agency))
        });
        if known != Some(true) {
            return Err(unprocessable(format!(
                "holder {h} is not an agency in this unit's roster"
            )));
        }
    }
    spec.check_sealed(&body.sealed)
        .map_err(|e| unprocessable(e.to_string()))?;
    let ref_key =
        crate::identity::os_random::<32>().map_err(|e| ApiError::internal("random key", e))?;
    let (spec2, sealed) = (spec.clone(), body.sealed);
    let outcome = with_store(&projects, move |s| {
        s.create(&spec2, &sealed, &ref_key, now())
    })
    .await?;
    match outcome {
        Created::Conflict => Err(ApiError::new(
            StatusCode::CONFLICT,
            "another project has this id",
        )),
        Created::Again => Ok((
            StatusCode::OK,
            Json(ProjectCreated {
                id: spec.id,
                created: false,
            }),
        )),
        Created::New => {
            audit(
                &state,
                NewEntry::new(Action::Project, peer.id.to_string())
                    .subject(spec.id.clone())
                    .detail("event", "created")
                    .detail("holders", spec.holders.join(",")),
            )
            .await?;
            Ok((
                StatusCode::CREATED,
                Json(ProjectCreated {
                    id: spec.id,
                    created: true,
                }),
            ))
        }
    }
}

/// The caller's projects, newest first.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("node_certificate" = [])),
    responses(
        (status = 200, description = "The projects the caller holds data in", body = [Object]),
        (status = 401, description = "Not a pinned peer", body = ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    Peer(peer): Peer,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let projects = unit(&state)?;
    let me = peer.id.to_string();
    let specs = with_store(&projects, move |s| s.projects_of(&me)).await?;
    Ok(Json(
        specs
            .into_iter()
            .map(
                |s| serde_json::json!({"id": s.id, "initiator": s.initiator, "holders": s.holders}),
            )
            .collect(),
    ))
}

/// A project as its holders may see it: the spec, every holder's current upload (counts) and
/// the runs with their summaries (counts).
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = ProjectStatus),
        (status = 404, description = "No such project among the caller's", body = ErrorBody)))]
pub(super) async fn status(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
) -> Result<Json<ProjectStatus>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    let pid = spec.id.clone();
    let (uploads, runs) = with_store(&projects, move |s| {
        Ok((s.current_uploads(&pid)?, s.runs(&pid)?))
    })
    .await?;
    Ok(Json(ProjectStatus {
        spec,
        uploads,
        runs,
    }))
}

/// The project secret sealed to the caller, as the initiator made it. Only the caller's own
/// copy; the unit cannot open it.
#[utoipa::path(get, path = "/api/v1/projects/{id}/secret", tag = "projects", security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The caller's sealed copy", body = Object),
        (status = 404, description = "No such project, or no copy for the caller", body = ErrorBody)))]
pub(super) async fn secret(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
) -> Result<Json<SealedSecret>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    let me = peer.id.to_string();
    let sealed = with_store(&projects, move |s| s.sealed_for(&spec.id, &me)).await?;
    sealed.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no sealed secret for this node (the initiator keeps its own)",
        )
    })
}

/// One chunk of an upload: an encoding file (docs/encoding.md) of some of the holder's records,
/// with its checksum in the `x-enlace-checksum` header. Sending a chunk again is harmless.
#[utoipa::path(put, path = "/api/v1/projects/{id}/uploads/{upload}/chunks/{seq}", tag = "projects",
    security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id"),
        ("upload" = String, Path, description = "The upload: 64 hex digits the holder chose"),
        ("seq" = u32, Path, description = "The chunk's position, from 0")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = ChunkReceived),
        (status = 200, description = "Already stored", body = ChunkReceived),
        (status = 400, description = "Checksum missing or wrong, or a bad upload id", body = ErrorBody),
        (status = 404, description = "No such project among the caller's", body = ErrorBody),
        (status = 409, description = "A different chunk is stored at this position, or the upload is closed", body = ErrorBody),
        (status = 413, description = "The chunk is larger than the unit accepts", body = ErrorBody),
        (status = 422, description = "Not an encoding file, or not under the project's schema and secret", body = ErrorBody)))]
pub(super) async fn put_chunk(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path((id, upload, seq)): Path<(String, String, u32)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ChunkReceived>), ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, m.to_string());
    if !valid_upload_id(&upload) {
        return Err(bad("the upload id must be 64 lowercase hex digits"));
    }
    let declared = headers
        .get(CHUNK_CHECKSUM)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| bad("the x-enlace-checksum header is missing"))?;
    // Checked off the async threads: a chunk is megabytes.
    let checked = tokio::task::spawn_blocking(move || {
        let mismatch = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "the chunk's content does not match its checksum (x-enlace-checksum)",
            )
        };
        let summary = match enlace_encode::EncodingFile::inspect(&body) {
            Err(enlace_encode::FileError::ChecksumMismatch { .. }) => return Err(mismatch()),
            other => other.map_err(|e| invalid("chunk", e))?,
        };
        let checksum = hex::encode(summary.checksum);
        if checksum != declared {
            return Err(mismatch());
        }
        check_project_encoding(&spec, &summary.schema, &summary.key_check, "chunk")?;
        Ok((checksum, summary.records, body))
    })
    .await
    .map_err(|e| ApiError::internal("chunk check", e))??;
    let (sha, records, body) = checked;
    let holder = peer.id.to_string();
    let (pid, h, up, sha2) = (id.clone(), holder.clone(), upload.clone(), sha.clone());
    if let Some(answer) = with_store(&projects, move |s| {
        s.chunk_status(&pid, &h, &up, seq, &sha2)
    })
    .await?
    {
        return chunk_answer(answer, seq, records);
    }
    // The body goes to its own file outside the store's lock: other holders' chunks and
    // status calls do not wait for this one's disk write.
    {
        let store = projects.store.clone();
        let (pid, h, up, sha2) = (id.clone(), holder.clone(), upload.clone(), sha.clone());
        tokio::task::spawn_blocking(move || {
            let path = lock(&store).chunk_path(&pid, &h, &up, seq, &sha2);
            UnitStore::write_chunk_body(&path, &body)
        })
        .await
        .map_err(|e| ApiError::internal("storing a chunk", e))?
        .map_err(|e| ApiError::internal("storing a chunk", e))?;
    }
    let (pid, up) = (id.clone(), upload.clone());
    let stored = with_store(&projects, move |s| {
        s.record_chunk(&pid, &holder, &up, seq, &sha, records)
    })
    .await?;
    chunk_answer(stored, seq, records)
}

fn chunk_answer(
    stored: ChunkStored,
    seq: u32,
    records: u64,
) -> Result<(StatusCode, Json<ChunkReceived>), ApiError> {
    let received = |stored| ChunkReceived {
        seq,
        records,
        stored,
    };
    match stored {
        ChunkStored::New => Ok((StatusCode::CREATED, Json(received(true)))),
        ChunkStored::Again => Ok((StatusCode::OK, Json(received(false)))),
        ChunkStored::Conflict => Err(ApiError::new(
            StatusCode::CONFLICT,
            "a different chunk is stored at this position of this upload",
        )),
        ChunkStored::Closed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "this upload is complete and takes no more chunks",
        )),
    }
}

/// Parses an encoding file from a holder and checks it was made under the project's schema and
/// secret (`what`: "chunk", "query", as the errors name it).
pub(super) fn parse_encodings(
    spec: &ProjectSpec,
    body: &[u8],
    what: &str,
) -> Result<enlace_encode::EncodingFile, ApiError> {
    let file = enlace_encode::EncodingFile::from_bytes(body).map_err(|e| invalid(what, e))?;
    check_project_encoding(spec, &file.schema, &file.key_check, what)?;
    Ok(file)
}

fn invalid(what: &str, e: enlace_encode::FileError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("the {what} is not a valid encoding file: {e}"),
    )
}

fn check_project_encoding(
    spec: &ProjectSpec,
    schema: &enlace_encode::Schema,
    key_check: &enlace_encode::KeyCheck,
    what: &str,
) -> Result<(), ApiError> {
    if schema.fingerprint() != spec.schema.fingerprint() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the {what}'s encoding schema ({} {}) is not the project's ({} {})",
                schema.id,
                schema.fingerprint().short(),
                spec.schema.id,
                spec.schema.fingerprint().short()
            ),
        ));
    }
    let expected = spec
        .key_check()
        .map_err(|e| ApiError::internal("stored spec", e))?;
    if !key_check.matches(&expected) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the {what} was encoded under another project secret"),
        ));
    }
    Ok(())
}

/// What the unit holds of one of the caller's uploads: the chunks received, so an interrupted
/// upload resumes where it stopped.
#[utoipa::path(get, path = "/api/v1/projects/{id}/uploads/{upload}", tag = "projects",
    security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id"),
        ("upload" = String, Path, description = "The upload id")),
    responses(
        (status = 200, description = "The upload", body = UploadState),
        (status = 404, description = "Nothing of it received", body = ErrorBody)))]
pub(super) async fn upload_state(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path((id, upload)): Path<(String, String)>,
) -> Result<Json<UploadState>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    let holder = peer.id.to_string();
    let found = with_store(&projects, move |s| {
        s.upload_state(&spec.id, &holder, &upload)
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no chunk of this upload received"))
}

/// Closes an upload once every chunk is in; it becomes the holder's current upload, which the
/// next run links (replacing the holder's previous one).
#[utoipa::path(post, path = "/api/v1/projects/{id}/uploads/{upload}/complete", tag = "projects",
    security(("node_certificate" = [])), request_body = CompleteUpload,
    params(("id" = String, Path, description = "Project id"),
        ("upload" = String, Path, description = "The upload id")),
    responses(
        (status = 200, description = "Complete", body = UploadState),
        (status = 409, description = "Chunks missing, or totals that do not match", body = ErrorBody)))]
pub(super) async fn complete(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path((id, upload)): Path<(String, String)>,
    ApiJson(body): ApiJson<CompleteUpload>,
) -> Result<Json<UploadState>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    if !valid_upload_id(&upload) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the upload id must be 64 lowercase hex digits",
        ));
    }
    let holder = peer.id.to_string();
    let (pid, h, up) = (spec.id.clone(), holder.clone(), upload.clone());
    let outcome = with_store(&projects, move |s| {
        s.complete_upload(&pid, &h, &up, body.chunks, body.records, now())
    })
    .await?;
    match outcome {
        Completed::Done => {
            super::query_api::refresh_later(projects.clone(), spec.id.clone());
            audit(
                &state,
                NewEntry::new(Action::Upload, holder.clone())
                    .subject(spec.id.clone())
                    .detail("upload", upload.clone())
                    .detail("chunks", body.chunks.to_string())
                    .detail("records", body.records.to_string()),
            )
            .await?;
        }
        Completed::Again => {}
        Completed::Missing(seqs) => {
            let shown: Vec<String> = seqs.iter().take(20).map(u32::to_string).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "{} chunk(s) not received yet: {}{}",
                    seqs.len(),
                    shown.join(", "),
                    if seqs.len() > 20 { ", …" } else { "" }
                ),
            ));
        }
        Completed::Mismatch(why) => return Err(ApiError::new(StatusCode::CONFLICT, why)),
    }
    let pid = spec.id.clone();
    let found = with_store(&projects, move |s| s.upload_state(&pid, &holder, &upload)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::internal("upload", "vanished after completion"))
}

/// Links every holder's current upload. Only the initiator may start a run; it runs in the
/// background (`GET /api/v1/projects/{id}` shows its state).
#[utoipa::path(post, path = "/api/v1/projects/{id}/run", tag = "projects", security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 202, description = "Started, or already running", body = RunStarted),
        (status = 403, description = "Not the initiator", body = ErrorBody),
        (status = 409, description = "A holder has no complete upload", body = ErrorBody)))]
pub(super) async fn run(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    if spec.initiator != peer.id.as_str() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the project's initiator starts a run",
        ));
    }
    let spec2 = spec.clone();
    let started = with_store(&projects, move |s| s.start_run(&spec2, now())).await?;
    let Some((run, new)) = started else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "every holder needs a complete upload before a run",
        ));
    };
    if new {
        audit(
            &state,
            NewEntry::new(Action::Project, peer.id.to_string())
                .subject(spec.id.clone())
                .detail("event", "run_started")
                .detail("run", run.to_string()),
        )
        .await?;
        spawn_run(state.clone(), projects, spec.id.clone(), run);
    }
    Ok((StatusCode::ACCEPTED, Json(RunStarted { run, started: new })))
}

/// Runs `run` of `project` in the background, one run at a time, and records its outcome.
pub(crate) fn spawn_run(state: AppState, projects: Projects, project: String, run: u32) {
    tokio::spawn(async move {
        let Ok(_permit) = projects.runs.clone().acquire_owned().await else {
            return;
        };
        let store = projects.store.clone();
        let pid = project.clone();
        let outcome = tokio::task::spawn_blocking(move || execute_run(&store, &pid, run)).await;
        if matches!(outcome, Ok(Ok(_))) {
            super::query_api::refresh_later(projects.clone(), project.clone());
        }
        let (event, detail) = match outcome {
            Ok(Ok(people)) => ("run_done", people.to_string()),
            Ok(Err(e)) => {
                tracing::warn!(project = %project, run, "run failed: {e}");
                ("run_failed", e)
            }
            Err(e) => {
                tracing::error!(project = %project, run, "run panicked: {e}");
                ("run_failed", "internal error".to_string())
            }
        };
        let key = if event == "run_done" {
            "people_across"
        } else {
            "error"
        };
        let entry = NewEntry::new(Action::Project, state.node_id.to_string())
            .subject(project.clone())
            .detail("event", event)
            .detail("run", run.to_string())
            .detail(key, detail);
        if let Err(e) = audit(&state, entry).await {
            tracing::error!("auditing the end of a run: {e:?}");
        }
    });
}

/// A pause that lets the integration tests kill a process at a chosen step (`kill -9` during a
/// run or an upload). Unset in every real deployment: the variable is read, never required.
pub fn test_pause(variable: &str) {
    if let Some(ms) = std::env::var(variable)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
}

/// Loads a run's inputs, links them and stores the results; on a linkage error the run is
/// marked failed with the reason (which names holders and chunks, never values).
fn execute_run(store: &Mutex<UnitStore>, project: &str, run: u32) -> Result<u64, String> {
    let started = std::time::Instant::now();
    let loaded = {
        let s = lock(store);
        match (
            s.project(project),
            s.ref_key(project),
            s.run_inputs(project, run),
        ) {
            (Ok(Some((spec, _))), Ok(Some(key)), Ok(inputs)) => Ok((spec, key, inputs)),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e.to_string()),
            _ => Err("the project is gone".to_string()),
        }
    };
    let (spec, key, inputs) = loaded?;
    let reviews = lock(store).reviews(project).map_err(|e| e.to_string())?;
    test_pause("ENLACE_TEST_RUN_PAUSE_MS");
    match crate::project::run::link(&spec, inputs, &key, &reviews) {
        Ok(output) => {
            let people = output.summary.people_across;
            let mut value = serde_json::to_value(&output.summary).map_err(|e| e.to_string())?;
            if let Some(obj) = value.as_object_mut() {
                obj.insert(
                    "seconds".into(),
                    serde_json::json!(started.elapsed().as_secs_f64()),
                );
            }
            lock(store)
                .finish_run(project, run, &output.rows, &value, &output.model, now())
                .map_err(|e| e.to_string())?;
            tracing::info!(project, run, people, "run done");
            Ok(people)
        }
        Err(e) => {
            let why = e.to_string();
            lock(store)
                .fail_run(project, run, &why, now())
                .map_err(|e| e.to_string())?;
            Err(why)
        }
    }
}

/// The caller's side of each hit of the latest finished run. A holder asking for another
/// holder's results is refused, and the refusal audited.
#[utoipa::path(get, path = "/api/v1/projects/{id}/results/{holder}", tag = "projects",
    security(("node_certificate" = [])),
    params(("id" = String, Path, description = "Project id"),
        ("holder" = String, Path, description = "The holder whose side is asked for: the caller")),
    responses(
        (status = 200, description = "The caller's rows", body = Results),
        (status = 403, description = "Another holder's results", body = ErrorBody),
        (status = 404, description = "No such project, or no finished run", body = ErrorBody)))]
pub(super) async fn results(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path((id, holder)): Path<(String, String)>,
) -> Result<Json<Results>, ApiError> {
    let projects = unit(&state)?;
    let spec = holders_project(&projects, &id, peer.id.as_str()).await?;
    if holder != peer.id.as_str() {
        let entry = NewEntry::new(Action::Refusal, peer.id.to_string())
            .subject(spec.id.clone())
            .recipient(peer.id.to_string())
            .detail("what", "project_results")
            .detail("reason", "asked for another holder's results");
        audit(&state, entry).await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a holder sees only its own side of the results",
        ));
    }
    let pid = spec.id.clone();
    let found = with_store(&projects, move |s| {
        let results = s.results(&pid, &holder)?;
        let model = s.latest_model(&pid)?;
        Ok::<_, crate::project::unit::UnitError>(results.map(|r| (r, model)))
    })
    .await?;
    let Some(((run, rows), model)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no run of this project has finished yet",
        ));
    };
    audit(
        &state,
        NewEntry::new(Action::Hit, peer.id.to_string())
            .subject(spec.id.clone())
            .recipient(peer.id.to_string())
            .detail("run", run.to_string())
            .detail("rows", rows.len().to_string()),
    )
    .await?;
    // The model of the same run (both are the latest finished one).
    let weights = model
        .filter(|(model_run, _)| *model_run == run)
        .and_then(|(_, text)| enlace_link::Model::from_json(&text).ok())
        .map(|m| enlace_link::weight_table(&m));
    Ok(Json(Results {
        project: spec.id,
        holder: peer.id.to_string(),
        run,
        rows,
        weights,
    }))
}
