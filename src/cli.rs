//! The command line as typed: clap definitions only, no behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent in the foreground until Ctrl-C or SIGTERM.
    Run,
    /// Show the agent's state and the newest value of every series.
    Status,
    /// List the series catalogue.
    Series,
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
