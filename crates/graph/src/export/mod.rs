//! Exports: GraphML, GEXF 1.3 with time spells (for Gephi), CSV node and edge lists, and JSON
//! for a UI. Each takes optional per-node columns (a community, a PageRank score) so an analysis
//! travels with the graph.
//!
//! What a partner released travels with its `partner` and `handling` code. Nothing under handling
//! code H2 (no onward sharing) may leave: every writer refuses a graph that holds any
//! ([`GraphError::Restricted`]); export [`Graph::shareable`] instead, which leaves it out.

mod gexf;
mod graphml;
mod tabular;

pub use gexf::write_gexf;
pub use graphml::write_graphml;
pub use tabular::{to_json, write_edges_csv, write_json, write_nodes_csv};

use chrono::{DateTime, SecondsFormat};

use crate::error::{GraphError, Result};
use crate::graph::Graph;

/// Values of a per-node column.
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    Int(&'a [u32]),
    Float(&'a [f64]),
}

/// A named per-node column, one value per node index.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    pub name: &'a str,
    pub values: Values<'a>,
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self.values {
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
        }
    }

    fn text(&self, i: usize) -> String {
        match self.values {
            Values::Int(v) => v[i].to_string(),
            Values::Float(v) => v[i].to_string(),
        }
    }
}

/// Refuses a graph holding anything under handling code H2.
fn check_shareable(g: &Graph) -> Result<()> {
    let r = g.restricted();
    if r.is_empty() {
        Ok(())
    } else {
        Err(GraphError::Restricted {
            nodes: r.nodes,
            edges: r.edges,
        })
    }
}

/// The partner and handling code of released data, or `None` for the node's own.
fn node_origin(n: &crate::graph::Node) -> Option<(&str, &'static str)> {
    n.origin
        .as_deref()
        .map(|o| (o.partner.as_str(), o.handling.as_str()))
}

fn edge_origin<'g>(g: &'g Graph, e: &crate::graph::Edge) -> Option<(&'g str, &'static str)> {
    g.origin(e)
        .map(|o| (o.partner.as_str(), o.handling.as_str()))
}

fn check_columns(g: &Graph, columns: &[Column<'_>]) -> Result<()> {
    check_shareable(g)?;
    for c in columns {
        if c.len() != g.node_count() {
            return Err(GraphError::PartitionLength {
                expected: g.node_count(),
                got: c.len(),
            });
        }
    }
    Ok(())
}

/// Seconds since the epoch as an ISO 8601 UTC timestamp.
pub fn iso_time(t: i64) -> Result<String> {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .ok_or_else(|| GraphError::InvalidParameter {
            name: "time",
            reason: format!("{t} seconds is outside the representable dates"),
        })
}

/// Escapes text for XML attribute values and element content.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_times() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(iso_time(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(86_400 * 365).unwrap(), "1971-01-01T00:00:00Z");
        assert!(iso_time(i64::MAX).is_err());
    }
}
