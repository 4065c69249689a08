//! The frequency alignment attack on encodings, and what each hardening setting costs in
//! linkage quality. docs/privacy.md states the threat model and the results.
//!
//! ```text
//! cargo run --release -p enlace-encode --example frequency_attack -- \
//!     [--people 5000] [--seed 7] [--census-people N] [--census-seed 1007] [--ppm 20000,50000]
//! ```
//!
//! A scenario is generated and imported through the shipped mappings (as a node would), then
//! encoded under each hardening setting with a fixed secret. The attacker holds an encoding
//! file but not the secret, and a public frequency list of names (a "census": the true people
//! of an independently generated scenario of the same population, normalised with the public
//! normalisation crate). It groups records whose published item is identical (or, against
//! noise, whose filters are within a Dice threshold of a group leader), ranks the groups by
//! size, and names the group of rank r with the census value of rank r. It may do this over
//! the whole file or within each birth year (we hand it the year as an oracle; it could mine it
//! from the unsalted birth-date filter). Every variant is run and the best is reported, with
//! the grouping threshold chosen by looking at the truth: an upper bound on this attack.
//!
//! For the settings without flips a last section adds the time classes the unsalted event-date
//! filter gives the attacker (records with identical filters): alignment within each time class
//! and within each (birth year, time class), with the one census ranking, since nothing places a
//! time class in a census; and the time class as a join key, how many records it and the
//! unsalted birth-date filter single out.
//!
//! Quality is measured on the same encodings: for true cross-source pairs against random
//! cross-source non-pairs and against non-pairs that share a blocking token (the hard ones a
//! blocker hands the comparator), the share of true pairs scoring above the threshold that lets
//! through a fixed share of non-pairs.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use enlace_encode::kernel;
use enlace_encode::{EncodedRecord, Encoder, Field, Hardening, ProjectSecret, SaltSource, Schema};
use enlace_ingest::{ImportOptions, import};
use enlace_model::Record;
use enlace_normalize::{NameInput, parse_name, spanish_phonetic};
use enlace_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const SOURCES: [&str; 3] = ["us-encounters", "mx-registros", "gt-registros"];

/// The records of a generated scenario as the nodes hold them, with the truth.
pub struct Scenario {
    pub records: Vec<Record>,
    /// Index into [`SOURCES`].
    pub source: Vec<u8>,
    /// The true person, as a dense index.
    pub person: Vec<u32>,
}

/// Errors of the example, reported by `main` (files it reads, values it looks up).
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Generates a scenario in `dir`, imports its three files into a store there and loads them.
pub fn load_scenario(people: usize, seed: u64, dir: &Path) -> Res<Scenario> {
    let opts = enlace_synth::GenerateOptions::new(people, seed);
    enlace_synth::generate(&opts, dir)?;
    let store_dir = dir.join("store");
    for name in SOURCES {
        let mut o = ImportOptions::new(
            &store_dir,
            &dir.join("mappings").join(format!("{name}.toml")),
            &dir.join(format!("{name}.csv")),
        );
        o.today = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).ok_or("an invalid date")?;
        import(&o)?;
    }
    let mut truth: HashMap<(String, String), String> = HashMap::new();
    let mut reader = csv::Reader::from_path(dir.join("truth/records.csv"))?;
    for row in reader.records() {
        let row = row?;
        let get = |i: usize| row.get(i).unwrap_or("").to_string();
        truth.insert((get(0), get(1)), get(2));
    }
    let store = Store::open(&store_dir)?;
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut sc = Scenario {
        records: Vec::new(),
        source: Vec::new(),
        person: Vec::new(),
    };
    for (s, name) in SOURCES.iter().enumerate() {
        for r in store.records(name)? {
            // A record missing from the truth (none should be) is its own person.
            let person = truth
                .get(&(name.to_string(), r.record.key.clone()))
                .cloned()
                .unwrap_or_else(|| format!("?{name}/{}", r.record.key));
            let next = ids.len() as u32;
            sc.person.push(*ids.entry(person).or_insert(next));
            sc.source.push(s as u8);
            sc.records.push(r.record);
        }
    }
    Ok(sc)
}

/// Values ranked by how many bear them, most frequent first (ties by value).
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    pub values: Vec<String>,
    pub counts: Vec<usize>,
}

impl Ranked {
    pub fn from_values<I: IntoIterator<Item = String>>(values: I) -> Ranked {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for v in values {
            *counts.entry(v).or_default() += 1;
        }
        let mut all: Vec<(String, usize)> = counts.into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ranked {
            values: all.iter().map(|(v, _)| v.clone()).collect(),
            counts: all.iter().map(|(_, c)| *c).collect(),
        }
    }
}

/// What the attacker knows in advance: public name frequencies.
pub struct Census {
    pub people: usize,
    pub surname1: Ranked,
    pub given: Ranked,
    pub surname1_phonetic: Ranked,
}

