//! `enlace link`: plaintext linkage of sources held in node stores — deduplication within each
//! source and links across them — writing links, clusters and the trained model.

use std::path::{Path, PathBuf};

use crate::csv_rows::write_rows;
use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_encode::EncodingFile;
use enlace_ingest::{ImportOptions, import};
use enlace_link::ErrorSources;
use enlace_link::cotravel::CoTravel;
use enlace_link::encoded::{EncodedBlocker, EncodedDataset, EncodedSource};
use enlace_link::evaluate::{cluster_positions, completeness_of};
use enlace_link::{
    Blocker, BlockingReport, Dataset, LinkOutput, Linkable, Metrics, Model, ScoredPair, Source,
    TrainOptions, Truth,
};
use enlace_store::Store;
use serde::Serialize;

#[derive(Args)]
pub struct LinkArgs {
    /// A source to link: a store directory (all its sources) or STORE:SOURCE. Repeat for each.
    #[arg(long = "from", conflicts_with = "encoded")]
    pub from: Vec<String>,
    /// A file to link, with the mapping that reads it: FILE=MAPPING.toml. It is imported into a
    /// scratch store first (rejects are written to the output directory). Repeat for each.
    #[arg(long = "file", conflicts_with = "encoded")]
    pub files: Vec<String>,
    /// Link encodings instead (privacy-preserving path): an encoding file from `enlace encode`,
    /// named after its file stem. Repeat for each agency.
    #[arg(long)]
    pub encoded: Vec<PathBuf>,
    /// Locality-sensitive hashing bands over the CLK for encoded blocking (0 turns it off).
    #[arg(long, default_value_t = EncodedBlocker::default().lsh_bands)]
    pub lsh_bands: usize,
    /// Sampled CLK bits per LSH band.
    #[arg(long, default_value_t = EncodedBlocker::default().lsh_bits)]
    pub lsh_bits: usize,
    /// Skip encoded blocks (keyed tokens, identifier hashes, LSH bands) with more records than
    /// this. Lower means fewer candidate pairs and a faster run on large files, at some cost in
    /// recall (docs/linkage.md, "Caps").
    #[arg(long, default_value_t = EncodedBlocker::default().max_block)]
    pub encoded_max_block: usize,
    #[command(flatten)]
    pub common: RunArgs,
    /// Dates after this day are impossible (for --file imports; YYYY-MM-DD, default today).
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
}

#[derive(Serialize)]
struct Summary {
    mode: &'static str,
    sources: Vec<(String, u64)>,
    candidate_pairs: usize,
    reduction_ratio: f64,
    threshold: f64,
    links: usize,
    clusters: usize,
    clusters_across_sources: usize,
    evaluation: Option<Metrics>,
    /// Against the truth: the share of its pairs that blocking made candidates (the recall
    /// no threshold can go beyond).
    #[serde(skip_serializing_if = "Option::is_none")]
    pairs_completeness: Option<f64>,
    /// Against the truth: the kinds of the clusters' errors (missed pairs, false pairs).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<ErrorSources>,
    /// What each blocking rule contributed.
    blocking: BlockingReport,
    /// The companions' evidence added in the second pass (docs/linkage.md, "Companions").
    #[serde(skip_serializing_if = "Option::is_none")]
    cotravel: Option<CoTravel>,
    warnings: Vec<String>,
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
    let started = std::time::Instant::now();
    let sources = read_sources(specs)?;
    tracing::info!(
        records = sources.iter().map(|s| s.records.len()).sum::<usize>(),
        seconds = started.elapsed().as_secs_f64(),
        "stored records read"
    );
    Ok(sources)
}

fn read_sources(specs: &[String]) -> Result<Vec<Source>> {
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
                .records_for_linkage(&name)
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
    Ok(sources)
}

