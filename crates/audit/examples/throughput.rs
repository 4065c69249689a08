//! Audit log throughput: appends one by one (a transaction and a disk flush each), appends in
//! batches (group commit), and verification of a log of N entries, newest signature only and
//! every signature. Prints one line per figure.
//!
//!   cargo run --release -p enlace-audit --example throughput -- [ENTRIES] [DIR]
//!
//! ENTRIES defaults to 1,000,000; DIR to a temporary folder (give one on a real disk: the
//! single appends measure its flush time).
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use ed25519_dalek::SigningKey;
use enlace_audit::{Action, AuditLog, AuditWriter, NewEntry, Signatures, verify};

fn entry(i: u64) -> NewEntry {
    NewEntry::new(Action::Query, "officer-0042")
        .subject(format!("{i:016x}"))
        .purpose("border query")
        .recipient("lu-1")
        .detail("result", if i.is_multiple_of(7) { "hit" } else { "no_hit" })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = match args.next() {
        Some(a) => a.replace(['_', ','], "").parse()?,
        None => 1_000_000,
    };
    let tmp = tempfile::tempdir()?;
    let base = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().to_path_buf(),
    };
    let key = SigningKey::from_bytes(&[42; 32]);

    // One entry per transaction, for two seconds.
    let single_dir = base.join("single");
    let mut log = AuditLog::open(&single_dir, key.clone())?;
    let t = Instant::now();
    let mut i = 0;
    while t.elapsed().as_secs_f64() < 2.0 {
        log.append(entry(i))?;
        i += 1;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "append, one entry a transaction: {:.0} entries/s ({i} in {s:.2} s)",
        i as f64 / s
    );

    // 32 threads appending one entry at a time through the group-commit writer, for 2 seconds.
    let writer = AuditWriter::start(log);
    let t = Instant::now();
    let count = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for c in 0..32u64 {
            let (writer, count) = (&writer, &count);
            s.spawn(move || {
                let mut j = 0;
                while t.elapsed().as_secs_f64() < 2.0 {
                    if writer.append(entry(c << 32 | j)).is_err() {
                        break;
                    }
                    j += 1;
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let s = t.elapsed().as_secs_f64();
    let k = count.into_inner();
    println!(
        "append, 32 threads one entry at a time, group commit: {:.0} entries/s ({k} in {s:.2} s)",
        k as f64 / s
    );
    writer.close()?;

    // Batches of 1,000 (a group commit), up to N entries.
    let batch_dir = base.join("batch");
    let mut log = AuditLog::open(&batch_dir, key.clone())?;
    let t = Instant::now();
    let mut written = 0;
    while written < n {
        let k = (n - written).min(1000);
        log.append_batch((written..written + k).map(entry).collect())?;
        written += k;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "append, batches of 1,000: {:.0} entries/s ({n} in {s:.2} s)",
        n as f64 / s
    );

    for (what, mode) in [
        ("newest signature", Signatures::Newest),
        ("every signature", Signatures::All),
    ] {
        let t = Instant::now();
        let r = verify(&batch_dir, &key.verifying_key(), mode)?;
        let s = t.elapsed().as_secs_f64();
        if !r.is_intact() {
            return Err(format!("the log did not verify: {:?}", r.problems.first()).into());
        }
        println!(
            "verify {} entries, {what}: {s:.2} s ({} signatures, {} threads)",
            r.entries,
            r.signatures_checked,
            rayon::current_num_threads()
        );
    }
    Ok(())
}
