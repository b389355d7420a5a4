//! The archive: the only door to DuckDB. Aged samples in three tiers, for analysts.
//!
//! Owns every SQL statement against `archive.duckdb`; must not read the clock (callers pass
//! `now`) nor touch SQLite except through [`crate::store`].
//!
//! On-disk invariants:
//! - The schema is `schema/duckdb/*.sql`, applied in order; `schema_version` holds the
//!   last applied. A file from a newer agent is refused.
//! - Files are created with `storage_compatibility_version = v1.5.0`, so the DuckDB 1.5
//!   CLI and DuckDB 2.0 (Python, this binary) all open them.
//! - Exactly once: `rollup_state.watermark` is committed in the same transaction as the
//!   rows it covers, and every hot-store sample with `ts < watermark` is in `raw_rows`:
//!   `raw_recent` for the current UTC day, `raw` for complete days (moved there whole and
//!   sorted by series, in one transaction, so they compress). Rows found in the hot store
//!   below the watermark (a crash between the DuckDB commit and the SQLite delete, or a
//!   sample stamped in the past after a clock step) are inserted only where `raw_rows`
//!   lacks that (series, ts): re-running a rollup never duplicates.
//! - Retention counts back from `min(now, watermark + hot window)`: a wall clock stepped
//!   ahead of the data never prunes it.
//! - The catalogue holds only series with a row in some tier: each rollup's retention
//!   pass prunes the rest, and new series take ids above the highest in use.
//! - A series has one `scale`, in both stores; a precision change rescales its rows
//!   (see `series.rs`).
//! - Aggregate tiers hold partial aggregates; readers combine partials (the views do), so a
//!   late sample never corrupts a bucket. `agg_1h` counts every archived sample, added with
//!   its chunk. `agg_1m` counts only samples whose raw rows are gone: retention deletes raw
//!   a whole UTC day at a time and aggregates that day into `agg_1m` in the same
//!   transaction, so each sample is a raw row or in `agg_1m`, never both, and `samples_1m`
//!   adds the minutes of the raw rows still kept.
//! - One writer: DuckDB locks the file per process. The agent opens it only for a rollup
//!   and checkpoints before closing, so the main file alone is complete; while another
//!   process holds it the rollup is deferred and the hot store keeps the data.
//! - One holder per process: DuckDB's lock is a POSIX lock, which a second open in the same
//!   process converts and whose close drops it for both. Every open passes [`gate`], so a
//!   reader in the agent (a checklist job) and its rollup never hold the file at once.
//! - Readers are confined: read-only, no external access (no `COPY TO`, `ATTACH`,
//!   `read_text`, `INSTALL`), configuration locked, memory bounded, one statement a query.

mod chunk;
mod export;
mod gate;
mod read;
mod rewrite;
mod rollup;
mod series;
mod settings;
mod trend;
mod values;

use std::path::{Path, PathBuf};

use duckdb::{AccessMode, Config, Connection};

pub use export::{Export, Format, export};
pub use gate::interrupt_thread;
pub use read::{QueryResult, check_sql};
pub use rewrite::{MAX_FREE_SHARE, MIN_REWRITE, Size};
pub use rollup::{Outcome, Policy, RollupError, rollup, rollup_logged};
pub use settings::Settings;

/// The archive's file name inside the data dir.
pub const FILE_NAME: &str = "archive.duckdb";

/// Every migration, in order: (version, file name, SQL). A test checks every file in
/// `schema/duckdb/` is listed.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "0001_archive.sql", include_str!("../../schema/duckdb/0001_archive.sql")),
    (2, "0002_precision.sql", include_str!("../../schema/duckdb/0002_precision.sql")),
    (3, "0003_no_staging.sql", include_str!("../../schema/duckdb/0003_no_staging.sql")),
    (4, "0004_probe_label.sql", include_str!("../../schema/duckdb/0004_probe_label.sql")),
    (5, "0005_minutes_as_raw_ages.sql", include_str!("../../schema/duckdb/0005_minutes_as_raw_ages.sql")),
];

