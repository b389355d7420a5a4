//! Per-interface network rates from `/proc/net/dev`.

use std::path::{Path, PathBuf};

use glob::Pattern;

use super::rate::{CounterSet, TickCtx};
use super::{CollectError, Collector, read};
use crate::metrics::{self as m, Sample, SeriesKey};

/// Counters of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceCounters {
    /// Interface name (`eth0`, `wlp2s0`).
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Transmit errors.
    pub tx_errors: u64,
}

/// Parses `/proc/net/dev` text (two header lines, then `name: 16 counters`).
pub fn parse(text: &str, path: &Path) -> Result<Vec<IfaceCounters>, CollectError> {
    let bad = |line: &str| CollectError::Parse { path: path.to_owned(), line: line.to_owned() };
    text.lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, rest) = line.split_once(':').ok_or_else(|| bad(line))?;
            let f: Vec<u64> =
                rest.split_whitespace().map(str::parse).collect::<Result<_, _>>().map_err(|_| bad(line))?;
            if f.len() < 16 {
                return Err(bad(line));
            }
            Ok(IfaceCounters {
                name: name.trim().to_owned(),
                rx_bytes: f[0],
                rx_errors: f[2],
                tx_bytes: f[8],
                tx_errors: f[10],
            })
        })
        .collect()
}

/// Bytes and errors per second, in and out, for each interface not excluded.
pub struct Network {
    path: PathBuf,
    exclude: Vec<Pattern>,
    counters: CounterSet,
}

impl Network {
    /// Reads `<proc_root>/net/dev`.
    pub fn new(proc_root: &Path, exclude: Vec<Pattern>) -> Self {
        Network { path: proc_root.join("net/dev"), exclude, counters: CounterSet::default() }
    }
}

impl Collector for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let ifaces = parse(&read(&self.path)?, &self.path)?;
        for i in ifaces.into_iter().filter(|i| !self.exclude.iter().any(|p| p.matches(&i.name))) {
            for (metric, value) in [
                (&m::NET_RX, i.rx_bytes),
                (&m::NET_TX, i.tx_bytes),
                (&m::NET_RX_ERRORS, i.rx_errors),
                (&m::NET_TX_ERRORS, i.tx_errors),
            ] {
                self.counters.observe(ctx, SeriesKey::with(metric, "iface", i.name.clone()), value, out);
            }
        }
        self.counters.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_interface_counters() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n \
    lo: 1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  \
  eth0: 5000      50    3    0    0     0          0         0     7000      70    4    0    0     0       0          0\n";
        let got = parse(text, Path::new("dev")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            IfaceCounters { name: "eth0".into(), rx_bytes: 5000, rx_errors: 3, tx_bytes: 7000, tx_errors: 4 }
        );
    }
}
