//! An agency's clerical reviews of its hits (`reviews` in the node's exchange file): who decided
//! what about which pair, why, and whether the decision has reached the linkage unit yet.
//!
//! The reason stays here: the unit is sent only the pair and the decision
//! ([`PairReview`]). A decision is stored before it is sent, so a unit that cannot be reached
//! loses nothing: unsent decisions go with the next review, or before the next run.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::unit::PairReview;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("reviews: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A decision as the agency keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Review {
    /// `accept`, `reject` or `unsure`.
    pub decision: String,
    pub reason: String,
    pub reviewer: String,
    /// Seconds since the Unix epoch.
    pub decided_at: i64,
    /// Whether the linkage unit has it.
    pub sent: bool,
}

pub struct ReviewBook {
    conn: Connection,
}

impl ReviewBook {
    /// Opens (creating its table in) the node's exchange file.
    pub fn open(path: &Path) -> Result<ReviewBook, ReviewError> {
        let conn = crate::exchange::connect(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS reviews (
                 project     TEXT NOT NULL,
                 opaque      TEXT NOT NULL,
                 partner_ref TEXT NOT NULL,
                 decision    TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'unsure')),
                 reason      TEXT NOT NULL,
                 reviewer    TEXT NOT NULL,
                 decided_at  INTEGER NOT NULL,
                 sent        INTEGER NOT NULL DEFAULT 0,
                 PRIMARY KEY (project, opaque, partner_ref)
             ) WITHOUT ROWID;",
        )?;
        Ok(ReviewBook { conn })
    }

    /// Records a decision (replacing an earlier one on the pair), not yet sent.
    pub fn record(
        &self,
        project: &str,
        pair: &PairReview,
        reason: &str,
        reviewer: &str,
        now: i64,
    ) -> Result<(), ReviewError> {
        self.conn.execute(
            "INSERT INTO reviews (project, opaque, partner_ref, decision, reason, reviewer, decided_at, sent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)
             ON CONFLICT (project, opaque, partner_ref) DO UPDATE SET
                 decision = excluded.decision, reason = excluded.reason,
                 reviewer = excluded.reviewer, decided_at = excluded.decided_at, sent = 0",
            params![
                project,
                pair.opaque,
                pair.partner_ref,
                pair.decision,
                reason,
                reviewer,
                now
            ],
        )?;
        Ok(())
    }

    /// The decisions the unit does not have yet.
    pub fn unsent(&self, project: &str) -> Result<Vec<PairReview>, ReviewError> {
        let mut stmt = self.conn.prepare(
            "SELECT opaque, partner_ref, decision FROM reviews WHERE project = ?1 AND sent = 0
             ORDER BY decided_at, opaque, partner_ref",
        )?;
        let rows = stmt
            .query_map([project], |r| {
                Ok(PairReview {
                    opaque: r.get(0)?,
                    partner_ref: r.get(1)?,
                    decision: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Marks decisions sent; one changed since it was read (another decision) stays unsent.
    pub fn mark_sent(&self, project: &str, sent: &[PairReview]) -> Result<(), ReviewError> {
        let mut stmt = self.conn.prepare(
            "UPDATE reviews SET sent = 1
             WHERE project = ?1 AND opaque = ?2 AND partner_ref = ?3 AND decision = ?4",
        )?;
        for r in sent {
            stmt.execute(params![project, r.opaque, r.partner_ref, r.decision])?;
        }
        Ok(())
    }

    /// A project's decisions by (own opaque reference, partner's reference).
    pub fn all(&self, project: &str) -> Result<HashMap<(String, String), Review>, ReviewError> {
        let mut stmt = self.conn.prepare(
            "SELECT opaque, partner_ref, decision, reason, reviewer, decided_at, sent
             FROM reviews WHERE project = ?1",
        )?;
        let rows = stmt
            .query_map([project], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?),
                    Review {
                        decision: r.get(2)?,
                        reason: r.get(3)?,
                        reviewer: r.get(4)?,
                        decided_at: r.get(5)?,
                        sent: r.get::<_, i64>(6)? != 0,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(decision: &str) -> PairReview {
        PairReview {
            opaque: "r-a".into(),
            partner_ref: "r-b".into(),
            decision: decision.into(),
        }
    }

    #[test]
    fn a_decision_is_kept_until_sent_and_a_newer_one_is_sent_again() {
        let tmp = tempfile::tempdir().unwrap();
        let book = ReviewBook::open(&tmp.path().join("exchange.db")).unwrap();
        book.record("p", &pair("unsure"), "same name, other date", "ana", 1)
            .unwrap();
        let unsent = book.unsent("p").unwrap();
        assert_eq!(unsent, vec![pair("unsure")]);
        // Decided again before the first decision was marked sent: the newer one stays unsent.
        book.record("p", &pair("reject"), "different people", "ana", 2)
            .unwrap();
        book.mark_sent("p", &unsent).unwrap();
        assert_eq!(book.unsent("p").unwrap(), vec![pair("reject")]);
        book.mark_sent("p", &[pair("reject")]).unwrap();
        assert!(book.unsent("p").unwrap().is_empty());
        let all = book.all("p").unwrap();
        let r = &all[&("r-a".to_string(), "r-b".to_string())];
        assert_eq!((r.decision.as_str(), r.sent), ("reject", true));
        assert_eq!(r.reason, "different people");
        assert!(book.all("q").unwrap().is_empty());
        assert!(book.record("p", &pair("maybe"), "x", "ana", 3).is_err());
    }
}