/// An archive operation that failed, with the file it was about.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Another holder has the file (an analyst's DuckDB session, a running rollup, a job).
    #[error("archive {0} is in use (another process, or a rollup or job of this one); try again when it is closed")]
    Locked(PathBuf),
    /// There is no archive yet (for readers, which never create it).
    #[error(
        "no archive at {0} yet: the agent creates it at its first rollup once it holds samples older than its hot window (`hostwatch status` shows them)"
    )]
    Missing(PathBuf),
    /// The file was written by a newer hostwatch.
    #[error("{path} has archive schema version {version}, newer than this hostwatch understands: upgrade hostwatch")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        version: u32,
    },
    /// A statement that would change the archive, through a read-only door.
    #[error("the archive is opened read-only, and this statement would change it: {0}")]
    ReadOnly(String),
    /// The hot store failed while the archive side was being read or written.
    #[error(transparent)]
    Hot(#[from] crate::store::StoreError),
    /// The hot store handed over rows that do not fit together (a bug, never expected).
    #[error("inconsistent rollup input: {0}")]
    Inconsistent(String),
    /// User SQL that is not exactly one statement.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// User SQL that DuckDB refused as written: its syntax, a name, a cast.
    #[error("{0}")]
    BadSql(String),
    /// A file beside the archive (its rewrite) could not be written, renamed or removed.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// DuckDB refused.
    #[error("archive {path}: {source}")]
    DuckDb {
        /// The file.
        path: PathBuf,
        /// DuckDB's error.
        source: duckdb::Error,
    },
}

impl ArchiveError {
    fn from_duckdb(path: &Path, source: duckdb::Error) -> ArchiveError {
        let msg = source.to_string();
        if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
            ArchiveError::Locked(path.to_owned())
        } else if msg.contains("read-only mode") || msg.contains("read-only") {
            ArchiveError::ReadOnly(msg)
        } else {
            ArchiveError::DuckDb { path: path.to_owned(), source }
        }
    }
}

/// The DuckDB library's version (`v2.0.0`), asked of the library itself: no database is
/// opened (one in memory took `--version` to 32 MB resident).
#[allow(unsafe_code)] // duckdb_library_version, which the crate does not wrap.
pub fn engine_version() -> String {
    // SAFETY: no argument; it returns the library's own static, NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(duckdb::ffi::duckdb_library_version()) };
    version.to_string_lossy().into_owned()
}

/// An open archive.
pub struct Archive {
    /// The connection; declared before the gate so it closes first.
    conn: Connection,
    path: PathBuf,
    /// This process's hold on the file; `None` for the in-memory copy that checks SQL.
    _gate: Option<gate::Gate>,
}

/// A reader's memory limit: a runaway query fails instead of taking the laptop's memory.
const READ_MEMORY: &str = "512MB";

/// The settings that confine a connection that runs people's SQL (see the module doc).
fn confined(config: Config) -> Result<Config, duckdb::Error> {
    config.enable_external_access(false)?.max_memory(READ_MEMORY)?.with("lock_configuration", "true")
}

impl Archive {
    /// Opens (creating if needed) the archive for writing and migrates it. The agent's
    /// rollups use one thread and little memory: they run beside the user's work.
    pub fn open_write(path: &Path) -> Result<Archive, ArchiveError> {
        let err = |e| ArchiveError::from_duckdb(path, e);
        let config = Config::default()
            .with("storage_compatibility_version", "v1.5.0")
            .and_then(|c| c.threads(1))
            .and_then(|c| c.max_memory("256MB"))
            .map_err(err)?;
        let gate = gate::Gate::enter(path)?;
        let conn = Connection::open_with_flags(path, config).map_err(err)?;
        // Holding the file now: a rewrite cut short left its copy, and the file is whole.
        rewrite::remove_leftover(path)?;
        let mut archive = Archive { conn, path: path.to_owned(), _gate: Some(gate) };
        archive.migrate()?;
        Ok(archive)
    }