/// Imports `FILE=MAPPING` specs into a scratch store under `scratch` and returns their sources.
fn import_files(
    specs: &[String],
    scratch: &Path,
    out: &Path,
    today: chrono::NaiveDate,
) -> Result<Vec<Source>> {
    let store_dir = scratch.join("store");
    let mut names = Vec::new();
    for spec in specs {
        let Some((file, mapping)) = spec.rsplit_once('=') else {
            bail!("`--file {spec}`: give FILE=MAPPING.toml");
        };
        let mut opts = ImportOptions::new(&store_dir, Path::new(mapping), Path::new(file));
        opts.today = today;
        let stem = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        opts.rejects = Some(out.join(format!("{stem}.rejects.csv")));
        let report = import(&opts).with_context(|| format!("importing {file}"))?;
        if report.counts.rejected > 0 {
            eprintln!(
                "warning: {file}: {} of {} rows rejected (reasons in {})",
                report.counts.rejected,
                report.counts.read,
                report.rejects_file.display()
            );
        }
        names.push(format!("{}:{}", store_dir.display(), report.source));
    }
    load_sources(&names)
}

pub fn run(args: LinkArgs) -> Result<()> {
    let c = &args.common;
    let (model, truth) = c.prepare()?;
    if !args.encoded.is_empty() {
        if !c.blocking.is_empty() || c.max_block != Blocker::default().max_block {
            bail!(
                "--blocking and --max-block choose plaintext blocking; encodings are blocked on \
                 their keyed tokens and --lsh-bands/--lsh-bits"
            );
        }
        if c.truth.is_some() {
            bail!(
                "--truth cannot score a run on encodings, whose records are opaque references: \
                 run `enlace evaluate --run {} --truth ... --refs ...` with the agencies' references files",
                c.out.display()
            );
        }
        if args.encoded_max_block < 2 {
            bail!("--encoded-max-block must be at least 2");
        }
        let started = std::time::Instant::now();
        let data = load_encoded(&args.encoded)?;
        tracing::info!(
            records = data.len(),
            seconds = started.elapsed().as_secs_f64(),
            "encoding files read"
        );
        let blocker = EncodedBlocker {
            lsh_bands: args.lsh_bands,
            lsh_bits: args.lsh_bits,
            max_block: args.encoded_max_block,
            ..EncodedBlocker::default()
        };
        let output = enlace_link::run_encoded(&data, &blocker, model, &TrainOptions::default())?;
        let started = std::time::Instant::now();
        finish(c, "encoded", data, output, truth.as_ref())?;
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "outputs written");
        return Ok(());
    }
    if args.from.is_empty() && args.files.is_empty() {
        bail!(
            "give the sources to link: --from STORE[:SOURCE], --file FILE=MAPPING or --encoded FILE"
        );
    }
    let blocker = c.blocker(
        enlace_link::PairScope::All,
        &enlace_link::BlockingRule::LINK_DEFAULT,
    )?;
    let scratch = tempfile::tempdir().context("creating a scratch store")?;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let mut sources = load_sources(&args.from)?;
    sources.extend(import_files(&args.files, scratch.path(), &c.out, today)?);
    check_distinct(&sources)?;
    let data = Dataset::new(sources);
    let output = enlace_link::run(&data, &blocker, model, &TrainOptions::default())?;
    finish(c, "plaintext", data, output, truth.as_ref())
}

/// Frees `value` on a thread of its own, which the process does not wait for when it ends.
/// Freeing a million records allocation by allocation took over a second on one core after the
/// results were written; when the process ends the system takes its memory back at once. In a
/// process that goes on (the demo), the thread frees it as the caller would have.
fn free_in_background<T: Send + 'static>(value: T) {
    // Should no thread start, the value is freed here, as it would have been.
    let _ = std::thread::Builder::new()
        .name("free".into())
        .spawn(move || drop(value));
}

#[derive(Args)]
pub struct DedupeArgs {
    /// The source: STORE:SOURCE (or a store holding one source).
    #[arg(long)]
    pub from: String,
    #[command(flatten)]
    pub common: RunArgs,
}

