//! Reading plain edge lists (published network data, analyst exports).

use std::io::BufRead;

use crate::error::{GraphError, Result};
use crate::graph::{EdgeKind, Graph, Node, NodeKind, Update};

/// Reads an undirected edge list: one `a b` or `a b weight` per line, separated by spaces, tabs
/// or a comma; blank lines and lines starting with `#` are skipped. Every id becomes a node of
/// `kind`, every line an edge of `edge_kind`. A malformed line is an error naming its number.
pub fn read_edge_list(reader: impl BufRead, kind: NodeKind, edge_kind: EdgeKind) -> Result<Graph> {
    let mut up = Update::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|f| !f.is_empty())
            .collect();
        let parse_err = |reason: String| GraphError::Parse {
            line: i + 1,
            reason,
        };
        let weight = match fields.len() {
            2 => 1.0,
            3 => fields[2]
                .parse::<f64>()
                .map_err(|e| parse_err(format!("weight {:?}: {e}", fields[2])))?,
            k => return Err(parse_err(format!("expected 2 or 3 fields, found {k}"))),
        };
        up.node(Node::new(fields[0], kind));
        up.node(Node::new(fields[1], kind));
        up.edge_with(fields[0], fields[1], edge_kind, weight, None);
    }
    up.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs_and_weights_and_reports_bad_lines() {
        let g = read_edge_list(
            "# comment\n0 1\n1\t2 2.5\n\n2,0\n".as_bytes(),
            NodeKind::Person,
            EdgeKind::Associated,
        )
        .unwrap();
        assert_eq!((g.node_count(), g.edge_count()), (3, 3));
        assert_eq!(g.edges()[1].weight, 2.5);
        let err = read_edge_list("0 1\n0 1 x\n".as_bytes(), NodeKind::Person, EdgeKind::Used)
            .unwrap_err();
        assert!(matches!(err, GraphError::Parse { line: 2, .. }), "{err}");
        let err = read_edge_list("4 4\n".as_bytes(), NodeKind::Person, EdgeKind::Used).unwrap_err();
        assert!(matches!(err, GraphError::SelfLoop(_)));
        assert!(matches!(
            read_edge_list("".as_bytes(), NodeKind::Person, EdgeKind::Used),
            Err(GraphError::Empty(_))
        ));
    }
}