/// The true people of an independently generated scenario, normalised as a node would. With
/// `by_records`, each person counts once per record they have in the agency files (the
/// frequencies an agency file shows, a stronger prior than a census of people).
pub fn census(people: usize, seed: u64, by_records: bool, dir: &Path) -> Res<Census> {
    let opts = enlace_synth::GenerateOptions::new(people, seed);
    enlace_synth::generate(&opts, dir)?;
    let mut reader = csv::Reader::from_path(dir.join("truth/people.csv"))?;
    let header = reader.headers()?.clone();
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .ok_or_else(|| format!("truth/people.csv has no column {n}"))
    };
    let (g, s1, s2) = (col("given_names")?, col("surname1")?, col("surname2")?);
    let footprint = [col("records_us")?, col("records_mx")?, col("records_gt")?];
    let (mut surname1, mut given, mut phonetic) = (Vec::new(), Vec::new(), Vec::new());
    let mut n = 0;
    for row in reader.records() {
        let row = row?;
        n += 1;
        let weight: usize = if by_records {
            footprint
                .iter()
                .map(|&c| {
                    row.get(c)
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0)
                })
                .sum()
        } else {
            1
        };
        let Ok(name) = parse_name(NameInput::Parts {
            given: row.get(g).unwrap_or(""),
            surname1: row.get(s1).unwrap_or(""),
            surname2: row.get(s2).unwrap_or(""),
        }) else {
            continue;
        };
        for _ in 0..weight {
            if let Some(v) = given_value(&name.given) {
                given.push(v);
            }
            if let Some(s) = name.surname1.clone().filter(|s| !s.is_empty()) {
                phonetic.push(spanish_phonetic(&s));
                surname1.push(s);
            }
        }
    }
    Ok(Census {
        people: n,
        surname1: Ranked::from_values(surname1),
        given: Ranked::from_values(given),
        surname1_phonetic: Ranked::from_values(phonetic),
    })
}

/// The given-name value the `given` filter encodes: all given names joined by a space.
fn given_value(given: &[String]) -> Option<String> {
    let parts: Vec<&str> = given
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The true values behind each record's published items.
pub struct RecordTruth {
    pub surname1: Vec<Option<String>>,
    pub given: Vec<Option<String>>,
    pub surname1_phonetic: Vec<Option<String>>,
    /// given | surname1 | surname2 | birth date | sex: what the CLK encodes.
    pub identity: Vec<Option<String>>,
    pub birth_year: Vec<Option<i32>>,
}

pub fn record_truth(sc: &Scenario) -> RecordTruth {
    let r = &sc.records;
    RecordTruth {
        surname1: r
            .iter()
            .map(|r| r.name.surname1.clone().filter(|s| !s.is_empty()))
            .collect(),
        given: r.iter().map(|r| given_value(&r.name.given)).collect(),
        surname1_phonetic: r
            .iter()
            .map(|r| {
                r.name
                    .surname1_phonetic
                    .clone()
                    .or_else(|| r.name.surname1.as_deref().map(spanish_phonetic))
                    .filter(|s| !s.is_empty())
            })
            .collect(),
        identity: r
            .iter()
            .map(|r| {
                Some(format!(
                    "{}|{}|{}|{}|{:?}",
                    given_value(&r.name.given).unwrap_or_default(),
                    r.name.surname1.as_deref().unwrap_or(""),
                    r.name.surname2.as_deref().unwrap_or(""),
                    r.birth_date.map(|d| d.iso()).unwrap_or_default(),
                    r.sex
                ))
            })
            .collect(),
        birth_year: r.iter().map(|r| r.birth_date.map(|d| d.year)).collect(),
    }
}

/// How the attacker groups published items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Grouping {
    /// Identical items.
    Exact,
    /// Leader clustering: items in descending order of how often they occur, each joining the
    /// most similar leader with Dice ≥ the threshold, or leading a new group.
    Near(f64),
}

/// The outcome of one attack variant.
#[derive(Debug, Clone)]
pub struct AttackResult {
    pub variant: String,
    /// Records with a published item.
    pub targets: usize,
    pub groups: usize,
    /// Records whose true value equals the value the attacker gave their group.
    pub correct: usize,
    /// Of those, named with a value other than the census's most frequent one.
    pub correct_beyond_mode: usize,
    /// Records bearing the census's most frequent value: what naming everyone with it gets.
    pub baseline: usize,
    /// Records whose true value is the census value at their group's rank or a neighbouring
    /// one: near-ties in size (Hernández, López and García here) leave the attacker two or three
    /// candidates, which is still a disclosure.
    pub within_one: usize,
    /// Records bearing one of the census's three most frequent values: the baseline of
    /// `within_one` (a window of three values, named without looking at the file).
    pub baseline_three: usize,
    /// Of the 10 (50) largest groups, those named with their members' majority value.
    pub top10: usize,
    pub top50: usize,
    /// The 10 largest groups: size, the attacker's name for it, its members' majority value.
    pub largest: Vec<(usize, String, String)>,
}

impl AttackResult {
    pub fn share(&self) -> f64 {
        self.correct as f64 / self.targets.max(1) as f64
    }
    pub fn share_beyond_mode(&self) -> f64 {
        self.correct_beyond_mode as f64 / self.targets.max(1) as f64
    }
    pub fn baseline_share(&self) -> f64 {
        self.baseline as f64 / self.targets.max(1) as f64
    }
    pub fn within_one_share(&self) -> f64 {
        self.within_one as f64 / self.targets.max(1) as f64
    }
    pub fn baseline_three_share(&self) -> f64 {
        self.baseline_three as f64 / self.targets.max(1) as f64
    }
}

/// A group as the attacker named it: size, first member, members, name, rank in its partition.
type Named<'a> = (usize, usize, Vec<usize>, Option<&'a str>, usize);

/// Record pairs `(a, b)`, `a < b`.
pub type Pairs = Vec<(u32, u32)>;

