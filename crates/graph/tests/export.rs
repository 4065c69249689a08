use enlace_graph::export::{
    write_edges_csv, write_gexf, write_graphml, write_json, write_nodes_csv,
};
use enlace_graph::{
    Column, Country, EdgeKind, Graph, Handling, Node, NodeKind, Provenance, Update, Values,
};

const DAY: i64 = 86_400;
const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn sample() -> Graph {
    let mut up = Update::new();
    up.node(
        Node::new("p1", NodeKind::Person)
            .country(Country::Mx)
            .label("Ana <\"A\">"),
    )
    .node(Node::new("p2", NodeKind::Person).country(Country::Gt))
    .node(Node::new("ph", NodeKind::Phone))
    .node(
        Node::new("x1", NodeKind::Crossing)
            .country(Country::Us)
            .at(T0 + 5 * DAY),
    )
    .node(Node::new("lonely", NodeKind::Address))
    .edge_with("p1", "ph", EdgeKind::Used, 1.0, Some(T0))
    .edge_with("p1", "ph", EdgeKind::Used, 1.0, Some(T0 + DAY))
    .edge_with("ph", "p1", EdgeKind::Used, 1.0, Some(T0 + DAY))
    .edge_with("p2", "ph", EdgeKind::Owned, 2.0, None)
    .edge_with("p1", "x1", EdgeKind::InvolvedIn, 1.0, Some(T0 + 5 * DAY))
    .edge_with("p2", "x1", EdgeKind::InvolvedIn, 1.0, Some(T0 + 5 * DAY));
    up.build().unwrap()
}

#[test]
fn gexf_parses_back_with_dynamic_spells() {
    let g = sample();
    let community = [0u32, 0, 0, 1, 2];
    let mut buf = Vec::new();
    write_gexf(
        &g,
        &[Column {
            name: "community",
            values: Values::Int(&community),
        }],
        &mut buf,
    )
    .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "gexf");
    assert_eq!(root.tag_name().namespace(), Some("http://gexf.net/1.3"));
    assert_eq!(root.attribute("version"), Some("1.3"));
    let graph = root.children().find(|n| n.has_tag_name("graph")).unwrap();
    assert_eq!(graph.attribute("mode"), Some("dynamic"));
    assert_eq!(graph.attribute("timerepresentation"), Some("interval"));

    let nodes: Vec<_> = graph
        .descendants()
        .filter(|n| n.has_tag_name("node"))
        .collect();
    let edges: Vec<_> = graph
        .descendants()
        .filter(|n| n.has_tag_name("edge"))
        .collect();
    assert_eq!(nodes.len(), 5);
    // The three p1-ph "used" edges collapse into one with two distinct days.
    assert_eq!(edges.len(), 4);
    let ids: Vec<&str> = nodes.iter().map(|n| n.attribute("id").unwrap()).collect();
    for e in &edges {
        assert!(ids.contains(&e.attribute("source").unwrap()));
        assert!(ids.contains(&e.attribute("target").unwrap()));
    }
    let used = edges
        .iter()
        .find(|e| e.attribute("kind") == Some("used"))
        .unwrap();
    assert_eq!(used.attribute("weight"), Some("3"));
    let spells: Vec<_> = used
        .descendants()
        .filter(|n| n.has_tag_name("spell"))
        .map(|s| s.attribute("start").unwrap().to_owned())
        .collect();
    assert_eq!(spells, ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]);
    // The undated "owned" edge has no spell: it is always there.
    let owned = edges
        .iter()
        .find(|e| e.attribute("kind") == Some("owned"))
        .unwrap();
    assert_eq!(
        owned
            .descendants()
            .filter(|n| n.has_tag_name("spell"))
            .count(),
        0
    );
    // p1 lives from its first edge to the crossing; the lonely address has no spell.
    let spell_of = |label: &str| {
        let node = nodes
            .iter()
            .find(|n| n.attribute("label") == Some(label))
            .unwrap();
        node.descendants()
            .find(|n| n.has_tag_name("spell"))
            .map(|s| {
                (
                    s.attribute("start").unwrap().to_owned(),
                    s.attribute("end").unwrap().to_owned(),
                )
            })
    };
    assert_eq!(
        spell_of("Ana <\"A\">"),
        Some(("2024-01-01T00:00:00Z".into(), "2024-01-06T00:00:00Z".into()))
    );
    assert_eq!(spell_of("lonely"), None);
    // Every attvalue refers to a declared attribute of its class.
    let declared = |class: &str| -> Vec<String> {
        graph
            .children()
            .filter(|n| n.has_tag_name("attributes") && n.attribute("class") == Some(class))
            .flat_map(|a| a.children().filter(|n| n.has_tag_name("attribute")))
            .map(|a| a.attribute("id").unwrap().to_owned())
            .collect()
    };
    let (node_attrs, edge_attrs) = (declared("node"), declared("edge"));
    assert!(node_attrs.contains(&"x0".to_owned()));
    for n in &nodes {
        for v in n.descendants().filter(|v| v.has_tag_name("attvalue")) {
            assert!(node_attrs.contains(&v.attribute("for").unwrap().to_owned()));
        }
    }
    for e in &edges {
        for v in e.descendants().filter(|v| v.has_tag_name("attvalue")) {
            assert!(edge_attrs.contains(&v.attribute("for").unwrap().to_owned()));
        }
    }
    let crossing = nodes
        .iter()
        .find(|n| n.attribute("label") == Some("x1"))
        .unwrap();
    let community_value = crossing
        .descendants()
        .find(|v| v.has_tag_name("attvalue") && v.attribute("for") == Some("x0"))
        .unwrap();
    assert_eq!(community_value.attribute("value"), Some("1"));
}

