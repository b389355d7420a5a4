//! The archive's figures, each side by side in one run:
//!
//!     cargo bench --bench archive [size|rollup|query]...   (default: all three)
//!
//! - size: a day at 1 s of a laptop's default series, written to the hot store and rolled
//!   up hourly as the agent does; bytes per sample of the raw tier and of the whole file.
//! - rollup: samples per second moved from SQLite to DuckDB by one rollup.
//! - query: an hourly p95 over 30 days of 1 s data for 50 series, on the archive and on the
//!   same data in SQLite.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use hostwatch::archive::{self, Policy};
use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Store};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000 - 1_800_000_000 % DAY;

fn policy(hot_window: i64) -> Policy {
    Policy { hot_window, chunk: HOUR, raw_retention: None, minute_retention: None, hour_retention: None }
}

/// A laptop's default series with signals of realistic shape and precision: noisy CPU,
/// smooth load, slowly moving memory and disks, bursty I/O, sensors, a battery, uptime.
struct Laptop {
    rng: fastrand::Rng,
    cpu: Vec<f64>,
    mem: f64,
    disk: Vec<f64>,
    battery: f64,
}

impl Laptop {
    fn new() -> Laptop {
        Laptop {
            rng: fastrand::Rng::with_seed(7),
            cpu: vec![10.0; 9],
            mem: 6e9,
            disk: vec![2e11, 5e10, 1e11],
            battery: 100.0,
        }
    }

    fn tick(&mut self, ts: i64, out: &mut Vec<Sample>) {
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
        push(SeriesKey::plain(&m::UPTIME), (ts - T0 + 1000) as f64);
        for (i, (d, mount)) in self.disk.iter_mut().zip(["/", "/home", "/data"]).enumerate() {
            if r.u8(..) < 8 {
                *d += f64::from(r.u32(1..256)) * 4096.0 * (i + 1) as f64;
            }
            push(SeriesKey::with(&m::DISK_USED, "mount", mount), *d);
            push(SeriesKey::with(&m::DISK_FREE, "mount", mount), 5e11 - *d);
            push(SeriesKey::with(&m::DISK_USED_PCT, "mount", mount), *d / 5e11 * 100.0);
        }
        for dev in ["nvme0n1", "sda"] {
            let burst = |r: &mut fastrand::Rng| if r.u8(..) < 40 { f64::from(r.u32(4096..50_000_000)) } else { 0.0 };
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

fn used_bytes(path: &Path) -> u64 {
    let conn = duckdb::Connection::open(path).expect("open copy");
    conn.query_row("SELECT used_blocks * block_size FROM pragma_database_size()", [], |r| r.get::<_, i64>(0))
        .expect("database size")
        .unsigned_abs()
}

fn size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (hot, arch) = (dir.path().join("hot.sqlite"), dir.path().join("archive.duckdb"));
    let mut store = Store::open(&hot).expect("store");
    let mut laptop = Laptop::new();
    let mut written = 0;
    for hour in 0..24 {
        let mut batch = Batch::default();
        for ts in T0 + hour * HOUR..T0 + (hour + 1) * HOUR {
            laptop.tick(ts, &mut batch.samples);
        }
        written += batch.samples.len();
        store.write(&batch, T0 + (hour + 1) * HOUR, 0).expect("write");
        archive::rollup(&mut store, &arch, T0 + (hour + 1) * HOUR, &policy(6 * HOUR), &AtomicBool::new(false))
            .expect("rollup");
    }
    archive::rollup(&mut store, &arch, T0 + 2 * DAY, &policy(HOUR), &AtomicBool::new(false)).expect("final rollup");
    let file = std::fs::metadata(&arch).expect("archive").len();
    let copy = dir.path().join("raw-only.duckdb");
    std::fs::copy(&arch, &copy).expect("copy");
    let whole = used_bytes(&copy);
    {
        let conn = duckdb::Connection::open(&copy).expect("open copy");
        conn.execute_batch(
            "DROP VIEW samples_best; DROP VIEW samples_1m; DROP VIEW samples_1h; DROP TABLE agg_1m; DROP TABLE agg_1h;
             CHECKPOINT",
        )
        .expect("drop aggregates");
    }
    let raw = used_bytes(&copy);
    let n = written as f64;
    println!("| archive size, a day at 1 s | {written} samples, 24 hourly rollups |");
    println!("|---|---|");
    println!("| raw tier (used blocks, aggregates dropped) | {:.2} B/sample |", raw as f64 / n);
    println!("| whole archive, all tiers (used blocks) | {:.2} B/sample |", whole as f64 / n);
    println!("| whole archive file on disk | {:.2} B/sample ({} bytes) |", file as f64 / n, file);
}

/// Resets this process's peak RSS (`VmHWM`), so the next reading covers what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS in MB since the last reset.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn rollup() {
    println!("| rollup | samples | seconds | samples/s | peak RSS MB |");
    println!("|---|---|---|---|---|");
    for hours in [6, 24] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (hot, arch) = (dir.path().join("hot.sqlite"), dir.path().join("archive.duckdb"));
        let mut store = Store::open(&hot).expect("store");
        let mut laptop = Laptop::new();
        let mut n = 0;
        for hour in 0..hours {
            let mut batch = Batch::default();
            for ts in T0 + hour * HOUR..T0 + (hour + 1) * HOUR {
                laptop.tick(ts, &mut batch.samples);
            }
            n += batch.samples.len();
            store.write(&batch, T0, 0).expect("write");
        }
        // The peak RSS reading then covers the rollup alone (with this process's baseline).
        reset_peak_rss();
        let start = Instant::now();
        archive::rollup(&mut store, &arch, T0 + 2 * DAY, &policy(HOUR), &AtomicBool::new(false)).expect("rollup");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "| {hours} h backlog, one rollup (SQLite read, DuckDB insert + tiers, SQLite delete, checkpoint) | {n} | {secs:.2} | {:.2} M | {:.0} |",
            n as f64 / secs / 1e6,
            peak_rss_mb()
        );
    }
}

