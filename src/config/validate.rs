//! Turns the raw file into a [`Config`]: defaults filled in, durations parsed, ranges and
//! patterns checked, each error located in the file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use glob::Pattern;
use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;

use super::Config;
use super::error::{ConfigError, Locator};
use super::raw::{RawConfig, SpannedStr};
use crate::collect::{Filters, Host, Processes, Sampling, Switches};

pub(super) const SECOND: Duration = Duration::from_secs(1);
pub(super) const MINUTE: Duration = Duration::from_secs(60);
pub(super) const HOUR: Duration = Duration::from_secs(3600);
pub(super) const DAY: Duration = Duration::from_secs(86_400);

const MOUNTS_EXCLUDE: &[&str] = &["/boot/efi", "/snap/*", "/var/lib/docker/*", "/run/*", "/sys/*", "/proc/*", "/dev/*"];
/// Network file systems are left out too: a hung server would block the sampling tick.
const FS_EXCLUDE: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "squashfs",
    "overlay",
    "efivarfs",
    "ramfs",
    "nsfs",
    "tracefs",
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "fuse.sshfs",
];
const DEVICES_EXCLUDE: &[&str] = &["loop*", "ram*", "zram*", "dm-*"];
const INTERFACES_EXCLUDE: &[&str] = &["lo", "veth*", "docker*", "br-*", "virbr*"];

/// One word of a small set (absent: the first), or an error naming the choices.
pub(super) fn choice<T: Copy>(
    key: &str,
    raw: Option<&SpannedStr>,
    choices: &[(&str, T)],
    loc: &Locator,
) -> Result<T, ConfigError> {
    let Some(raw) = raw else { return Ok(choices[0].1) };
    choices.iter().find(|(w, _)| w == raw.get_ref()).map(|(_, v)| *v).ok_or_else(|| {
        let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
        loc.error(raw.span().start, format!("{key} = {:?}: write one of {}", raw.get_ref(), words.join(", ")))
    })
}

/// Whether a table's name (a rule, a webhook) is letters, digits, `_` and `-`.
pub(super) fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Request headers (a webhook's, a probe's): names and values HTTP accepts. A bad value is
/// not quoted: header values carry tokens, and config errors reach logs.
pub(super) fn headers(
    key: &str,
    raw: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    loc: &Locator,
) -> Result<Vec<(String, String)>, ConfigError> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            if HeaderName::from_bytes(k.get_ref().as_bytes()).is_err() {
                return Err(loc.error(k.span().start, format!("{key}.headers: {:?} is not a header name", k.get_ref())));
            }
            if HeaderValue::from_str(v.get_ref()).is_err() {
                let msg = format!(
                    "{key}.headers.{} is not a valid header value (not shown: it may be a secret)",
                    k.get_ref()
                );
                return Err(loc.error(v.span().start, msg));
            }
            Ok((k.into_inner(), v.into_inner()))
        })
        .collect()
}

/// A duration key: its default and allowed range.
pub(super) struct DurationKey<'a> {
    /// The key, for messages.
    pub name: &'a str,
    /// Its value when absent.
    pub default: Duration,
    /// The shortest allowed.
    pub min: Duration,
    /// The longest allowed.
    pub max: Duration,
}

impl DurationKey<'_> {
    /// A retention: a duration, or `"forever"` for `None`; absent means `forever` if
    /// `default_forever`, else the key's default.
    fn retention(
        &self,
        value: Option<&SpannedStr>,
        default_forever: bool,
        loc: &Locator,
    ) -> Result<Option<Duration>, ConfigError> {
        match value {
            Some(v) if v.get_ref() == "forever" => Ok(None),
            None if default_forever => Ok(None),
            _ => self.get(value, loc).map(Some),
        }
    }

    /// The duration written, or the default.
    pub fn get(&self, value: Option<&SpannedStr>, loc: &Locator) -> Result<Duration, ConfigError> {
        let Some(value) = value else { return Ok(self.default) };
        let text = value.get_ref();
        let at = value.span().start;
        let d = humantime::parse_duration(text).map_err(|e| {
            loc.error(
                at,
                format!("{} = {text:?} is not a duration ({e}); write e.g. \"10s\", \"5m\", \"2h\"", self.name),
            )
        })?;
        if d < self.min || d > self.max {
            let (min, max) = (humantime::format_duration(self.min), humantime::format_duration(self.max));
            return Err(
                loc.error(at, format!("{} = {text:?} is out of range: must be between {min} and {max}", self.name))
            );
        }
        Ok(d)
    }
}

