//! The steps of `service install`, `uninstall` and `status`, decided from the unit and the
//! file on disk, and carrying out one step. Deciding reads only the unit file; a dry run
//! prints the steps instead of applying them.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use super::{Host, LAUNCHD_LABEL, Manager, Scope, ServiceError, UNIT_NAME, Unit, unit, unit_path};

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write the unit file, creating its directory.
    Write(Unit),
    /// Delete the unit file.
    Remove(PathBuf),
    /// Run a service-manager command.
    Run {
        /// The command line.
        argv: Vec<String>,
        /// False where failing is expected and harmless: unloading a launchd agent that is
        /// not loaded, asking for the status of a service that is not running.
        must_succeed: bool,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Write(unit) => write!(f, "write {}", unit.path.display()),
            Step::Remove(path) => write!(f, "remove {}", path.display()),
            Step::Run { argv, .. } => write!(f, "run: {}", argv.join(" ")),
        }
    }
}

/// How the unit file on disk compares with what `install` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// There is no unit file.
    Absent,
    /// The file is exactly what install writes: installing again changes nothing.
    Same,
    /// The file differs (an older hostwatch, another binary path, a hand edit).
    Differs,
}

/// What a command will do, to print before (a dry run) or while it happens.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The unit file concerned, with the content install writes.
    pub unit: Unit,
    /// How the file on disk compares with that content.
    pub change: Change,
    /// The steps, in order; empty when there is nothing to do.
    pub steps: Vec<Step>,
}

fn on_disk(unit: &Unit) -> Result<Change, ServiceError> {
    match std::fs::read_to_string(&unit.path) {
        Ok(text) if text == unit.content => Ok(Change::Same),
        Ok(_) => Ok(Change::Differs),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Change::Absent),
        Err(source) => Err(ServiceError::File { action: "read", path: unit.path.clone(), source }),
    }
}

fn command(words: &[&str]) -> Step {
    Step::Run { argv: words.iter().map(|w| (*w).to_owned()).collect(), must_succeed: true }
}

fn launchctl(args: &[&str]) -> Step {
    command(&[&["launchctl"], args].concat())
}

fn systemctl(scope: Scope, args: &[&str]) -> Step {
    let user: &[&str] = if scope == Scope::User { &["systemctl", "--user"] } else { &["systemctl"] };
    command(&[user, args].concat())
}

fn may_fail(step: Step) -> Step {
    match step {
        Step::Run { argv, .. } => Step::Run { argv, must_succeed: false },
        other => other,
    }
}

/// launchd's name for the agent in this user's session.
fn launchd_target(host: &Host) -> String {
    format!("gui/{}/{LAUNCHD_LABEL}", host.uid)
}

/// Writes the unit (unless it is already there as is), then enables and starts it. Safe to
/// run twice: the second time writes nothing and only makes sure the service is enabled and
/// running.
pub fn install(host: &Host, scope: Scope) -> Result<Plan, ServiceError> {
    let unit = unit(host, scope)?;
    let change = on_disk(&unit)?;
    let mut steps = Vec::new();
    if change != Change::Same {
        steps.push(Step::Write(unit.clone()));
    }
    match host.manager {
        Manager::Systemd => {
            if change != Change::Same {
                steps.push(systemctl(scope, &["daemon-reload"]));
            }
            if change == Change::Differs {
                // A running agent keeps its old command line until it is restarted.
                steps.push(systemctl(scope, &["enable", UNIT_NAME]));
                steps.push(systemctl(scope, &["restart", UNIT_NAME]));
            } else {
                steps.push(systemctl(scope, &["enable", "--now", UNIT_NAME]));
            }
        }
        Manager::Launchd => {
            // bootstrap refuses an agent that is already loaded: unload it first, which
            // fails harmlessly when it is not.
            steps.push(may_fail(launchctl(&["bootout", &launchd_target(host)])));
            let domain = format!("gui/{}", host.uid);
            steps.push(launchctl(&["bootstrap", &domain, &unit.path.to_string_lossy()]));
        }
    }
    Ok(Plan { unit, change, steps })
}

/// Stops and disables the service and removes its unit file; nothing to do when there is
/// no file. The plan's unit is the file as it is on disk, whoever wrote it.
pub fn uninstall(host: &Host, scope: Scope) -> Result<Plan, ServiceError> {
    let path = unit_path(host, scope)?;
    let (change, content) = match std::fs::read_to_string(&path) {
        Ok(text) => (Change::Same, text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Change::Absent, String::new()),
        Err(source) => return Err(ServiceError::File { action: "read", path, source }),
    };
    let unit = Unit { path, content };
    let steps = match (change, host.manager) {
        (Change::Absent, _) => Vec::new(),
        (_, Manager::Systemd) => vec![
            systemctl(scope, &["disable", "--now", UNIT_NAME]),
            Step::Remove(unit.path.clone()),
            systemctl(scope, &["daemon-reload"]),
        ],
        (_, Manager::Launchd) => {
            vec![may_fail(launchctl(&["bootout", &launchd_target(host)])), Step::Remove(unit.path.clone())]
        }
    };
    Ok(Plan { unit, change, steps })
}

