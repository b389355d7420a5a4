//! Configuration: read once at start-up, validated into [`Config`], never re-checked later.
//!
//! Owns the TOML format, the defaults and every rule about values; must not touch the store
//! or the host. An error names file:line:column and quotes the bad value.

mod checks;
mod error;
mod notify;
mod raw;
mod rules;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use glob::Pattern;

pub use error::ConfigError;

/// The commented default config, shipped as `packaging/config.toml`, printed by
/// `hostwatch config default`. A test checks it equals the built-in defaults.
pub const DEFAULT_TOML: &str = include_str!("../../packaging/config.toml");

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// System sampling schedule.
    pub sampling: Sampling,
    /// Top-process sampling.
    pub processes: Processes,
    /// Hot store placement and retention.
    pub store: Store,
    /// Which metric families are collected.
    pub collectors: CollectorSwitches,
    /// What is left out.
    pub filters: Filters,
    /// Where the host's trees are.
    pub host: Host,
    /// The DuckDB archive and its rollup.
    pub archive: Archive,
    /// Alert rules.
    pub alerts: Alerts,
    /// Notification channels.
    pub notify: Notify,
    /// The scheduled performance checklist.
    pub checks: Checks,
}

/// `[sampling]`
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// Time between system samples.
    pub interval: Duration,
    /// Time between writes of the pending batch to the store.
    pub flush_interval: Duration,
}

/// `[processes]`
#[derive(Debug, Clone, PartialEq)]
pub struct Processes {
    /// Whether the process table is sampled at all.
    pub enabled: bool,
    /// Time between process-table samples.
    pub interval: Duration,
    /// How many processes each ranking (CPU, memory) keeps.
    pub top: usize,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    /// Data directory from the file, if set (the `--data-dir` flag beats it).
    pub data_dir: Option<PathBuf>,
    /// The longest samples stay in the hot store: with the archive on, only samples that
    /// could not be archived for this long (the archive held open) are dropped.
    pub retention: Duration,
}

/// `[collectors]`: one switch per metric family.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct CollectorSwitches {
    /// Total CPU %.
    pub cpu: bool,
    /// Per-core CPU % (needs `cpu`).
    pub per_core_cpu: bool,
    /// Load averages.
    pub load: bool,
    /// Memory used and available.
    pub memory: bool,
    /// Swap used.
    pub swap: bool,
    /// Host uptime.
    pub uptime: bool,
    /// Space per mount.
    pub disks: bool,
    /// I/O per block device.
    pub disk_io: bool,
    /// Traffic and errors per interface.
    pub network: bool,
    /// Hardware temperatures.
    pub temperatures: bool,
    /// Laptop batteries.
    pub battery: bool,
}

/// `[filters]`
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    /// Mount points not recorded.
    pub mounts_exclude: Vec<Pattern>,
    /// File system types not recorded.
    pub fs_exclude: Vec<String>,
    /// Block devices not recorded.
    pub devices_exclude: Vec<Pattern>,
    /// Interfaces not recorded.
    pub interfaces_exclude: Vec<Pattern>,
}

/// `[host]`
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The host's `/proc`.
    pub proc_root: PathBuf,
    /// The host's `/sys`.
    pub sys_root: PathBuf,
}

/// `[archive]`
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// Whether aged samples move to the archive (else the hot store deletes them).
    pub enabled: bool,
    /// Samples younger than this stay in the hot store.
    pub hot_window: Duration,
    /// Time between rollups.
    pub rollup_interval: Duration,
    /// How long raw samples stay in the archive; `None` is forever.
    pub raw_retention: Option<Duration>,
    /// How long one-minute aggregates stay; `None` is forever.
    pub minute_retention: Option<Duration>,
    /// How long one-hour aggregates stay; `None` is forever.
    pub hour_retention: Option<Duration>,
}

/// `[alerts]`
#[derive(Debug, Clone, PartialEq)]
pub struct Alerts {
    /// Whether rules are evaluated at all.
    pub enabled: bool,
    /// After a start or a resume from sleep, nothing is announced for this long.
    pub grace: Duration,
    /// Announce a still-firing alert again this often; `None` is never.
    pub repeat: Option<Duration>,
    /// The built-in rules with the file's overrides, then the file's own, enabled only.
    pub rules: Vec<crate::rules::Rule>,
}

/// `[notify]`
#[derive(Debug, Clone, PartialEq)]
pub struct Notify {
    /// Whether alerts show as desktop notifications.
    pub desktop: bool,
    /// When desktop notifications stay quiet.
    pub quiet_hours: Option<crate::notify::QuietHours>,
    /// Whether a critical alert is shown during quiet hours anyway.
    pub critical_breaks_quiet: bool,
    /// The longest wait between two delivery attempts.
    pub retry_max: Duration,
    /// Webhook channels, by name.
    pub webhooks: Vec<crate::notify::Webhook>,
}

/// `[checks]`
#[derive(Debug, Clone, PartialEq)]
pub struct Checks {
    /// Whether the checklist runs at all.
    pub enabled: bool,
    /// Whether a slot missed while asleep or stopped runs once on wake.
    pub catch_up: bool,
    /// The enabled jobs, in checklist order (each with its timeout resolved).
    pub jobs: Vec<Job>,
}

/// One scheduled job of the checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its name (`hourly_health`, ...).
    pub name: String,
    /// When it runs, in local time.
    pub schedule: crate::checks::schedule::Schedule,
    /// The longest one run may take.
    pub timeout: Duration,
    /// The query and condition of a user-defined check; `None` for a built-in job.
    pub custom: Option<crate::checks::custom::Custom>,
}

/// A validated duration as whole seconds, the unit stores and schedules count in.
pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A validated duration as whole milliseconds, the unit the agent's clock counts in.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Config {
    /// The built-in defaults: what `hostwatch run` uses with no config file.
    pub fn defaults() -> Config {
        Config::parse("", Path::new("<defaults>")).expect("the empty config is valid")
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let loc = error::Locator { path, text };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| loc.toml_error(&e))?;
        validate::validate(raw, &loc)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let config = Config::parse(&text, path)?;
        Ok(Config { source: Some(path.to_owned()), ..config })
    }

    /// The config `hostwatch` uses: `explicit` if given (it must exist), else the platform
    /// config file if present, else the defaults.
    pub fn discover(explicit: Option<&Path>, platform_file: Option<&Path>) -> Result<Config, ConfigError> {
        match (explicit, platform_file) {
            (Some(path), _) => Config::load(path),
            (None, Some(path)) if path.exists() => Config::load(path),
            _ => Ok(Config::defaults()),
        }
    }
}
