//! End-to-end checks of a generated scenario: determinism, layouts, encodings, ground truth,
//! overlap, networks and hard negatives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use enlace_synth::{
    GenerateOptions, GenerateSummary, curp_check_digit, dpi_verifier, expected_footprints,
    footprint_name, generate,
};

const SOURCES: [(&str, &str); 3] = [
    ("us-encounters", "us-encounters.csv"),
    ("mx-registros", "mx-registros.csv"),
    ("gt-registros", "gt-registros.csv"),
];

fn scenario(people: usize, seed: u64) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&GenerateOptions::new(people, seed), dir.path()).unwrap();
    (dir, summary)
}

/// Reads a CSV (decoding Windows-1252 for the MX file) into header and rows.
fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    let text = if path.ends_with("mx-registros.csv") {
        let (text, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!had_errors);
        text.into_owned()
    } else {
        String::from_utf8(bytes).unwrap()
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let (a, _) = scenario(1500, 11);
    let (b, _) = scenario(1500, 11);
    let (c, _) = scenario(1500, 12);
    let fa = files(a.path());
    let fb = files(b.path());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{name} differs between two runs with the same seed"
        );
    }
    let fc = files(c.path());
    for name in [
        "us-encounters.csv",
        "mx-registros.csv",
        "gt-registros.csv",
        "truth/people.csv",
    ] {
        assert_ne!(fa[name], fc[name], "{name} is the same for two seeds");
    }
}

#[test]
fn headers_match_the_mappings_exactly() {
    let (dir, summary) = scenario(2000, 1);
    for (source, file) in SOURCES {
        let toml =
            std::fs::read_to_string(dir.path().join("mappings").join(format!("{source}.toml")))
                .unwrap();
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/mappings")
                .join(format!("{source}.toml")),
        )
        .unwrap();
        assert_eq!(
            toml, example,
            "mapping copy of {source} differs from the example"
        );
        let mapping = enlace_model::mapping::Mapping::from_toml(&toml).unwrap();
        let (header, rows) = read(&dir.path().join(file));
        assert_eq!(header, mapping.columns(), "{file}");
        mapping.bind(&header).unwrap();
        assert!(!rows.is_empty());
        for row in &rows {
            assert_eq!(row.len(), header.len(), "{file}: {row:?}");
        }
    }
    assert_eq!(summary.records.total(), count_rows(dir.path()));
}

fn count_rows(dir: &Path) -> usize {
    SOURCES
        .iter()
        .map(|(_, f)| read(&dir.join(f)).1.len())
        .sum()
}