fn patterns(
    key: &str,
    raw: Option<Vec<SpannedStr>>,
    default: &[&str],
    loc: &Locator,
) -> Result<Vec<Pattern>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default.iter().map(|p| Pattern::new(p).expect("built-in patterns are valid")).collect());
    };
    raw.iter().map(|p| pattern(key, p, loc)).collect()
}

/// One glob pattern from the file, or an error at it naming `key`.
pub fn pattern(key: &str, p: &SpannedStr, loc: &Locator) -> Result<Pattern, ConfigError> {
    Pattern::new(p.get_ref()).map_err(|e| {
        loc.error(p.span().start, format!("{key}: {:?} is not a valid glob pattern ({})", p.get_ref(), e.msg))
    })
}

fn existing_dir(
    key: &str,
    raw: Option<Spanned<PathBuf>>,
    default: &str,
    loc: &Locator,
) -> Result<PathBuf, ConfigError> {
    let Some(raw) = raw else { return Ok(PathBuf::from(default)) };
    let path = raw.get_ref();
    if !path.is_dir() {
        return Err(loc.error(raw.span().start, format!("{key} = {path:?} is not a directory")));
    }
    Ok(path.clone())
}

/// Where `store.retention`, `archive.hot_window` and `archive.raw_retention` were written.
struct ArchiveSpans {
    retention: Option<usize>,
    hot_window: Option<usize>,
    raw_retention: Option<usize>,
}

/// Rules between keys: the hot store must keep samples until they are archived, and the
/// raw tier must still hold a second that could come back from the hot store.
fn check_archive(config: &Config, spans: &ArchiveSpans, loc: &Locator) -> Result<(), ConfigError> {
    let a = &config.archive;
    if !a.enabled {
        return Ok(());
    }
    let show = |d: Duration| humantime::format_duration(d).to_string();
    if config.store.retention <= a.hot_window {
        let at = spans.retention.or(spans.hot_window).unwrap_or(0);
        return Err(loc.error(
            at,
            format!(
                "store.retention ({}) must be longer than archive.hot_window ({}): samples would be deleted before they are archived",
                show(config.store.retention),
                show(a.hot_window)
            ),
        ));
    }
    if let Some(raw) = a.raw_retention.filter(|&r| r < a.hot_window + HOUR) {
        let at = spans.raw_retention.or(spans.hot_window).unwrap_or(0);
        return Err(loc.error(
            at,
            format!(
                "archive.raw_retention ({}) must be at least archive.hot_window ({}) plus 1h, so a sample the hot store still holds is never archived twice",
                show(raw),
                show(a.hot_window)
            ),
        ));
    }
    Ok(())
}

