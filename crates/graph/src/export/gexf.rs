use std::collections::BTreeMap;
use std::io::Write;

use super::{Column, Values, check_columns, iso_time, node_origin, xml_escape};
use crate::error::Result;
use crate::graph::{EdgeKind, Graph, OriginIx};

/// Summed weight, times seen, and whether any of the grouped edges is undated.
type Grouped = (f64, Vec<i64>, bool);

/// Writes GEXF 1.3 in dynamic mode with interval spells, which Gephi's timeline plays.
///
/// Typed edges of the same kind between the same two nodes become one GEXF edge whose weight is
/// their sum and whose spells are their distinct times, so a phone used on ten days is one edge
/// that lights up ten times. A dated node lives from the earliest to the latest of its own time
/// and its edges' times; undated nodes and edges carry no spell and are always shown. Released
/// nodes and edges carry their `partner` and `handling` code (edges of different releases stay
/// apart).
pub fn write_gexf(g: &Graph, columns: &[Column<'_>], mut out: impl Write) -> Result<()> {
    check_columns(g, columns)?;
    // Node lifetimes.
    let mut life: Vec<Option<(i64, i64)>> =
        g.nodes().iter().map(|n| n.time.map(|t| (t, t))).collect();
    let widen = |slot: &mut Option<(i64, i64)>, t: i64| {
        *slot = Some(slot.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
    };
    // Grouped edges: (low end, high end, kind) -> (weight, times, any undated).
    let mut grouped: BTreeMap<(u32, u32, EdgeKind, Option<OriginIx>), Grouped> = BTreeMap::new();
    for e in g.edges() {
        let key = (e.src.min(e.dst), e.src.max(e.dst), e.kind, e.origin);
        let entry = grouped.entry(key).or_insert((0.0, Vec::new(), false));
        entry.0 += e.weight;
        match e.time {
            Some(t) => {
                entry.1.push(t);
                widen(&mut life[e.src as usize], t);
                widen(&mut life[e.dst as usize], t);
            }
            None => entry.2 = true,
        }
    }

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<gexf xmlns="http://gexf.net/1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">"#
    )?;
    writeln!(
        out,
        "  <meta>\n    <creator>enlace-graph</creator>\n    <description>linked records network</description>\n  </meta>"
    )?;
    writeln!(
        out,
        r#"  <graph defaultedgetype="undirected" mode="dynamic" timeformat="dateTime" timerepresentation="interval">"#
    )?;
    writeln!(out, r#"    <attributes class="node" mode="static">"#)?;
    writeln!(
        out,
        r#"      <attribute id="kind" title="kind" type="string"/>"#
    )?;
    for name in ["country", "partner", "handling"] {
        writeln!(
            out,
            r#"      <attribute id="{name}" title="{name}" type="string"/>"#
        )?;
    }
    for (i, c) in columns.iter().enumerate() {
        let ty = match c.values {
            Values::Int(_) => "integer",
            Values::Float(_) => "double",
        };
        writeln!(
            out,
            r#"      <attribute id="x{i}" title="{}" type="{ty}"/>"#,
            xml_escape(c.name)
        )?;
    }
    writeln!(out, "    </attributes>")?;
    writeln!(out, r#"    <attributes class="edge" mode="static">"#)?;
    for name in ["kind", "partner", "handling"] {
        writeln!(
            out,
            r#"      <attribute id="{name}" title="{name}" type="string"/>"#
        )?;
    }
    writeln!(out, "    </attributes>")?;

    writeln!(out, "    <nodes>")?;
    for (i, n) in g.nodes().iter().enumerate() {
        let label = n.label.as_deref().unwrap_or(&n.id);
        writeln!(
            out,
            r#"      <node id="{i}" label="{}">"#,
            xml_escape(label)
        )?;
        writeln!(out, "        <attvalues>")?;
        writeln!(
            out,
            r#"          <attvalue for="kind" value="{}"/>"#,
            n.kind
        )?;
        if let Some(c) = n.country {
            writeln!(out, r#"          <attvalue for="country" value="{c}"/>"#)?;
        }
        if let Some((partner, handling)) = node_origin(n) {
            writeln!(
                out,
                r#"          <attvalue for="partner" value="{}"/>"#,
                xml_escape(partner)
            )?;
            writeln!(
                out,
                r#"          <attvalue for="handling" value="{handling}"/>"#
            )?;
        }
        for (k, c) in columns.iter().enumerate() {
            writeln!(
                out,
                r#"          <attvalue for="x{k}" value="{}"/>"#,
                c.text(i)
            )?;
        }
        writeln!(out, "        </attvalues>")?;
        if let Some((a, b)) = life[i] {
            writeln!(
                out,
                "        <spells>\n          <spell start=\"{}\" end=\"{}\"/>\n        </spells>",
                iso_time(a)?,
                iso_time(b)?
            )?;
        }
        writeln!(out, "      </node>")?;
    }
    writeln!(out, "    </nodes>")?;

    writeln!(out, "    <edges>")?;
    for (id, ((a, b, kind, origin), (weight, mut times, undated))) in
        grouped.into_iter().enumerate()
    {
        writeln!(
            out,
            r#"      <edge id="{id}" source="{a}" target="{b}" weight="{weight}" kind="{kind}">"#
        )?;
        writeln!(out, "        <attvalues>")?;
        writeln!(out, r#"          <attvalue for="kind" value="{kind}"/>"#)?;
        if let Some(o) = origin.and_then(|o| g.origins().get(o.index())) {
            writeln!(
                out,
                r#"          <attvalue for="partner" value="{}"/>"#,
                xml_escape(&o.partner)
            )?;
            writeln!(
                out,
                r#"          <attvalue for="handling" value="{}"/>"#,
                o.handling
            )?;
        }
        writeln!(out, "        </attvalues>")?;
        if !undated && !times.is_empty() {
            times.sort_unstable();
            times.dedup();
            writeln!(out, "        <spells>")?;
            for t in times {
                let at = iso_time(t)?;
                writeln!(out, r#"          <spell start="{at}" end="{at}"/>"#)?;
            }
            writeln!(out, "        </spells>")?;
        }
        writeln!(out, "      </edge>")?;
    }
    writeln!(out, "    </edges>\n  </graph>\n</gexf>")?;
    Ok(())
}
