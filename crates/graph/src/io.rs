//! Reading plain edge lists (published network data, analyst exports), and writing files so
//! that a crash or a kill never leaves one half-written.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use crate::error::{GraphError, Result};
use crate::graph::{EdgeKind, Graph, Node, NodeKind, Update};

/// Reads an undirected edge list: one `a b` or `a b weight` per line, separated by spaces, tabs
/// or a comma; blank lines and lines starting with `#` are skipped. Every id becomes a node of
/// `kind`, every line an edge of `edge_kind`. A malformed line is an error naming its number.
pub fn read_edge_list(reader: impl BufRead, kind: NodeKind, edge_kind: EdgeKind) -> Result<Graph> {
    let mut up = Update::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|f| !f.is_empty())
            .collect();
        let parse_err = |reason: String| GraphError::Parse {
            line: i + 1,
            reason,
        };
        let weight = match fields.len() {
            2 => 1.0,
            3 => fields[2]
                .parse::<f64>()
                .map_err(|e| parse_err(format!("weight {:?}: {e}", fields[2])))?,
            k => return Err(parse_err(format!("expected 2 or 3 fields, found {k}"))),
        };
        up.node(Node::new(fields[0], kind));
        up.node(Node::new(fields[1], kind));
        up.edge_with(fields[0], fields[1], edge_kind, weight, None);
    }
    up.build()
}

/// Writes `path` whole or not at all: `body` writes into a new temporary file in the same
/// directory (so the rename cannot cross file systems), which is flushed, synced to disk and
/// renamed over `path`; the directory is then synced so the rename itself survives a crash.
/// If `body` or any step fails, the temporary file is removed and `path` keeps its previous
/// contents (or stays absent). A kill at any moment leaves at most a stray temporary file
/// (named `.NAME.tmp-PID-N`), never a truncated `path`.
pub fn write_atomic<T>(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| GraphError::InvalidParameter {
            name: "path",
            reason: format!("{} names no file", path.display()),
        })?
        .to_string_lossy();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut out = BufWriter::new(File::create_new(&tmp)?);
        let value = body(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    match written {
        Ok(value) => {
            // Make the rename durable. Directories cannot be opened for syncing everywhere
            // (Windows); there the rename is as durable as the platform makes it.
            if let Ok(d) = File::open(dir) {
                d.sync_all()?;
            }
            Ok(value)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("enlace-graph-io-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_atomic_write_replaces_the_file_whole_or_leaves_it_as_it_was() {
        let dir = scratch_dir("atomic");
        let path = dir.join("out.txt");
        write_atomic(&path, |w| Ok(w.write_all(b"first\n")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first\n");

        // A body that fails half-way: the old contents stay, no temporary file is left.
        let err = write_atomic(&path, |w| {
            w.write_all(b"half of the sec")?;
            Err::<(), _>(GraphError::Empty("stopped"))
        })
        .unwrap_err();
        assert!(matches!(err, GraphError::Empty("stopped")));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first\n");
        assert_eq!(entries(&dir), vec!["out.txt"]);

        let n = write_atomic(&path, |w| {
            w.write_all(b"second\n")?;
            Ok(7)
        })
        .unwrap();
        assert_eq!(n, 7);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n");
        assert_eq!(entries(&dir), vec!["out.txt"]);

        // A failed write to a file that did not exist leaves nothing behind.
        let other = dir.join("other.txt");
        assert!(write_atomic(&other, |_| Err::<(), _>(GraphError::TooLarge)).is_err());
        assert!(!other.exists());
        assert_eq!(entries(&dir), vec!["out.txt"]);
        assert!(write_atomic(Path::new("/"), |_| Ok(())).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_pairs_and_weights_and_reports_bad_lines() {
        let g = read_edge_list(
            "# comment\n0 1\n1\t2 2.5\n\n2,0\n".as_bytes(),
            NodeKind::Person,
            EdgeKind::Associated,
        )
        .unwrap();
        assert_eq!((g.node_count(), g.edge_count()), (3, 3));
        assert_eq!(g.edges()[1].weight, 2.5);
        let err = read_edge_list("0 1\n0 1 x\n".as_bytes(), NodeKind::Person, EdgeKind::Used)
            .unwrap_err();
        assert!(matches!(err, GraphError::Parse { line: 2, .. }), "{err}");
        let err = read_edge_list("4 4\n".as_bytes(), NodeKind::Person, EdgeKind::Used).unwrap_err();
        assert!(matches!(err, GraphError::SelfLoop(_)));
        assert!(matches!(
            read_edge_list("".as_bytes(), NodeKind::Person, EdgeKind::Used),
            Err(GraphError::Empty(_))
        ));
    }
}
