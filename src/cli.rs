//! The command line as typed: clap definitions and flag parsers, no behaviour.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::metrics::parse_label;
use crate::units::{When, parse_step};

/// A lightweight per-host performance agent: samples the host into a local store.
#[derive(Debug, Parser)]
// No `help` subcommand: `--help` is there on every command, and a `help` page the man pages
// would name (hostwatch-help(1)) would say nothing more.
#[command(name = "hostwatch", version, about, propagate_version = true, disable_help_subcommand = true)]
pub struct Cli {
    /// More log output on stderr (default: warnings only): -v a line per batch written,
    /// rollup and notice delivered; -vv a line per tick too; -vvv every library's trace.
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

impl Cli {
    /// Parses `args` (the program's name first), exiting on bad usage, `--help` and
    /// `--version`. `long_version` is called only when `--version` or `-V` is there: it
    /// asks the databases' libraries their versions, which no other command needs.
    pub fn parse_with_version(args: Vec<OsString>, long_version: impl FnOnce() -> String) -> Cli {
        let mut command = Cli::command();
        if args.iter().skip(1).any(|a| a == "--version" || a == "-V") {
            // Without clap's `string` feature a version must be 'static; this runs once, and
            // clap exits right after printing it.
            command = command.version(&*Box::leak(long_version().into_boxed_str()));
        }
        let matches = command.get_matches_from(args);
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent in the foreground until Ctrl-C or SIGTERM.
    Run,
    /// Show the agent's state and the newest value of every series.
    Status {
        /// Output format: a table for people, or JSON for scripts (CSV: the series).
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the series catalogue.
    Series {
        /// Output format: a table for people, CSV or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
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
        labels: Vec<(&'static str, String)>,
        /// Start: a duration ago (30d) or a date.
        #[arg(long, default_value = "1d", value_parser = When::parse)]
        since: When,
        /// End (exclusive): a duration ago or a date; default now.
        #[arg(long, value_parser = When::parse)]
        until: Option<When>,
        /// Bucket width, e.g. 1m, 1h, 1d.
        #[arg(long, default_value = "1h", value_parser = parse_step)]
        step: Duration,
        /// Add up every series that matches (all the pids of a process name, every mount):
        /// each bucket holds the sum of the series' means and how many series had samples.
        #[arg(long)]
        sum: bool,
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
        #[arg(long, value_parser = When::parse)]
        since: Option<When>,
        /// End (exclusive): a duration ago or a date; default now.
        #[arg(long, value_parser = When::parse)]
        until: Option<When>,
    },
    /// List the alert rules (built-in and configured) with each one's current state, or
    /// replay them over the stored history.
    Rules {
        /// What to do; without one, list them.
        #[command(subcommand)]
        action: Option<RulesAction>,
    },
    /// Show firing and pending alerts, then the announced changes.
    Alerts {
        /// How far back the history goes: a duration ago (1d) or a date.
        #[arg(long, default_value = "1d", value_parser = When::parse)]
        since: When,
        /// The most history rows shown.
        #[arg(long, default_value = "50")]
        limit: u32,
        /// Output format: tables for people, or JSON for scripts (CSV: the history).
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the checklist's jobs: schedule, last and next run, last result.
    Checks {
        /// Output format: a table for people, CSV or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The checklist's reports.
    Report {
        /// What to do.
        #[command(subcommand)]
        action: ReportAction,
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
    /// List the probes: kind, target, last result and why, response time p50/p95 and error
    /// rate over the last hour, availability over 24 h, 7 d and 30 d.
    Probes {
        /// Output format: a table for people, CSV or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Open the local dashboard in the default browser (or print its address).
    Dashboard,
    /// Probes of applications.
    Probe {
        /// What to do.
        #[command(subcommand)]
        action: ProbeAction,
    },
    /// Load and stress tests (`[loadtests.NAME]`): run one now, list the runs, show one.
    Load {
        /// What to do.
        #[command(subcommand)]
        action: LoadAction,
    },
    /// Check what commonly goes wrong and say how to fix it (exit 1 if something is broken).
    ///
    /// Checks the data dir, disk space, the hot store, the archive's lock, the clock, the
    /// session bus and notification server, and that each webhook's host answers.
    Doctor,
    /// Install, remove or inspect hostwatch as a service (systemd unit, launchd agent).
    Service {
        /// What to do with the service.
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    ///
    /// E.g. `hostwatch completions bash > ~/.local/share/bash-completion/completions/hostwatch`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page hostwatch(1), e.g. `hostwatch man | man -l -`; or write every page.
    Man {
        /// Write hostwatch.1 and one page per subcommand (hostwatch-run.1, ...) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `hostwatch service ...`
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Write the unit file, then enable and start the service; run again, it changes only
    /// what differs.
    Install {
        /// For whom.
        #[command(flatten)]
        scope: ScopeFlags,
        /// Print the file and the commands, write and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop and disable the service and remove its unit file.
    Uninstall {
        /// For whom.
        #[command(flatten)]
        scope: ScopeFlags,
        /// Print what would be removed and run, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Say whether the unit file is installed and up to date, and ask the service manager.
    Status {
        /// For whom.
        #[command(flatten)]
        scope: ScopeFlags,
    },
}

/// `--user` (the default) or `--system`.
#[derive(Debug, Clone, Copy, Args)]
#[group(multiple = false)]
pub struct ScopeFlags {
    /// For you, in your session (the default): desktop notifications need it.
    #[arg(long)]
    pub user: bool,
    /// For the whole machine, as a user of its own, without desktop notifications (needs root).
    #[arg(long)]
    pub system: bool,
}

impl ScopeFlags {
    /// The scope the flags ask for.
    pub fn scope(self) -> crate::service::Scope {
        if self.system { crate::service::Scope::System } else { crate::service::Scope::User }
    }
}

/// `hostwatch probe ...`
#[derive(Debug, Subcommand)]
pub enum ProbeAction {
    /// Run one probe now and print every measurement (for setting one up); stores nothing,
    /// exits 1 if the attempt failed.
    Run {
        /// The probe's name (`[probes.NAME]`).
        name: String,
    },
}

/// `hostwatch rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List the rules with each one's current state (the default).
    List {
        /// Output format: a table for people, CSV or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Replay the stored history through the rules as the agent runs them: what each would
    /// have announced, notices per day, and time spent firing. Rules come from the config
    /// (`--config FILE` tries one not yet in use).
    Backtest {
        /// Only these rules (default: every enabled rule).
        rules: Vec<String>,
        /// Start: a duration ago (30d) or a date.
        #[arg(long, default_value = "30d", value_parser = When::parse)]
        since: When,
        /// End (exclusive): a duration ago or a date; default now.
        #[arg(long, value_parser = When::parse)]
        until: Option<When>,
        /// Output format: a table and a summary, the announcements as CSV, or all as JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// `hostwatch load ...`
#[derive(Debug, Subcommand)]
pub enum LoadAction {
    /// Run a load test now with a live progress line; the run is stored and compared with
    /// the test's earlier runs like a scheduled one. Ctrl-C stops it and keeps the partial
    /// result. Exits 1 if it was refused, aborted or stopped, or found a warning.
    Run {
        /// The test's name (`[loadtests.NAME]`).
        name: String,
    },
    /// The runs kept, newest first.
    List {
        /// Only this test's runs.
        #[arg(long)]
        test: Option<String>,
        /// How many.
        #[arg(long, default_value = "20")]
        limit: u32,
    },
    /// One run's report.
    Show {
        /// Its id, from `load list`.
        id: i64,
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

/// `hostwatch report ...`
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// The latest reports, newest first.
    List {
        /// How many.
        #[arg(long, default_value = "20")]
        limit: u32,
        /// Output format: a table for people, CSV or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One report in full (Markdown).
    Show {
        /// Its id, from `report list`.
        id: i64,
    },
    /// Run a job now on the hot store and print its report (not stored, nothing sent).
    Run {
        /// The job, e.g. hourly_health.
        name: String,
    },
}
