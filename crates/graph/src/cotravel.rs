//! Co-travel: pairs of persons seen together in the same events again and again within a time
//! window, from the person–event incidences (`involved_in` edges) of a graph.

use rayon::slice::ParallelSliceMut;

use crate::csr::NodeIx;
use crate::error::{GraphError, Result};
use crate::graph::{EdgeKind, Graph, NodeKind, Update};

/// Co-travel settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoTravelConfig {
    /// Shared events needed for a pair to be reported (at least 1).
    pub min_shared: usize,
    /// Those events must fall within this many seconds of each other.
    pub window: i64,
    /// Events with more persons than this are skipped: a raid with 300 people says little about
    /// who travels with whom and would add 45,000 pairs.
    pub max_group: usize,
}

impl Default for CoTravelConfig {
    fn default() -> Self {
        CoTravelConfig {
            min_shared: 2,
            window: 365 * 24 * 3600,
            max_group: 50,
        }
    }
}

/// A pair of persons and the shared events of their busiest window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoTravel {
    pub a: NodeIx,
    pub b: NodeIx,
    /// Events in the window, in time order.
    pub events: Vec<NodeIx>,
    pub first: i64,
    pub last: i64,
}

/// What a co-travel run found and skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoTravelReport {
    /// Pairs by decreasing number of shared events, then by node index.
    pub pairs: Vec<CoTravel>,
    /// Events skipped for holding more than `max_group` persons.
    pub skipped_events: Vec<NodeIx>,
}

