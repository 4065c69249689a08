//! `enlace link`: plaintext linkage of sources held in node stores — deduplication within each
//! source and links across them — writing links, clusters and the trained model.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_link::{Blocker, Dataset, LinkOutput, Metrics, Model, Source, TrainOptions, Truth};
use enlace_store::Store;
use serde::Serialize;

#[derive(Args)]
pub struct LinkArgs {
    /// A source to link: a store directory (all its sources) or STORE:SOURCE. Repeat for each.
    #[arg(long = "from", required = true)]
    pub from: Vec<String>,
    /// Directory for links.csv, clusters.csv and model.json (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Score with this model (JSON, as written to model.json) instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Ground truth (`source,record_id,person_id` CSV) to evaluate the result against.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Summary {
    sources: Vec<(String, usize)>,
    candidate_pairs: usize,
    reduction_ratio: f64,
    threshold: f64,
    links: usize,
    clusters: usize,
    clusters_across_sources: usize,
    evaluation: Option<Metrics>,
    out: PathBuf,
}

/// `STORE` or `STORE:SOURCE`; a colon followed by a path separator belongs to the path.
fn parse_from(spec: &str) -> (PathBuf, Option<String>) {
    match spec.rsplit_once(':') {
        Some((store, source))
            if !source.is_empty() && !source.contains('/') && !store.is_empty() =>
        {
            (PathBuf::from(store), Some(source.to_string()))
        }
        _ => (PathBuf::from(spec), None),
    }
}

fn load_sources(specs: &[String]) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for spec in specs {
        let (dir, only) = parse_from(spec);
        if !dir.join(enlace_store::DB_FILE).exists() {
            bail!("no store at {}", dir.display());
        }
        let store =
            Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))?;
        let names: Vec<String> = match only {
            Some(name) => vec![name],
            None => store.sources()?.into_iter().map(|s| s.name).collect(),
        };
        for name in names {
            let records = store
                .records(&name)
                .with_context(|| format!("reading {} from {}", name, dir.display()))?;
            if sources.iter().any(|s: &Source| s.name == name) {
                bail!("source `{name}` is named twice");
            }
            sources.push(Source {
                name,
                records: records.into_iter().map(|r| r.record).collect(),
            });
        }
    }
    if sources.iter().all(|s| s.records.is_empty()) {
        bail!("the sources hold no records");
    }
    Ok(sources)
}

