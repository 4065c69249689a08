//! The node's release policy (`DIR/policy.toml`): which fields of a matched record the owning
//! agency may release, to which partner, for which offence category, about whom (by the data
//! subject's nationality, the node's own nationals apart), on what conditions (a court order),
//! and how long the receiver may keep them.
//!
//! Nothing is released unless a rule allows it; a rule that withholds beats any that releases;
//! an approver can always release less than the policy allows, never more. See
//! `docs/policy.md`.

mod file;
mod vocabulary;

pub use file::{PolicyError, PolicyFile};
pub use vocabulary::{Flag, Offence, ReleaseField};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Country;

/// Who is asking, why, about whom: what a decision depends on.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    /// The requesting node's id.
    pub partner: &'a str,
    pub offence: Offence,
    /// The data subject's nationality (ISO alpha-2) as the owning agency's record has it.
    pub subject_nationality: Option<&'a str>,
    /// Conditions the request carries (a court order).
    pub flags: &'a BTreeSet<Flag>,
}

/// What the policy allows for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Fields that may be released (of those requested).
    pub release: BTreeSet<ReleaseField>,
    /// Requested fields that may not, each with the reason, naming the rule.
    pub withheld: BTreeMap<ReleaseField, String>,
    /// How long the receiver may keep what is released; the shortest of the rules that
    /// released something, or the policy's default.
    pub retention_days: u32,
}

/// A loaded, checked policy for a node of `country`.
#[derive(Debug, Clone)]
pub struct Policy {
    country: Country,
    file: PolicyFile,
}

impl Policy {
    /// Parses and checks a policy for a node of `country`; errors name the rule and the key.
    pub fn from_toml(text: &str, country: Country) -> Result<Policy, PolicyError> {
        let file = PolicyFile::parse(text)?;
        Ok(Policy { country, file })
    }

    pub fn default_retention_days(&self) -> u32 {
        self.file.defaults.retention_days
    }

    /// Which of `requested` the policy allows for `ctx`.
    pub fn decide(&self, ctx: &RequestContext<'_>, requested: &BTreeSet<ReleaseField>) -> Decision {
        let mut allowed: BTreeSet<ReleaseField> = BTreeSet::new();
        let mut withheld: BTreeMap<ReleaseField, String> = BTreeMap::new();
        let mut retention: Option<u32> = None;
        let own = ctx.subject_nationality == Some(country_code(self.country));
        for (i, rule) in self.file.rules.iter().enumerate() {
            if !rule.applies(ctx, own) {
                continue;
            }
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| format!("rule {}", i + 1));
            let conditions_met = rule.requires.iter().all(|f| ctx.flags.contains(f));
            // Withholding applies unless its own conditions (a court order) are met.
            let unless_met =
                !rule.unless.is_empty() && rule.unless.iter().all(|f| ctx.flags.contains(f));
            if !unless_met {
                for f in requested.iter().filter(|f| rule.withhold_covers(**f)) {
                    withheld
                        .entry(*f)
                        .or_insert_with(|| format!("withheld by {name}"));
                }
            }
            if conditions_met {
                let released: Vec<ReleaseField> = requested
                    .iter()
                    .copied()
                    .filter(|f| rule.release.contains(f))
                    .collect();
                if !released.is_empty() {
                    let days = rule
                        .retention_days
                        .unwrap_or(self.file.defaults.retention_days);
                    retention = Some(retention.map_or(days, |r| r.min(days)));
                }
                allowed.extend(released);
            }
        }
        let mut release = BTreeSet::new();
        for f in requested {
            if withheld.contains_key(f) {
                continue;
            }
            if allowed.contains(f) {
                release.insert(*f);
            } else {
                withheld.insert(
                    *f,
                    "no rule releases it to this partner for this purpose".into(),
                );
            }
        }
        Decision {
            release,
            withheld,
            retention_days: retention.unwrap_or(self.file.defaults.retention_days),
        }
    }
}

fn country_code(c: Country) -> &'static str {
    match c {
        Country::US => "US",
        Country::MX => "MX",
        Country::GT => "GT",
    }
}

#[cfg(test)]
mod tests;
