//! Load test runs in the hot store: written once when a run ends, with its report and its
//! `loadtest.*` samples, in one transaction; read back for `load list/show` and as the
//! history a run is compared with.

use rusqlite::{OptionalExtension, params};

use super::{Batch, Store, StoreError};
use crate::report::LoadRecord;

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRun {
    /// Its id, for `load show`.
    pub id: i64,
    /// The test.
    pub test: String,
    /// The conditions it ran under.
    pub plan: String,
    /// Unix ms it started.
    pub started_ms: i64,
    /// Unix ms it ended.
    pub finished_ms: i64,
    /// complete, partial, aborted or refused.
    pub status: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// Whether the generator was saturated.
    pub client_bound: bool,
    /// The run as JSON (empty when refused).
    pub kept: String,
    /// Its report.
    pub report_id: Option<i64>,
}

const COLUMNS: &str = "id, test, plan, started_ms, finished_ms, status, reason, client_bound, kept, report_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<LoadRun> {
    Ok(LoadRun {
        id: r.get(0)?,
        test: r.get(1)?,
        plan: r.get(2)?,
        started_ms: r.get(3)?,
        finished_ms: r.get(4)?,
        status: r.get(5)?,
        reason: r.get(6)?,
        client_bound: r.get(7)?,
        kept: r.get(8)?,
        report_id: r.get(9)?,
    })
}

/// Writes `run` (and its samples) inside the transaction that stores its report.
pub(super) fn write(tx: &rusqlite::Transaction, run: &LoadRecord, report_id: Option<i64>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO load_runs(test, plan, started_ms, finished_ms, status, reason, client_bound, kept, report_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            run.test,
            run.plan,
            run.started_ms,
            run.finished_ms,
            run.status,
            run.reason,
            run.client_bound,
            run.kept,
            report_id
        ],
    )?;
    let batch = Batch { samples: run.samples.clone(), gaps: Vec::new(), probes: Vec::new() };
    super::write_batch(tx, &mut super::HashMap::default(), &batch)
}

impl Store {
    /// Runs newest first, of one test or all.
    pub fn load_runs(&self, test: Option<&str>, limit: u32) -> Result<Vec<LoadRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM load_runs WHERE ?1 IS NULL OR test = ?1 ORDER BY id DESC LIMIT ?2");
        self.sql(|c| c.prepare(&sql)?.query_map(params![test, limit], row)?.collect())
    }

    /// One run by id.
    pub fn load_run(&self, id: i64) -> Result<Option<LoadRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM load_runs WHERE id = ?1");
        self.sql(|c| c.query_row(&sql, [id], row).optional())
    }

    /// The kept JSON of the last `n` complete runs of `test` under `plan` whose generator was
    /// not saturated, newest first: what a new run is compared with.
    pub fn load_history(&self, test: &str, plan: &str, n: usize) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT kept FROM load_runs WHERE test = ?1 AND plan = ?2 AND status = 'complete'
                   AND client_bound = 0 ORDER BY id DESC LIMIT ?3";
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.sql(|c| c.prepare(sql)?.query_map(params![test, plan, n], |r| r.get(0))?.collect())
    }

    /// Runs of load tests finished in `[from_ms, to_ms)`, oldest first (the weekly trends).
    pub fn load_runs_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<LoadRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM load_runs WHERE finished_ms >= ?1 AND finished_ms < ?2 ORDER BY id");
        self.sql(|c| c.prepare(&sql)?.query_map(params![from_ms, to_ms], row)?.collect())
    }

    /// Checklist jobs claimed since `since_ms` that have not finished, but `except`: (job,
    /// slot) of the caller's own claim.
    pub fn jobs_under_way(&self, since_ms: i64, except: (&str, i64)) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT job FROM check_runs WHERE finished_ms IS NULL AND started_ms >= ?1
                   AND NOT (job = ?2 AND slot = ?3) ORDER BY started_ms";
        self.sql(|c| c.prepare(sql)?.query_map(params![since_ms, except.0, except.1], |r| r.get(0))?.collect())
    }
}
