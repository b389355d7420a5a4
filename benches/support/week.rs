//! A workstation's week, generated: an 8-core laptop with 8 GB of memory and a 256 GB disk,
//! sampled at the default intervals (system 5 s, processes 30 s), awake 08:00-23:00 and
//! asleep every night. Working hours hold builds that keep the CPU busy for 3-8 minutes
//! several times a day, test runs, browser memory that grows and is freed at lunch and in
//! the evening, a nightly backup's disk I/O, and the battery unplugged over lunch. Planted
//! into it: a disk filling at 1 GB/h, a process leaking 50 MB/h, a runaway process, a
//! battery draining to 5% and swap thrashing, each with the time span it is active.

use hostwatch::metrics::{self as m, Sample, SeriesKey};

/// Monday 2026-11-02 00:00 UTC.
pub const T0: i64 = 1_793_577_600;
pub const DAY: i64 = 86_400;
const HOUR: i64 = 3600;
/// The default system and process intervals.
pub const TICK: i64 = 5;
const PROC_TICK: i64 = 30;
const MEMORY_MB: f64 = 8192.0;
const DISK_GB: f64 = 256.0;

/// A planted incident: what it is, the built-in rule that should catch it, on which
/// series, other rules it rightly sets off, and when it is active.
#[derive(Debug, Clone)]
pub struct Incident {
    pub name: &'static str,
    pub rule: &'static str,
    pub also: &'static [&'static str],
    pub key: SeriesKey,
    pub from: i64,
    pub to: i64,
}

fn at(day: i64, hour: f64) -> i64 {
    T0 + day * DAY + (hour * 3600.0) as i64
}

/// The week's incidents: Tuesday to Saturday, Monday and Sunday left normal.
pub fn incidents() -> Vec<Incident> {
    let plain = |metric| SeriesKey::plain(metric);
    vec![
        Incident {
            name: "disk filling at 1 GB/h",
            rule: "disk_space",
            also: &[],
            key: SeriesKey::with(&m::DISK_USED_PCT, "mount", "/"),
            from: at(1, 9.0),
            to: at(1, 21.0),
        },
        Incident {
            name: "runaway process",
            rule: "process_cpu",
            also: &[],
            key: runaway_key(&m::PROC_CPU),
            from: at(2, 14.0),
            to: at(2, 16.0),
        },
        Incident {
            name: "process leaking 50 MB/h",
            rule: "memory",
            also: &[],
            key: plain(&m::MEM_USED_PCT),
            from: at(3, 8.0),
            to: at(4, 18.0),
        },
        Incident {
            name: "battery draining to 5%",
            rule: "battery_low",
            also: &[],
            key: SeriesKey::with(&m::BATTERY_CHARGE, "battery", "BAT0"),
            from: at(4, 10.0),
            to: at(4, 14.5),
        },
        Incident {
            name: "swap thrashing",
            rule: "swap",
            also: &["memory"],
            key: plain(&m::SWAP_USED_PCT),
            from: at(5, 11.0),
            to: at(5, 11.0 + 40.0 / 60.0),
        },
    ]
}

fn runaway_key(metric: &'static m::Metric) -> SeriesKey {
    SeriesKey::labelled(metric, vec![("pid", "4242".into()), ("name", "node".into())])
}

/// Unix seconds `[wake, sleep)` of each day's awake stretch.
pub fn awake() -> Vec<(i64, i64)> {
    (0..7).map(|d| (at(d, 8.0), at(d, 23.0))).collect()
}

/// A build or a test run: (from, to, CPU %, memory % it adds).
type Job = (i64, i64, f64, f64);

/// The simulated host: what carries over from one tick to the next.
pub struct Host {
    rng: fastrand::Rng,
    /// Each build and test run.
    jobs: Vec<Job>,
    load5: f64,
    battery: f64,
    leak_mb: f64,
    swap: f64,
    incidents: Vec<Incident>,
}

impl Host {
    pub fn new(seed: u64) -> Host {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut jobs = Vec::new();
        for day in 0..7 {
            let weekday = day < 5;
            let (builds, tests) = if weekday { (6, 4) } else { (2, 1) };
            let (from, to) = if weekday { (9.0, 17.8) } else { (10.0, 13.0) };
            for (n, dur, cpu, mem) in [(builds, (180, 480), (85.0, 98.0), 12.0), (tests, (120, 240), (55.0, 65.0), 6.0)]
            {
                let mut placed = 0;
                while placed < n {
                    let start = at(day, from + rng.f64() * (to - from));
                    let len = rng.i64(dur.0..=dur.1);
                    // One job at a time, 10 minutes apart: two builds back to back are one
                    // long build, which this week does not have.
                    if jobs.iter().any(|j: &Job| start < j.1 + 600 && j.0 < start + len + 600) {
                        continue;
                    }
                    jobs.push((start, start + len, cpu.0 + rng.f64() * (cpu.1 - cpu.0), mem));
                    placed += 1;
                }
            }
        }
        Host { rng, jobs, load5: 0.3, battery: 100.0, leak_mb: 0.0, swap: 3.0, incidents: incidents() }
    }

