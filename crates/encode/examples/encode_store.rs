//! Encoding throughput on one core over a node's store, as `enlace encode` runs it (references,
//! then `write_encoding_file`), repeated so that a busy host's noise can be seen and the best
//! run read off. The bytes go to a sink, so writing costs nothing here; the file's checksum is
//! still computed, as in the command.
//!
//! cargo run --release -p enlace-encode --example encode_store -- STORE SOURCE SECRET_FILE [REPS]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

use enlace_encode::{Encoder, ProjectSecret, Schema, write_encoding_file};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Takes the bytes and forgets them, keeping only the position a seek needs.
#[derive(Default)]
struct Sink {
    position: u64,
    end: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.position += buf.len() as u64;
        self.end = self.end.max(self.position);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Sink {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.end.saturating_add_signed(d),
            SeekFrom::Current(d) => self.position.saturating_add_signed(d),
        };
        Ok(self.position)
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store, source, secret_file, rest @ ..] = &args[..] else {
        return Err("usage: encode_store STORE SOURCE SECRET_FILE [REPS]".into());
    };
    let reps: usize = rest.first().map_or(Ok(3), |r| r.parse())?;
    let secret = ProjectSecret::from_file(Path::new(secret_file))?;
    let encoder = Encoder::new(&secret, Schema::default_with_id("enlace-demo"))?;
    let t = Instant::now();
    let records: Vec<enlace_model::Record> = enlace_store::Store::open(Path::new(store))?
        .records_for_linkage(source)?
        .into_iter()
        .map(|r| r.record)
        .collect();
    eprintln!(
        "{} records read in {:.1} s",
        records.len(),
        t.elapsed().as_secs_f64()
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut best = f64::INFINITY;
    for rep in 1..=reps {
        let t = Instant::now();
        let written = pool.install(|| {
            let references: Vec<u64> = records
                .iter()
                .map(|r| encoder.reference_for(&r.key))
                .collect();
            write_encoding_file(
                &encoder,
                &records,
                |i, _| references[i],
                |_, _| 0,
                Sink::default(),
            )
        })?;
        let seconds = t.elapsed().as_secs_f64();
        best = best.min(seconds);
        println!(
            "run {rep}: {:.2} s, {:.0} records/s ({} bytes)",
            seconds,
            records.len() as f64 / seconds,
            written.bytes
        );
    }
    println!(
        "best: {:.2} s, {:.0} records/s on one core",
        best,
        records.len() as f64 / best
    );
    Ok(())
}
