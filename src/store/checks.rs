//! The checklist's runs and reports in the hot store.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::metrics::Metric;
use crate::report::{Bench, Report};

/// The last run of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    /// The job.
    pub job: String,
    /// The slot it ran for, unix seconds.
    pub slot: i64,
    /// How it went; `None` while running, or if the agent died during it.
    pub outcome: Option<String>,
    /// Its report, if it wrote one.
    pub report_id: Option<i64>,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// Its id, for `hostwatch report show`.
    pub id: i64,
    /// The job.
    pub job: String,
    /// Unix ms it was written.
    pub created_ms: i64,
    /// ok, info, warning or critical.
    pub level: String,
    /// The findings as JSON.
    pub findings: String,
    /// The report as Markdown.
    pub markdown: String,
}

impl Store {
    /// Claims `slot` for `job` before it runs, for the process `owner` names
    /// ([`crate::lock::this_process`]); false if it was claimed before (a restart never runs
    /// one slot twice).
    pub fn claim_slot(&mut self, job: &str, slot: i64, now_ms: i64, owner: Option<&str>) -> Result<bool, StoreError> {
        let n = self.sql(|c| {
            c.execute(
                "INSERT OR IGNORE INTO check_runs(job, slot, started_ms, owner) VALUES (?1, ?2, ?3, ?4)",
                params![job, slot, now_ms, owner],
            )
        })?;
        Ok(n == 1)
    }

    /// Records how a run ended, with its report (and the host benchmark or baselines it
    /// computed), in one transaction; returns the report id.
    pub fn finish_run(
        &mut self,
        job: &str,
        slot: i64,
        outcome: &str,
        report: Option<&Report>,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.sql_mut(|conn| {
        let tx = conn.transaction()?;
        let id = match report {
            Some(r) => {
                let level = r.level().map_or("ok", |l| l.as_str());
                let findings = serde_json::to_string(&r.findings).expect("findings are plain data");
                tx.execute(
                    "INSERT INTO reports(job, slot, created_ms, level, findings, markdown) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![job, slot, now_ms, level, findings, r.markdown],
                )?;
                Some(tx.last_insert_rowid())
            }
            None => None,
        };
        if let Some(b) = report.and_then(|r| r.bench) {
            tx.execute(
                "INSERT OR REPLACE INTO host_benches(at_ms, cpu_ms, memory_ms, fsync_ms) VALUES (?1, ?2, ?3, ?4)",
                params![now_ms, b.cpu_ms, b.memory_ms, b.fsync_ms],
            )?;
        }
        for b in report.map(|r| r.baselines.as_slice()).unwrap_or_default() {
            tx.execute(
                "INSERT OR REPLACE INTO baselines(metric, labels, computed_ms, p50, p95, p99, samples)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![b.metric, b.labels, now_ms, b.p50, b.p95, b.p99, b.count],
            )?;
        }
        if let Some(run) = report.and_then(|r| r.load.as_ref()) {
            super::loadtests::write(&tx, run, id)?;
        }
        tx.execute(
            "UPDATE check_runs SET finished_ms = ?3, outcome = ?4, report_id = ?5 WHERE job = ?1 AND slot = ?2",
            params![job, slot, now_ms, outcome, id],
        )?;
        tx.commit()?;
        Ok(id)
        })
    }

    /// The latest run of every job that ran.
    pub fn last_runs(&self) -> Result<Vec<CheckRun>, StoreError> {
        let sql = "SELECT job, slot, outcome, report_id FROM check_runs c
                   WHERE slot = (SELECT max(slot) FROM check_runs d WHERE d.job = c.job) ORDER BY job";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                Ok(CheckRun { job: r.get(0)?, slot: r.get(1)?, outcome: r.get(2)?, report_id: r.get(3)? })
            })?;
            rows.collect()
        })
    }

    /// The kept baselines (the monthly audit's), by series.
    pub fn baselines(&self) -> Result<Vec<crate::report::Baseline>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare("SELECT metric, labels, p50, p95, p99, samples FROM baselines")?;
            let rows = stmt.query_map([], |r| {
                Ok(crate::report::Baseline {
                    metric: r.get(0)?,
                    labels: r.get(1)?,
                    p50: r.get(2)?,
                    p95: r.get(3)?,
                    p99: r.get(4)?,
                    count: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every kept host benchmark, oldest first.
    pub fn benches(&self) -> Result<Vec<Bench>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare("SELECT cpu_ms, memory_ms, fsync_ms FROM host_benches ORDER BY at_ms")?;
            let rows =
                stmt.query_map([], |r| Ok(Bench { cpu_ms: r.get(0)?, memory_ms: r.get(1)?, fsync_ms: r.get(2)? }))?;
            rows.collect()
        })
    }

    /// Reports, newest first.
    pub fn reports(&self, limit: u32) -> Result<Vec<StoredReport>, StoreError> {
        let sql = "SELECT id, job, created_ms, level, findings, markdown FROM reports ORDER BY id DESC LIMIT ?1";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([limit], stored)?;
            rows.collect()
        })
    }

    /// One report by id.
    pub fn report(&self, id: i64) -> Result<Option<StoredReport>, StoreError> {
        self.sql(|c| {
            c.query_row(
                "SELECT id, job, created_ms, level, findings, markdown FROM reports WHERE id = ?1",
                [id],
                stored,
            )
            .optional()
        })
    }
}

/// The values of one series over a span of time.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesValues {
    /// The series.
    pub key: crate::metrics::SeriesKey,
    /// Its values, oldest first, in real units.
    pub values: Vec<f64>,
    /// Unix seconds of each value.
    pub times: Vec<i64>,
}

