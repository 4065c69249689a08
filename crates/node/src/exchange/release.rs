//! The owner's answer to a follow-up request: the approver's decision, what the node's policy
//! lets it release of the matched record, and the body of the signed message that carries it
//! to the requester (a `release` when the match is confirmed, a `decision` when it is rejected
//! as a false hit).

use std::collections::{BTreeMap, BTreeSet};

use enlace_model::Record;
use serde::{Deserialize, Serialize};

use super::request::{FollowUpRequest, HandlingCode, HitRef};
use crate::policy::{Policy, ReleaseField, RequestContext};

/// Seconds in a day of retention.
pub const DAY_SECS: i64 = 86_400;

/// What the approver made of the hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The same person: the fields the policy and the approver allow are released.
    Confirmed,
    /// A false hit: nothing is released.
    Rejected,
}

/// The body of a `release` or `decision` message from the owner to the requester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// The follow-up request's message id.
    pub request_id: String,
    /// The hit the request followed.
    pub hit: HitRef,
    pub outcome: Outcome,
    /// Why the hit was rejected (rejections only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The released fields and their values.
    #[serde(default)]
    pub released: BTreeMap<ReleaseField, serde_json::Value>,
    /// The requested fields not released, each with the reason.
    #[serde(default)]
    pub withheld: BTreeMap<ReleaseField, String>,
    /// How the requester must treat what is released; H2 forbids any export.
    pub handling: HandlingCode,
    /// The retention period the owner's policy sets.
    pub retention_days: u32,
    /// Unix seconds: the requester deletes the release then.
    pub retain_until: i64,
    /// The approver's user name at the owning node.
    pub approver: String,
}

/// Why a release body cannot be accepted by the requester.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("a rejection must give its reason")]
    NoReason,
    #[error("a rejection releases nothing")]
    RejectionReleases,
    #[error("field {0} is both released and withheld")]
    BothWays(ReleaseField),
    #[error("field {0} was not asked for")]
    NotRequested(ReleaseField),
    #[error("the handling code {got:?} is not the request's {want:?}")]
    Handling {
        got: HandlingCode,
        want: HandlingCode,
    },
    #[error("the release answers request {got}, not {want}")]
    WrongRequest { got: String, want: String },
}

impl ReleaseBody {
    /// The checks the requester makes against the request it sent.
    pub fn check_against(
        &self,
        request_id: &str,
        sent: &FollowUpRequest,
    ) -> Result<(), ReleaseError> {
        if self.request_id != request_id {
            return Err(ReleaseError::WrongRequest {
                got: self.request_id.clone(),
                want: request_id.to_string(),
            });
        }
        if self.outcome == Outcome::Rejected {
            if self.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(ReleaseError::NoReason);
            }
            if !self.released.is_empty() {
                return Err(ReleaseError::RejectionReleases);
            }
        }
        for f in self.released.keys() {
            if self.withheld.contains_key(f) {
                return Err(ReleaseError::BothWays(*f));
            }
            if !sent.fields.contains(f) {
                return Err(ReleaseError::NotRequested(*f));
            }
        }
        if self.handling != sent.handling {
            return Err(ReleaseError::Handling {
                got: self.handling,
                want: sent.handling,
            });
        }
        Ok(())
    }
}

/// The approver's choice: confirm and release (some of) the fields, or reject with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Confirm(BTreeSet<ReleaseField>),
    Reject(String),
}

/// What a confirmed decision releases and withholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub released: BTreeMap<ReleaseField, serde_json::Value>,
    pub withheld: BTreeMap<ReleaseField, String>,
    pub retention_days: u32,
}

/// The reason given for every field when a node has no policy file.
pub const NO_POLICY: &str = "this node has no release policy (policy.toml): nothing is released";
/// The reason given for a field the policy allows and the approver did not choose.
pub const NOT_CHOSEN: &str = "the approver did not release it";

