//! Saving a graph to a directory and reading it back, so `build` can persist what it made and
//! later commands (and incremental builds) start from it instead of re-reading the sources.
//!
//! Three CSV files: `nodes.csv` (`id,kind,country,label,time,origin`, in index order, times as
//! seconds since the epoch), `edges.csv` (`src,dst,kind,weight,time,origin`, ends as node
//! indices) and `origins.csv` (`origin,partner,handling,release,retain_until`: the provenance of
//! what partners released, which the `origin` columns name by number; empty for the node's own
//! data). Plain CSV keeps the files readable with ordinary tools; indices instead of ids keep the
//! edge file small and the reload free of id lookups. Graphs saved before releases existed
//! (five columns, no `origins.csv`) still load. Each file is written with [`write_atomic`] (a
//! temporary file beside it, synced, renamed into place, the directory synced), so an
//! interrupted save leaves the previous files whole.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::csr::NodeIx;
use crate::error::{GraphError, Result};
use crate::graph::{Country, Edge, Graph, Node, OriginIx, Provenance};
use crate::io::write_atomic;

/// File names inside a saved graph's directory.
pub const NODES_FILE: &str = "nodes.csv";
pub const EDGES_FILE: &str = "edges.csv";
pub const ORIGINS_FILE: &str = "origins.csv";

const NODE_HEADER: [&str; 6] = ["id", "kind", "country", "label", "time", "origin"];
const EDGE_HEADER: [&str; 6] = ["src", "dst", "kind", "weight", "time", "origin"];
const ORIGIN_HEADER: [&str; 5] = ["origin", "partner", "handling", "release", "retain_until"];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Writes `g` into `dir` (created if missing).
pub fn save(g: &Graph, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    // The edges' provenances, then those only nodes name.
    let mut origins: Vec<Provenance> = g.origins().to_vec();
    let mut number: FxHashMap<Provenance, usize> = origins
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i))
        .collect();
    let mut node_origin = Vec::with_capacity(g.node_count());
    for n in g.nodes() {
        node_origin.push(n.origin.as_deref().map(|p| {
            *number.entry(p.clone()).or_insert_with(|| {
                origins.push(p.clone());
                origins.len() - 1
            })
        }));
    }
    write_atomic(&dir.join(ORIGINS_FILE), |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(ORIGIN_HEADER)?;
        for (i, p) in origins.iter().enumerate() {
            w.write_record([
                &i.to_string(),
                p.partner.as_str(),
                p.handling.as_str(),
                p.release.as_str(),
                &opt(p.retain_until),
            ])?;
        }
        w.flush()?;
        Ok(())
    })?;
    write_atomic(&dir.join(NODES_FILE), |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(NODE_HEADER)?;
        for (n, o) in g.nodes().iter().zip(&node_origin) {
            w.write_record([
                n.id.as_str(),
                n.kind.as_str(),
                n.country.map(Country::as_str).unwrap_or(""),
                n.label.as_deref().unwrap_or(""),
                &opt(n.time),
                &opt(*o),
            ])?;
        }
        w.flush()?;
        Ok(())
    })?;
    write_atomic(&dir.join(EDGES_FILE), |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(EDGE_HEADER)?;
        for e in g.edges() {
            w.write_record([
                &e.src.to_string(),
                &e.dst.to_string(),
                e.kind.as_str(),
                &e.weight.to_string(),
                &opt(e.time),
                &opt(e.origin.map(OriginIx::index)),
            ])?;
        }
        w.flush()?;
        Ok(())
    })
}

/// Whether `dir` holds a saved graph.
pub fn exists(dir: &Path) -> bool {
    dir.join(NODES_FILE).is_file() && dir.join(EDGES_FILE).is_file()
}

