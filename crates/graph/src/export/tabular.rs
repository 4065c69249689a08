use std::io::Write;

use serde_json::{Map, Value, json};

use super::{Column, Values, check_columns, check_shareable, edge_origin, iso_time, node_origin};
use crate::error::Result;
use crate::graph::Graph;

fn opt_time(t: Option<i64>) -> Result<String> {
    t.map(iso_time).transpose().map(Option::unwrap_or_default)
}

/// Writes the node list as CSV: `id,kind,country,label,time,partner,handling` and the extra
/// columns (`partner` and `handling` are empty for the node's own data).
pub fn write_nodes_csv(g: &Graph, columns: &[Column<'_>], out: impl Write) -> Result<()> {
    check_columns(g, columns)?;
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "id", "kind", "country", "label", "time", "partner", "handling",
    ];
    header.extend(columns.iter().map(|c| c.name));
    w.write_record(&header)?;
    for (i, n) in g.nodes().iter().enumerate() {
        let mut row = vec![
            n.id.clone(),
            n.kind.to_string(),
            n.country.map(|c| c.to_string()).unwrap_or_default(),
            n.label.clone().unwrap_or_default(),
            opt_time(n.time)?,
        ];
        let (partner, handling) = node_origin(n).unwrap_or_default();
        row.push(partner.to_owned());
        row.push(handling.to_owned());
        row.extend(columns.iter().map(|c| c.text(i)));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes the edge list as CSV: `source,target,kind,weight,time,partner,handling`, one row per
/// typed edge.
pub fn write_edges_csv(g: &Graph, out: impl Write) -> Result<()> {
    check_shareable(g)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "source", "target", "kind", "weight", "time", "partner", "handling",
    ])?;
    for e in g.edges() {
        let (partner, handling) = edge_origin(g, e).unwrap_or_default();
        w.write_record([
            g.nodes()[e.src as usize].id.as_str(),
            g.nodes()[e.dst as usize].id.as_str(),
            e.kind.as_str(),
            &e.weight.to_string(),
            &opt_time(e.time)?,
            partner,
            handling,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The graph as JSON for a UI: `{"nodes": [{id, kind, country, label, time, partner, handling,
/// ...columns}], "edges": [{source, target, kind, weight, time, partner, handling}]}`, absent
/// values as `null`, times as ISO 8601.
pub fn to_json(g: &Graph, columns: &[Column<'_>]) -> Result<Value> {
    check_columns(g, columns)?;
    let mut nodes = Vec::with_capacity(g.node_count());
    for (i, n) in g.nodes().iter().enumerate() {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(n.id));
        obj.insert("kind".into(), json!(n.kind));
        obj.insert("country".into(), json!(n.country));
        obj.insert("label".into(), json!(n.label));
        obj.insert("time".into(), json!(n.time.map(iso_time).transpose()?));
        let origin = node_origin(n);
        obj.insert("partner".into(), json!(origin.map(|o| o.0)));
        obj.insert("handling".into(), json!(origin.map(|o| o.1)));
        for c in columns {
            let v = match c.values {
                Values::Int(v) => json!(v[i]),
                Values::Float(v) => json!(v[i]),
            };
            obj.insert(c.name.to_owned(), v);
        }
        nodes.push(Value::Object(obj));
    }
    let mut edges = Vec::with_capacity(g.edge_count());
    for e in g.edges() {
        let origin = edge_origin(g, e);
        edges.push(json!({
            "source": g.nodes()[e.src as usize].id,
            "target": g.nodes()[e.dst as usize].id,
            "kind": e.kind,
            "weight": e.weight,
            "time": e.time.map(iso_time).transpose()?,
            "partner": origin.map(|o| o.0),
            "handling": origin.map(|o| o.1),
        }));
    }
    Ok(json!({ "nodes": nodes, "edges": edges }))
}

/// Writes [`to_json`] to a writer.
pub fn write_json(g: &Graph, columns: &[Column<'_>], out: impl Write) -> Result<()> {
    serde_json::to_writer(out, &to_json(g, columns)?)?;
    Ok(())
}