/// Applies the node's policy (none: nothing is released) to a request for `record`, then the
/// approver's choice: a field is released only when the policy allows it and the approver chose
/// it. Every requested field ends up released or withheld with its reason.
pub fn resolve(
    policy: Option<&Policy>,
    partner: &str,
    request: &FollowUpRequest,
    chosen: &BTreeSet<ReleaseField>,
    record: &Record,
    source: &str,
) -> Resolved {
    let Some(policy) = policy else {
        return Resolved {
            released: BTreeMap::new(),
            withheld: request
                .fields
                .iter()
                .map(|f| (*f, NO_POLICY.to_string()))
                .collect(),
            retention_days: 0,
        };
    };
    let Some(offence) = request.offence else {
        // A request without an offence category never reaches the inbox; nothing for one.
        return Resolved {
            released: BTreeMap::new(),
            withheld: request
                .fields
                .iter()
                .map(|f| (*f, "the request names no offence category".to_string()))
                .collect(),
            retention_days: 0,
        };
    };
    let ctx = RequestContext {
        partner,
        offence,
        subject_nationality: record.nationality.as_deref(),
        flags: &request.flags,
    };
    let decision = policy.decide(&ctx, &request.fields);
    let mut released = BTreeMap::new();
    let mut withheld = BTreeMap::new();
    for f in &request.fields {
        if let Some(reason) = decision.withheld.get(f) {
            withheld.insert(*f, reason.clone());
        } else if decision.release.contains(f) && chosen.contains(f) {
            released.insert(*f, field_value(record, source, *f));
        } else {
            withheld.insert(*f, NOT_CHOSEN.to_string());
        }
    }
    Resolved {
        released,
        withheld,
        retention_days: decision.retention_days,
    }
}

