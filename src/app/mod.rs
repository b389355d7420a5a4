//! The binary's body: turns a parsed command line into actions and output.
//!
//! This is the edge of the program, so it uses `anyhow` for context; the modules it calls
//! return typed errors. It must not hold logic that a library module should own.

/// `println!` that returns the write error (a closed pipe) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)))?
    };
}

/// `print!` that returns the write error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*))?
    };
}

/// `eprintln!` that never panics: a message to a closed stderr (`2>&1 | head -1`) is lost,
/// not a crash.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}

mod alerts;
mod archive;
mod backtest;
mod checks;
mod doctor;
mod failure;
mod install;
mod listing;
mod load;
mod probes;
mod show;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use directories::ProjectDirs;

use crate::cli::{
    Cli, Command, ConfigAction, Format, LoadAction, NotifyAction, ProbeAction, ReportAction, RulesAction,
};
use crate::config::{Config, DEFAULT_TOML, SqlCheck};
use crate::store::{self, Selector, Store};

pub use failure::{UsageError, exit_code, is_broken_pipe, report_failure};

/// The hot store for reading, or `None` if the agent never ran here.
fn store_if_any(paths: &Paths) -> Result<Option<Store>> {
    match Store::open_read_only(&paths.hot) {
        Ok(store) => Ok(Some(store)),
        Err(store::StoreError::Missing(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "hostwatch")
}

/// The platform config file (`~/.config/hostwatch/config.toml` on Linux).
pub fn platform_config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// The data dir: the flag, else the config's, else the platform's.
fn data_dir(cli: &Cli, config: &Config) -> Result<PathBuf> {
    cli.data_dir
        .clone()
        .or_else(|| config.store.data_dir.clone())
        .or_else(|| project_dirs().map(|d| d.data_dir().to_owned()))
        .context("no home directory to keep data in: pass --data-dir DIR")
}

/// The data dir and its two stores.
pub struct Paths {
    /// The data dir.
    pub dir: PathBuf,
    /// The hot store.
    pub hot: PathBuf,
    /// The archive.
    pub archive: PathBuf,
}

/// What `hostwatch --version` prints after the name: ours and the bundled databases'
/// versions, e.g. `0.1.0 (DuckDB v2.0.0, SQLite 3.50.4)`.
pub fn long_version() -> String {
    let (duckdb, sqlite) = (crate::archive::engine_version(), crate::store::engine_version());
    format!("{} (DuckDB {duckdb}, SQLite {sqlite})", env!("CARGO_PKG_VERSION"))
}

/// `--since` and `--until` as Unix seconds at `now` (from the start, and up to now with
/// this second, by default), refused unless since comes first.
fn span(since: Option<crate::units::When>, until: Option<crate::units::When>, now: i64) -> Result<(i64, i64)> {
    let (since, until) = (since.map_or(0, |s| s.resolve(now)), until.map_or(now + 1, |u| u.resolve(now)));
    if since >= until {
        let (since, until) = (show::local(since), show::local(until));
        bail!(UsageError(format!("--since ({since}) must be before --until ({until})")));
    }
    Ok((since, until))
}

/// Runs one command.
pub fn run(cli: &Cli) -> Result<()> {
    init_logging(cli.verbose, matches!(cli.command, Command::Run));
    if matches!(cli.command, Command::Run) {
        // Loading ran DuckDB's C++ static initialisers all over the binary: pages the agent
        // does not run again. (Its start-up peak was set there: 15.5 of 19 MB with probes.)
        crate::daemon::give_back_code("loading");
    }
    // Commands that need neither a valid config nor the stores.
    match &cli.command {
        Command::Config { action: ConfigAction::Default } => {
            out!("{DEFAULT_TOML}");
            return Ok(());
        }
        Command::Config { action: ConfigAction::Check { file } } => {
            return check_config(file.as_deref().or(cli.config.as_deref()));
        }
        Command::Service { action } => return install::service(action, cli.config.as_deref(), cli.data_dir.as_deref()),
        Command::Completions { shell } => return install::completions(*shell),
        Command::Man { dir } => return install::man(dir.as_deref()),
        _ => {}
    }
    // The agent starts no engine to validate checks' SQL: each run of a check prepares it.
    let sql = if matches!(cli.command, Command::Run) { SqlCheck::Count } else { SqlCheck::Prepare };
    let found = Config::discover(cli.config.as_deref(), platform_config_file().as_deref(), sql);
    // `doctor` reports a broken config as one of its checks and goes on with the defaults.
    let (config, broken) = match (found, &cli.command) {
        (Err(e), Command::Doctor) => (Config::defaults(), Some(e)),
        (found, _) => (found?, None),
    };
    let dir = data_dir(cli, &config)?;
    let paths = Paths { hot: dir.join(store::FILE_NAME), archive: dir.join(crate::archive::FILE_NAME), dir };
    match &cli.command {
        Command::Run => run_agent(&paths, &config),
        Command::Status { format } => show::status(&Store::open_read_only(&paths.hot)?, &config, *format),
        Command::Series { format } => show::series(&Store::open_read_only(&paths.hot)?, *format),
        Command::Rollup => archive::rollup(&paths, &config),
        Command::Query { sql, format } => archive::query(&paths, sql, *format),
        Command::Trend { metric, labels, since, until, step, sum, format } => {
            let selector = Selector { metric: metric.clone(), labels: labels.clone() };
            archive::trend(&paths, &selector, (*since, *until, *step), *sum, *format)
        }
        Command::Export { format, out, since, until } => archive::export(&paths, *format, out, *since, *until),
        Command::Rules { action: None } => alerts::rules(&paths, &config, Format::Table),
        Command::Rules { action: Some(RulesAction::List { format }) } => alerts::rules(&paths, &config, *format),
        Command::Rules { action: Some(RulesAction::Backtest { rules, since, until, format }) } => {
            backtest::backtest(&paths, &config, rules, (*since, *until), *format)
        }
        Command::Checks { format } => checks::list(&paths, &config, *format),
        Command::Report { action: ReportAction::List { limit, format } } => checks::reports(&paths, *limit, *format),
        Command::Report { action: ReportAction::Show { id } } => checks::show(&paths, *id),
        Command::Report { action: ReportAction::Run { name } } => checks::run_now(&paths, &config, name),
        Command::Alerts { since, limit, format } => alerts::alerts(&paths, *since, *limit, *format),
        Command::Notify { action: NotifyAction::Test { channel } } => alerts::notify_test(&config, channel.as_deref()),
        Command::Doctor => doctor::doctor(&paths, &config, broken.as_ref()),
        Command::Probes { format } => probes::list(&paths, &config, *format),
        Command::Dashboard => show::dashboard(&paths, &config),
        Command::Probe { action: ProbeAction::Run { name } } => probes::run_now(&config, name),
        Command::Load { action: LoadAction::Run { name } } => load::run_now(&paths, &config, name),
        Command::Load { action: LoadAction::List { test, limit } } => load::list(&paths, test.as_deref(), *limit),
        Command::Load { action: LoadAction::Show { id } } => load::show(&paths, *id),
        Command::Config { .. } | Command::Service { .. } | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("handled above")
        }
    }
}

fn init_logging(verbose: u8, running: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    // The TLS verifier logs each certificate it refuses as an error; a probe's failure
    // already says so (reason tls), once, where a probe that fails every minute would not.
    let verifier = if verbose >= 2 { level } else { LevelFilter::OFF };
    // No colour codes when stderr is a file or the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // An agent run in a terminal says when its first samples are stored; as a service its
    // start line is the one line in the journal.
    let milestones = if running && ansi { LevelFilter::INFO } else { level };
    let filter = Targets::new()
        .with_default(level)
        .with_target("rustls_platform_verifier", verifier)
        .with_target("hostwatch::milestone", milestones);
    let output = tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr);
    tracing_subscriber::registry().with(output).with(filter).init();
}