fn query() {
    const SERIES: i64 = 50;
    const SPAN: i64 = 30 * DAY;
    let dir = std::env::var("HOSTWATCH_BENCH_DIR")
        .map_or_else(|_| std::env::temp_dir(), Into::into)
        .join("hostwatch-query-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let (sqlite, duck) = (dir.join("hot.sqlite"), dir.join("archive.duckdb"));
    // The same deterministic values on both sides: a scaled CPU % per (series, second).
    let value = "((ts * 7919 + sid * 104729) % 10000)";
    if !sqlite.exists() {
        let start = Instant::now();
        let mut conn = rusqlite::Connection::open(&sqlite).expect("sqlite");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
             CREATE TABLE samples (ts INTEGER NOT NULL, series_id INTEGER NOT NULL, value INTEGER NOT NULL,
                                   PRIMARY KEY (ts, series_id)) WITHOUT ROWID;",
        )
        .expect("schema");
        for day in 0..30 {
            let tx = conn.transaction().expect("tx");
            tx.execute(
                &format!(
                    "INSERT INTO samples WITH RECURSIVE t(ts) AS (SELECT ?1 UNION ALL SELECT ts + 1 FROM t WHERE ts + 1 < ?2),
                     s(sid) AS (SELECT 1 UNION ALL SELECT sid + 1 FROM s WHERE sid < {SERIES})
                     SELECT ts, sid, {value} FROM t, s"
                ),
                [T0 + day * DAY, T0 + (day + 1) * DAY],
            )
            .expect("fill");
            tx.commit().expect("commit");
        }
        eprintln!("built the SQLite copy in {:.0} s", start.elapsed().as_secs_f64());
    }
    if !duck.exists() {
        hostwatch::archive::Archive::open_write(&duck).expect("archive").close().expect("close");
        let conn = duckdb::Connection::open(&duck).expect("duckdb");
        conn.execute_batch(&format!(
            "INSERT INTO series (id, metric, labels, unit, scale, cpu)
             SELECT sid, 'cpu.usage_percent', '{{\"cpu\":\"' || sid || '\"}}', '%', 100, sid::VARCHAR FROM range(1, {s1}) r(sid);
             INSERT INTO raw SELECT sid, ts, {value} FROM range(1, {s1}) a(sid), range({T0}, {end}) b(ts) ORDER BY sid, ts;
             CHECKPOINT;",
            s1 = SERIES + 1,
            end = T0 + SPAN
        ))
        .expect("fill archive");
    }
    let rows = SERIES * SPAN;
    let target = 7;
    // Nearest-rank p95 per hour, written for each engine as its users would.
    let duck_sql = format!(
        "SELECT date_trunc('hour', time) AS hour, quantile_disc(value, 0.95) AS p95 FROM samples
         WHERE metric = 'cpu.usage_percent' AND cpu = '{target}' AND time >= make_timestamp({T0}::BIGINT * 1000000)
         GROUP BY hour ORDER BY hour"
    );
    let sqlite_sql = format!(
        "WITH v AS (SELECT ts / 3600 AS h, value, row_number() OVER (PARTITION BY ts / 3600 ORDER BY value) AS rn,
                           count(*) OVER (PARTITION BY ts / 3600) AS n
                    FROM samples WHERE series_id = {target} AND ts >= {T0})
         SELECT h, value / 100.0 FROM v WHERE rn = CAST(0.95 * n + 0.999999 AS INTEGER) ORDER BY h"
    );
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("config");
    let dconn = duckdb::Connection::open_with_flags(&duck, config).expect("duckdb");
    let sconn = rusqlite::Connection::open(&sqlite).expect("sqlite");
    let mut duck_times = Vec::new();
    let mut sqlite_times = Vec::new();
    let (mut duck_rows, mut sqlite_rows) = (0, 0);
    for _ in 0..3 {
        let start = Instant::now();
        duck_rows =
            dconn.prepare(&duck_sql).expect("prepare").query_map([], |r| r.get::<_, f64>(1)).expect("query").count();
        duck_times.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        sqlite_rows =
            sconn.prepare(&sqlite_sql).expect("prepare").query_map([], |r| r.get::<_, f64>(1)).expect("query").count();
        sqlite_times.push(start.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (d, s) = (median(&mut duck_times), median(&mut sqlite_times));
    println!("| hourly p95 of one series, 30 days at 1 s, {SERIES} series ({rows} rows) | median of 3 | hours |");
    println!("|---|---|---|");
    println!("| DuckDB archive (`samples` view) | {d:.3} s | {duck_rows} |");
    println!("| SQLite, same data and key as the hot store | {s:.3} s | {sqlite_rows} |");
    println!("| ratio | {:.1}x | |", s / d);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if want("size") {
        size();
    }
    if want("rollup") {
        rollup();
    }
    if want("query") {
        query();
    }
}
