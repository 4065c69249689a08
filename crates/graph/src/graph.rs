//! The typed graph: interned string ids, node and edge kinds, countries, optional timestamps and
//! weights, with the collapsed adjacency ([`Csr`]) and a per-node time-sorted incidence list kept
//! beside them. Built and grown through [`Update`]: a first build is an update of an empty graph,
//! so incremental loads and full builds share one validated path.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::csr::{Csr, NodeIx};
use crate::error::{GraphError, Result};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable lower-case name used in exports.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = GraphError;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(GraphError::InvalidParameter {
                        name: stringify!($name),
                        reason: format!("unknown value {s:?}"),
                    }),
                }
            }
        }
    };
}

string_enum!(
    /// What a node stands for.
    NodeKind {
        /// A resolved person (a cluster of linked records).
        Person => "person",
        Phone => "phone",
        Vehicle => "vehicle",
        Address => "address",
        Account => "account",
        /// A company, agency or other body persons work for or use (a transport company, a bus
        /// line).
        Organisation => "organisation",
        /// An identity document (passport, CURP, DPI, A-number) a partner released.
        Document => "document",
        /// An encounter or apprehension event.
        Encounter => "encounter",
        /// A border crossing event.
        Crossing => "crossing",
        /// A case opened by an agency.
        Case => "case",
        /// A money transfer event.
        Transfer => "transfer",
    }
);

impl NodeKind {
    /// Events carry a date and tie the people who took part in them.
    pub fn is_event(self) -> bool {
        matches!(
            self,
            NodeKind::Encounter | NodeKind::Crossing | NodeKind::Case | NodeKind::Transfer
        )
    }
}

string_enum!(
    /// What an edge says about its two ends.
    EdgeKind {
        /// A person used a phone, vehicle or account.
        Used => "used",
        Owned => "owned",
        LivedAt => "lived_at",
        Paid => "paid",
        /// A person took part in an event (the incidence co-travel is derived from).
        InvolvedIn => "involved_in",
        /// Two persons seen in the same event.
        TravelledWith => "travelled_with",
        /// Records of two agencies linked across the border.
        MatchedAcrossBorder => "matched_across_border",
        /// A tie a partner agency released after a hit: the local person to a phone, document
        /// or event the partner holds (with the partner and handling code as its origin).
        ReleasedByPartner => "released_by_partner",
        /// A person belongs to or works for an organisation.
        MemberOf => "member_of",
        /// A tie of unspecified nature (published network data, analyst-drawn links).
        Associated => "associated",
    }
);

string_enum!(
    /// The handling code a partner attached to what it released (the codes of police
    /// cooperation): H0 purpose limitation, H1 no use in court without permission, H2 no onward
    /// sharing, H3 other conditions.
    Handling {
        H0 => "H0",
        H1 => "H1",
        /// No onward sharing: never leaves through an export.
        H2 => "H2",
        H3 => "H3",
    }
);

/// Where a node or edge came from when a partner agency released it rather than the node's own
/// records: which partner, under which handling code, in which release, kept until when.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Provenance {
    /// The partner node that released it.
    pub partner: String,
    pub handling: Handling,
    /// The release message's id.
    pub release: String,
    /// Seconds since the epoch after which the release must be gone, if the partner set a date.
    pub retain_until: Option<i64>,
}

impl Provenance {
    /// Whether it may leave this node in an export: everything but handling code H2.
    pub fn shareable(&self) -> bool {
        self.handling != Handling::H2
    }

    /// Whether its retention has ended at `now` (seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.retain_until.is_some_and(|t| t <= now)
    }
}

/// An index into [`Graph::origins`]: the provenance of a released edge, kept as a small copyable
/// number so edges stay compact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OriginIx(NonZeroU32);

impl OriginIx {
    /// The position in [`Graph::origins`].
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// The origin at `index` of a table (`None` past `u32::MAX - 1`).
    pub fn from_index(index: usize) -> Option<OriginIx> {
        u32::try_from(index + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .map(OriginIx)
    }
}

string_enum!(
    /// The country whose agency holds a node's records.
    Country {
        Us => "US",
        Mx => "MX",
        Gt => "GT",
    }
);

/// A node as given to an [`Update`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub country: Option<Country>,
    pub label: Option<String>,
    /// Seconds since 1970-01-01 UTC; events are dated, other nodes usually are not.
    pub time: Option<i64>,
    /// Set when only a partner's release declared the node (a phone the node's own records never
    /// held); `None` for the node's own data. A node declared by both is the node's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Box<Provenance>>,
}

