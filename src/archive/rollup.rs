//! Moving aged samples from the hot store into the archive, exactly once.
//!
//! Per chunk: the hot store's write lock is taken and the chunk read; the archive appends
//! its rows (sorted by series) to `raw_recent`, its minute and hour partials, and the new
//! watermark in one transaction and commits; only then does the hot store delete the chunk
//! and release its lock. A crash between the two commits leaves rows below the watermark
//! in the hot store: the next pass finds them and inserts only what `raw_rows` lacks.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use duckdb::Transaction;
use duckdb::arrow::record_batch::RecordBatch;
use rustc_hash::FxHashSet;

use super::chunk::{Row, buckets, buckets_batch, rows_batch};
use super::series::{Catalogue, map_series};
use super::{Archive, ArchiveError};
use crate::store::{HotRow, HotSeries, RollupLog, Store, StoreError};

pub(super) const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// How a rollup moves and prunes, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Samples younger than this stay in the hot store.
    pub hot_window: i64,
    /// Span moved per transaction (a whole number of hours).
    pub chunk: i64,
    /// Raw samples older than this are deleted from the archive.
    pub raw_retention: Option<i64>,
    /// One-minute aggregates older than this are deleted.
    pub minute_retention: Option<i64>,
    /// One-hour aggregates older than this are deleted (`None`: kept forever).
    pub hour_retention: Option<i64>,
}

impl Policy {
    /// Samples before this are due for the archive at `now`: `now - hot_window`, rounded
    /// down to the hour so chunks and aggregate buckets are whole hours.
    pub fn cutoff(&self, now: i64) -> i64 {
        (now - self.hot_window).div_euclid(HOUR) * HOUR
    }
}

/// What a rollup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Samples were moved (possibly none); the archive's watermark is now `watermark`.
    Moved {
        /// Samples inserted into the raw tier.
        samples: u64,
        /// Every hot-store sample before this is archived.
        watermark: i64,
    },
    /// Nothing in the hot store is older than the hot window; the archive was not opened.
    NothingToMove,
    /// Another process holds the archive: nothing moved, nothing lost, try later.
    Deferred(String),
}

/// Why a rollup failed.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// The hot store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Runs [`rollup`] on the hot store at `hot_path` and records the outcome in it, for
/// `hostwatch status`. Used by the agent's schedule and by `hostwatch rollup`.
pub fn rollup_logged(
    hot_path: &Path,
    archive_path: &Path,
    now: i64,
    policy: &Policy,
    stop: &AtomicBool,
) -> Result<Outcome, RollupError> {
    let mut store = Store::open(hot_path)?;
    let result = rollup(&mut store, archive_path, now, policy, stop);
    let log = match &result {
        Ok(Outcome::Moved { samples, watermark }) => {
            RollupLog { at: now, moved: *samples, watermark: Some(*watermark), outcome: "moved".into() }
        }
        Ok(Outcome::NothingToMove) => {
            RollupLog { at: now, moved: 0, watermark: None, outcome: "nothing to move".into() }
        }
        Ok(Outcome::Deferred(why)) => {
            RollupLog { at: now, moved: 0, watermark: None, outcome: format!("deferred: {why}") }
        }
        Err(e) => RollupLog { at: now, moved: 0, watermark: None, outcome: format!("failed: {e}") },
    };
    store.log_rollup(&log)?;
    result
}

