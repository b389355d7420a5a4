//! The hot store's side of a rollup: reading aged samples and deleting them once the
//! archive has committed them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rustc_hash::FxHashSet;

use super::{Store, StoreError};

/// A hot-store series as the archive needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HotSeries {
    /// Its id in the hot store (the rows' `series_id`).
    pub id: i64,
    /// Metric name.
    pub metric: String,
    /// Canonical JSON labels.
    pub labels: String,
    /// Unit.
    pub unit: String,
    /// stored value = real value * scale.
    pub scale: f64,
}

/// One stored sample: (hot series id, unix seconds, scaled value).
pub type HotRow = (i64, i64, i64);

/// Samples being moved out, under the hot store's write lock: nothing is inserted or
/// deleted by anyone else until [`MoveOut::commit`] or drop (which deletes nothing).
pub struct MoveOut<'a> {
    tx: rusqlite::Transaction<'a>,
    path: &'a std::path::Path,
    end: i64,
    /// The series of `rows`.
    pub series: Vec<HotSeries>,
    /// Every sample with `ts < end`, in key order.
    pub rows: Vec<HotRow>,
}

/// The outcome of one rollup attempt, as logged for `hostwatch status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupLog {
    /// Unix seconds of the attempt.
    pub at: i64,
    /// Samples moved.
    pub moved: u64,
    /// The archive's watermark after it, if known.
    pub watermark: Option<i64>,
    /// `moved`, or why not.
    pub outcome: String,
}

impl Store {
    /// The highest archive watermark the rollup log holds: every sample before it is in the
    /// archive. `None` before the first rollup that moved anything.
    pub fn archived_until(&self) -> Result<Option<i64>, StoreError> {
        self.sql(|c| c.query_row(super::LAST_WATERMARK_ROW, [], |r| r.get(1)).optional())
    }

    /// The oldest sample's time, if any.
    pub fn oldest_ts(&self) -> Result<Option<i64>, StoreError> {
        self.sql(|c| c.query_row("SELECT min(ts) FROM samples", [], |r| r.get(0)))
    }

    /// How many samples are older than `ts` (the rollup backlog when `ts` is the cutoff).
    pub fn count_before(&self, ts: i64) -> Result<u64, StoreError> {
        let n: i64 = self.sql(|c| c.query_row("SELECT count(*) FROM samples WHERE ts < ?1", [ts], |r| r.get(0)))?;
        Ok(n.unsigned_abs())
    }

    /// Takes the write lock and reads every sample with `ts < end`.
    pub fn begin_move_out(&mut self, end: i64) -> Result<MoveOut<'_>, StoreError> {
        let Store { conn, path, .. } = self;
        // The transaction outlives this call, in the `MoveOut`: it is begun outside `sql_mut`.
        let (tx, series, rows) =
            read_aged(conn, end).map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        Ok(MoveOut { tx, path, end, series, rows })
    }

    /// Records a rollup attempt.
    pub fn log_rollup(&mut self, log: &RollupLog) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "INSERT INTO rollups(at, moved, watermark, outcome) VALUES (?1, ?2, ?3, ?4)",
                params![log.at, log.moved.cast_signed(), log.watermark, log.outcome],
            )
        })?;
        Ok(())
    }

    /// The last rollup attempt, if any.
    pub fn last_rollup(&self) -> Result<Option<RollupLog>, StoreError> {
        self.sql(|c| {
            c.query_row(
                "SELECT at, moved, watermark, outcome FROM rollups ORDER BY at DESC, rowid DESC LIMIT 1",
                [],
                |r| {
                    Ok(RollupLog {
                        at: r.get(0)?,
                        moved: r.get::<_, i64>(1)?.unsigned_abs(),
                        watermark: r.get(2)?,
                        outcome: r.get(3)?,
                    })
                },
            )
            .optional()
        })
    }
}

/// Takes the write lock (an immediate transaction, returned) and reads in it every sample
/// with `ts < end` and the series of those samples.
fn read_aged(
    conn: &mut Connection,
    end: i64,
) -> rusqlite::Result<(rusqlite::Transaction<'_>, Vec<HotSeries>, Vec<HotRow>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = {
        let mut stmt = tx.prepare("SELECT series_id, ts, value FROM samples WHERE ts < ?1")?;
        let rows = stmt.query_map([end], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<Vec<HotRow>, _>>()?
    };
    // The catalogue is small; filtering it here spares SQLite a second pass over the rows.
    let present: FxHashSet<i64> = rows.iter().map(|r| r.0).collect();
    let series = {
        let mut stmt = tx.prepare("SELECT id, metric, labels, unit, scale FROM series")?;
        let all = stmt.query_map([], |r| {
            Ok(HotSeries { id: r.get(0)?, metric: r.get(1)?, labels: r.get(2)?, unit: r.get(3)?, scale: r.get(4)? })
        })?;
        let mut series = Vec::with_capacity(present.len());
        for s in all {
            let s = s?;
            if present.contains(&s.id) {
                series.push(s);
            }
        }
        series
    };
    Ok((tx, series, rows))
}

impl MoveOut<'_> {
    /// Deletes the moved samples and releases the lock. Call only after the archive has
    /// committed them; if this fails or never runs they stay, and the next rollup finds
    /// them below the archive's watermark and does not insert them twice.
    pub fn commit(self) -> Result<u64, StoreError> {
        let path = self.path;
        self.delete().map_err(|source| StoreError::Sqlite { path: path.to_owned(), source })
    }

    /// Deletes the moved samples and commits: [`MoveOut::commit`] without the conversion.
    fn delete(self) -> rusqlite::Result<u64> {
        let deleted = self.tx.execute("DELETE FROM samples WHERE ts < ?1", [self.end])?;
        self.tx.commit()?;
        Ok(deleted as u64)
    }
}
