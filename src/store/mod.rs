//! The hot store: the only door to SQLite. Recent samples at full resolution.
//!
//! Owns every SQL statement against `hot.sqlite`; must not collect, schedule or read the
//! clock (callers pass times in).
//!
//! On-disk invariants:
//! - The schema is `schema/sqlite/*.sql`, applied in order by [`migrate`]; `user_version`
//!   is the last applied. A file from a newer agent is refused, never downgraded.
//! - WAL mode with `synchronous=NORMAL`: a committed batch survives a crash of the agent;
//!   a power cut may lose the last batches but never corrupts the file.
//! - A batch (samples, gaps, series, run heartbeat, retention) is written in one
//!   transaction: after a kill -9 a batch is either wholly there or wholly absent.
//! - At most one value per series per second; a repeat (only after the wall clock stepped
//!   back) is dropped, the first value wins.
//! - `samples.value` is the real value times `series.scale`, rounded: precision is the
//!   metric's, decided in [`crate::metrics`]. A series has one scale, its metric's: when a
//!   release changes a precision, opening the store rescales that metric's samples first.
//! - Retention: each write deletes samples, gaps, runs and rollup records older than the
//!   caller's `keep_since`, and series with no sample since then, so the file cannot grow
//!   without end. With the archive on, samples normally leave earlier, by rollup.
//! - A series id exists only once its transaction committed: a failed write forgets the
//!   ids it handed out, so a retried batch never refers to a series that is not there.
//! - Readers (`hostwatch status`) may open the file while the agent writes: WAL lets them.
//! - Alerts: a state change, its history row and its outbox rows commit in one
//!   transaction, before anything is sent: a notice exists once its alert changed, and an
//!   alert changes only with its notice. An outbox row is marked done only after its
//!   channel accepted it, so a crash in between sends it again (at least once, with the
//!   same idempotency key). Pending outbox rows are never deleted by retention.
//! - Probes: an attempt's samples and its `probe_last` row commit in the same batch.

mod alerts;
mod checks;
mod loadtests;
mod migrate;
mod move_out;
mod probes;
mod read;
mod settings;
mod shared;
mod trend;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
// Fx instead of SipHash: keys are our own series, not attacker input, and hashing was a
// tenth of the ingest profile.
use rustc_hash::FxHashMap as HashMap;

pub use alerts::{AlertEvent, OutboxItem, OutboxRow, Outcome, Waiting};
pub use checks::{CheckRun, SeriesValues, StoredReport, check_sql};
pub use loadtests::StoredLoadRun;
#[cfg(test)]
pub(crate) use migrate::assert_all_listed;
pub use move_out::{HotRow, HotSeries, MoveOut, RollupLog};
pub use probes::{ProbeLast, ProbeResult};
pub use read::{Gap, Latest, Run, SampleValue, SeriesInfo, Status};
pub use settings::Settings;
pub use shared::Shared;
pub use trend::{Group, Grouped, Selector};

use crate::metrics::{Sample, SeriesKey};

/// The file name of the hot store inside the data dir.
pub const FILE_NAME: &str = "hot.sqlite";

/// The SQLite library's version (`3.50.4`).
pub fn engine_version() -> &'static str {
    rusqlite::version()
}

/// A hot store operation that failed, with the file it was about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store file does not exist (for readers, which never create it).
    #[error("no hot store at {0}: start the agent with `hostwatch run` first")]
    Missing(PathBuf),
    /// The file was written by a newer hostwatch.
    #[error("{path} has schema version {version}, newer than this hostwatch understands: upgrade hostwatch")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its `user_version`.
        version: u32,
    },
    /// A user's SQL that the store refuses to run (several statements, not a query).
    #[error("hot store {path}: {why}")]
    UserSql {
        /// The file.
        path: PathBuf,
        /// What is wrong with the SQL.
        why: String,
    },
    /// Moving a corrupt store aside failed.
    #[error("cannot move the corrupt hot store {path} aside: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// SQLite refused (full disk, permissions, corruption, lock timeout).
    #[error("hot store {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// What one flush writes.
#[derive(Debug, Default)]
pub struct Batch {
    /// Samples, in any order.
    pub samples: Vec<Sample>,
    /// Gaps detected since the last flush.
    pub gaps: Vec<Gap>,
    /// Probe attempts since the last flush (their samples are in `samples`).
    pub probes: Vec<ProbeResult>,
}

/// An open hot store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Series ids already in the catalogue, so a write does one lookup per new series only.
    ids: HashMap<SeriesKey, i64>,
    /// This agent's row in `agent_runs`, once [`Store::begin_run`] was called.
    run_id: Option<i64>,
    /// Whether retention spares samples the archive has not committed (archive on).
    archive_first: bool,
}

