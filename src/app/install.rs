//! The commands that set hostwatch up on a machine: `service`, `completions`, `man`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;

use crate::cli::{Cli, ServiceAction};
use crate::service::{self, Change, Host, Manager, Plan, Scope, Step};

/// This user's id.
#[allow(unsafe_code)]
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The service manager, the running binary and the user's dirs.
fn this_host(config: Option<&Path>, data_dir: Option<&Path>) -> Result<Host> {
    let exe = std::env::current_exe().context("cannot find the path of this binary, which the service is to run")?;
    let dirs = directories::BaseDirs::new();
    // The service starts elsewhere, later: relative paths are made absolute now, and a
    // config it could not start with is refused now, not at its first start.
    let config = config.map(std::path::absolute).transpose().context("cannot make the config's path absolute")?;
    if let Some(file) = &config {
        crate::config::Config::load_with(file, crate::config::SqlCheck::Count)?;
    }
    let data_dir = data_dir.map(std::path::absolute).transpose().context("cannot make the data dir's path absolute")?;
    Ok(Host {
        manager: Manager::current(),
        exe,
        config,
        data_dir,
        config_dir: dirs.as_ref().map(|d| d.config_dir().to_owned()),
        home: dirs.as_ref().map(|d| d.home_dir().to_owned()),
        uid: uid(),
    })
}

/// `hostwatch service install|uninstall|status`.
pub fn service(action: &ServiceAction, config: Option<&Path>, data_dir: Option<&Path>) -> Result<()> {
    let host = this_host(config, data_dir)?;
    match *action {
        ServiceAction::Install { scope, dry_run } => {
            let plan = service::install(&host, scope.scope())?;
            if scope.scope() == Scope::System && service::exe_in_a_home(&host.exe) {
                errln!(
                    "note: the system service runs as a user of its own, which may not be allowed into {}: \
                     `sudo install -m755 {} /usr/local/bin/` and install from there",
                    host.exe.display(),
                    host.exe.display()
                );
            }
            let path = plan.unit.path.display();
            match plan.change {
                Change::Same => outln!("{path} is already installed, unchanged"),
                Change::Differs => outln!("{path} differs from what this hostwatch writes: replacing it"),
                Change::Absent => {}
            }
            carry_out(&plan, dry_run)?;
            if !dry_run {
                let whose = if scope.scope() == Scope::User { "your user" } else { "the system" };
                outln!(
                    "hostwatch runs as a service of {whose}; logs: {}",
                    service::logs_hint(host.manager, scope.scope())
                );
            }
        }
        ServiceAction::Uninstall { scope, dry_run } => {
            let plan = service::uninstall(&host, scope.scope())?;
            if plan.change == Change::Absent {
                outln!("{} is not installed: nothing to do", plan.unit.path.display());
            }
            carry_out(&plan, dry_run)?;
        }
        ServiceAction::Status { scope } => {
            let plan = service::status(&host, scope.scope())?;
            let path = plan.unit.path.display();
            match plan.change {
                Change::Absent => outln!("{path}: not installed (`hostwatch service install` installs it)"),
                Change::Same => outln!("{path}: installed, up to date"),
                Change::Differs => outln!(
                    "{path}: installed, but not what this hostwatch writes (`hostwatch service install` replaces it)"
                ),
            }
            ask(&plan)?;
        }
    }
    Ok(())
}

/// Runs the service manager's status command (its output goes to the terminal); fails
/// when the service is not running or the manager cannot be asked, as `systemctl status`
/// does, so a script can rely on the exit code.
fn ask(plan: &Plan) -> Result<()> {
    for step in &plan.steps {
        let Step::Run { argv, .. } = step else { continue };
        match std::process::Command::new(&argv[0]).args(&argv[1..]).status() {
            Ok(status) if status.success() => {}
            Ok(status) => bail!("the service is not running (`{}` exited with {status})", argv.join(" ")),
            Err(e) => bail!("cannot ask the service manager: cannot run {}: {e}", argv[0]),
        }
    }
    Ok(())
}

/// Prints and applies each step, or only prints them on a dry run. A failure names the
/// steps left undone, so the user can finish by hand.
fn carry_out(plan: &Plan, dry_run: bool) -> Result<()> {
    for (i, step) in plan.steps.iter().enumerate() {
        if dry_run {
            outln!("would {step}");
            if let Step::Write(unit) = step {
                out!("{}", unit.content);
            }
            continue;
        }
        service::apply(step, &mut |argv| std::process::Command::new(&argv[0]).args(&argv[1..]).status()).with_context(
            || {
                let undone: Vec<String> = plan.steps[i..].iter().map(ToString::to_string).collect();
                format!("left undone: {}", undone.join("; "))
            },
        )?;
        outln!("done: {step}");
    }
    Ok(())
}

/// `hostwatch completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    // Into a buffer first: clap_complete panics on a failed write (a closed pipe).
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hostwatch", &mut buf);
    write_stdout(&buf)
}

/// The main page's sections clap does not write: EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES.
const MAN_EXTRA: &str = include_str!("../../packaging/man-extra.roff");

/// `hostwatch man [--dir DIR]`.
pub fn man(dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
        buf.extend_from_slice(MAN_EXTRA.as_bytes());
        return write_stdout(&buf);
    };
    let main_page = dir.join("hostwatch.1");
    let written =
        std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir)).and_then(|()| {
            let mut page = std::fs::read(&main_page)?;
            page.extend_from_slice(MAN_EXTRA.as_bytes());
            std::fs::write(&main_page, page)
        });
    written.with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    outln!("wrote the man pages into {}", dir.display());
    Ok(())
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    std::io::Write::write_all(&mut std::io::stdout().lock(), bytes)?;
    Ok(())
}
