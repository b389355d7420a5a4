//! `hostwatch doctor`: checks of what commonly goes wrong on a host, each with a verdict,
//! what was found, and a fix in plain language.
//!
//! Owns the checks' rules and wording. Each check is a function of what it looks at (paths,
//! `now`, the bus address), so a test can aim it anywhere; none reads the clock or the
//! environment itself. Checks owned by other modules (the notification server, webhooks)
//! return the same [`Check`] and join the list through [`run`]. A check must leave what it
//! checks as it found it.

mod host;
mod stores;

use std::path::Path;

use crate::units::local;
pub use host::{clock, session_bus};
pub use stores::{archive_lock, hot_store};

/// How a check came out, in rising order of trouble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Works now, but something will go wrong or is missing (exit 0).
    Warn,
    /// Broken: the agent cannot do its job (doctor exits 1).
    Fail,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, in a few words ("data dir").
    pub name: &'static str,
    /// How it came out.
    pub verdict: Verdict,
    /// What was found, naming the path or value concerned.
    pub detail: String,
    /// What to do about it, for a warning or a failure.
    pub fix: Option<String>,
}

impl Check {
    /// A check that passed.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check { name, verdict: Verdict::Ok, detail: detail.into(), fix: None }
    }

    /// A check that found trouble, and what to do about it.
    pub fn trouble(name: &'static str, verdict: Verdict, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, verdict, detail: detail.into(), fix: Some(fix.into()) }
    }
}

/// What doctor looks at on this host; the binary fills it in, tests aim it anywhere.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// The data dir.
    pub data_dir: &'a Path,
    /// The hot store in it.
    pub hot: &'a Path,
    /// The archive in it.
    pub archive: &'a Path,
    /// The wall clock, unix seconds.
    pub now: i64,
    /// `DBUS_SESSION_BUS_ADDRESS`; `None` on a platform without a session bus (macOS).
    pub bus: Option<Option<&'a str>>,
    /// The user's id, which names the default session bus socket.
    pub uid: u32,
    /// The agent's flush interval, seconds: a running agent writes at least this often.
    pub flush: i64,
}

/// Runs the host's checks, in the order they are printed, followed by `more`: checks owned
/// by other modules (the notification server on the bus, webhook reachability).
pub fn run(setup: &Setup, more: impl IntoIterator<Item = Check>) -> Vec<Check> {
    let (hot, newest) = hot_store(setup.hot);
    let mut checks = vec![
        agent(setup.data_dir, newest, setup.now, setup.flush),
        data_dir(setup.data_dir, setup.hot),
        disk_space(setup.data_dir),
        hot,
        archive_lock(setup.archive),
        clock(setup.now, newest),
    ];
    checks.extend(setup.bus.map(|address| session_bus(address, setup.uid)));
    checks.extend(more);
    checks
}

/// Whether an agent holds the data dir now (its lock, not a guess from the last write),
/// and whether it is writing: its newest sample is no older than a few flushes.
fn agent(dir: &Path, newest: Option<i64>, now: i64, flush: i64) -> Check {
    const NAME: &str = "agent";
    let Some(pid) = crate::lock::holder(dir) else {
        return Check::trouble(
            NAME,
            Verdict::Warn,
            "not running on this data dir: nothing is sampled",
            "`hostwatch run` in a terminal, or `hostwatch service install` to run it as a service",
        );
    };
    let late = 3 * flush.max(1) + 60;
    match newest {
        Some(t) if now - t <= late => {
            Check::ok(NAME, format!("running, pid {pid}, writing (newest sample at {})", local(t)))
        }
        Some(t) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("running, pid {pid}, but its newest sample is from {}", local(t)),
            "its log says why (`journalctl --user -u hostwatch`, or the terminal it runs in); a full disk or a held store stops writes",
        ),
        None => Check::ok(NAME, format!("running, pid {pid}; its first write comes at the flush interval ({flush} s)")),
    }
}

const DATA_DIR_FIX: &str = "make the data dir a directory this user can write (check the owner and mode of it and \
     its parents), or choose another with --data-dir DIR or store.data_dir in the config";

/// Whether the agent can create its data dir and write in it, and its hot store if present.
/// It tries for real (permission bits do not bind root, a read-only mount ignores them) and
/// removes what it made.
pub fn data_dir(dir: &Path, hot: &Path) -> Check {
    const NAME: &str = "data dir";
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    let probe = dir.join(format!(".hostwatch-doctor-{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
        .and_then(|()| std::fs::write(&probe, b"probe").map_err(|e| format!("cannot write in {}: {e}", dir.display())));
    let _ = std::fs::remove_file(&probe);
    let existed = missing.is_empty();
    // Deepest first, and only if still empty.
    for created in missing {
        let _ = std::fs::remove_dir(created);
    }
    if let Err(detail) = result {
        return Check::trouble(NAME, Verdict::Fail, detail, DATA_DIR_FIX);
    }
    if hot.exists()
        && let Err(e) = std::fs::OpenOptions::new().append(true).open(hot)
    {
        let fix = format!("give this user the file back (e.g. `sudo chown $USER {}`)", hot.display());
        return Check::trouble(NAME, Verdict::Fail, format!("cannot write {}: {e}", hot.display()), fix);
    }
    let state = if existed { "is writable" } else { "does not exist yet; the agent can create it" };
    Check::ok(NAME, format!("{} {state}", dir.display()))
}

/// The agent needs room for about a week of hot samples and the archive's growth.
const FAIL_BELOW: u64 = 100 << 20;
const WARN_BELOW: u64 = 1 << 30;
const WARN_BELOW_PERCENT: u64 = 5;

/// Room on the data dir's file system: `free` bytes available to this user of `total`.
pub fn space(where_: &Path, free: u64, total: u64) -> Check {
    const NAME: &str = "disk space";
    let gib = |b: u64| b as f64 / f64::from(1 << 30);
    let percent = free.saturating_mul(100).checked_div(total).unwrap_or(0);
    let detail = format!("{:.1} GiB free of {:.1} GiB ({percent}%) at {}", gib(free), gib(total), where_.display());
    let fix = "free some space on that file system, or move the data dir to a roomier one with --data-dir DIR; \
               the agent keeps what it has and resumes writing once there is room";
    if free < FAIL_BELOW {
        Check::trouble(NAME, Verdict::Fail, detail, fix)
    } else if free < WARN_BELOW || percent < WARN_BELOW_PERCENT {
        Check::trouble(NAME, Verdict::Warn, detail, fix)
    } else {
        Check::ok(NAME, detail)
    }
}

/// [`space`] for the file system holding `dir` (or its nearest existing parent).
pub fn disk_space(dir: &Path) -> Check {
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    match crate::collect::mounts::statvfs(existing) {
        Ok((free, total)) => space(existing, free, total),
        Err(e) => Check::trouble(
            "disk space",
            Verdict::Warn,
            format!("cannot ask the file system of {} for its free space: {e}", existing.display()),
            "check that the data dir is on a mounted, readable file system",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_fails_when_nearly_full_and_warns_when_low() {
        let gib = 1 << 30;
        assert_eq!(space(Path::new("/"), 50 << 20, 100 * gib).verdict, Verdict::Fail);
        assert_eq!(space(Path::new("/"), gib / 2, 100 * gib).verdict, Verdict::Warn);
        assert_eq!(space(Path::new("/"), 4 * gib, 100 * gib).verdict, Verdict::Warn, "4%");
        assert_eq!(space(Path::new("/"), 40 * gib, 100 * gib).verdict, Verdict::Ok);
    }
}