/// Frequency alignment of `items` (one per record, `None` when nothing is published) with the
/// census ranking, within partitions of `partition` (the whole file when `None`).
pub fn attack(
    variant: &str,
    items: &[Option<&[u64]>],
    partition: Option<&[Option<i32>]>,
    grouping: Grouping,
    census: &Ranked,
    truth: &[Option<String>],
) -> AttackResult {
    // Exact groups, per partition, in order of first appearance.
    let mut parts: HashMap<Option<i32>, Vec<Vec<usize>>> = HashMap::new();
    let mut index: HashMap<(Option<i32>, &[u64]), usize> = HashMap::new();
    let mut targets = 0;
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item else { continue };
        targets += 1;
        let p = partition.and_then(|p| p[i]);
        let groups = parts.entry(p).or_default();
        let g = *index.entry((p, *item)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut keys: Vec<Option<i32>> = parts.keys().copied().collect();
    keys.sort();
    let mode = census.values.first().map(String::as_str);
    let mut named: Vec<Named<'_>> = Vec::new();
    for key in keys {
        let mut groups = parts.remove(&key).unwrap_or_default();
        if let Grouping::Near(t) = grouping {
            groups = cluster(groups, items, t);
        }
        groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        for (rank, g) in groups.into_iter().enumerate() {
            let guess = census.values.get(rank).map(String::as_str);
            named.push((g.len(), g[0], g, guess, rank));
        }
    }
    let is = |i: usize, v: Option<&str>| v.is_some() && truth[i].as_deref() == v;
    let mut correct = 0;
    let mut beyond = 0;
    let mut baseline = 0;
    let mut within_one = 0;
    let mut baseline_three = 0;
    let top3: Vec<Option<&str>> = census
        .values
        .iter()
        .take(3)
        .map(|v| Some(v.as_str()))
        .collect();
    for (_, _, members, guess, rank) in &named {
        let near: Vec<Option<&str>> = (rank.saturating_sub(1)..=rank + 1)
            .map(|r| census.values.get(r).map(String::as_str))
            .collect();
        for &i in members {
            if near.iter().any(|&v| is(i, v)) {
                within_one += 1;
            }
            if is(i, *guess) {
                correct += 1;
                if *guess != mode {
                    beyond += 1;
                }
            }
            if is(i, mode) {
                baseline += 1;
            }
            if top3.iter().any(|&v| is(i, v)) {
                baseline_three += 1;
            }
        }
    }
    named.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let majority_named = |members: &[usize], guess: Option<&str>| {
        let mut count: HashMap<Option<&str>, usize> = HashMap::new();
        for &i in members {
            *count.entry(truth[i].as_deref()).or_default() += 1;
        }
        let best = count.values().copied().max().unwrap_or(0);
        guess.is_some() && count.get(&guess).copied().unwrap_or(0) == best
    };
    let top = |k: usize| {
        named
            .iter()
            .take(k)
            .filter(|(_, _, m, g, _)| majority_named(m, *g))
            .count()
    };
    AttackResult {
        variant: variant.to_string(),
        targets,
        groups: named.len(),
        correct,
        correct_beyond_mode: beyond,
        baseline,
        within_one,
        baseline_three,
        top10: top(10),
        top50: top(50),
        largest: named
            .iter()
            .take(10)
            .map(|(size, _, members, guess, _)| {
                let mut count: HashMap<&str, usize> = HashMap::new();
                for &i in members {
                    *count.entry(truth[i].as_deref().unwrap_or("-")).or_default() += 1;
                }
                let mut major: Vec<(&str, usize)> = count.into_iter().collect();
                major.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let major = major.first().map_or("-", |m| m.0);
                (*size, guess.unwrap_or("-").to_string(), major.to_string())
            })
            .collect(),
    }
}

/// Merges exact groups whose items are within Dice `t` of a leader; larger groups lead.
fn cluster(mut groups: Vec<Vec<usize>>, items: &[Option<&[u64]>], t: f64) -> Vec<Vec<usize>> {
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let item = |g: &Vec<usize>| items[g[0]].unwrap_or(&[]);
    let mut leaders: Vec<(&[u64], u32, Vec<usize>)> = Vec::new();
    for g in groups {
        let x = item(&g);
        let px = kernel::popcount(x);
        let mut best: Option<(usize, u32, u32)> = None; // (leader, common, pop sum)
        for (li, (y, py, _)) in leaders.iter().enumerate() {
            let c = kernel::and_popcount(x, y).unwrap_or(0);
            if !kernel::meets_threshold(c, px, *py, t) {
                continue;
            }
            let better = best.is_none_or(|(_, bc, bs)| {
                u64::from(c) * u64::from(bs) > u64::from(bc) * u64::from(px + py)
            });
            if better {
                best = Some((li, c, px + py));
            }
        }
        match best {
            Some((li, _, _)) => leaders[li].2.extend(g),
            None => leaders.push((x, px, g)),
        }
    }
    leaders.into_iter().map(|(_, _, g)| g).collect()
}

/// Linkage-quality proxies computed from the encodings and the truth.
#[derive(Debug, Clone)]
pub struct Quality {
    pub true_pairs: usize,
    pub random_nonpairs: usize,
    pub blocked_nonpairs: usize,
    /// Share of true cross-source pairs whose CLK Dice beats all but 0.01% of random non-pairs.
    pub clk_random: f64,
    /// Share of true pairs whose CLK Dice beats all but 1% of blocked non-pairs.
    pub clk_blocked: f64,
    /// The same for the mean Dice of the given, surname 1, surname 2, birth date and sex filters.
    pub fields_blocked: f64,
    /// Mean CLK Dice of true pairs.
    pub clk_mean: f64,
    /// Share of true pairs that share a blocking token or an identifier hash: the pairs an
    /// encoded blocker can propose, whatever the hardening.
    pub candidates: f64,
    /// Share of true pairs that are candidates and pass the CLK (field-mean) threshold at 1%
    /// blocked FPR.
    pub clk_blocked_candidates: f64,
    pub fields_blocked_candidates: f64,
}

/// Whether two encoded records share a blocking token or an identifier hash.
pub fn is_candidate(x: &EncodedRecord, y: &EncodedRecord) -> bool {
    x.block_tokens
        .iter()
        .zip(&y.block_tokens)
        .any(|(a, b)| a.is_some() && a == b)
        || x.id_hashes.iter().any(|h| y.id_hashes.contains(h))
}

/// Every true cross-source pair `(a, b)`, `a < b`.
pub fn true_pairs(sc: &Scenario) -> Vec<(u32, u32)> {
    let mut by_person: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, &p) in sc.person.iter().enumerate() {
        by_person.entry(p).or_default().push(i as u32);
    }
    let mut pairs = Vec::new();
    for members in by_person.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if sc.source[a as usize] != sc.source[b as usize] {
                    pairs.push((a.min(b), a.max(b)));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

/// Cross-source non-pairs drawn at random, and those sharing a blocking token. Blocking tokens
/// are equal exactly when their inputs are, whatever the hardening, so these sets depend only on
/// the scenario (the tokens passed in may come from any setting).
pub fn nonpairs(sc: &Scenario, enc: &[EncodedRecord], random: usize) -> (Pairs, Pairs) {
    let n = sc.records.len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut rand_pairs = Vec::with_capacity(random);
    while rand_pairs.len() < random && n > 1 {
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        let (a, b) = (a.min(b), a.max(b));
        if sc.source[a as usize] != sc.source[b as usize]
            && sc.person[a as usize] != sc.person[b as usize]
        {
            rand_pairs.push((a, b));
        }
    }
    let mut blocks: HashMap<(usize, u64), Vec<u32>> = HashMap::new();
    for (i, e) in enc.iter().enumerate() {
        for (j, t) in e.block_tokens.iter().enumerate() {
            if let Some(t) = t {
                blocks.entry((j, t.0)).or_default().push(i as u32);
            }
        }
    }
    let mut blocked = Vec::new();
    for members in blocks.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if sc.source[a as usize] != sc.source[b as usize]
                    && sc.person[a as usize] != sc.person[b as usize]
                {
                    blocked.push((a.min(b), a.max(b)));
                }
            }
        }
    }
    blocked.sort_unstable();
    blocked.dedup();
    (rand_pairs, blocked)
}

