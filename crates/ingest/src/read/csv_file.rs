//! CSV rows, streamed from a file in UTF-8 or Windows-1252.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use enlace_model::Mapping;

use super::text::{Decoder, SNIFF_BYTES, strip_bom};
use super::{Checkpoint, MAX_ROW_BYTES, RawRow, RowProblem, RowReader};
use crate::ImportError;

pub struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<File>,
    /// A second handle on the file, to copy a rejected row's exact text into the rejects.
    raw: File,
    header: Vec<String>,
    decoder: Decoder,
    record: csv::ByteRecord,
    checkpoint: Checkpoint,
}

/// The delimiter a header line most likely uses.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',')
}

impl CsvRows {
    pub fn open(
        path: &Path,
        mapping: &Mapping,
        from: Option<Checkpoint>,
    ) -> Result<CsvRows, ImportError> {
        let mut file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let mut head = Vec::with_capacity(SNIFF_BYTES.min(1 << 16));
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| ImportError::io(path, e))?;
        if strip_bom(&head).iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ImportError::Empty {
                path: path.to_path_buf(),
            });
        }
        let decoder = Decoder::choose(mapping.source.encoding, strip_bom(&head));
        let delimiter = match mapping.source.delimiter.as_str() {
            "auto" => sniff_delimiter(strip_bom(&head)),
            "\\t" => b'\t',
            d => d.as_bytes().first().copied().unwrap_or(b','),
        };
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ImportError::io(path, e))?;
        let raw = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let mut first = csv::ByteRecord::new();
        let got = reader
            .read_byte_record(&mut first)
            .map_err(|e| ImportError::input(path, e.to_string()))?;
        if !got {
            return Err(ImportError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut header = Vec::with_capacity(first.len());
        for (i, field) in first.iter().enumerate() {
            let field = if i == 0 { strip_bom(field) } else { field };
            let name = decoder.decode(field).ok_or_else(|| {
                ImportError::input(
                    path,
                    format!(
                        "line 1: header column {} is not valid {} text",
                        i + 1,
                        decoder.name()
                    ),
                )
            })?;
            header.push(name.trim().to_string());
        }
        let pos = reader.position().clone();
        let mut checkpoint = Checkpoint {
            offset: pos.byte(),
            line: pos.line(),
            rows: 0,
        };
        if let Some(from) = from {
            let mut pos = csv::Position::new();
            pos.set_byte(from.offset)
                .set_line(from.line)
                .set_record(from.rows + 1);
            reader.seek(pos).map_err(|e| {
                ImportError::input(path, format!("cannot resume at byte {}: {e}", from.offset))
            })?;
            checkpoint = from;
        }
        Ok(CsvRows {
            path: path.to_path_buf(),
            reader,
            raw,
            header,
            decoder,
            record: csv::ByteRecord::new(),
            checkpoint,
        })
    }

    fn raw_text(&mut self, start: u64, end: u64) -> Result<String, ImportError> {
        let mut bytes = vec![0; (end - start) as usize];
        self.raw
            .seek(SeekFrom::Start(start))
            .map_err(|e| ImportError::io(&self.path, e))?;
        self.raw
            .read_exact(&mut bytes)
            .map_err(|e| ImportError::io(&self.path, e))?;
        let text = self.decoder.decode_lossy(&bytes);
        Ok(text.trim_end_matches(['\r', '\n']).to_string())
    }

    fn decode_fields(&self) -> Result<Vec<String>, RowProblem> {
        let mut values = Vec::with_capacity(self.record.len());
        for (i, field) in self.record.iter().enumerate() {
            match self.decoder.decode(field) {
                Some(v) => values.push(v),
                None => {
                    return Err(RowProblem {
                        column: self.header.get(i).cloned(),
                        reason:
                            "not valid UTF-8 text; if the file is Latin-1 or Windows-1252, set \
                                 source.encoding = \"windows-1252\" in the mapping"
                                .to_string(),
                    });
                }
            }
        }
        Ok(values)
    }
}

impl RowReader for CsvRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<RawRow, ImportError>> {
        let start = self.checkpoint.offset;
        match self.reader.read_byte_record(&mut self.record) {
            Err(e) => {
                return Some(Err(ImportError::input(
                    &self.path,
                    format!("line {}: {e}", self.checkpoint.line),
                )));
            }
            Ok(false) => return None,
            Ok(true) => {}
        }
        let line = self
            .record
            .position()
            .map(|p| p.line())
            .unwrap_or(self.checkpoint.line);
        let end = self.reader.position().clone();
        self.checkpoint = Checkpoint {
            offset: end.byte(),
            line: end.line(),
            rows: self.checkpoint.rows + 1,
        };
        let size = end.byte().saturating_sub(start) as usize;
        let spans = end.line().saturating_sub(line);
        let problem = if size > MAX_ROW_BYTES {
            Some(RowProblem {
                column: None,
                reason: format!(
                    "row is {size} bytes long, above the {MAX_ROW_BYTES}-byte limit{}",
                    if spans > 1 {
                        format!(" and runs over {spans} lines (an unbalanced quote?)")
                    } else {
                        String::new()
                    }
                ),
            })
        } else if self.record.len() != self.header.len() {
            Some(RowProblem {
                column: None,
                reason: format!(
                    "has {} fields where the header has {}{}",
                    self.record.len(),
                    self.header.len(),
                    if spans > 1 {
                        format!("; it runs over {spans} lines (an unbalanced quote?)")
                    } else {
                        " (a wrong delimiter or an unquoted delimiter in a value?)".to_string()
                    }
                ),
            })
        } else {
            None
        };
        let row = match problem {
            Some(p) => match self.raw_text(start, end.byte()) {
                Ok(text) => RawRow {
                    line,
                    values: Err(p),
                    text: Some(text),
                },
                Err(e) => return Some(Err(e)),
            },
            None => match self.decode_fields() {
                Ok(values) => RawRow {
                    line,
                    values: Ok(values),
                    text: None,
                },
                Err(p) => match self.raw_text(start, end.byte()) {
                    Ok(text) => RawRow {
                        line,
                        values: Err(p),
                        text: Some(text),
                    },
                    Err(e) => return Some(Err(e)),
                },
            },
        };
        Some(Ok(row))
    }

    fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    fn encoding(&self) -> &'static str {
        self.decoder.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1;2;3"), b';');
        assert_eq!(sniff_delimiter(b"a,b\n"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
    }
}