/// Output options shared by `link` and `dedupe`.
#[derive(Args)]
pub struct RunArgs {
    /// Directory for links.csv, clusters.csv and model.json (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Score with this model (JSON, as written to model.json) instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Ground truth (`source,record_id,person_id` CSV) to evaluate the result against.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Also write candidates.csv: every scored candidate pair, for `enlace evaluate` charts.
    #[arg(long)]
    pub candidates: bool,
    /// Plaintext blocking rules to union, comma-separated, in order (default: the ten rules of
    /// docs/linkage.md's table for `link`, the first eight for `dedupe`). Fewer rules mean
    /// fewer candidate pairs and a faster run on large sources, at some cost in recall; the
    /// last two find more pairs of common names at a million records, for more time.
    #[arg(long, value_delimiter = ',')]
    pub blocking: Vec<String>,
    /// Skip plaintext blocks with more records than this.
    #[arg(long, default_value_t = Blocker::default().max_block)]
    pub max_block: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    /// The plaintext blocker these options ask for, with `scope`, and `defaults` when they
    /// name no rules.
    fn blocker(
        &self,
        scope: enlace_link::PairScope,
        defaults: &[enlace_link::BlockingRule],
    ) -> Result<Blocker> {
        let mut rules = Vec::new();
        for name in &self.blocking {
            match enlace_link::blocking::BlockingRule::from_name(name.trim()) {
                Some(r) => rules.push(r),
                None => bail!(
                    "unknown blocking rule `{name}`; the rules are: {}",
                    enlace_link::blocking::BlockingRule::all()
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if self.max_block < 2 {
            bail!("--max-block must be at least 2");
        }
        let mut blocker = Blocker {
            max_block: self.max_block,
            scope,
            ..Blocker::default()
        };
        blocker.rules = if rules.is_empty() {
            defaults.to_vec()
        } else {
            rules
        };
        Ok(blocker)
    }

    /// Creates the output directory and loads the model and the truth when given.
    fn prepare(&self) -> Result<(Option<Model>, Option<Truth>)> {
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("creating {}", self.out.display()))?;
        let model = self.model.as_deref().map(Model::load).transpose()?;
        let truth = self
            .truth
            .as_deref()
            .map(Truth::from_records_csv)
            .transpose()?;
        Ok((model, truth))
    }
}

/// Deduplication of one source: the plaintext run on that source alone.
pub fn dedupe(args: DedupeArgs) -> Result<()> {
    let blocker = args.common.blocker(
        enlace_link::PairScope::Within,
        &enlace_link::BlockingRule::DEFAULT,
    )?;
    let sources = load_sources(std::slice::from_ref(&args.from))?;
    if sources.len() != 1 {
        bail!(
            "`--from {}` holds {} sources: name one as STORE:SOURCE",
            args.from,
            sources.len()
        );
    }
    check_distinct(&sources)?;
    let c = &args.common;
    let (model, truth) = c.prepare()?;
    let data = Dataset::new(sources);
    let output = enlace_link::run(&data, &blocker, model, &TrainOptions::default())?;
    finish(c, "dedupe", data, output, truth.as_ref())
}

/// Reads encoding files, names each source after its file stem, and checks they can be
/// compared (same schema, same secret).
pub fn load_encoded(paths: &[PathBuf]) -> Result<EncodedDataset> {
    let mut sources = Vec::new();
    for path in paths {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let limit = 64 << 30;
        // Filters apart from their records: the layout the comparisons read, with no heap
        // block per filter.
        let file = EncodingFile::read_split_file(file, limit)
            .with_context(|| format!("reading {}", path.display()))?;
        let name = source_name_of(path);
        if sources.iter().any(|s: &EncodedSource| s.name == name) {
            bail!("two encoding files are named `{name}`");
        }
        sources.push(EncodedSource::split(name, file));
    }
    if sources
        .iter()
        .all(|s: &EncodedSource| s.file.records.is_empty())
    {
        bail!("the encoding files hold no records");
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    EncodedDataset::new(sources).with_context(|| format!("comparing {}", names.join(" with ")))
}

/// An encoding file's source name: its file name up to the first dot.
pub fn source_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .and_then(|n| n.split('.').next().map(str::to_string))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "encodings".into())
}

fn check_distinct(sources: &[Source]) -> Result<()> {
    for (i, s) in sources.iter().enumerate() {
        if sources[..i].iter().any(|t| t.name == s.name) {
            bail!("source `{}` is named twice", s.name);
        }
    }
    if sources.iter().all(|s| s.records.is_empty()) {
        bail!("the sources hold no records");
    }
    Ok(())
}

/// Writes the outputs, evaluates against the truth when given, and prints the summary.
/// Writes a run's results and summary, then frees its data and results off the critical path
/// ([`free_in_background`]).
pub(crate) fn finish<D: Linkable + Send + 'static>(
    args: &RunArgs,
    mode: &'static str,
    data: D,
    output: LinkOutput,
    truth: Option<&Truth>,
) -> Result<()> {
    let done = write_results(args, mode, &data, &output, truth);
    free_in_background((data, output));
    done
}