#[test]
fn graphml_parses_back() {
    let g = sample();
    let mut buf = Vec::new();
    write_graphml(&g, &[], &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let graph = doc.descendants().find(|n| n.has_tag_name("graph")).unwrap();
    assert_eq!(graph.attribute("edgedefault"), Some("undirected"));
    let nodes = graph.children().filter(|n| n.has_tag_name("node")).count();
    let edges: Vec<_> = graph
        .children()
        .filter(|n| n.has_tag_name("edge"))
        .collect();
    assert_eq!((nodes, edges.len()), (5, 6));
    let label = doc
        .descendants()
        .find(|n| n.has_tag_name("data") && n.attribute("key") == Some("n_label"))
        .unwrap();
    assert_eq!(label.text(), Some("Ana <\"A\">"));
    let keys: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("key"))
        .map(|k| k.attribute("id").unwrap().to_owned())
        .collect();
    for d in doc.descendants().filter(|n| n.has_tag_name("data")) {
        assert!(keys.contains(&d.attribute("key").unwrap().to_owned()));
    }
}

#[test]
fn csv_and_json_round_trip() {
    let g = sample();
    let pr = [0.1, 0.2, 0.3, 0.25, 0.15];
    let cols = [Column {
        name: "pagerank",
        values: Values::Float(&pr),
    }];
    let mut nodes = Vec::new();
    write_nodes_csv(&g, &cols, &mut nodes).unwrap();
    let mut r = csv::Reader::from_reader(nodes.as_slice());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id", "kind", "country", "label", "time", "partner", "handling", "pagerank"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[0][3], "Ana <\"A\">");
    assert_eq!(&rows[3][4], "2024-01-06T00:00:00Z");
    assert_eq!(rows[2][7].parse::<f64>().unwrap(), 0.3);

    let mut edges = Vec::new();
    write_edges_csv(&g, &mut edges).unwrap();
    let mut r = csv::Reader::from_reader(edges.as_slice());
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[3][2], "owned");
    assert_eq!(&rows[3][4], "");

    let mut js = Vec::new();
    write_json(&g, &cols, &mut js).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&js).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(v["edges"].as_array().unwrap().len(), 6);
    assert_eq!(v["nodes"][0]["country"], "MX");
    assert_eq!(v["nodes"][2]["country"], serde_json::Value::Null);
    assert_eq!(v["nodes"][1]["pagerank"], 0.2);
    assert_eq!(v["edges"][4]["kind"], "involved_in");

    // A column of the wrong length is an error, not a panic.
    let short = [Column {
        name: "bad",
        values: Values::Int(&[1, 2]),
    }];
    assert!(write_json(&g, &short, Vec::new()).is_err());
    assert!(write_gexf(&g, &short, Vec::new()).is_err());
}

