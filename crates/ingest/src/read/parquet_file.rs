//! Parquet rows, through the parquet crate's row API (no Arrow needed). Values are turned into
//! text as a CSV export would hold them; dates become ISO `YYYY-MM-DD`.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};

use super::{Checkpoint, RawRow, RowReader};
use crate::ImportError;

pub struct ParquetRows {
    path: PathBuf,
    rows: RowIter<'static>,
    header: Vec<String>,
    checkpoint: Checkpoint,
}

impl ParquetRows {
    pub fn open(path: &Path, from: Option<Checkpoint>) -> Result<ParquetRows, ImportError> {
        let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        if file.metadata().map_err(|e| ImportError::io(path, e))?.len() == 0 {
            return Err(ImportError::Empty {
                path: path.to_path_buf(),
            });
        }
        let reader = SerializedFileReader::new(file)
            .map_err(|e| ImportError::input(path, format!("not a readable Parquet file: {e}")))?;
        let header: Vec<String> = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        let mut rows = RowIter::from_file_into(Box::new(reader));
        let start = from.unwrap_or(Checkpoint {
            offset: 0,
            line: 1,
            rows: 0,
        });
        for _ in 0..start.rows {
            match rows.next() {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(ImportError::input(path, format!("cannot resume: {e}")));
                }
                None => break,
            }
        }
        Ok(ParquetRows {
            path: path.to_path_buf(),
            rows,
            header,
            checkpoint: start,
        })
    }
}

fn field_text(field: &Field) -> String {
    match field {
        Field::Null => String::new(),
        Field::Str(s) => s.clone(),
        Field::Date(days) => chrono::DateTime::from_timestamp(i64::from(*days) * 86_400, 0)
            .map(|d| d.date_naive().to_string())
            .unwrap_or_default(),
        Field::TimestampMillis(ms) => chrono::DateTime::from_timestamp_millis(*ms)
            .map(|d| d.naive_utc().to_string())
            .unwrap_or_default(),
        Field::TimestampMicros(us) => chrono::DateTime::from_timestamp_micros(*us)
            .map(|d| d.naive_utc().to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

fn row_values(header: &[String], row: &Row) -> Vec<String> {
    let mut values = vec![String::new(); header.len()];
    for (name, field) in row.get_column_iter() {
        if let Some(i) = header.iter().position(|h| h == name) {
            values[i] = field_text(field);
        }
    }
    values
}

impl RowReader for ParquetRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<RawRow, ImportError>> {
        let next = self.rows.next()?;
        // Parquet has no lines: a row's "line" is its number, counting from 1 after a notional
        // header, so messages read the same as for CSV.
        self.checkpoint.rows += 1;
        self.checkpoint.offset = self.checkpoint.rows;
        self.checkpoint.line = self.checkpoint.rows + 1;
        let line = self.checkpoint.rows + 1;
        Some(match next {
            Ok(row) => Ok(RawRow {
                line,
                values: Ok(row_values(&self.header, &row)),
                text: None,
            }),
            // A row that cannot be decoded means a damaged file, not a bad value: stop.
            Err(e) => Err(ImportError::input(&self.path, format!("row {line}: {e}"))),
        })
    }

    fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    fn encoding(&self) -> &'static str {
        "binary"
    }
}
