//! Per-device disk I/O rates from `/proc/diskstats`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glob::Pattern;

use super::rate::{CounterSet, TickCtx};
use super::{CollectError, Collector, read};
use crate::metrics::{self as m, Sample, SeriesKey};

/// `/proc/diskstats` counts in 512-byte sectors whatever the device's real sector size.
const SECTOR: u64 = 512;

/// Byte counters of one block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Kernel name (`nvme0n1`, `sda`).
    pub name: String,
    /// Bytes read since boot.
    pub read_bytes: u64,
    /// Bytes written since boot.
    pub written_bytes: u64,
}

/// Parses `/proc/diskstats` text.
pub fn parse(text: &str, path: &Path) -> Result<Vec<DeviceCounters>, CollectError> {
    let bad = |line: &str| CollectError::Parse { path: path.to_owned(), line: line.to_owned() };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| bad(line));
            Ok(DeviceCounters {
                name: f.get(2).ok_or_else(|| bad(line))?.to_string(),
                read_bytes: num(5)? * SECTOR,
                written_bytes: num(9)? * SECTOR,
            })
        })
        .collect()
}

/// Read and write bytes per second for each whole block device (partitions are left out:
/// their I/O is already in their device's).
pub struct DiskIo {
    diskstats: PathBuf,
    sys_block: PathBuf,
    exclude: Vec<Pattern>,
    /// Whether a name is a whole device, learned once per name.
    whole: HashMap<String, bool>,
    counters: CounterSet,
}

impl DiskIo {
    /// Reads `<proc_root>/diskstats`; whole devices are those in `<sys_root>/block`.
    pub fn new(proc_root: &Path, sys_root: &Path, exclude: Vec<Pattern>) -> Self {
        DiskIo {
            diskstats: proc_root.join("diskstats"),
            sys_block: sys_root.join("block"),
            exclude,
            whole: HashMap::new(),
            counters: CounterSet::default(),
        }
    }

    fn wanted(&mut self, name: &str) -> bool {
        if self.exclude.iter().any(|p| p.matches(name)) {
            return false;
        }
        let sys_block = &self.sys_block;
        *self.whole.entry(name.to_owned()).or_insert_with(|| sys_block.join(name).exists())
    }
}

impl Collector for DiskIo {
    fn name(&self) -> &'static str {
        "disk_io"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let devices = parse(&read(&self.diskstats)?, &self.diskstats)?;
        for d in devices {
            if !self.wanted(&d.name) {
                continue;
            }
            let read_key = SeriesKey::with(&m::DISKIO_READ, "device", d.name.clone());
            self.counters.observe(ctx, read_key, d.read_bytes, out);
            let write_key = SeriesKey::with(&m::DISKIO_WRITE, "device", d.name);
            self.counters.observe(ctx, write_key, d.written_bytes, out);
        }
        self.counters.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sectors_into_bytes() {
        let text = "   8       0 sda 100 0 2048 10 50 0 4096 20 0 30 30 0 0 0 0\n \
                    8       1 sda1 10 0 8 1 5 0 16 2 0 3 3\n";
        let got = parse(text, Path::new("diskstats")).unwrap();
        assert_eq!(got[0], DeviceCounters { name: "sda".into(), read_bytes: 2048 * 512, written_bytes: 4096 * 512 });
        assert_eq!(got[1].name, "sda1");
    }

    #[test]
    fn a_short_line_is_a_parse_error_naming_the_line() {
        let err = parse("8 0 sda 1 2\n", Path::new("/proc/diskstats")).unwrap_err();
        assert_eq!(err.to_string(), "/proc/diskstats: unexpected line \"8 0 sda 1 2\"");
    }
}
