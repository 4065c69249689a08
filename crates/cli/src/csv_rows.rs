//! CSV outputs of millions of rows, rendered in parallel and written in order.
//!
//! A million-person run writes two million links and as many cluster rows; formatting them one
//! by one (weights, probabilities, the csv writer's field checks) was a tenth of the run. Rows
//! are rendered by chunks on every core into buffers, each by its own `csv::Writer` (so quoting
//! is the same as one writer's), and the buffers are written to the file in the items' order.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

/// Items one task renders.
const CHUNK: usize = 1 << 15;

/// Chunks rendered before their buffers are written, so that the buffers held at once stay a
/// few megabytes whatever the output's size.
const CHUNKS_AT_ONCE: usize = 32;

/// Writes `header` then, for each of `items` in order, the rows `render` writes for it (none,
/// one or several) to `path`; returns how many items wrote a row.
pub fn write_rows<T: Sync>(
    path: &Path,
    header: &[&str],
    items: &[T],
    render: impl Fn(&mut csv::Writer<Vec<u8>>, &T) -> Result<bool> + Sync,
) -> Result<usize> {
    let context = || format!("writing {}", path.display());
    let file = std::fs::File::create(path).with_context(context)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(header)?;
    out.write_all(&buffer_of(head)?).with_context(context)?;
    let mut written = 0;
    for window in items.chunks(CHUNK * CHUNKS_AT_ONCE) {
        let rendered: Vec<(Vec<u8>, usize)> = window
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut n = 0;
                for item in chunk {
                    n += usize::from(render(&mut w, item)?);
                }
                Ok((buffer_of(w)?, n))
            })
            .collect::<Result<_>>()?;
        for (bytes, n) in rendered {
            out.write_all(&bytes).with_context(context)?;
            written += n;
        }
    }
    out.flush().with_context(context)?;
    Ok(written)
}

fn buffer_of(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("rendering CSV rows: {}", e.error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_out_in_order_and_quoted_as_one_writer_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        // More items than one window, a field that needs quotes, items that write nothing.
        let items: Vec<u32> = (0..(CHUNK * CHUNKS_AT_ONCE + 3 * CHUNK + 7) as u32).collect();
        let render = |w: &mut csv::Writer<Vec<u8>>, i: &u32| -> Result<bool> {
            if i.is_multiple_of(5) {
                return Ok(false);
            }
            w.write_record([i.to_string().as_str(), "a,\"b\""])?;
            Ok(true)
        };
        let n = write_rows(&path, &["id", "text"], &items, render).unwrap();
        let mut expected = csv::Writer::from_writer(Vec::new());
        expected.write_record(["id", "text"]).unwrap();
        let mut count = 0;
        for i in &items {
            count += usize::from(render(&mut expected, i).unwrap());
        }
        assert_eq!(n, count);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            expected.into_inner().unwrap()
        );
    }
}