    /// Opens an existing archive read-only (any number of readers may; no writer then).
    pub fn open_read(path: &Path) -> Result<Archive, ArchiveError> {
        if !path.exists() {
            return Err(ArchiveError::Missing(path.to_owned()));
        }
        let err = |e| ArchiveError::from_duckdb(path, e);
        let config = Config::default().access_mode(AccessMode::ReadOnly).and_then(confined).map_err(err)?;
        let gate = gate::Gate::enter(path)?;
        let conn = Connection::open_with_flags(path, config).map_err(err)?;
        gate.arm(&conn);
        Ok(Archive { conn, path: path.to_owned(), _gate: Some(gate) })
    }

    /// Like [`Archive::open_read`], waiting up to about 5 s while a writer holds the file
    /// (rollups are short): for commands a person runs, never for the agent.
    pub fn open_read_waiting(path: &Path) -> Result<Archive, ArchiveError> {
        let mut wait = std::time::Duration::from_millis(100);
        loop {
            match Archive::open_read(path) {
                Err(ArchiveError::Locked(_)) if wait < std::time::Duration::from_secs(5) => {
                    std::thread::sleep(wait);
                    wait *= 2;
                }
                other => return other,
            }
        }
    }

    /// Whether a rollup could open the archive now: opens it for writing and closes it at
    /// once, changing nothing (no migration). Any other holder, even a read-only one, blocks
    /// writers, so this reports [`ArchiveError::Locked`] where a read-only open would not.
    pub fn probe_write(path: &Path) -> Result<(), ArchiveError> {
        if !path.exists() {
            return Err(ArchiveError::Missing(path.to_owned()));
        }
        let err = |e| ArchiveError::from_duckdb(path, e);
        let _gate = gate::Gate::enter(path)?;
        Connection::open(path).map_err(err)?.close().map_err(|(_, e)| err(e))
    }

    /// Runs `f` on the connection; its DuckDB errors become one [`ArchiveError`] naming this file.
    fn sql<T>(&self, f: impl FnOnce(&Connection) -> duckdb::Result<T>) -> Result<T, ArchiveError> {
        f(&self.conn).map_err(|e| ArchiveError::from_duckdb(&self.path, e))
    }

    /// Like [`Archive::sql`], for work that needs the connection mutably (transactions).
    fn sql_mut<T>(&mut self, f: impl FnOnce(&mut Connection) -> duckdb::Result<T>) -> Result<T, ArchiveError> {
        f(&mut self.conn).map_err(|e| ArchiveError::from_duckdb(&self.path, e))
    }

    fn migrate(&mut self) -> Result<(), ArchiveError> {
        // Two steps: a file from a newer agent is refused between them.
        let current: u32 = self.sql(|c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
            c.query_row("SELECT coalesce(max(version), 0) FROM schema_version", [], |r| r.get(0))
        })?;
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > latest {
            return Err(ArchiveError::TooNew { path: self.path.clone(), version: current });
        }
        self.sql_mut(|conn| {
            for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.execute("INSERT INTO schema_version VALUES (?)", [version])?;
                tx.commit()?;
            }
            Ok(())
        })
    }

    /// Every hot-store sample with `ts` below this is in the archive.
    pub fn watermark(&self) -> Result<i64, ArchiveError> {
        self.sql(|c| c.query_row("SELECT watermark FROM rollup_state", [], |r| r.get(0)))
    }

    /// Folds the WAL into the file and closes it, so the file alone is complete.
    pub fn close(self) -> Result<(), ArchiveError> {
        self.sql(|c| c.execute_batch("CHECKPOINT"))?;
        // Closing consumes the connection and hands it back with its error: its own conversion.
        self.conn.close().map_err(|(_, e)| ArchiveError::from_duckdb(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_archive_schema_file_is_a_listed_migration() {
        crate::store::assert_all_listed(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/duckdb"), super::MIGRATIONS);
    }
}