/// The score that all but a share `fpr` of `neg` stay at or below.
fn threshold_at(neg: &[f64], fpr: f64) -> f64 {
    let mut neg = neg.to_vec();
    neg.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fpr * neg.len() as f64).floor() as usize;
    neg.get(allowed).copied().unwrap_or(f64::NEG_INFINITY)
}

/// Share of `pos` scoring above the threshold that lets through a share `fpr` of `neg`.
fn recall_at(pos: &[f64], neg: &[f64], fpr: f64) -> f64 {
    let t = threshold_at(neg, fpr);
    pos.iter().filter(|&&s| s > t).count() as f64 / pos.len().max(1) as f64
}

pub fn quality(
    schema: &Schema,
    enc: &[EncodedRecord],
    pos: &[(u32, u32)],
    rand_neg: &[(u32, u32)],
    blocked_neg: &[(u32, u32)],
) -> Quality {
    let clk = |&(a, b): &(u32, u32)| match (&enc[a as usize].clk, &enc[b as usize].clk) {
        (Some(x), Some(y)) => x.dice(y),
        _ => 0.0,
    };
    let fields: Vec<usize> = [
        Field::Given,
        Field::Surname1,
        Field::Surname2,
        Field::BirthDate,
        Field::Sex,
    ]
    .iter()
    .filter_map(|&f| schema.field_index(f))
    .collect();
    let mean = |&(a, b): &(u32, u32)| {
        let (x, y) = (&enc[a as usize], &enc[b as usize]);
        fields
            .iter()
            .map(|&i| x.fields[i].dice(&y.fields[i]))
            .sum::<f64>()
            / fields.len().max(1) as f64
    };
    let p_clk: Vec<f64> = pos.iter().map(clk).collect();
    let p_mean: Vec<f64> = pos.iter().map(mean).collect();
    let r_clk: Vec<f64> = rand_neg.iter().map(clk).collect();
    let b_clk: Vec<f64> = blocked_neg.iter().map(clk).collect();
    let b_mean: Vec<f64> = blocked_neg.iter().map(mean).collect();
    let cand: Vec<bool> = pos
        .iter()
        .map(|&(a, b)| is_candidate(&enc[a as usize], &enc[b as usize]))
        .collect();
    let among = |scores: &[f64], t: f64| {
        scores
            .iter()
            .zip(&cand)
            .filter(|&(&s, &c)| c && s > t)
            .count() as f64
            / pos.len().max(1) as f64
    };
    Quality {
        candidates: cand.iter().filter(|&&c| c).count() as f64 / pos.len().max(1) as f64,
        clk_blocked_candidates: among(&p_clk, threshold_at(&b_clk, 0.01)),
        fields_blocked_candidates: among(&p_mean, threshold_at(&b_mean, 0.01)),
        true_pairs: pos.len(),
        random_nonpairs: rand_neg.len(),
        blocked_nonpairs: blocked_neg.len(),
        clk_random: recall_at(&p_clk, &r_clk, 1e-4),
        clk_blocked: recall_at(&p_clk, &b_clk, 0.01),
        fields_blocked: recall_at(&p_mean, &b_mean, 0.01),
        clk_mean: p_clk.iter().sum::<f64>() / p_clk.len().max(1) as f64,
    }
}

/// A named hardening setting.
pub struct Setting {
    pub name: String,
    pub hardening: Hardening,
}

