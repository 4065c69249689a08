//! The network explorer's endpoints, at an agency node, over the graph `enlace network build`
//! saved in `DIR/network/` (with `communities.csv` and `centrality.csv` beside it):
//!
//! * `GET /api/v1/network`: counts by kind and country, and the largest communities with their
//!   size, country mix and top-ranked members.
//! * `GET /api/v1/network/community/{id}`: a community's nodes and edges, to draw.
//! * `GET /api/v1/network/ego?node=ID&depth=1|2`: the nodes around one node (to expand it).
//! * `GET /api/v1/network/path?from=ID&to=ID`: a fewest-hops path between two nodes.
//! * `GET /api/v1/network/export/{community}.graphml|.gexf`: a community as a file, without
//!   what partners released under handling code H2 (no onward sharing).
//!
//! Analysts only; every read is audited (`graph_read`, exports `export`), refusals too. The
//! graph is loaded once and kept in memory until its files change, or until released data in it
//! reaches the end of its retention (then it is loaded again, which drops that data for good).
//! Node ids name phones and plates: audit entries carry kinds and counts, never ids.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use enlace_audit::{Action, NewEntry};
use enlace_graph::export::{write_gexf, write_graphml};
use enlace_graph::saved::{CENTRALITY_FILE, COMMUNITIES_FILE};
use enlace_graph::{Centrality, Graph, NodeIx, SavedDir, ego_network, shareable, shortest_path};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{ApiError, ErrorBody, Person};
use super::release_api::{blocking, require, sync_audit};
use crate::users::Role;

pub const SUMMARY: &str = "/api/v1/network";
pub const COMMUNITY: &str = "/api/v1/network/community/{id}";
pub const EGO: &str = "/api/v1/network/ego";
pub const PATH: &str = "/api/v1/network/path";
pub const EXPORT: &str = "/api/v1/network/export/{file}";

/// The most nodes one response carries: beyond it a browser draws too slowly to explore.
pub const MAX_NODES: usize = 5_000;
/// The most edges one response carries.
pub const MAX_EDGES: usize = 20_000;
/// Communities the summary lists.
const LISTED: usize = 25;
/// Members named per community in the summary.
const TOP_MEMBERS: usize = 5;

/// The graph and its analyses, as loaded.
struct Loaded {
    graph: Graph,
    communities: Option<Vec<u32>>,
    centrality: Option<Centrality>,
    /// Members of each community, highest score first.
    members: Vec<Vec<NodeIx>>,
    /// The score that sizes nodes: PageRank when computed, else the degree.
    score: Vec<f64>,
    /// The earliest end of retention of released data in the graph: reload after it.
    expires: Option<i64>,
}

/// What the cache was loaded from: the files' modification times.
type Stamp = Vec<Option<SystemTime>>;

