//! A saved analysis directory: the graph `enlace network build` wrote (`DIR/graph/`) and the
//! analyses left beside it (`communities.csv`, `centrality.csv`). Both the command line and the
//! node's web UI read it, so the reading (and the dropping of expired releases) lives here once.

use std::path::{Path, PathBuf};

use crate::error::{GraphError, Result};
use crate::export::{Column, Values};
use crate::graph::{Graph, Restricted};
use crate::persist;

/// The saved graph, inside the build's output directory.
pub const GRAPH_DIR: &str = "graph";
/// `id,community` of every node, from the last `communities` run.
pub const COMMUNITIES_FILE: &str = "communities.csv";
/// Degree, PageRank and betweenness of every node, from the last `centrality` run.
pub const CENTRALITY_FILE: &str = "centrality.csv";

/// Per-node centrality scores, in node index order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Centrality {
    pub degree: Vec<u32>,
    pub pagerank: Vec<f64>,
    pub betweenness: Vec<f64>,
}

impl Centrality {
    /// The scores of the nodes `keep` names (indices into the graph these scores describe).
    pub fn select(&self, keep: &[usize]) -> Centrality {
        Centrality {
            degree: keep.iter().map(|&i| self.degree[i]).collect(),
            pagerank: keep.iter().map(|&i| self.pagerank[i]).collect(),
            betweenness: keep.iter().map(|&i| self.betweenness[i]).collect(),
        }
    }
}

/// What loading dropped: released data whose retention had ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub nodes: usize,
    pub edges: usize,
}

/// An analysis directory (the `--out` of `build`, the `--graph` of the other commands).
#[derive(Debug, Clone)]
pub struct SavedDir {
    dir: PathBuf,
}