/// Reads a graph written by [`save`]. A malformed row is an error naming the file and line.
pub fn load(dir: &Path) -> Result<Graph> {
    let origins_path = dir.join(ORIGINS_FILE);
    let origins: Vec<Provenance> = if origins_path.is_file() {
        read_rows(&origins_path, &ORIGIN_HEADER, |r| {
            Ok(Provenance {
                partner: r[1].to_owned(),
                handling: r[2].parse()?,
                release: r[3].to_owned(),
                retain_until: parse_time(&r[4])?,
            })
        })?
    } else {
        Vec::new()
    };
    let origin_at = |s: &str| -> Result<Option<usize>> {
        if s.is_empty() {
            return Ok(None);
        }
        let i: usize = s.parse().map_err(|e| GraphError::InvalidParameter {
            name: "origin",
            reason: format!("{s:?}: {e}"),
        })?;
        if i >= origins.len() {
            return Err(GraphError::InvalidParameter {
                name: "origin",
                reason: format!("{i} is not in {ORIGINS_FILE}"),
            });
        }
        Ok(Some(i))
    };
    let nodes = read_rows(&dir.join(NODES_FILE), &NODE_HEADER, |r| {
        let kind = r[1].parse()?;
        let country = if r[2].is_empty() {
            None
        } else {
            Some(r[2].parse()?)
        };
        Ok(Node {
            id: r[0].to_owned(),
            kind,
            country,
            label: (!r[3].is_empty()).then(|| r[3].to_owned()),
            time: parse_time(&r[4])?,
            origin: match r.get(5) {
                Some(o) => origin_at(o)?.map(|i| Box::new(origins[i].clone())),
                None => None,
            },
        })
    })?;
    let edges = read_rows(&dir.join(EDGES_FILE), &EDGE_HEADER, |r| {
        let ix = |s: &str| -> Result<NodeIx> {
            s.parse().map_err(|e| GraphError::InvalidParameter {
                name: "node index",
                reason: format!("{s:?}: {e}"),
            })
        };
        Ok(Edge {
            src: ix(&r[0])?,
            dst: ix(&r[1])?,
            kind: r[2].parse()?,
            weight: r[3].parse().map_err(|e| GraphError::InvalidParameter {
                name: "weight",
                reason: format!("{:?}: {e}", &r[3]),
            })?,
            time: parse_time(&r[4])?,
            origin: match r.get(5) {
                Some(o) => origin_at(o)?.and_then(OriginIx::from_index),
                None => None,
            },
        })
    })?;
    Graph::from_indexed_with_origins(nodes, edges, origins)
}

fn parse_time(s: &str) -> Result<Option<i64>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|e| GraphError::InvalidParameter {
            name: "time",
            reason: format!("{s:?}: {e}"),
        })
}

