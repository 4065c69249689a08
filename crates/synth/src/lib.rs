//! Synthetic scenarios for Enlace: a deterministic generator of US, Mexican and Guatemalan
//! agency records about the same population of migrants, with the errors real agency data has,
//! hard non-matches (namesakes, twins, relatives), planted smuggling networks, and the ground
//! truth to score record linkage and network analysis against.
//!
//! This crate owns the scenario's shape (who exists, who travels with whom, which files they
//! appear in) and the error model; it does not parse or normalise anything. Output is
//! byte-identical for the same options and seed. The files and the error rates are described in
//! `docs/scenario.md`.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod ids;
mod names;
mod noise;
mod orgs;
mod people;
mod render;
mod world;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::people::{Maker, Samplers};
use crate::world::{Batch, Builder, Counters, GT, HardNegatives, MX, US};
use crate::writer::{Cp1252Csv, Csv, MAPPINGS, SOURCE_FILES, SOURCE_NAMES};

pub use crate::ids::{curp_check_digit, dpi_verifier};
pub use crate::world::{expected_footprints, footprint_name};

/// People are generated and written in batches of this many, so memory stays bounded whatever
/// the size. Part of the output's definition: changing it changes the files for a given seed.
const BATCH_PEOPLE: usize = 50_000;

/// Each network with its members and victims needs room among the people.
const PEOPLE_PER_NETWORK_MIN: usize = 40;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateOptions {
    /// Number of true people (members and victims of networks included).
    pub people: usize,
    pub seed: u64,
    /// Planted networks; `None` means one per 3,000 people (none below 300 people).
    pub networks: Option<usize>,
    /// Multiplier on every per-record error rate (1.0 = the documented rates; 0.0 = clean).
    pub noise: f64,
    /// Share of rows per file made deliberately invalid (impossible date, bad check digit,
    /// unparseable phone). At least one of each kind is planted when a file has 30 rows or more.
    pub bad_row_rate: f64,
    /// The "current" date: nothing happens after it. Fixed by default so output never depends
    /// on the clock.
    pub today: NaiveDate,
}

impl GenerateOptions {
    pub fn new(people: usize, seed: u64) -> GenerateOptions {
        GenerateOptions {
            people,
            seed,
            networks: None,
            noise: 1.0,
            bad_row_rate: 0.001,
            // A constant date; from_ymd_opt only fails for out-of-range dates.
            today: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or(NaiveDate::MIN),
        }
    }

    /// The number of networks that will be planted.
    pub fn network_count(&self) -> usize {
        let wanted = self.networks.unwrap_or(if self.people >= 300 {
            (self.people / 3000).max(1)
        } else {
            0
        });
        wanted.min(self.people / PEOPLE_PER_NETWORK_MIN)
    }
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions::new(10_000, 1)
    }
}

/// Counts per source file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PerSource {
    pub us: usize,
    pub mx: usize,
    pub gt: usize,
}

impl PerSource {
    fn add(&mut self, source: usize, n: usize) {
        match source {
            US => self.us += n,
            MX => self.mx += n,
            _ => self.gt += n,
        }
    }

    pub fn total(&self) -> usize {
        self.us + self.mx + self.gt
    }
}

/// What was generated.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    pub options: GenerateOptions,
    pub people: usize,
    pub networks: usize,
    /// Rows per source file.
    pub records: PerSource,
    /// Distinct events per source, and those shared by two or more records.
    pub events: PerSource,
    pub shared_events: PerSource,
    /// People by the set of files they appear in ("US", "US+MX", …).
    pub overlap: BTreeMap<String, usize>,
    /// People by role.
    pub roles: BTreeMap<String, usize>,
    pub hard_negatives: HardNegatives,
    /// Rows made invalid on purpose, per source (listed in truth/expected_rejects.csv).
    pub expected_rejects: PerSource,
    /// Pairs of records of the same person (truth/links.csv).
    pub true_pairs: usize,
    pub vehicles: usize,
    pub transfers: usize,
    /// Rows of `events/organisations.csv`: records naming a transport company or bus line.
    pub organisation_rows: usize,
    /// Files written, relative to the output folder.
    pub files: Vec<String>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("{path}: a value cannot be written in Windows-1252")]
    Encoding { path: PathBuf },
    #[error("invalid options: {0}")]
    Options(String),
    #[error("summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// All open output files.
