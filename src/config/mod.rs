//! Configuration: read once at start-up, validated into [`Config`], never re-checked later.
//!
//! Owns the TOML format, the defaults and every rule about values; must not touch the store
//! or the host. An error names file:line:column and quotes the bad value. Each domain owns
//! its validated settings (`collect::Sampling`, `notify::Settings`, ...); this module
//! mirrors the file in serde structs and translates it into them, so it depends on the
//! domains and none of them on it.

mod checks;
mod error;
mod loadtests;
mod notify;
mod probes;
mod raw;
mod raw_load;
mod rules;
mod server;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;

use crate::{archive, collect, store};

/// The longest probe interval the alerts' stale period follows.
const PROBE_STALE_CAP: Duration = Duration::from_secs(600);

/// How far validation goes with the SQL of a user's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlCheck {
    /// Exactly one statement, prepared (never run) on an empty copy of its store's schema:
    /// `config check` and every command but `run`.
    Prepare,
    /// Exactly one statement, no more: the agent, which prepares a check's SQL when the check
    /// runs (a failure is that run's finding) and so starts no engine just to validate.
    Count,
}

/// The commented default config, shipped as `packaging/config.toml`, printed by
/// `hostwatch config default`. A test checks it equals the built-in defaults.
pub const DEFAULT_TOML: &str = include_str!("../../packaging/config.toml");

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// System sampling schedule.
    pub sampling: collect::Sampling,
    /// Top-process sampling.
    pub processes: collect::Processes,
    /// Hot store placement and retention.
    pub store: store::Settings,
    /// Which metric families are collected.
    pub collectors: collect::Switches,
    /// What is left out.
    pub filters: collect::Filters,
    /// Where the host's trees are.
    pub host: collect::Host,
    /// The DuckDB archive and its rollup.
    pub archive: archive::Settings,
    /// Alert rules.
    pub alerts: crate::rules::Settings,
    /// Notification channels.
    pub notify: crate::notify::Settings,
    /// The scheduled performance checklist.
    pub checks: crate::checks::Settings,
    /// Probes of applications.
    pub probes: crate::probe::Settings,
    /// The dashboard, `/metrics` and `/health`.
    pub server: crate::server::Settings,
    /// Load and stress tests.
    pub loadtests: crate::load::Settings,
}

impl Config {
    /// The built-in defaults: what `hostwatch run` uses with no config file.
    pub fn defaults() -> Config {
        Config::parse("", Path::new("<defaults>")).expect("the empty config is valid")
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with(text, path, SqlCheck::Prepare)
    }

    /// [`Config::parse`], with check SQL validated as far as `sql` says.
    pub fn parse_with(text: &str, path: &Path, sql: SqlCheck) -> Result<Config, ConfigError> {
        let loc = error::Locator { path, text };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| loc.toml_error(&e))?;
        validate::validate(raw, &loc, sql)
    }

    /// What the checks need of this config, with the archive at `archive` and the wall
    /// clock `clock` (Unix ms).
    pub fn checks_context(&self, archive: &Path, clock: fn() -> i64) -> crate::checks::Context {
        let policy = self.archive.enabled.then(|| (archive.to_owned(), archive::Policy::from(&self.archive)));
        let slas = self.probes.probes.iter().filter_map(|p| Some((p.name.clone(), p.sla?))).collect();
        crate::checks::Context {
            alerts: self.alert_setup(),
            archive: policy,
            slas,
            sys_root: self.host.sys_root.clone(),
            stop: std::sync::Arc::default(),
            clock,
        }
    }

    /// How the agent runs this config's rules, for the agent and for a replay of them.
    /// A series silent for a few of its slowest schedule's intervals is gone (an unplugged
    /// disk); probes count up to 10 minutes, so a daily probe does not keep every vanished
    /// process's window for days.
    pub fn alert_setup(&self) -> crate::backtest::Setup {
        let probes = self.probes.probes.iter().filter(|p| p.enabled).map(|p| p.interval.min(PROBE_STALE_CAP));
        let slowest = probes.fold(self.sampling.interval.max(self.processes.interval), Duration::max);
        let stale = slowest * u32::try_from(crate::collect::rate::GAP_FACTOR).unwrap_or(3) + self.alerts.grace;
        crate::backtest::Setup {
            rules: self.alerts.rules.clone(),
            cores: crate::rules::logical_cpus(),
            repeat: self.alerts.repeat,
            stale,
            grace: self.alerts.grace,
            interval: self.sampling.interval,
        }
    }

    /// Reads and validates a config file, preparing its checks' SQL.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, SqlCheck::Prepare)
    }

    /// [`Config::load`], with check SQL validated as far as `sql` says.
    pub fn load_with(path: &Path, sql: SqlCheck) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let config = Config::parse_with(&text, path, sql)?;
        Ok(Config { source: Some(path.to_owned()), ..config })
    }

    /// The config `hostwatch` uses: `explicit` if given (it must exist), else the platform
    /// config file if present, else the defaults.
    pub fn discover(
        explicit: Option<&Path>,
        platform_file: Option<&Path>,
        sql: SqlCheck,
    ) -> Result<Config, ConfigError> {
        match (explicit, platform_file) {
            (Some(path), _) => Config::load_with(path, sql),
            (None, Some(path)) if path.exists() => Config::load_with(path, sql),
            _ => Ok(Config::defaults()),
        }
    }
}