/// Creates the data dir, or takes one that exists, private to this user: it holds process
/// names, command history and alert text. Files the agent creates later are 0600 (umask).
#[allow(unsafe_code)] // umask(2), which std does not wrap.
fn private_data_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    let ctx = || format!("cannot create data dir {}", dir.display());
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(ctx)?;
    let private = std::fs::Permissions::from_mode(0o700);
    std::fs::set_permissions(dir, private).with_context(|| format!("cannot make {} private (0700)", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(ctx)?.flatten() {
        let path = entry.path();
        if path.is_file() {
            let file = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(&path, file).with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    Ok(())
}

fn check_config(file: Option<&Path>) -> Result<()> {
    let path = match file {
        Some(path) => path.to_owned(),
        None => platform_config_file()
            .filter(|p| p.exists())
            .ok_or_else(|| UsageError("no config file to check: pass FILE (none at the platform's place)".into()))?,
    };
    Config::load(&path)?;
    outln!("{}: ok", path.display());
    Ok(())
}

/// The one line `run` prints when it starts: where it writes, from which config, how
/// often, where the dashboard is, how to stop it.
fn start_line(paths: &Paths, config: &Config) -> String {
    let source = config.source.as_ref().map_or_else(|| "built-in defaults".to_owned(), |p| p.display().to_string());
    let every = humantime::format_duration(config.sampling.interval);
    let dashboard = if config.server.enabled { format!("dashboard {}; ", config.server.url()) } else { String::new() };
    format!(
        "hostwatch {}: sampling every {every} into {} (config: {source}); {dashboard}Ctrl-C or SIGTERM stops it",
        env!("CARGO_PKG_VERSION"),
        paths.dir.display()
    )
}

/// Returns at the first Ctrl-C or at `term` (SIGTERM, listened for since before).
async fn ctrl_c_or(term: &mut tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn run_agent(paths: &Paths, config: &Config) -> Result<()> {
    let dir = &paths.dir;
    private_data_dir(dir)?;
    let _lock = crate::lock::AgentLock::take(dir)?;
    let (store, moved_aside) = Store::open_or_recover(&paths.hot, crate::daemon::wall_ms() / 1000)?;
    tracing::info!(data_dir = %dir.display(), config = ?config.source, "hostwatch agent starting");
    errln!("{}", start_line(paths, config));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let shutdown = async move {
            ctrl_c_or(&mut term).await;
            tracing::info!("stopping: writing the pending batch");
        };
        crate::daemon::run(config, store, &paths.archive, moved_aside.as_deref(), shutdown)
            .await
            .context("agent failed")
    })
}
