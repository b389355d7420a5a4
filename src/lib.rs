//! hostwatch: a lightweight per-host performance agent.
//!
//! Module map, in the order data flows:
//! - [`lock`]: one agent per data dir, and whether one is running.
//! - [`sql`]: user SQL at the door: exactly one statement, and its first keyword.
//! - [`config`]: the TOML file, validated once into a [`config::Config`].
//! - [`metrics`]: the metric catalogue and the [`metrics::Sample`] every collector produces.
//! - [`collect`]: collectors reading the host (sysinfo, `/proc`, `/sys`); rates and gaps.
//! - [`store`]: the hot store, the only door to SQLite.
//! - [`archive`]: the DuckDB archive, the only door to DuckDB: rollup, tiers, reads.
//! - [`rules`]: alert rules and the engine that turns samples into alert changes.
//! - [`notify`]: notices, the desktop and webhook channels, the outbox delivery loop.
//! - [`checks`]: the performance checklist: cron schedules, the jobs and their reports.
//! - [`trend`]: a metric over time from both stores, joined at the archive's watermark.
//! - [`daemon`]: the agent loop: schedules, the writer thread, shutdown, the wall clock.
//! - [`doctor`]: checks of what commonly goes wrong on a host, each with a fix.
//! - [`service`]: the systemd units and launchd agent in `packaging/`, and installing them.
//! - [`cli`]: the command line as typed (clap).
//! - [`app`]: the binary's body: runs a command and prints its result.

pub mod app;
pub mod archive;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod lock;
pub mod metrics;
pub mod notify;
pub mod rules;
pub mod service;
pub mod sql;
pub mod store;
pub mod trend;
