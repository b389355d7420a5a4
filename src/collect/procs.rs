//! The top processes by CPU and by memory, from sysinfo's process table.
//!
//! Reading every process costs about 20 µs each (the agent's largest cost), so this runs on
//! its own, slower interval.

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

use super::rate::TickCtx;
use super::{CollectError, Collector};
use crate::metrics::{self as m, Sample, SeriesKey};

/// Samples CPU % and RSS for the union of the top `n` by CPU and the top `n` by RSS.
pub struct TopProcesses {
    sys: System,
    n: usize,
}

/// One process as ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// Short name (`comm`).
    pub name: String,
    /// CPU since the previous refresh, 100 = one core.
    pub cpu: f64,
    /// Resident set size in bytes.
    pub rss: u64,
}

/// The union of the `n` busiest and the `n` largest processes, busiest first.
pub fn top(mut procs: Vec<ProcStat>, n: usize) -> Vec<ProcStat> {
    procs.sort_by(|a, b| b.rss.cmp(&a.rss).then(a.pid.cmp(&b.pid)));
    let by_rss: Vec<u32> = procs.iter().take(n).map(|p| p.pid).collect();
    procs.sort_by(|a, b| b.cpu.total_cmp(&a.cpu).then(a.pid.cmp(&b.pid)));
    let mut keep: Vec<ProcStat> = Vec::with_capacity(2 * n);
    for (rank, p) in procs.into_iter().enumerate() {
        if rank < n || by_rss.contains(&p.pid) {
            keep.push(p);
        }
    }
    keep
}

impl TopProcesses {
    /// Prepares sysinfo's process table.
    pub fn new(n: usize) -> Result<Self, CollectError> {
        let sys = System::new().map_err(|e| CollectError::Unsupported(e.to_string()))?;
        Ok(TopProcesses { sys, n })
    }
}

impl Collector for TopProcesses {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        // Threads are left out: they share their process's memory and would crowd the ranking.
        let kind = ProcessRefreshKind::nothing().with_cpu().with_memory().without_tasks();
        self.sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        // CPU % is relative to the previous refresh: meaningless on the first tick and
        // smeared across a gap. Memory is a level and always valid.
        let cpu_valid = ctx.rates_valid();
        let procs = self
            .sys
            .processes()
            .iter()
            // Kernel threads and zombies have no memory; they are not what a user looks for.
            .filter(|(_, p)| p.memory() > 0)
            .map(|(pid, p)| ProcStat {
                pid: pid.as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cpu: if cpu_valid { f64::from(p.cpu_usage()) } else { 0.0 },
                rss: p.memory(),
            })
            .collect();
        let ts = ctx.ts();
        for p in top(procs, self.n) {
            let key = |metric| SeriesKey::labelled(metric, vec![("pid", p.pid.to_string()), ("name", p.name.clone())]);
            if cpu_valid {
                out.push(Sample { key: key(&m::PROC_CPU), ts, value: p.cpu });
            }
            out.push(Sample { key: key(&m::PROC_RSS), ts, value: p.rss as f64 });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, cpu: f64, rss: u64) -> ProcStat {
        ProcStat { pid, name: format!("p{pid}"), cpu, rss }
    }

    #[test]
    fn top_is_the_union_of_busiest_and_largest() {
        let procs = vec![p(1, 50.0, 10), p(2, 1.0, 900), p(3, 30.0, 20), p(4, 0.0, 5), p(5, 0.5, 800)];
        let pids: Vec<u32> = top(procs, 2).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![1, 3, 2, 5]);
    }

    #[test]
    fn top_of_fewer_processes_than_n_keeps_them_all_once() {
        let pids: Vec<u32> = top(vec![p(7, 1.0, 1)], 5).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![7]);
    }
}
