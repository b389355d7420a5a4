//! Running hostwatch as a service: the systemd units and the launchd agent shipped in
//! `packaging/`, where each is installed, and the steps that install, remove or inspect it.
//!
//! Owns the unit files' text and places and the order of the service manager's commands;
//! must not run a command itself (steps go through a runner the caller passes, so a dry run
//! and the tests run nothing) and must not touch the stores.

mod steps;

use std::path::{Path, PathBuf};

pub use steps::{Change, Plan, Step, apply, install, status, uninstall};

/// The systemd user unit, as the .deb installs it in `/usr/lib/systemd/user/`.
pub const USER_UNIT: &str = include_str!("../../packaging/systemd/user/hostwatch.service");
/// The systemd system unit, as the .deb installs it in `/usr/lib/systemd/system/`.
pub const SYSTEM_UNIT: &str = include_str!("../../packaging/systemd/system/hostwatch.service");
/// The launchd agent, with placeholders for the binary and the home dir.
pub const LAUNCHD_PLIST: &str = include_str!("../../packaging/macos/dev.hostwatch.agent.plist");

/// The systemd unit's name.
pub const UNIT_NAME: &str = "hostwatch.service";
/// The launchd agent's label (and its file's name, with `.plist`).
pub const LAUNCHD_LABEL: &str = "dev.hostwatch.agent";

/// Where the shipped plist expects the binary (where a macOS user would put it by hand).
/// Install writes the running binary instead, as it writes the units' `ExecStart`.
const PACKAGED_EXE_MACOS: &str = "/usr/local/bin/hostwatch";
/// launchd does not expand `~`, so the plist's log path names the home dir outright.
const HOME_IN_PLIST: &str = "/Users/USERNAME";

/// Who the service runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The logged-in user, in their session: desktop notifications reach them.
    User,
    /// The whole machine, as a user of its own, without a desktop session.
    System,
}

/// The platform's service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// Linux.
    Systemd,
    /// macOS.
    Launchd,
}

impl Manager {
    /// The service manager of the platform this binary was built for.
    pub fn current() -> Manager {
        if cfg!(target_os = "macos") { Manager::Launchd } else { Manager::Systemd }
    }
}

/// What installing needs to know about this machine; the binary fills it in from the
/// environment, tests make their own.
#[derive(Debug, Clone)]
pub struct Host {
    /// The service manager.
    pub manager: Manager,
    /// The binary the service will run (the one running `service install`).
    pub exe: PathBuf,
    /// The config file the service reads (`--config`), absolute; `None`: the default one.
    pub config: Option<PathBuf>,
    /// The data dir the service writes (`--data-dir`), absolute; `None`: the default one.
    pub data_dir: Option<PathBuf>,
    /// The user's config dir (`$XDG_CONFIG_HOME` or `~/.config`): systemd user units go
    /// under it.
    pub config_dir: Option<PathBuf>,
    /// The user's home: launchd agents and their log go under it.
    pub home: Option<PathBuf>,
    /// The user's id, which names launchd's per-user domain (`gui/<uid>`).
    pub uid: u32,
}

/// A service file: where it goes and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Its path.
    pub path: PathBuf,
    /// Its full text.
    pub content: String,
}

/// Why a service could not be installed, removed or inspected.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No home or config dir to put a user service in.
    #[error("no home directory to install the user service in: set HOME, or use --system")]
    NoHome,
    /// A combination this platform has no service for.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A path (the binary, the config, the data dir) that a unit file would misread.
    #[error(
        "the path {0} has a character a service file would misread (whitespace, quote, \
         backslash, %, $, &, <, >): move it (the binary e.g. to ~/.local/bin) and install from there"
    )]
    UnsafePath(PathBuf),
    /// The unit file could not be read, written or removed.
    #[error("cannot {action} {path}: {source}{}", sudo_hint(.source))]
    File {
        /// What was being done: `read`, `write`, `remove`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A service-manager command failed or could not start.
    #[error("`{command}` failed: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, or why it could not run.
        reason: String,
    },
}