/// Loaded graphs by network directory (one per node; tests serve several in one process).
type Cache = Mutex<HashMap<PathBuf, (Stamp, Arc<Loaded>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn stamp(saved: &SavedDir) -> Stamp {
    let graph = saved.graph_dir();
    [
        graph.join(enlace_graph::persist::NODES_FILE),
        graph.join(enlace_graph::persist::EDGES_FILE),
        graph.join(enlace_graph::persist::ORIGINS_FILE),
        saved.file(COMMUNITIES_FILE),
        saved.file(CENTRALITY_FILE),
    ]
    .iter()
    .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
    .collect()
}

/// The node's graph, from the cache when its files have not changed; `None` when none is built.
fn load(dir: PathBuf) -> Result<Option<Arc<Loaded>>, String> {
    let saved = SavedDir::new(&dir);
    if !saved.exists() {
        return Ok(None);
    }
    let now = super::api::now();
    let before = stamp(&saved);
    if let Some((s, l)) = super::lock(cache()).get(&dir)
        && *s == before
        && l.expires.is_none_or(|t| now < t)
    {
        return Ok(Some(l.clone()));
    }
    let (graph, _) = saved.load(now).map_err(|e| e.to_string())?;
    let communities = saved.communities(&graph).map_err(|e| e.to_string())?;
    let centrality = saved.centrality(&graph).map_err(|e| e.to_string())?;
    let n = graph.node_count();
    let score: Vec<f64> = match &centrality {
        Some(c) => c.pagerank.clone(),
        None => (0..n as u32)
            .map(|u| graph.adjacency().degree(u) as f64)
            .collect(),
    };
    let mut members: Vec<Vec<NodeIx>> = Vec::new();
    if let Some(m) = &communities {
        for (u, &c) in m.iter().enumerate() {
            let c = c as usize;
            if members.len() <= c {
                members.resize(c + 1, Vec::new());
            }
            members[c].push(u as NodeIx);
        }
        for list in &mut members {
            list.sort_by(|&a, &b| {
                score[b as usize]
                    .total_cmp(&score[a as usize])
                    .then(a.cmp(&b))
            });
        }
    }
    let expires = graph
        .origins()
        .iter()
        .chain(graph.nodes().iter().filter_map(|n| n.origin.as_deref()))
        .filter_map(|o| o.retain_until)
        .min();
    let loaded = Arc::new(Loaded {
        graph,
        communities,
        centrality,
        members,
        score,
        expires,
    });
    // The load may have pruned expired data and rewritten the files: stamp what is there now.
    super::lock(cache()).insert(dir, (stamp(&saved), loaded.clone()));
    Ok(Some(loaded))
}

#[derive(Serialize, ToSchema)]
pub struct Member {
    pub id: String,
    pub label: Option<String>,
    pub kind: String,
    pub country: Option<String>,
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct CommunitySummary {
    pub id: u32,
    pub nodes: usize,
    pub persons: usize,
    /// Nodes per country (nodes without one are not counted).
    pub countries: BTreeMap<String, usize>,
    /// The highest-ranked members (PageRank, or degree without `centrality.csv`).
    pub top: Vec<Member>,
}

#[derive(Serialize, ToSchema)]
pub struct NetworkSummary {
    pub nodes: usize,
    pub edges: usize,
    pub nodes_by_kind: BTreeMap<String, usize>,
    pub nodes_by_country: BTreeMap<String, usize>,
    pub edges_by_kind: BTreeMap<String, usize>,
    /// Communities found (0 when `communities.csv` is missing).
    pub communities: usize,
    /// The largest, by nodes.
    pub largest: Vec<CommunitySummary>,
    /// Whether `centrality.csv` scores the nodes (else the degree does).
    pub centrality: bool,
    /// Earliest and latest dated edge, Unix seconds.
    pub first_time: Option<i64>,
    pub last_time: Option<i64>,
    /// Most nodes a view carries.
    pub max_nodes: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ViewNode {
    pub id: String,
    pub label: Option<String>,
    pub kind: String,
    pub country: Option<String>,
    pub community: Option<u32>,
    /// PageRank (or degree), to size the node.
    pub score: f64,
    pub betweenness: Option<f64>,
    /// Unix seconds (events).
    pub time: Option<i64>,
    /// The handling code, for a node only a partner's release declared.
    pub handling: Option<String>,
    /// Hops from the centre (ego views).
    pub distance: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ViewEdge {
    pub source: String,
    pub target: String,
    pub kind: String,
    /// Unix seconds.
    pub time: Option<i64>,
    /// The handling code, for a tie a partner released.
    pub handling: Option<String>,
}

/// Nodes and the edges between them.
#[derive(Serialize, ToSchema)]
pub struct View {
    pub nodes: Vec<ViewNode>,
    pub edges: Vec<ViewEdge>,
    /// Nodes the view would hold without the cap.
    pub total_nodes: usize,
    /// Edges between the nodes sent, without the cap.
    pub total_edges: usize,
    /// Whether nodes or edges were left out to keep the response small.
    pub truncated: bool,
}

fn node_kind_counts(g: &Graph) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut kinds = BTreeMap::new();
    let mut countries = BTreeMap::new();
    for n in g.nodes() {
        *kinds.entry(n.kind.as_str().to_string()).or_default() += 1;
        if let Some(c) = n.country {
            *countries.entry(c.as_str().to_string()).or_default() += 1;
        }
    }
    (kinds, countries)
}

fn member(l: &Loaded, u: NodeIx) -> Member {
    let n = &l.graph.nodes()[u as usize];
    Member {
        id: n.id.clone(),
        label: n.label.clone(),
        kind: n.kind.as_str().to_string(),
        country: n.country.map(|c| c.as_str().to_string()),
        score: l.score[u as usize],
    }
}

fn summary_of(l: &Loaded) -> NetworkSummary {
    let g = &l.graph;
    let (nodes_by_kind, nodes_by_country) = node_kind_counts(g);
    let mut edges_by_kind = BTreeMap::new();
    let (mut first, mut last) = (None::<i64>, None::<i64>);
    for e in g.edges() {
        *edges_by_kind
            .entry(e.kind.as_str().to_string())
            .or_default() += 1;
        if let Some(t) = e.time {
            first = Some(first.map_or(t, |f| f.min(t)));
            last = Some(last.map_or(t, |x| x.max(t)));
        }
    }
    let mut order: Vec<usize> = (0..l.members.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(l.members[c].len()), c));
    let largest = order
        .iter()
        .take(LISTED)
        .map(|&c| {
            let list = &l.members[c];
            let mut countries = BTreeMap::new();
            let mut persons = 0;
            for &u in list {
                let n = &g.nodes()[u as usize];
                persons += usize::from(n.kind == enlace_graph::NodeKind::Person);
                if let Some(k) = n.country {
                    *countries.entry(k.as_str().to_string()).or_default() += 1;
                }
            }
            CommunitySummary {
                id: c as u32,
                nodes: list.len(),
                persons,
                countries,
                top: list
                    .iter()
                    .take(TOP_MEMBERS)
                    .map(|&u| member(l, u))
                    .collect(),
            }
        })
        .collect();
    NetworkSummary {
        nodes: g.node_count(),
        edges: g.edge_count(),
        nodes_by_kind,
        nodes_by_country,
        edges_by_kind,
        communities: l.members.iter().filter(|m| !m.is_empty()).count(),
        largest,
        centrality: l.centrality.is_some(),
        first_time: first,
        last_time: last,
        max_nodes: MAX_NODES,
    }
}

/// The view of `nodes` (highest priority first; capped) with the edges between them.
fn view_of(l: &Loaded, nodes: &[(NodeIx, Option<u32>)]) -> View {
    let g = &l.graph;
    let kept = &nodes[..nodes.len().min(MAX_NODES)];
    let mut inside = vec![false; g.node_count()];
    for &(u, _) in kept {
        inside[u as usize] = true;
    }
    let mut edges = Vec::new();
    let mut total_edges = 0;
    for e in g.edges() {
        if !(inside[e.src as usize] && inside[e.dst as usize]) {
            continue;
        }
        total_edges += 1;
        if edges.len() < MAX_EDGES {
            edges.push(ViewEdge {
                source: g.nodes()[e.src as usize].id.clone(),
                target: g.nodes()[e.dst as usize].id.clone(),
                kind: e.kind.as_str().to_string(),
                time: e.time,
                handling: g.origin(e).map(|o| o.handling.as_str().to_string()),
            });
        }
    }
    let nodes_out = kept
        .iter()
        .map(|&(u, distance)| {
            let n = &g.nodes()[u as usize];
            ViewNode {
                id: n.id.clone(),
                label: n.label.clone(),
                kind: n.kind.as_str().to_string(),
                country: n.country.map(|c| c.as_str().to_string()),
                community: l.communities.as_ref().map(|m| m[u as usize]),
                score: l.score[u as usize],
                betweenness: l.centrality.as_ref().map(|c| c.betweenness[u as usize]),
                time: n.time,
                handling: n.origin.as_deref().map(|o| o.handling.as_str().to_string()),
                distance,
            }
        })
        .collect();
    View {
        truncated: kept.len() < nodes.len() || edges.len() < total_edges,
        total_nodes: nodes.len(),
        total_edges,
        nodes: nodes_out,
        edges,
    }
}

/// Loads the graph on a blocking thread, audits the read, and answers `f`'s result. `Err` in
/// `f` is (status, message) for the person.
async fn read_graph<T: Send + 'static>(
    state: &AppState,
    person: &Person,
    what: &'static str,
    f: impl FnOnce(&Loaded) -> Result<(T, NewEntry), (StatusCode, String)> + Send + 'static,
) -> Result<T, ApiError> {
    let dir = state.release.dir().network();
    let st = state.clone();
    let reader = person.0.name.clone();
    let out = blocking(state, move |_| {
        let Some(l) = load(dir).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))? else {
            return Err((
                StatusCode::NOT_FOUND,
                format!("{NO_NETWORK} (`enlace network build --node DIR`)"),
            ));
        };
        let (value, entry) = f(&l)?;
        let mut entry = entry.detail("read", what);
        entry.actor = reader;
        sync_audit(&st, entry).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        Ok(value)
    })
    .await?;
    out.map_err(|(status, message)| {
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            ApiError::internal("reading the network", message)
        } else if message.starts_with(NO_NETWORK) {
            ApiError::new(status, message).with_code("no_network")
        } else {
            ApiError::new(status, message)
        }
    })
}

