//! The network explorer's server side, against the demo's served MX node: analysts only (403
//! for every other role, and each refusal audited), every read audited as `graph_read`, ego
//! networks and paths that agree with the graph and with `enlace network path`, and exports
//! that parse and carry nothing a partner released under handling code H2.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use crate::common::*;
use enlace_node::client::{Request, Response};

fn get(s: &Served, token: &str, path: &str) -> Response {
    let mut r = Request::get(path);
    r.bearer = Some(token.to_string());
    s.call(r)
}

fn json_ok(s: &Served, token: &str, path: &str) -> serde_json::Value {
    let r = get(s, token, path);
    assert_eq!(r.status, 200, "{path}: {}", body(&r));
    r.json().unwrap()
}

fn ids(view: &serde_json::Value) -> BTreeSet<String> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn q(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The checks; `dir` is the node's directory, `role_token` signs in its `e2e-ROLE` people.
pub fn server_side(s: &Served, dir: &Path, role_token: impl Fn(&str) -> String) {
    let analyst = role_token("analyst");
    let paths = [
        "/api/v1/network".to_string(),
        "/api/v1/network/community/0".to_string(),
        "/api/v1/network/ego?node=x&depth=1".to_string(),
        "/api/v1/network/path?from=x&to=y".to_string(),
        "/api/v1/network/export/0.graphml".to_string(),
    ];
    let refusals = audit_count(dir, "refusal");
    for role in ["officer", "approver", "admin"] {
        let token = role_token(role);
        for p in &paths {
            assert_eq!(get(s, &token, p).status, 403, "{role} {p}");
        }
    }
    assert_eq!(audit_count(dir, "refusal"), refusals + 15);
    assert_eq!(s.call(Request::get("/api/v1/network")).status, 401);

    // The summary: the demo built this node's network with communities and centrality.
    let reads = audit_count(dir, "graph_read");
    let summary = json_ok(s, &analyst, "/api/v1/network");
    assert_eq!(audit_count(dir, "graph_read"), reads + 1);
    let nodes = summary["nodes"].as_u64().unwrap();
    assert!(nodes > 100, "{nodes} nodes");
    assert!(summary["centrality"].as_bool().unwrap());
    assert!(summary["nodes_by_country"]["MX"].as_u64().unwrap() > 0);
    let largest = summary["largest"].as_array().unwrap();
    assert!(largest.len() >= 2);
    let sizes: Vec<u64> = largest
        .iter()
        .map(|c| c["nodes"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let first = &largest[0];
    let top = first["top"].as_array().unwrap();
    assert!(!top.is_empty());
    let scores: Vec<f64> = top.iter().map(|m| m["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // A community: its nodes, all of that community, and the edges between them.
    let c = first["id"].as_u64().unwrap();
    let view = json_ok(s, &analyst, &format!("/api/v1/network/community/{c}"));
    let members = ids(&view);
    assert_eq!(members.len() as u64, first["nodes"].as_u64().unwrap());
    for n in view["nodes"].as_array().unwrap() {
        assert_eq!(n["community"].as_u64(), Some(c));
    }
    let edges = view["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    for e in edges {
        assert!(members.contains(e["source"].as_str().unwrap()));
        assert!(members.contains(e["target"].as_str().unwrap()));
    }
    assert_eq!(
        get(s, &analyst, "/api/v1/network/community/999999").status,
        404
    );

    // Ego: depth 1 is the centre and the nodes one edge away; depth 2 holds depth 1.
    let centre = top[0]["id"].as_str().unwrap();
    let ego1 = json_ok(
        s,
        &analyst,
        &format!("/api/v1/network/ego?node={}&depth=1", q(centre)),
    );
    let near: BTreeSet<String> = ego1["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let (a, b) = (e["source"].as_str().unwrap(), e["target"].as_str().unwrap());
            (a == centre)
                .then(|| b.to_string())
                .or_else(|| (b == centre).then(|| a.to_string()))
        })
        .collect();
    let mut ring = ids(&ego1);
    assert!(ring.remove(centre));
    assert_eq!(ring, near, "depth 1 is exactly the neighbours");
    for n in ego1["nodes"].as_array().unwrap() {
        let d = if n["id"] == centre { 0 } else { 1 };
        assert_eq!(n["distance"].as_u64(), Some(d));
    }
    let ego2 = json_ok(
        s,
        &analyst,
        &format!("/api/v1/network/ego?node={}&depth=2", q(centre)),
    );
    assert!(ids(&ego2).is_superset(&ids(&ego1)));
    assert!(ids(&ego2).len() > ids(&ego1).len());
    assert_eq!(
        get(
            s,
            &analyst,
            &format!("/api/v1/network/ego?node={}&depth=3", q(centre))
        )
        .status,
        400
    );
    assert_eq!(
        get(s, &analyst, "/api/v1/network/ego?node=person%3Anobody").status,
        404
    );

    // A path between the community's two highest-ranked members: consecutive nodes joined by
    // an edge of the answer, as long as `enlace network path` finds.
    let (a, b) = (centre, top[1]["id"].as_str().unwrap());
    let answer = json_ok(
        s,
        &analyst,
        &format!("/api/v1/network/path?from={}&to={}", q(a), q(b)),
    );
    assert_eq!(answer["found"], true);
    let path: Vec<&str> = answer["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(path.first(), Some(&a));
    assert_eq!(path.last(), Some(&b));
    assert_eq!(answer["hops"].as_u64().unwrap() as usize, path.len() - 1);
    let joined: HashSet<(String, String)> = answer["view"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            let (x, y) = (
                e["source"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            );
            [(x.clone(), y.clone()), (y, x)]
        })
        .collect();
    for w in path.windows(2) {
        assert!(
            joined.contains(&(w[0].to_string(), w[1].to_string())),
            "{} - {}",
            w[0],
            w[1]
        );
    }
    let cli = run_ok(
        Command::new(BIN)
            .args(["network", "path", "--json", "--graph"])
            .arg(dir.join("network"))
            .args([a, b]),
    );
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    assert_eq!(cli["path"]["hops"], answer["hops"]);

    // Exports: GraphML and GEXF parse, hold the community, and nothing under H2 — though
    // the view shows it to the analyst at this node. The demo's release to MX (under H2)
    // brought encounters into the graph: export their community too.
    let exports = audit_count(dir, "export");
    let released = h2_nodes(dir);
    assert!(
        !released.is_empty(),
        "the demo's H2 release is in the MX graph"
    );
    let with_h2 = community_of(dir, &released[0]);
    let mut exported_files = 0;
    for community in [c, with_h2] {
        let view = json_ok(
            s,
            &analyst,
            &format!("/api/v1/network/community/{community}"),
        );
        let members = ids(&view);
        let h2_in_view: Vec<String> = view["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["handling"] == "H2")
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect();
        if community == with_h2 {
            assert!(
                h2_in_view.contains(&released[0]),
                "the analyst sees the H2 node"
            );
        }
        for format in ["graphml", "gexf"] {
            let r = get(
                s,
                &analyst,
                &format!("/api/v1/network/export/{community}.{format}"),
            );
            assert_eq!(r.status, 200, "{}", body(&r));
            exported_files += 1;
            let text = body(&r);
            assert!(text.starts_with("<?xml"), "{format}");
            let doc = roxmltree::Document::parse(&text).unwrap();
            let exported: BTreeSet<String> = doc
                .descendants()
                .filter(|n| n.has_tag_name("node"))
                .filter_map(|n| n.attribute("id").map(str::to_string))
                .collect();
            assert_eq!(exported.len(), members.len() - h2_in_view.len(), "{format}");
            for id in &h2_in_view {
                assert!(!exported.contains(id), "{format} exports an H2 node");
            }
            assert!(
                !text.contains(">H2<") && !text.contains("value=\"H2\""),
                "{format} holds H2 data"
            );
        }
    }
    assert_eq!(audit_count(dir, "export"), exports + exported_files);
    assert_eq!(
        get(s, &analyst, &format!("/api/v1/network/export/{c}.csv")).status,
        404
    );
    // Reads: summary, community, 2 ego, path; the failed ones (404, 400) are not reads.
    assert!(audit_count(dir, "graph_read") >= reads + 5);
}

/// Ids of the saved graph's nodes only a release under H2 declared (`nodes.csv` names their
/// provenance in `origins.csv`).
fn h2_nodes(dir: &Path) -> Vec<String> {
    let graph = dir.join("network/graph");
    let mut origins = csv::Reader::from_path(graph.join("origins.csv")).unwrap();
    let h2: HashSet<String> = origins
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == "H2")
        .map(|r| r[0].to_string())
        .collect();
    let mut nodes = csv::Reader::from_path(graph.join("nodes.csv")).unwrap();
    nodes
        .records()
        .map(|r| r.unwrap())
        .filter(|r| h2.contains(&r[5]))
        .map(|r| r[0].to_string())
        .collect()
}

fn community_of(dir: &Path, id: &str) -> u64 {
    let mut r = csv::Reader::from_path(dir.join("network/communities.csv")).unwrap();
    r.records()
        .map(|r| r.unwrap())
        .find(|r| &r[0] == id)
        .map(|r| r[1].parse().unwrap())
        .unwrap()
}
