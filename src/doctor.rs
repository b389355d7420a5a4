//! `hostwatch doctor`: checks of what commonly goes wrong on a host, each with a verdict,
//! what was found, and a fix in plain language.
//!
//! Owns the checks' rules and wording. Each check is a function of what it looks at (paths,
//! `now`, the bus address), so a test can aim it anywhere; none reads the clock or the
//! environment itself. Checks owned by other modules (the notification server, webhooks)
//! return the same [`Check`] and join the list through [`run`]. A check must leave what it
//! checks as it found it.

use std::path::{Path, PathBuf};

use crate::archive::{Archive, ArchiveError};
use crate::store::{Store, StoreError};
use crate::units::local;

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
        Ok((archive.size()?, archive.describe_size()?))
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

/// No clock on a host running this release reads earlier than this (2026-01-01 UTC): it
/// was written after that, so such a clock lost its time (a dead RTC battery, no NTP).
const EARLIEST_PLAUSIBLE: i64 = 1_767_225_600;
/// Samples are stamped at collection and written up to a flush later: allow for that.
const FUTURE_SLACK: i64 = 60;

/// Whether the wall clock `now` is plausible, given the newest stored sample.
pub fn clock(now: i64, newest_sample: Option<i64>) -> Check {
    const NAME: &str = "clock";
    let ntp = "turn on network time (`timedatectl set-ntp true` on Linux) and check the time zone";
    if now < EARLIEST_PLAUSIBLE {
        return Check::trouble(
            NAME,
            Verdict::Fail,
            format!("the clock reads {}, before this release", local(now)),
            ntp,
        );
    }
    match newest_sample {
        Some(newest) if newest > now + FUTURE_SLACK => Check::trouble(
            NAME,
            Verdict::Warn,
            format!(
                "the clock reads {}, earlier than the newest sample ({}): it was stepped back",
                local(now),
                local(newest)
            ),
            format!("{ntp}; if the clock is right now, samples stamped after it came from a wrong clock and age out"),
        ),
        _ => Check::ok(NAME, local(now)),
    }
}

/// Where a D-Bus client would find the session bus: the `unix:path=` in `address`
/// (`DBUS_SESSION_BUS_ADDRESS`), else `/run/user/<uid>/bus`. `None` for an address this
/// cheap check cannot follow (an abstract socket, TCP).
fn bus_socket(address: Option<&str>, uid: u32) -> Option<PathBuf> {
    match address {
        None | Some("") => Some(PathBuf::from(format!("/run/user/{uid}/bus"))),
        Some(address) => address
            .split(';')
            .filter_map(|a| a.strip_prefix("unix:"))
            .flat_map(|params| params.split(','))
            .find_map(|kv| kv.strip_prefix("path="))
            .map(PathBuf::from),
    }
}

/// Whether the user's session bus answers, which desktop notifications need. Only the bus:
/// whether a notification server is on it is the notification module's check.
pub fn session_bus(address: Option<&str>, uid: u32) -> Check {
    const NAME: &str = "session bus";
    let Some(socket) = bus_socket(address, uid) else {
        return Check::ok(
            NAME,
            format!("DBUS_SESSION_BUS_ADDRESS={} (not a socket path; not checked)", address.unwrap_or("")),
        );
    };
    match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(_) => Check::ok(NAME, format!("{} answers", socket.display())),
        Err(e) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("no session bus at {}: {e}; desktop notifications cannot be shown", socket.display()),
            "run hostwatch as a user service inside your desktop session (`hostwatch service install`), not as a \
             system service or from an ssh login; webhooks work either way",
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

    #[test]
    fn a_clock_before_this_release_fails_and_one_behind_the_samples_warns() {
        let now = EARLIEST_PLAUSIBLE + 86_400 * 300;
        assert_eq!(clock(0, None).verdict, Verdict::Fail);
        assert_eq!(clock(now, Some(now + 3600)).verdict, Verdict::Warn);
        assert_eq!(clock(now, Some(now + 30)).verdict, Verdict::Ok, "a sample stamped during the flush");
        assert_eq!(clock(now, None).verdict, Verdict::Ok);
    }

    #[test]
    fn the_bus_socket_comes_from_the_address_or_the_users_runtime_dir() {
        assert_eq!(bus_socket(None, 1000), Some("/run/user/1000/bus".into()));
        assert_eq!(bus_socket(Some("unix:path=/tmp/b,guid=42"), 0), Some("/tmp/b".into()));
        assert_eq!(bus_socket(Some("unix:abstract=/tmp/x;unix:path=/run/b"), 0), Some("/run/b".into()));
        assert_eq!(bus_socket(Some("tcp:host=localhost,port=1"), 0), None);
    }
}