/// Moves every hot-store sample older than `now - hot_window` (rounded down to the hour)
/// into the archive at `archive_path`, then applies the tiers' retention at `now`. With
/// nothing to move the archive is left closed, retention included: it runs with the next
/// rollup that moves samples (hourly while the agent samples).
/// Stops between chunks once `stop` is set; what was moved stays moved.
pub fn rollup(
    store: &mut Store,
    archive_path: &Path,
    now: i64,
    policy: &Policy,
    stop: &AtomicBool,
) -> Result<Outcome, RollupError> {
    let cutoff = policy.cutoff(now);
    // Nothing aged: leave the archive closed (no DuckDB in memory, no lock taken). Rows
    // below an older watermark are always older than the cutoff, so none is missed.
    if store.oldest_ts()?.is_none_or(|first| first >= cutoff) {
        return Ok(Outcome::NothingToMove);
    }
    let mut archive = match Archive::open_write(archive_path) {
        Err(ArchiveError::Locked(path)) => {
            return Ok(Outcome::Deferred(format!("{} is held by another process or a job reading it", path.display())));
        }
        other => other?,
    };
    let mut watermark = archive.watermark()?;
    let mut catalogue = archive.catalogue()?;
    let mut samples = 0;
    while let Some(first) = store.oldest_ts()?.filter(|_| !stop.load(Ordering::Relaxed)) {
        let end_all = cutoff.max(watermark);
        if first >= end_all {
            break;
        }
        let end = (first.div_euclid(HOUR) * HOUR + policy.chunk.max(HOUR)).min(end_all);
        let chunk = store.begin_move_out(end)?;
        samples += archive.insert_chunk(&chunk.series, &chunk.rows, watermark, end, &mut catalogue)?;
        chunk.commit()?;
        watermark = watermark.max(end);
    }
    if !stop.load(Ordering::Relaxed) {
        archive.compact(watermark)?;
        // Retention counts back from the newest archived data, not from a clock that ran
        // ahead of it: a wall clock stepped a year forward must not delete the year before.
        archive.prune(now.min(watermark + policy.hot_window), policy)?;
        // What the day's compaction and retention freed goes back to the disk. A rewrite
        // that fails changes nothing (the samples are committed): it is tried again next time.
        match archive.close_rewriting(super::MIN_REWRITE) {
            Ok((before, Some(after))) => {
                tracing::info!(before = before.file, after = after.file, "archive rewritten to give back free blocks");
            }
            Ok((_, None)) => {}
            Err(e) => tracing::warn!("could not rewrite the archive to give back its free blocks: {e}"),
        }
    } else {
        archive.close()?;
    }
    Ok(Outcome::Moved { samples, watermark })
}

