//! The archive's validated settings, translated from the file by `config`, and the
//! rollup policy they make.

use std::time::Duration;

use super::rollup::{HOUR, Policy};
use crate::units::secs;

/// `[archive]`: the DuckDB archive and its rollup.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
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

impl From<&Settings> for Policy {
    /// The policy the settings ask for, moving one hour per transaction.
    fn from(archive: &Settings) -> Policy {
        Policy {
            hot_window: secs(archive.hot_window),
            chunk: HOUR,
            raw_retention: archive.raw_retention.map(secs),
            minute_retention: archive.minute_retention.map(secs),
            hour_retention: archive.hour_retention.map(secs),
        }
    }
}