/// What a node without a built network answers.
const NO_NETWORK: &str = "this node has no network yet";

fn graph_read() -> NewEntry {
    NewEntry::new(Action::GraphRead, String::new())
}

fn not_found(what: &str) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, what.to_string())
}

/// Counts by kind and country, and the largest communities. Analysts; audited.
#[utoipa::path(get, path = "/api/v1/network", tag = "ui", security(("session" = [])),
    responses(
        (status = 200, description = "The network's summary", body = NetworkSummary),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No network built at this node", body = ErrorBody)))]
pub(super) async fn summary(
    State(state): State<AppState>,
    person: Person,
) -> Result<Json<NetworkSummary>, ApiError> {
    const WHAT: &str = "read_network";
    require(&state, &person, &[Role::Analyst], WHAT, None).await?;
    read_graph(&state, &person, "summary", |l| {
        let s = summary_of(l);
        let entry = graph_read()
            .subject("network")
            .detail("nodes", s.nodes.to_string());
        Ok((s, entry))
    })
    .await
    .map(Json)
}

/// One community's nodes (highest-ranked first, at most 5,000) and the edges between them.
/// Analysts; audited.
#[utoipa::path(get, path = "/api/v1/network/community/{id}", tag = "ui",
    security(("session" = [])),
    params(("id" = u32, Path, description = "The community's number")),
    responses(
        (status = 200, description = "The community", body = View),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such community, or no network", body = ErrorBody)))]
pub(super) async fn community(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Result<Json<View>, ApiError> {
    const WHAT: &str = "read_network";
    let subject = format!("community:{id}");
    require(&state, &person, &[Role::Analyst], WHAT, Some(&subject)).await?;
    let Ok(c) = id.parse::<usize>() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such community"));
    };
    read_graph(&state, &person, "community", move |l| {
        let list = l
            .members
            .get(c)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| not_found("no such community"))?;
        let nodes: Vec<(NodeIx, Option<u32>)> = list.iter().map(|&u| (u, None)).collect();
        let v = view_of(l, &nodes);
        let entry = graph_read()
            .subject(subject)
            .detail("nodes", v.nodes.len().to_string());
        Ok((v, entry))
    })
    .await
    .map(Json)
}

#[derive(Deserialize, IntoParams)]
pub struct EgoParams {
    /// The centre's node id.
    pub node: String,
    /// Hops from the centre: 1 or 2 (default 1).
    pub depth: Option<u32>,
}

/// The nodes within one or two hops of a node (nearest first, at most 5,000) and the edges
/// between them. Analysts; audited (the centre's kind, never its id).
#[utoipa::path(get, path = "/api/v1/network/ego", tag = "ui", security(("session" = [])),
    params(EgoParams),
    responses(
        (status = 200, description = "The ego network", body = View),
        (status = 400, description = "Depth other than 1 or 2", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such node, or no network", body = ErrorBody)))]
pub(super) async fn ego(
    State(state): State<AppState>,
    person: Person,
    Query(params): Query<EgoParams>,
) -> Result<Json<View>, ApiError> {
    const WHAT: &str = "read_network";
    require(&state, &person, &[Role::Analyst], WHAT, Some("ego")).await?;
    let depth = params.depth.unwrap_or(1);
    if !(1..=2).contains(&depth) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "depth is 1 or 2"));
    }
    read_graph(&state, &person, "ego", move |l| {
        let g = &l.graph;
        let c = g.ix(&params.node).map_err(|_| not_found("no such node"))?;
        let mut around = ego_network(g.adjacency(), c, depth)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        // Nearest first, then the highest-ranked: what the cap leaves out is the periphery.
        around.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(l.score[b.0 as usize].total_cmp(&l.score[a.0 as usize]))
        });
        let nodes: Vec<(NodeIx, Option<u32>)> = around.iter().map(|&(u, d)| (u, Some(d))).collect();
        let v = view_of(l, &nodes);
        let entry = graph_read()
            .subject("ego")
            .detail("centre_kind", g.nodes()[c as usize].kind.as_str())
            .detail("depth", depth.to_string())
            .detail("nodes", v.nodes.len().to_string());
        Ok((v, entry))
    })
    .await
    .map(Json)
}

