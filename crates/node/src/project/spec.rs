//! What a linkage project is: its id, its initiator and data holders, the encoding schema and
//! key check every upload must match, and the bands in which hits are reported. The initiator
//! sends it to the linkage unit with the sealed secrets; the unit keeps it as sent.

use enlace_encode::{KeyCheck, Schema};
use serde::{Deserialize, Serialize};

use super::SealedSecret;

/// At most this many data holders in one project.
pub const MAX_HOLDERS: usize = 8;

/// Why a project description is refused. Names fields, never values of records.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error(
        "project id {0:?} is not 1 to 64 lowercase letters, digits and '-', starting with a letter or digit"
    )]
    BadId(String),
    #[error("a project needs 2 to {MAX_HOLDERS} distinct data holders; it lists {0}")]
    Holders(usize),
    #[error("the initiator {0} is not one of the project's data holders")]
    InitiatorNotHolder(String),
    #[error("the key check is not 64 hex digits")]
    BadKeyCheck,
    #[error("the encoding schema: {0}")]
    Schema(String),
    #[error("the schema's id {schema:?} is not the project's id {project:?}")]
    SchemaId { schema: String, project: String },
    #[error("no sealed secret for holder {0}")]
    MissingSealed(String),
    #[error(
        "a sealed secret is for {0}, which is not a holder of this project (or is the initiator)"
    )]
    StraySealed(String),
    #[error(
        "a sealed secret names project {found:?} or initiator {initiator:?}, not this project's"
    )]
    SealedMismatch { found: String, initiator: String },
    #[error("bands: {0}")]
    Bands(String),
}

/// Whether `id` may name a project (also used in URLs and file names).
pub fn valid_project_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// How far above the model's threshold a hit's best match weight (log2 of the likelihood ratio)
/// must be to fall in each band. Holders see the band, never the weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    /// At or above threshold + `certain`: `certain`.
    pub certain: f64,
    /// At or above threshold + `probable`: `probable`; below it (but linked): `possible`, the
    /// band meant for clerical review.
    pub probable: f64,
}

impl Default for Bands {
    fn default() -> Self {
        // 2^10 and 2^3 times likelier a match than not, beyond the threshold's odds.
        Bands {
            certain: 10.0,
            probable: 3.0,
        }
    }
}

/// A hit's band, from the best evidence between two holders' records of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Weak or only transitive evidence: a person should look before anyone acts on it.
    Possible,
    Probable,
    Certain,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Possible => "possible",
            Band::Probable => "probable",
            Band::Certain => "certain",
        }
    }

    /// The band of a best match weight `weight` against `threshold`; `None` (no direct pair
    /// compared: linked only through a third holder's record) is `possible`.
    pub fn of(weight: Option<f64>, threshold: f64, bands: &Bands) -> Band {
        match weight {
            Some(w) if w >= threshold + bands.certain => Band::Certain,
            Some(w) if w >= threshold + bands.probable => Band::Probable,
            _ => Band::Possible,
        }
    }
}

impl std::str::FromStr for Band {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "possible" => Ok(Band::Possible),
            "probable" => Ok(Band::Probable),
            "certain" => Ok(Band::Certain),
            _ => Err(format!("unknown band {s:?}")),
        }
    }
}

/// A linkage project as the initiator defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    pub id: String,
    /// The node that created the project and made its secret.
    pub initiator: String,
    /// The data holders, initiator included, sorted.
    pub holders: Vec<String>,
    /// The encoding schema every holder encodes under.
    pub schema: Schema,
    /// The key check of (secret, schema), 64 hex digits: uploads made under another secret or
    /// schema are refused.
    pub key_check: String,
    #[serde(default)]
    pub bands: Bands,
}

