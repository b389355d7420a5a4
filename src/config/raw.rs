//! The TOML file as written: serde structs that mirror it, with spans for validation.
//!
//! Owns the file's shape (unknown keys are errors); must not judge values: that is
//! `validate`'s job, which turns these into a [`super::Config`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// A string value with where it was written.
pub type SpannedStr = Spanned<String>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a config file")]
pub struct RawConfig {
    #[serde(default)]
    pub sampling: RawSampling,
    #[serde(default)]
    pub processes: RawProcesses,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub collectors: RawCollectors,
    #[serde(default)]
    pub filters: RawFilters,
    #[serde(default)]
    pub host: RawHost,
    #[serde(default)]
    pub archive: RawArchive,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub notify: RawNotify,
    #[serde(default)]
    pub checks: RawChecks,
    /// By name.
    #[serde(default)]
    pub probes: BTreeMap<Spanned<String>, RawProbe>,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub loadtests: super::raw_load::RawLoadtests,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [server] table")]
pub struct RawServer {
    pub enabled: Option<bool>,
    pub listen: Option<SpannedStr>,
    pub token_file: Option<Spanned<PathBuf>>,
    pub names: Option<Vec<SpannedStr>>,
}

/// `[sampling]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [sampling] table")]
pub struct RawSampling {
    pub interval: Option<SpannedStr>,
    pub flush_interval: Option<SpannedStr>,
}

/// `[processes]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [processes] table")]
pub struct RawProcesses {
    pub enabled: Option<bool>,
    pub interval: Option<SpannedStr>,
    pub top: Option<Spanned<i64>>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [store] table")]
pub struct RawStore {
    pub data_dir: Option<Spanned<PathBuf>>,
    pub retention: Option<SpannedStr>,
}

/// `[collectors]`: every family on unless switched off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [collectors] table")]
pub struct RawCollectors {
    pub cpu: Option<bool>,
    pub per_core_cpu: Option<bool>,
    pub load: Option<bool>,
    pub memory: Option<bool>,
    pub swap: Option<bool>,
    pub uptime: Option<bool>,
    pub disks: Option<bool>,
    pub disk_io: Option<bool>,
    pub network: Option<bool>,
    pub temperatures: Option<bool>,
    pub battery: Option<bool>,
}

/// `[filters]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [filters] table")]
pub struct RawFilters {
    pub mounts_exclude: Option<Vec<SpannedStr>>,
    pub fs_exclude: Option<Vec<String>>,
    pub devices_exclude: Option<Vec<SpannedStr>>,
    pub interfaces_exclude: Option<Vec<SpannedStr>>,
}

/// `[host]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [host] table")]
pub struct RawHost {
    pub proc_root: Option<Spanned<PathBuf>>,
    pub sys_root: Option<Spanned<PathBuf>>,
}

/// `[archive]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [archive] table")]
pub struct RawArchive {
    pub enabled: Option<bool>,
    pub hot_window: Option<SpannedStr>,
    pub rollup_interval: Option<SpannedStr>,
    pub raw_retention: Option<SpannedStr>,
    pub minute_retention: Option<SpannedStr>,
    pub hour_retention: Option<SpannedStr>,
}

/// `[alerts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [alerts] table")]
pub struct RawAlerts {
    pub enabled: Option<bool>,
    pub grace: Option<SpannedStr>,
    pub repeat_interval: Option<SpannedStr>,
    /// By name: a built-in rule's name overrides it, a new name adds a rule.
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, RawRule>,
}

/// `[alerts.rules.NAME]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a rule table")]
pub struct RawRule {
    pub enabled: Option<bool>,
    pub metric: Option<SpannedStr>,
    pub labels: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    pub condition: Option<SpannedStr>,
    pub direction: Option<SpannedStr>,
    pub warning: Option<Spanned<f64>>,
    pub critical: Option<Spanned<f64>>,
    pub clear: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    pub for_: Option<SpannedStr>,
    pub keep_firing_for: Option<SpannedStr>,
    pub per_core: Option<bool>,
    #[serde(rename = "while")]
    pub while_: Option<RawGuard>,
}

/// `while = { metric = "...", equals = N }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table like { metric = \"battery.status\", equals = -1 }")]
pub struct RawGuard {
    pub metric: SpannedStr,
    pub equals: f64,
}

/// `[notify]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [notify] table")]
pub struct RawNotify {
    pub desktop: Option<bool>,
    pub quiet_hours: Option<SpannedStr>,
    pub critical_breaks_quiet: Option<bool>,
    pub retry_max: Option<SpannedStr>,
    #[serde(default)]
    pub webhooks: BTreeMap<Spanned<String>, RawWebhook>,
}

/// `[notify.webhooks.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a webhook table with at least `url`")]
pub struct RawWebhook {
    pub url: SpannedStr,
    pub format: Option<SpannedStr>,
    pub headers: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    pub secret: Option<SpannedStr>,
    pub timeout: Option<SpannedStr>,
}

/// `[checks]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [checks] table")]
pub struct RawChecks {
    pub enabled: Option<bool>,
    pub catch_up: Option<bool>,
    pub timeout: Option<SpannedStr>,
    /// By name: a built-in job's name reschedules or disables it.
    #[serde(default)]
    pub jobs: BTreeMap<Spanned<String>, RawJob>,
    /// The user's own checks, by name.
    #[serde(default)]
    pub custom: BTreeMap<Spanned<String>, RawCustom>,
}

/// `[checks.custom.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a check table with `schedule` and `sql`")]
pub struct RawCustom {
    pub schedule: SpannedStr,
    pub sql: SpannedStr,
    pub store: Option<SpannedStr>,
    pub condition: Option<SpannedStr>,
    pub level: Option<SpannedStr>,
    pub direction: Option<SpannedStr>,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub timeout: Option<SpannedStr>,
}

/// `[checks.jobs.NAME]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a job table")]
pub struct RawJob {
    pub enabled: Option<bool>,
    pub schedule: Option<SpannedStr>,
    pub timeout: Option<SpannedStr>,
}

/// The keys of one HTTP request, whoever sends it (a probe, a load test).
#[derive(Debug, Default)]
pub struct RawRequest {
    pub url: Option<SpannedStr>,
    pub method: Option<SpannedStr>,
    pub headers: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    pub body: Option<SpannedStr>,
    pub expect_status: Option<Vec<Spanned<i64>>>,
    pub conditions: Option<Vec<SpannedStr>>,
    pub warn_conditions: Option<Vec<SpannedStr>>,
    pub secret_env: Option<SpannedStr>,
    pub secret_file: Option<Spanned<PathBuf>>,
    pub secret_header: Option<SpannedStr>,
    pub ca_file: Option<Spanned<PathBuf>>,
    pub max_redirects: Option<Spanned<i64>>,
}

impl RawProbe {
    /// Its request's keys.
    pub fn request(self) -> RawRequest {
        RawRequest {
            url: self.url,
            method: self.method,
            headers: self.headers,
            body: self.body,
            expect_status: self.expect_status,
            conditions: self.conditions,
            warn_conditions: self.warn_conditions,
            secret_env: self.secret_env,
            secret_file: self.secret_file,
            secret_header: self.secret_header,
            ca_file: self.ca_file,
            max_redirects: self.max_redirects,
        }
    }
}

/// `[probes.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a probe table with `kind` and `url`")]
pub struct RawProbe {
    pub kind: SpannedStr,
    pub enabled: Option<bool>,
    pub interval: Option<SpannedStr>,
    pub timeout: Option<SpannedStr>,
    pub sla: Option<Spanned<f64>>,
    pub url: Option<SpannedStr>,
    pub method: Option<SpannedStr>,
    pub headers: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    pub body: Option<SpannedStr>,
    pub expect_status: Option<Vec<Spanned<i64>>>,
    pub conditions: Option<Vec<SpannedStr>>,
    pub warn_conditions: Option<Vec<SpannedStr>>,
    pub secret_env: Option<SpannedStr>,
    pub secret_file: Option<Spanned<PathBuf>>,
    pub secret_header: Option<SpannedStr>,
    pub ca_file: Option<Spanned<PathBuf>>,
    pub max_redirects: Option<Spanned<i64>>,
    pub path: Option<Spanned<PathBuf>>,
    pub query: Option<SpannedStr>,
    pub api: Option<SpannedStr>,
    pub model: Option<SpannedStr>,
    pub prompt: Option<SpannedStr>,
    pub max_tokens: Option<Spanned<i64>>,
    pub completion_interval: Option<SpannedStr>,
    pub connection: Option<SpannedStr>,
    pub statements: Option<Spanned<bool>>,
}