#[derive(Deserialize, IntoParams)]
pub struct PathParams {
    /// Start node id.
    pub from: String,
    /// End node id.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct PathAnswer {
    /// Whether the two are connected.
    pub found: bool,
    /// Edges on the path (0 when none).
    pub hops: usize,
    /// The path's node ids, from `from` to `to`.
    pub path: Vec<String>,
    /// The path's nodes and the edges along it.
    pub view: View,
}

/// A fewest-hops path between two nodes. Analysts; audited (kinds and length, never ids).
#[utoipa::path(get, path = "/api/v1/network/path", tag = "ui", security(("session" = [])),
    params(PathParams),
    responses(
        (status = 200, description = "The path, or found: false", body = PathAnswer),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such node, or no network", body = ErrorBody)))]
pub(super) async fn path(
    State(state): State<AppState>,
    person: Person,
    Query(params): Query<PathParams>,
) -> Result<Json<PathAnswer>, ApiError> {
    const WHAT: &str = "read_network";
    require(&state, &person, &[Role::Analyst], WHAT, Some("path")).await?;
    read_graph(&state, &person, "path", move |l| {
        let g = &l.graph;
        let a = g
            .ix(&params.from)
            .map_err(|_| not_found("no such node: from"))?;
        let b = g
            .ix(&params.to)
            .map_err(|_| not_found("no such node: to"))?;
        let p = shortest_path(g.adjacency(), a, b)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .unwrap_or_default();
        let nodes: Vec<(NodeIx, Option<u32>)> = p.iter().map(|&u| (u, None)).collect();
        let mut v = view_of(l, &nodes);
        // Only the ties along the path, not every edge among its nodes.
        let along: std::collections::HashSet<(&str, &str)> = p
            .windows(2)
            .flat_map(|w| {
                let (x, y) = (
                    g.nodes()[w[0] as usize].id.as_str(),
                    g.nodes()[w[1] as usize].id.as_str(),
                );
                [(x, y), (y, x)]
            })
            .collect();
        v.edges
            .retain(|e| along.contains(&(e.source.as_str(), e.target.as_str())));
        v.total_edges = v.edges.len();
        let answer = PathAnswer {
            found: !p.is_empty(),
            hops: p.len().saturating_sub(1),
            path: p
                .iter()
                .map(|&u| g.nodes()[u as usize].id.clone())
                .collect(),
            view: v,
        };
        let entry = graph_read()
            .subject("path")
            .detail("found", answer.found.to_string())
            .detail("hops", answer.hops.to_string());
        Ok((answer, entry))
    })
    .await
    .map(Json)
}

/// A community as GraphML or GEXF, with community and centrality columns, without what
/// partners released under handling code H2. Analysts; audited as an export.
#[utoipa::path(get, path = "/api/v1/network/export/{file}", tag = "ui",
    security(("session" = [])),
    params(("file" = String, Path, description = "`N.graphml` or `N.gexf`, N the community")),
    responses(
        (status = 200, description = "The file", content_type = "application/xml"),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such community or format, or no network", body = ErrorBody)))]
pub(super) async fn export(
    State(state): State<AppState>,
    person: Person,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    const WHAT: &str = "export_network";
    let subject = format!("community:{file}");
    require(&state, &person, &[Role::Analyst], WHAT, Some(&subject)).await?;
    let Some((c, format)) = file.rsplit_once('.').and_then(|(c, f)| {
        let f = match f {
            "graphml" => "graphml",
            "gexf" => "gexf",
            _ => return None,
        };
        c.parse::<usize>().ok().map(|c| (c, f))
    }) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no such export (N.graphml or N.gexf)",
        ));
    };
    let name = file.clone();
    let body = read_graph(&state, &person, "export", move |l| {
        let list = l
            .members
            .get(c)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| not_found("no such community"))?;
        let internal =
            |e: enlace_graph::GraphError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        let mut ixs = list.clone();
        ixs.sort_unstable();
        let sub = l.graph.induced(&ixs).map_err(internal)?;
        let comm: Option<Vec<u32>> = l
            .communities
            .as_ref()
            .map(|m| ixs.iter().map(|&u| m[u as usize]).collect());
        let keep: Vec<usize> = ixs.iter().map(|&u| u as usize).collect();
        let cent = l.centrality.as_ref().map(|x| x.select(&keep));
        // What partners released under H2 never leaves the node, in any format.
        let out = shareable(&sub, comm.as_deref(), cent.as_ref()).map_err(internal)?;
        let cols = out.columns();
        let mut bytes = Vec::new();
        match format {
            "graphml" => write_graphml(&out.graph, &cols, &mut bytes),
            _ => write_gexf(&out.graph, &cols, &mut bytes),
        }
        .map_err(internal)?;
        let entry = NewEntry::new(Action::Export, String::new())
            .subject(subject)
            .detail("format", format)
            .detail("nodes", out.graph.node_count().to_string())
            .detail("edges", out.graph.edge_count().to_string())
            .detail("left_out_h2_nodes", out.left_out.nodes.to_string())
            .detail("left_out_h2_edges", out.left_out.edges.to_string());
        Ok((bytes, entry))
    })
    .await?;
    Ok(super::download(
        "application/xml; charset=utf-8",
        &format!("enlace-community-{name}"),
        body,
    ))
}

/// The explorer's routes.
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route(SUMMARY, get(summary))
        .route(COMMUNITY, get(community))
        .route(EGO, get(ego))
        .route(PATH, get(path))
        .route(EXPORT, get(export))
}