fn sudo_hint(err: &std::io::Error) -> &'static str {
    if err.kind() == std::io::ErrorKind::PermissionDenied { " (a --system service needs root: use sudo)" } else { "" }
}

/// Where the service file for `scope` goes on `host`.
pub fn unit_path(host: &Host, scope: Scope) -> Result<PathBuf, ServiceError> {
    match (host.manager, scope) {
        (Manager::Systemd, Scope::User) => {
            Ok(host.config_dir.as_ref().ok_or(ServiceError::NoHome)?.join("systemd/user").join(UNIT_NAME))
        }
        (Manager::Systemd, Scope::System) => Ok(Path::new("/etc/systemd/system").join(UNIT_NAME)),
        (Manager::Launchd, Scope::User) => {
            let home = host.home.as_ref().ok_or(ServiceError::NoHome)?;
            Ok(home.join("Library/LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist")))
        }
        (Manager::Launchd, Scope::System) => Err(ServiceError::Unsupported(
            "a system-wide launchd daemon is not supported: hostwatch runs as a LaunchAgent in your session (--user)",
        )),
    }
}

/// The system service's data dir when none is given: systemd's `StateDirectory`.
const SYSTEM_DATA_DIR: &str = "/var/lib/hostwatch";

/// `path` as a unit file can hold it, or why not.
fn safe(path: &Path) -> Result<&str, ServiceError> {
    let text = path.to_str().filter(|s| !s.contains(|c: char| c.is_whitespace() || "\"'\\%$&<>".contains(c)));
    text.ok_or_else(|| ServiceError::UnsafePath(path.to_owned()))
}

/// The service's command line before `run`: the binary, then the `--config` and
/// `--data-dir` that `service install` was given, so the service reads and writes what
/// the installing command did.
fn command_line(host: &Host, scope: Scope) -> Result<Vec<&str>, ServiceError> {
    let mut words = vec![safe(&host.exe)?];
    if let Some(config) = &host.config {
        words.extend(["--config", safe(config)?]);
    }
    match (&host.data_dir, scope) {
        (Some(dir), _) => words.extend(["--data-dir", safe(dir)?]),
        (None, Scope::System) => words.extend(["--data-dir", SYSTEM_DATA_DIR]),
        (None, Scope::User) => {}
    }
    Ok(words)
}