impl Node {
    pub fn new(id: impl Into<String>, kind: NodeKind) -> Self {
        Node {
            id: id.into(),
            kind,
            country: None,
            label: None,
            time: None,
            origin: None,
        }
    }
    /// Marks the node as released by a partner.
    pub fn released(mut self, origin: Provenance) -> Self {
        self.origin = Some(Box::new(origin));
        self
    }
    /// Whether it may leave this node in an export (own data, or released under H0, H1, H3).
    pub fn shareable(&self) -> bool {
        self.origin.as_ref().is_none_or(|o| o.shareable())
    }
    pub fn country(mut self, c: Country) -> Self {
        self.country = Some(c);
        self
    }
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }
    pub fn at(mut self, t: i64) -> Self {
        self.time = Some(t);
        self
    }
}

/// A stored edge between two node indices.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub src: NodeIx,
    pub dst: NodeIx,
    pub kind: EdgeKind,
    pub weight: f64,
    /// Seconds since 1970-01-01 UTC when the tie was observed, if known.
    pub time: Option<i64>,
    /// For a tie a partner released, its provenance in [`Graph::origins`]; `None` for the
    /// node's own data.
    pub origin: Option<OriginIx>,
}

/// An edge as given to an [`Update`], naming its ends by id. Ids of up to 24 bytes (most of
/// them: a phone, a record key) are held inline, so a batch of millions of edges does not make
/// millions of small allocations.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeInput {
    pub src: CompactString,
    pub dst: CompactString,
    pub kind: EdgeKind,
    pub weight: f64,
    pub time: Option<i64>,
    pub origin: Option<Box<Provenance>>,
}

/// A batch of nodes and edges to add. Edges may name nodes of the same batch or of the graph.
#[derive(Clone, Debug, Default)]
pub struct Update {
    nodes: Vec<Node>,
    edges: Vec<EdgeInput>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node; an id already present is merged (see [`Graph::apply`]).
    pub fn node(&mut self, node: Node) -> &mut Self {
        self.nodes.push(node);
        self
    }

    /// Adds an edge of weight 1 without a time.
    pub fn edge(&mut self, src: &str, dst: &str, kind: EdgeKind) -> &mut Self {
        self.edge_with(src, dst, kind, 1.0, None)
    }

    /// Adds an edge with a weight and an optional time.
    pub fn edge_with(
        &mut self,
        src: &str,
        dst: &str,
        kind: EdgeKind,
        weight: f64,
        time: Option<i64>,
    ) -> &mut Self {
        self.edges.push(EdgeInput {
            src: src.into(),
            dst: dst.into(),
            kind,
            weight,
            time,
            origin: None,
        });
        self
    }

    /// Adds an edge a partner released, with its provenance.
    pub fn released_edge(
        &mut self,
        src: &str,
        dst: &str,
        kind: EdgeKind,
        time: Option<i64>,
        origin: Provenance,
    ) -> &mut Self {
        self.edges.push(EdgeInput {
            src: src.into(),
            dst: dst.into(),
            kind,
            weight: 1.0,
            time,
            origin: Some(Box::new(origin)),
        });
        self
    }

    /// Builds a new graph from this batch alone.
    pub fn build(self) -> Result<Graph> {
        if self.nodes.is_empty() {
            return Err(GraphError::Empty("a graph needs at least one node"));
        }
        let mut g = Graph::default();
        g.apply(self)?;
        Ok(g)
    }
}

/// Counts of what an update added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub new_nodes: usize,
    pub new_edges: usize,
}

/// A typed, time-stamped multigraph with interned ids.
#[derive(Clone, Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    /// Ids to indices; the keys are inline (up to 24 bytes), so a lookup compares the key
    /// without following a pointer to it.
    index: FxHashMap<CompactString, NodeIx>,
    edges: Vec<Edge>,
    /// Provenances of released edges, which name them by [`OriginIx`].
    origins: Vec<Provenance>,
    adjacency: Csr,
    /// Per node, the ids of its edges ordered by (time, edge id), undated first; the
    /// time-respecting path search binary-searches these rows.
    inc_offsets: Vec<usize>,
    inc_edges: Vec<u32>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            nodes: Vec::new(),
            index: FxHashMap::default(),
            edges: Vec::new(),
            origins: Vec::new(),
            adjacency: Csr::from_entries(0, Vec::new()),
            inc_offsets: vec![0],
            inc_edges: Vec::new(),
        }
    }
}