/// The value of one releasable field of a record, as it travels.
pub fn field_value(record: &Record, source: &str, field: ReleaseField) -> serde_json::Value {
    use serde_json::{Value, json};
    let text = |s: &str| {
        if s.trim().is_empty() {
            Value::Null
        } else {
            Value::String(s.to_string())
        }
    };
    match field {
        ReleaseField::GivenNames => text(&record.name.given_display),
        ReleaseField::Surnames => text(&record.name.surnames_display),
        ReleaseField::BirthDate => record
            .birth_date
            .as_ref()
            .map_or(Value::Null, |d| Value::String(d.iso())),
        ReleaseField::Sex => Value::String(record.sex.code().to_string()),
        ReleaseField::Nationality => record
            .nationality
            .as_deref()
            .map_or(Value::Null, |n| Value::String(n.to_string())),
        ReleaseField::DocumentNumbers => Value::Array(
            record
                .identifiers
                .iter()
                .filter(|i| i.kind.is_official())
                .map(|i| json!({"kind": i.kind.as_str(), "number": i.value, "country": i.country}))
                .collect(),
        ),
        ReleaseField::Phones => Value::Array(
            record
                .identifiers
                .iter()
                .filter(|i| i.kind == enlace_normalize::IdKind::Phone)
                .map(|i| Value::String(i.value.clone()))
                .collect(),
        ),
        ReleaseField::Address => record
            .address
            .as_ref()
            .and_then(|a| serde_json::to_value(a).ok())
            .unwrap_or(Value::Null),
        ReleaseField::Encounters => Value::Array(
            record
                .events
                .iter()
                .map(|e| {
                    json!({"kind": e.kind, "id": e.id, "date": e.date.as_ref().map(|d| d.iso()),
                           "place": e.place})
                })
                .collect(),
        ),
        ReleaseField::RelativeContact => record
            .attributes
            .iter()
            .find(|(k, _)| k == "relative_contact")
            .map_or(Value::Null, |(_, v)| text(v)),
        ReleaseField::CaseReference => Value::String(format!("{source}/{}", record.key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Country;
    use crate::policy::{Flag, Offence};

    const POLICY: &str = r#"
[defaults]
retention_days = 365

[[rules]]
name = "own nationals need a court order"
partners = ["*"]
offences = ["*"]
subjects = ["own"]
withhold = ["*"]
unless = ["court_order"]

[[rules]]
name = "smuggling"
partners = ["mx-a"]
offences = ["smuggling_of_migrants"]
release = ["given_names", "surnames", "birth_date", "case_reference"]
retention_days = 180
"#;

    fn record(nationality: &str) -> Record {
        let name = enlace_normalize::parse_name(enlace_normalize::NameInput::Parts {
            given: "Ana María",
            surname1: "López",
            surname2: "Xol",
        })
        .unwrap();
        Record {
            key: "r-1".into(),
            name,
            birth_date: None,
            sex: enlace_normalize::Sex::Female,
            nationality: Some(nationality.into()),
            identifiers: vec![],
            events: vec![],
            address: None,
            attributes: vec![],
            warnings: vec![],
        }
    }

    fn request(fields: &[ReleaseField], flags: &[Flag]) -> FollowUpRequest {
        FollowUpRequest {
            hit: HitRef {
                project: "p".into(),
                partner_reference: "r".into(),
            },
            purpose: "x".into(),
            offence: Some(Offence::SmugglingOfMigrants),
            legal_basis: "y".into(),
            handling: HandlingCode::H2,
            officer: "o".into(),
            fields: fields.iter().copied().collect(),
            flags: flags.iter().copied().collect(),
        }
    }

    #[test]
    fn released_needs_the_policy_and_the_approver_and_every_field_is_accounted_for() {
        let policy = Policy::from_toml(POLICY, Country::GT).unwrap();
        use ReleaseField::*;
        let req = request(&[GivenNames, Surnames, Phones, CaseReference], &[]);
        // The approver picks given names and phones: phones the policy forbids.
        let chosen = [GivenNames, Phones].into_iter().collect();
        let r = resolve(
            Some(&policy),
            "mx-a",
            &req,
            &chosen,
            &record("HN"),
            "gt-reg",
        );
        assert_eq!(r.released.keys().copied().collect::<Vec<_>>(), [GivenNames]);
        assert_eq!(r.released[&GivenNames], "Ana María");
        assert!(r.withheld[&Phones].contains("no rule releases it"), "{r:?}");
        assert_eq!(r.withheld[&Surnames], NOT_CHOSEN);
        assert_eq!(r.withheld[&CaseReference], NOT_CHOSEN);
        assert_eq!(r.retention_days, 180);
        for f in &req.fields {
            assert!(
                r.released.contains_key(f) ^ r.withheld.contains_key(f),
                "{f}"
            );
        }
        // Own nationals: nothing, whatever the approver picks.
        let all = req.fields.clone();
        let own = resolve(Some(&policy), "mx-a", &req, &all, &record("GT"), "gt-reg");
        assert!(own.released.is_empty(), "{own:?}");
        assert!(own.withheld[&GivenNames].contains("own nationals"));
        // Another partner: nothing; no policy at all: nothing.
        assert!(
            resolve(Some(&policy), "us-z", &req, &all, &record("HN"), "s")
                .released
                .is_empty()
        );
        let none = resolve(None, "mx-a", &req, &all, &record("HN"), "s");
        assert!(none.released.is_empty());
        assert_eq!(none.withheld.len(), 4);
        assert_eq!(
            field_value(&record("HN"), "gt-reg", CaseReference),
            "gt-reg/r-1"
        );
    }

    #[test]
    fn the_requester_checks_a_release_against_its_request() {
        use ReleaseField::*;
        let sent = request(&[GivenNames, Surnames], &[]);
        let mut body = ReleaseBody {
            request_id: "a".repeat(32),
            hit: sent.hit.clone(),
            outcome: Outcome::Confirmed,
            reason: None,
            released: [(GivenNames, serde_json::json!("Ana"))].into(),
            withheld: [(Surnames, "no".to_string())].into(),
            handling: HandlingCode::H2,
            retention_days: 1,
            retain_until: 10,
            approver: "rosa".into(),
        };
        assert_eq!(body.check_against(&"a".repeat(32), &sent), Ok(()));
        assert!(matches!(
            body.check_against(&"b".repeat(32), &sent),
            Err(ReleaseError::WrongRequest { .. })
        ));
        body.released.insert(Phones, serde_json::json!([]));
        assert_eq!(
            body.check_against(&"a".repeat(32), &sent),
            Err(ReleaseError::NotRequested(Phones))
        );
        body.released.remove(&Phones);
        body.handling = HandlingCode::H0;
        assert!(matches!(
            body.check_against(&"a".repeat(32), &sent),
            Err(ReleaseError::Handling { .. })
        ));
        body.handling = HandlingCode::H2;
        body.outcome = Outcome::Rejected;
        assert_eq!(
            body.check_against(&"a".repeat(32), &sent),
            Err(ReleaseError::NoReason)
        );
        body.reason = Some("not the same person".into());
        assert_eq!(
            body.check_against(&"a".repeat(32), &sent),
            Err(ReleaseError::RejectionReleases)
        );
        // Field names travel as the vocabulary's words.
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["released"]["given_names"], "Ana");
        assert_eq!(serde_json::from_value::<ReleaseBody>(json).unwrap(), body);
    }
}