/// Compares the unit file with what install would write, and asks the service manager
/// how the service is doing.
pub fn status(host: &Host, scope: Scope) -> Result<Plan, ServiceError> {
    let unit = unit(host, scope)?;
    let change = on_disk(&unit)?;
    let ask = match host.manager {
        Manager::Systemd => systemctl(scope, &["status", "--no-pager", UNIT_NAME]),
        Manager::Launchd => launchctl(&["print", &launchd_target(host)]),
    };
    // Both exit non-zero for a stopped or unknown service, which is an answer, not a failure.
    Ok(Plan { unit, change, steps: vec![may_fail(ask)] })
}

fn file_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ServiceError + 'a {
    move |source| ServiceError::File { action, path: path.to_owned(), source }
}

/// Carries out one step; `run` runs a command line and returns its exit status.
pub fn apply(step: &Step, run: &mut dyn FnMut(&[String]) -> std::io::Result<ExitStatus>) -> Result<(), ServiceError> {
    match step {
        Step::Write(unit) => {
            if let Some(dir) = unit.path.parent() {
                std::fs::create_dir_all(dir).map_err(file_err("create the directory of", &unit.path))?;
            }
            std::fs::write(&unit.path, &unit.content).map_err(file_err("write", &unit.path))
        }
        Step::Remove(path) => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(file_err("remove", path)(e)),
            _ => Ok(()),
        },
        Step::Run { argv, must_succeed } => {
            let reason = match run(argv) {
                Ok(status) if status.success() => return Ok(()),
                Ok(status) => format!("it exited with {status}"),
                Err(e) => format!("cannot run {}: {e}", argv[0]),
            };
            if *must_succeed { Err(ServiceError::Command { command: argv.join(" "), reason }) } else { Ok(()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(dir: &std::path::Path) -> Host {
        Host {
            config: None,
            data_dir: None,
            manager: Manager::Systemd,
            exe: "/usr/bin/hostwatch".into(),
            config_dir: Some(dir.into()),
            home: None,
            uid: 0,
        }
    }

    fn commands(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| match s {
                Step::Write(_) => "write".to_owned(),
                Step::Remove(_) => "remove".to_owned(),
                Step::Run { argv, .. } => argv[1..].join(" "),
            })
            .collect()
    }

    #[test]
    fn installing_over_the_same_file_only_makes_sure_it_is_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let first = install(&host(dir.path()), Scope::User).unwrap();
        assert_eq!(first.change, Change::Absent);
        assert_eq!(commands(&first), ["write", "--user daemon-reload", "--user enable --now hostwatch.service"]);
        for step in &first.steps {
            apply(step, &mut |_| Ok(std::os::unix::process::ExitStatusExt::from_raw(0))).unwrap();
        }
        let again = install(&host(dir.path()), Scope::User).unwrap();
        assert_eq!(again.change, Change::Same);
        assert_eq!(commands(&again), ["--user enable --now hostwatch.service"]);
    }

    #[test]
    fn a_changed_unit_is_rewritten_and_the_agent_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("systemd/user/hostwatch.service");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "[Service]\nExecStart=/old/hostwatch run\n").unwrap();
        let plan = install(&host(dir.path()), Scope::User).unwrap();
        assert_eq!(plan.change, Change::Differs);
        assert_eq!(
            commands(&plan),
            ["write", "--user daemon-reload", "--user enable hostwatch.service", "--user restart hostwatch.service"]
        );
    }

    #[test]
    fn uninstalling_what_is_not_there_does_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let plan = uninstall(&host(dir.path()), Scope::User).unwrap();
        assert_eq!(plan.change, Change::Absent);
        assert!(plan.steps.is_empty());
    }

    #[test]
    fn a_failing_command_is_an_error_only_where_it_must_succeed() {
        let fail = &mut |_: &[String]| Ok(std::os::unix::process::ExitStatusExt::from_raw(1 << 8));
        let must = systemctl(Scope::User, &["daemon-reload"]);
        let err = apply(&must, fail).unwrap_err().to_string();
        assert_eq!(err, "`systemctl --user daemon-reload` failed: it exited with exit status: 1");
        apply(&may_fail(launchctl(&["bootout", "gui/0/x"])), fail).unwrap();
    }
}
