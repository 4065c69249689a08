//! A data holder's side of a linkage project: creating one (as initiator), fetching and opening
//! its sealed secret, uploading encodings in checksummed chunks that resume after any
//! interruption, asking for a run and fetching its own results.
//!
//! The holder keeps, per project, `DIR/projects/<id>/`: `project.json` (the spec and the unit's
//! id), `secret` (0600) and the results it fetched. Calls are blocking (each on a runtime of its
//! own) and authenticate with the node's certificate.

use std::path::PathBuf;
use std::time::Duration;

use enlace_encode::{EncodedRecord, EncodingFile, ProjectSecret, Schema};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SealedSecret;
use super::spec::ProjectSpec;
use super::unit::{ResultRow, UploadState};
use crate::client::{self, ClientError, Request};
use crate::config::NodeId;
use crate::fsutil::{self, Access};
use crate::node_dir::Node;

/// How long one call may take (a chunk of 16 MiB over loopback takes well under a second).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per chunk before the upload gives up (it resumes from there on the next try).
const CHUNK_ATTEMPTS: u32 = 3;
/// Chunks on the wire at once.
const CHUNKS_IN_FLIGHT: usize = 3;

/// Why a holder's step failed. Names projects, nodes and statuses, never record values.
#[derive(Debug, thiserror::Error)]
pub enum HolderError {
    #[error("{0} is not in this node's roster")]
    UnknownPeer(String),
    #[error("the roster card of {node}: {message}")]
    BadCard { node: String, message: String },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{what}: the unit answered {status}: {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    #[error("project {0} is not known at this node: create it or fetch its secret first")]
    NotJoined(String),
    #[error(transparent)]
    Spec(#[from] super::SpecError),
    #[error(transparent)]
    Seal(#[from] super::SealError),
    #[error("encodings: {0}")]
    Encoding(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{what}: unexpected answer: {message}")]
    Protocol { what: String, message: String },
    #[error(transparent)]
    Reviews(#[from] super::reviews::ReviewError),
    #[error("the node's audit log: {0}")]
    Audit(#[from] enlace_audit::AuditError),
}

/// What the holder keeps of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joined {
    /// The linkage unit that runs the project.
    pub unit: String,
    pub spec: ProjectSpec,
}

/// A holder's view of a project on this node.
pub struct Holder<'a> {
    node: &'a Node,
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> HolderError + '_ {
    move |source| HolderError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The SHA-256 of an upload's chunks' checksums, in order: the upload's id. The same records encoded the
/// same way give the same id, so a holder that restarts resumes its own upload.
pub fn upload_id(project: &str, holder: &str, chunk_checksums: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"enlace upload v1\0");
    for part in [project, holder] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for sha in chunk_checksums {
        h.update(sha.as_bytes());
    }
    hex::encode(h.finalize())
}

/// How an upload went.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    pub upload: String,
    pub chunks: u32,
    /// Chunks sent in this call (the others the unit had already).
    pub sent: u32,
    pub records: u64,
    pub bytes: u64,
    /// Seconds from the first chunk built to the upload closed at the unit.
    pub seconds: f64,
}

impl<'a> Holder<'a> {
    pub fn new(node: &'a Node) -> Self {
        Holder { node }
    }

    fn me(&self) -> &str {
        self.node.config.node_id.as_str()
    }

    fn dir(&self, project: &str) -> PathBuf {
        self.node.dir.holder_projects().join(project)
    }

    fn call(
        &self,
        unit: &str,
        what: &str,
        request: Request,
    ) -> Result<client::Response, HolderError> {
        let id: NodeId = unit
            .parse()
            .map_err(|_| HolderError::UnknownPeer(unit.to_string()))?;
        let card = self
            .node
            .roster
            .get(&id)
            .ok_or_else(|| HolderError::UnknownPeer(unit.to_string()))?;
        let response = client::send_blocking(
            &card.url,
            card.tls_cert_sha256,
            Some(&self.node.identity),
            request,
            CALL_TIMEOUT,
        )?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            let message = response
                .json()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "no explanation".into());
            Err(HolderError::Refused {
                what: what.to_string(),
                status: response.status,
                message,
            })
        }
    }

    fn save(&self, joined: &Joined, secret: &ProjectSecret) -> Result<(), HolderError> {
        let dir = self.dir(&joined.spec.id);
        fsutil::create_private_dir(&self.node.dir.holder_projects())
            .map_err(io_err(&self.node.dir.holder_projects()))?;
        fsutil::create_private_dir(&dir).map_err(io_err(&dir))?;
        let secret_path = dir.join("secret");
        fsutil::write_atomic(&secret_path, secret.to_hex().as_bytes(), Access::Secret)
            .map_err(io_err(&secret_path))?;
        let path = dir.join("project.json");
        let text = serde_json::to_vec_pretty(joined).map_err(|e| HolderError::Protocol {
            what: "project.json".into(),
            message: e.to_string(),
        })?;
        fsutil::write_atomic(&path, &text, Access::Public).map_err(io_err(&path))
    }

    /// The project and its secret, as this node keeps them.
    pub fn joined(&self, project: &str) -> Result<(Joined, ProjectSecret), HolderError> {
        let dir = self.dir(project);
        let path = dir.join("project.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(HolderError::NotJoined(project.to_string()));
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let joined: Joined = serde_json::from_slice(&text).map_err(|e| HolderError::Protocol {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        let secret_path = dir.join("secret");
        let secret = ProjectSecret::from_file(&secret_path)
            .map_err(|e| HolderError::Encoding(e.to_string()))?;
        Ok((joined, secret))
    }

    /// Creates a project at `unit` with this node as initiator: makes the secret, seals it to
    /// every other holder, sends the spec, and keeps the secret here. Returns the spec.
    pub fn create(
        &self,
        unit: &str,
        project: &str,
        holders: &[String],
        schema: Option<Schema>,
    ) -> Result<ProjectSpec, HolderError> {
        let secret = ProjectSecret::generate(&mut rand::rng());
        let schema = schema.unwrap_or_else(|| Schema::default_with_id(project));
        let encoder = enlace_encode::Encoder::new(&secret, schema.clone())
            .map_err(|e| HolderError::Encoding(e.to_string()))?;
        let mut all: Vec<String> = holders.to_vec();
        all.push(self.me().to_string());
        let spec = ProjectSpec::new(project, self.me(), &all, schema, &encoder.key_check());
        spec.validate()?;
        let mut sealed = Vec::new();
        for h in spec.holders.iter().filter(|h| h.as_str() != self.me()) {
            let id: NodeId = h.parse().map_err(|_| HolderError::UnknownPeer(h.clone()))?;
            let card = self
                .node
                .roster
                .get(&id)
                .ok_or_else(|| HolderError::UnknownPeer(h.clone()))?;
            let key =
                crate::identity::parse_hex32(&card.x25519).map_err(|e| HolderError::BadCard {
                    node: h.clone(),
                    message: e.to_string(),
                })?;
            let ephemeral = crate::identity::os_random::<32>()
                .map_err(|e| HolderError::Encoding(e.to_string()))?;
            sealed.push(SealedSecret::seal(
                &secret,
                project,
                self.me(),
                &self.node.identity.signing_key(),
                h,
                &x25519_dalek::PublicKey::from(key),
                ephemeral,
            )?);
        }
        // Keep the secret before the unit knows the project: a crash in between leaves a
        // secret nobody uses, never a project whose initiator lost its secret.
        let joined = Joined {
            unit: unit.to_string(),
            spec: spec.clone(),
        };
        self.save(&joined, &secret)?;
        let body = serde_json::json!({ "spec": spec, "sealed": sealed });
        self.call(
            unit,
            "creating the project",
            Request::post_json("/api/v1/projects", body.to_string()),
        )?;
        Ok(spec)
    }

    /// Fetches this node's sealed copy of the project secret from `unit`, checks the
    /// initiator's signature and that the secret matches the spec's key check, and keeps both.
    pub fn join(&self, unit: &str, project: &str) -> Result<ProjectSpec, HolderError> {
        let status = self.call(
            unit,
            "reading the project",
            Request::get(&format!("/api/v1/projects/{project}")),
        )?;
        let spec: ProjectSpec = status
            .json()
            .and_then(|v| serde_json::from_value(v["spec"].clone()).ok())
            .ok_or_else(|| HolderError::Protocol {
                what: "reading the project".into(),
                message: "no spec in the answer".into(),
            })?;
        spec.validate()?;
        if spec.initiator == self.me() {
            // The initiator keeps its own secret from `create`.
            return self.joined(project).map(|(j, _)| j.spec);
        }
        let response = self.call(
            unit,
            "fetching the sealed secret",
            Request::get(&format!("/api/v1/projects/{project}/secret")),
        )?;
        let sealed: SealedSecret =
            serde_json::from_slice(&response.body).map_err(|e| HolderError::Protocol {
                what: "fetching the sealed secret".into(),
                message: e.to_string(),
            })?;
        let initiator: NodeId = spec
            .initiator
            .parse()
            .map_err(|_| HolderError::UnknownPeer(spec.initiator.clone()))?;
        let card = self
            .node
            .roster
            .get(&initiator)
            .ok_or_else(|| HolderError::UnknownPeer(spec.initiator.clone()))?;
        let key = card.ed25519_key().map_err(|message| HolderError::BadCard {
            node: spec.initiator.clone(),
            message,
        })?;
        let secret = self.node.identity.open_sealed(&sealed, self.me(), &key)?;
        let encoder = enlace_encode::Encoder::new(&secret, spec.schema.clone())
            .map_err(|e| HolderError::Encoding(e.to_string()))?;
        if !encoder.key_check().matches(&spec.key_check()?) {
            return Err(HolderError::Encoding(
                "the opened secret does not give the project's key check".into(),
            ));
        }
        self.save(
            &Joined {
                unit: unit.to_string(),
                spec: spec.clone(),
            },
            &secret,
        )?;
        Ok(spec)
    }

    /// Uploads `records` (encoded under the project's secret and schema) in chunks of at most
    /// `chunk_records`, skipping the chunks the unit already has, then closes the upload.
    pub fn upload(
        &self,
        project: &str,
        records: Vec<EncodedRecord>,
        chunk_records: usize,
    ) -> Result<UploadReport, HolderError> {
        let (joined, secret) = self.joined(project)?;
        let encoder = enlace_encode::Encoder::new(&secret, joined.spec.schema.clone())
            .map_err(|e| HolderError::Encoding(e.to_string()))?;
        let total = records.len() as u64;
        let started = std::time::Instant::now();
        let size = chunk_records.max(1);
        let mut groups: Vec<Vec<EncodedRecord>> = Vec::new();
        let mut rest = records.into_iter();
        loop {
            let group: Vec<EncodedRecord> = rest.by_ref().take(size).collect();
            if group.is_empty() {
                break;
            }
            groups.push(group);
        }
        // Chunks are independent: serialise and checksum them on every core.
        let key_check = encoder.key_check();
        let chunks: Vec<(String, Vec<u8>)> = {
            use rayon::prelude::*;
            groups
                .into_par_iter()
                .map(|records| {
                    let bytes = EncodingFile {
                        schema: joined.spec.schema.clone(),
                        key_check,
                        records,
                    }
                    .to_bytes()
                    .map_err(|e| HolderError::Encoding(e.to_string()))?;
                    // The file carries its own BLAKE3 checksum: it names the chunk.
                    let checksum = EncodingFile::stored_checksum(&bytes).ok_or_else(|| {
                        HolderError::Encoding("a chunk shorter than its header".into())
                    })?;
                    Ok((hex::encode(checksum), bytes))
                })
                .collect::<Result<_, HolderError>>()?
        };
        let shas: Vec<String> = chunks.iter().map(|c| c.0.clone()).collect();
        let upload = upload_id(project, self.me(), &shas);
        let base = format!("/api/v1/projects/{project}/uploads/{upload}");
        let have: Vec<u32> =
            match self.call(&joined.unit, "reading the upload", Request::get(&base)) {
                Ok(r) => serde_json::from_slice::<UploadState>(&r.body)
                    .map(|s| s.received)
                    .unwrap_or_default(),
                Err(HolderError::Refused { status: 404, .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
        let mut report = UploadReport {
            upload: upload.clone(),
            chunks: chunks.len() as u32,
            sent: 0,
            records: total,
            bytes: 0,
            seconds: 0.0,
        };
        let pending: Vec<(u32, String, Vec<u8>)> = chunks
            .into_iter()
            .enumerate()
            .map(|(seq, (sha, bytes))| (seq as u32, sha, bytes))
            .filter(|(seq, _, _)| have.binary_search(seq).is_err())
            .collect();
        report.sent = pending.len() as u32;
        report.bytes = pending.iter().map(|c| c.2.len() as u64).sum();
        // Encodings leaving the node are a disclosure, keyed as they are: on this node's record
        // before the first chunk leaves, as the unit records what it receives.
        self.node.audit_log()?.append(
            enlace_audit::NewEntry::new(enlace_audit::Action::Upload, self.me().to_string())
                .subject(project.to_string())
                .recipient(joined.unit.clone())
                .detail("direction", "sent")
                .detail("upload", upload.clone())
                .detail("records", total.to_string())
                .detail("chunks", report.chunks.to_string())
                .detail("chunks_to_send", report.sent.to_string()),
        )?;
        // A few chunks in flight at once: while the unit checks and stores one, the next is on
        // the wire. A lock is poisoned only by a sender that panicked, and the scope re-raises
        // that panic when it ends; until then a poisoned lock just stops the other senders.
        let queue = std::sync::Mutex::new(pending.into_iter());
        let failed: std::sync::Mutex<Option<HolderError>> = std::sync::Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..CHUNKS_IN_FLIGHT {
                scope.spawn(|| {
                    loop {
                        let next = match queue.lock() {
                            Ok(mut q) => q.next(),
                            Err(_) => None,
                        };
                        let Some((seq, sha, bytes)) = next else { break };
                        if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                            break;
                        }
                        crate::server::test_pause("ENLACE_TEST_CHUNK_PAUSE_MS");
                        let request = Request::put_bytes(&format!("{base}/chunks/{seq}"), bytes)
                            .header(crate::server::CHUNK_CHECKSUM, &sha);
                        if let Err(e) = self.send_chunk(&joined.unit, seq, request) {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(e);
        }
        let body = serde_json::json!({ "chunks": report.chunks, "records": total });
        self.call(
            &joined.unit,
            "completing the upload",
            Request::post_json(&format!("{base}/complete"), body.to_string()),
        )?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Sends one chunk, retrying a lost connection (the unit restarting); a refusal is final.
    fn send_chunk(&self, unit: &str, seq: u32, request: Request) -> Result<(), HolderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call(unit, &format!("uploading chunk {seq}"), request.clone()) {
                Ok(_) => return Ok(()),
                Err(HolderError::Client(e)) if attempt < CHUNK_ATTEMPTS => {
                    tracing::warn!("chunk {seq}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the clerical reviews the unit does not have yet, so the next run applies them.
    /// Returns how many were sent.
    pub fn send_reviews(&self, project: &str) -> Result<usize, HolderError> {
        let (joined, _) = self.joined(project)?;
        let book = super::reviews::ReviewBook::open(&self.node.dir.exchange())?;
        let unsent = book.unsent(project)?;
        if unsent.is_empty() {
            return Ok(0);
        }
        let body = serde_json::json!({ "reviews": unsent }).to_string();
        self.call(
            &joined.unit,
            "sending reviews",
            Request::post_json(&format!("/api/v1/projects/{project}/reviews"), body),
        )?;
        book.mark_sent(project, &unsent)?;
        Ok(unsent.len())
    }

    /// Asks the unit to run the project (the initiator only), after sending this node's
    /// unsent reviews. Returns the run number.
    pub fn run(&self, project: &str) -> Result<u32, HolderError> {
        let (joined, _) = self.joined(project)?;
        self.send_reviews(project)?;
        let response = self.call(
            &joined.unit,
            "starting a run",
            Request::post_json(&format!("/api/v1/projects/{project}/run"), "{}"),
        )?;
        response
            .json()
            .and_then(|v| v["run"].as_u64())
            .map(|r| r as u32)
            .ok_or_else(|| HolderError::Protocol {
                what: "starting a run".into(),
                message: "no run number".into(),
            })
    }

    /// The project's state at the unit (spec, uploads, runs with their summaries).
    pub fn status(&self, unit: &str, project: &str) -> Result<serde_json::Value, HolderError> {
        let response = self.call(
            unit,
            "reading the project",
            Request::get(&format!("/api/v1/projects/{project}")),
        )?;
        response.json().ok_or_else(|| HolderError::Protocol {
            what: "reading the project".into(),
            message: "not JSON".into(),
        })
    }

    /// Waits until the project's latest run has finished (or failed), polling.
    pub fn wait(&self, project: &str, timeout: Duration) -> Result<serde_json::Value, HolderError> {
        let (joined, _) = self.joined(project)?;
        let until = std::time::Instant::now() + timeout;
        loop {
            let status = self.status(&joined.unit, project)?;
            let latest = status["runs"][0].clone();
            match latest["state"].as_str() {
                Some("done") => return Ok(latest),
                Some("failed") => {
                    return Err(HolderError::Refused {
                        what: "the run".into(),
                        status: 500,
                        message: latest["error"].as_str().unwrap_or("failed").to_string(),
                    });
                }
                _ if std::time::Instant::now() > until => {
                    return Err(HolderError::Protocol {
                        what: "waiting for the run".into(),
                        message: format!("not finished within {} s", timeout.as_secs()),
                    });
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// A connection to the project's unit, kept open for many calls (one TLS handshake).
    pub fn unit_connection(&self, project: &str) -> Result<client::Connection, HolderError> {
        let (joined, _) = self.joined(project)?;
        let id: NodeId = joined
            .unit
            .parse()
            .map_err(|_| HolderError::UnknownPeer(joined.unit.clone()))?;
        let card = self
            .node
            .roster
            .get(&id)
            .ok_or_else(|| HolderError::UnknownPeer(joined.unit.clone()))?;
        Ok(client::Connection::open(
            &card.url,
            card.tls_cert_sha256,
            Some(&self.node.identity),
            CALL_TIMEOUT,
        )?)
    }

    /// Asks the unit whether another holder's records match one person, given as an encoding
    /// file of that one record. Returns the unit's answer (`hit`, `matches` with partner,
    /// opaque reference and band).
    pub fn query(&self, project: &str, encoded: Vec<u8>) -> Result<serde_json::Value, HolderError> {
        let (joined, _) = self.joined(project)?;
        let response = self.call(
            &joined.unit,
            "querying",
            Request::post_bytes(&format!("/api/v1/projects/{project}/query"), encoded),
        )?;
        response.json().ok_or_else(|| HolderError::Protocol {
            what: "querying".into(),
            message: "not JSON".into(),
        })
    }

    /// Fetches this node's side of the latest run's hits and keeps them in
    /// `DIR/projects/<id>/results.json`.
    pub fn results(&self, project: &str) -> Result<(u32, Vec<ResultRow>), HolderError> {
        let (joined, _) = self.joined(project)?;
        let response = self.call(
            &joined.unit,
            "fetching results",
            Request::get(&format!("/api/v1/projects/{project}/results/{}", self.me())),
        )?;
        let value = response.json().ok_or_else(|| HolderError::Protocol {
            what: "fetching results".into(),
            message: "not JSON".into(),
        })?;
        let run = value["run"].as_u64().unwrap_or(0) as u32;
        let rows: Vec<ResultRow> =
            serde_json::from_value(value["rows"].clone()).map_err(|e| HolderError::Protocol {
                what: "fetching results".into(),
                message: e.to_string(),
            })?;
        let path = self.dir(project).join("results.json");
        fsutil::write_atomic(&path, &response.body, Access::Secret).map_err(io_err(&path))?;
        Ok((run, rows))
    }
}
