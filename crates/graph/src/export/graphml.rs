use std::io::Write;

use super::{Column, Values, check_columns, edge_origin, iso_time, node_origin, xml_escape};
use crate::error::Result;
use crate::graph::Graph;

/// Writes GraphML: one `<node>` per node with kind, country, label, time and the extra columns;
/// one `<edge>` per typed edge with kind, weight and time; released nodes and edges also carry
/// their partner and handling code.
pub fn write_graphml(g: &Graph, columns: &[Column<'_>], mut out: impl Write) -> Result<()> {
    check_columns(g, columns)?;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
    )?;
    for name in ["kind", "country", "label", "time", "partner", "handling"] {
        writeln!(
            out,
            r#"  <key id="n_{name}" for="node" attr.name="{name}" attr.type="string"/>"#
        )?;
    }
    for (i, c) in columns.iter().enumerate() {
        let ty = match c.values {
            Values::Int(_) => "long",
            Values::Float(_) => "double",
        };
        writeln!(
            out,
            r#"  <key id="n_x{i}" for="node" attr.name="{}" attr.type="{ty}"/>"#,
            xml_escape(c.name)
        )?;
    }
    writeln!(
        out,
        r#"  <key id="e_kind" for="edge" attr.name="kind" attr.type="string"/>"#
    )?;
    writeln!(
        out,
        r#"  <key id="e_weight" for="edge" attr.name="weight" attr.type="double"/>"#
    )?;
    for name in ["time", "partner", "handling"] {
        writeln!(
            out,
            r#"  <key id="e_{name}" for="edge" attr.name="{name}" attr.type="string"/>"#
        )?;
    }
    writeln!(out, r#"  <graph id="G" edgedefault="undirected">"#)?;
    for (i, n) in g.nodes().iter().enumerate() {
        writeln!(out, r#"    <node id="{}">"#, xml_escape(&n.id))?;
        writeln!(out, r#"      <data key="n_kind">{}</data>"#, n.kind)?;
        if let Some(c) = n.country {
            writeln!(out, r#"      <data key="n_country">{c}</data>"#)?;
        }
        if let Some(l) = &n.label {
            writeln!(out, r#"      <data key="n_label">{}</data>"#, xml_escape(l))?;
        }
        if let Some(t) = n.time {
            writeln!(out, r#"      <data key="n_time">{}</data>"#, iso_time(t)?)?;
        }
        if let Some((partner, handling)) = node_origin(n) {
            writeln!(
                out,
                r#"      <data key="n_partner">{}</data>"#,
                xml_escape(partner)
            )?;
            writeln!(out, r#"      <data key="n_handling">{handling}</data>"#)?;
        }
        for (k, c) in columns.iter().enumerate() {
            writeln!(out, r#"      <data key="n_x{k}">{}</data>"#, c.text(i))?;
        }
        writeln!(out, "    </node>")?;
    }
    for (i, e) in g.edges().iter().enumerate() {
        writeln!(
            out,
            r#"    <edge id="e{i}" source="{}" target="{}">"#,
            xml_escape(&g.nodes()[e.src as usize].id),
            xml_escape(&g.nodes()[e.dst as usize].id)
        )?;
        writeln!(out, r#"      <data key="e_kind">{}</data>"#, e.kind)?;
        writeln!(out, r#"      <data key="e_weight">{}</data>"#, e.weight)?;
        if let Some(t) = e.time {
            writeln!(out, r#"      <data key="e_time">{}</data>"#, iso_time(t)?)?;
        }
        if let Some((partner, handling)) = edge_origin(g, e) {
            writeln!(
                out,
                r#"      <data key="e_partner">{}</data>"#,
                xml_escape(partner)
            )?;
            writeln!(out, r#"      <data key="e_handling">{handling}</data>"#)?;
        }
        writeln!(out, "    </edge>")?;
    }
    writeln!(out, "  </graph>\n</graphml>")?;
    Ok(())
}
