//! Collectors: each reads one part of the host and appends samples for one tick.
//!
//! Owns reading the host (sysinfo, `/proc`, `/sys`) and the per-tick rules (gaps, rates);
//! must not write anywhere or read the clock: the tick time is passed in.
//!
//! sysinfo covers what it reads portably (CPU, memory, swap, load, uptime, mount space,
//! processes). Our own readers cover what it does not expose or reads expensively on Linux:
//! per-device I/O (`/proc/diskstats`), interface counters (`/proc/net/dev`, one read instead
//! of sysinfo's eight files per interface), batteries and temperatures (`/sys/class`). Each
//! of these takes its root directory so tests feed it a fixture tree.

mod battery;
mod diskstats;
mod hwmon;
pub mod mounts;
mod netdev;
mod procs;
pub mod rate;
mod settings;
mod system;
mod worker;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

pub use battery::{Battery, discharging};
pub use diskstats::DiskIo;
pub use hwmon::Temperatures;
pub use netdev::Network;
pub use procs::TopProcesses;
pub use settings::{Filters, Host, Processes, Sampling, Switches};
pub use system::{Disks, SystemStats};

use crate::metrics::{Sample, SeriesKey};
use rate::{GAP_FACTOR, Tick, TickCtx, classify};
use worker::Worker;

/// Why a collector produced nothing this tick.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file of the host could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file had a line we do not understand.
    #[error("{path}: unexpected line {line:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending line.
        line: String,
    },
    /// sysinfo does not support this platform.
    #[error("sysinfo cannot read this host: {0}")]
    Unsupported(String),
    /// A collector's thread could not be started.
    #[error("cannot start a thread for collector {name}: {source}")]
    Spawn {
        /// The collector.
        name: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A collector did not answer within its tick's deadline (a hung mount or device).
    #[error("collector {name} did not answer within {}: skipped", humantime::format_duration(*.deadline))]
    Late {
        /// The collector.
        name: &'static str,
        /// How long the tick waited.
        deadline: Duration,
    },
    /// A collector's thread is gone (it panicked).
    #[error("collector {name} stopped: its thread panicked")]
    Stopped {
        /// The collector.
        name: &'static str,
    },
}

impl CollectError {
    fn read(path: &Path, source: std::io::Error) -> Self {
        CollectError::Read { path: path.to_owned(), source }
    }
}

/// Reads a whole small file (a `/proc` or `/sys` entry).
fn read(path: &Path) -> Result<String, CollectError> {
    std::fs::read_to_string(path).map_err(|e| CollectError::read(path, e))
}

/// The entries of a `/sys/class/...` directory, sorted; none if the class does not exist
/// (no batteries on a desktop, no sensors in a VM, another OS).
fn class_entries(dir: &Path) -> Result<Vec<PathBuf>, CollectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::read(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    Ok(paths)
}

/// One source of samples.
pub trait Collector: Send {
    /// Short stable name, for logs (`cpu`, `battery`).
    fn name(&self) -> &'static str;
    /// Appends this tick's samples to `out`.
    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError>;
}

/// Runs a set of collectors on one schedule, each on its own thread, tracking the previous
/// tick to spot gaps.
pub struct Sampler {
    /// One per collector, in the order their samples are appended.
    workers: Vec<Worker>,
    /// The largest spacing between ticks that still yields rates.
    max_elapsed_ms: i64,
    /// How long a tick waits for its collectors: half the interval, so a late one is
    /// skipped with time to spare before the next tick.
    deadline: Duration,
    /// The previous tick, Unix ms.
    prev_ms: Option<i64>,
    /// Collectors whose last run failed: their error is logged once, not every tick.
    failing: HashSet<&'static str>,
}

impl Sampler {
    /// A sampler whose ticks are `interval` apart; starts a thread per collector.
    pub fn new(collectors: Vec<Box<dyn Collector>>, interval: Duration) -> Result<Self, CollectError> {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX / GAP_FACTOR);
        let workers = collectors.into_iter().map(Worker::spawn).collect::<Result<_, _>>()?;
        Ok(Sampler {
            workers,
            max_elapsed_ms: interval_ms * GAP_FACTOR,
            deadline: interval / 2,
            prev_ms: None,
            failing: HashSet::new(),
        })
    }

    /// Samples every collector at wall-clock time `now_ms` and says how this tick relates to
    /// the previous one. A collector that fails or misses the deadline is logged and
    /// recorded; the others go on. Waits at most the deadline, never blocks the thread.
    pub async fn sample(&mut self, now_ms: i64, out: &mut Vec<Sample>) -> Tick {
        let tick = classify(self.prev_ms, now_ms, self.max_elapsed_ms);
        self.prev_ms = Some(now_ms);
        let ctx = TickCtx { now_ms, max_elapsed_ms: self.max_elapsed_ms, tick };
        let deadline = Instant::now() + self.deadline;
        // All start before any is awaited, so they run side by side within one deadline.
        let started: Vec<_> = self.workers.iter_mut().map(|w| w.start(ctx, self.deadline)).collect();
        for (worker, started) in self.workers.iter_mut().zip(started) {
            let name = worker.name();
            let outcome = match started {
                Ok(()) => worker.finish(deadline, self.deadline).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(samples) => {
                    out.extend(samples);
                    if self.failing.remove(name) {
                        tracing::info!(collector = name, "collector recovered");
                    }
                }
                Err(e) => {
                    if self.failing.insert(name) {
                        tracing::warn!(collector = name, "collector failed: {e}");
                    }
                    // Recorded like any sample, so the hourly check can count failures.
                    let key = SeriesKey::with(&crate::metrics::COLLECTOR_ERRORS, "name", name);
                    out.push(Sample { key, ts: ctx.ts(), value: 1.0 });
                }
            }
        }
        tick
    }
}

/// The host's name, as notices and exports label it (`localhost` if the OS will not say).
pub fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "localhost".to_owned())
}

/// The collectors for the system interval, as switched on, leaving out what `filters` say,
/// reading the trees under `host`.
pub fn system_collectors(
    on: &Switches,
    filters: &Filters,
    host: &Host,
) -> Result<Vec<Box<dyn Collector>>, CollectError> {
    let mut list: Vec<Box<dyn Collector>> = vec![Box::new(SystemStats::new(on)?)];
    if on.disks {
        list.push(Box::new(Disks::new(&host.proc_root, filters.clone())));
    }
    if on.disk_io {
        let exclude = filters.devices_exclude.clone();
        list.push(Box::new(DiskIo::new(&host.proc_root, &host.sys_root, exclude)));
    }
    if on.network {
        let exclude = filters.interfaces_exclude.clone();
        list.push(Box::new(Network::new(&host.proc_root, exclude)));
    }
    if on.temperatures {
        list.push(Box::new(Temperatures::new(&host.sys_root)));
    }
    if on.battery {
        list.push(Box::new(Battery::new(&host.sys_root)));
    }
    Ok(list)
}

/// The process-table sampler, if enabled: it runs on its own, slower interval.
pub fn process_sampler(p: &Processes) -> Result<Option<Sampler>, CollectError> {
    if !p.enabled {
        return Ok(None);
    }
    let top: Vec<Box<dyn Collector>> = vec![Box::new(TopProcesses::new(p.top)?)];
    Sampler::new(top, p.interval).map(Some)
}