impl ProjectSpec {
    pub fn new(
        id: &str,
        initiator: &str,
        holders: &[String],
        schema: Schema,
        key_check: &KeyCheck,
    ) -> ProjectSpec {
        let mut holders = holders.to_vec();
        holders.sort();
        holders.dedup();
        ProjectSpec {
            id: id.to_string(),
            initiator: initiator.to_string(),
            holders,
            schema,
            key_check: hex::encode(key_check.0),
            bands: Bands::default(),
        }
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        if !valid_project_id(&self.id) {
            return Err(SpecError::BadId(self.id.clone()));
        }
        let mut sorted = self.holders.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.holders.len() || !(2..=MAX_HOLDERS).contains(&sorted.len()) {
            return Err(SpecError::Holders(self.holders.len()));
        }
        if !self.holders.contains(&self.initiator) {
            return Err(SpecError::InitiatorNotHolder(self.initiator.clone()));
        }
        self.key_check()?;
        self.schema
            .validate()
            .map_err(|e| SpecError::Schema(e.to_string()))?;
        if self.schema.id != self.id {
            return Err(SpecError::SchemaId {
                schema: self.schema.id.clone(),
                project: self.id.clone(),
            });
        }
        let b = &self.bands;
        if !(b.certain.is_finite() && b.probable.is_finite() && b.probable <= b.certain) {
            return Err(SpecError::Bands(
                "both offsets must be finite and `probable` at most `certain`".into(),
            ));
        }
        Ok(())
    }

    pub fn key_check(&self) -> Result<KeyCheck, SpecError> {
        let bytes = hex::decode(&self.key_check).map_err(|_| SpecError::BadKeyCheck)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SpecError::BadKeyCheck)?;
        Ok(KeyCheck(bytes))
    }

    pub fn is_holder(&self, node: &str) -> bool {
        self.holders.iter().any(|h| h == node)
    }

    /// Checks that `sealed` holds exactly one copy for every holder but the initiator, each
    /// naming this project and initiator.
    pub fn check_sealed(&self, sealed: &[SealedSecret]) -> Result<(), SpecError> {
        for s in sealed {
            if s.recipient == self.initiator || !self.is_holder(&s.recipient) {
                return Err(SpecError::StraySealed(s.recipient.clone()));
            }
            if s.project != self.id || s.initiator != self.initiator {
                return Err(SpecError::SealedMismatch {
                    found: s.project.clone(),
                    initiator: s.initiator.clone(),
                });
            }
        }
        for h in self.holders.iter().filter(|h| **h != self.initiator) {
            let copies = sealed.iter().filter(|s| &s.recipient == h).count();
            if copies != 1 {
                return Err(SpecError::MissingSealed(h.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProjectSpec {
        ProjectSpec::new(
            "p1",
            "us",
            &["us".into(), "mx".into(), "gt".into()],
            Schema::default_with_id("p1"),
            &KeyCheck([3; 32]),
        )
    }

    #[test]
    fn a_well_formed_spec_validates_and_holders_are_sorted() {
        let s = spec();
        s.validate().unwrap();
        assert_eq!(s.holders, ["gt", "mx", "us"]);
        assert_eq!(s.key_check().unwrap().0, [3; 32]);
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let mut s = spec();
        s.id = "Bad id".into();
        assert!(matches!(s.validate(), Err(SpecError::BadId(_))));
        let mut s = spec();
        s.holders = vec!["us".into()];
        assert_eq!(s.validate(), Err(SpecError::Holders(1)));
        let mut s = spec();
        s.holders = vec!["mx".into(), "mx".into(), "us".into()];
        assert_eq!(s.validate(), Err(SpecError::Holders(3)));
        let mut s = spec();
        s.initiator = "ca".into();
        assert!(matches!(
            s.validate(),
            Err(SpecError::InitiatorNotHolder(_))
        ));
        let mut s = spec();
        s.key_check = "00".into();
        assert_eq!(s.validate(), Err(SpecError::BadKeyCheck));
        let mut s = spec();
        s.schema = Schema::default_with_id("other");
        assert!(matches!(s.validate(), Err(SpecError::SchemaId { .. })));
        let mut s = spec();
        s.bands.probable = 20.0;
        assert!(matches!(s.validate(), Err(SpecError::Bands(_))));
    }

    #[test]
    fn bands_follow_the_weight_above_the_threshold() {
        let b = Bands::default();
        assert_eq!(Band::of(Some(25.0), 12.0, &b), Band::Certain);
        assert_eq!(Band::of(Some(15.0), 12.0, &b), Band::Probable);
        assert_eq!(Band::of(Some(12.5), 12.0, &b), Band::Possible);
        assert_eq!(Band::of(None, 12.0, &b), Band::Possible);
        for band in [Band::Possible, Band::Probable, Band::Certain] {
            assert_eq!(band.as_str().parse::<Band>().unwrap(), band);
        }
    }
}