/// Rows of a file whose header is `header`, or (files saved before releases existed) all of it
/// but its last column.
fn read_rows<T>(
    path: &Path,
    header: &[&str],
    parse: impl Fn(&csv::StringRecord) -> Result<T>,
) -> Result<Vec<T>> {
    let file = File::open(path)?;
    let mut r = csv::Reader::from_reader(BufReader::with_capacity(1 << 20, file));
    let found: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
    let older = header.len() == 6 && found == header[..5];
    if found != header && !older {
        return Err(GraphError::Parse {
            line: 1,
            reason: format!("{}: expected the header {header:?}", path.display()),
        });
    }
    let width = found.len();
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    while r.read_record(&mut rec)? {
        line += 1;
        if rec.len() != width {
            return Err(GraphError::Parse {
                line,
                reason: format!("{}: expected {width} fields", path.display()),
            });
        }
        out.push(parse(&rec).map_err(|e| GraphError::Parse {
            line,
            reason: format!("{}: {e}", path.display()),
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeKind, NodeKind, Update};

    #[test]
    fn a_saved_graph_reads_back_equal() {
        let mut up = Update::new();
        up.node(
            Node::new("p,1", NodeKind::Person)
                .country(Country::Mx)
                .label("two \"records\""),
        )
        .node(Node::new("e1", NodeKind::Crossing).at(1_600_000_000))
        .node(Node::new("ph", NodeKind::Phone))
        .edge_with("p,1", "e1", EdgeKind::InvolvedIn, 1.0, Some(1_600_000_000))
        .edge_with("p,1", "ph", EdgeKind::Used, 2.5, None);
        let g = up.build().unwrap();
        let dir = tempfile_dir();
        save(&g, &dir).unwrap();
        assert!(exists(&dir));
        // Saved twice over: only the two files, no temporary ones left beside them.
        save(&g, &dir).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, [EDGES_FILE, NODES_FILE, ORIGINS_FILE]);
        let back = load(&dir).unwrap();
        assert_eq!(back.nodes(), g.nodes());
        assert_eq!(back.edges(), g.edges());
        assert_eq!(back.adjacency(), g.adjacency());
        for u in 0..g.node_count() as NodeIx {
            assert_eq!(back.incident(u), g.incident(u));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn released_data_keeps_its_provenance_and_old_files_still_load() {
        use crate::graph::Handling;
        let origin = |h: Handling, r: &str| Provenance {
            partner: "gt-a".into(),
            handling: h,
            release: r.into(),
            retain_until: Some(1_900_000_000),
        };
        let mut up = Update::new();
        up.node(Node::new("p", NodeKind::Person))
            .node(Node::new("ph", NodeKind::Phone).released(origin(Handling::H2, "r1")))
            .node(Node::new("doc", NodeKind::Document).released(origin(Handling::H0, "r9")))
            .edge("p", "doc", EdgeKind::Associated)
            .released_edge(
                "p",
                "ph",
                EdgeKind::ReleasedByPartner,
                Some(5),
                origin(Handling::H2, "r1"),
            );
        let g = up.build().unwrap();
        let dir = tempfile_dir();
        save(&g, &dir).unwrap();
        let back = load(&dir).unwrap();
        assert_eq!(back.nodes(), g.nodes());
        assert_eq!(back.edges(), g.edges());
        assert_eq!(&back.origins()[..g.origins().len()], g.origins());
        assert_eq!(
            back.origin(&back.edges()[1]).map(|o| o.handling),
            Some(Handling::H2)
        );
        // A node-only provenance (r9) is saved too.
        let text = std::fs::read_to_string(dir.join(ORIGINS_FILE)).unwrap();
        assert!(text.contains("r9"), "{text}");

        // A graph saved before releases existed: five columns, no origins file.
        std::fs::remove_file(dir.join(ORIGINS_FILE)).unwrap();
        std::fs::write(
            dir.join(NODES_FILE),
            "id,kind,country,label,time\na,person,MX,,\nb,phone,,,\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(EDGES_FILE),
            "src,dst,kind,weight,time\n0,1,used,1,7\n",
        )
        .unwrap();
        let old = load(&dir).unwrap();
        assert_eq!(old.edge_count(), 1);
        assert!(old.edges()[0].origin.is_none());
        // An origin number the table lacks is an error, not a panic.
        std::fs::write(
            dir.join(EDGES_FILE),
            "src,dst,kind,weight,time,origin\n0,1,used,1,7,3\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(NODES_FILE),
            "id,kind,country,label,time,origin\na,person,MX,,,\nb,phone,,,,\n",
        )
        .unwrap();
        assert!(matches!(load(&dir), Err(GraphError::Parse { line: 2, .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_line() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(NODES_FILE),
            "id,kind,country,label,time\na,person,,,\nb,ship,,,\n",
        )
        .unwrap();
        std::fs::write(dir.join(EDGES_FILE), "src,dst,kind,weight,time\n").unwrap();
        assert!(matches!(load(&dir), Err(GraphError::Parse { line: 3, .. })));
        std::fs::write(
            dir.join(NODES_FILE),
            "id,kind,country,label,time\na,person,,,\nb,person,,,\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(EDGES_FILE),
            "src,dst,kind,weight,time\n0,7,used,1,\n",
        )
        .unwrap();
        assert!(matches!(
            load(&dir),
            Err(GraphError::NodeOutOfRange { index: 7, .. })
        ));
        std::fs::write(
            dir.join(EDGES_FILE),
            "src,dst,kind,weight,time\n1,1,used,1,\n",
        )
        .unwrap();
        assert!(matches!(load(&dir), Err(GraphError::SelfLoop(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        std::env::temp_dir().join(format!(
            "enlace-graph-persist-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }
}
