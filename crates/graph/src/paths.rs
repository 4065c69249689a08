//! Ego networks, shortest paths and time-respecting paths.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::csr::{Csr, NodeIx, check_ix};
use crate::error::{GraphError, Result};
use crate::graph::{Edge, Graph};

/// Nodes within `depth` hops of `center`, with their distance, in breadth-first order.
pub fn ego_network(g: &Csr, center: NodeIx, depth: u32) -> Result<Vec<(NodeIx, u32)>> {
    check_ix(center, g.node_count())?;
    let mut dist = vec![u32::MAX; g.node_count()];
    dist[center as usize] = 0;
    let mut out = vec![(center, 0)];
    let mut head = 0;
    while head < out.len() {
        let (u, d) = out[head];
        head += 1;
        if d == depth {
            continue;
        }
        for &v in g.neighbors(u) {
            if dist[v as usize] == u32::MAX {
                dist[v as usize] = d + 1;
                out.push((v, d + 1));
            }
        }
    }
    Ok(out)
}

/// A fewest-hops path from `src` to `dst` (both included), or `None` if they are not connected.
/// Among equally short paths the one through lower node indices is returned.
pub fn shortest_path(g: &Csr, src: NodeIx, dst: NodeIx) -> Result<Option<Vec<NodeIx>>> {
    let n = g.node_count();
    check_ix(src, n)?;
    check_ix(dst, n)?;
    let mut parent = vec![u32::MAX; n];
    parent[src as usize] = src;
    let mut queue = vec![src];
    let mut head = 0;
    while head < queue.len() && parent[dst as usize] == u32::MAX {
        let u = queue[head];
        head += 1;
        for &v in g.neighbors(u) {
            if parent[v as usize] == u32::MAX {
                parent[v as usize] = u;
                queue.push(v);
            }
        }
    }
    if parent[dst as usize] == u32::MAX {
        return Ok(None);
    }
    let mut path = vec![dst];
    let mut at = dst;
    while at != src {
        at = parent[at as usize];
        path.push(at);
    }
    path.reverse();
    Ok(Some(path))
}

#[derive(PartialEq)]
struct Entry(f64, NodeIx);
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on cost, then on node index for a deterministic order.
        other
            .0
            .total_cmp(&self.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// The cheapest path over typed edges (Dijkstra). `cost` prices each edge; `None` forbids it
/// (for example an edge kind the analyst excluded). Returns the total cost and the edge ids in
/// order, or `None` when `dst` cannot be reached.
pub fn cheapest_path(
    graph: &Graph,
    src: &str,
    dst: &str,
    cost: impl Fn(&Edge) -> Option<f64>,
) -> Result<Option<(f64, Vec<u32>)>> {
    let s = graph.ix(src)?;
    let t = graph.ix(dst)?;
    let n = graph.node_count();
    let mut best = vec![f64::INFINITY; n];
    let mut via = vec![u32::MAX; n];
    let mut heap = BinaryHeap::new();
    best[s as usize] = 0.0;
    heap.push(Entry(0.0, s));
    while let Some(Entry(d, u)) = heap.pop() {
        if d > best[u as usize] {
            continue;
        }
        if u == t {
            break;
        }
        for &e in graph.incident(u) {
            let edge = &graph.edges()[e as usize];
            let Some(c) = cost(edge) else { continue };
            if !(c.is_finite() && c >= 0.0) {
                return Err(GraphError::InvalidParameter {
                    name: "cost",
                    reason: format!("edge {e} priced {c}; costs must be finite and non-negative"),
                });
            }
            let v = if edge.src == u { edge.dst } else { edge.src };
            let nd = d + c;
            if nd < best[v as usize] {
                best[v as usize] = nd;
                via[v as usize] = e;
                heap.push(Entry(nd, v));
            }
        }
    }
    if best[t as usize].is_infinite() {
        return Ok(None);
    }
    let mut edges = Vec::new();
    let mut at = t;
    while at != s {
        let e = via[at as usize];
        edges.push(e);
        let edge = &graph.edges()[e as usize];
        at = if edge.src == at { edge.dst } else { edge.src };
    }
    edges.reverse();
    Ok(Some((best[t as usize], edges)))
}

/// Constraints on a time-respecting path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// Earliest time the first edge may have.
    pub start: Option<i64>,
    /// Latest time the last edge may have.
    pub end: Option<i64>,
    /// Longest wait allowed between consecutive edges, in seconds.
    pub max_gap: Option<i64>,
}

