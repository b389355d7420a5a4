//! hostwatch: a lightweight per-host performance agent.
//!
//! Module map. It is also the layering: each module uses only those listed before it
//! (`tests/layers.rs` holds every file to that), so there is no import cycle.
//! - [`lock`]: one agent per data dir, and whether one is running.
//! - [`sql`]: user SQL at the door: exactly one statement, its first keyword, result cells.
//! - [`units`]: durations in seconds and milliseconds, instants as RFC 3339, times as typed.
//! - [`metrics`]: the metric catalogue and the [`metrics::Sample`] every collector produces.
//! - [`report`]: a check's report, its findings and the baselines it keeps.
//! - [`rules`]: alert rules and the engine that turns samples into alert changes.
//! - [`collect`]: collectors reading the host (sysinfo, `/proc`, `/sys`); rates and gaps.
//! - [`probe`]: probes of applications (HTTP, AI models, databases): one timed attempt, judged.
//! - [`load`]: load and stress tests: one run against a target, measured and judged.
//! - [`store`]: the hot store, the only door to SQLite.
//! - [`archive`]: the DuckDB archive, the only door to DuckDB: rollup, tiers, reads.
//! - [`trend`]: a metric over time from both stores, joined at the archive's watermark.
//! - [`backtest`]: stored history replayed through the rules: what they would have announced.
//! - [`checks`]: the performance checklist: cron schedules and the jobs.
//! - [`doctor`]: checks of what commonly goes wrong on a host, each with a fix.
//! - [`notify`]: notices, the desktop and webhook channels, the outbox delivery loop.
//! - [`server`]: the local dashboard, its JSON API, `/metrics` and `/health` (read-only).
//! - [`config`]: the TOML file, validated once into each domain's settings.
//! - [`daemon`]: the agent loop: schedules, the writer thread, shutdown, the wall clock.
//! - [`service`]: the systemd units and launchd agent in `packaging/`, and installing them.
//! - [`cli`]: the command line as typed (clap).
//! - [`app`]: the binary's body: runs a command and prints its result.
//!
//! Each domain module owns its validated settings (`collect::Sampling`, `store::Settings`,
//! `archive::Settings`, `rules::Settings`, `notify::Settings`, `checks::Settings`,
//! `probe::Settings`, `load::Settings`, `server::Settings`);
//! [`config`] translates the file into them.

pub mod app;
pub mod archive;
pub mod backtest;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod load;
pub mod lock;
pub mod metrics;
pub mod notify;
pub mod probe;
pub mod report;
pub mod rules;
pub mod server;
pub mod service;
pub mod sql;
pub mod store;
pub mod trend;
pub mod units;
