//! `enlace secret` and `enlace encode`: the project secret, and a source's records turned into
//! keyed encodings (the only form in which records leave an agency's node).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_encode::{Encoder, ProjectSecret, Schema};
use enlace_store::Store;
use serde::Serialize;

#[derive(Args)]
pub struct SecretArgs {
    /// Where to write the new secret (64 hex digits, readable by the owner only). Share it
    /// with the other agencies over a channel the linkage unit cannot read.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes a fresh project secret to a new file, mode 0600; refuses to overwrite one.
pub fn secret(args: SecretArgs) -> Result<()> {
    let secret = ProjectSecret::generate(&mut rand::rng());
    write_private(&args.out, secret.to_hex().as_bytes())?;
    outln!(
        "new project secret written to {} (owner-only); keep it off the linkage unit",
        args.out.display()
    );
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    Ok(())
}

#[derive(Args)]
pub struct SchemaArgs {
    /// The project's id, as `enlace encode --project` takes it.
    #[arg(long, default_value = "enlace")]
    pub project: String,
}

/// Prints the default encoding schema as JSON, to be edited and given back with `--schema`.
pub fn schema(args: SchemaArgs) -> Result<()> {
    let schema = Schema::default_with_id(&args.project);
    let value: serde_json::Value = serde_json::from_str(&schema.to_json())?;
    outln!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

#[derive(Args)]
pub struct EncodeArgs {
    /// The source to encode: STORE:SOURCE.
    #[arg(long)]
    pub from: String,
    /// File holding the project secret (from `enlace secret`). Never on the command line.
    #[arg(long)]
    pub secret_file: PathBuf,
    /// The project's id, shared by every agency of the project; part of every derived key.
    #[arg(long, default_value = "enlace")]
    pub project: String,
    /// An encoding schema (JSON) instead of the default one.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// The agency's own deduplication of this source (clusters.csv from `enlace dedupe`):
    /// records of one cluster are sent as one group, so the linkage unit links them across
    /// agencies as one person instead of deduplicating them on encodings.
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// The encoding file to write. Its stem names the source at the linkage unit. A file
    /// `<out>.refs.csv` mapping opaque references back to record ids is written beside it:
    /// it stays at the node.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct EncodeSummary {
    source: String,
    records: usize,
    schema: String,
    fingerprint: String,
    /// Computing references and encoding, writing excluded (as the encoder sustains it).
    seconds: f64,
    records_per_second: f64,
    /// Handing the file's bytes to the kernel (its page cache), apart from encoding them.
    write_seconds: f64,
    out: PathBuf,
    references: PathBuf,
}

/// Group numbers (1, 2, …) of the records of `source` in a clusters.csv, for clusters holding
/// two or more of its records; records alone are left out (group 0).
fn read_groups(path: &Path, source: &str) -> Result<HashMap<String, u32>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let (Some(cluster), Some(s), Some(id)) = (row.get(0), row.get(1), row.get(2)) else {
            bail!(
                "{}: line {}: expected cluster_id,source,record_id",
                path.display(),
                i + 2
            );
        };
        if s == source {
            members
                .entry(cluster.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    if members.is_empty() {
        bail!("{} holds no record of source `{source}`", path.display());
    }
    let mut out = HashMap::new();
    let groups = members.into_values().filter(|m| m.len() > 1);
    for (group, ids) in (1u32..).zip(groups) {
        for id in ids {
            out.insert(id, group);
        }
    }
    Ok(out)
}

/// The file of references kept at the node beside an encoding file.
pub fn references_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".refs.csv");
    PathBuf::from(name)
}

pub fn encode(args: EncodeArgs) -> Result<()> {
    let Some((store_dir, source)) = args.from.rsplit_once(':') else {
        bail!("`--from {}`: give STORE:SOURCE", args.from);
    };
    let secret = ProjectSecret::from_file(&args.secret_file)
        .with_context(|| format!("reading the project secret {}", args.secret_file.display()))?;
    let schema = match &args.schema {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Schema::from_json(&text).with_context(|| format!("schema {}", p.display()))?
        }
        None => Schema::default_with_id(&args.project),
    };
    let encoder = Encoder::new(&secret, schema)?;
    let store =
        Store::open(Path::new(store_dir)).with_context(|| format!("opening store {store_dir}"))?;
    let records: Vec<enlace_model::Record> = store
        .records_for_linkage(source)
        .with_context(|| format!("reading {source} from {store_dir}"))?
        .into_iter()
        .map(|r| r.record)
        .collect();
    if records.is_empty() {
        bail!("source `{source}` in {store_dir} holds no records");
    }
    let groups = match &args.groups {
        Some(path) => read_groups(path, source)?,
        None => HashMap::new(),
    };
    let group_of: Vec<u32> = records
        .iter()
        .map(|r| groups.get(&r.key).copied().unwrap_or(0))
        .collect();

    // Timed: references and encoding, with the writing timed apart. Encoded slice by slice
    // straight into the file (bounded memory), under a temporary name renamed at the end, so a
    // killed run never leaves half a file.
    let t0 = Instant::now();
    let references: Vec<u64> = records
        .iter()
        .map(|r| encoder.reference_for(&r.key))
        .collect();
    let tmp = args.out.with_extension("partial");
    let f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let written = enlace_encode::write_encoding_file(
        &encoder,
        &records,
        |i, _| references[i],
        |i, _| group_of[i],
        &mut w,
    )
    .with_context(|| format!("writing {}", tmp.display()))?;
    let flushing = Instant::now();
    w.flush()?;
    drop(w);
    let write_seconds = written.writing.as_secs_f64() + flushing.elapsed().as_secs_f64();
    let seconds = t0.elapsed().as_secs_f64() - write_seconds;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("writing {}", args.out.display()))?;

    let refs = references_path(&args.out);
    let mut body = String::from("source,reference,record_id\n");
    {
        let mut wr = csv::Writer::from_writer(Vec::new());
        for (r, &reference) in records.iter().zip(&references) {
            wr.write_record([
                source,
                &enlace_link::encoded::reference_key(reference),
                &r.key,
            ])?;
        }
        body.push_str(std::str::from_utf8(&wr.into_inner()?)?);
    }
    let _ = std::fs::remove_file(&refs);
    write_private(&refs, body.trim_end().as_bytes())?;

    let summary = EncodeSummary {
        source: source.to_string(),
        records: records.len(),
        schema: encoder.schema().id.clone(),
        fingerprint: encoder.schema().fingerprint().short(),
        seconds,
        records_per_second: records.len() as f64 / seconds.max(1e-9),
        write_seconds,
        out: args.out.clone(),
        references: refs,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!(
            "encoded {} records of {} in {:.2} s ({:.0} records/s), written in {:.2} s; schema {} ({})",
            summary.records,
            summary.source,
            summary.seconds,
            summary.records_per_second,
            summary.write_seconds,
            summary.schema,
            summary.fingerprint
        );
        outln!(
            "written: {} (send to the linkage unit), {} (keep at the node)",
            summary.out.display(),
            summary.references.display()
        );
    }
    Ok(())
}
