//! The demo's chapters after the linkage, over the nodes' HTTPS APIs as people use them: a
//! Mexican analyst sends a follow-up request about a hit to the Guatemalan node, a Guatemalan
//! approver confirms it and the policy withholds one field, the signed release arrives at the
//! Mexican node with its handling code; a border officer's online query; and every node's audit
//! chain verified. Nothing personal is printed: field names, codes and references only.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use enlace_node::client::{self, Request, Response};
use enlace_node::identity::Fingerprint;
use enlace_node::node_dir::NodeDir;
use enlace_node::project::ResultRow;
use enlace_node::project::holder::Holder;
use enlace_node::users::Role;
use enlace_store::Store;

use crate::demo_linkage::PROJECT;
use crate::demo_nodes::Federation;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A person signed in to one node of the demo.
struct Signed {
    url: String,
    pin: Fingerprint,
    token: String,
}

impl Signed {
    fn new(fed: &Federation, node: &str, role: Role) -> Result<Signed> {
        let account = fed
            .accounts
            .iter()
            .find(|a| a.node == node && a.role == role)
            .with_context(|| format!("no {role} account at {node}"))?;
        let dir = NodeDir::new(fed.dir(node)).load()?;
        let url = fed
            .urls
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, u)| u.clone())
            .with_context(|| format!("no URL for {node}"))?;
        let pin = dir.identity.fingerprint();
        let body = serde_json::json!({"name": account.name, "password": account.password});
        let r = client::send_blocking(
            &url,
            pin,
            None,
            Request::post_json("/api/v1/session", body.to_string()),
            TIMEOUT,
        )?;
        let token = r
            .json()
            .and_then(|v| v["token"].as_str().map(str::to_owned))
            .with_context(|| format!("signing in to {node} as {}: {}", account.name, r.status))?;
        Ok(Signed { url, pin, token })
    }

    fn call(&self, request: Request) -> Result<Response> {
        Ok(client::send_blocking(
            &self.url,
            self.pin,
            None,
            request.bearer(&self.token),
            TIMEOUT,
        )?)
    }
}

fn error_of(r: &Response) -> String {
    r.json()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("status {}", r.status))
}

/// A Guatemalan record that Mexico's results name, of a person who is not a Guatemalan national
/// (Guatemala's policy releases nothing about its own nationals without a court order): its
/// opaque reference, as Mexico knows it.
fn hit_to_ask_about(fed: &Federation) -> Result<String> {
    let gt = NodeDir::new(fed.dir("gt")).load()?;
    let (_, gt_rows) = Holder::new(&gt).results(PROJECT)?;
    let refs = crate::project_cmd::read_refs(&gt.dir.holder_projects().join(PROJECT))?;
    let store = Store::open(&gt.dir.records())?;
    let mx = NodeDir::new(fed.dir("mx")).load()?;
    let (_, mx_rows) = Holder::new(&mx).results(PROJECT)?;
    let asked: std::collections::BTreeSet<&str> = mx_rows
        .iter()
        .filter(|r: &&ResultRow| r.partner == "gt" && r.band == "certain")
        .map(|r| r.partner_ref.as_str())
        .collect();
    for row in gt_rows.iter().filter(|r| asked.contains(r.opaque.as_str())) {
        let Some(key) = refs.get(&row.reference) else {
            continue;
        };
        let foreign = store
            .record("gt-registros", key)?
            .is_some_and(|r| r.record.nationality.as_deref().is_some_and(|n| n != "GT"));
        if foreign {
            return Ok(row.opaque.clone());
        }
    }
    bail!("no certain MX–GT hit of a non-Guatemalan national to ask about")
}

