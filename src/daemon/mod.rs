//! The agent: runs the samplers on their schedules, hands batches to the store's writer
//! thread, and owns shutdown.
//!
//! Owns scheduling and the wall clock (the only place that reads it); must not contain
//! collection or SQL: those are behind [`crate::collect`] and [`crate::store`].
//!
//! Concurrency model. One tokio runtime thread runs the agent loop: the ticks, the rule
//! engine, the timers of every schedule, signals. It never waits on a file, a lock or the
//! network; everything that can is elsewhere, and the loop only hands work over:
//! - each collector has a thread of its own ([`crate::collect::Sampler`]); a tick waits for
//!   them at most half its interval, and one that misses it is skipped and recorded
//!   (`agent.collector_errors`) while the others go on;
//! - the store writer thread ([`writer`]) is the only long-lived writer of the hot store:
//!   sample batches at every flush, alert changes and their notices as they happen, in the
//!   order sent, kept in memory while the disk is full;
//! - the outbox loops are tasks on the runtime thread whose store calls run on tokio's
//!   blocking pool ([`crate::store::Shared`]); their HTTP and D-Bus calls are async;
//! - probes ([`probing`]) are tasks on the runtime thread that wait only on sockets, a few
//!   at once, each cut off at its timeout; their results come back to the loop;
//! - the dashboard server ([`crate::server`]) answers as tasks on the runtime thread; its
//!   store and archive reads run on the blocking pool, and its live values come from
//!   [`Live`], which the loop updates under a lock held only for a map insert;
//! - rollups and checklist jobs run on the blocking pool, with the checklist's claims and
//!   outcomes; the loop keeps their handles, so a step cut short by another branch of the
//!   `select!` resumes where it was.
//!
//! A tick that still comes late (the process stopped, the CPU starved) is skipped rather
//! than taken in a burst, and counted (`agent.ticks_skipped`).

mod alerting;
mod checklist;
mod pages;
mod probing;
mod rollups;
mod writer;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

use crate::archive::Policy;
use crate::collect::rate::{GAP_FACTOR, Tick};
use crate::collect::{self, CollectError, Sampler};
use crate::config::Config;
use crate::metrics::{Sample, SeriesKey, TICKS_SKIPPED};
use crate::server::{Live, Server};
use crate::store::{Batch, Gap, Store, StoreError};
use crate::units::secs;
use alerting::Alerting;
use checklist::Checklist;
use probing::Probing;
use rollups::Rollups;
use writer::{Msg, write_loop};

/// Why the agent stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A collector could not be set up.
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// The store refused a write that never succeeded before shutdown.
    #[error("{unwritten} samples could not be written: {source}")]
    Unwritten {
        /// How many samples were lost at exit.
        unwritten: usize,
        /// The last store error.
        source: StoreError,
    },
    /// The store could not record the agent's start or stop.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer thread died.
    #[error("the store writer thread panicked")]
    WriterPanicked,
}

/// Wall-clock time in Unix milliseconds: the only clock the agent reads.
pub fn wall_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Drops the agent's resident pages of code and constants after `what` ran (see `pages.rs`); a blocking
/// call (it reads `/proc` and trims the heap), off the agent loop.
pub fn give_back_code(what: &str) {
    let bytes = pages::give_back_code();
    tracing::debug!(bytes, "code pages given back after {what}");
}

/// A schedule whose first tick is one period from now.
fn every(period: Duration, first_now: bool) -> Interval {
    let start = if first_now { Instant::now() } else { Instant::now() + period };
    let mut i = interval_at(start, period);
    // After a sleep or a SIGSTOP, take one sample on wake rather than a burst of catch-up
    // samples that would all carry the same wall-clock second.
    i.set_missed_tick_behavior(MissedTickBehavior::Skip);
    i
}

