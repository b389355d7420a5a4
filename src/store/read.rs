//! Read-side queries of the hot store: status, the catalogue, latest values.

use rusqlite::{OptionalExtension, Row};

use super::{Store, StoreError};

/// A stretch of time with no samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Unix seconds of the last tick before the gap.
    pub start_ts: i64,
    /// Unix seconds of the first tick after it.
    pub end_ts: i64,
    /// Why: `clock jump` (the host slept or the clock was stepped) or `agent stopped`.
    pub reason: String,
}

/// One agent start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The agent's process id.
    pub pid: u32,
    /// The agent's version.
    pub version: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds of its last write, if any.
    pub last_flush: Option<i64>,
    /// Unix seconds of its clean stop; `None` while running or after a crash.
    pub stopped_at: Option<i64>,
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesInfo {
    /// Metric name.
    pub metric: String,
    /// Labels as canonical JSON.
    pub labels: String,
    /// Unit.
    pub unit: String,
    /// Unix seconds of its first sample.
    pub first_seen: i64,
    /// Unix seconds of its newest sample.
    pub last_seen: i64,
}

/// The newest value of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The series.
    pub series: SeriesInfo,
    /// Its newest value.
    pub value: f64,
}

/// Everything `hostwatch status` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Bytes on disk: the file plus its WAL.
    pub bytes: u64,
    /// Number of samples.
    pub samples: u64,
    /// Oldest and newest sample time, unix seconds.
    pub range: Option<(i64, i64)>,
    /// The most recent agent start.
    pub last_run: Option<Run>,
    /// The most recent gap.
    pub last_gap: Option<Gap>,
}

fn series_info(r: &Row) -> rusqlite::Result<SeriesInfo> {
    Ok(SeriesInfo {
        metric: r.get(0)?,
        labels: r.get(1)?,
        unit: r.get(2)?,
        first_seen: r.get(3)?,
        last_seen: r.get(4)?,
    })
}

impl Store {
    /// The catalogue, by metric and labels.
    pub fn series(&self) -> Result<Vec<SeriesInfo>, StoreError> {
        let sql = "SELECT metric, labels, unit, first_seen, last_seen FROM series ORDER BY metric, labels";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], series_info)?;
            rows.collect()
        })
    }

    /// The newest value of every series: one key lookup each, thanks to `last_seen`.
    pub fn latest(&self) -> Result<Vec<Latest>, StoreError> {
        let sql = "SELECT se.metric, se.labels, se.unit, se.first_seen, se.last_seen, s.value * 1.0 / se.scale
                   FROM series se JOIN samples s ON s.ts = se.last_seen AND s.series_id = se.id
                   ORDER BY se.metric, se.labels";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok(Latest { series: series_info(r)?, value: r.get(5)? }))?;
            rows.collect()
        })
    }

    /// Size, counts, the last agent run and the last gap.
    pub fn status(&self) -> Result<Status, StoreError> {
        let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let bytes = size(&self.path) + size(std::path::Path::new(&wal));
        self.sql(|c| {
            let (samples, oldest, newest): (i64, Option<i64>, Option<i64>) =
                c.query_row("SELECT count(*), min(ts), max(ts) FROM samples", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            let last_run = c
                .query_row(
                    "SELECT pid, version, started_at, last_flush, stopped_at FROM agent_runs ORDER BY id DESC LIMIT 1",
                    [],
                    |r| {
                        Ok(Run {
                            pid: r.get(0)?,
                            version: r.get(1)?,
                            started_at: r.get(2)?,
                            last_flush: r.get(3)?,
                            stopped_at: r.get(4)?,
                        })
                    },
                )
                .optional()?;
            let last_gap = c
                .query_row("SELECT start_ts, end_ts, reason FROM gaps ORDER BY end_ts DESC LIMIT 1", [], |r| {
                    Ok(Gap { start_ts: r.get(0)?, end_ts: r.get(1)?, reason: r.get(2)? })
                })
                .optional()?;
            Ok(Status { bytes, samples: samples.unsigned_abs(), range: oldest.zip(newest), last_run, last_gap })
        })
    }
}

/// A sample with its series, in real units, for exports.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleValue {
    /// Unix seconds.
    pub ts: i64,
    /// Metric name.
    pub metric: String,
    /// Canonical JSON labels.
    pub labels: String,
    /// Unit.
    pub unit: String,
    /// Real value.
    pub value: f64,
}

impl Store {
    /// Every sample in `[from, until)` with its series, in time order.
    pub fn values_between(&self, from: i64, until: i64) -> Result<Vec<SampleValue>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT ts, metric, labels, unit, value FROM sample_values WHERE ts >= ?1 AND ts < ?2 ORDER BY ts",
            )?;
            let rows = stmt.query_map([from, until], |r| {
                Ok(SampleValue {
                    ts: r.get(0)?,
                    metric: r.get(1)?,
                    labels: r.get(2)?,
                    unit: r.get(3)?,
                    value: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }
}

impl Store {
    /// Every agent start in `[from, to)`, oldest first: (its unix second, the last second
    /// the run before it wrote or stopped at). A replay of the rules restarts its engine
    /// there, as the agent did, after that earlier run's ticks of the same second.
    pub fn starts_between(&self, from: i64, to: i64) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT r.started_at, (SELECT max(coalesce(p.stopped_at, p.last_flush)) FROM agent_runs p WHERE p.id < r.id)
                 FROM agent_runs r WHERE r.started_at >= ?1 AND r.started_at < ?2 ORDER BY r.id",
            )?;
            let rows = stmt.query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }
}
