//! The policy file (TOML) and its checks. Every value is checked against the fixed vocabularies
//! when the file is loaded, so a typo fails at start, naming the rule and the key, instead of
//! silently releasing nothing (or everything).

use std::collections::BTreeSet;

use serde::Deserialize;

use super::RequestContext;
use super::vocabulary::{Flag, Offence, ReleaseField};

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid TOML or does not fit the format: {0}")]
    Parse(String),
    #[error("policy, {rule}, `{key}`: {reason}")]
    Invalid {
        rule: String,
        key: &'static str,
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default = "default_retention")]
    retention_days: u32,
}

impl Default for RawDefaults {
    fn default() -> Self {
        RawDefaults {
            retention_days: default_retention(),
        }
    }
}

fn default_retention() -> u32 {
    365
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    name: Option<String>,
    partners: Vec<String>,
    offences: Vec<String>,
    #[serde(default = "everyone")]
    subjects: Vec<String>,
    #[serde(default)]
    release: Vec<String>,
    #[serde(default)]
    withhold: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    retention_days: Option<u32>,
}

fn everyone() -> Vec<String> {
    vec!["*".into()]
}

/// Whom a rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subjects {
    Any,
    /// The node's own nationals.
    Own,
    /// Anyone but the node's own nationals (unknown nationality included).
    Foreign,
    /// These nationalities (ISO alpha-2).
    Codes(BTreeSet<String>),
}

/// One checked rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub name: Option<String>,
    /// `None`: any partner.
    pub partners: Option<BTreeSet<String>>,
    /// `None`: any offence.
    pub offences: Option<BTreeSet<Offence>>,
    pub subjects: Subjects,
    pub release: BTreeSet<ReleaseField>,
    pub withhold: BTreeSet<ReleaseField>,
    /// `withhold = ["*"]`: every field.
    pub withhold_all: bool,
    pub requires: BTreeSet<Flag>,
    pub unless: BTreeSet<Flag>,
    pub retention_days: Option<u32>,
}

impl Rule {
    pub(crate) fn applies(&self, ctx: &RequestContext<'_>, own: bool) -> bool {
        let partner = self
            .partners
            .as_ref()
            .is_none_or(|p| p.contains(ctx.partner));
        let offence = self
            .offences
            .as_ref()
            .is_none_or(|o| o.contains(&ctx.offence));
        let subject = match &self.subjects {
            Subjects::Any => true,
            Subjects::Own => own,
            Subjects::Foreign => !own,
            Subjects::Codes(codes) => ctx.subject_nationality.is_some_and(|n| codes.contains(n)),
        };
        partner && offence && subject
    }

    pub(crate) fn withhold_covers(&self, f: ReleaseField) -> bool {
        self.withhold_all || self.withhold.contains(&f)
    }
}

/// The checked contents of a policy file.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub(crate) defaults: Defaults,
    pub(crate) rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub retention_days: u32,
}

fn is_wild(v: &[String]) -> bool {
    v.len() == 1 && v[0] == "*"
}

impl PolicyFile {
    pub fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        if raw.defaults.retention_days == 0 {
            return Err(PolicyError::Invalid {
                rule: "[defaults]".into(),
                key: "retention_days",
                reason: "must be at least one day".into(),
            });
        }
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let label = match &r.name {
                Some(n) => format!("rule {} ({n:?})", i + 1),
                None => format!("rule {}", i + 1),
            };
            let bad = |key: &'static str, reason: String| PolicyError::Invalid {
                rule: label.clone(),
                key,
                reason,
            };
            if r.partners.is_empty() {
                return Err(bad(
                    "partners",
                    "list the partner node ids, or [\"*\"]".into(),
                ));
            }
            let partners = if is_wild(&r.partners) {
                None
            } else {
                if let Some(p) = r.partners.iter().find(|p| p.trim().is_empty() || *p == "*") {
                    return Err(bad(
                        "partners",
                        format!("{p:?}: \"*\" stands alone; ids are not empty"),
                    ));
                }
                Some(r.partners.iter().cloned().collect())
            };
            if r.offences.is_empty() {
                return Err(bad(
                    "offences",
                    "list offence categories, or [\"*\"]".into(),
                ));
            }
            let offences = if is_wild(&r.offences) {
                None
            } else {
                let mut set = BTreeSet::new();
                for o in &r.offences {
                    set.insert(Offence::parse(o).ok_or_else(|| {
                        bad(
                            "offences",
                            format!("{o:?} is not one of {}", Offence::names()),
                        )
                    })?);
                }
                Some(set)
            };
            let subjects = match r.subjects.as_slice() {
                [one] if one == "*" => Subjects::Any,
                [one] if one == "own" => Subjects::Own,
                [one] if one == "foreign" => Subjects::Foreign,
                codes => {
                    let mut set = BTreeSet::new();
                    for c in codes {
                        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                            return Err(bad(
                                "subjects",
                                format!(
                                    "{c:?}: use \"*\", \"own\", \"foreign\" or ISO alpha-2 codes"
                                ),
                            ));
                        }
                        set.insert(c.clone());
                    }
                    if set.is_empty() {
                        return Err(bad("subjects", "empty: use [\"*\"] for anyone".into()));
                    }
                    Subjects::Codes(set)
                }
            };
            let fields = |key: &'static str,
                          names: &[String]|
             -> Result<BTreeSet<ReleaseField>, PolicyError> {
                let mut set = BTreeSet::new();
                for n in names {
                    set.insert(ReleaseField::parse(n).ok_or_else(|| {
                        bad(
                            key,
                            format!("{n:?} is not one of {}", ReleaseField::names()),
                        )
                    })?);
                }
                Ok(set)
            };
            let flags =
                |key: &'static str, names: &[String]| -> Result<BTreeSet<Flag>, PolicyError> {
                    let mut set = BTreeSet::new();
                    for n in names {
                        set.insert(Flag::parse(n).ok_or_else(|| {
                            bad(key, format!("{n:?} is not one of {}", Flag::names()))
                        })?);
                    }
                    Ok(set)
                };
            let withhold_all = is_wild(&r.withhold);
            let withhold = if withhold_all {
                BTreeSet::new()
            } else {
                fields("withhold", &r.withhold)?
            };
            let release = if is_wild(&r.release) {
                ReleaseField::ALL.iter().copied().collect()
            } else {
                fields("release", &r.release)?
            };
            if release.is_empty() && withhold.is_empty() && !withhold_all {
                return Err(bad(
                    "release",
                    "the rule releases and withholds nothing".into(),
                ));
            }
            if r.retention_days == Some(0) {
                return Err(bad("retention_days", "must be at least one day".into()));
            }
            rules.push(Rule {
                name: r.name,
                partners,
                offences,
                subjects,
                release,
                withhold,
                withhold_all,
                requires: flags("requires", &r.requires)?,
                unless: flags("unless", &r.unless)?,
                retention_days: r.retention_days,
            });
        }
        Ok(PolicyFile {
            defaults: Defaults {
                retention_days: raw.defaults.retention_days,
            },
            rules,
        })
    }
}