fn with_releases(handling: Handling) -> Graph {
    let mut g = sample();
    let origin = Provenance {
        partner: "gt-a".into(),
        handling,
        release: "r1".into(),
        retain_until: Some(T0 + 400 * DAY),
    };
    let mut up = Update::new();
    up.node(Node::new("phone:+50255550123", NodeKind::Phone).released(origin.clone()))
        .released_edge(
            "p1",
            "phone:+50255550123",
            EdgeKind::ReleasedByPartner,
            Some(T0 + 2 * DAY),
            origin,
        );
    g.apply(up).unwrap();
    g
}

#[test]
fn released_data_carries_partner_and_handling_in_every_format() {
    let g = with_releases(Handling::H1);
    let mut gexf = Vec::new();
    write_gexf(&g, &[], &mut gexf).unwrap();
    let text = String::from_utf8(gexf).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let released = doc
        .descendants()
        .find(|n| n.has_tag_name("edge") && n.attribute("kind") == Some("released_by_partner"))
        .unwrap();
    let att = |node: roxmltree::Node<'_, '_>, key: &str| {
        node.descendants()
            .find(|a| a.has_tag_name("attvalue") && a.attribute("for") == Some(key))
            .and_then(|a| a.attribute("value").map(str::to_owned))
    };
    assert_eq!(att(released, "partner").as_deref(), Some("gt-a"));
    assert_eq!(att(released, "handling").as_deref(), Some("H1"));

    let mut graphml = Vec::new();
    write_graphml(&g, &[], &mut graphml).unwrap();
    let text = String::from_utf8(graphml).unwrap();
    assert!(
        text.contains(r#"<data key="e_handling">H1</data>"#),
        "{text}"
    );
    assert!(text.contains(r#"<data key="n_partner">gt-a</data>"#));

    let mut nodes = Vec::new();
    write_nodes_csv(&g, &[], &mut nodes).unwrap();
    let mut r = csv::Reader::from_reader(nodes.as_slice());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id", "kind", "country", "label", "time", "partner", "handling"
        ]
    );
    let last = r.records().last().unwrap().unwrap();
    assert_eq!((&last[5], &last[6]), ("gt-a", "H1"));
    let mut edges = Vec::new();
    write_edges_csv(&g, &mut edges).unwrap();
    let text = String::from_utf8(edges).unwrap();
    assert!(text.lines().last().unwrap().ends_with(",gt-a,H1"), "{text}");

    let mut js = Vec::new();
    write_json(&g, &[], &mut js).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&js).unwrap();
    assert_eq!(v["edges"][6]["handling"], "H1");
    assert_eq!(v["edges"][0]["handling"], serde_json::Value::Null);
}

#[test]
fn data_under_h2_never_leaves_through_an_export() {
    let g = with_releases(Handling::H2);
    // Every writer refuses the graph as it is.
    let refused = |r: enlace_graph::Result<()>| {
        matches!(
            r,
            Err(enlace_graph::GraphError::Restricted { nodes: 1, edges: 1 })
        )
    };
    assert!(refused(write_gexf(&g, &[], Vec::new())));
    assert!(refused(write_graphml(&g, &[], Vec::new())));
    assert!(refused(write_nodes_csv(&g, &[], Vec::new())));
    assert!(refused(write_edges_csv(&g, Vec::new())));
    assert!(refused(write_json(&g, &[], Vec::new())));
    // Its shareable view leaves the released phone and its edge out, and exports.
    let (shareable, left) = g.shareable().unwrap();
    assert_eq!((left.nodes, left.edges), (1, 1));
    let mut all = Vec::new();
    write_gexf(&shareable, &[], &mut all).unwrap();
    write_graphml(&shareable, &[], &mut all).unwrap();
    write_nodes_csv(&shareable, &[], &mut all).unwrap();
    write_edges_csv(&shareable, &mut all).unwrap();
    write_json(&shareable, &[], &mut all).unwrap();
    let text = String::from_utf8(all).unwrap();
    assert!(!text.contains("50255550123"));
    assert!(!text.contains("released_by_partner"));
    assert!(!text.contains("H2"));
}