/// A path whose edge times never decrease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemporalPath {
    /// Edge ids in travel order.
    pub edges: Vec<u32>,
    /// Nodes visited, `src` first.
    pub nodes: Vec<NodeIx>,
    pub departure: i64,
    pub arrival: i64,
}

/// The fewest-hops path from `src` to `dst` along dated edges whose times never decrease, stay
/// inside the window and leave at most `max_gap` between one edge and the next; among equally
/// short ones, the earliest arrival. Undated edges cannot be placed in time and are not used.
///
/// The search runs over (edge, direction) states, because with a maximum gap arriving earlier is
/// not always better: a later arrival can reach an onward edge an earlier one has to skip.
pub fn time_respecting_path(
    graph: &Graph,
    src: &str,
    dst: &str,
    window: &TimeWindow,
) -> Result<Option<TemporalPath>> {
    let s = graph.ix(src)?;
    let t = graph.ix(dst)?;
    if let Some(g) = window.max_gap
        && g < 0
    {
        return Err(GraphError::InvalidParameter {
            name: "max_gap",
            reason: format!("{g} is negative"),
        });
    }
    if s == t {
        return Ok(None);
    }
    let edges = graph.edges();
    let lo = window.start.unwrap_or(i64::MIN + 1);
    let hi = window.end.unwrap_or(i64::MAX);
    let time_of = |e: u32| edges[e as usize].time;
    // Dated edges at `u` with time in [from, to]; incidence rows are sorted by time, undated
    // first (keyed as i64::MIN), so a binary search finds the slice.
    let slice = |u: NodeIx, from: i64, to: i64| -> &[u32] {
        let row = graph.incident(u);
        let key = |e: &u32| time_of(*e).unwrap_or(i64::MIN);
        let a = row.partition_point(|e| key(e) < from);
        let b = row.partition_point(|e| key(e) <= to);
        &row[a..b.max(a)]
    };
    let other = |e: u32, from: NodeIx| {
        let edge = &edges[e as usize];
        if edge.src == from { edge.dst } else { edge.src }
    };
    // State id: 2 * edge + (1 if travelled dst -> src).
    let state = |e: u32, from: NodeIx| 2 * e as usize + usize::from(edges[e as usize].src != from);
    let mut parent = vec![usize::MAX; 2 * edges.len()];
    let mut frontier: Vec<(u32, NodeIx)> = Vec::new();
    for &e in slice(s, lo, hi) {
        parent[state(e, s)] = usize::MAX - 1;
        frontier.push((e, s));
    }
    let mut found: Option<(i64, u32, NodeIx)> = None;
    while !frontier.is_empty() && found.is_none() {
        let mut next = Vec::new();
        for &(e, from) in &frontier {
            let at = other(e, from);
            let te = time_of(e).unwrap_or(i64::MIN);
            if at == t {
                if found.is_none_or(|(best, _, _)| te < best) {
                    found = Some((te, e, from));
                }
                continue;
            }
            let until = window.max_gap.map_or(hi, |g| te.saturating_add(g).min(hi));
            for &f in slice(at, te, until) {
                let st = state(f, at);
                if parent[st] == usize::MAX {
                    parent[st] = state(e, from);
                    next.push((f, at));
                }
            }
        }
        frontier = next;
    }
    let Some((arrival, e, from)) = found else {
        return Ok(None);
    };
    let mut path = vec![e];
    let mut st = state(e, from);
    while parent[st] != usize::MAX - 1 {
        st = parent[st];
        path.push((st / 2) as u32);
    }
    path.reverse();
    let mut nodes = vec![s];
    for &e in &path {
        let last = nodes[nodes.len() - 1];
        nodes.push(other(e, last));
    }
    Ok(Some(TemporalPath {
        departure: time_of(path[0]).unwrap_or(arrival),
        edges: path,
        nodes,
        arrival,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeKind, Node, NodeKind, Update};

    fn timed(edges: &[(&str, &str, i64)]) -> Graph {
        let mut up = Update::new();
        for (a, b, t) in edges {
            up.node(Node::new(*a, NodeKind::Person));
            up.node(Node::new(*b, NodeKind::Person));
            up.edge_with(a, b, EdgeKind::Associated, 1.0, Some(*t));
        }
        up.build().unwrap()
    }

    #[test]
    fn ego_network_stops_at_depth() {
        let g =
            Csr::from_undirected(5, &[(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (0, 4, 1.0)]).unwrap();
        let ego = ego_network(&g, 0, 1).unwrap();
        assert_eq!(ego, vec![(0, 0), (1, 1), (4, 1)]);
        assert_eq!(ego_network(&g, 0, 2).unwrap().len(), 4);
        assert!(ego_network(&g, 9, 1).is_err());
    }

    #[test]
    fn shortest_path_takes_the_short_way_round() {
        let g = Csr::from_undirected(
            5,
            &[
                (0, 1, 1.0),
                (1, 2, 1.0),
                (2, 3, 1.0),
                (0, 4, 1.0),
                (4, 3, 1.0),
            ],
        )
        .unwrap();
        assert_eq!(shortest_path(&g, 0, 3).unwrap(), Some(vec![0, 4, 3]));
        let g2 = Csr::from_undirected(3, &[(0, 1, 1.0)]).unwrap();
        assert_eq!(shortest_path(&g2, 0, 2).unwrap(), None);
        assert!(shortest_path(&g2, 0, 3).is_err());
    }

    #[test]
    fn cheapest_path_follows_costs() {
        let g = timed(&[("a", "b", 1), ("b", "c", 2), ("a", "c", 3)]);
        // Direct edge priced 5, the detour 1 + 1.
        let price = |e: &Edge| Some(if e.time == Some(3) { 5.0 } else { 1.0 });
        let (cost, path) = cheapest_path(&g, "a", "c", price).unwrap().unwrap();
        assert_eq!(cost, 2.0);
        assert_eq!(path.len(), 2);
        let (cost, _) = cheapest_path(&g, "a", "c", |_| Some(1.0)).unwrap().unwrap();
        assert_eq!(cost, 1.0);
        assert!(matches!(
            cheapest_path(&g, "a", "zz", |_| Some(1.0)),
            Err(GraphError::UnknownNode(_))
        ));
    }

    #[test]
    fn time_respecting_paths_obey_order_and_gap() {
        // a-b at 10, b-c at 5 (too early), b-c at 20, c-d at 100.
        let g = timed(&[
            ("a", "b", 10),
            ("b", "c", 5),
            ("b", "c", 20),
            ("c", "d", 100),
        ]);
        let any = time_respecting_path(&g, "a", "d", &TimeWindow::default())
            .unwrap()
            .unwrap();
        assert_eq!((any.departure, any.arrival), (10, 100));
        let names: Vec<_> = any
            .nodes
            .iter()
            .map(|&u| g.node(u).unwrap().id.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        // A gap of 50 cannot bridge 20 -> 100.
        let tight = TimeWindow {
            max_gap: Some(50),
            ..TimeWindow::default()
        };
        assert_eq!(time_respecting_path(&g, "a", "d", &tight).unwrap(), None);
        assert!(
            time_respecting_path(&g, "a", "c", &tight)
                .unwrap()
                .is_some()
        );
        // Going backwards in time is not a path: d -> a would need 100, 20, 10.
        assert_eq!(
            time_respecting_path(&g, "d", "a", &TimeWindow::default()).unwrap(),
            None
        );
        let late = TimeWindow {
            start: Some(11),
            ..TimeWindow::default()
        };
        assert_eq!(time_respecting_path(&g, "a", "d", &late).unwrap(), None);
        assert!(time_respecting_path(&g, "a", "nobody", &late).is_err());
    }

    #[test]
    fn a_later_arrival_can_be_the_only_way_on() {
        // Reaching b at 1 cannot wait until 10 with a gap of 3; reaching it at 8 (via x) can.
        let g = timed(&[("a", "b", 1), ("a", "x", 7), ("x", "b", 8), ("b", "c", 10)]);
        let w = TimeWindow {
            max_gap: Some(3),
            ..TimeWindow::default()
        };
        let p = time_respecting_path(&g, "a", "c", &w).unwrap().unwrap();
        assert_eq!(p.edges.len(), 3);
        assert_eq!(p.arrival, 10);
    }
}
