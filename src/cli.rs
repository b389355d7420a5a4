//! The command line as typed: clap definitions and flag parsers, no behaviour.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// A lightweight per-host performance agent: samples the host into a local store.
#[derive(Debug, Parser)]
#[command(name = "hostwatch", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace (default: warnings only).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Config file (default: the platform config dir's hostwatch/config.toml, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (default: the config's store.data_dir, else the platform data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// File formats for `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header row.
    Csv,
}

/// A point in time on the command line: `30d` (that long ago), `2026-11-01`, or an RFC 3339
/// time (`2026-11-01T08:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This long before now.
    Ago(Duration),
    /// This Unix time, in seconds.
    At(i64),
}

impl When {
    /// Unix seconds, given the present.
    pub fn resolve(self, now: i64) -> i64 {
        match self {
            When::Ago(d) => now - i64::try_from(d.as_secs()).unwrap_or(now),
            When::At(t) => t,
        }
    }
}

fn parse_when(s: &str) -> Result<When, String> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(When::Ago(d));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(When::At(t.timestamp()));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(When::At(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()));
    }
    Err(format!("{s:?} is neither a duration (30d, 12h) nor a date (2026-11-01) nor an RFC 3339 time"))
}

fn parse_step(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration: {e}"))?;
    if d.as_secs() == 0 || d.subsec_nanos() != 0 {
        return Err(format!("{s:?}: the step must be a whole number of seconds, at least 1s"));
    }
    Ok(d)
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    if !crate::archive::LABEL_COLUMNS.contains(&k) {
        return Err(format!("unknown label {k:?}; labels are {}", crate::archive::LABEL_COLUMNS.join(", ")));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent in the foreground until Ctrl-C or SIGTERM.
    Run,
    /// Show the agent's state and the newest value of every series.
    Status,
    /// List the series catalogue.
    Series,
    /// Move samples older than the hot window into the archive now.
    Rollup,
    /// Run SQL on the archive, read-only (see docs/ARCHIVE.md for its tables and views).
    Query {
        /// The SQL statement.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Print one series over time, from the hot store and the archive together.
    Trend {
        /// Metric name, e.g. cpu.usage_percent (`hostwatch series` lists them).
        metric: String,
        /// Pick the series by label, e.g. --label cpu=total (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// Start: a duration ago (30d) or a date.
        #[arg(long, default_value = "1d", value_parser = parse_when)]
        since: When,
        /// End (exclusive): a duration ago or a date; default now.
        #[arg(long, value_parser = parse_when)]
        until: Option<When>,
        /// Bucket width, e.g. 1m, 1h, 1d.
        #[arg(long, default_value = "1h", value_parser = parse_step)]
        step: Duration,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Write samples as hive-partitioned files (host=…/date=…/) for fleet analysis.
    Export {
        /// File format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: ExportFormat,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Start: a duration ago (30d) or a date; default everything.
        #[arg(long, value_parser = parse_when)]
        since: Option<When>,
        /// End (exclusive): a duration ago or a date; default now.
        #[arg(long, value_parser = parse_when)]
        until: Option<When>,
    },
    /// List the alert rules (built-in and configured) with each one's current state.
    Rules,
    /// Show firing and pending alerts, then the announced changes.
    Alerts {
        /// How far back the history goes: a duration ago (1d) or a date.
        #[arg(long, default_value = "1d", value_parser = parse_when)]
        since: When,
        /// The most history rows shown.
        #[arg(long, default_value = "50")]
        limit: u32,
    },
    /// Notification channels.
    Notify {
        /// What to do.
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// Check or print configuration.
    Config {
        /// What to do with the config.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `hostwatch config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate a config file (default: the one `run` would use) and say what is wrong.
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
    /// Print the commented default config.
    Default,
}

/// `hostwatch notify ...`
#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send a test notification now, to one channel or all, and say how each went.
    Test {
        /// A channel: `desktop` or a webhook's name (default: every channel).
        channel: Option<String>,
    },
}