pub fn setting(name: &str, salt: bool, flip_ppm: u32) -> Setting {
    Setting {
        name: name.to_string(),
        hardening: Hardening {
            salt: salt.then_some(SaltSource::BirthYear),
            flip_ppm,
        },
    }
}

pub fn secret() -> Res<ProjectSecret> {
    Ok(ProjectSecret::from_bytes(&[0x5a; 32])?)
}

/// Encodes the scenario under the default schema with `hardening`.
pub fn encode(sc: &Scenario, hardening: &Hardening) -> Res<(Schema, Vec<EncodedRecord>)> {
    let mut schema = Schema::default_with_id("attack");
    schema.hardening = hardening.clone();
    let encoder = Encoder::new(&secret()?, schema.clone())?;
    let enc = encoder.encode_all(&sc.records, |i, _| i as u64);
    Ok((schema, enc))
}

/// The items an attack targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Surname1,
    Given,
    /// The record-level CLK, aligned with the target's own identity frequencies (an oracle
    /// census: the best list an attacker could hold).
    Clk,
    /// The surname1_phonetic_birth_year blocking token, aligned with phonetic-key frequencies.
    Surname1Block,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Surname1 => "surname1 filter",
            Target::Given => "given filter",
            Target::Clk => "CLK",
            Target::Surname1Block => "surname1+year block token",
        }
    }
}

/// A partition the attacker aligns within: its label and each record's class (`None` is a class
/// too: the records the partition knows nothing about). No partition: the whole file.
pub type Partition<'a> = (&'a str, Option<&'a [Option<i32>]>);

/// Runs every attack variant on one target, over the whole file and per birth year; `near`
/// lists the Dice thresholds to try.
pub fn attack_target(
    target: Target,
    schema: &Schema,
    enc: &[EncodedRecord],
    census: &Census,
    truth: &RecordTruth,
    near: &[f64],
) -> Res<Vec<AttackResult>> {
    let partitions: [Partition<'_>; 2] = [
        ("whole file", None),
        ("per birth year", Some(&truth.birth_year)),
    ];
    attack_target_in(target, schema, enc, census, truth, near, &partitions)
}

/// Runs every attack variant on one target within each of `partitions`.
pub fn attack_target_in(
    target: Target,
    schema: &Schema,
    enc: &[EncodedRecord],
    census: &Census,
    truth: &RecordTruth,
    near: &[f64],
    partitions: &[Partition<'_>],
) -> Res<Vec<AttackResult>> {
    let tokens: Vec<[u64; 1]>;
    let clk_census;
    type Items<'a> = Vec<Option<&'a [u64]>>;
    let (items, ranked, values): (Items<'_>, &Ranked, &[Option<String>]) = match target {
        Target::Surname1 | Target::Given => {
            let (field, ranked, values) = if target == Target::Surname1 {
                (Field::Surname1, &census.surname1, &truth.surname1)
            } else {
                (Field::Given, &census.given, &truth.given)
            };
            let i = schema
                .field_index(field)
                .ok_or_else(|| format!("the schema has no {} filter", field.as_str()))?;
            let items = enc
                .iter()
                .map(|e| e.has_field(i).then(|| e.fields[i].words()))
                .collect();
            (items, ranked, values)
        }
        Target::Clk => {
            clk_census = Ranked::from_values(truth.identity.iter().flatten().cloned());
            let items = enc
                .iter()
                .map(|e| e.clk.as_ref().filter(|c| !c.is_empty()).map(|c| c.words()))
                .collect();
            (items, &clk_census, &truth.identity)
        }
        Target::Surname1Block => {
            let j = schema
                .blocking
                .iter()
                .position(|b| b.as_str() == "surname1_phonetic_birth_year")
                .ok_or("the schema has no surname1_phonetic_birth_year blocking key")?;
            tokens = enc
                .iter()
                .map(|e| [e.block_tokens[j].map_or(0, |t| t.0)])
                .collect();
            let items = tokens
                .iter()
                .zip(enc)
                .map(|(t, e)| e.block_tokens[j].is_some().then_some(&t[..]))
                .collect();
            (items, &census.surname1_phonetic, &truth.surname1_phonetic)
        }
    };
    let mut out = Vec::new();
    for &(pname, partition) in partitions {
        out.push(attack(
            &format!("exact, {pname}"),
            &items,
            partition,
            Grouping::Exact,
            ranked,
            values,
        ));
        if target == Target::Surname1Block {
            continue;
        }
        // The CLK is near-unique per person: a few thresholds show it; all would take long.
        let near: &[f64] = if target == Target::Clk {
            &near[..near.len().min(3)]
        } else {
            near
        };
        for &t in near {
            out.push(attack(
                &format!("Dice ≥ {t:.2}, {pname}"),
                &items,
                partition,
                Grouping::Near(t),
                ranked,
                values,
            ));
        }
    }
    Ok(out)
}

/// The best figures over the variants of one attack (each its own maximum).
pub struct Maxima {
    /// The variant naming the most records correctly.
    pub variant: String,
    pub share: f64,
    pub within_one: f64,
    pub top10: usize,
    pub baseline: f64,
    pub baseline_three: f64,
}

impl Maxima {
    pub fn of(results: &[AttackResult]) -> Maxima {
        let fmax = |f: &dyn Fn(&AttackResult) -> f64| results.iter().map(f).fold(0.0, f64::max);
        let best = best(results);
        Maxima {
            variant: best.map(|b| b.variant.clone()).unwrap_or_default(),
            share: best.map_or(0.0, AttackResult::share),
            within_one: fmax(&|r| r.within_one_share()),
            top10: results.iter().map(|r| r.top10).max().unwrap_or(0),
            baseline: best.map_or(0.0, AttackResult::baseline_share),
            baseline_three: best.map_or(0.0, AttackResult::baseline_three_share),
        }
    }
}

/// The variant that named the most records correctly (none when there are no variants).
pub fn best(results: &[AttackResult]) -> Option<&AttackResult> {
    results.iter().max_by(|a, b| {
        a.correct
            .cmp(&b.correct)
            .then(b.variant.len().cmp(&a.variant.len()))
    })
}

/// Dense class ids of `keys`, one a record: equal keys, equal ids.
fn dense<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> Vec<Option<i32>> {
    let mut ids: HashMap<K, i32> = HashMap::new();
    keys.map(|k| {
        let next = ids.len() as i32;
        Some(*ids.entry(k).or_insert(next))
    })
    .collect()
}

/// A field's filter on each record, `None` where the field is absent.
fn field_items<'a>(
    schema: &Schema,
    enc: &'a [EncodedRecord],
    field: Field,
) -> Res<Vec<Option<&'a [u64]>>> {
    let i = schema
        .field_index(field)
        .ok_or_else(|| format!("the schema has no {} filter", field.as_str()))?;
    Ok(enc
        .iter()
        .map(|e| e.has_field(i).then(|| e.fields[i].words()))
        .collect())
}