pub fn run(args: LinkArgs) -> Result<()> {
    let data = Dataset::new(load_sources(&args.from)?);
    let model = args.model.as_deref().map(Model::load).transpose()?;
    let output = enlace_link::run(&data, &Blocker::default(), model, &TrainOptions::default())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let links = write_links(&data, &output, &args.out.join("links.csv"))?;
    write_clusters(&data, &output, &args.out.join("clusters.csv"))?;
    output.model.save(&args.out.join("model.json"))?;

    let evaluation = match &args.truth {
        Some(path) => {
            let truth = Truth::from_records_csv(path)?;
            Some(Metrics::of_clusters(&output.clusters, &truth.pairs(&data)))
        }
        None => None,
    };
    let summary = Summary {
        sources: (0..data.len() as u32).fold(Vec::<(String, usize)>::new(), |mut acc, id| {
            let name = data.source_name(id);
            match acc.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => acc.push((name.to_string(), 1)),
            }
            acc
        }),
        candidate_pairs: output.blocking.pairs,
        reduction_ratio: output.blocking.reduction_ratio,
        threshold: output.model.threshold,
        links,
        clusters: output
            .clusters
            .iter()
            .filter(|c| c.members.len() > 1)
            .count(),
        clusters_across_sources: output
            .clusters
            .iter()
            .filter(|c| {
                c.members
                    .iter()
                    .any(|&m| data.source_of(m) != data.source_of(c.members[0]))
            })
            .count(),
        evaluation,
        out: args.out.clone(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    for (name, n) in &summary.sources {
        outln!("  {name:<20} {n:>9} records");
    }
    outln!(
        "candidate pairs {} (reduction ratio {:.5}); threshold {:.2}; {} links; {} clusters of 2 or more, {} across sources",
        summary.candidate_pairs,
        summary.reduction_ratio,
        summary.threshold,
        summary.links,
        summary.clusters,
        summary.clusters_across_sources
    );
    if let Some(m) = &summary.evaluation {
        outln!(
            "against the truth: precision {:.4}  recall {:.4}  F1 {:.4}",
            m.precision,
            m.recall,
            m.f1
        );
    }
    outln!(
        "written: {0}/links.csv, {0}/clusters.csv, {0}/model.json",
        args.out.display()
    );
    Ok(())
}

/// Scored pairs at or above the threshold whose records ended in the same cluster.
fn write_links(data: &Dataset, output: &LinkOutput, path: &Path) -> Result<usize> {
    let cluster_of: HashMap<u32, usize> = output
        .clusters
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.members.iter().map(move |&m| (m, i)))
        .collect();
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    out.write_record([
        "left_source",
        "left_id",
        "right_source",
        "right_id",
        "match_weight",
        "match_probability",
    ])?;
    let mut n = 0;
    for pair in &output.scored {
        if pair.weight < output.model.threshold
            || cluster_of.get(&pair.a) != cluster_of.get(&pair.b)
        {
            continue;
        }
        let (ls, lk) = data.key(pair.a);
        let (rs, rk) = data.key(pair.b);
        out.write_record([
            ls,
            lk,
            rs,
            rk,
            &format!("{:.3}", pair.weight),
            &format!("{:.6}", output.model.probability(pair.weight)),
        ])?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

fn write_clusters(data: &Dataset, output: &LinkOutput, path: &Path) -> Result<()> {
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    out.write_record(["cluster_id", "source", "record_id"])?;
    for cluster in &output.clusters {
        for &m in &cluster.members {
            let (source, key) = data.key(m);
            out.write_record([cluster.id.as_str(), source, key])?;
        }
    }
    out.flush()?;
    Ok(())
}

#[derive(Args)]
pub struct ExplainArgs {
    /// Where the two records are: a store directory or STORE:SOURCE. Repeat as needed.
    #[arg(long = "from", required = true)]
    pub from: Vec<String>,
    /// The model that scored them (model.json from `enlace link`).
    #[arg(long)]
    pub model: PathBuf,
    /// The first record, as SOURCE:RECORD_ID.
    pub left: String,
    /// The second record, as SOURCE:RECORD_ID.
    pub right: String,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Explains one pair's weight field by field. Only levels and weights are shown, never the
/// records' values.
pub fn explain(args: ExplainArgs) -> Result<()> {
    let sources = load_sources(&args.from)?;
    let model = Model::load(&args.model)?;
    let find = |spec: &str| -> Result<&enlace_model::Record> {
        let Some((source, key)) = spec.split_once(':') else {
            bail!("`{spec}`: give a record as SOURCE:RECORD_ID");
        };
        let Some(found) = sources.iter().find(|s| s.name == source) else {
            bail!("no source `{source}` among the stores given");
        };
        found
            .records
            .iter()
            .find(|r| r.key == key)
            .with_context(|| format!("no record `{key}` in source `{source}`"))
    };
    let (left, right) = (find(&args.left)?, find(&args.right)?);
    let explanation = enlace_link::explain(&model, left, right);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        outln!("{} ~ {}", args.left, args.right);
        out!("{}", explanation.render());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_specs() {
        assert_eq!(parse_from("nodes/us"), (PathBuf::from("nodes/us"), None));
        assert_eq!(
            parse_from("nodes/us:us-encounters"),
            (PathBuf::from("nodes/us"), Some("us-encounters".into()))
        );
        assert_eq!(
            parse_from("C:/data/us"),
            (PathBuf::from("C:/data/us"), None)
        );
    }
}
