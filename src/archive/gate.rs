//! One holder of each archive file per process.
//!
//! DuckDB locks the file with a POSIX (fcntl) lock, which belongs to the process, not to the
//! connection: a second open in the same process converts the first's lock, and closing
//! either drops it for both, so another process could then write under a rollup. Every open
//! of an archive file in this process goes through [`Gate::enter`]; a second is refused as
//! [`ArchiveError::Locked`], exactly as if another process held the file, and its caller
//! defers or skips as it already does for that.
//!
//! The gate also knows which thread holds each file and how to stop its query, so a
//! checklist job past its timeout can be interrupted in DuckDB as it is in SQLite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use duckdb::{Connection, InterruptHandle};

use super::ArchiveError;

/// Who holds an archive file in this process.
struct Holder {
    /// The thread that opened it.
    thread: ThreadId,
    /// Stops the connection's running query, once it is open.
    interrupt: Option<Arc<InterruptHandle>>,
}

/// The archive files this process holds now, by absolute path.
static HELD: Mutex<BTreeMap<PathBuf, Holder>> = Mutex::new(BTreeMap::new());

fn held() -> MutexGuard<'static, BTreeMap<PathBuf, Holder>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This process's hold on one archive file; released on drop.
#[derive(Debug)]
pub(super) struct Gate {
    key: PathBuf,
}

/// Interrupts the running query of every archive connection that `thread` opened, and
/// returns how many there were. A query that is not running is not affected.
pub fn interrupt_thread(thread: ThreadId) -> usize {
    let held = held();
    let mine = held.values().filter(|h| h.thread == thread).filter_map(|h| h.interrupt.as_ref());
    mine.map(|i| i.interrupt()).count()
}

/// The same key for every spelling of a path (relative, `..`, symlinked directory), also
/// before the file exists.
fn key(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

impl Gate {
    /// Takes the hold on `path`, or says it is held.
    pub(super) fn enter(path: &Path) -> Result<Gate, ArchiveError> {
        let key = key(path);
        let mut held = held();
        if held.contains_key(&key) {
            return Err(ArchiveError::Locked(path.to_owned()));
        }
        held.insert(key.clone(), Holder { thread: std::thread::current().id(), interrupt: None });
        Ok(Gate { key })
    }

    /// Lets [`interrupt_thread`] stop `conn`'s queries.
    pub(super) fn arm(&self, conn: &Connection) {
        if let Some(h) = held().get_mut(&self.key) {
            h.interrupt = Some(conn.interrupt_handle());
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        held().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_on_one_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive.duckdb");
        let first = Gate::enter(&path).unwrap();
        let other_spelling = dir.path().join(".").join("archive.duckdb");
        assert!(matches!(Gate::enter(&other_spelling), Err(ArchiveError::Locked(_))));
        let _elsewhere = Gate::enter(&dir.path().join("other.duckdb")).unwrap();
        drop(first);
        Gate::enter(&other_spelling).unwrap();
    }
}