impl Archive {
    /// Inserts one chunk, its aggregates and the new watermark in one transaction.
    /// Rows below the current watermark are inserted only where `raw_rows` lacks them.
    fn insert_chunk(
        &mut self,
        series: &[HotSeries],
        rows: &[HotRow],
        watermark: i64,
        end: i64,
        catalogue: &mut Catalogue,
    ) -> Result<u64, ArchiveError> {
        // DuckDB's errors are converted where they arise: the chunk's own checks
        // (`Inconsistent`) fall between them, inside the one transaction.
        let err = |e| ArchiveError::from_duckdb(&self.path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let hot_to_archive = map_series(&tx, series, catalogue).map_err(err)?;
        let mut archived = rows
            .iter()
            .map(|&(sid, ts, value)| match hot_to_archive.get(&sid) {
                Some(&id) => Ok((id, ts, value)),
                // Every row's series was read in the same hot-store transaction; a row
                // without one would be deleted unarchived, so refuse the whole chunk.
                None => Err(ArchiveError::Inconsistent(format!("hot-store sample at {ts} has no series {sid}"))),
            })
            .collect::<Result<Vec<Row>, _>>()?;
        archived.sort_unstable();
        if let Some(oldest) = archived.iter().map(|r| r.1).min().filter(|&t| t < watermark) {
            // A retry after a crash between the two commits: keep only what is missing.
            let have = raw_keys(&tx, oldest, watermark).map_err(err)?;
            archived.retain(|r| r.1 >= watermark || !have.contains(&(r.0, r.1)));
        }
        // The minute tier is built as raw rows age out (`prune`), not here.
        let batches = [("raw_recent", rows_batch(&archived)), ("agg_1h", buckets_batch(&buckets(&archived, HOUR)))];
        for (table, batch) in batches {
            let batch = batch.map_err(|e| ArchiveError::Inconsistent(format!("{table}: {e}")))?;
            append(&tx, table, batch).map_err(err)?;
        }
        tx.execute("UPDATE rollup_state SET watermark = greatest(watermark, ?1)", [end])
            .and_then(|_| tx.commit())
            .map_err(err)?;
        Ok(archived.len() as u64)
    }

    /// Moves every complete UTC day below `watermark` from `raw_recent` into `raw`, sorted
    /// by series, in one transaction: the same rows, laid out to compress. Series run
    /// forwards and backwards in time by turns (odd ids backwards), so where one run ends
    /// the next starts at nearly the same `ts`: a bit-packing group that straddles the two
    /// then costs a few bits per `ts`, not the 17 that a jump back over a day takes.
    fn compact(&mut self, watermark: i64) -> Result<(), ArchiveError> {
        let day_end = watermark.div_euclid(DAY) * DAY;
        self.sql_mut(|conn| {
            let tx = conn.transaction()?;
            let moved = tx.execute(
                "INSERT INTO raw SELECT series_id, ts, value FROM raw_recent WHERE ts < ?1
                 ORDER BY series_id, CASE WHEN series_id % 2 = 0 THEN ts ELSE -ts END",
                [day_end],
            )?;
            if moved > 0 {
                tx.execute("DELETE FROM raw_recent WHERE ts < ?1", [day_end])?;
            }
            tx.commit()
        })
    }

    /// Deletes what each tier keeps no longer, as of `now`, in one transaction. Raw rows
    /// age out a whole UTC day at a time, into the minute tier: the day's minutes, sorted by
    /// series (alternating direction, as `compact` lays raw out), are inserted in the
    /// transaction that deletes its rows, so every sample stays counted exactly once. The
    /// aggregate tiers' cut-offs are whole hours, so where one tier ends the next coarser one
    /// starts without a partial bucket between.
    fn prune(&mut self, now: i64, policy: &Policy) -> Result<(), ArchiveError> {
        let cut = |keep: Option<i64>, unit: i64| keep.map(|keep| (now - keep).div_euclid(unit) * unit);
        self.sql_mut(|conn| {
            let c = conn.transaction()?;
            if let Some(raw_cut) = cut(policy.raw_retention, DAY) {
                c.execute(
                    "INSERT INTO agg_1m
                     SELECT series_id, ts // 60 * 60 AS bucket, min(value), max(value), sum(value), count(*),
                            arg_max(value, ts), max(ts)
                     FROM raw_rows WHERE ts < ?1 AND ts >= ?2 GROUP BY series_id, bucket
                     ORDER BY series_id, CASE WHEN series_id % 2 = 0 THEN bucket ELSE -bucket END",
                    [raw_cut, cut(policy.minute_retention, HOUR).unwrap_or(i64::MIN)],
                )?;
                c.execute("DELETE FROM raw WHERE ts < ?1", [raw_cut])?;
                c.execute("DELETE FROM raw_recent WHERE ts < ?1", [raw_cut])?;
            }
            for (sql, keep) in [
                ("DELETE FROM agg_1m WHERE bucket < ?1", policy.minute_retention),
                ("DELETE FROM agg_1h WHERE bucket < ?1", policy.hour_retention),
            ] {
                if let Some(cut) = cut(keep, HOUR) {
                    c.execute(sql, [cut])?;
                }
            }
            // A series with no row left in any tier (a process long gone) leaves the catalogue,
            // which every rollup loads whole: short-lived processes must not grow it for ever.
            c.execute_batch(
                "DELETE FROM series s WHERE NOT EXISTS (SELECT 1 FROM raw r WHERE r.series_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM raw_recent r WHERE r.series_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM agg_1m r WHERE r.series_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM agg_1h r WHERE r.series_id = s.id)",
            )?;
            c.commit()
        })
    }
}

/// The (archive series id, ts) keys `raw_rows` holds in `[from, until)`.
fn raw_keys(tx: &Transaction, from: i64, until: i64) -> duckdb::Result<FxHashSet<(i32, i64)>> {
    let mut stmt = tx.prepare("SELECT series_id, ts FROM raw_rows WHERE ts >= ?1 AND ts < ?2")?;
    stmt.query_map([from, until], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, i64>(1)?)))?.collect()
}

/// Appends `batch` to `table` in one appender call, and flushes it.
fn append(tx: &Transaction, table: &str, batch: RecordBatch) -> duckdb::Result<()> {
    let mut app = tx.appender(table)?;
    app.append_record_batch(batch)?;
    app.flush()
}
