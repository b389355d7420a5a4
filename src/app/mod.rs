//! The binary's body: turns a parsed command line into actions and output.
//!
//! This is the edge of the program, so it uses `anyhow` for context; the modules it calls
//! return typed errors. It must not hold logic that a library module should own.

mod show;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use directories::ProjectDirs;

use crate::cli::{Cli, Command, ConfigAction};
use crate::config::{Config, DEFAULT_TOML};
use crate::store::{self, Store};

/// Whether a failure was the user's input (exit 2) or the program's work (exit 1).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<crate::config::ConfigError>()) { 2 } else { 1 }
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

/// Runs one command.
pub fn run(cli: &Cli) -> Result<()> {
    init_logging(cli.verbose);
    let load = || Config::discover(cli.config.as_deref(), platform_config_file().as_deref());
    match &cli.command {
        Command::Run => run_agent(cli, load()?),
        Command::Status => {
            let config = load()?;
            show::status(&open_read(cli, &config)?, &config)
        }
        Command::Series => show::series(&open_read(cli, &load()?)?),
        Command::Config { action: ConfigAction::Default } => {
            print!("{DEFAULT_TOML}");
            Ok(())
        }
        Command::Config { action: ConfigAction::Check { file } } => {
            check_config(file.as_deref().or(cli.config.as_deref()))
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    // No colour codes when stderr is a file or the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_max_level(level).with_ansi(ansi).with_writer(std::io::stderr).init();
}

fn check_config(file: Option<&Path>) -> Result<()> {
    let path = match file {
        Some(path) => path.to_owned(),
        None => platform_config_file().filter(|p| p.exists()).context("no config file to check: pass FILE")?,
    };
    Config::load(&path)?;
    println!("{}: ok", path.display());
    Ok(())
}

fn open_read(cli: &Cli, config: &Config) -> Result<Store> {
    Ok(Store::open_read_only(&data_dir(cli, config)?.join(store::FILE_NAME))?)
}

fn run_agent(cli: &Cli, config: Config) -> Result<()> {
    let dir = data_dir(cli, &config)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create data dir {}", dir.display()))?;
    let store = Store::open(&dir.join(store::FILE_NAME))?;
    tracing::info!(data_dir = %dir.display(), config = ?config.source, "hostwatch agent starting");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("stopping: writing the pending batch");
        };
        crate::daemon::run(&config, store, shutdown).await.context("agent failed")
    })
}
