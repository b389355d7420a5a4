//! Collectors on fixture trees: batteries, sensors, and rates across resets and sleep.

use std::path::Path;
use std::time::Duration;

use hostwatch::collect::rate::Tick;
use hostwatch::collect::{Battery, Collector, DiskIo, Network, Sampler, Temperatures};
use hostwatch::metrics::Sample;

use crate::util::{copy_tree, fixture};

fn sample_once(mut c: impl Collector) -> Vec<(String, f64)> {
    let ctx = hostwatch::collect::rate::TickCtx { now_ms: 1_000_000, max_elapsed_ms: 15_000, tick: Tick::First };
    let mut out = Vec::new();
    c.collect(&ctx, &mut out).unwrap();
    let mut got: Vec<(String, f64)> = out.into_iter().map(|s| (s.key.to_string(), s.value)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got
}

#[test]
fn battery_charging_reports_charge_and_status_but_no_time_to_empty() {
    let got = sample_once(Battery::new(&fixture("sys/charging")));
    assert_eq!(
        got,
        vec![
            (r#"battery.charge_percent{battery="BAT0"}"#.to_owned(), 60.0),
            (r#"battery.status{battery="BAT0"}"#.to_owned(), 1.0),
        ]
    );
}

#[test]
fn battery_discharging_reports_time_to_empty_and_ignores_a_mouse() {
    let got = sample_once(Battery::new(&fixture("sys/discharging")));
    assert_eq!(
        got,
        vec![
            (r#"battery.charge_percent{battery="BAT1"}"#.to_owned(), 50.0),
            (r#"battery.status{battery="BAT1"}"#.to_owned(), -1.0),
            // 2,000,000 µAh left at 1,000,000 µA (reported negative) = 2 hours.
            (r#"battery.time_to_empty_seconds{battery="BAT1"}"#.to_owned(), 7200.0),
        ]
    );
}

#[test]
fn battery_absent_yields_nothing_and_no_error() {
    assert!(sample_once(Battery::new(&fixture("sys/desktop"))).is_empty());
    assert!(sample_once(Battery::new(Path::new("/nonexistent-sys"))).is_empty());
}

#[test]
fn temperatures_are_labelled_by_chip_and_input() {
    let got = sample_once(Temperatures::new(&fixture("sys/discharging")));
    assert_eq!(
        got,
        vec![
            (r#"temp.celsius{label="Composite",sensor="nvme"}"#.to_owned(), 38.85),
            (r#"temp.celsius{label="Composite",sensor="nvme.2"}"#.to_owned(), 40.0),
            (r#"temp.celsius{label="Package id 0",sensor="coretemp"}"#.to_owned(), 45.0),
            (r#"temp.celsius{label="temp2",sensor="coretemp"}"#.to_owned(), 43.5),
        ]
    );
    assert!(sample_once(Temperatures::new(&fixture("sys/desktop"))).is_empty());
}

/// A proc tree whose counters the test rewrites between ticks.
struct ProcTree {
    dir: tempfile::TempDir,
}

impl ProcTree {
    fn new() -> ProcTree {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture("proc"), dir.path());
        ProcTree { dir }
    }

    /// Sets eth0's received bytes and sda's read sectors.
    fn set(&self, rx_bytes: u64, read_sectors: u64) {
        let dev = self.dir.path().join("net/dev");
        let text = std::fs::read_to_string(&dev).unwrap();
        let text = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("eth0:") {
                    format!("  eth0: {rx_bytes} 10000 2 0 0 0 0 0 2000000 20000 1 0 0 0 0 0")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&dev, text + "\n").unwrap();
        let stats = format!("   8       0 sda 1000 0 {read_sectors} 500 2000 0 40000 900 0 1200 1400 0 0 0 0 0 0\n");
        std::fs::write(self.dir.path().join("diskstats"), stats).unwrap();
    }
}

/// One tick of `sampler`, on a runtime of its own as the agent's loop would run it.
pub fn sample(sampler: &mut Sampler, now_ms: i64, out: &mut Vec<Sample>) -> Tick {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(sampler.sample(now_ms, out))
}

fn rates(samples: &[Sample]) -> Vec<(String, f64)> {
    let mut got: Vec<(String, f64)> = samples
        .iter()
        .filter(|s| {
            s.key.to_string().contains("eth0") && s.key.metric.name == "net.rx_bytes_per_s"
                || s.key.metric.name == "diskio.read_bytes_per_s"
        })
        .map(|s| (s.key.to_string(), s.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got
}

#[test]
fn rates_skip_a_counter_reset_and_a_sleep_then_resume() {
    let proc = ProcTree::new();
    let sys = fixture("sys/desktop");
    let collectors: Vec<Box<dyn Collector>> = vec![
        Box::new(Network::new(proc.dir.path(), vec![])),
        Box::new(DiskIo::new(proc.dir.path(), &sys, vec![glob::Pattern::new("loop*").unwrap()])),
    ];
    let mut sampler = Sampler::new(collectors, Duration::from_secs(5)).unwrap();
    let t0 = 1_800_000_000_000;
    let mut tick = |now_ms: i64, rx: u64, sectors: u64| {
        proc.set(rx, sectors);
        let mut out = Vec::new();
        let tick = sample(&mut sampler, now_ms, &mut out);
        (tick, rates(&out))
    };

    assert_eq!(tick(t0, 1_000, 100), (Tick::First, vec![]));
    let (t, got) = tick(t0 + 5_000, 6_000, 200);
    assert_eq!(t, Tick::Regular);
    assert_eq!(
        got,
        vec![
            (r#"diskio.read_bytes_per_s{device="sda"}"#.into(), 100.0 * 512.0 / 5.0),
            (r#"net.rx_bytes_per_s{iface="eth0"}"#.into(), 1_000.0),
        ]
    );

    // The interface was reset: its counter restarts near zero. No negative or huge rate.
    let (_, got) = tick(t0 + 10_000, 500, 300);
    assert_eq!(got, vec![(r#"diskio.read_bytes_per_s{device="sda"}"#.into(), 100.0 * 512.0 / 5.0)]);

    // The laptop slept for an hour: a gap, and no rate averaged across it.
    let (t, got) = tick(t0 + 10_000 + 3_600_000, 900_000, 99_000);
    assert_eq!(t, Tick::Gap { from_ms: t0 + 10_000, to_ms: t0 + 3_610_000 });
    assert_eq!(got, vec![]);

    // And on the next tick it goes on as before.
    let (t, got) = tick(t0 + 3_615_000, 905_000, 99_100);
    assert_eq!(t, Tick::Regular);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].1, 1_000.0);
}

#[test]
fn partitions_and_excluded_devices_get_no_io_series() {
    let proc = ProcTree::new();
    let mut io = DiskIo::new(proc.dir.path(), &fixture("sys/desktop"), vec![glob::Pattern::new("loop*").unwrap()]);
    let mut out = Vec::new();
    for (i, now_ms) in [0, 1000].into_iter().enumerate() {
        let ctx = hostwatch::collect::rate::TickCtx {
            now_ms,
            max_elapsed_ms: 3000,
            tick: if i == 0 { Tick::First } else { Tick::Regular },
        };
        io.collect(&ctx, &mut out).unwrap();
    }
    let series: Vec<String> = out.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(series, [r#"diskio.read_bytes_per_s{device="sda"}"#, r#"diskio.write_bytes_per_s{device="sda"}"#]);
}

#[test]
fn a_failing_collector_is_recorded_at_each_tick_and_the_hourly_check_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    // No diskstats in this /proc: the disk I/O collector fails, the others would go on.
    let io = DiskIo::new(dir.path(), dir.path(), Vec::new());
    let mut sampler = Sampler::new(vec![Box::new(io)], Duration::from_secs(5)).unwrap();
    let now = hostwatch::daemon::wall_ms() - 60_000;
    let mut out = Vec::new();
    for tick in 0..3 {
        sample(&mut sampler, now + tick * 5000, &mut out);
    }
    let errors: Vec<&Sample> = out.iter().filter(|s| s.key.metric.name == "agent.collector_errors").collect();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0].key.to_string(), "agent.collector_errors{name=\"disk_io\"}");

    let hot = dir.path().join("data/hot.sqlite");
    std::fs::create_dir_all(hot.parent().unwrap()).unwrap();
    let mut store = hostwatch::store::Store::open(&hot).unwrap();
    store
        .write(&hostwatch::store::Batch { samples: out, gaps: Vec::new(), probes: Vec::new() }, now / 1000, 0)
        .unwrap();
    let report = crate::util::hostwatch(&[
        "--data-dir",
        hot.parent().unwrap().to_str().unwrap(),
        "report",
        "run",
        "hourly_health",
    ]);
    let (stdout, _) = crate::util::text(&report);
    assert!(stdout.contains("- **warning** collector disk_io: failed at 3 ticks in the hour"), "{stdout}");
}

#[test]
fn disk_space_comes_from_the_mount_table_with_exclusions_judged_before_asking_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    // An sshfs mount whose server is gone: excluded by type, so never asked (a statvfs on
    // it would hang). A bind of the same device elsewhere counts once.
    let table = format!(
        "/dev/vdz {real} ext4 rw 0 0\n/dev/vdz {real}/again ext4 rw 0 0\n\
         me@gone:/srv {real} fuse.sshfs rw 0 0\nproc /proc proc rw 0 0\n",
        real = real.display()
    );
    std::fs::write(dir.path().join("mounts"), table).unwrap();
    let config = hostwatch::config::Config::defaults();
    let got = sample_once(hostwatch::collect::Disks::new(dir.path(), config.filters.clone()));
    let mounts: std::collections::BTreeSet<String> =
        got.iter().map(|(k, _)| k.split("mount=\"").nth(1).unwrap_or("").to_owned()).collect();
    assert_eq!(mounts.len(), 1, "{got:?}");
    assert!(got.iter().any(|(k, v)| k.starts_with("disk.used_percent") && (0.0..=100.0).contains(v)), "{got:?}");
    assert!(got.iter().all(|(k, _)| k.contains(&real.display().to_string())), "{got:?}");
}
