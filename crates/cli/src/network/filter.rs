//! The filters `path`, `ego` and `export` take: keep nodes and edges by kind, country and time
//! window before the command runs, so an analyst can ask for, say, only persons, phones and
//! vehicles seen in Mexico and Guatemala in 2024.

use anyhow::{Result, bail};
use clap::Args;
use enlace_graph::{Country, EdgeKind, Filter, Graph, NodeKind};

/// Seconds in a day.
const DAY: i64 = 86_400;

#[derive(Args, Clone, Default)]
pub struct FilterArgs {
    /// Keep only nodes of these kinds (comma-separated: person,phone,vehicle,address,account,
    /// organisation,document,encounter,crossing,case,transfer).
    #[arg(long, value_delimiter = ',')]
    pub node_kinds: Vec<String>,
    /// Keep only edges of these kinds (comma-separated: used,owned,lived_at,paid,involved_in,
    /// travelled_with,matched_across_border,released_by_partner,member_of,associated).
    #[arg(long, value_delimiter = ',')]
    pub edge_kinds: Vec<String>,
    /// Keep only nodes of these countries (comma-separated: US,MX,GT); nodes without a country
    /// (a phone, an account) stay, so the persons they tie stay tied.
    #[arg(long, value_delimiter = ',')]
    pub countries: Vec<String>,
    /// Drop dated nodes and edges before this day (YYYY-MM-DD); undated ones stay.
    #[arg(long)]
    pub dated_from: Option<chrono::NaiveDate>,
    /// Drop dated nodes and edges after this day (YYYY-MM-DD); undated ones stay.
    #[arg(long)]
    pub dated_until: Option<chrono::NaiveDate>,
}

impl FilterArgs {
    /// The filter asked for, or `None` when no option was given.
    pub fn filter(&self) -> Result<Option<Filter>> {
        let given = !self.node_kinds.is_empty()
            || !self.edge_kinds.is_empty()
            || !self.countries.is_empty()
            || self.dated_from.is_some()
            || self.dated_until.is_some();
        if !given {
            return Ok(None);
        }
        let parse = |what: &str, values: &[String]| -> Result<Vec<String>> {
            values
                .iter()
                .map(|v| {
                    let v = v.trim();
                    if v.is_empty() {
                        bail!("--{what}: an empty value");
                    }
                    Ok(v.to_owned())
                })
                .collect()
        };
        let node_kinds = parse("node-kinds", &self.node_kinds)?
            .iter()
            .map(|k| k.parse::<NodeKind>().map_err(|_| unknown("node-kinds", k)))
            .collect::<Result<_>>()?;
        let edge_kinds = parse("edge-kinds", &self.edge_kinds)?
            .iter()
            .map(|k| k.parse::<EdgeKind>().map_err(|_| unknown("edge-kinds", k)))
            .collect::<Result<_>>()?;
        let countries = parse("countries", &self.countries)?
            .iter()
            .map(|c| {
                c.to_ascii_uppercase()
                    .parse::<Country>()
                    .map_err(|_| unknown("countries", c))
            })
            .collect::<Result<_>>()?;
        let start = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        let from = self.dated_from.and_then(start);
        let to = self.dated_until.and_then(start).map(|t| t + DAY - 1);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            bail!("--dated-from is after --dated-until");
        }
        Ok(Some(Filter {
            node_kinds,
            edge_kinds,
            countries,
            keep_stateless: true,
            from,
            to,
        }))
    }

    /// `g` with the filter applied (as it is when none was asked for).
    pub fn apply(&self, g: Graph) -> Result<Graph> {
        Ok(match self.filter()? {
            Some(f) => g.filter(&f)?,
            None => g,
        })
    }
}

/// A kind or country not known: the value is the analyst's own word, not data, so it is named.
fn unknown(option: &str, value: &str) -> anyhow::Error {
    anyhow::anyhow!("--{option}: unknown value '{value}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_graph::{Node, Update};

    fn graph() -> Graph {
        let mut up = Update::new();
        up.node(Node::new("person:a", NodeKind::Person).country(Country::Mx))
            .node(Node::new("person:b", NodeKind::Person).country(Country::Us))
            .node(Node::new("phone:1", NodeKind::Phone))
            .node(Node::new("event:e", NodeKind::Encounter).at(1_700_000_000))
            .edge("person:a", "phone:1", EdgeKind::Used)
            .edge("person:b", "phone:1", EdgeKind::Used)
            .edge("person:a", "event:e", EdgeKind::InvolvedIn);
        up.build().unwrap()
    }

    #[test]
    fn no_option_is_no_filter_and_each_option_narrows() {
        assert!(FilterArgs::default().filter().unwrap().is_none());
        let g = graph();
        let mx = FilterArgs {
            countries: vec!["mx".into()],
            ..FilterArgs::default()
        };
        // The US person goes; the phone, with no country, stays.
        let kept = mx.apply(g.clone()).unwrap();
        assert!(kept.ix("person:b").is_err());
        assert!(kept.ix("phone:1").is_ok() && kept.ix("event:e").is_ok());
        let persons = FilterArgs {
            node_kinds: vec!["person".into(), "phone".into()],
            ..FilterArgs::default()
        };
        assert_eq!(persons.apply(g.clone()).unwrap().node_count(), 3);
        let before = FilterArgs {
            dated_until: chrono::NaiveDate::from_ymd_opt(2023, 1, 1),
            ..FilterArgs::default()
        };
        assert!(before.apply(g.clone()).unwrap().ix("event:e").is_err());
        let bad = FilterArgs {
            node_kinds: vec!["spaceship".into()],
            ..FilterArgs::default()
        };
        let err = bad.filter().unwrap_err().to_string();
        assert!(
            err.contains("--node-kinds") && err.contains("spaceship"),
            "{err}"
        );
    }
}