/// The service file for `scope` on `host`, running `host.exe` with the host's config and
/// data dir.
pub fn unit(host: &Host, scope: Scope) -> Result<Unit, ServiceError> {
    let path = unit_path(host, scope)?;
    let words = command_line(host, scope)?;
    let exec = |template: &str| {
        let lines: Vec<String> =
            template
                .lines()
                .map(|l| {
                    if l.starts_with("ExecStart=") {
                        format!("ExecStart={} run", words.join(" "))
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
        lines.join("\n") + "\n"
    };
    let content = match (host.manager, scope) {
        (Manager::Systemd, Scope::User) => exec(USER_UNIT),
        (Manager::Systemd, Scope::System) => exec(SYSTEM_UNIT),
        (Manager::Launchd, _) => {
            let home = host.home.as_ref().and_then(|h| h.to_str()).ok_or(ServiceError::NoHome)?;
            let strings: Vec<String> = words.iter().map(|w| format!("<string>{w}</string>")).collect();
            let packaged = format!("<string>{PACKAGED_EXE_MACOS}</string>");
            LAUNCHD_PLIST.replace(&packaged, &strings.join("\n\t\t")).replace(HOME_IN_PLIST, home)
        }
    };
    Ok(Unit { path, content })
}

/// Whether the system service could be kept from running `exe`: it runs as a user of its
/// own, and home directories are often closed to other users.
pub fn exe_in_a_home(exe: &Path) -> bool {
    exe.starts_with("/home") || exe.starts_with("/root")
}

/// Where the service's log goes, to tell the user after an install.
pub fn logs_hint(manager: Manager, scope: Scope) -> &'static str {
    match (manager, scope) {
        (Manager::Systemd, Scope::User) => "journalctl --user -u hostwatch -f",
        (Manager::Systemd, Scope::System) => "journalctl -u hostwatch -f",
        (Manager::Launchd, _) => "tail -f ~/Library/Logs/hostwatch.log",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(manager: Manager, exe: &str) -> Host {
        Host {
            manager,
            exe: exe.into(),
            config: None,
            data_dir: None,
            config_dir: Some("/home/ann/.config".into()),
            home: Some("/home/ann".into()),
            uid: 1000,
        }
    }

    #[test]
    fn the_user_unit_runs_this_binary_from_the_users_config_dir() {
        let unit = unit(&host(Manager::Systemd, "/opt/hw/hostwatch"), Scope::User).unwrap();
        assert_eq!(unit.path, Path::new("/home/ann/.config/systemd/user/hostwatch.service"));
        assert!(unit.content.contains("\nExecStart=/opt/hw/hostwatch run\n"), "{}", unit.content);
        assert!(!unit.content.contains("/usr/bin/hostwatch"), "the .deb's path is replaced");
    }

    #[test]
    fn the_config_and_data_dir_install_was_given_are_the_services() {
        let mut h = host(Manager::Systemd, "/opt/hw/hostwatch");
        h.config = Some("/home/ann/hw.toml".into());
        h.data_dir = Some("/data/hw".into());
        let user = unit(&h, Scope::User).unwrap();
        assert!(
            user.content.contains("\nExecStart=/opt/hw/hostwatch --config /home/ann/hw.toml --data-dir /data/hw run\n")
        );
        let system = unit(&h, Scope::System).unwrap();
        assert!(
            system
                .content
                .contains("\nExecStart=/opt/hw/hostwatch --config /home/ann/hw.toml --data-dir /data/hw run\n")
        );
        let mut mac = h.clone();
        mac.manager = Manager::Launchd;
        let plist = unit(&mac, Scope::User).unwrap().content;
        let args =
            "<string>/opt/hw/hostwatch</string>\n\t\t<string>--config</string>\n\t\t<string>/home/ann/hw.toml</string>";
        assert!(plist.contains(args) && plist.contains("<string>run</string>"), "{plist}");
        h.data_dir = Some("/data/my data".into());
        assert!(matches!(unit(&h, Scope::User), Err(ServiceError::UnsafePath(_))));
    }

    #[test]
    fn the_system_unit_keeps_its_data_dir_and_goes_to_etc() {
        let unit = unit(&host(Manager::Systemd, "/opt/hw/hostwatch"), Scope::System).unwrap();
        assert_eq!(unit.path, Path::new("/etc/systemd/system/hostwatch.service"));
        assert!(unit.content.contains("\nExecStart=/opt/hw/hostwatch --data-dir /var/lib/hostwatch run\n"));
    }

    #[test]
    fn the_launch_agent_names_the_binary_and_a_log_in_the_home_dir() {
        let unit = unit(&host(Manager::Launchd, "/Users/ann/bin/hostwatch"), Scope::User).unwrap();
        assert_eq!(unit.path, Path::new("/home/ann/Library/LaunchAgents/dev.hostwatch.agent.plist"));
        assert!(unit.content.contains("<string>/Users/ann/bin/hostwatch</string>"));
        assert!(unit.content.contains("<string>/home/ann/Library/Logs/hostwatch.log</string>"));
        let packaged = format!("<string>{PACKAGED_EXE_MACOS}</string>");
        assert!(!unit.content.contains("/Users/USERNAME/") && !unit.content.contains(&packaged));
    }

    #[test]
    fn a_path_a_unit_file_would_misread_is_refused() {
        for exe in ["/home/ann/my tools/hostwatch", "/opt/100%/hostwatch", "/opt/$HOME/hostwatch"] {
            let err = unit(&host(Manager::Systemd, exe), Scope::User).unwrap_err();
            assert!(matches!(err, ServiceError::UnsafePath(_)), "{exe}: {err}");
        }
    }
}