    fn active(&self, rule: &str, t: i64) -> Option<&Incident> {
        self.incidents.iter().find(|i| i.rule == rule && (i.from..i.to).contains(&t))
    }

    /// The samples of the tick at `t`, `dt` seconds after the previous awake tick.
    pub fn tick(&mut self, t: i64, dt: i64, out: &mut Vec<Sample>) {
        let (day, hour) = ((t - T0) / DAY, ((t - T0) % DAY) as f64 / 3600.0);
        let weekday = day < 5;
        let work = weekday && ((9.0..12.5).contains(&hour) || (13.5..18.0).contains(&hour));
        let job = self.jobs.iter().find(|j| (j.0..j.1).contains(&t)).copied();
        let runaway = self.active("process_cpu", t).is_some();
        let backup = (22.0..22.5).contains(&hour);
        let thrash = self.active("swap", t).map(|i| t - i.from);

        let idle = if work { 4.0 + self.rng.f64() * 8.0 } else { 1.0 + self.rng.f64() * 3.0 };
        let mut cpu = job.map_or(idle, |j| j.2 + self.rng.f64() * 2.0 - 1.0);
        cpu += if runaway { 12.5 } else { 0.0 } + if backup { 10.0 } else { 0.0 };
        let cpu = cpu.min(100.0);
        let target = cpu / 100.0 * 8.0 * 1.1;
        self.load5 += (target - self.load5) * (1.0 - (-(dt as f64) / 300.0).exp());

        // The browser grows 3%/h through working hours; tabs are closed at lunch and at 18:00.
        let since_cleanup = if hour >= 18.0 {
            hour - 18.0
        } else if hour >= 12.5 {
            hour - 13.5
        } else {
            hour - 9.0
        };
        let browser = 5.0 + 3.0 * since_cleanup.max(0.0) * if weekday { 1.0 } else { 0.3 };
        if self.active("memory", t).is_some() {
            self.leak_mb += 50.0 * dt as f64 / HOUR as f64;
        } else {
            self.leak_mb = 0.0;
        }
        let mut memory = 48.0 + browser + job.map_or(0.0, |j| j.3) + self.leak_mb / MEMORY_MB * 100.0;
        memory += self.rng.f64() * 0.6 - 0.3;
        match thrash {
            Some(s) => {
                memory = 94.0 + self.rng.f64();
                self.swap = (3.0 + 67.0 * s as f64 / 180.0).min(65.0 + self.rng.f64() * 10.0);
            }
            None => self.swap = 3.0 + (self.swap - 3.0) * (-(dt as f64) / HOUR as f64).exp(),
        }

        let fill = self.active("disk_space", t).map_or(0.0, |i| (t - i.from) as f64 / HOUR as f64 / DISK_GB * 100.0);
        let disk = 76.0 + 0.05 * day as f64 + fill;

        let drain = self.active("battery_low", t).is_some();
        let unplugged = drain || (weekday && (12.5..14.0).contains(&hour));
        let status = if drain && self.battery <= 5.0 {
            1.0 // plugged in at 5%
        } else if unplugged {
            self.battery -= if drain { 0.4 } else { 0.25 } * dt as f64 / 60.0;
            -1.0
        } else if self.battery < 100.0 {
            self.battery = (self.battery + 0.5 * dt as f64 / 60.0).min(100.0);
            1.0
        } else {
            0.0
        };
        self.battery = self.battery.max(5.0);

        let ts = t;
        let mut push = |key: SeriesKey, value: f64| out.push(Sample { key, ts, value });
        push(SeriesKey::plain(&m::UPTIME), (t - T0) as f64);
        push(SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), cpu);
        push(SeriesKey::plain(&m::LOAD_5), self.load5);
        push(SeriesKey::plain(&m::MEM_USED_PCT), memory.min(99.0));
        push(SeriesKey::plain(&m::SWAP_USED_PCT), self.swap);
        push(SeriesKey::with(&m::DISK_USED_PCT, "mount", "/"), disk);
        push(SeriesKey::with(&m::DISKIO_WRITE, "device", "nvme0n1"), if backup { 80e6 } else { 2e5 });
        push(SeriesKey::with(&m::BATTERY_CHARGE, "battery", "BAT0"), self.battery);
        push(SeriesKey::with(&m::BATTERY_STATUS, "battery", "BAT0"), status);
        if t % PROC_TICK == 0 {
            let proc = |pid: &str, name: &str, metric| {
                SeriesKey::labelled(metric, vec![("pid", pid.into()), ("name", name.into())])
            };
            push(proc("1001", "firefox", &m::PROC_CPU), 5.0 + self.rng.f64() * 15.0);
            push(proc("1002", "code", &m::PROC_CPU), 2.0 + self.rng.f64() * 6.0);
            push(proc("1003", "syncd", &m::PROC_RSS), (200.0 + self.leak_mb) * 1e6);
            if let Some(j) = job {
                // A build's compiler: several cores while it lasts, a new pid each time.
                push(proc(&format!("{}", 20_000 + (j.0 % 10_000)), "rustc", &m::PROC_CPU), j.2 * 4.0);
            }
            if runaway {
                push(runaway_key(&m::PROC_CPU), 99.0 + self.rng.f64());
            }
        }
    }
}
