//! JSON Lines: one JSON object per line. The header is the first object's keys, plus any column
//! the mapping names that the first object lacks (later objects may carry it); a key an object
//! lacks reads as empty.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use enlace_model::Mapping;
use serde_json::Value;

use super::text::{Decoder, SNIFF_BYTES, strip_bom};
use super::{Checkpoint, MAX_ROW_BYTES, RawRow, RowProblem, RowReader};
use crate::ImportError;

pub struct JsonlRows {
    path: PathBuf,
    reader: BufReader<File>,
    header: Vec<String>,
    decoder: Decoder,
    buf: Vec<u8>,
    checkpoint: Checkpoint,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl JsonlRows {
    pub fn open(
        path: &Path,
        mapping: &Mapping,
        from: Option<Checkpoint>,
    ) -> Result<JsonlRows, ImportError> {
        let mut file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let mut head = Vec::new();
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| ImportError::io(path, e))?;
        let decoder = Decoder::choose(mapping.source.encoding, strip_bom(&head));
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ImportError::io(path, e))?;
        let mut rows = JsonlRows {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            header: Vec::new(),
            decoder,
            buf: Vec::new(),
            checkpoint: Checkpoint {
                offset: 0,
                line: 1,
                rows: 0,
            },
        };
        // The header comes from the first object that parses, wherever the import resumes.
        let first = loop {
            match rows.read_line() {
                Err(e) => return Err(e),
                Ok(None) => {
                    return Err(ImportError::Empty {
                        path: path.to_path_buf(),
                    });
                }
                Ok(Some((_, text))) => {
                    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) {
                        break map;
                    }
                }
            }
        };
        rows.header = first.keys().cloned().collect();
        for col in mapping.columns() {
            if !rows.header.iter().any(|h| h == col)
                && mapping.source.optional_columns.iter().any(|c| c == col)
            {
                rows.header.push(col.to_string());
            }
        }
        let start = from.unwrap_or_default();
        rows.reader
            .seek(SeekFrom::Start(start.offset))
            .map_err(|e| ImportError::io(path, e))?;
        rows.checkpoint = Checkpoint {
            offset: start.offset,
            line: start.line.max(1),
            rows: start.rows,
        };
        Ok(rows)
    }

    /// The next non-blank line with its line number, decoded; moves the checkpoint past it.
    fn read_line(&mut self) -> Result<Option<(u64, String)>, ImportError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| ImportError::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            let line = self.checkpoint.line;
            self.checkpoint.offset += n as u64;
            self.checkpoint.line += 1;
            let bytes = if self.checkpoint.offset == n as u64 {
                strip_bom(&self.buf)
            } else {
                &self.buf[..]
            };
            let text = self.decoder.decode_lossy(bytes);
            if text.trim().is_empty() {
                continue;
            }
            return Ok(Some((line, text)));
        }
    }
}

impl RowReader for JsonlRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<RawRow, ImportError>> {
        let (line, text) = match self.read_line() {
            Err(e) => return Some(Err(e)),
            Ok(None) => return None,
            Ok(Some(x)) => x,
        };
        self.checkpoint.rows += 1;
        let valid_text = self.decoder != Decoder::Utf8 || std::str::from_utf8(&self.buf).is_ok();
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        let values = if text.len() > MAX_ROW_BYTES {
            Err(RowProblem {
                column: None,
                reason: format!(
                    "line is {} bytes long, above the {MAX_ROW_BYTES}-byte limit",
                    text.len()
                ),
            })
        } else if !valid_text {
            Err(RowProblem {
                column: None,
                reason: "not valid UTF-8 text; if the file is Windows-1252, set source.encoding = \"windows-1252\""
                    .to_string(),
            })
        } else {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(self
                    .header
                    .iter()
                    .map(|h| map.get(h).map(value_text).unwrap_or_default())
                    .collect()),
                Ok(_) => Err(RowProblem {
                    column: None,
                    reason: "line is JSON but not an object".to_string(),
                }),
                Err(e) => Err(RowProblem {
                    column: None,
                    reason: format!(
                        "not valid JSON at column {}: {}",
                        e.column(),
                        json_error_kind(&e)
                    ),
                }),
            }
        };
        let text = if values.is_err() { Some(text) } else { None };
        Some(Ok(RawRow { line, values, text }))
    }

    fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    fn encoding(&self) -> &'static str {
        self.decoder.name()
    }
}

/// The kind of a JSON syntax error, without the offending text.
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of line",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}