impl Store {
    /// Opens (creating if needed) the store for writing and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_write(path)
            .map_err(|source| StoreError::Sqlite { path: path.to_owned(), source })?
            .map_err(|version| StoreError::TooNew { path: path.to_owned(), version })?;
        Ok(Store { conn, path: path.to_owned(), ids: HashMap::default(), run_id: None, archive_first: false })
    }

    /// Opens the store like [`Store::open`]; a file that is not a SQLite database (or is
    /// corrupt) is moved aside, with its `-wal` and `-shm`, as `<name>.corrupt-<now>`, and a
    /// new store is started in its place. Returns where the old one went, if it was moved:
    /// the agent then says so, instead of failing in a silent restart loop.
    pub fn open_or_recover(path: &Path, now: i64) -> Result<(Store, Option<PathBuf>), StoreError> {
        match Store::open(path) {
            Err(StoreError::Sqlite { source, .. }) if is_corrupt(&source) => {
                let aside = PathBuf::from(format!("{}.corrupt-{now}", path.display()));
                let io = |source| StoreError::Io { path: path.to_owned(), source };
                std::fs::rename(path, &aside).map_err(io)?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        std::fs::rename(&side, format!("{}{suffix}", aside.display())).map_err(io)?;
                    }
                }
                tracing::error!(moved_to = %aside.display(), "the hot store is not a readable SQLite database: starting a new one");
                Ok((Store::open(path)?, Some(aside)))
            }
            other => other.map(|store| (store, None)),
        }
    }

    /// Opens an existing store for reading only; never creates or migrates it.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        // Read-write without CREATE plus query_only: a read-only WAL open would fail when the
        // agent is not running and the shared-memory file is absent.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|conn| conn.execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;").map(|()| conn))
            .map_err(|source| StoreError::Sqlite { path: path.to_owned(), source })?;
        Ok(Store { conn, path: path.to_owned(), ids: HashMap::default(), run_id: None, archive_first: false })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Runs `f` on the connection; its SQLite errors become one [`StoreError`] naming this file.
    fn sql<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(self.err())
    }

    /// Like [`Store::sql`], for work that needs the connection mutably (transactions).
    fn sql_mut<T>(&mut self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&mut self.conn).map_err(self.err())
    }

    /// Records an agent start at `now`. If the newest sample is more than `max_gap` seconds
    /// old, the time in between is recorded as a gap ("agent stopped").
    pub fn begin_run(&mut self, now: i64, max_gap: i64, pid: u32, version: &str) -> Result<(), StoreError> {
        let id = self.sql_mut(|conn| begin_run(conn, now, max_gap, pid, version))?;
        self.run_id = Some(id);
        Ok(())
    }

    /// Records a clean stop of this agent at `now`.
    pub fn end_run(&mut self, now: i64) -> Result<(), StoreError> {
        self.sql(|c| c.execute("UPDATE agent_runs SET stopped_at = ?2 WHERE id = ?1", params![self.run_id, now]))?;
        Ok(())
    }

    /// From now on, retention deletes no sample at or above the archive's last logged
    /// watermark (none at all before the first rollup): archive first, then delete. Without
    /// it a laptop asleep past the retention would lose, at its first flush, the hours that
    /// were never archived.
    pub fn keep_unarchived(&mut self) {
        self.archive_first = true;
    }

    /// Writes a batch in one transaction, then deletes what is older than `keep_since`
    /// (unix seconds) in the same transaction (samples only below the archive's watermark
    /// after [`Store::keep_unarchived`]). `now` is the flush time.
    pub fn write(&mut self, batch: &Batch, now: i64, keep_since: i64) -> Result<(), StoreError> {
        let Store { conn, ids, run_id, archive_first, .. } = self;
        let result = write_tx(conn, ids, batch, *run_id, now, keep_since, *archive_first);
        if result.is_err() {
            // Ids handed out inside the rolled-back transaction no longer exist.
            ids.clear();
        }
        result.map_err(self.err())
    }
}