/// Records how many ticks of a schedule passed while the tick due `at` waited for the
/// loop: the schedule skips them, this says so.
fn count_skipped(at: Instant, period: Duration, name: &'static str, now_ms: i64, out: &mut Vec<Sample>) {
    let late = Instant::now().saturating_duration_since(at);
    let skipped = late.as_millis() / period.as_millis().max(1);
    if skipped > 0 {
        let key = SeriesKey::with(&TICKS_SKIPPED, "name", name);
        out.push(Sample { key, ts: now_ms.div_euclid(1000), value: skipped as f64 });
    }
}

/// The report that says the hot store was replaced: its history is in `aside`, not lost.
fn recovered(hot: &Path, aside: &Path, now: i64) -> crate::report::Report {
    use crate::report::{Finding, Level, Report};
    let finding = Finding {
        level: Level::Critical,
        subject: "hot store".into(),
        text: format!(
            "{} was not a readable SQLite database: moved aside to {} and a new store started",
            hot.display(),
            aside.display()
        ),
    };
    Report::new("hot_store", now, "hot store replaced", vec![finding], &[])
}

/// New samples go to the rules and to the server's live view; `system` marks the system
/// schedule's tick, whose age `/health` judges.
fn seen(alerting: &mut Alerting, live: &Live, samples: &[Sample], now_ms: i64, system: bool) {
    alerting.observe(samples, now_ms);
    live.observe(samples, now_ms, system);
}

/// Starts the dashboard server if the config wants it. A failure (the port is taken) is
/// logged and the agent goes on without it: sampling matters more than the page.
async fn serve(config: &Config, hot: &Path, archive: &Path, live: &Arc<Live>) -> Option<Server> {
    if !config.server.enabled {
        return None;
    }
    let ctx = crate::server::Context {
        hot: hot.to_owned(),
        archive: config.archive.enabled.then(|| (archive.to_owned(), Policy::from(&config.archive))),
        rules: config.alerts.rules.clone(),
        probes: config.probes.probes.clone(),
        host: collect::host_name(),
        interval: config.sampling.interval,
        flush_interval: config.sampling.flush_interval,
        live: live.clone(),
        cores: crate::rules::logical_cpus(),
        now: wall_ms,
    };
    match Server::start(&config.server, ctx).await {
        Ok(s) => {
            tracing::info!("dashboard at http://{}/", s.addr);
            Some(s)
        }
        Err(e) => {
            tracing::error!("{e}: no dashboard, /metrics or /health; the agent goes on without them");
            None
        }
    }
}