pub fn run(fed: &Federation) -> Result<()> {
    outln!(
        "\n8. After a hit: Mexico asks Guatemala for more, with a purpose; a person at Guatemala decides, under Guatemala's policy:"
    );
    let reference = hit_to_ask_about(fed)?;
    let fields = [
        "given_names",
        "surnames",
        "birth_date",
        "nationality",
        "phones",
        // Released encounters join the Mexican network (under H2: seen there, never exported).
        "encounters",
    ];
    let mx = Signed::new(fed, "mx", Role::Analyst)?;
    let request = serde_json::json!({
        "peer": "gt",
        "hit": {"project": PROJECT, "partner_reference": reference},
        "purpose": "identify a member of a smuggling network moving people through Tapachula",
        "offence": "smuggling_of_migrants",
        "legal_basis": "bilateral agreement on migrant smuggling, art. 4",
        "handling": "H2",
        "fields": fields,
        "flags": [],
    });
    let sent = mx.call(Request::post_json("/api/v1/outbox", request.to_string()))?;
    if sent.status != 202 {
        bail!("the MX node did not send the request: {}", error_of(&sent));
    }
    outln!(
        "   [MX] mx-analyst sends a follow-up request about GT record {reference}: smuggling_of_migrants, handling H2, asking for {}",
        fields.join(", ")
    );
    let gt = Signed::new(fed, "gt", Role::Approver)?;
    let inbox = gt.call(Request::get("/api/v1/inbox"))?;
    let id = inbox
        .json()
        .and_then(|v| {
            v.as_array()?
                .iter()
                .find(|i| i["status"] == "pending")
                .and_then(|i| i["id"].as_str().map(str::to_owned))
        })
        .context("the request is not in Guatemala's inbox")?;
    let decision = serde_json::json!({"outcome": "confirm", "fields": fields});
    let decided = gt.call(Request::post_json(
        &format!("/api/v1/inbox/{id}/decision"),
        decision.to_string(),
    ))?;
    let made = decided
        .json()
        .filter(|_| decided.status == 200)
        .with_context(|| format!("Guatemala's decision failed: {}", error_of(&decided)))?;
    outln!(
        "   [GT] gt-approver confirms the match; the policy releases {} and withholds:",
        made["released"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    for (field, why) in made["withheld"].as_object().into_iter().flatten() {
        outln!("      {field} — {}", why.as_str().unwrap_or("?"));
    }
    outln!(
        "      signed by GT, kept {} days at the requester",
        made["retention_days"]
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let item = loop {
        let held = mx.call(Request::get("/api/v1/released"))?;
        if let Some(item) = held.json().and_then(|v| v.as_array()?.first().cloned()) {
            break item;
        }
        if Instant::now() > deadline {
            bail!("the release never reached the MX node");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let released: Vec<String> = item["body"]["released"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    outln!(
        "   [MX] the signed release arrived: fields {} under handling {} (values shown to signed-in analysts only; every read audited), retained until {}",
        released.join(", "),
        item["handling"].as_str().unwrap_or("?"),
        item["retain_until"]
            .as_i64()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "?".into())
    );
    let export = mx.call(Request::get(&format!(
        "/api/v1/released/{}/export",
        item["id"].as_str().unwrap_or_default()
    )))?;
    outln!(
        "   [MX] exporting it is refused ({}): {}",
        export.status,
        error_of(&export)
    );

    border_query(fed)?;

    outln!("\n10. Every node's audit log, chained by hash and signed by the node, verified:");
    for (id, _) in &fed.urls {
        let dir = NodeDir::new(fed.dir(id));
        let node = dir.load()?;
        let report = enlace_audit::verify(
            &dir.audit(),
            &node.identity.ed25519_public(),
            enlace_audit::Signatures::All,
        )?;
        if !report.is_intact() {
            bail!("the audit log of {id} is not intact: {:?}", report.problems);
        }
        outln!(
            "   [{}] {} entries, every signature checked: intact",
            id.to_uppercase(),
            report.entries
        );
    }
    Ok(())
}

/// A Mexican officer's online query for one traveller: the node encodes the details under the
/// project's secret and the unit answers at once.
fn border_query(fed: &Federation) -> Result<()> {
    outln!(
        "\n9. At the border, an officer at the Mexican node asks whether one traveller is known to the other agencies:"
    );
    let mx = NodeDir::new(fed.dir("mx")).load()?;
    let holder = Holder::new(&mx);
    let (joined, secret) = holder.joined(PROJECT)?;
    let encoder = enlace_encode::Encoder::new(&secret, joined.spec.schema.clone())?;
    let store = Store::open(&mx.dir.records())?;
    let (_, rows) = holder.results(PROJECT)?;
    let refs = crate::project_cmd::read_refs(&mx.dir.holder_projects().join(PROJECT))?;
    let key = rows
        .iter()
        .find(|r| r.band == "certain")
        .and_then(|r| refs.get(&r.reference))
        .context("no certain hit at MX")?;
    let record = store
        .record("mx-registros", key)?
        .context("the record is gone")?
        .record;
    // Someone no agency has recorded (the generator never makes these names).
    let stranger = crate::query_cmd::record_from_json(
        r#"{"given": "Zacarías", "surname1": "Quiñónez", "surname2": "Üxmal",
            "birth_date": "1931-02-03", "sex": "M", "nationality": "GT"}"#,
    )?;
    for (label, record) in [
        ("a traveller already in the records", record),
        ("a traveller no agency has recorded", stranger),
    ] {
        let t = Instant::now();
        let answer = holder.query(PROJECT, crate::query_cmd::encode_one(&encoder, &record)?)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let matches = answer["matches"].as_array().cloned().unwrap_or_default();
        outln!(
            "   [MX] {label}: {} in {ms:.0} ms{}",
            if matches.is_empty() { "NO HIT" } else { "HIT" },
            matches
                .iter()
                .map(|m| format!(
                    "; {} {} ({})",
                    m["partner"].as_str().unwrap_or("?").to_uppercase(),
                    m["partner_ref"].as_str().unwrap_or("?"),
                    m["band"].as_str().unwrap_or("?")
                ))
                .collect::<String>()
        );
    }
    Ok(())
}
