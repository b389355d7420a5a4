//! sysinfo-backed collectors (CPU, load, memory, swap, uptime), and space per mount from
//! the mount table and `statvfs`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sysinfo::{MemoryRefreshKind, System};

use super::mounts::{self, Mount};
use super::rate::TickCtx;
use super::{CollectError, Collector};
use super::{Filters, Switches};
use crate::metrics::{self as m, Sample, SeriesKey};

fn unsupported(e: sysinfo::Error) -> CollectError {
    CollectError::Unsupported(e.to_string())
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// CPU (total and per core), load averages, memory, swap and uptime from one sysinfo
/// `System`, refreshing only the parts that are switched on.
pub struct SystemStats {
    sys: System,
    on: Switches,
}

impl SystemStats {
    /// Prepares sysinfo; fails only on platforms sysinfo does not support.
    pub fn new(on: &Switches) -> Result<Self, CollectError> {
        Ok(SystemStats { sys: System::new().map_err(unsupported)?, on: on.clone() })
    }

    fn cpu(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) {
        self.sys.refresh_cpu_usage();
        // sysinfo's usage is the average since its previous refresh: across a gap that
        // would smear the gap into one value, and on the first tick there is no previous.
        if !ctx.rates_valid() {
            return;
        }
        let ts = ctx.ts();
        let total = f64::from(self.sys.global_cpu_usage());
        out.push(Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: total });
        if self.on.per_core_cpu {
            for (i, cpu) in self.sys.cpus().iter().enumerate() {
                let key = SeriesKey::with(&m::CPU_USAGE, "cpu", i.to_string());
                out.push(Sample { key, ts, value: f64::from(cpu.usage()) });
            }
        }
    }

    fn memory(&mut self, ts: i64, out: &mut Vec<Sample>) {
        let kind = MemoryRefreshKind::nothing().with_ram().with_swap();
        self.sys.refresh_memory_specifics(kind);
        let mut push = |metric, value| out.push(Sample { key: SeriesKey::plain(metric), ts, value });
        if self.on.memory {
            let (total, available) = (self.sys.total_memory(), self.sys.available_memory());
            let used = total.saturating_sub(available);
            push(&m::MEM_USED, used as f64);
            push(&m::MEM_AVAILABLE, available as f64);
            if let Some(p) = percent(used, total) {
                push(&m::MEM_USED_PCT, p);
            }
        }
        if self.on.swap {
            let (total, used) = (self.sys.total_swap(), self.sys.used_swap());
            push(&m::SWAP_USED, used as f64);
            // No swap at all is common (containers, some laptops): 0% used, not "no data".
            push(&m::SWAP_USED_PCT, percent(used, total).unwrap_or(0.0));
        }
    }
}

impl Collector for SystemStats {
    fn name(&self) -> &'static str {
        "system"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let ts = ctx.ts();
        if self.on.cpu {
            self.cpu(ctx, out);
        }
        if self.on.memory || self.on.swap {
            self.memory(ts, out);
        }
        if self.on.load {
            let load = System::load_average().map_err(unsupported)?;
            for (metric, value) in [(&m::LOAD_1, load.one), (&m::LOAD_5, load.five), (&m::LOAD_15, load.fifteen)] {
                out.push(Sample { key: SeriesKey::plain(metric), ts, value });
            }
        }
        if self.on.uptime {
            let up = System::uptime().map_err(unsupported)?;
            out.push(Sample { key: SeriesKey::plain(&m::UPTIME), ts, value: up as f64 });
        }
        Ok(())
    }
}

/// Used, free and percent-used space for each real mount.
pub struct Disks {
    /// Where the mount table is (`/proc`, or a test's fixture tree).
    proc_root: PathBuf,
    filters: Filters,
}

impl Disks {
    /// Reads the mount table under `proc_root` at each tick, with the configured exclusions.
    pub fn new(proc_root: &Path, filters: Filters) -> Self {
        Disks { proc_root: proc_root.to_owned(), filters }
    }

    /// Whether a mount is recorded; judged from the table alone, before any `statvfs`.
    fn wanted(&self, m: &Mount) -> bool {
        !self.filters.fs_exclude.contains(&m.fs) && !self.filters.mounts_exclude.iter().any(|p| p.matches(&m.point))
    }
}

impl Collector for Disks {
    fn name(&self) -> &'static str {
        "disks"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        // Re-read mounts each tick so a plugged-in drive shows up and an unplugged one goes.
        let table = mounts::read(&self.proc_root).map_err(|e| CollectError::read(&self.proc_root.join("mounts"), e))?;
        let ts = ctx.ts();
        // One device bind-mounted in several places is one disk: keep its first mount.
        let mut devices = HashSet::new();
        for m in table.iter().filter(|m| self.wanted(m)) {
            if !devices.insert(m.device.clone()) {
                continue;
            }
            let Ok((free, total)) = mounts::statvfs(Path::new(&m.point)) else { continue };
            if total == 0 {
                continue;
            }
            let used = total.saturating_sub(free);
            let key = |metric| SeriesKey::with(metric, "mount", m.point.clone());
            out.push(Sample { key: key(&m::DISK_USED), ts, value: used as f64 });
            out.push(Sample { key: key(&m::DISK_FREE), ts, value: free as f64 });
            if let Some(p) = percent(used, total) {
                out.push(Sample { key: key(&m::DISK_USED_PCT), ts, value: p });
            }
        }
        Ok(())
    }
}