/// Runs the agent until `shutdown` completes, then writes the pending batch and returns.
/// Aged samples move to the archive at `archive` if the config enables it. `moved_aside`
/// names a corrupt hot store that was replaced at start: announced as critical.
pub async fn run(
    config: &Config,
    mut store: Store,
    archive: &Path,
    moved_aside: Option<&Path>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let interval = config.sampling.interval;
    // One start time for the run's record and the rules' grace: a replay starts there.
    let started = wall_ms();
    store.begin_run(
        started.div_euclid(1000),
        secs(interval) * GAP_FACTOR,
        std::process::id(),
        env!("CARGO_PKG_VERSION"),
    )?;
    // The config, the store's opening and its migrations ran once.
    give_back_code("configuration");
    let collectors = collect::system_collectors(&config.collectors, &config.filters, &config.host)?;
    let mut system = Sampler::new(collectors, interval)?;
    let mut procs = collect::process_sampler(&config.processes)?;
    let proc_interval = config.processes.interval;
    let retention = secs(config.store.retention);
    let a = &config.archive;
    let mut rollups = a
        .enabled
        .then(|| Rollups::new(store.path().to_owned(), archive.to_owned(), Policy::from(a), a.rollup_interval));
    let (tx, rx) = mpsc::channel();
    let mut alerting = Alerting::start(config, store.path(), tx.clone(), started)?;
    if let Some(aside) = moved_aside {
        alerting.announce(&recovered(store.path(), aside, wall_ms() / 1000), wall_ms());
    }
    let mut checklist = if config.checks.enabled && !config.checks.jobs.is_empty() {
        Some(Checklist::new(config.checks.clone(), config.checks_context(archive, wall_ms), store.path())?)
    } else {
        None
    };
    if a.enabled {
        store.keep_unarchived();
    }
    let mut probing = Probing::start(&config.probes);
    let live = Arc::new(Live::new(wall_ms()));
    // A series silent for three of the longest schedule's periods is no longer current.
    let longest = config.probes.probes.iter().map(crate::probe::Probe::longest_period);
    let quiet = 3 * secs(longest.fold(interval.max(proc_interval), Duration::max));
    let server = serve(config, store.path(), archive, &live).await;
    let wakes = alerting.wakes();
    let writer_live = live.clone();
    let writer = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || write_loop(store, &rx, retention, &wakes, &writer_live))
        .map_err(|_| DaemonError::WriterPanicked)?;

    // The set-up (collectors, rules, jobs, probes' clients, the server) ran once.
    give_back_code("the set-up");
    let mut sys_tick = every(interval, true);
    let mut proc_tick = every(proc_interval, true);
    let mut flush_tick = every(config.sampling.flush_interval, false);
    let mut batch = Batch::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            at = sys_tick.tick() => {
                let (now, before) = (wall_ms(), batch.samples.len());
                count_skipped(at, interval, "system", now, &mut batch.samples);
                if let Tick::Gap { from_ms, to_ms } = system.sample(now, &mut batch.samples).await {
                    tracing::info!(from_ms, to_ms, "wall clock jumped: recording a gap");
                    batch.gaps.push(Gap { start_ts: from_ms / 1000, end_ts: to_ms / 1000, reason: "clock jump".into() });
                    alerting.resumed(now);
                }
                tracing::debug!(samples = batch.samples.len() - before, "system tick");
                seen(&mut alerting, &live, &batch.samples[before..], now, true);
            }
            at = proc_tick.tick(), if procs.is_some() => {
                if let Some(p) = procs.as_mut() {
                    let (now, before) = (wall_ms(), batch.samples.len());
                    count_skipped(at, proc_interval, "processes", now, &mut batch.samples);
                    p.sample(now, &mut batch.samples).await;
                    seen(&mut alerting, &live, &batch.samples[before..], now, false);
                }
            }
            Some(done) = async { match probing.as_mut() { Some(p) => p.next().await, None => None } }, if probing.is_some() => {
                let before = batch.samples.len();
                batch.samples.extend(done.samples);
                batch.probes.push(done.result);
                seen(&mut alerting, &live, &batch.samples[before..], wall_ms(), false);
            }
            () = async { if let Some(r) = rollups.as_mut() { r.step().await } }, if rollups.is_some() => {}
            report = async { match checklist.as_mut() { Some(c) => c.step().await, None => None } }, if checklist.is_some() => {
                if let Some(report) = report {
                    alerting.announce(&report, wall_ms());
                    tokio::task::spawn_blocking(|| give_back_code("a checklist job"));
                }
            }
            _ = flush_tick.tick() => {
                let now = wall_ms() / 1000;
                live.forget_before(now - quiet);
                if tx.send(Msg::Write { batch: std::mem::take(&mut batch), now }).is_err() {
                    break;
                }
                // What stays resident is the code of one flush interval: the set-up's, a
                // probe's first client, an hourly job's go with the next write.
                tokio::task::spawn_blocking(|| give_back_code("a flush interval"));
            }
        }
    }
    if let Some(p) = probing {
        p.shutdown().await;
    }
    if let Some(s) = server {
        s.shutdown().await;
    }
    // The pending batch goes to the writer first, so a slow rollup cannot hold it back.
    // If the writer is gone these sends fail; its join below reports why.
    let _ = tx.send(Msg::Write { batch, now: wall_ms() / 1000 });
    if let Some(r) = rollups {
        r.shutdown().await;
    }
    if let Some(report) = async { checklist?.shutdown().await }.await {
        alerting.announce(&report, wall_ms());
    }
    let _ = tx.send(Msg::Stop { now: wall_ms() / 1000 });
    drop(tx);
    // The writer ends when the last sender, the alerting's, is gone.
    alerting.shutdown().await;
    writer.join().map_err(|_| DaemonError::WriterPanicked)?
}