impl Graph {
    /// Adds a batch of nodes and edges without rebuilding the graph from scratch: the adjacency
    /// and incidence rows are merged with the batch's sorted additions.
    ///
    /// The batch is validated as a whole before anything changes, so a failed update leaves the
    /// graph as it was. A node whose id is already present must have the same kind; its missing
    /// country, label or time are filled from the batch, present ones are kept.
    pub fn apply(&mut self, update: Update) -> Result<Applied> {
        // Validation pass: new ids, kind conflicts, edge ends, weights, self-loops.
        let mut new_index: FxHashMap<CompactString, NodeIx> = FxHashMap::default();
        new_index.reserve(update.nodes.len());
        let mut new_nodes: Vec<Node> = Vec::with_capacity(update.nodes.len());
        let mut fills: Vec<(NodeIx, Node)> = Vec::new();
        for node in update.nodes {
            if let Some(&ix) = self.index.get(node.id.as_str()) {
                let first = self.nodes[ix as usize].kind;
                if first != node.kind {
                    return Err(GraphError::ConflictingNode {
                        id: node.id,
                        first,
                        second: node.kind,
                    });
                }
                fills.push((ix, node));
            } else if let Some(&ix) = new_index.get(node.id.as_str()) {
                let slot = &mut new_nodes[ix as usize - self.nodes.len()];
                if slot.kind != node.kind {
                    return Err(GraphError::ConflictingNode {
                        id: node.id,
                        first: slot.kind,
                        second: node.kind,
                    });
                }
                fill(slot, node);
            } else {
                let ix = NodeIx::try_from(self.nodes.len() + new_nodes.len())
                    .map_err(|_| GraphError::TooLarge)?;
                new_index.insert(node.id.as_str().into(), ix);
                new_nodes.push(node);
            }
        }
        let resolve = |id: &str| -> Result<NodeIx> {
            self.index
                .get(id)
                .or_else(|| new_index.get(id))
                .copied()
                .ok_or_else(|| GraphError::UnknownNode(id.to_owned()))
        };
        // The id lookups only read the maps, so edges are resolved in parallel; the first bad
        // edge in batch order is the one reported, as a sequential pass would.
        // Provenances of released edges: the graph's table, extended by the batch's new ones.
        let mut new_origins: Vec<Provenance> = Vec::new();
        let mut origin_of: Vec<Option<OriginIx>> = Vec::new();
        if update.edges.iter().any(|e| e.origin.is_some()) {
            let mut known: FxHashMap<&Provenance, OriginIx> = self
                .origins
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((p, OriginIx::from_index(i)?)))
                .collect();
            for e in &update.edges {
                let ix = match &e.origin {
                    None => None,
                    Some(p) => match known.get(p.as_ref()) {
                        Some(&ix) => Some(ix),
                        None => {
                            let ix = OriginIx::from_index(self.origins.len() + new_origins.len())
                                .ok_or(GraphError::TooLarge)?;
                            known.insert(p, ix);
                            new_origins.push(p.as_ref().clone());
                            Some(ix)
                        }
                    },
                };
                origin_of.push(ix);
            }
        }
        let origin_at = |i: usize| origin_of.get(i).copied().flatten();
        let resolve_edge = |(i, e): (usize, &EdgeInput)| -> Result<Edge> {
            let src = resolve(&e.src)?;
            let dst = resolve(&e.dst)?;
            if src == dst {
                return Err(GraphError::SelfLoop(e.src.to_string()));
            }
            if !(e.weight.is_finite() && e.weight > 0.0) {
                return Err(GraphError::BadWeight {
                    src: e.src.to_string(),
                    dst: e.dst.to_string(),
                    weight: e.weight,
                });
            }
            Ok(Edge {
                src,
                dst,
                kind: e.kind,
                weight: e.weight,
                time: e.time,
                origin: origin_at(i),
            })
        };
        let resolved: Result<Vec<Edge>> = update
            .edges
            .par_iter()
            .enumerate()
            .with_min_len(4096)
            .map(resolve_edge)
            .collect();
        let new_edges = match resolved {
            Ok(edges) => edges,
            Err(any) => {
                // A parallel collect stops at whichever bad edge it meets first; report the
                // first in batch order.
                for e in update.edges.iter().enumerate() {
                    resolve_edge(e)?;
                }
                return Err(any);
            }
        };
        if u32::try_from(self.edges.len() + new_edges.len()).is_err() {
            return Err(GraphError::TooLarge);
        }