/// Finds pairs of persons who share at least `min_shared` events within `window` seconds.
/// An event a person is tied to must be dated; an undated one is an error naming it.
pub fn co_travel(graph: &Graph, cfg: &CoTravelConfig) -> Result<CoTravelReport> {
    if cfg.min_shared == 0 || cfg.window < 0 {
        return Err(GraphError::InvalidParameter {
            name: "co_travel",
            reason: "min_shared must be at least 1 and window non-negative".into(),
        });
    }
    let nodes = graph.nodes();
    // (event, person) incidences, then (a, b, time, event) for every pair of persons of an
    // event, sorted: flat vectors and two parallel sorts instead of a hash map of growing
    // lists, which at ten million events spent its time allocating.
    let mut incidence: Vec<(NodeIx, NodeIx)> = Vec::new();
    for e in graph.edges() {
        if e.kind != EdgeKind::InvolvedIn {
            continue;
        }
        let (s, d) = (&nodes[e.src as usize], &nodes[e.dst as usize]);
        let (person, event) = match (s.kind, d.kind) {
            (NodeKind::Person, k) if k.is_event() => (e.src, e.dst),
            (k, NodeKind::Person) if k.is_event() => (e.dst, e.src),
            _ => continue,
        };
        if nodes[event as usize].time.is_none() {
            return Err(GraphError::UndatedEvent(nodes[event as usize].id.clone()));
        }
        incidence.push((event, person));
    }
    incidence.par_sort_unstable();
    incidence.dedup();
    let mut skipped_events = Vec::new();
    let mut tuples: Vec<(NodeIx, NodeIx, i64, NodeIx)> = Vec::new();
    for group in incidence.chunk_by(|x, y| x.0 == y.0) {
        let event = group[0].0;
        if group.len() > cfg.max_group {
            skipped_events.push(event);
            continue;
        }
        let t = nodes[event as usize].time.unwrap_or_default();
        for i in 0..group.len() {
            for j in i + 1..group.len() {
                tuples.push((group[i].1, group[j].1, t, event));
            }
        }
    }
    drop(incidence);
    tuples.par_sort_unstable();
    let mut pairs = Vec::new();
    for run in tuples.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        if run.len() < cfg.min_shared {
            continue;
        }
        // Widest run of events within the window (two pointers); `run` is in time order.
        let (mut best_lo, mut best_len, mut lo) = (0, 0, 0);
        for hi in 0..run.len() {
            while run[hi].2 - run[lo].2 > cfg.window {
                lo += 1;
            }
            if hi + 1 - lo > best_len {
                best_len = hi + 1 - lo;
                best_lo = lo;
            }
        }
        if best_len >= cfg.min_shared {
            let best = &run[best_lo..best_lo + best_len];
            pairs.push(CoTravel {
                a: run[0].0,
                b: run[0].1,
                events: best.iter().map(|x| x.3).collect(),
                first: best[0].2,
                last: best[best.len() - 1].2,
            });
        }
    }
    pairs.sort_unstable_by(|x, y| {
        y.events
            .len()
            .cmp(&x.events.len())
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    Ok(CoTravelReport {
        pairs,
        skipped_events,
    })
}

/// `travelled_with` edges for the pairs found, weighted by shared events and dated at the last
/// one, ready to [`Graph::apply`].
pub fn co_travel_edges(graph: &Graph, pairs: &[CoTravel]) -> Update {
    let mut up = Update::new();
    for p in pairs {
        up.edge_with(
            &graph.nodes()[p.a as usize].id,
            &graph.nodes()[p.b as usize].id,
            EdgeKind::TravelledWith,
            p.events.len() as f64,
            Some(p.last),
        );
    }
    up
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Node;

    const DAY: i64 = 86_400;

    fn trips(events: &[(&str, Option<i64>, &[&str])]) -> Graph {
        let mut up = Update::new();
        for (ev, t, people) in events {
            let mut node = Node::new(*ev, NodeKind::Crossing);
            node.time = *t;
            up.node(node);
            for p in *people {
                up.node(Node::new(*p, NodeKind::Person));
                up.edge(p, ev, EdgeKind::InvolvedIn);
            }
        }
        up.build().unwrap()
    }

    #[test]
    fn pairs_need_enough_shared_events_inside_the_window() {
        let g = trips(&[
            ("e1", Some(0), &["ana", "beto", "caro"]),
            ("e2", Some(10 * DAY), &["ana", "beto"]),
            ("e3", Some(20 * DAY), &["ana", "beto", "caro"]),
            ("e4", Some(400 * DAY), &["beto", "caro"]),
        ]);
        let cfg = CoTravelConfig {
            min_shared: 3,
            window: 30 * DAY,
            ..CoTravelConfig::default()
        };
        let r = co_travel(&g, &cfg).unwrap();
        assert_eq!(r.pairs.len(), 1);
        let p = &r.pairs[0];
        let ids = |u: NodeIx| g.node(u).unwrap().id.clone();
        assert_eq!((ids(p.a), ids(p.b)), ("ana".into(), "beto".into()));
        assert_eq!((p.first, p.last), (0, 20 * DAY));
        // beto and caro share three events, but e4 is a year after the others.
        let cfg2 = CoTravelConfig {
            min_shared: 2,
            ..cfg
        };
        let r2 = co_travel(&g, &cfg2).unwrap();
        assert_eq!(r2.pairs.len(), 3);
        assert_eq!(r2.pairs[0].events.len(), 3);
        let mut g2 = g.clone();
        let added = g2.apply(co_travel_edges(&g, &r2.pairs)).unwrap();
        assert_eq!(added.new_edges, 3);
    }

    #[test]
    fn large_events_are_skipped_and_undated_ones_rejected() {
        let g = trips(&[
            ("e1", Some(0), &["a", "b", "c"]),
            ("e2", Some(1), &["a", "b", "c"]),
        ]);
        let cfg = CoTravelConfig {
            max_group: 2,
            ..CoTravelConfig::default()
        };
        let r = co_travel(&g, &cfg).unwrap();
        assert!(r.pairs.is_empty());
        assert_eq!(r.skipped_events.len(), 2);

        let g = trips(&[("e1", None, &["a", "b"])]);
        assert!(matches!(
            co_travel(&g, &CoTravelConfig::default()),
            Err(GraphError::UndatedEvent(id)) if id == "e1"
        ));
    }
}
