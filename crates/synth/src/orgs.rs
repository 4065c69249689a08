//! Organisations named in the records: the transport companies smuggling networks move people
//! with, and the commercial bus lines ordinary migrants are found on at Mexican checkpoints.
//!
//! Drawn from a random stream of its own (not the batch's), after everything else, so adding
//! them changed no other file of a scenario; deterministic like the rest.

use rand::Rng;

use crate::world::{Batch, MX};

/// A company a record names.
#[derive(Debug, Clone)]
pub struct Org {
    pub name: String,
    /// `transport_company` (a network's) or `bus_line` (commercial).
    pub kind: &'static str,
    /// The planted network whose front it is.
    pub network: Option<u32>,
}

/// A record naming an organisation: `used` (found on its vehicle at the event) or `member_of`
/// (the person works for it).
#[derive(Debug, Clone, Copy)]
pub struct OrgRow {
    pub app: u32,
    pub org: u32,
    pub relation: &'static str,
}

/// Commercial bus lines (fictitious), the same in every batch.
pub const BUS_LINES: [&str; 6] = [
    "Autobuses Costa Sur",
    "Líneas Unidas del Istmo",
    "Ómnibus Frontera Tacaná",
    "Expresos Soconusco-Arriaga",
    "Autobuses Golfo Norte",
    "Transportes Sierra Madre",
];

const PREFIXES: [&str; 6] = [
    "Autotransportes",
    "Transportes",
    "Fletes",
    "Turismo",
    "Logística",
    "Servicios de Carga",
];
const SURNAMES: [&str; 20] = [
    "Aguilar",
    "Barrios",
    "Cifuentes",
    "Domínguez",
    "Escobar",
    "Fuentes",
    "Galdámez",
    "Hidalgo",
    "Ibarra",
    "Juárez",
    "Lara",
    "Mejía",
    "Nava",
    "Ordóñez",
    "Paredes",
    "Quintero",
    "Robles",
    "Solís",
    "Trejo",
    "Villatoro",
];
const SUFFIXES: [&str; 6] = [
    "del Sureste",
    "del Soconusco",
    "de la Frontera Sur",
    "del Golfo",
    "Express",
    "del Istmo",
];

/// The front company of network `gid`: distinct for every network (a bijection of the first
/// 720 ids onto the name table, then numbered).
pub fn company_name(gid: u32) -> String {
    let combos = (PREFIXES.len() * SURNAMES.len() * SUFFIXES.len()) as u64;
    let i = (u64::from(gid) * 397) % combos;
    let p = PREFIXES[(i % 6) as usize];
    let s = SURNAMES[((i / 6) % 20) as usize];
    let x = SUFFIXES[((i / 120) % 6) as usize];
    let round = u64::from(gid) / combos;
    if round == 0 {
        format!("{p} {s} {x} S.A. de C.V.")
    } else {
        format!("{p} {s} {x} {} S.A. de C.V.", round + 1)
    }
}

/// Share of a network's Mexican interceptions whose record names the network's company.
const NETWORK_EVENT_NAMES_COMPANY: f64 = 0.6;
/// Share of a driver's records that give the company as employer.
const DRIVER_NAMES_EMPLOYER: f64 = 0.5;
/// Share of ordinary Mexican encounters made on a commercial bus.
const PLAIN_EVENT_ON_BUS: f64 = 0.08;

/// The organisations of one batch and the records naming them. Bus lines come first (indices
/// 0–5), then one company per network.
pub fn organisations<R: Rng>(rng: &mut R, batch: &Batch) -> (Vec<Org>, Vec<OrgRow>) {
    let mut orgs: Vec<Org> = BUS_LINES
        .iter()
        .map(|name| Org {
            name: (*name).to_owned(),
            kind: "bus_line",
            network: None,
        })
        .collect();
    let mut company_of = std::collections::BTreeMap::new();
    for n in &batch.networks {
        company_of.insert(n.gid, orgs.len() as u32);
        orgs.push(Org {
            name: company_name(n.gid),
            kind: "transport_company",
            network: Some(n.gid),
        });
    }
    let mut apps_at: Vec<Vec<u32>> = vec![Vec::new(); batch.events.len()];
    for (i, a) in batch.apps.iter().enumerate() {
        apps_at[a.event as usize].push(i as u32);
    }
    let mut rows = Vec::new();
    for (ev, e) in batch.events.iter().enumerate() {
        if e.source != MX || apps_at[ev].is_empty() {
            continue;
        }
        let org = match e.network {
            Some(gid) if e.kind == "interception" => {
                if !rng.random_bool(NETWORK_EVENT_NAMES_COMPANY) {
                    continue;
                }
                match company_of.get(&gid) {
                    Some(&c) => c,
                    None => continue,
                }
            }
            None => {
                if !rng.random_bool(PLAIN_EVENT_ON_BUS) {
                    continue;
                }
                rng.random_range(0..BUS_LINES.len() as u32)
            }
            Some(_) => continue,
        };
        for &app in &apps_at[ev] {
            rows.push(OrgRow {
                app,
                org,
                relation: "used",
            });
        }
    }
    let mut by_person: Vec<Vec<u32>> = vec![Vec::new(); batch.persons.len()];
    for (i, a) in batch.apps.iter().enumerate() {
        by_person[a.person as usize].push(i as u32);
    }
    for n in &batch.networks {
        let Some(&c) = company_of.get(&n.gid) else {
            continue;
        };
        for &d in &n.drivers {
            for &app in &by_person[d as usize] {
                if rng.random_bool(DRIVER_NAMES_EMPLOYER) {
                    rows.push(OrgRow {
                        app,
                        org: c,
                        relation: "member_of",
                    });
                }
            }
        }
    }
    (orgs, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_gets_its_own_company() {
        let names: std::collections::BTreeSet<String> = (0..2000).map(company_name).collect();
        assert_eq!(names.len(), 2000);
        assert!(company_name(0).ends_with("S.A. de C.V."));
    }
}