/// The files and summary of a run.
fn write_results<D: Linkable>(
    args: &RunArgs,
    mode: &'static str,
    data: &D,
    output: &LinkOutput,
    truth: Option<&Truth>,
) -> Result<()> {
    let links = write_links(data, output, &args.out.join("links.csv"))?;
    let companions = args.out.join("companions.csv");
    match &output.companions {
        Some(evidence) => write_companions(data, output, evidence, &companions)?,
        // A file of an earlier run would explain this run's links wrongly.
        None => match std::fs::remove_file(&companions) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", companions.display()));
            }
            _ => {}
        },
    }
    write_clusters(data, output, &args.out.join("clusters.csv"))?;
    if args.candidates {
        write_candidates(data, output, &args.out.join("candidates.csv"))?;
    }
    output.model.save(&args.out.join("model.json"))?;
    let names = source_names(data);
    let sizes = data.source_sizes();
    let across = output
        .clusters
        .iter()
        .filter(|c| {
            c.members
                .iter()
                .any(|&m| data.source_of(m) != data.source_of(c.members[0]))
        })
        .count();
    let mut warnings = Vec::new();
    if let Some(t) = truth {
        let (unknown, named) = t.unknown_in(data);
        if named > 0 && unknown == named {
            bail!("the truth file names none of these sources' records");
        }
        if unknown > 0 {
            warnings.push(format!(
                "the truth names {unknown} of its {named} records of these sources that the run does not hold (rejected at import?); they are left out of the evaluation"
            ));
        }
    }
    let truth_pairs = truth.map(|t| t.pairs(data));
    let evaluation = truth_pairs
        .as_ref()
        .map(|pairs| Metrics::of_clusters(&output.clusters, pairs));
    // The errors' kinds and the blocking's completeness, from one pass over the candidates.
    let found = truth_pairs
        .as_ref()
        .zip(evaluation.as_ref())
        .map(|(pairs, m)| {
            let (errors, true_candidates) = ErrorSources::with_true_candidates(
                &output.scored,
                output.model.threshold,
                &output.clusters,
                data.len(),
                pairs,
                m,
            );
            (errors, completeness_of(true_candidates, pairs.len()))
        });
    let smallest = sizes.iter().copied().filter(|&n| n > 0).min().unwrap_or(0);
    if sizes.len() > 1 && smallest >= 100 && (across as f64) < 0.01 * smallest as f64 {
        warnings.push(format!(
            "near-zero match rate: {across} clusters across sources for {smallest} records in the smallest source; \
             check that every agency encoded under the same project secret and schema, and that the mappings read the right columns"
        ));
    }
    let summary = Summary {
        mode,
        sources: names.into_iter().zip(sizes).collect(),
        candidate_pairs: output.blocking.pairs,
        reduction_ratio: output.blocking.reduction_ratio,
        threshold: output.model.threshold,
        links,
        clusters: output
            .clusters
            .iter()
            .filter(|c| c.members.len() > 1)
            .count(),
        clusters_across_sources: across,
        evaluation,
        pairs_completeness: found.map(|(_, completeness)| completeness),
        errors: found.map(|(errors, _)| errors),
        blocking: output.blocking.clone(),
        cotravel: output.companions.as_ref().map(|e| e.report.clone()),
        warnings,
        out: args.out.clone(),
    };
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    for (name, n) in &summary.sources {
        outln!("  {name:<20} {n:>9} records");
    }
    outln!(
        "{} linkage: candidate pairs {} (reduction ratio {:.5}); threshold {:.2}; {} links; {} clusters of 2 or more, {} across sources",
        summary.mode,
        summary.candidate_pairs,
        summary.reduction_ratio,
        summary.threshold,
        summary.links,
        summary.clusters,
        summary.clusters_across_sources
    );
    if let Some(m) = &summary.evaluation {
        outln!(
            "against the truth: precision {:.4}  recall {:.4}  F1 {:.4}; pairs completeness {:.4}",
            m.precision,
            m.recall,
            m.f1,
            summary.pairs_completeness.unwrap_or(1.0)
        );
    }
    if let Some(e) = &summary.errors {
        outln!(
            "missed pairs: {} never candidates, {} below the threshold, {} left apart by the solver; \
             false pairs: {} linked directly, {} through other records",
            e.missed_not_candidates,
            e.missed_below_threshold,
            e.missed_by_solver,
            e.false_direct,
            e.false_through_merges
        );
    }
    let optional = |written: bool, name: &str| {
        if written {
            format!(", {}/{name}", args.out.display())
        } else {
            String::new()
        }
    };
    outln!(
        "written: {0}/links.csv, {0}/clusters.csv, {0}/model.json{1}{2}",
        args.out.display(),
        optional(output.companions.is_some(), "companions.csv"),
        optional(args.candidates, "candidates.csv"),
    );
    Ok(())
}