struct Outputs {
    us: Csv,
    mx: Cp1252Csv,
    gt: Csv,
    records: Csv,
    people: Csv,
    links: Csv,
    events: Csv,
    networks: Csv,
    rejects: Csv,
    transfers_truth: Csv,
    vehicles: Csv,
    transfers: Csv,
    organisations: Csv,
    organisations_truth: Csv,
}

/// Generates a scenario into `out` (created if needed; files there are overwritten).
pub fn generate(opts: &GenerateOptions, out: &Path) -> Result<GenerateSummary, SynthError> {
    if !(0.0..=5.0).contains(&opts.noise) {
        return Err(SynthError::Options("noise must be between 0 and 5".into()));
    }
    if !(0.0..=0.5).contains(&opts.bad_row_rate) {
        return Err(SynthError::Options(
            "bad_row_rate must be between 0 and 0.5".into(),
        ));
    }
    for dir in ["", "mappings", "truth", "events"] {
        writer::create_dir(&out.join(dir))?;
    }
    let mut files = Vec::new();
    for (name, text) in MAPPINGS {
        writer::write_file(&out.join("mappings").join(name), text.as_bytes())?;
        files.push(format!("mappings/{name}"));
    }
    let csv = |rel: &str, header: &[&str], files: &mut Vec<String>| {
        files.push(rel.to_string());
        Csv::create(out.join(rel), header)
    };
    let mut o = Outputs {
        us: csv(SOURCE_FILES[US], render::header(US), &mut files)?,
        mx: {
            files.push(SOURCE_FILES[MX].to_string());
            Cp1252Csv::create(out.join(SOURCE_FILES[MX]), render::header(MX))?
        },
        gt: csv(SOURCE_FILES[GT], render::header(GT), &mut files)?,
        records: csv(
            "truth/records.csv",
            &["source", "record_id", "person_id"],
            &mut files,
        )?,
        people: csv(
            "truth/people.csv",
            &[
                "person_id",
                "role",
                "network_id",
                "travelled_with",
                "unit_kind",
                "nationality",
                "sex",
                "birth_date",
                "given_names",
                "surname1",
                "surname2",
                "footprint",
                "records_us",
                "records_mx",
                "records_gt",
                "relations",
            ],
            &mut files,
        )?,
        links: csv(
            "truth/links.csv",
            &[
                "person_id",
                "source_a",
                "record_id_a",
                "source_b",
                "record_id_b",
            ],
            &mut files,
        )?,
        events: csv(
            "truth/events.csv",
            &[
                "source",
                "event_id",
                "date",
                "place",
                "kind",
                "network_id",
                "records",
            ],
            &mut files,
        )?,
        networks: csv(
            "truth/networks.csv",
            &[
                "network_id",
                "organiser",
                "recruiters",
                "guides",
                "drivers",
                "safe_house_keepers",
                "victims",
                "migrants",
                "convoys",
                "phones",
                "plates",
                "accounts",
            ],
            &mut files,
        )?,
        rejects: csv(
            "truth/expected_rejects.csv",
            &["source", "record_id", "column", "problem"],
            &mut files,
        )?,
        transfers_truth: csv(
            "truth/transfers.csv",
            &["transfer_id", "network_id"],
            &mut files,
        )?,
        vehicles: csv(
            "events/vehicles.csv",
            &[
                "source",
                "record_id",
                "event_id",
                "plate",
                "plate_country",
                "plate_state",
            ],
            &mut files,
        )?,
        transfers: csv(
            "events/transfers.csv",
            &[
                "transfer_id",
                "date",
                "sender_source",
                "sender_record_id",
                "receiver_source",
                "receiver_record_id",
                "account",
                "amount_usd",
            ],
            &mut files,
        )?,
        organisations: csv(
            "events/organisations.csv",
            &[
                "source",
                "record_id",
                "event_id",
                "organisation",
                "organisation_kind",
                "country",
                "relation",
            ],
            &mut files,
        )?,
        organisations_truth: csv(
            "truth/organisations.csv",
            &["organisation", "organisation_kind", "network_id"],
            &mut files,
        )?,
    };
    files.push("summary.json".into());

    let samplers = Samplers::new();
    let maker = Maker {
        samplers: &samplers,
        today: opts.today,
    };
    let mut summary = GenerateSummary {
        options: opts.clone(),
        people: opts.people,
        networks: 0,
        records: PerSource::default(),
        events: PerSource::default(),
        shared_events: PerSource::default(),
        overlap: BTreeMap::new(),
        roles: BTreeMap::new(),
        hard_negatives: HardNegatives::default(),
        expected_rejects: PerSource::default(),
        true_pairs: 0,
        vehicles: 0,
        transfers: 0,
        organisation_rows: 0,
        files,
    };
    let total_networks = opts.network_count();
    let batches = opts.people.div_ceil(BATCH_PEOPLE);
    let mut record_counter = [0u64; 3];
    let mut transfer_counter = 0u64;
    // Two stages on two threads: one builds and renders batches in order, the other numbers
    // and writes them. Each batch's randomness comes from its own stream, and the order of
    // batches is fixed by the channel, so the output does not depend on timing.
    let maker = &maker;
    std::thread::scope(|scope| -> Result<(), SynthError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Prepared>(0);
        scope.spawn(move || {
            let mut counters = Counters::default();
            for b in 0..batches {
                let prepared = prepare(opts, maker, &mut counters, b, total_networks);
                if tx.send(prepared).is_err() {
                    // The writer stopped on an error; it reports it.
                    break;
                }
            }
        });
        for prepared in rx {
            write_batch(
                prepared,
                &mut o,
                &mut summary,
                &mut record_counter,
                &mut transfer_counter,
            )?;
        }
        Ok(())
    })?;
    o.us.finish()?;
    o.mx.finish()?;
    o.gt.finish()?;
    for f in [
        o.records,
        o.people,
        o.links,
        o.events,
        o.networks,
        o.rejects,
        o.transfers_truth,
        o.vehicles,
        o.transfers,
        o.organisations,
        o.organisations_truth,
    ] {
        f.finish()?;
    }
    let json = serde_json::to_string_pretty(&summary)?;
    writer::write_file(&out.join("summary.json"), format!("{json}\n").as_bytes())?;
    Ok(summary)
}

