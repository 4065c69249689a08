//! Runs every generated row through the declared mappings and the normalisation crate: rows not
//! planted as bad must become records whose identifiers all validate; planted ones must be
//! rejected or carry an invalid identifier.

use std::collections::BTreeMap;

use enlace_model::mapping::Mapping;
use enlace_synth::{GenerateOptions, generate};

#[test]
fn every_row_imports_and_only_planted_values_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions::new(3000, 21);
    generate(&opts, dir.path()).unwrap();
    let mut r = csv::Reader::from_path(dir.path().join("truth/expected_rejects.csv")).unwrap();
    let planted: BTreeMap<(String, String), String> = r
        .records()
        .map(|x| x.unwrap())
        .map(|x| ((x[0].to_string(), x[1].to_string()), x[2].to_string()))
        .collect();
    let mut problems: BTreeMap<String, usize> = BTreeMap::new();
    let (mut accepted, mut caught, mut valid_ids) = (0usize, 0usize, 0usize);
    let mut examples: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for source in ["us-encounters", "mx-registros", "gt-registros"] {
        let toml =
            std::fs::read_to_string(dir.path().join("mappings").join(format!("{source}.toml")))
                .unwrap();
        let mapping = Mapping::from_toml(&toml).unwrap();
        let bytes = std::fs::read(dir.path().join(format!("{source}.csv"))).unwrap();
        let text = if source == "mx-registros" {
            encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
        let binding = mapping.bind(&header).unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            let row: Vec<&str> = rec.iter().collect();
            let bad = planted.get(&(source.to_string(), row[0].to_string()));
            let result = binding.apply(&row, opts.today);
            let mut note = |what: String, row: &[&str]| {
                *problems.entry(what.clone()).or_default() += 1;
                let ex = examples.entry(what).or_default();
                if ex.len() < 3 {
                    ex.push(row.join(","));
                }
            };
            match (result, bad) {
                (Err(e), None) => note(format!("{source}: unplanted reject: {e}"), &row),
                (Err(_), Some(_)) => caught += 1,
                (Ok(record), bad) => {
                    accepted += 1;
                    valid_ids += record.identifiers.iter().filter(|i| i.valid).count();
                    if bad.is_some() && record.identifiers.iter().any(|i| !i.valid) {
                        caught += 1;
                    }
                    for id in &record.identifiers {
                        let planted_here = bad.is_some();
                        if !id.valid && !planted_here {
                            note(
                                format!("{source}: invalid {:?}: {:?}", id.kind, id.problem),
                                &row,
                            );
                        }
                    }
                    if let Some(col) = bad {
                        let flagged = record.identifiers.iter().any(|i| !i.valid)
                            || !record.warnings.is_empty();
                        if !flagged {
                            note(format!("{source}: planted {col} accepted silently"), &row);
                        }
                    }
                    for w in &record.warnings {
                        if bad.is_none() {
                            note(format!("{source}: warning {w}"), &row);
                        }
                    }
                }
            }
        }
    }
    for (what, n) in &problems {
        eprintln!("{n:6}  {what}");
        for ex in &examples[what] {
            eprintln!("          {ex}");
        }
    }
    assert!(problems.is_empty(), "{} kinds of problem", problems.len());
    eprintln!(
        "{accepted} rows accepted, {valid_ids} valid identifiers, {caught} of {} planted caught",
        planted.len()
    );
    assert!(accepted > 5000 && valid_ids > 5000);
    assert_eq!(caught, planted.len());
}