/// Source names in source order.
fn source_names<D: Linkable>(data: &D) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut last = None;
    for id in 0..data.len() as u32 {
        let s = data.source_of(id);
        if last != Some(s) {
            names.push(data.key(id).0.to_string());
            last = Some(s);
        }
    }
    names
}

/// Scored pairs at or above the threshold whose records ended in the same cluster.
fn write_links<D: Linkable>(data: &D, output: &LinkOutput, path: &Path) -> Result<usize> {
    // Each record's cluster, by position in the cluster list.
    let cluster_of = cluster_positions(&output.clusters, data.len());
    write_rows(path, &LINK_HEADER, &output.scored, |out, pair| {
        if !is_link(output, &cluster_of, pair) {
            return Ok(false);
        }
        write_pair(out, data, output, pair)?;
        Ok(true)
    })
}

/// Whether a scored pair is a link: at or above the threshold, its records in one cluster.
fn is_link(output: &LinkOutput, cluster_of: &[u32], pair: &ScoredPair) -> bool {
    pair.weight >= output.model.threshold
        && cluster_of[pair.a as usize] == cluster_of[pair.b as usize]
}

/// For each link, what its records' companions added to its weight (docs/linkage.md,
/// "Companions"), so that `enlace explain --companions` gives the link's weight in full.
fn write_companions<D: Linkable>(
    data: &D,
    output: &LinkOutput,
    evidence: &enlace_link::cotravel::Evidence,
    path: &Path,
) -> Result<()> {
    let cluster_of = cluster_positions(&output.clusters, data.len());
    let header = [
        "left_source",
        "left_id",
        "right_source",
        "right_id",
        "support",
        "weight",
    ];
    write_rows(path, &header, &output.scored, |out, pair| {
        if !is_link(output, &cluster_of, pair) {
            return Ok(false);
        }
        let weight = format!("{:.6}", evidence.adjustment(pair.a, pair.b));
        write_pair_with(
            out,
            data,
            pair,
            [evidence.support(pair.a, pair.b).name(), &weight],
        )?;
        Ok(true)
    })?;
    Ok(())
}

const LINK_HEADER: [&str; 6] = [
    "left_source",
    "left_id",
    "right_source",
    "right_id",
    "match_weight",
    "match_probability",
];

fn write_pair<D: Linkable>(
    out: &mut csv::Writer<Vec<u8>>,
    data: &D,
    output: &LinkOutput,
    pair: &ScoredPair,
) -> Result<()> {
    let weight = format!("{:.3}", pair.weight);
    let probability = format!("{:.6}", output.model.probability(pair.weight));
    write_pair_with(out, data, pair, [&weight, &probability])
}

/// A row naming the pair's two records (source and id each), then `rest`.
fn write_pair_with<D: Linkable>(
    out: &mut csv::Writer<Vec<u8>>,
    data: &D,
    pair: &ScoredPair,
    rest: [&str; 2],
) -> Result<()> {
    let (ls, lk) = data.key(pair.a);
    let (rs, rk) = data.key(pair.b);
    out.write_record([ls, lk, rs, rk, rest[0], rest[1]])?;
    Ok(())
}

/// Every scored candidate pair, links or not.
fn write_candidates<D: Linkable>(data: &D, output: &LinkOutput, path: &Path) -> Result<()> {
    write_rows(path, &LINK_HEADER, &output.scored, |out, pair| {
        write_pair(out, data, output, pair)?;
        Ok(true)
    })?;
    Ok(())
}

