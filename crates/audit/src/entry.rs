//! What an entry says: when, who, what was done, to which opaque subject, for what purpose,
//! for whom, and a few codes in `detail`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened. The list follows what the two-step exchange and the border query do; the
/// disclosure accounting is made of the actions that let data leave the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SignIn,
    SignInRefused,
    Query,
    Upload,
    Hit,
    Request,
    Decision,
    Release,
    ReadReleased,
    Export,
    Deletion,
    Refusal,
    /// A linkage project's life at the linkage unit: created, run started, run done or failed.
    Project,
    /// A follow-up request this node sent to a partner (its own record of what it asked).
    RequestSent,
    /// A release (or a rejection) received from a partner after this node's request.
    ReleaseReceived,
    /// A requested field the owner's policy or approver did not release, with the reason.
    Withheld,
    /// A clerical decision on a hit (accept, reject, unsure), made at an agency and relayed to
    /// the linkage unit, where it feeds the next run.
    Review,
    /// An analyst read the node's network (summary, a community, an ego network, a path).
    GraphRead,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::SignIn,
        Action::SignInRefused,
        Action::Query,
        Action::Upload,
        Action::Hit,
        Action::Request,
        Action::Decision,
        Action::Release,
        Action::ReadReleased,
        Action::Export,
        Action::Deletion,
        Action::Refusal,
        Action::Project,
        Action::RequestSent,
        Action::ReleaseReceived,
        Action::Withheld,
        Action::Review,
        Action::GraphRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInRefused => "sign_in_refused",
            Action::Query => "query",
            Action::Upload => "upload",
            Action::Hit => "hit",
            Action::Request => "request",
            Action::Decision => "decision",
            Action::Release => "release",
            Action::ReadReleased => "read_released",
            Action::Export => "export",
            Action::Deletion => "deletion",
            Action::Refusal => "refusal",
            Action::Project => "project",
            Action::RequestSent => "request_sent",
            Action::ReleaseReceived => "release_received",
            Action::Withheld => "withheld",
            Action::Review => "review",
            Action::GraphRead => "graph_read",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the action discloses data outside the node: what the disclosure accounting
    /// lists (uploads of encodings and hits count: they are disclosures too, if keyed ones).
    pub fn is_disclosure(self) -> bool {
        matches!(self, Action::Release | Action::Upload | Action::Hit)
    }
}

/// An entry as the node asks for it to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub action: Action,
    /// Who acted: a user name or a node id.
    pub actor: String,
    /// What it was about: an opaque reference, a request id, a project id.
    #[serde(default)]
    pub subject: Option<String>,
    /// The stated purpose (a follow-up request's purpose and offence category).
    #[serde(default)]
    pub purpose: Option<String>,
    /// To whom data went, or who asked: a node id.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Codes and counts (handling code, fields released, outcome). Keys are sorted, so the
    /// signed bytes do not depend on insertion order.
    #[serde(default)]
    pub detail: std::collections::BTreeMap<String, String>,
}

impl NewEntry {
    pub fn new(action: Action, actor: impl Into<String>) -> NewEntry {
        NewEntry {
            action,
            actor: actor.into(),
            subject: None,
            purpose: None,
            recipient: None,
            detail: Default::default(),
        }
    }

    pub fn subject(mut self, s: impl Into<String>) -> NewEntry {
        self.subject = Some(s.into());
        self
    }

    pub fn purpose(mut self, s: impl Into<String>) -> NewEntry {
        self.purpose = Some(s.into());
        self
    }

    pub fn recipient(mut self, s: impl Into<String>) -> NewEntry {
        self.recipient = Some(s.into());
        self
    }

    pub fn detail(mut self, k: impl Into<String>, v: impl Into<String>) -> NewEntry {
        self.detail.insert(k.into(), v.into());
        self
    }
}

/// An entry as written: numbered, timed, chained and signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3… without gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: NewEntry,
    /// The previous entry's hash ([`crate::GENESIS`] for the first).
    #[serde(with = "hex::serde")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub hash: [u8; 32],
    /// Ed25519 signature of `hash` by the node.
    #[serde(with = "hex::serde")]
    pub signature: [u8; 64],
}
