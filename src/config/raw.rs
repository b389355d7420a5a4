//! The TOML file as written: serde structs that mirror it, with spans for validation.
//!
//! Owns the file's shape (unknown keys are errors); must not judge values: that is
//! `validate`'s job, which turns these into a [`super::Config`].

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