/// Validates the raw file into a config.
pub fn validate(raw: RawConfig, loc: &Locator, sql: super::SqlCheck) -> Result<Config, ConfigError> {
    let interval = DurationKey { name: "sampling.interval", default: 5 * SECOND, min: SECOND, max: HOUR };
    let flush = DurationKey { name: "sampling.flush_interval", default: 15 * SECOND, min: SECOND, max: 10 * MINUTE };
    let proc_interval = DurationKey { name: "processes.interval", default: 30 * SECOND, min: SECOND, max: HOUR };
    let retention = DurationKey { name: "store.retention", default: 7 * DAY, min: HOUR, max: 365 * DAY };
    let hot_window = DurationKey { name: "archive.hot_window", default: 6 * HOUR, min: HOUR, max: 30 * DAY };
    let rollup_interval = DurationKey { name: "archive.rollup_interval", default: HOUR, min: MINUTE, max: DAY };
    let raw_retention =
        DurationKey { name: "archive.raw_retention", default: 30 * DAY, min: DAY, max: 100 * 365 * DAY };
    let minute_retention =
        DurationKey { name: "archive.minute_retention", default: 365 * DAY, min: DAY, max: 100 * 365 * DAY };
    let hour_retention = DurationKey { name: "archive.hour_retention", default: DAY, min: DAY, max: 100 * 365 * DAY };
    let a = raw.archive;
    // Where the cross-checked keys were written, for errors that involve two keys.
    let at = |v: Option<&SpannedStr>| v.map(|v| v.span().start);
    let spans = ArchiveSpans {
        retention: at(raw.store.retention.as_ref()),
        hot_window: at(a.hot_window.as_ref()),
        raw_retention: at(a.raw_retention.as_ref()),
    };

    let top = match raw.processes.top {
        None => 5,
        Some(top) => usize::try_from(*top.get_ref()).ok().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            loc.error(
                top.span().start,
                format!("processes.top = {} is out of range: must be between 1 and 50", top.get_ref()),
            )
        })?,
    };
    let data_dir = raw.store.data_dir.map(Spanned::into_inner).filter(|p| !p.as_os_str().is_empty());
    let c = raw.collectors;
    let f = raw.filters;
    let probes = super::probes::probes(raw.probes, loc)?;
    let (loadtests, load_jobs) = super::loadtests::loadtests(raw.loadtests, &probes, loc)?;
    let mut checks = super::checks::checks(raw.checks, loc, sql)?;
    checks.jobs.extend(load_jobs);
    let config = Config {
        source: None,
        sampling: Sampling {
            interval: interval.get(raw.sampling.interval.as_ref(), loc)?,
            flush_interval: flush.get(raw.sampling.flush_interval.as_ref(), loc)?,
        },
        processes: Processes {
            enabled: raw.processes.enabled.unwrap_or(true),
            interval: proc_interval.get(raw.processes.interval.as_ref(), loc)?,
            top,
        },
        store: crate::store::Settings { data_dir, retention: retention.get(raw.store.retention.as_ref(), loc)? },
        collectors: Switches {
            cpu: c.cpu.unwrap_or(true),
            per_core_cpu: c.per_core_cpu.unwrap_or(true),
            load: c.load.unwrap_or(true),
            memory: c.memory.unwrap_or(true),
            swap: c.swap.unwrap_or(true),
            uptime: c.uptime.unwrap_or(true),
            disks: c.disks.unwrap_or(true),
            disk_io: c.disk_io.unwrap_or(true),
            network: c.network.unwrap_or(true),
            temperatures: c.temperatures.unwrap_or(true),
            battery: c.battery.unwrap_or(true),
        },
        filters: Filters {
            mounts_exclude: patterns("filters.mounts_exclude", f.mounts_exclude, MOUNTS_EXCLUDE, loc)?,
            fs_exclude: f.fs_exclude.unwrap_or_else(|| FS_EXCLUDE.iter().map(|s| (*s).to_owned()).collect()),
            devices_exclude: patterns("filters.devices_exclude", f.devices_exclude, DEVICES_EXCLUDE, loc)?,
            interfaces_exclude: patterns("filters.interfaces_exclude", f.interfaces_exclude, INTERFACES_EXCLUDE, loc)?,
        },
        archive: crate::archive::Settings {
            enabled: a.enabled.unwrap_or(true),
            hot_window: hot_window.get(a.hot_window.as_ref(), loc)?,
            rollup_interval: rollup_interval.get(a.rollup_interval.as_ref(), loc)?,
            raw_retention: raw_retention.retention(a.raw_retention.as_ref(), false, loc)?,
            minute_retention: minute_retention.retention(a.minute_retention.as_ref(), false, loc)?,
            // The hour tier is tiny (24 rows a day a series): kept forever unless asked.
            hour_retention: hour_retention.retention(a.hour_retention.as_ref(), true, loc)?,
        },
        alerts: super::rules::alerts(raw.alerts, loc)?,
        notify: super::notify::notify(raw.notify, loc)?,
        checks,
        probes,
        loadtests,
        server: super::server::server(raw.server, loc)?,
        host: Host {
            proc_root: existing_dir("host.proc_root", raw.host.proc_root, "/proc", loc)?,
            sys_root: existing_dir("host.sys_root", raw.host.sys_root, "/sys", loc)?,
        },
    };
    check_archive(&config, &spans, loc)?;
    Ok(config)
}
