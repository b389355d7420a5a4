//! Hot-store ingest rate: samples per second through `Store::write`, the path the agent's
//! writer thread uses, on a real SQLite file in a temp dir.
//!
//!     cargo bench --bench ingest
//!
//! 60 series (CPU, memory, per-mount, per-interface; the default set of a small laptop),
//! values of realistic magnitude, several batch sizes side by side in one run. The temp
//! dir is on the real disk: WAL checkpoints and their fsyncs are part of the cost.

use std::time::Instant;

use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Store};

const T0: i64 = 1_800_000_000;
const TOTAL: usize = 1_000_000;
/// Rounds of every batch size, interleaved so machine noise hits all sizes alike.
const ROUNDS: usize = 5;
const BATCHES: [usize; 4] = [60, 600, 1200, 6000];

fn series() -> Vec<SeriesKey> {
    let mut keys = Vec::new();
    for cpu in ["total", "0", "1", "2", "3", "4", "5", "6", "7"] {
        keys.push(SeriesKey::with(&m::CPU_USAGE, "cpu", cpu));
    }
    for metric in
        [&m::LOAD_1, &m::LOAD_5, &m::LOAD_15, &m::MEM_USED, &m::MEM_AVAILABLE, &m::MEM_USED_PCT, &m::SWAP_USED]
    {
        keys.push(SeriesKey::plain(metric));
    }
    for mount in ["/", "/home", "/boot", "/mnt/data"] {
        for metric in [&m::DISK_USED, &m::DISK_FREE, &m::DISK_USED_PCT] {
            keys.push(SeriesKey::with(metric, "mount", mount));
        }
    }
    for iface in ["eth0", "wlan0", "tailscale0", "enx0"] {
        for metric in [&m::NET_RX, &m::NET_TX, &m::NET_RX_ERRORS, &m::NET_TX_ERRORS] {
            keys.push(SeriesKey::with(metric, "iface", iface));
        }
    }
    while keys.len() < 60 {
        let n = keys.len();
        keys.push(SeriesKey::labelled(&m::TEMP, vec![("sensor", "coretemp".into()), ("label", format!("Core {n}"))]));
    }
    keys
}

/// A value of the right magnitude for the metric, varying with time.
fn value(key: &SeriesKey, t: i64) -> f64 {
    let wobble = ((t * 7919) % 1000) as f64 / 1000.0;
    match key.metric.unit {
        "%" => 100.0 * wobble,
        "bytes" => 8e9 + 1e8 * wobble,
        "bytes/s" => 2e6 * wobble,
        _ => 40.0 + 20.0 * wobble,
    }
}

fn run(batch_size: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hot.sqlite");
    let mut store = Store::open(&path).expect("store opens");
    let keys = series();
    let mut written = 0;
    let mut t = T0;
    // Only the write is timed: building the batch is the collectors' cost, not the store's.
    let mut busy = std::time::Duration::ZERO;
    while written < TOTAL {
        let mut batch = Batch::default();
        while batch.samples.len() < batch_size {
            for key in &keys {
                batch.samples.push(Sample { key: key.clone(), ts: t, value: value(key, t) });
            }
            t += 1;
        }
        written += batch.samples.len();
        let start = Instant::now();
        store.write(&batch, t, 0).expect("write");
        busy += start.elapsed();
    }
    written as f64 / busy.as_secs_f64()
}

fn main() {
    let mut rates = vec![Vec::new(); BATCHES.len()];
    for _ in 0..ROUNDS {
        for (i, &batch) in BATCHES.iter().enumerate() {
            rates[i].push(run(batch));
        }
    }
    println!("| batch (samples per transaction) | samples/s, median of {ROUNDS} (min-max) |");
    println!("|---|---|");
    for (i, batch) in BATCHES.iter().enumerate() {
        let r = &mut rates[i];
        r.sort_by(f64::total_cmp);
        let (median, min, max) = (r[r.len() / 2] / 1e6, r[0] / 1e6, r[r.len() - 1] / 1e6);
        println!("| {batch} | {median:.2} M ({min:.2}-{max:.2}) |");
    }
}