#[test]
fn mx_file_is_windows_1252_not_utf8() {
    let (dir, _) = scenario(2000, 2);
    let bytes = std::fs::read(dir.path().join("mx-registros.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "accented names should make the file invalid UTF-8"
    );
    let (text, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!had_errors);
    assert!(text.contains('Í') || text.contains('í') || text.contains('á') || text.contains('Á'));
    assert!(text.contains("\r\n"), "the MX export uses CRLF line ends");
    // The UTF-8 files are valid UTF-8 and carry accents too.
    let gt = std::fs::read_to_string(dir.path().join("gt-registros.csv")).unwrap();
    assert!(gt.contains('á') || gt.contains('Á') || gt.contains('é'));
}

#[test]
fn truth_covers_every_record_once_and_links_agree() {
    let (dir, summary) = scenario(2000, 3);
    let mut ids = BTreeSet::new();
    for (source, file) in SOURCES {
        for row in read(&dir.path().join(file)).1 {
            assert!(
                ids.insert((source.to_string(), row[0].clone())),
                "duplicate record id {}",
                row[0]
            );
        }
    }
    let (header, truth) = read(&dir.path().join("truth/records.csv"));
    assert_eq!(header, ["source", "record_id", "person_id"]);
    let mut seen = BTreeSet::new();
    let mut per_person: BTreeMap<String, usize> = BTreeMap::new();
    for row in &truth {
        assert!(
            seen.insert((row[0].clone(), row[1].clone())),
            "record twice in truth: {row:?}"
        );
        *per_person.entry(row[2].clone()).or_default() += 1;
    }
    assert_eq!(seen, ids);
    let (_, people) = read(&dir.path().join("truth/people.csv"));
    assert_eq!(people.len(), 2000);
    assert_eq!(summary.people, 2000);
    let pids: BTreeSet<&String> = people.iter().map(|p| &p[0]).collect();
    assert!(per_person.keys().all(|p| pids.contains(p)));
    // Every person has at least one record.
    assert_eq!(per_person.len(), people.len());
    let pairs: usize = per_person.values().map(|n| n * (n - 1) / 2).sum();
    let (_, links) = read(&dir.path().join("truth/links.csv"));
    assert_eq!(links.len(), pairs);
    assert_eq!(summary.true_pairs, pairs);
    let who: BTreeMap<(String, String), String> = truth
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect();
    for l in &links {
        assert_eq!(who[&(l[1].clone(), l[2].clone())], l[0]);
        assert_eq!(who[&(l[3].clone(), l[4].clone())], l[0]);
    }
}

#[test]
fn overlap_fractions_are_as_documented() {
    let (dir, _) = scenario(4000, 4);
    let (_, people) = read(&dir.path().join("truth/people.csv"));
    // Plain migrants (not namesakes forced into the US file, not network members or victims).
    let plain: Vec<&Vec<String>> = people
        .iter()
        .filter(|p| p[1] == "migrant" && matches!(p[4].as_str(), "single" | "family" | "twins"))
        .collect();
    assert!(plain.len() > 2500);
    let expected = expected_footprints();
    for mask in 1u8..8 {
        let name = footprint_name(mask);
        let got = plain.iter().filter(|p| p[11] == name).count() as f64 / plain.len() as f64;
        assert!(
            (got - expected[mask as usize]).abs() < 0.05,
            "{name}: {got:.3} vs {:.3}",
            expected[mask as usize]
        );
    }
    // Most appear in one file only; a real share appear in all three.
    let single = [1u8, 2, 4]
        .iter()
        .map(|&m| expected[m as usize])
        .sum::<f64>();
    assert!(single > 0.6 && expected[7] > 0.03);
}

#[test]
fn networks_have_shared_events_with_members() {
    let (dir, summary) = scenario(6000, 5);
    assert_eq!(summary.networks, 2);
    let (_, people) = read(&dir.path().join("truth/people.csv"));
    let role: BTreeMap<&str, (&str, &str, &str)> = people
        .iter()
        .map(|p| (p[0].as_str(), (p[1].as_str(), p[2].as_str(), p[3].as_str())))
        .collect();
    let (_, truth) = read(&dir.path().join("truth/records.csv"));
    let person_of: BTreeMap<(String, String), String> = truth
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect();
    // event -> people in it, across the three files.
    let mut events: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (source, file) in SOURCES {
        let (header, rows) = read(&dir.path().join(file));
        let ev = header
            .iter()
            .position(|h| h == "EVENT_ID" || h == "evento_id")
            .unwrap();
        for row in rows {
            let pid = person_of[&(source.to_string(), row[0].clone())].clone();
            events
                .entry((source.to_string(), row[ev].clone()))
                .or_default()
                .insert(pid);
        }
    }
    let mut mixed = BTreeMap::<String, usize>::new();
    for people_in in events.values() {
        let nets: BTreeSet<&str> = people_in
            .iter()
            .map(|p| role[p.as_str()].1)
            .filter(|n| !n.is_empty())
            .collect();
        let travellers = people_in
            .iter()
            .filter(|p| !role[p.as_str()].2.is_empty())
            .count();
        if nets.len() == 1 && travellers >= 2 {
            *mixed
                .entry(nets.iter().next().unwrap().to_string())
                .or_default() += 1;
        }
        // A network's members never share an event with another network's.
        assert!(nets.len() <= 1);
    }
    for n in ["N0000", "N0001"] {
        assert!(
            mixed.get(n).copied().unwrap_or(0) >= 3,
            "network {n}: {mixed:?}"
        );
    }
    // Every member appears in at least one record.
    let with_records: BTreeSet<&String> = truth.iter().map(|r| &r[2]).collect();
    for p in &people {
        if !p[2].is_empty() {
            assert!(
                with_records.contains(&p[0]),
                "member {} has no record",
                p[0]
            );
        }
    }
    let (_, vehicles) = read(&dir.path().join("events/vehicles.csv"));
    let (_, transfers) = read(&dir.path().join("events/transfers.csv"));
    assert!(!vehicles.is_empty() && !transfers.is_empty());
    for v in &vehicles {
        let pid = &person_of[&(v[0].clone(), v[1].clone())];
        assert_eq!(role[pid.as_str()].0, "driver");
    }
}

#[test]
fn hard_negatives_are_planted() {
    let (dir, summary) = scenario(2000, 6);
    assert!(summary.hard_negatives.father_son_pairs > 10);
    assert!(summary.hard_negatives.twin_pairs > 5);
    let (_, people) = read(&dir.path().join("truth/people.csv"));
    let by_id: BTreeMap<&str, &Vec<String>> = people.iter().map(|p| (p[0].as_str(), p)).collect();
    let mut namesakes = 0;
    let mut twins = 0;
    for p in &people {
        for rel in p[15].split(';').filter(|s| !s.is_empty()) {
            let (kind, other) = rel.split_once(':').unwrap();
            let o = by_id[other];
            let year = |q: &Vec<String>| q[7][..4].parse::<i32>().unwrap();
            if kind == "father_of" && p[8] == o[8] && p[9] == o[9] {
                let gap = year(o) - year(p);
                assert!((19..=37).contains(&gap), "father/son gap {gap}");
                assert!(p[11].contains("US") && o[11].contains("US"));
                namesakes += 1;
            }
            if kind == "twin_of" {
                assert_eq!(p[7], o[7]);
                assert_eq!((&p[9], &p[10]), (&o[9], &o[10]));
                twins += 1;
            }
        }
    }
    assert!(namesakes >= 10, "{namesakes}");
    assert!(twins >= 10);
}

fn parse_date(s: &str, source: &str) -> Option<NaiveDate> {
    let fmt = match source {
        "us-encounters" => "%m/%d/%Y",
        "mx-registros" => "%d/%m/%Y",
        _ => "%Y-%m-%d",
    };
    NaiveDate::parse_from_str(s, fmt).ok()
}

#[test]
fn only_planted_rows_are_invalid() {
    let (dir, summary) = scenario(3000, 8);
    let (_, rejects) = read(&dir.path().join("truth/expected_rejects.csv"));
    assert_eq!(rejects.len(), summary.expected_rejects.total());
    let planted: BTreeMap<(String, String), String> = rejects
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect();
    let kinds: BTreeSet<&str> = rejects.iter().map(|r| r[3].as_str()).collect();
    for k in [
        "impossible date",
        "unparseable phone",
        "CURP check digit",
        "DPI/CUI verifier",
    ] {
        assert!(kinds.contains(k), "no planted {k}");
    }
    let today = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    for (source, file) in SOURCES {
        let (header, rows) = read(&dir.path().join(file));
        let col = |name: &str| header.iter().position(|h| h == name);
        let dob = col("DOB").or(col("fecha_nacimiento")).unwrap();
        let ev_date = col("ENCOUNTER_DATE").or(col("fecha_evento")).unwrap();
        for row in &rows {
            let bad = planted.get(&(source.to_string(), row[0].clone()));
            let event = parse_date(&row[ev_date], source).expect("event dates always parse");
            assert!(event <= today);
            let d = &row[dob];
            let year_only = d.len() == 4 && source == "gt-registros";
            if bad.is_some_and(|c| c == &header[dob]) {
                assert!(parse_date(d, source).is_none(), "planted date {d} parses");
            } else if !(d.is_empty() || year_only) {
                let born =
                    parse_date(d, source).unwrap_or_else(|| panic!("{source}: bad date {d}"));
                // Errors move a birth date by a year at most; it never lands after the event.
                assert!(
                    born.year() <= event.year() + 1,
                    "{source}: born {born} after event {event}"
                );
            }
            if let Some(c) = col("curp") {
                let curp = &row[c];
                if !curp.is_empty() {
                    let first17: String = curp.chars().take(17).collect();
                    let ok = curp.chars().count() == 18
                        && curp.chars().last() == curp_check_digit(&first17);
                    assert_eq!(ok, bad.is_none_or(|b| b != "curp"), "{curp}");
                }
            }
            if let Some(c) = col("dpi") {
                let dpi: String = row[c].chars().filter(char::is_ascii_digit).collect();
                if !dpi.is_empty() {
                    let ok = dpi.len() == 13 && dpi_verifier(&dpi[..8]) == dpi[8..9].parse().ok();
                    assert_eq!(ok, bad.is_none_or(|b| b != "dpi"), "{dpi}");
                }
            }
        }
    }
}

#[test]
fn names_are_drawn_by_frequency() {
    let (dir, _) = scenario(4000, 9);
    let (_, people) = read(&dir.path().join("truth/people.csv"));
    let count = |s: &str| people.iter().filter(|p| p[9] == s || p[10] == s).count();
    // Common surnames are common, Mayan ones present but rare.
    assert!(count("Hernández") > 200);
    assert!(count("García") > count("Xol"));
    let mayan: usize = [
        "Xol", "Caal", "Tzul", "Choc", "Pop", "Cux", "Coc", "Tzunún", "Ixcoy", "Chen", "Tiul",
        "Bol", "Maquín",
    ]
    .iter()
    .map(|s| count(s))
    .sum();
    assert!(mayan > 50, "{mayan}");
    assert!(people.iter().any(|p| p[8].contains("de los Ángeles")));
    assert!(people.iter().any(|p| p[9].starts_with("de la ")));
}