/// The attacker's own partitions from the event-date filter, which no setting salts: the time
/// class (records with identical filters, whose events fall in the same windows; records without
/// event dates form one class), and the time class within each birth year (the year handed over
/// as the per-year attack has it).
pub struct TimeClasses {
    pub time: Vec<Option<i32>>,
    pub year_time: Vec<Option<i32>>,
}

pub fn time_classes(
    schema: &Schema,
    enc: &[EncodedRecord],
    truth: &RecordTruth,
) -> Res<TimeClasses> {
    let events = field_items(schema, enc, Field::EventDates)?;
    Ok(TimeClasses {
        time: dense(events.iter().copied()),
        year_time: dense(truth.birth_year.iter().copied().zip(events.iter().copied())),
    })
}

/// How the records with a key fall into classes of equal keys.
#[derive(Debug, Clone, Default)]
pub struct ClassSizes {
    /// Records with a key.
    pub records: usize,
    pub classes: usize,
    /// Records in classes of 1, 2–5, 6–20 and over 20 records.
    pub by_size: [usize; 4],
    /// Classes of two records or more, and those among them whose records are all one person:
    /// there the key is a linkage key, and the class shows how often that person was met.
    pub multi: usize,
    pub multi_one_person: usize,
}

/// Class sizes of `keys` (one a record, `None` for records left out).
pub fn class_sizes<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = Option<K>>,
    person: &[u32],
) -> ClassSizes {
    let mut classes: HashMap<K, Vec<usize>> = HashMap::new();
    for (i, k) in keys.enumerate() {
        if let Some(k) = k {
            classes.entry(k).or_default().push(i);
        }
    }
    let mut out = ClassSizes {
        classes: classes.len(),
        ..ClassSizes::default()
    };
    for members in classes.values() {
        let n = members.len();
        out.records += n;
        let bucket = match n {
            1 => 0,
            2..=5 => 1,
            6..=20 => 2,
            _ => 3,
        };
        out.by_size[bucket] += n;
        if n > 1 {
            out.multi += 1;
            let first = person.get(members[0]);
            if members.iter().all(|&i| person.get(i) == first) {
                out.multi_one_person += 1;
            }
        }
    }
    out
}

