//! Group commit for a busy node: callers on many threads hand entries to one writer thread,
//! which appends whatever has queued up in one transaction and answers each caller once its
//! entry is on disk. One entry a transaction is bound by the disk's flush time (a few hundred a
//! second on a virtual disk); under load the writer gathers many entries per flush.

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::entry::{Entry, NewEntry};
use crate::error::AuditError;
use crate::log::AuditLog;

/// Most entries one transaction takes, so a flood still gets answers in bounded time.
const MAX_BATCH: usize = 4096;

struct Job {
    entry: NewEntry,
    reply: mpsc::SyncSender<Result<Entry, String>>,
}

/// The log behind a writer thread; share it by reference (it is `Sync`) or in an `Arc`.
pub struct AuditWriter {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<AuditLog>>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter").finish_non_exhaustive()
    }
}

impl AuditWriter {
    /// Starts the writer thread, which owns `log` until [`AuditWriter::close`].
    pub fn start(mut log: AuditLog) -> AuditWriter {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                let bodies = jobs.iter().map(|j| j.entry.clone()).collect();
                match log.append_batch(bodies) {
                    Ok(written) => {
                        for (job, e) in jobs.into_iter().zip(written) {
                            // A caller that gave up waiting is no reason to stop.
                            let _ = job.reply.send(Ok(e));
                        }
                    }
                    Err(err) => {
                        let text = err.to_string();
                        for job in jobs {
                            let _ = job.reply.send(Err(text.clone()));
                        }
                    }
                }
            }
            log
        });
        AuditWriter {
            jobs: Some(tx),
            thread: Some(thread),
        }
    }

    /// Appends `entry` and returns once it is committed.
    pub fn append(&self, entry: NewEntry) -> Result<Entry, AuditError> {
        let closed = || AuditError::Invalid("the audit writer has stopped".into());
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(closed)?
            .send(Job { entry, reply })
            .map_err(|_| closed())?;
        answer
            .recv()
            .map_err(|_| closed())?
            .map_err(AuditError::Invalid)
    }

    /// Stops the thread after the queued entries are written, and hands the log back.
    pub fn close(mut self) -> Result<AuditLog, AuditError> {
        self.jobs.take();
        self.thread
            .take()
            .ok_or_else(|| AuditError::Invalid("the audit writer has stopped".into()))?
            .join()
            .map_err(|_| AuditError::Invalid("the audit writer thread failed".into()))
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