impl SeriesValues {
    /// Unix seconds of its first and last value: the span the values really cover.
    pub fn span(&self) -> (i64, i64) {
        (self.times.first().copied().unwrap_or(0), self.times.last().copied().unwrap_or(0))
    }

    /// Rows of (metric, labels JSON, value, Unix seconds), ordered by series then time, as
    /// series; rows of a metric or label this build does not know are left out.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String, f64, i64)>) -> Vec<SeriesValues> {
        let mut out: Vec<SeriesValues> = Vec::new();
        // The series being read, and whether this build knows it.
        let mut current: Option<(String, String, bool)> = None;
        for (metric, labels, value, ts) in rows {
            if current.as_ref().is_none_or(|(m, l, _)| *m != metric || *l != labels) {
                let key = crate::metrics::SeriesKey::from_parts(&metric, &labels);
                current = Some((metric, labels, key.is_some()));
                out.extend(key.map(|key| SeriesValues { key, values: Vec::new(), times: Vec::new() }));
            }
            if let (Some((_, _, true)), Some(last)) = (&current, out.last_mut()) {
                last.values.push(value);
                last.times.push(ts);
            }
        }
        out
    }

    /// The label `name`'s value, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.key.labels.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

impl Store {
    /// Every value of the series of `metrics` in `[from, to)` (unix seconds), by series.
    pub fn series_between(&self, metrics: &[&Metric], from: i64, to: i64) -> Result<Vec<SeriesValues>, StoreError> {
        let sql =
            "SELECT s.metric, s.labels, v.value * 1.0 / s.scale, v.ts FROM samples v JOIN series s ON s.id = v.series_id
                   WHERE v.ts >= ?1 AND v.ts < ?2 AND s.metric IN (SELECT value FROM json_each(?3))
                   ORDER BY s.id, v.ts";
        let names: Vec<&str> = metrics.iter().map(|m| m.name).collect();
        let list = serde_json::to_string(&names).expect("names are plain strings");
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![from, to, list], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(SeriesValues::from_rows(rows.collect::<rusqlite::Result<Vec<_>>>()?))
        })
    }

    /// Gaps that overlap `[from, to)`: (start, end, reason).
    pub fn gaps_between(&self, from: i64, to: i64) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let sql = "SELECT start_ts, end_ts, reason FROM gaps WHERE end_ts > ?1 AND start_ts < ?2 ORDER BY start_ts";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
    }
}

impl Store {
    /// A handle that stops this connection's running query from another thread (a check
    /// past its timeout).
    pub fn interrupt_handle(&self) -> rusqlite::InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    /// Runs a user's query read-only, keeping its first `keep` rows (cells as the
    /// archive's, so checks judge both alike) and counting all of them. Only one query is
    /// accepted: `SELECT`, `WITH` or `VALUES`, which SQLite confirms changes nothing, so no
    /// `PRAGMA` can take the store out of WAL or switch `query_only` off.
    pub fn query_cells(&self, sql: &str, keep: usize) -> Result<(Vec<Vec<crate::sql::Cell>>, u64), StoreError> {
        let refuse = |why: String| StoreError::UserSql { path: self.path.clone(), why };
        let one = crate::sql::single(sql).map_err(|e| refuse(e.to_string()))?;
        // The statement is checked between preparing and running it, so SQLite's errors are
        // converted on either side of that check.
        let mut stmt = self.conn.prepare(one).map_err(self.err())?;
        only_query(&stmt, one).map_err(refuse)?;
        first_cells(&mut stmt, keep).map_err(self.err())
    }
}

/// Runs `stmt`, keeping its first `keep` rows as cells and counting all of them.
fn first_cells(stmt: &mut rusqlite::Statement, keep: usize) -> rusqlite::Result<(Vec<Vec<crate::sql::Cell>>, u64)> {
    use crate::sql::Cell;
    let width = stmt.column_count();
    let mut rows = stmt.query([])?;
    let (mut out, mut total) = (Vec::new(), 0u64);
    while let Some(r) = rows.next()? {
        total += 1;
        if out.len() >= keep {
            continue;
        }
        let cells = (0..width)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Cell::Null,
                    rusqlite::types::ValueRef::Integer(i) => Cell::Int(i),
                    rusqlite::types::ValueRef::Real(x) => Cell::Float(x),
                    rusqlite::types::ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    rusqlite::types::ValueRef::Blob(b) => Cell::Text(format!("<{} bytes>", b.len())),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(cells);
    }
    Ok((out, total))
}

/// Whether `sql` would run on the hot store's schema: prepared on an empty in-memory copy.
pub fn check_sql(sql: &str) -> Result<(), String> {
    let mut conn = rusqlite::Connection::open_in_memory().map_err(|e| e.to_string())?;
    super::migrate::migrate(&mut conn).map_err(|e| e.to_string())?.map_err(|v| format!("schema version {v}"))?;
    let one = crate::sql::single(sql).map_err(|e| e.to_string())?;
    only_query(&conn.prepare(one).map_err(|e| e.to_string())?, one)
}

/// Refuses a statement that is not a plain query or that SQLite says would write.
fn only_query(stmt: &rusqlite::Statement, one: &str) -> Result<(), String> {
    let query = matches!(crate::sql::first_keyword(one).as_str(), "SELECT" | "WITH" | "VALUES");
    if query && stmt.readonly() {
        Ok(())
    } else {
        Err(format!("only a query (SELECT, WITH, VALUES) may run on the hot store, not {one:?}"))
    }
}

fn stored(r: &rusqlite::Row) -> rusqlite::Result<StoredReport> {
    Ok(StoredReport {
        id: r.get(0)?,
        job: r.get(1)?,
        created_ms: r.get(2)?,
        level: r.get(3)?,
        findings: r.get(4)?,
        markdown: r.get(5)?,
    })
}
