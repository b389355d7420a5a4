//! The collectors' validated settings, translated from the file by `config`.

use std::path::PathBuf;
use std::time::Duration;

use glob::Pattern;

/// `[sampling]`: the system sampling schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// Time between system samples.
    pub interval: Duration,
    /// Time between writes of the pending batch to the store.
    pub flush_interval: Duration,
}

/// `[processes]`: top-process sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct Processes {
    /// Whether the process table is sampled at all.
    pub enabled: bool,
    /// Time between process-table samples.
    pub interval: Duration,
    /// How many processes each ranking (CPU, memory) keeps.
    pub top: usize,
}

/// `[collectors]`: one switch per metric family.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Switches {
    /// Total CPU %.
    pub cpu: bool,
    /// Per-core CPU % (needs `cpu`).
    pub per_core_cpu: bool,
    /// Load averages.
    pub load: bool,
    /// Memory used and available.
    pub memory: bool,
    /// Swap used.
    pub swap: bool,
    /// Host uptime.
    pub uptime: bool,
    /// Space per mount.
    pub disks: bool,
    /// I/O per block device.
    pub disk_io: bool,
    /// Traffic and errors per interface.
    pub network: bool,
    /// Hardware temperatures.
    pub temperatures: bool,
    /// Laptop batteries.
    pub battery: bool,
}

/// `[filters]`: what is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    /// Mount points not recorded.
    pub mounts_exclude: Vec<Pattern>,
    /// File system types not recorded.
    pub fs_exclude: Vec<String>,
    /// Block devices not recorded.
    pub devices_exclude: Vec<Pattern>,
    /// Interfaces not recorded.
    pub interfaces_exclude: Vec<Pattern>,
}

/// `[host]`: where the host's trees are.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The host's `/proc`.
    pub proc_root: PathBuf,
    /// The host's `/sys`.
    pub sys_root: PathBuf,
}
