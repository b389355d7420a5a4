//! Each probe's last attempt and last failure (`probe_last`), written with the batch that
//! carries the attempt's samples.

use rusqlite::{Transaction, params};

use super::{Store, StoreError};

/// One probe attempt as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The probe's name.
    pub probe: String,
    /// When the attempt started, Unix ms.
    pub at_ms: i64,
    /// Why it failed (`dns`, `timeout`, ...), `None` if it succeeded.
    pub reason: Option<String>,
    /// The failure's detail, or the warning conditions that did not hold.
    pub detail: String,
}

/// A probe's row: its last attempt, and its last failure if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeLast {
    /// The last attempt.
    pub last: ProbeResult,
    /// The last failed attempt, which may be the last one.
    pub failed: Option<ProbeResult>,
}

/// Replaces each probe's row; an older attempt (a clock stepped back) still replaces it,
/// as the newest one seen.
pub(super) fn write(tx: &Transaction, results: &[ProbeResult]) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO probe_last (probe, at_ms, reason, detail, failed_at_ms, failed_reason, failed_detail)
         VALUES (?1, ?2, ?3, ?4, CASE WHEN ?3 IS NULL THEN NULL ELSE ?2 END, ?3, CASE WHEN ?3 IS NULL THEN NULL ELSE ?4 END)
         ON CONFLICT (probe) DO UPDATE SET at_ms = ?2, reason = ?3, detail = ?4,
             failed_at_ms = CASE WHEN ?3 IS NULL THEN failed_at_ms ELSE ?2 END,
             failed_reason = coalesce(?3, failed_reason),
             failed_detail = CASE WHEN ?3 IS NULL THEN failed_detail ELSE ?4 END",
    )?;
    for r in results {
        upsert.execute(params![r.probe, r.at_ms, r.reason, r.detail])?;
    }
    Ok(())
}

impl Store {
    /// Every probe's last attempt and failure, by name.
    pub fn probe_results(&self) -> Result<Vec<ProbeLast>, StoreError> {
        let sql = "SELECT probe, at_ms, reason, detail, failed_at_ms, failed_reason, failed_detail
                   FROM probe_last ORDER BY probe";
        let read = || -> rusqlite::Result<Vec<ProbeLast>> {
            let mut q = self.conn.prepare(sql)?;
            let rows = q.query_map([], |r| {
                let probe: String = r.get(0)?;
                let failed = match r.get::<_, Option<i64>>(4)? {
                    Some(at_ms) => Some(ProbeResult {
                        probe: probe.clone(),
                        at_ms,
                        reason: r.get(5)?,
                        detail: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                let last = ProbeResult { probe, at_ms: r.get(1)?, reason: r.get(2)?, detail: r.get(3)? };
                Ok(ProbeLast { last, failed })
            })?;
            rows.collect()
        };
        read().map_err(self.err())
    }
}
