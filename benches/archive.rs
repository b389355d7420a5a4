//! The archive's speed figures, each side by side in one run (its size: `archive_size`):
//!
//!     cargo bench --bench archive [rollup|query]...   (default: both)
//!
//! - rollup: samples per second moved from SQLite to DuckDB by one rollup.
//! - query: an hourly p95 over 30 days of 1 s data for 50 series, on the archive and on the
//!   same data in SQLite.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use hostwatch::archive;
use hostwatch::store::Store;
use laptop::{DAY, HOUR, Laptop, T0, policy, write_hour};

#[path = "support/laptop.rs"]
mod laptop;

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

/// One rollup of an `hours` backlog of the laptop's samples: (samples, seconds, peak RSS MB).
fn one_rollup(hours: i64) -> (usize, f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (hot, arch) = (dir.path().join("hot.sqlite"), dir.path().join("archive.duckdb"));
    let mut store = Store::open(&hot).expect("store");
    let mut laptop = Laptop::new();
    let n = (0..hours).map(|hour| write_hour(&mut store, hour, &mut |ts, out| laptop.tick(ts, out))).sum();
    // The peak RSS reading then covers the rollup alone (with this process's baseline).
    reset_peak_rss();
    let start = Instant::now();
    archive::rollup(&mut store, &arch, T0 + 2 * DAY, &policy(HOUR), &AtomicBool::new(false)).expect("rollup");
    (n, start.elapsed().as_secs_f64(), peak_rss_mb())
}

fn rollup() {
    println!("| rollup, median of 3 | samples | seconds | samples/s | peak RSS MB |");
    println!("|---|---|---|---|---|");
    for hours in [6, 24] {
        let mut runs: Vec<(usize, f64, f64)> = (0..3).map(|_| one_rollup(hours)).collect();
        runs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (n, secs, rss) = runs[1];
        println!(
            "| {hours} h backlog, one rollup (SQLite read, DuckDB insert + tiers, SQLite delete, checkpoint) | {n} | {secs:.2} | {:.2} M | {rss:.0} |",
            n as f64 / secs / 1e6,
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
    if want("rollup") {
        rollup();
    }
    if want("query") {
        query();
    }
}
