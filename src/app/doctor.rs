//! `hostwatch doctor`: runs the checks on this host and prints each with its fix.

use anyhow::{Result, bail};

use super::Paths;
use crate::config::Config;
use crate::doctor::{self, Setup, Verdict};

/// `hostwatch doctor`: fails (exit 1) when a check fails; warnings alone pass. `broken` is
/// why the config did not load (the checks then run on the defaults).
pub fn doctor(paths: &Paths, config: &Config, broken: Option<&crate::config::ConfigError>) -> Result<()> {
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok();
    let setup = Setup {
        data_dir: &paths.dir,
        hot: &paths.hot,
        archive: &paths.archive,
        now: crate::daemon::wall_ms() / 1000,
        // macOS shows notifications without D-Bus; without desktop notices no bus is needed.
        bus: (cfg!(not(target_os = "macos")) && config.notify.desktop).then_some(bus.as_deref()),
        uid: super::install::uid(),
        flush: crate::units::secs(config.sampling.flush_interval),
    };
    let source = config.source.as_ref().map_or_else(|| "built-in defaults".to_owned(), |p| p.display().to_string());
    let config_check = match broken {
        Some(e) => doctor::Check::trouble(
            "config",
            Verdict::Fail,
            e.to_string(),
            "fix the line named (`hostwatch config check` checks it again); these checks used the defaults",
        ),
        None => doctor::Check::ok("config", format!("valid ({source})")),
    };
    let agent = crate::lock::holder(&paths.dir).and_then(|pid| pid.parse().ok());
    let more = crate::notify::checks(&config.notify).into_iter().chain([crate::server::check(&config.server, agent)]);
    let checks: Vec<doctor::Check> = std::iter::once(config_check).chain(doctor::run(&setup, more)).collect();
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in &checks {
        let verdict = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        outln!("{verdict:<5} {:<width$}  {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            outln!("{:<5} {:<width$}  fix: {fix}", "", "");
        }
    }
    let count = |v| checks.iter().filter(|c| c.verdict == v).count();
    let (failed, warned) = (count(Verdict::Fail), count(Verdict::Warn));
    if failed > 0 {
        bail!("{failed} of {} checks failed, {warned} warned: see the fixes above", checks.len());
    }
    outln!("{} checks: {} ok, {warned} warned", checks.len(), count(Verdict::Ok));
    Ok(())
}
