//! Load test runs in the hot store: written once when a run ends, with its report and its
//! `loadtest.*` samples, in one transaction; read back for `load list/show` and as the
//! history a run is compared with.

use rusqlite::{OptionalExtension, params};

use super::{Batch, Store, StoreError};
use crate::report::{LoadRecord, LoadRun};

/// A stored run: its row, with its id and its report's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLoadRun {
    /// Its id, for `load show`.
    pub id: i64,
    /// Its report.
    pub report_id: Option<i64>,
    /// The row.
    pub run: LoadRun,
}

const COLUMNS: &str = "id, test, plan, started_ms, finished_ms, status, reason, client_bound, kept, report_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<StoredLoadRun> {
    let run = LoadRun {
        test: r.get(1)?,
        plan: r.get(2)?,
        started_ms: r.get(3)?,
        finished_ms: r.get(4)?,
        status: r.get(5)?,
        reason: r.get(6)?,
        client_bound: r.get(7)?,
        kept: r.get(8)?,
    };
    Ok(StoredLoadRun { id: r.get(0)?, report_id: r.get(9)?, run })
}

/// Writes `run` (and its samples) inside the transaction that stores its report.
pub(super) fn write(tx: &rusqlite::Transaction, record: &LoadRecord, report_id: Option<i64>) -> rusqlite::Result<()> {
    let run = &record.run;
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
    let batch = Batch { samples: record.samples.clone(), gaps: Vec::new(), probes: Vec::new() };
    super::write_batch(tx, &mut super::HashMap::default(), &batch)
}

impl Store {
    /// Runs newest first, of one test or all.
    pub fn load_runs(&self, test: Option<&str>, limit: u32) -> Result<Vec<StoredLoadRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM load_runs WHERE ?1 IS NULL OR test = ?1 ORDER BY id DESC LIMIT ?2");
        self.sql(|c| c.prepare(&sql)?.query_map(params![test, limit], row)?.collect())
    }

    /// One run by id.
    pub fn load_run(&self, id: i64) -> Result<Option<StoredLoadRun>, StoreError> {
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
    pub fn load_runs_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredLoadRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM load_runs WHERE finished_ms >= ?1 AND finished_ms < ?2 ORDER BY id");
        self.sql(|c| c.prepare(&sql)?.query_map(params![from_ms, to_ms], row)?.collect())
    }

    /// Checklist jobs claimed since `since_ms` that have not finished, but `except`: (job,
    /// slot) of the caller's own claim; each with its claim's owner, if it has one.
    pub fn jobs_under_way(
        &self,
        since_ms: i64,
        except: (&str, i64),
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let sql = "SELECT job, owner FROM check_runs WHERE finished_ms IS NULL AND started_ms >= ?1
                   AND NOT (job = ?2 AND slot = ?3) ORDER BY started_ms";
        let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
        self.sql(|c| c.prepare(sql)?.query_map(params![since_ms, except.0, except.1], row)?.collect())
    }
}