fn write_clusters<D: Linkable>(data: &D, output: &LinkOutput, path: &Path) -> Result<()> {
    write_rows(
        path,
        &["cluster_id", "source", "record_id"],
        &output.clusters,
        |out, cluster| {
            for &m in &cluster.members {
                let (source, key) = data.key(m);
                out.write_record([cluster.id.as_str(), source, key])?;
            }
            Ok(true)
        },
    )?;
    Ok(())
}

#[derive(Args)]
pub struct ExplainArgs {
    /// Where the two records are: a store directory or STORE:SOURCE. Repeat as needed.
    #[arg(
        long = "from",
        required_unless_present = "encoded",
        conflicts_with = "encoded"
    )]
    pub from: Vec<String>,
    /// Or: the encoding files that hold them (from `enlace encode`), with a model made by
    /// `enlace link --encoded`; records are then named SOURCE:REFERENCE as in its links.csv.
    #[arg(long)]
    pub encoded: Vec<PathBuf>,
    /// The model that scored them (model.json from `enlace link`).
    #[arg(long)]
    pub model: PathBuf,
    /// The run's companions.csv (written by `link` beside links.csv): adds what the two
    /// records' companions gave the link in the run's second pass, so the total is the link's
    /// weight. Only links are listed there.
    #[arg(long)]
    pub companions: Option<PathBuf>,
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
    let model = Model::load(&args.model)?;
    if !args.encoded.is_empty() {
        let data = load_encoded(&args.encoded)?;
        if model.kind != data.kind() {
            bail!(
                "{} was trained on plaintext records, not on encodings",
                args.model.display()
            );
        }
        let find = |spec: &str| -> Result<u32> {
            let Some((source, key)) = spec.split_once(':') else {
                bail!("`{spec}`: give a record as SOURCE:REFERENCE");
            };
            (0..data.len() as u32)
                .find(|&id| data.key(id) == (source, key))
                .with_context(|| format!("no record `{key}` of source `{source}` in the files"))
        };
        let (a, b) = (find(&args.left)?, find(&args.right)?);
        let explanation = enlace_link::explain_pair(&model, &data, a, b);
        return print_explanation(&args, &with_companions(&args, &model, explanation)?);
    }
    let sources = load_sources(&args.from)?;
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
    let one_agency =
        args.left.split_once(':').map(|p| p.0) == args.right.split_once(':').map(|p| p.0);
    let explanation = enlace_link::explain_records(&model, left, right, one_agency);
    print_explanation(&args, &with_companions(&args, &model, explanation)?)
}

/// The explanation with the companions' term of `--companions`, when given.
fn with_companions(
    args: &ExplainArgs,
    model: &Model,
    explanation: enlace_link::evaluate::Explanation,
) -> Result<enlace_link::evaluate::Explanation> {
    Ok(match &args.companions {
        Some(path) => {
            let (support, weight) = companions_of(path, &args.left, &args.right)?;
            explanation.with_companions(model, &support, weight)
        }
        None => explanation,
    })
}

/// The support and weight companions.csv gives the link of `left` and `right` (either order).
fn companions_of(path: &Path, left: &str, right: &str) -> Result<(String, f64)> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}, line {line}", path.display()))?;
        let (Some(ls), Some(lk), Some(rs), Some(rk), Some(support), Some(weight)) = (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
        ) else {
            bail!("{}, line {line}: expected six columns", path.display());
        };
        let (a, b) = (format!("{ls}:{lk}"), format!("{rs}:{rk}"));
        if (a == left && b == right) || (a == right && b == left) {
            let weight: f64 = weight.parse().with_context(|| {
                format!(
                    "{}, line {line}, field `weight`: not a number",
                    path.display()
                )
            })?;
            return Ok((support.to_string(), weight));
        }
    }
    bail!(
        "{} does not list {left} ~ {right}: it lists the run's links only, so this pair was not linked",
        path.display()
    )
}

fn print_explanation(args: &ExplainArgs, explanation: &enlace_link::Explanation) -> Result<()> {
    if args.json {
        outln!("{}", serde_json::to_string_pretty(explanation)?);
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
