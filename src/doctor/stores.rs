//! The doctor's checks of the two stores: the hot store opens, the archive is free for
//! the next rollup, readable, and not mostly free blocks.

use std::path::Path;

use super::{Check, Verdict};
use crate::archive::{Archive, ArchiveError};
use crate::store::{Store, StoreError};
use crate::units::local;

/// Whether the hot store opens, and the time of its newest sample (for [`clock`]).
pub fn hot_store(path: &Path) -> (Check, Option<i64>) {
    const NAME: &str = "hot store";
    match Store::open_read_only(path).and_then(|s| s.status()) {
        Ok(status) => {
            let newest = status.range.map(|r| r.1);
            let detail = match newest {
                Some(t) => format!("{} samples, the newest at {}", status.samples, local(t)),
                None => format!("{} holds no samples yet", path.display()),
            };
            (Check::ok(NAME, detail), newest)
        }
        Err(StoreError::Missing(_)) => {
            (Check::ok(NAME, format!("none yet at {}: the agent creates it when it starts", path.display())), None)
        }
        Err(e @ StoreError::TooNew { .. }) => {
            (Check::trouble(NAME, Verdict::Fail, e.to_string(), "install the newer hostwatch again"), None)
        }
        Err(e) => {
            let fix = format!("if the agent keeps failing on it, stop the agent and move {} aside", path.display());
            (Check::trouble(NAME, Verdict::Fail, e.to_string(), fix), None)
        }
    }
}

/// Whether the next rollup can take the archive: another process holding it, even
/// read-only, defers every rollup until it lets go.
pub fn archive_lock(path: &Path) -> Check {
    const NAME: &str = "archive";
    // Free, and readable too: a truncated file still opens, and fails only when read.
    // A full read: doctor is run by hand, and a damaged archive is worth the seconds.
    let checked = Archive::probe_write(path).and_then(|()| {
        let archive = Archive::open_read(path)?;
        archive.verify()?;
        let size = archive.size()?;
        Ok((size, size.describe(archive.samples()?)))
    });
    match checked {
        Ok((size, described))
            if size.free_share() > crate::archive::MAX_FREE_SHARE && size.file >= crate::archive::MIN_REWRITE =>
        {
            Check::trouble(
                NAME,
                Verdict::Warn,
                format!(
                    "{} ({described}) is free for the next rollup, but much of the file is free blocks",
                    path.display()
                ),
                "none needed: the next rollup that moves samples (hourly while the agent runs) rewrites it into a fresh file and gives them back",
            )
        }
        Ok((_, described)) => Check::ok(NAME, format!("{} ({described}) is free for the next rollup", path.display())),
        Err(ArchiveError::Missing(_)) => {
            Check::ok(NAME, format!("none yet at {}: the agent creates it at its first rollup", path.display()))
        }
        Err(ArchiveError::Locked(_)) => Check::trouble(
            NAME,
            Verdict::Fail,
            format!("another process holds {}: rollups are deferred and the hot store fills", path.display()),
            format!(
                "stop the other process (duckdb CLI, python) holding {}; if the agent was rolling up, check again in \
                 a minute",
                path.display()
            ),
        ),
        Err(e) => Check::trouble(
            NAME,
            Verdict::Fail,
            format!("{} cannot be read: {e}", path.display()),
            format!(
                "if it was damaged, stop the agent and move {} aside (the hot store keeps what it has not archived; \
                 the next rollup starts a new archive), or restore it from a backup",
                path.display()
            ),
        ),
    }
}
