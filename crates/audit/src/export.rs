//! The disclosure accounting: for each time data left the node — a release after a follow-up
//! request, an upload of encodings, a hit reported to a partner — the date, its nature, the
//! stated purpose and the recipient, as CSV for the legal officer.

use std::io::Write;

use crate::entry::Entry;
use crate::error::AuditError;

/// The CSV header of the accounting.
pub const DISCLOSURE_HEADER: [&str; 7] = [
    "date",
    "entry",
    "nature",
    "purpose",
    "recipient",
    "subject",
    "details",
];

/// Writes the disclosures among `entries` as CSV; returns how many were written.
pub fn write_disclosures<W: Write>(entries: &[Entry], out: W) -> Result<usize, AuditError> {
    let err = |e: csv::Error| AuditError::Export(e.to_string());
    let mut w = csv::Writer::from_writer(out);
    w.write_record(DISCLOSURE_HEADER).map_err(err)?;
    let mut n = 0;
    for e in entries.iter().filter(|e| e.body.action.is_disclosure()) {
        let details = e
            .body
            .detail
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        w.write_record([
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str(),
            &e.seq.to_string(),
            e.body.action.as_str(),
            e.body.purpose.as_deref().unwrap_or(""),
            e.body.recipient.as_deref().unwrap_or(""),
            e.body.subject.as_deref().unwrap_or(""),
            &details,
        ])
        .map_err(err)?;
        n += 1;
    }
    w.flush().map_err(|e| AuditError::Export(e.to_string()))?;
    Ok(n)
}