        // Commit.
        self.origins.extend(new_origins);
        for (ix, node) in fills {
            fill(&mut self.nodes[ix as usize], node);
        }
        let applied = Applied {
            new_nodes: new_nodes.len(),
            new_edges: new_edges.len(),
        };
        if self.index.is_empty() {
            self.index = new_index;
        } else {
            self.index.extend(new_index);
        }
        self.nodes.extend(new_nodes);
        let n = self.nodes.len();
        let links: Vec<(NodeIx, NodeIx, f64)> =
            new_edges.iter().map(|e| (e.src, e.dst, e.weight)).collect();
        self.adjacency = self.adjacency.with_added(n, &links)?;
        let first_new = self.edges.len();
        self.edges.extend(new_edges);
        self.merge_incidence(first_new);
        Ok(applied)
    }

    /// Builds a graph from nodes and edges that already name their ends by index (a graph read
    /// back from [`crate::persist`], a generated benchmark graph), skipping the id lookups of
    /// [`Update`]. Ids must be distinct, indices in range, weights finite and positive, and no
    /// edge may join a node to itself.
    pub fn from_indexed(nodes: Vec<Node>, edges: Vec<Edge>) -> Result<Graph> {
        Self::from_indexed_with_origins(nodes, edges, Vec::new())
    }

    /// [`Graph::from_indexed`] for a graph holding released edges, whose [`OriginIx`] name
    /// entries of `origins`.
    pub fn from_indexed_with_origins(
        nodes: Vec<Node>,
        edges: Vec<Edge>,
        origins: Vec<Provenance>,
    ) -> Result<Graph> {
        if nodes.is_empty() {
            return Err(GraphError::Empty("a graph needs at least one node"));
        }
        let n = nodes.len();
        if NodeIx::try_from(n).is_err() || u32::try_from(edges.len()).is_err() {
            return Err(GraphError::TooLarge);
        }
        let mut index: FxHashMap<CompactString, NodeIx> = FxHashMap::default();
        index.reserve(n);
        for (i, node) in nodes.iter().enumerate() {
            if let Some(&first) = index.get(node.id.as_str()) {
                return Err(GraphError::ConflictingNode {
                    id: node.id.clone(),
                    first: nodes[first as usize].kind,
                    second: node.kind,
                });
            }
            index.insert(node.id.as_str().into(), i as NodeIx);
        }
        for e in &edges {
            crate::csr::check_ix(e.src, n)?;
            crate::csr::check_ix(e.dst, n)?;
            if e.src == e.dst {
                return Err(GraphError::SelfLoop(nodes[e.src as usize].id.clone()));
            }
            if !(e.weight.is_finite() && e.weight > 0.0) {
                return Err(GraphError::BadWeight {
                    src: nodes[e.src as usize].id.clone(),
                    dst: nodes[e.dst as usize].id.clone(),
                    weight: e.weight,
                });
            }
            if let Some(o) = e.origin
                && o.index() >= origins.len()
            {
                return Err(GraphError::InvalidParameter {
                    name: "origin",
                    reason: format!(
                        "edge names origin {} of a table of {}",
                        o.index(),
                        origins.len()
                    ),
                });
            }
        }
        let links: Vec<(NodeIx, NodeIx, f64)> =
            edges.iter().map(|e| (e.src, e.dst, e.weight)).collect();
        let adjacency = Csr::from_undirected(n, &links)?;
        let mut g = Graph {
            nodes,
            index,
            edges,
            origins,
            adjacency,
            inc_offsets: vec![0],
            inc_edges: Vec::new(),
        };
        g.merge_incidence(0);
        Ok(g)
    }

    /// Adds edges `first_new..` to the per-node incidence rows, each row ordered by (time, edge
    /// id). The new edges are bucketed by node with a counting sort — in edge id order, so a
    /// row only needs sorting when its times are out of order — and each node's bucket is
    /// merged with its old row.
    fn merge_incidence(&mut self, first_new: usize) {
        let n = self.nodes.len();
        let edges = &self.edges;
        let key = |e: u32| (edges[e as usize].time.unwrap_or(i64::MIN), e);
        let mut starts = vec![0usize; n + 1];
        for e in &edges[first_new..] {
            starts[e.src as usize + 1] += 1;
            starts[e.dst as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut added = vec![0u32; starts[n]];
        for (id, e) in edges.iter().enumerate().skip(first_new) {
            for end in [e.src, e.dst] {
                added[next[end as usize]] = id as u32;
                next[end as usize] += 1;
            }
        }
        // Sort the buckets whose times are out of order, in parallel.
        let mut rows: Vec<&mut [u32]> = Vec::with_capacity(n);
        let mut rest = &mut added[..];
        for u in 0..n {
            let (row, tail) = rest.split_at_mut(starts[u + 1] - starts[u]);
            rows.push(row);
            rest = tail;
        }
        rows.into_par_iter().with_min_len(1024).for_each(|row| {
            if !row.is_sorted_by_key(|&e| key(e)) {
                row.sort_unstable_by_key(|&e| key(e));
            }
        });
        let old_rows = self.inc_offsets.len() - 1;
        if old_rows == 0 || self.inc_edges.is_empty() {
            self.inc_offsets = starts;
            self.inc_edges = added;
            return;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut out = Vec::with_capacity(self.inc_edges.len() + added.len());
        for u in 0..n {
            let old: &[u32] = if u < old_rows {
                &self.inc_edges[self.inc_offsets[u]..self.inc_offsets[u + 1]]
            } else {
                &[]
            };
            let new = &added[starts[u]..starts[u + 1]];
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < new.len() {
                if j == new.len() || (i < old.len() && key(old[i]) < key(new[j])) {
                    out.push(old[i]);
                    i += 1;
                } else {
                    out.push(new[j]);
                    j += 1;
                }
            }
            offsets.push(out.len());
        }
        self.inc_offsets = offsets;
        self.inc_edges = out;
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of typed edges (parallel edges counted separately).
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// All nodes, indexed by [`NodeIx`].
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One node.
    pub fn node(&self, ix: NodeIx) -> Result<&Node> {
        self.nodes
            .get(ix as usize)
            .ok_or(GraphError::NodeOutOfRange {
                index: ix as usize,
                len: self.nodes.len(),
            })
    }

    /// All typed edges, indexed by edge id.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Provenances of the released edges, indexed by [`OriginIx::index`].
    pub fn origins(&self) -> &[Provenance] {
        &self.origins
    }

    /// The provenance of an edge a partner released; `None` for the node's own data.
    pub fn origin(&self, e: &Edge) -> Option<&Provenance> {
        e.origin.and_then(|o| self.origins.get(o.index()))
    }

    /// Whether an edge may leave this node in an export (not under handling code H2).
    pub fn edge_shareable(&self, e: &Edge) -> bool {
        self.origin(e).is_none_or(Provenance::shareable)
    }

    /// Nodes and edges under handling code H2 (no onward sharing).
    pub fn restricted(&self) -> Restricted {
        Restricted {
            nodes: self.nodes.iter().filter(|n| !n.shareable()).count(),
            edges: self
                .edges
                .iter()
                .filter(|e| !self.edge_shareable(e))
                .count(),
        }
    }

    /// The graph without what partners released that `drop` says to leave out: nodes only a
    /// release declared and released edges whose provenance `drop` accepts, with the edges of
    /// dropped nodes. `None` when nothing would be dropped (no copy is made). Node indices are
    /// renumbered; ids stay.
    pub fn without_released(
        &self,
        drop: impl Fn(&Provenance) -> bool,
    ) -> Result<Option<(Graph, Restricted)>> {
        let keep: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.origin.as_deref().is_none_or(|o| !drop(o)))
            .collect();
        let edge_ok = |e: &Edge| self.origin(e).is_none_or(|o| !drop(o));
        let dropped_edges = self
            .edges
            .iter()
            .filter(|e| !(keep[e.src as usize] && keep[e.dst as usize] && edge_ok(e)))
            .count();
        let dropped_nodes = keep.iter().filter(|k| !**k).count();
        if dropped_nodes == 0 && dropped_edges == 0 {
            return Ok(None);
        }
        let g = self.subgraph_where(&keep, edge_ok)?;
        Ok(Some((
            g,
            Restricted {
                nodes: dropped_nodes,
                edges: dropped_edges,
            },
        )))
    }

    /// The graph as it may leave this node: without the nodes and edges under handling code H2
    /// (no onward sharing), and how many were left out. Borrows the graph when none are there.
    pub fn shareable(&self) -> Result<(std::borrow::Cow<'_, Graph>, Restricted)> {
        Ok(match self.without_released(|o| !o.shareable())? {
            None => (std::borrow::Cow::Borrowed(self), Restricted::default()),
            Some((g, r)) => (std::borrow::Cow::Owned(g), r),
        })
    }

    /// The index of a node id.
    pub fn ix(&self, id: &str) -> Result<NodeIx> {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| GraphError::UnknownNode(id.to_owned()))
    }

    /// The collapsed weighted adjacency the algorithms run on.
    pub fn adjacency(&self) -> &Csr {
        &self.adjacency
    }

    /// Ids of the edges at `u`, ordered by time (undated first).
    pub fn incident(&self, u: NodeIx) -> &[u32] {
        let u = u as usize;
        &self.inc_edges[self.inc_offsets[u]..self.inc_offsets[u + 1]]
    }

    /// The subgraph keeping the nodes and edges the filter accepts (an edge is kept only if both
    /// its ends are). Node indices are renumbered; ids stay.
    pub fn filter(&self, filter: &Filter) -> Result<Graph> {
        let keep: Vec<bool> = self.nodes.iter().map(|n| filter.accepts_node(n)).collect();
        self.subgraph_where(&keep, |e| filter.accepts_edge(e))
    }

    /// The subgraph induced by these nodes.
    pub fn induced(&self, nodes: &[NodeIx]) -> Result<Graph> {
        let mut keep = vec![false; self.nodes.len()];
        for &u in nodes {
            crate::csr::check_ix(u, self.nodes.len())?;
            keep[u as usize] = true;
        }
        self.subgraph_where(&keep, |_| true)
    }

    fn subgraph_where(&self, keep: &[bool], edge_ok: impl Fn(&Edge) -> bool) -> Result<Graph> {
        let mut up = Update::new();
        for (node, _) in self.nodes.iter().zip(keep).filter(|(_, k)| **k) {
            up.node(node.clone());
        }
        for e in &self.edges {
            if keep[e.src as usize] && keep[e.dst as usize] && edge_ok(e) {
                up.edges.push(EdgeInput {
                    src: self.nodes[e.src as usize].id.as_str().into(),
                    dst: self.nodes[e.dst as usize].id.as_str().into(),
                    kind: e.kind,
                    weight: e.weight,
                    time: e.time,
                    origin: self.origin(e).map(|o| Box::new(o.clone())),
                });
            }
        }
        up.build()
    }
}

/// Counts of nodes and edges left out (under handling code H2, or past their retention).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Restricted {
    pub nodes: usize,
    pub edges: usize,
}

