//! `enlace network brokerage`: the nodes whose ties reach across groups — communities (the last
//! `communities` result) or countries — ranked by how many other groups they reach and how
//! evenly their ties spread (the participation coefficient).

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use enlace_graph::{Country, Graph, brokerage};
use serde_json::json;

use super::{GraphDir, kind_arg, read_communities};

#[derive(Clone, Copy, ValueEnum)]
pub enum GroupBy {
    Countries,
    Communities,
}

#[derive(Args)]
pub struct BrokerageArgs {
    #[command(flatten)]
    pub graph: GraphDir,
    /// The groups: the nodes' countries, or the last `communities` result.
    #[arg(long, value_enum, default_value = "countries")]
    pub by: GroupBy,
    /// List only nodes of this kind (person, phone, vehicle, …).
    #[arg(long, default_value = "person")]
    pub kind: String,
    /// Nodes to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: BrokerageArgs) -> Result<()> {
    let kind = kind_arg(&args.kind)?;
    let g = args.graph.load()?;
    let groups = match args.by {
        GroupBy::Countries => country_groups(&g),
        GroupBy::Communities => read_communities(&args.graph, &g)?.ok_or_else(|| {
            anyhow!(
                "no communities for this graph: run `enlace network communities --graph {}` first",
                args.graph.dir.display()
            )
        })?,
    };
    let b = brokerage(g.adjacency(), &groups).context("brokerage")?;
    let mut order: Vec<usize> = (0..g.node_count())
        .filter(|&i| g.nodes()[i].kind == kind && b[i].groups_reached > 0)
        .collect();
    order.sort_by(|&x, &y| {
        (b[y].groups_reached.cmp(&b[x].groups_reached))
            .then(b[y].participation.total_cmp(&b[x].participation))
            .then(b[y].external.total_cmp(&b[x].external))
            .then(x.cmp(&y))
    });
    let brokers = order.len();
    order.truncate(args.top);
    let by = match args.by {
        GroupBy::Countries => "countries",
        GroupBy::Communities => "communities",
    };
    if args.json {
        let top: Vec<_> = order
            .iter()
            .map(|&i| {
                json!({
                    "id": g.nodes()[i].id,
                    "group": groups[i],
                    "groups_reached": b[i].groups_reached,
                    "participation": b[i].participation,
                    "external_weight": b[i].external,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"by": by, "brokers": brokers, "top": top}))?
        );
        return Ok(());
    }
    let other = match args.by {
        GroupBy::Countries => "another country's side",
        GroupBy::Communities => "another community",
    };
    outln!(
        "{brokers} {kind} nodes have ties to {other}; the top {}:",
        order.len()
    );
    for &i in &order {
        outln!(
            "  {:<40} reaches {} other group{}  participation {:.3}  external weight {}",
            g.nodes()[i].id,
            b[i].groups_reached,
            if b[i].groups_reached == 1 { "" } else { "s" },
            b[i].participation,
            b[i].external
        );
    }
    Ok(())
}

/// The group of a node without a country.
const NO_COUNTRY: u32 = 3;

fn country_code(c: Country) -> u32 {
    match c {
        Country::Us => 0,
        Country::Mx => 1,
        Country::Gt => 2,
    }
}

/// Each node's country as its group. A node without one — a phone, an account, a person whose
/// records two agencies hold — takes the group most of its neighbours with one are in (ties to
/// the lower code), so a phone three Mexican persons use sits on the Mexican side and the
/// Guatemalan who calls it ties the two. Groups spread this way for a few rounds (a phone used
/// only by cross-border persons takes theirs once they have one); a node still without one is
/// in a group of its own.
fn country_groups(g: &Graph) -> Vec<u32> {
    /// Rounds of spreading: persons, phones and events alternate, so three reach a phone
    /// through a person through an event.
    const ROUNDS: usize = 3;
    let mut group: Vec<Option<u32>> = g
        .nodes()
        .iter()
        .map(|n| n.country.map(country_code))
        .collect();
    let adj = g.adjacency();
    for _ in 0..ROUNDS {
        let next: Vec<Option<u32>> = (0..g.node_count())
            .map(|u| {
                group[u].or_else(|| {
                    let mut count = [0usize; 3];
                    for &v in adj.neighbors(u as u32) {
                        if let Some(c) = group[v as usize] {
                            count[c as usize] += 1;
                        }
                    }
                    let best = (0..3).max_by(|&a, &b| count[a].cmp(&count[b]).then(b.cmp(&a)));
                    best.filter(|&c| count[c] > 0).map(|c| c as u32)
                })
            })
            .collect();
        if next == group {
            break;
        }
        group = next;
    }
    group.into_iter().map(|c| c.unwrap_or(NO_COUNTRY)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_graph::{EdgeKind, Node, NodeKind, Update};

    /// Two Mexican persons and a Guatemalan share a phone; a US person has a phone of their own.
    #[test]
    fn a_phone_sits_with_the_country_most_of_its_users_are_from() {
        let mut up = Update::new();
        up.node(Node::new("person:m1", NodeKind::Person).country(Country::Mx))
            .node(Node::new("person:m2", NodeKind::Person).country(Country::Mx))
            .node(Node::new("person:g", NodeKind::Person).country(Country::Gt))
            .node(Node::new("person:u", NodeKind::Person).country(Country::Us))
            .node(Node::new("phone:shared", NodeKind::Phone))
            .node(Node::new("phone:own", NodeKind::Phone))
            .node(Node::new("phone:alone", NodeKind::Phone))
            .edge("person:m1", "phone:shared", EdgeKind::Used)
            .edge("person:m2", "phone:shared", EdgeKind::Used)
            .edge("person:g", "phone:shared", EdgeKind::Used)
            .edge("person:u", "phone:own", EdgeKind::Used)
            .edge("phone:alone", "phone:own", EdgeKind::Associated);
        let g = up.build().unwrap();
        let groups = country_groups(&g);
        let of = |id: &str| groups[g.ix(id).unwrap() as usize];
        assert_eq!(of("phone:shared"), country_code(Country::Mx));
        assert_eq!(of("phone:own"), country_code(Country::Us));
        // Spread on: the phone tied only to the US person's phone is on the US side.
        assert_eq!(of("phone:alone"), country_code(Country::Us));
        let b = brokerage(g.adjacency(), &groups).unwrap();
        let at = |id: &str| &b[g.ix(id).unwrap() as usize];
        // The Guatemalan's one tie is to the Mexican side; the Mexicans stay at home.
        assert_eq!(at("person:g").groups_reached, 1);
        assert_eq!(at("person:m1").groups_reached, 0);
        assert_eq!(at("phone:shared").groups_reached, 1);
    }
}
