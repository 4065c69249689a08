//! Output files: the three source files (the MX one in Windows-1252 with CRLF line ends, as its
//! exports come), their mappings, the link files and the ground truth.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::SynthError;

/// The example mappings, embedded so the generated scenario and the examples cannot drift.
pub const MAPPINGS: [(&str, &str); 3] = [
    (
        "us-encounters.toml",
        include_str!("../../../examples/mappings/us-encounters.toml"),
    ),
    (
        "mx-registros.toml",
        include_str!("../../../examples/mappings/mx-registros.toml"),
    ),
    (
        "gt-registros.toml",
        include_str!("../../../examples/mappings/gt-registros.toml"),
    ),
];

/// File names of the three sources, by source index.
pub const SOURCE_FILES: [&str; 3] = ["us-encounters.csv", "mx-registros.csv", "gt-registros.csv"];

/// Source names as the mappings declare them, by source index.
pub const SOURCE_NAMES: [&str; 3] = ["us-encounters", "mx-registros", "gt-registros"];

/// A UTF-8 CSV file.
pub struct Csv {
    pub path: PathBuf,
    inner: csv::Writer<BufWriter<File>>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SynthError + '_ {
    move |e| SynthError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> SynthError + '_ {
    move |e| SynthError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Csv {
    pub fn create(path: PathBuf, header: &[&str]) -> Result<Csv, SynthError> {
        let file = File::create(&path).map_err(io(&path))?;
        let mut inner = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::with_capacity(1 << 20, file));
        inner.write_record(header).map_err(csv_err(&path))?;
        Ok(Csv { path, inner })
    }

    pub fn row<I, T>(&mut self, fields: I) -> Result<(), SynthError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.inner.write_record(fields).map_err(csv_err(&self.path))
    }

    pub fn finish(mut self) -> Result<(), SynthError> {
        self.inner.flush().map_err(io(&self.path))
    }
}

/// A CSV file written in Windows-1252 with CRLF line ends. Rows are formatted as UTF-8 into a
/// buffer and encoded per batch, so encoding costs one pass and memory stays bounded.
pub struct Cp1252Csv {
    pub path: PathBuf,
    file: BufWriter<File>,
    buffer: csv::Writer<Vec<u8>>,
}

impl Cp1252Csv {
    pub fn create(path: PathBuf, header: &[&str]) -> Result<Cp1252Csv, SynthError> {
        let file = File::create(&path).map_err(io(&path))?;
        let buffer = Self::buffer();
        let mut w = Cp1252Csv {
            path,
            file: BufWriter::with_capacity(1 << 20, file),
            buffer,
        };
        w.row(header)?;
        Ok(w)
    }

    fn buffer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(1 << 20))
    }

    pub fn row<I, T>(&mut self, fields: I) -> Result<(), SynthError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.buffer
            .write_record(fields)
            .map_err(csv_err(&self.path))
    }

    /// Encodes what is buffered and writes it out.
    pub fn drain(&mut self) -> Result<(), SynthError> {
        let full = std::mem::replace(&mut self.buffer, Self::buffer());
        let bytes = full
            .into_inner()
            .map_err(|e| io(&self.path)(e.into_error()))?;
        let text = String::from_utf8(bytes).map_err(|_| SynthError::Encoding {
            path: self.path.clone(),
        })?;
        let (encoded, _, had_errors) = encoding_rs::WINDOWS_1252.encode(&text);
        if had_errors {
            return Err(SynthError::Encoding {
                path: self.path.clone(),
            });
        }
        self.file.write_all(&encoded).map_err(io(&self.path))
    }

    pub fn finish(mut self) -> Result<(), SynthError> {
        self.drain()?;
        self.file.flush().map_err(io(&self.path))
    }
}

/// Writes a small whole file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(io(path))
}

pub fn create_dir(path: &Path) -> Result<(), SynthError> {
    std::fs::create_dir_all(path).map_err(io(path))
}