impl SavedDir {
    pub fn new(dir: impl Into<PathBuf>) -> SavedDir {
        SavedDir { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn graph_dir(&self) -> PathBuf {
        self.dir.join(GRAPH_DIR)
    }

    /// Whether a graph has been saved here.
    pub fn exists(&self) -> bool {
        persist::exists(&self.graph_dir())
    }

    /// The saved graph, without what partners released whose retention ended before `now`:
    /// that is dropped from the saved graph for good (and the analyses of the graph that held
    /// it removed) before anything reads it, so expired data never comes back.
    pub fn load(&self, now: i64) -> Result<(Graph, Option<Pruned>)> {
        let dir = self.graph_dir();
        let g = persist::load(&dir)?;
        let Some((pruned, dropped)) = g.without_released(|o| o.expired(now))? else {
            return Ok((g, None));
        };
        persist::save(&pruned, &dir)?;
        self.remove_analyses()?;
        Ok((
            pruned,
            Some(Pruned {
                nodes: dropped.nodes,
                edges: dropped.edges,
            }),
        ))
    }

    /// Removes `communities.csv` and `centrality.csv`, which no longer describe a changed graph.
    pub fn remove_analyses(&self) -> Result<()> {
        for stale in [COMMUNITIES_FILE, CENTRALITY_FILE] {
            let p = self.file(stale);
            if p.exists() {
                std::fs::remove_file(&p)?;
            }
        }
        Ok(())
    }

    /// Reads `communities.csv` when present; an error when it does not match the graph.
    pub fn communities(&self, g: &Graph) -> Result<Option<Vec<u32>>> {
        let path = self.file(COMMUNITIES_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let mut r = csv::Reader::from_path(&path)?;
        let mut m = vec![u32::MAX; g.node_count()];
        for (i, row) in r.records().enumerate() {
            let line = i + 2;
            let row = row?;
            let bad = |reason: &str| GraphError::Parse {
                line,
                reason: format!("{COMMUNITIES_FILE}: {reason}; rerun communities"),
            };
            let (Some(id), Some(c)) = (row.get(0), row.get(1)) else {
                return Err(bad("expected id,community"));
            };
            // The id is not echoed: it may name a phone.
            let ix = g.ix(id).map_err(|_| bad("a node not in the graph"))?;
            m[ix as usize] = c.parse().map_err(|_| bad("community is not a number"))?;
        }
        if m.contains(&u32::MAX) {
            return Err(GraphError::Parse {
                line: 0,
                reason: format!("{COMMUNITIES_FILE} does not cover every node; rerun communities"),
            });
        }
        Ok(Some(m))
    }

    /// Writes `communities.csv` for `g`.
    pub fn write_communities(&self, g: &Graph, membership: &[u32]) -> Result<()> {
        let mut w = csv::Writer::from_path(self.file(COMMUNITIES_FILE))?;
        w.write_record(["id", "community"])?;
        for (n, c) in g.nodes().iter().zip(membership) {
            w.write_record([n.id.as_str(), &c.to_string()])?;
        }
        w.flush()?;
        Ok(())
    }

    /// Reads `centrality.csv` when present; an error when it does not match the graph.
    pub fn centrality(&self, g: &Graph) -> Result<Option<Centrality>> {
        let path = self.file(CENTRALITY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let n = g.node_count();
        let mut c = Centrality {
            degree: vec![0; n],
            pagerank: vec![0.0; n],
            betweenness: vec![0.0; n],
        };
        let mut seen = 0;
        let mut r = csv::Reader::from_path(&path)?;
        for (i, row) in r.records().enumerate() {
            let line = i + 2;
            let row = row?;
            let bad = || GraphError::Parse {
                line,
                reason: format!("{CENTRALITY_FILE}: malformed row; rerun centrality"),
            };
            let ix = g.ix(row.get(0).unwrap_or("")).map_err(|_| bad())? as usize;
            c.degree[ix] = row.get(2).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            c.pagerank[ix] = row.get(3).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            c.betweenness[ix] = row.get(4).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            seen += 1;
        }
        if seen != n {
            return Err(GraphError::Parse {
                line: 0,
                reason: format!("{CENTRALITY_FILE} does not cover the graph; rerun centrality"),
            });
        }
        Ok(Some(c))
    }

    /// Writes `centrality.csv` for `g`.
    pub fn write_centrality(&self, g: &Graph, c: &Centrality) -> Result<()> {
        let mut w = csv::Writer::from_path(self.file(CENTRALITY_FILE))?;
        w.write_record(["id", "kind", "degree", "pagerank", "betweenness"])?;
        for (i, n) in g.nodes().iter().enumerate() {
            w.write_record([
                n.id.as_str(),
                n.kind.as_str(),
                &c.degree[i].to_string(),
                &c.pagerank[i].to_string(),
                &c.betweenness[i].to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }
}

/// A graph fit to leave the node in a file: `g` without what partners released under handling
/// code H2, with the per-node analyses cut to the nodes that stay.
pub struct Shareable<'a> {
    pub graph: std::borrow::Cow<'a, Graph>,
    pub left_out: Restricted,
    pub communities: Option<Vec<u32>>,
    pub centrality: Option<Centrality>,
}

impl Shareable<'_> {
    /// The analyses as export columns: community, PageRank and betweenness, where computed.
    pub fn columns(&self) -> Vec<Column<'_>> {
        let mut cols = Vec::new();
        if let Some(m) = &self.communities {
            cols.push(Column {
                name: "community",
                values: Values::Int(m),
            });
        }
        if let Some(c) = &self.centrality {
            cols.push(Column {
                name: "pagerank",
                values: Values::Float(&c.pagerank),
            });
            cols.push(Column {
                name: "betweenness",
                values: Values::Float(&c.betweenness),
            });
        }
        cols
    }
}

/// [`Graph::shareable`] with the analyses following the nodes that stay.
pub fn shareable<'a>(
    full: &'a Graph,
    communities: Option<&[u32]>,
    centrality: Option<&Centrality>,
) -> Result<Shareable<'a>> {
    let (graph, left_out) = full.shareable()?;
    let keep: Vec<usize> = graph
        .nodes()
        .iter()
        .map(|n| full.ix(&n.id).map(|i| i as usize))
        .collect::<Result<_>>()?;
    Ok(Shareable {
        communities: communities.map(|m| keep.iter().map(|&i| m[i]).collect()),
        centrality: centrality.map(|c| c.select(&keep)),
        graph,
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeKind, Node, NodeKind, Update};

    fn small() -> Graph {
        let mut up = Update::new();
        up.node(Node::new("person:a", NodeKind::Person))
            .node(Node::new("person:b", NodeKind::Person))
            .node(Node::new("phone:1", NodeKind::Phone))
            .edge("person:a", "phone:1", EdgeKind::Used)
            .edge("person:b", "phone:1", EdgeKind::Used);
        up.build().unwrap()
    }

    #[test]
    fn analyses_round_trip_and_a_stale_file_is_refused() {
        let tmp = std::env::temp_dir().join(format!("enlace-saved-{}", std::process::id()));
        let d = SavedDir::new(&tmp);
        std::fs::create_dir_all(d.dir()).unwrap();
        let g = small();
        persist::save(&g, &d.graph_dir()).unwrap();
        assert!(d.exists());
        assert_eq!(d.communities(&g).unwrap(), None);
        d.write_communities(&g, &[0, 0, 1]).unwrap();
        let c = Centrality {
            degree: vec![1, 1, 2],
            pagerank: vec![0.25, 0.25, 0.5],
            betweenness: vec![0.0, 0.0, 1.0],
        };
        d.write_centrality(&g, &c).unwrap();
        let (loaded, pruned) = d.load(0).unwrap();
        assert!(pruned.is_none());
        assert_eq!(d.communities(&loaded).unwrap(), Some(vec![0, 0, 1]));
        assert_eq!(d.centrality(&loaded).unwrap(), Some(c.clone()));
        assert_eq!(c.select(&[2]).degree, vec![2]);
        // A communities file short of a node no longer describes the graph.
        d.write_communities(&g, &[0, 0]).unwrap();
        assert!(d.communities(&g).is_err());
        d.remove_analyses().unwrap();
        assert_eq!(d.centrality(&g).unwrap(), None);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