/// The time class as a quasi-identifier, alone and joined with the unsalted birth-date filter,
/// over the records that have event dates (a missing birth date is a value of the join).
pub fn time_uniqueness(
    schema: &Schema,
    enc: &[EncodedRecord],
    person: &[u32],
) -> Res<Vec<(&'static str, ClassSizes)>> {
    let events = field_items(schema, enc, Field::EventDates)?;
    let birth = field_items(schema, enc, Field::BirthDate)?;
    let with_events = |i: usize| events[i].is_some();
    Ok(vec![
        (
            "event-date filter",
            class_sizes(events.iter().copied(), person),
        ),
        (
            "birth-date filter",
            class_sizes(
                birth
                    .iter()
                    .enumerate()
                    .map(|(i, b)| with_events(i).then_some(*b)),
                person,
            ),
        ),
        (
            "birth-date + event-date filters",
            class_sizes(
                birth.iter().zip(&events).map(|(b, e)| e.map(|e| (*b, e))),
                person,
            ),
        ),
    ])
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The labels of the partitions the time-class section compares, in its order.
const TIME_PARTITIONS: [&str; 4] = [
    "whole file",
    "per birth year",
    "per time class",
    "per (birth year, time class)",
];

/// The best an attack did within one partition.
pub struct TimeRow {
    pub target: Target,
    pub partition: &'static str,
    /// Distinct classes of the partition (records without a target item included).
    pub classes: usize,
    pub best: Option<AttackResult>,
    pub maxima: Maxima,
}

/// Distinct classes of a partition.
fn class_count(partition: Option<&[Option<i32>]>) -> usize {
    partition.map_or(1, |p| {
        p.iter().collect::<std::collections::HashSet<_>>().len()
    })
}

/// Adds the time-class partitions to the whole-file and per-year results `kept` of each target,
/// and takes the best variant within each partition.
fn time_attacks(
    kept: Vec<(Target, Vec<AttackResult>)>,
    schema: &Schema,
    enc: &[EncodedRecord],
    census: &Census,
    truth: &RecordTruth,
    near: &[f64],
) -> Res<Vec<TimeRow>> {
    let tc = time_classes(schema, enc, truth)?;
    let partitions: [Partition<'_>; 4] = [
        (TIME_PARTITIONS[0], None),
        (TIME_PARTITIONS[1], Some(&truth.birth_year)),
        (TIME_PARTITIONS[2], Some(&tc.time)),
        (TIME_PARTITIONS[3], Some(&tc.year_time)),
    ];
    let mut rows = Vec::new();
    for (target, mut results) in kept {
        results.extend(attack_target_in(
            target,
            schema,
            enc,
            census,
            truth,
            near,
            &partitions[2..],
        )?);
        for (pname, (_, partition)) in TIME_PARTITIONS.into_iter().zip(partitions) {
            let suffix = format!(", {pname}");
            let of: Vec<AttackResult> = results
                .iter()
                .filter(|r| r.variant.ends_with(&suffix))
                .cloned()
                .collect();
            rows.push(TimeRow {
                target,
                partition: pname,
                classes: class_count(partition),
                best: best(&of).cloned(),
                maxima: Maxima::of(&of),
            });
        }
    }
    Ok(rows)
}

/// A settings' time-class attacks, the time classes as quasi-identifiers, and how long they took.
type TimeSection = (
    String,
    Vec<TimeRow>,
    Vec<(&'static str, ClassSizes)>,
    Duration,
);

fn print_time_section(section: &[TimeSection], records: usize) {
    if section.is_empty() {
        return;
    }
    println!(
        "\n## Time classes: the unsalted event-date filter as a partition and as a join key\n"
    );
    println!(
        "Alignment within each class with the one census ranking (the attacker cannot place a \
         time class in the census); each row the best grouping within its partition, within ±1 \
         and top-10 the best over groupings.\n"
    );
    println!(
        "| setting | target | partition | classes | best grouping | records | groups | named | \
         beyond mode | mode baseline | within ±1 rank | top-3 baseline | top-10 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, rows, _, _) in section {
        for row in rows {
            let Some(b) = &row.best else { continue };
            let grouping = b
                .variant
                .strip_suffix(&format!(", {}", row.partition))
                .unwrap_or(&b.variant);
            println!(
                "| {name} | {} | {} | {} | {grouping} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.target.label(),
                row.partition,
                row.classes,
                b.targets,
                b.groups,
                pct(b.share()),
                pct(b.share_beyond_mode()),
                pct(b.baseline_share()),
                pct(row.maxima.within_one),
                pct(b.baseline_three_share()),
                row.maxima.top10
            );
        }
    }
    println!(
        "\nQuasi-identifiers: records with event dates ({records} records in all) by the size of \
         their class of equal filters (a missing birth date is a value of the join)\n"
    );
    println!(
        "| setting | key | records | classes | in classes of 1 | 2–5 | 6–20 | >20 | classes of ≥2 \
         that are one person |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, _, unique, _) in section {
        for (key, c) in unique {
            let of = |n: usize| format!("{n} ({})", pct(n as f64 / c.records.max(1) as f64));
            println!(
                "| {name} | {key} | {} | {} | {} | {} | {} | {} | {} of {} |",
                c.records,
                c.classes,
                of(c.by_size[0]),
                of(c.by_size[1]),
                of(c.by_size[2]),
                of(c.by_size[3]),
                c.multi_one_person,
                c.multi
            );
        }
    }
    for (name, _, _, took) in section {
        println!("time-class section, {name}: {took:.1?}");
    }
}

/// Leaves with a usage message: command-line values are outside input, never a panic.
fn usage(problem: &str) -> ! {
    eprintln!("error: {problem}");
    eprintln!(
        "usage: frequency_attack [--people N] [--seed S] [--census-people N] [--census-seed S] \
         [--ppm A,B,…] [--census-weight records|people] [--show-top] [--exact-only]"
    );
    std::process::exit(2);
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => match args.get(i + 1).map(|v| v.parse()) {
            Some(Ok(v)) => v,
            _ => usage(&format!("{name} needs a value of the right kind")),
        },
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let people: usize = arg(&args, "--people", 5000);
    let seed: u64 = arg(&args, "--seed", 7);
    let census_people: usize = arg(&args, "--census-people", (2 * people).max(10_000));
    let census_seed: u64 = arg(&args, "--census-seed", 1007);
    let ppm: String = arg(&args, "--ppm", "20000,50000,100000".to_string());
    let ppms: Vec<u32> = ppm
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| usage("--ppm takes comma-separated integers"))
        })
        .collect();
    let by_records = arg(&args, "--census-weight", "records".to_string()) != "people";
    // --show-top: the 10 largest surname groups, as named and as they are.
    let show_top = args.iter().any(|a| a == "--show-top");
    // --exact-only: skip near grouping (it matters only under BLIP), for large scenarios.
    let near: Vec<f64> = if args.iter().any(|a| a == "--exact-only") {
        Vec::new()
    } else {
        vec![0.9, 0.8, 0.7, 0.95, 0.85, 0.75, 0.65, 0.6, 0.55, 0.5]
    };

    let t0 = Instant::now();
    let dir = tempfile::tempdir()?;
    let sc = load_scenario(people, seed, &dir.path().join("scenario"))?;
    let census = census(
        census_people,
        census_seed,
        by_records,
        &dir.path().join("census"),
    )?;
    let truth = record_truth(&sc);
    let pos = true_pairs(&sc);
    println!(
        "scenario: {people} people, seed {seed}: {} records, {} true cross-source pairs; \
         census: {} people, seed {census_seed}, weighted by {}; loaded in {:.1?}",
        sc.records.len(),
        pos.len(),
        census.people,
        if by_records { "records" } else { "people" },
        t0.elapsed()
    );
    let years_differ = pos
        .iter()
        .filter(|&&(a, b)| {
            let (x, y) = (truth.birth_year[a as usize], truth.birth_year[b as usize]);
            x.is_none() || x != y
        })
        .count();
    println!(
        "true pairs whose birth years differ or are missing on a side: {} ({})",
        years_differ,
        pct(years_differ as f64 / pos.len().max(1) as f64)
    );

    let mut settings = vec![setting("none", false, 0), setting("salt", true, 0)];
    for &p in &ppms {
        settings.push(setting(&format!("blip {p}"), false, p));
    }
    for &p in &ppms {
        settings.push(setting(&format!("salt + blip {p}"), true, p));
    }
    let default = Schema::default_with_id("x").hardening;
    println!(
        "default hardening of Schema::default_with_id: salt {:?}, flip_ppm {}",
        default.salt, default.flip_ppm
    );
    for s in &mut settings {
        if s.hardening == default {
            s.name.push_str(" (default)");
        }
    }

    let targets = [
        Target::Surname1,
        Target::Given,
        Target::Clk,
        Target::Surname1Block,
    ];
    let mut negs = None;
    let mut summary = Vec::new();
    let mut time_section = Vec::new();
    for s in &settings {
        let t = Instant::now();
        let (schema, enc) = encode(&sc, &s.hardening)?;
        let (rand_neg, blocked_neg) = negs
            .get_or_insert_with(|| nonpairs(&sc, &enc, 200_000))
            .clone();
        let q = quality(&schema, &enc, &pos, &rand_neg, &blocked_neg);
        println!("\n## {}\n", s.name);
        println!(
            "quality: CLK recall at 0.01% random FPR {}, at 1% blocked FPR {}; field-mean recall \
             at 1% blocked FPR {}; among candidates ({} of true pairs share a block token or \
             identifier) {} / {}; mean CLK Dice of true pairs {:.3} ({} true pairs, {} random \
             and {} blocked non-pairs)",
            pct(q.clk_random),
            pct(q.clk_blocked),
            pct(q.fields_blocked),
            pct(q.candidates),
            pct(q.clk_blocked_candidates),
            pct(q.fields_blocked_candidates),
            q.clk_mean,
            q.true_pairs,
            q.random_nonpairs,
            q.blocked_nonpairs
        );
        println!(
            "\n| target | variant | records | groups | correct | beyond mode | mode baseline | within ±1 rank | top-10 | top-50 |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        let mut bests = Vec::new();
        // The settings without flips, where exact classes are value classes, get the time-class
        // attacks too; the whole-file and per-year results are kept to set them against.
        let time_attacked = s.hardening.flip_ppm == 0;
        let mut kept = Vec::new();
        for target in targets {
            let results = attack_target(target, &schema, &enc, &census, &truth, &near)?;
            if show_top && target == Target::Surname1 {
                for r in results.iter().filter(|r| r.variant.starts_with("exact")) {
                    let shown: Vec<String> = r
                        .largest
                        .iter()
                        .map(|(n, guess, major)| format!("{n} {guess}→{major}"))
                        .collect();
                    println!("largest groups ({}): {}", r.variant, shown.join(", "));
                }
            }
            for r in &results {
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    target.label(),
                    r.variant,
                    r.targets,
                    r.groups,
                    pct(r.share()),
                    pct(r.share_beyond_mode()),
                    pct(r.baseline_share()),
                    pct(r.within_one_share()),
                    r.top10,
                    r.top50
                );
            }
            bests.push(Maxima::of(&results));
            if time_attacked && target != Target::Clk {
                kept.push((target, results));
            }
        }
        println!("({:.1?})", t.elapsed());
        summary.push((s.name.clone(), q, bests));
        if time_attacked {
            let t = Instant::now();
            let rows = time_attacks(kept, &schema, &enc, &census, &truth, &near)?;
            let unique = time_uniqueness(&schema, &enc, &sc.person)?;
            time_section.push((s.name.clone(), rows, unique, t.elapsed()));
        }
    }

    println!("\n## Summary: each figure the best over the variants\n");
    println!(
        "| setting | surname1: correct / within ±1 rank / top-10 (baselines) | given: correct / \
         within ±1 / top-10 (baselines) | CLK: correct | surname1+year token: correct / within \
         ±1 | CLK recall @0.01% random | CLK / field-mean recall @1% blocked | same, candidates only |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, q, m) in &summary {
        let f = |m: &Maxima| {
            format!(
                "{} / {} / {} ({} / {})",
                pct(m.share),
                pct(m.within_one),
                m.top10,
                pct(m.baseline),
                pct(m.baseline_three)
            )
        };
        println!(
            "| {name} | {} | {} | {} | {} / {} | {} | {} / {} | {} / {} |",
            f(&m[0]),
            f(&m[1]),
            pct(m[2].share),
            pct(m[3].share),
            pct(m[3].within_one),
            pct(q.clk_random),
            pct(q.clk_blocked),
            pct(q.fields_blocked),
            pct(q.clk_blocked_candidates),
            pct(q.fields_blocked_candidates)
        );
    }
    println!("\nvariants naming the most records correctly:");
    for (name, _, m) in &summary {
        let v: Vec<&str> = m.iter().map(|m| m.variant.as_str()).collect();
        println!("  {name}: {}", v.join("; "));
    }
    print_time_section(&time_section, sc.records.len());
    println!("total {:.1?}", t0.elapsed());
    Ok(())
}