fn write_tx(
    conn: &mut Connection,
    ids: &mut HashMap<SeriesKey, i64>,
    batch: &Batch,
    run_id: Option<i64>,
    now: i64,
    keep_since: i64,
    archive_first: bool,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    write_batch(&tx, ids, batch)?;
    tx.execute("UPDATE agent_runs SET last_flush = ?2 WHERE id = ?1", params![run_id, now])?;
    let samples_since = if archive_first {
        let archived: Option<i64> = tx.query_row(LAST_WATERMARK_ROW, [], |r| r.get(1)).optional()?;
        keep_since.min(archived.unwrap_or(i64::MIN))
    } else {
        keep_since
    };
    tx.execute("DELETE FROM samples WHERE ts < ?1", [samples_since])?;
    tx.execute("DELETE FROM gaps WHERE end_ts < ?1", [keep_since])?;
    // The newest logged watermark outlives retention: the line samples are kept above.
    tx.execute(
        &format!("DELETE FROM rollups WHERE at < ?1 AND rowid IS NOT (SELECT rowid FROM ({LAST_WATERMARK_ROW}))"),
        [keep_since],
    )?;
    tx.execute("DELETE FROM alert_events WHERE at_ms < ?1 * 1000", [keep_since])?;
    tx.execute("DELETE FROM outbox WHERE done_ms < ?1 * 1000", [keep_since])?;
    tx.execute("DELETE FROM probe_last WHERE at_ms < ?1 * 1000", [keep_since])?;
    tx.execute("DELETE FROM agent_runs WHERE coalesce(stopped_at, last_flush, started_at) < ?1", [keep_since])?;
    // A series whose samples were spared (not archived yet) keeps its catalogue row. Its
    // samples are all older than the cutoff, so only that range of the (ts, series_id) key
    // is looked at: empty unless retention spared samples.
    let vanished = "DELETE FROM series WHERE last_seen < ?1
                    AND NOT EXISTS (SELECT 1 FROM samples WHERE ts < ?1 AND series_id = series.id)";
    if tx.execute(vanished, [keep_since])? > 0 {
        ids.clear();
    }
    tx.commit()
}

/// Opens the file for writing, sets its journal and busy timeout, migrates it and rescales
/// it; `Err(version)` if a newer agent left it (then it is neither migrated nor rescaled).
fn open_write(path: &Path) -> rusqlite::Result<Result<Connection, u32>> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
             PRAGMA journal_size_limit = 4194304;",
    )?;
    if let Err(version) = migrate::migrate(&mut conn)? {
        return Ok(Err(version));
    }
    migrate::rescale(&mut conn)?;
    Ok(Ok(conn))
}

/// Whether SQLite says the file is not a database or is damaged.
fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt))
}

/// The rollup log row with the highest archive watermark (watermarks only rise; a clock
/// step can reorder `at`): every sample below it is in the archive.
const LAST_WATERMARK_ROW: &str =
    "SELECT rowid, watermark FROM rollups WHERE watermark IS NOT NULL ORDER BY watermark DESC LIMIT 1";

fn begin_run(conn: &mut Connection, now: i64, max_gap: i64, pid: u32, version: &str) -> rusqlite::Result<i64> {
    let tx = conn.transaction()?;
    let newest: Option<i64> = tx.query_row("SELECT max(ts) FROM samples", [], |r| r.get(0))?;
    if let Some(newest) = newest.filter(|&t| now - t > max_gap) {
        tx.execute(
            "INSERT INTO gaps(start_ts, end_ts, reason) VALUES (?1, ?2, 'agent stopped')",
            params![newest, now],
        )?;
    }
    tx.execute("INSERT INTO agent_runs(pid, version, started_at) VALUES (?1, ?2, ?3)", params![pid, version, now])?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

fn write_batch(tx: &rusqlite::Transaction, ids: &mut HashMap<SeriesKey, i64>, batch: &Batch) -> rusqlite::Result<()> {
    let mut insert =
        tx.prepare_cached("INSERT INTO samples(ts, series_id, value) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?;
    let mut last_seen: HashMap<i64, i64> = HashMap::default();
    for s in batch.samples.iter().filter(|s| s.value.is_finite()) {
        let id = match ids.get(&s.key) {
            Some(&id) => id,
            None => {
                let id = series_id(tx, &s.key, s.ts)?;
                ids.insert(s.key.clone(), id);
                id
            }
        };
        insert.execute(params![s.ts, id, s.key.metric.to_stored(s.value)])?;
        let seen = last_seen.entry(id).or_insert(s.ts);
        *seen = (*seen).max(s.ts);
    }
    let mut touch = tx.prepare_cached("UPDATE series SET last_seen = max(last_seen, ?2) WHERE id = ?1")?;
    for (id, ts) in last_seen {
        touch.execute(params![id, ts])?;
    }
    let mut gap = tx.prepare_cached("INSERT INTO gaps(start_ts, end_ts, reason) VALUES (?1, ?2, ?3)")?;
    for g in &batch.gaps {
        gap.execute(params![g.start_ts, g.end_ts, g.reason])?;
    }
    probes::write(tx, &batch.probes)
}

/// The catalogue id of `key`, adding it if new.
fn series_id(tx: &rusqlite::Transaction, key: &SeriesKey, ts: i64) -> rusqlite::Result<i64> {
    let m = key.metric;
    tx.prepare_cached(
        "INSERT INTO series(metric, labels, unit, scale, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(metric, labels) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen) RETURNING id",
    )?
    .query_row(params![m.name, key.labels_json(), m.unit, m.scale(), ts], |r| r.get(0))
}
