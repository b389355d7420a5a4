//! A laptop's default series at 1 s, with signals of realistic shape and precision, and the
//! times and rollup policy the archive benchmarks share (`#[path]`-included by each).

use hostwatch::archive::Policy;
use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Store};

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;
/// A UTC midnight, so a day of samples is one complete archive day.
pub const T0: i64 = 1_800_000_000 - 1_800_000_000 % DAY;

/// Writes hour `hour` (counted from `T0`) of 1 s samples from `source` to `store`;
/// returns how many it wrote.
pub fn write_hour(store: &mut Store, hour: i64, source: &mut dyn FnMut(i64, &mut Vec<Sample>)) -> usize {
    let mut batch = Batch::default();
    let end = T0 + (hour + 1) * HOUR;
    for ts in end - HOUR..end {
        source(ts, &mut batch.samples);
    }
    store.write(&batch, end, 0).expect("write");
    batch.samples.len()
}

/// No retention: the benchmarks measure everything they wrote.
pub fn policy(hot_window: i64) -> Policy {
    Policy { hot_window, chunk: HOUR, raw_retention: None, minute_retention: None, hour_retention: None }
}

/// A laptop's default series with signals of realistic shape and precision: noisy CPU,
/// smooth load, slowly moving memory and disks, bursty I/O, sensors, a battery, uptime.
pub struct Laptop {
    rng: fastrand::Rng,
    cpu: Vec<f64>,
    mem: f64,
    disk: Vec<f64>,
    battery: f64,
}

impl Laptop {
    pub fn new() -> Laptop {
        Laptop {
            rng: fastrand::Rng::with_seed(7),
            cpu: vec![10.0; 9],
            mem: 6e9,
            disk: vec![2e11, 5e10, 1e11],
            battery: 100.0,
        }
    }

    pub fn tick(&mut self, ts: i64, out: &mut Vec<Sample>) {
        let r = &mut self.rng;
        let mut push = |key: SeriesKey, value: f64| out.push(Sample { key, ts, value });
        for (i, c) in self.cpu.iter_mut().enumerate() {
            *c = (*c + (r.f64() - 0.5) * 8.0).clamp(0.0, 100.0);
            let cpu = if i == 0 { "total".to_owned() } else { (i - 1).to_string() };
            push(SeriesKey::with(&m::CPU_USAGE, "cpu", cpu), *c);
        }
        let load = self.cpu[0] / 25.0;
        push(SeriesKey::plain(&m::LOAD_1), load);
        push(SeriesKey::plain(&m::LOAD_5), (load * 0.9).round());
        push(SeriesKey::plain(&m::LOAD_15), (load * 0.8).round());
        self.mem = (self.mem + ((r.f64() - 0.5) * 2e6 / 4096.0).round() * 4096.0).clamp(1e9, 15e9);
        push(SeriesKey::plain(&m::MEM_USED), self.mem);
        push(SeriesKey::plain(&m::MEM_AVAILABLE), 16e9 - self.mem);
        push(SeriesKey::plain(&m::MEM_USED_PCT), self.mem / 16e9 * 100.0);
        push(SeriesKey::plain(&m::SWAP_USED), 0.0);
        push(SeriesKey::plain(&m::SWAP_USED_PCT), 0.0);
        push(SeriesKey::plain(&m::UPTIME), (ts % 86_400 + 1000) as f64);
        for (i, (d, mount)) in self.disk.iter_mut().zip(["/", "/home", "/data"]).enumerate() {
            if r.u8(..) < 8 {
                *d += f64::from(r.u32(1..256)) * 4096.0 * (i + 1) as f64;
            }
            push(SeriesKey::with(&m::DISK_USED, "mount", mount), *d);
            push(SeriesKey::with(&m::DISK_FREE, "mount", mount), 5e11 - *d);
            push(SeriesKey::with(&m::DISK_USED_PCT, "mount", mount), *d / 5e11 * 100.0);
        }
        for dev in ["nvme0n1", "sda"] {
            // Whole 512-byte sectors, as /proc/diskstats counts them.
            let burst = |r: &mut fastrand::Rng| if r.u8(..) < 40 { f64::from(r.u32(8..97_657)) * 512.0 } else { 0.0 };
            push(SeriesKey::with(&m::DISKIO_READ, "device", dev), burst(r));
            push(SeriesKey::with(&m::DISKIO_WRITE, "device", dev), burst(r));
        }
        for iface in ["wlp2s0", "tailscale0"] {
            push(SeriesKey::with(&m::NET_RX, "iface", iface), f64::from(r.u32(0..200_000)));
            push(SeriesKey::with(&m::NET_TX, "iface", iface), f64::from(r.u32(0..40_000)));
            push(SeriesKey::with(&m::NET_RX_ERRORS, "iface", iface), 0.0);
            push(SeriesKey::with(&m::NET_TX_ERRORS, "iface", iface), 0.0);
        }
        for (i, label) in ["Package id 0", "Core 0", "Core 1", "Composite"].iter().enumerate() {
            let key = SeriesKey::labelled(&m::TEMP, vec![("sensor", "coretemp".into()), ("label", (*label).into())]);
            push(key, 40.0 + i as f64 + self.cpu[0] / 5.0 + r.f64());
        }
        self.battery = (self.battery - 0.0005).max(5.0);
        push(SeriesKey::with(&m::BATTERY_CHARGE, "battery", "BAT0"), self.battery);
        push(SeriesKey::with(&m::BATTERY_STATUS, "battery", "BAT0"), -1.0);
        push(SeriesKey::with(&m::BATTERY_TIME_TO_EMPTY, "battery", "BAT0"), self.battery * 200.0);
        if ts % 30 == 0 {
            for p in 0..10_u32 {
                let labels = vec![("pid", (1000 + p).to_string()), ("name", format!("proc{p}"))];
                push(SeriesKey::labelled(&m::PROC_CPU, labels.clone()), r.f64() * 50.0);
                push(SeriesKey::labelled(&m::PROC_RSS, labels), f64::from(r.u32(1_000..4_000_000)) * 4096.0);
            }
        }
    }
}