impl Restricted {
    pub fn is_empty(&self) -> bool {
        self.nodes == 0 && self.edges == 0
    }
}

fn fill(slot: &mut Node, node: Node) {
    // A node the node's own data declares is its own, whoever else released it; between two
    // releases, one that may be shared wins over one under H2.
    slot.origin = match (slot.origin.take(), node.origin) {
        (Some(a), Some(b)) => Some(if !a.shareable() && b.shareable() {
            b
        } else {
            a
        }),
        _ => None,
    };
    if slot.country.is_none() {
        slot.country = node.country;
    }
    if slot.label.is_none() {
        slot.label = node.label;
    }
    if slot.time.is_none() {
        slot.time = node.time;
    }
}

/// Which nodes and edges to keep. Empty lists mean "any".
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub node_kinds: Vec<NodeKind>,
    pub edge_kinds: Vec<EdgeKind>,
    /// Nodes of these countries; nodes without a country are kept only if `keep_stateless`.
    pub countries: Vec<Country>,
    pub keep_stateless: bool,
    /// Inclusive time window in seconds; dated nodes and edges outside it are dropped, undated
    /// ones kept.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Filter {
    fn in_window(&self, t: Option<i64>) -> bool {
        match t {
            None => true,
            Some(t) => self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|x| t <= x),
        }
    }

    fn accepts_node(&self, n: &Node) -> bool {
        (self.node_kinds.is_empty() || self.node_kinds.contains(&n.kind))
            && (self.countries.is_empty()
                || n.country
                    .map_or(self.keep_stateless, |c| self.countries.contains(&c)))
            && self.in_window(n.time)
    }

    fn accepts_edge(&self, e: &Edge) -> bool {
        (self.edge_kinds.is_empty() || self.edge_kinds.contains(&e.kind)) && self.in_window(e.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Update {
        let mut up = Update::new();
        up.node(Node::new("p1", NodeKind::Person).country(Country::Mx))
            .node(Node::new("p2", NodeKind::Person).country(Country::Gt))
            .node(Node::new("ph", NodeKind::Phone))
            .edge_with("p1", "ph", EdgeKind::Used, 1.0, Some(100))
            .edge_with("p2", "ph", EdgeKind::Used, 1.0, Some(50))
            .edge_with("p1", "ph", EdgeKind::Used, 2.0, Some(10));
        up
    }

    #[test]
    fn parallel_edges_collapse_in_the_adjacency_and_stay_typed() {
        let g = small().build().unwrap();
        assert_eq!(g.edge_count(), 3);
        assert_eq!(g.adjacency().link_count(), 2);
        let p1 = g.ix("p1").unwrap();
        let ph = g.ix("ph").unwrap();
        assert_eq!(g.adjacency().weights(p1), &[3.0]);
        let times: Vec<_> = g
            .incident(ph)
            .iter()
            .map(|&e| g.edges()[e as usize].time)
            .collect();
        assert_eq!(times, vec![Some(10), Some(50), Some(100)]);
    }

    #[test]
    fn bad_input_is_an_error_and_leaves_the_graph_unchanged() {
        let mut g = small().build().unwrap();
        let mut up = Update::new();
        up.node(Node::new("x", NodeKind::Vehicle))
            .edge("x", "nobody", EdgeKind::Owned);
        assert!(matches!(g.apply(up), Err(GraphError::UnknownNode(id)) if id == "nobody"));
        assert_eq!(g.node_count(), 3);
        assert!(g.ix("x").is_err());

        let mut up = Update::new();
        up.edge("p1", "p1", EdgeKind::Associated);
        assert!(matches!(g.apply(up), Err(GraphError::SelfLoop(_))));

        let mut up = Update::new();
        up.node(Node::new("p1", NodeKind::Phone));
        assert!(matches!(
            g.apply(up),
            Err(GraphError::ConflictingNode { .. })
        ));

        let mut up = Update::new();
        up.edge_with("p1", "p2", EdgeKind::Paid, f64::NAN, None);
        assert!(matches!(g.apply(up), Err(GraphError::BadWeight { .. })));

        assert!(matches!(Update::new().build(), Err(GraphError::Empty(_))));
    }

    #[test]
    fn the_first_bad_edge_in_batch_order_is_reported() {
        // Large enough that the edges are resolved in parallel pieces.
        for (self_loop_at, unknown_at) in [(15_000, 19_000), (19_000, 15_000), (3, 19_999)] {
            let mut up = Update::new();
            for i in 0..100 {
                up.node(Node::new(format!("n{i}"), NodeKind::Person));
            }
            for i in 0..20_000 {
                let (a, b) = if i == self_loop_at {
                    ("n1".to_owned(), "n1".to_owned())
                } else if i == unknown_at {
                    ("n1".to_owned(), "nobody".to_owned())
                } else {
                    (format!("n{}", i % 100), format!("n{}", (i + 1) % 100))
                };
                up.edge(&a, &b, EdgeKind::Associated);
            }
            let err = up.build().unwrap_err();
            if self_loop_at < unknown_at {
                assert!(matches!(err, GraphError::SelfLoop(_)), "{err}");
            } else {
                assert!(matches!(err, GraphError::UnknownNode(_)), "{err}");
            }
        }
    }

    #[test]
    fn incremental_update_equals_a_full_build() {
        let mut g = small().build().unwrap();
        let mut up = Update::new();
        up.node(Node::new("car", NodeKind::Vehicle))
            .node(Node::new("p2", NodeKind::Person).label("second"))
            .edge_with("p2", "car", EdgeKind::Owned, 1.0, Some(70))
            .edge_with("p1", "ph", EdgeKind::Used, 1.0, Some(60));
        let applied = g.apply(up.clone()).unwrap();
        assert_eq!(
            applied,
            Applied {
                new_nodes: 1,
                new_edges: 2
            }
        );

        let mut all = small();
        all.nodes.extend(up.nodes);
        all.edges.extend(up.edges);
        let full = all.build().unwrap();
        assert_eq!(g.adjacency(), full.adjacency());
        assert_eq!(g.nodes(), full.nodes());
        assert_eq!(
            g.node(g.ix("p2").unwrap()).unwrap().label.as_deref(),
            Some("second")
        );
        for u in 0..g.node_count() as NodeIx {
            assert_eq!(g.incident(u), full.incident(u));
        }
    }

    #[test]
    fn filters_by_country_kind_and_time() {
        let g = small().build().unwrap();
        let f = Filter {
            countries: vec![Country::Mx],
            keep_stateless: true,
            ..Filter::default()
        };
        let sub = g.filter(&f).unwrap();
        assert_eq!(sub.node_count(), 2);
        assert_eq!(sub.edge_count(), 2);
        let f = Filter {
            from: Some(40),
            to: Some(60),
            ..Filter::default()
        };
        let sub = g.filter(&f).unwrap();
        assert_eq!(sub.edge_count(), 1);
        assert_eq!(sub.edges()[0].time, Some(50));
        let f = Filter {
            node_kinds: vec![NodeKind::Person],
            ..Filter::default()
        };
        assert_eq!(g.filter(&f).unwrap().edge_count(), 0);
    }

    fn released(h: Handling, release: &str) -> Provenance {
        Provenance {
            partner: "gt-a".into(),
            handling: h,
            release: release.into(),
            retain_until: Some(1_000),
        }
    }

    #[test]
    fn released_data_keeps_its_origin_and_leaves_when_asked() {
        let mut g = small().build().unwrap();
        let mut up = Update::new();
        // A phone only the partner knows (H2), and the local phone released again (stays own).
        up.node(Node::new("ph2", NodeKind::Phone).released(released(Handling::H2, "r1")))
            .node(Node::new("ph", NodeKind::Phone).released(released(Handling::H2, "r1")))
            .node(Node::new("doc", NodeKind::Document).released(released(Handling::H0, "r2")))
            .released_edge(
                "p1",
                "ph2",
                EdgeKind::ReleasedByPartner,
                Some(5),
                released(Handling::H2, "r1"),
            )
            .released_edge(
                "p1",
                "ph",
                EdgeKind::ReleasedByPartner,
                None,
                released(Handling::H2, "r1"),
            )
            .released_edge(
                "p1",
                "doc",
                EdgeKind::ReleasedByPartner,
                None,
                released(Handling::H0, "r2"),
            );
        g.apply(up).unwrap();
        assert_eq!(g.origins().len(), 2, "one entry per distinct provenance");
        let ph = g.node(g.ix("ph").unwrap()).unwrap();
        assert!(ph.origin.is_none(), "the node's own phone stays its own");
        assert!(!g.node(g.ix("ph2").unwrap()).unwrap().shareable());
        assert_eq!(g.restricted(), Restricted { nodes: 1, edges: 2 });

        // Shareable: the H2 phone and both H2 edges go; the own phone and the H0 document stay.
        let (out, left) = g.shareable().unwrap();
        assert_eq!(left, Restricted { nodes: 1, edges: 2 });
        assert!(out.ix("ph2").is_err());
        assert!(out.ix("ph").is_ok());
        assert!(out.restricted().is_empty());
        let doc_edge = out
            .edges()
            .iter()
            .find(|e| e.kind == EdgeKind::ReleasedByPartner)
            .unwrap();
        assert_eq!(out.origin(doc_edge).unwrap().handling, Handling::H0);
        assert_eq!(out.edge_count(), g.edge_count() - 2);

        // Dropping one release removes its nodes and edges only.
        let (without, dropped) = g.without_released(|o| o.release == "r2").unwrap().unwrap();
        assert_eq!(dropped, Restricted { nodes: 1, edges: 1 });
        assert!(without.ix("doc").is_err());
        assert!(without.ix("ph2").is_ok());
        // Nothing to drop: no copy.
        assert!(g.without_released(|o| o.release == "r9").unwrap().is_none());
        assert!(small().build().unwrap().shareable().unwrap().1.is_empty());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in NodeKind::ALL {
            assert_eq!(k.as_str().parse::<NodeKind>().unwrap(), *k);
        }
        for k in EdgeKind::ALL {
            assert_eq!(k.as_str().parse::<EdgeKind>().unwrap(), *k);
        }
        assert!("ship".parse::<NodeKind>().is_err());
    }
}
