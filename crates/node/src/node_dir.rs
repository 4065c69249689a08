//! A node's directory: where each of its files lives, making a new node, and loading one.
//!
//! ```text
//! DIR/                 0700
//!   node.toml          configuration
//!   roster.toml        the peers this node trusts
//!   keys/              0700: ed25519.key, x25519.key, tls.key (0600), tls.crt
//!   node.db            users and sessions (SQLite)
//!   audit/             the audit log: audit.db (entries chained and signed), audit.head
//!   exchange.db        follow-up requests received (the inbox), the ids of messages seen, the
//!                      outbox of decisions, requests sent, releases received, hit references
//!   policy.toml        the release policy (optional: without it nothing is released)
//!   records/           the node's records (`enlace import --store DIR/records`)
//!   projects/ID/       a holder's side of a linkage project (secret, references, results)
//!   projects.db        a linkage unit's projects, uploads, runs and results; chunks/ their
//!                      uploaded chunks
//!   run/port           the port the running server bound
//! ```

use std::path::{Path, PathBuf};

use crate::config::{ConfigError, NodeConfig};
use crate::fsutil;
use crate::identity::{IdentityError, NodeIdentity};
use crate::roster::{Card, Roster, RosterError};

/// Errors making or loading a node directory.
#[derive(Debug, thiserror::Error)]
pub enum NodeDirError {
    #[error(
        "{0} already holds a node (node.toml or keys/ exists); refusing to overwrite its identity"
    )]
    Exists(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Roster(#[from] RosterError),
}

/// The paths of one node's files.
#[derive(Clone, Debug)]
pub struct NodeDir {
    root: PathBuf,
}

impl NodeDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        NodeDir { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("node.toml")
    }
    pub fn roster(&self) -> PathBuf {
        self.root.join("roster.toml")
    }
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("node.db")
    }
    pub fn exchange(&self) -> PathBuf {
        self.root.join("exchange.db")
    }
    /// The node's release policy (`docs/policy.md`); without it nothing is released.
    pub fn policy(&self) -> PathBuf {
        self.root.join("policy.toml")
    }
    pub fn audit(&self) -> PathBuf {
        self.root.join("audit")
    }
    /// The linkage unit's projects, uploads and results.
    pub fn projects(&self) -> PathBuf {
        self.root.join("projects.db")
    }
    /// The linkage unit's stored upload chunks.
    pub fn chunks(&self) -> PathBuf {
        self.root.join("chunks")
    }
    /// A holder's own copies of its projects' secrets and upload state, one folder per project.
    pub fn holder_projects(&self) -> PathBuf {
        self.root.join("projects")
    }
    /// The agency's record store (`enlace import --store DIR/records`): what it uploads to
    /// projects, and where released values come from.
    pub fn records(&self) -> PathBuf {
        self.root.join("records")
    }
    /// The node's network (`enlace network build --node DIR` writes it; the explorer reads
    /// it): `network/graph/`, `communities.csv`, `centrality.csv`.
    pub fn network(&self) -> PathBuf {
        self.root.join("network")
    }
    pub fn run(&self) -> PathBuf {
        self.root.join("run")
    }
    pub fn port_file(&self) -> PathBuf {
        self.run().join("port")
    }

    /// Makes a new node here: the directory (0700), its keys and certificate, its configuration
    /// and an empty roster. Refuses a directory that already holds a node.
    pub fn init(&self, config: &NodeConfig, this_year: i32) -> Result<NodeIdentity, NodeDirError> {
        config.validate()?;
        if self.config().exists() || self.keys().exists() {
            return Err(NodeDirError::Exists(self.root.display().to_string()));
        }
        fsutil::create_private_dir(&self.root).map_err(|source| NodeDirError::Io {
            path: self.root.display().to_string(),
            source,
        })?;
        let identity = NodeIdentity::generate(&config.node_id, this_year)?;
        identity.write_new(&self.keys())?;
        Roster::default().save(&self.roster())?;
        // The configuration last: a directory with node.toml is a complete node.
        config.save(&self.config())?;
        Ok(identity)
    }

    /// Loads the node's configuration, identity and roster.
    pub fn load(&self) -> Result<Node, NodeDirError> {
        let config = NodeConfig::load(&self.config())?;
        let identity = NodeIdentity::load(&self.keys())?;
        let roster = Roster::load(&self.roster())?;
        Ok(Node {
            dir: self.clone(),
            config,
            identity,
            roster,
        })
    }
}

/// A loaded node.
#[derive(Debug)]
pub struct Node {
    pub dir: NodeDir,
    pub config: NodeConfig,
    pub identity: NodeIdentity,
    pub roster: Roster,
}

impl Node {
    /// A message from this node to `to`, signed with its key, valid for `ttl_secs` from `now`.
    pub fn seal_message(
        &self,
        kind: crate::exchange::MessageKind,
        to: &str,
        body: &impl serde::Serialize,
        now: i64,
        ttl_secs: i64,
    ) -> Result<crate::exchange::Envelope, crate::exchange::EnvelopeError> {
        let id = crate::identity::os_random::<16>()
            .map_err(|e| crate::exchange::EnvelopeError::Malformed(e.to_string()))?;
        crate::exchange::Envelope::seal(
            kind,
            self.config.node_id.as_str(),
            to,
            body,
            now,
            ttl_secs,
            &self.identity.signing_key(),
            id,
        )
    }

    /// This node's audit log, open for appending under the node's key. The server and the
    /// command line may each hold it open: appends continue one chain.
    pub fn audit_log(&self) -> Result<enlace_audit::AuditLog, enlace_audit::AuditError> {
        enlace_audit::AuditLog::open(&self.dir.audit(), self.identity.signing_key())
    }

    /// This node's signed card.
    pub fn card(&self) -> Card {
        Card::of_node(&self.config, &self.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Country, Limits, NodeRole};

    #[test]
    fn init_makes_a_loadable_node_and_refuses_to_run_twice() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = NodeDir::new(tmp.path().join("us"));
        let config = NodeConfig {
            node_id: "us-a".parse().unwrap(),
            country: Country::US,
            roles: vec![NodeRole::Agency],
            listen: "127.0.0.1:0".parse().unwrap(),
            url: "https://127.0.0.1:8443".into(),
            limits: Limits::default(),
        };
        let identity = dir.init(&config, 2026).unwrap();
        let node = dir.load().unwrap();
        assert_eq!(node.config, config);
        assert_eq!(node.identity.fingerprint(), identity.fingerprint());
        assert!(node.roster.peers().is_empty());
        node.card().verify().unwrap();
        let err = dir.init(&config, 2026).unwrap_err();
        assert!(matches!(err, NodeDirError::Exists(_)), "{err}");
        assert_eq!(
            dir.load().unwrap().identity.fingerprint(),
            identity.fingerprint()
        );
    }
}
