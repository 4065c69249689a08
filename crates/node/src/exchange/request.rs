//! The follow-up request a node sends after a hit (the second step of the exchange): which hit,
//! why (purpose and an offence category from the fixed list), on what legal basis, under which
//! handling code, by which officer, and which fields it asks for.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::policy::{Flag, Offence, ReleaseField};

/// How the receiver must treat what is released (the handling codes of police cooperation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HandlingCode {
    /// Purpose limitation: use only for the stated purpose.
    H0,
    /// No use as evidence in court without the owner's permission.
    H1,
    /// No onward sharing: blocks any export of the data.
    H2,
    /// Other conditions, stated with the release.
    H3,
}

/// The hit a request follows: the linkage project and the opaque reference the linkage unit
/// gave the requester for the owner's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitRef {
    pub project: String,
    pub partner_reference: String,
}

/// A follow-up request as it travels (inside a signed envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    pub hit: HitRef,
    /// Why, in the officer's words (no personal data of the subject beyond the hit).
    #[serde(default)]
    pub purpose: String,
    /// One of the fixed offence categories; a request without one cannot be answered.
    #[serde(default)]
    pub offence: Option<Offence>,
    #[serde(default)]
    pub legal_basis: String,
    pub handling: HandlingCode,
    /// The requesting officer's user name at the requesting node.
    pub officer: String,
    pub fields: BTreeSet<ReleaseField>,
    #[serde(default)]
    pub flags: BTreeSet<Flag>,
}

/// Why a request cannot be sent or answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("a follow-up request needs a purpose")]
    NoPurpose,
    #[error(
        "a follow-up request needs an offence category, one of: {}",
        Offence::names()
    )]
    NoOffence,
    #[error("a follow-up request needs a legal basis")]
    NoLegalBasis,
    #[error("a follow-up request names the requesting officer")]
    NoOfficer,
    #[error("a follow-up request asks for at least one field")]
    NoFields,
    #[error("a follow-up request names the hit: its project and the partner's reference")]
    NoHit,
    #[error("the purpose is {0} characters long; at most 1,000")]
    PurposeTooLong(usize),
}

impl FollowUpRequest {
    /// The checks the sender makes before sending and the owner makes again on receipt.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.hit.project.trim().is_empty() || self.hit.partner_reference.trim().is_empty() {
            return Err(RequestError::NoHit);
        }
        if self.purpose.trim().is_empty() {
            return Err(RequestError::NoPurpose);
        }
        let n = self.purpose.chars().count();
        if n > 1000 {
            return Err(RequestError::PurposeTooLong(n));
        }
        if self.offence.is_none() {
            return Err(RequestError::NoOffence);
        }
        if self.legal_basis.trim().is_empty() {
            return Err(RequestError::NoLegalBasis);
        }
        if self.officer.trim().is_empty() {
            return Err(RequestError::NoOfficer);
        }
        if self.fields.is_empty() {
            return Err(RequestError::NoFields);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> FollowUpRequest {
        FollowUpRequest {
            hit: HitRef {
                project: "p-2026-07".into(),
                partner_reference: "9f3c1a".into(),
            },
            purpose: "identify the driver of a convoy intercepted in Chiapas".into(),
            offence: Some(Offence::SmugglingOfMigrants),
            legal_basis: "bilateral agreement art. 4".into(),
            handling: HandlingCode::H2,
            officer: "rosa.investigator".into(),
            fields: [ReleaseField::Surnames, ReleaseField::BirthDate].into(),
            flags: BTreeSet::new(),
        }
    }

    #[test]
    fn a_complete_request_validates_and_round_trips() {
        let r = request();
        assert_eq!(r.validate(), Ok(()));
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.contains("\"offence\":\"smuggling_of_migrants\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<FollowUpRequest>(&json).unwrap(), r);
    }

    #[test]
    fn each_missing_part_is_named() {
        type Breaker = fn(&mut FollowUpRequest);
        let cases: [(Breaker, RequestError); 6] = [
            (|r| r.purpose = "  ".into(), RequestError::NoPurpose),
            (|r| r.offence = None, RequestError::NoOffence),
            (|r| r.legal_basis.clear(), RequestError::NoLegalBasis),
            (|r| r.officer.clear(), RequestError::NoOfficer),
            (|r| r.fields.clear(), RequestError::NoFields),
            (|r| r.hit.partner_reference.clear(), RequestError::NoHit),
        ];
        for (break_it, expected) in cases {
            let mut r = request();
            break_it(&mut r);
            assert_eq!(r.validate(), Err(expected));
        }
    }

    #[test]
    fn a_request_without_offence_on_the_wire_parses_then_fails_validation() {
        // Parsing must not be where the refusal happens: the owner audits the refusal, so it
        // needs the request in hand.
        let mut v = serde_json::to_value(request()).unwrap();
        v.as_object_mut().unwrap().remove("offence");
        let r: FollowUpRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.validate(), Err(RequestError::NoOffence));
        v.as_object_mut().unwrap().remove("purpose");
        let r: FollowUpRequest = serde_json::from_value(v).unwrap();
        assert_eq!(r.validate(), Err(RequestError::NoPurpose));
        let mut v = serde_json::to_value(request()).unwrap();
        v["offence"] = "jaywalking".into();
        assert!(serde_json::from_value::<FollowUpRequest>(v).is_err());
    }
}