fn record_id(source: usize, n: u64) -> String {
    match source {
        US => format!("CBP-{n:09}"),
        MX => format!("INM-{n:09}"),
        _ => format!("IGM-{n:09}"),
    }
}

fn net_id(gid: u32) -> String {
    format!("N{gid:04}")
}

/// One batch, rendered and shuffled, waiting to be numbered and written.
struct Prepared {
    batch: Batch,
    rows: [Vec<(u32, Vec<String>)>; 3],
    /// (source, appearance, column, problem) of the rows made invalid on purpose.
    rejects: Vec<(usize, u32, &'static str, &'static str)>,
    orgs: Vec<orgs::Org>,
    org_rows: Vec<orgs::OrgRow>,
    first: bool,
}

/// Builds batch `b` and renders its rows.
fn prepare(
    opts: &GenerateOptions,
    maker: &Maker<'_>,
    counters: &mut Counters,
    b: usize,
    total_networks: usize,
) -> Prepared {
    let start = b * BATCH_PEOPLE;
    let end = ((b + 1) * BATCH_PEOPLE).min(opts.people);
    // Networks spread over batches in proportion to their people.
    let people = opts.people.max(1);
    let nets = total_networks * end / people - total_networks * start / people;
    // Every batch draws from its own ChaCha stream of the seed.
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(b as u64);
    let rng = &mut rng;
    let mut builder = Builder::new(rng, maker, counters, start as u64);
    for _ in 0..nets {
        builder.plant_network();
    }
    builder.migrants(end - start);
    builder.assign_events();
    let batch = builder.finish();
    let first_batch = b == 0;
    // Render every appearance, grouped by source.
    let mut rows: [Vec<(u32, Vec<String>)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (i, app) in batch.apps.iter().enumerate() {
        let p = &batch.persons[app.person as usize];
        let ctx = render::Context {
            event: &batch.events[app.event as usize],
            noise: opts.noise,
        };
        rows[app.source].push((i as u32, render::render(rng, p, app.source, &ctx)));
    }
    // Deliberately invalid values, recorded as expected rejects.
    let mut rejects: Vec<(usize, u32, &'static str, &'static str)> = Vec::new();
    for (source, source_rows) in rows.iter_mut().enumerate() {
        let kinds: &[&str] = match source {
            US => &["date", "phone"],
            MX => &["date", "curp", "phone"],
            _ => &["date", "dpi", "phone"],
        };
        let n = source_rows.len();
        let mut wanted = (n as f64 * opts.bad_row_rate).round() as usize;
        if first_batch && opts.bad_row_rate > 0.0 && n >= 30 {
            wanted = wanted.max(kinds.len());
        }
        let chosen = rand::seq::index::sample(rng, n, wanted.min(n));
        for (j, row_idx) in chosen.iter().enumerate() {
            let (app_idx, fields) = &mut source_rows[row_idx];
            let p = &batch.persons[batch.apps[*app_idx as usize].person as usize];
            let header = render::header(source);
            let (col, problem) = match kinds[j % kinds.len()] {
                "date" => {
                    fields[render::dob_column(source)] =
                        render::impossible_date(rng, p.dob.year(), source);
                    (render::dob_column(source), "impossible date")
                }
                "phone" => {
                    fields[render::phone_column(source)] = render::unparseable_phone(rng);
                    (render::phone_column(source), "unparseable phone")
                }
                "curp" => {
                    let valid = p.curp.clone().unwrap_or_else(|| {
                        let given: Vec<&str> = std::iter::once(p.first).chain(p.second).collect();
                        let sex = if p.female { 'M' } else { 'H' };
                        ids::make_curp(rng, p.surname1, p.surname2, &given, p.dob, sex, "NE")
                    });
                    fields[7] = ids::break_curp(&valid);
                    (7, "CURP check digit")
                }
                _ => {
                    let valid = p.dpi.clone().unwrap_or_else(|| ids::make_dpi(rng));
                    fields[8] = ids::break_dpi(&valid);
                    (8, "DPI/CUI verifier")
                }
            };
            rejects.push((source, *app_idx, header[col], problem));
        }
    }
    // Shuffle each source's rows so a person's records are not side by side.
    for source_rows in rows.iter_mut() {
        source_rows.shuffle(rng);
    }
    // Organisations draw from a stream of their own, so the files above are as they were
    // before organisations existed.
    let mut org_rng = ChaCha8Rng::seed_from_u64(opts.seed);
    org_rng.set_stream((1u64 << 32) | b as u64);
    let (orgs, org_rows) = orgs::organisations(&mut org_rng, &batch);
    Prepared {
        batch,
        rows,
        rejects,
        orgs,
        org_rows,
        first: first_batch,
    }
}

/// Numbers one batch's rows and writes them with their truth.
fn write_batch(
    prepared: Prepared,
    o: &mut Outputs,
    summary: &mut GenerateSummary,
    record_counter: &mut [u64; 3],
    transfer_counter: &mut u64,
) -> Result<(), SynthError> {
    let Prepared {
        batch,
        mut rows,
        rejects,
        orgs,
        org_rows,
        first,
    } = prepared;
    let batch = &batch;
    summary.networks += batch.networks.len();
    let mut app_record: Vec<String> = vec![String::new(); batch.apps.len()];
    let mut per_person: Vec<Vec<(usize, u32)>> = vec![Vec::new(); batch.persons.len()];
    for (source, source_rows) in rows.iter_mut().enumerate() {
        for (app_idx, fields) in source_rows.iter_mut() {
            record_counter[source] += 1;
            let id = record_id(source, record_counter[source]);
            fields[0].clone_from(&id);
            let person = batch.apps[*app_idx as usize].person;
            per_person[person as usize].push((source, *app_idx));
            app_record[*app_idx as usize] = id;
        }
        summary.records.add(source, source_rows.len());
        for (app_idx, fields) in source_rows.iter() {
            match source {
                US => o.us.row(fields)?,
                MX => o.mx.row(fields)?,
                _ => o.gt.row(fields)?,
            }
            let person = &batch.persons[batch.apps[*app_idx as usize].person as usize];
            o.records
                .row([SOURCE_NAMES[source], &fields[0], &person.pid()])?;
        }
    }
    o.mx.drain()?;
    for (source, app_idx, column, problem) in rejects {
        summary.expected_rejects.add(source, 1);
        o.rejects.row([
            SOURCE_NAMES[source],
            &app_record[app_idx as usize],
            column,
            problem,
        ])?;
    }
    // People and the pairs of their records.
    for (i, p) in batch.persons.iter().enumerate() {
        let recs = &per_person[i];
        let mut counts = [0usize; 3];
        let mut mask = 0u8;
        for (s, _) in recs {
            counts[*s] += 1;
            mask |= 1 << s;
        }
        *summary.overlap.entry(footprint_name(mask)).or_default() += 1;
        *summary
            .roles
            .entry(p.role.as_str().to_string())
            .or_default() += 1;
        let relations: Vec<String> = p
            .relations
            .iter()
            .map(|(r, id)| format!("{r}:P{id:08}"))
            .collect();
        let given = match p.second {
            Some(s) => format!("{} {s}", p.first),
            None => p.first.to_string(),
        };
        o.people.row([
            p.pid(),
            p.role.as_str().to_string(),
            p.network.map(net_id).unwrap_or_default(),
            p.travelled_with.map(net_id).unwrap_or_default(),
            p.unit_kind.to_string(),
            p.nat.code().to_string(),
            if p.female { "F" } else { "M" }.to_string(),
            p.dob.format("%Y-%m-%d").to_string(),
            given,
            p.surname1.to_string(),
            p.surname2.unwrap_or("").to_string(),
            footprint_name(mask),
            counts[US].to_string(),
            counts[MX].to_string(),
            counts[GT].to_string(),
            relations.join(";"),
        ])?;
        let pid = p.pid();
        for a in 0..recs.len() {
            for b in a + 1..recs.len() {
                let (sa, ra) = recs[a];
                let (sb, rb) = recs[b];
                o.links.row([
                    pid.as_str(),
                    SOURCE_NAMES[sa],
                    &app_record[ra as usize],
                    SOURCE_NAMES[sb],
                    &app_record[rb as usize],
                ])?;
                summary.true_pairs += 1;
            }
        }
    }
    for ev in &batch.events {
        summary.events.add(ev.source, 1);
        if ev.size >= 2 {
            summary.shared_events.add(ev.source, 1);
        }
        o.events.row([
            SOURCE_NAMES[ev.source].to_string(),
            ev.id.clone(),
            ev.date.format("%Y-%m-%d").to_string(),
            ev.place.to_string(),
            ev.kind.to_string(),
            ev.network.map(net_id).unwrap_or_default(),
            ev.size.to_string(),
        ])?;
    }
    for n in &batch.networks {
        let pids = |v: &[u32]| {
            v.iter()
                .map(|&i| batch.persons[i as usize].pid())
                .collect::<Vec<_>>()
                .join(";")
        };
        o.networks.row([
            net_id(n.gid),
            batch.persons[n.organiser as usize].pid(),
            pids(&n.recruiters),
            pids(&n.guides),
            pids(&n.drivers),
            pids(&n.keepers),
            pids(&n.victims),
            n.migrants.to_string(),
            n.convoys.to_string(),
            n.phones
                .iter()
                .map(|p| p.e164())
                .collect::<Vec<_>>()
                .join(";"),
            n.plates
                .iter()
                .map(|(p, _)| format!("{}:{}", p.state, p.number))
                .collect::<Vec<_>>()
                .join(";"),
            n.accounts.join(";"),
        ])?;
    }
    for v in &batch.vehicles {
        let app = &batch.apps[v.app as usize];
        o.vehicles.row([
            SOURCE_NAMES[app.source],
            &app_record[v.app as usize],
            &batch.events[app.event as usize].id,
            &v.plate.number,
            v.plate.country,
            v.plate.state,
        ])?;
        summary.vehicles += 1;
    }
    for t in &batch.transfers {
        *transfer_counter += 1;
        let id = format!("T{:09}", *transfer_counter);
        let sa = &batch.apps[t.sender as usize];
        let ra = &batch.apps[t.receiver as usize];
        o.transfers.row([
            id.clone(),
            t.date.format("%Y-%m-%d").to_string(),
            SOURCE_NAMES[sa.source].to_string(),
            app_record[t.sender as usize].clone(),
            SOURCE_NAMES[ra.source].to_string(),
            app_record[t.receiver as usize].clone(),
            t.account.clone(),
            t.amount.to_string(),
        ])?;
        o.transfers_truth
            .row([id, t.network.map(net_id).unwrap_or_default()])?;
        summary.transfers += 1;
    }
    for org in &orgs {
        // The bus lines are the same in every batch: listed once.
        if org.network.is_none() && !first {
            continue;
        }
        o.organisations_truth.row([
            org.name.clone(),
            org.kind.to_string(),
            org.network.map(net_id).unwrap_or_default(),
        ])?;
    }
    for r in &org_rows {
        let app = &batch.apps[r.app as usize];
        let org = &orgs[r.org as usize];
        o.organisations.row([
            SOURCE_NAMES[app.source],
            &app_record[r.app as usize],
            &batch.events[app.event as usize].id,
            &org.name,
            org.kind,
            "MX",
            r.relation,
        ])?;
        summary.organisation_rows += 1;
    }
    let h = &batch.hard;
    summary.hard_negatives.families += h.families;
    summary.hard_negatives.father_son_pairs += h.father_son_pairs;
    summary.hard_negatives.twin_pairs += h.twin_pairs;
    summary.hard_negatives.common_name_clusters += h.common_name_clusters;
    summary.hard_negatives.common_name_people += h.common_name_people;
    Ok(())
}
