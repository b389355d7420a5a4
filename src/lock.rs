//! One agent per data dir: an exclusive lock on `<data>/agent.lock`, which holds its pid.
//! And whether the process that claimed a checklist job still runs.
//!
//! The lock is an advisory `flock`: the kernel drops it when the process ends, however it
//! ends (a kill -9 included), so a stale file never blocks a start. `status` and `doctor`
//! ask it whether an agent is running instead of guessing from the last write. A claim's
//! owner is named the same way for the same reason: by what the kernel says now, not by how
//! long ago the claim was made.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file's name inside the data dir.
pub const FILE_NAME: &str = "agent.lock";

/// Why this agent cannot run here.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another agent holds the data dir.
    #[error("another hostwatch agent (pid {pid}) is running on {dir}: stop it first, or give this one --data-dir")]
    Held {
        /// The data dir.
        dir: PathBuf,
        /// The holder's pid, as it wrote it (`?` if unreadable).
        pid: String,
    },
    /// The lock file cannot be opened or written.
    #[error("cannot take the agent lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// This agent's hold on its data dir, released when dropped or when the process ends.
#[derive(Debug)]
pub struct AgentLock {
    _file: File,
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)
}

fn pid_in(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    Some(text.trim().to_owned()).filter(|t| !t.is_empty()).unwrap_or_else(|| "?".to_owned())
}

impl AgentLock {
    /// Takes the data dir `dir` for this process, or names the agent that has it.
    pub fn take(dir: &Path) -> Result<AgentLock, LockError> {
        let path = dir.join(FILE_NAME);
        let io = |source| LockError::Io { path: path.clone(), source };
        let mut file = open(&path).map_err(io)?;
        // `status` holds a shared lock for an instant while it looks: try a few times.
        for attempt in 0..5 {
            match file.try_lock() {
                Ok(()) => {
                    file.set_len(0).map_err(io)?;
                    file.rewind().and_then(|()| writeln!(file, "{}", std::process::id())).map_err(io)?;
                    return Ok(AgentLock { _file: file });
                }
                Err(TryLockError::WouldBlock) if attempt < 4 => std::thread::sleep(Duration::from_millis(20)),
                Err(TryLockError::WouldBlock) => break,
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        Err(LockError::Held { dir: dir.to_owned(), pid: pid_in(&mut file) })
    }
}

/// The pid of the agent running on `dir` now, if one is (as it wrote it).
pub fn holder(dir: &Path) -> Option<String> {
    let mut file = File::open(dir.join(FILE_NAME)).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(_) => Some(pid_in(&mut file)),
    }
}

/// This process as a claim's owner names it: `boot id:pid namespace:uid:pid:start time`
/// (the start in clock ticks after boot, `/proc/PID/stat`'s 22nd field), so neither a
/// reboot nor a reused pid makes another process look like it; `None` if `/proc` cannot
/// tell.
pub fn this_process() -> Option<String> {
    let (boot, namespace, uid) = context()?;
    let pid = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(format!("{boot}:{namespace}:{uid}:{pid}:{}", start_time(&stat)?))
}

/// Whether the process `owner` names (another's [`this_process`]) may still run: false only
/// when this process can tell it ended: another boot, or, in this pid namespace and for this
/// user (whose processes `/proc` never hides), its pid gone or started anew.
pub fn runs(owner: &str) -> bool {
    let fields: Vec<&str> = owner.split(':').collect();
    let (&[boot, namespace, uid, pid, start], Some(here)) = (fields.as_slice(), context()) else { return true };
    if boot != here.0 {
        return false;
    }
    if (namespace, uid) != (here.1.as_str(), here.2.to_string().as_str()) {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => start_time(&stat).is_none_or(|now| now == start),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// This boot's id, this process's pid namespace (its inode) and user.
fn context() -> Option<(String, String, u32)> {
    use std::os::unix::fs::MetadataExt;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_owned();
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let namespace: String = link.to_string_lossy().chars().filter(char::is_ascii_digit).collect();
    Some((boot, namespace, std::fs::metadata("/proc/self").ok()?.uid()))
}

/// The start time in a `/proc/PID/stat` text: after the command's name, which may hold
/// spaces and parentheses, the state is the 3rd field and the start time the 22nd.
fn start_time(stat: &str) -> Option<&str> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_take_names_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None);
        let lock = AgentLock::take(dir.path()).unwrap();
        let me = std::process::id().to_string();
        assert_eq!(holder(dir.path()), Some(me.clone()));
        match AgentLock::take(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, me),
            other => panic!("a second agent took the lock: {other:?}"),
        }
        drop(lock);
        assert_eq!(holder(dir.path()), None);
        AgentLock::take(dir.path()).unwrap();
    }

    #[test]
    fn an_owner_runs_while_its_process_does_and_never_after() {
        let me = this_process().unwrap();
        assert!(runs(&me));
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let (boot, namespace, uid) = context().unwrap();
        let other = format!("{boot}:{namespace}:{uid}:{}:{}", child.id(), start_time(&stat).unwrap());
        assert!(runs(&other) && other != me);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!runs(&other), "a reaped child no longer runs");
        // The same pid started at another tick, or in another boot, is another process.
        let start: u64 = me.rsplit_once(':').unwrap().1.parse().unwrap();
        let pid = std::process::id();
        assert!(!runs(&format!("{boot}:{namespace}:{uid}:{pid}:{}", start + 1)));
        assert!(!runs(&format!("00000000-0000-0000-0000-000000000000:{namespace}:{uid}:{pid}:{start}")));
        // What this process cannot see may still run: the time rule decides.
        assert!(runs(&format!("{boot}:1:{uid}:{}:1", u32::MAX)), "another pid namespace");
        assert!(runs(&format!("{boot}:{namespace}:{}:{}:1", uid + 1, u32::MAX)), "another user's");
        assert!(runs("") && runs("garbage"), "no owner this process can read");
    }
}
