//! The archive's size, built as the agent builds it:
//!
//!     cargo bench --bench archive_size                      (a synthetic laptop)
//!     cargo bench --bench archive_size -- real HOT.sqlite   (a recorded hour, replayed
//!                                                           forwards and backwards)
//!
//! Samples at 1 s are written to the hot store an hour at a time and rolled up hourly with
//! a 6 h hot window, as the agent does; a last rollup then moves the rest, so every day is
//! compacted. Each archive is built for one day and for seven; days 2 to 7 alone are their
//! difference, the cost of more days once the file's fixed parts exist.
//!
//!     cargo bench --bench archive_size -- steady            (the file as `du` sees it)
//!
//! `steady`: the synthetic laptop at the default 5 s interval, rolled up hourly as the agent
//! does (6 h hot window, its rewrite of free blocks included): the file after 30 days, and
//! after 30 more with the default retention (raw 30 days) pruning; then a 7-day backlog
//! (the most the hot store keeps) rolled up at once. Each row: the file's bytes per raw
//! sample in the archive and per sample it holds (raw rows and those aged into the minute
//! tier), the share of the file that is free blocks, and its WAL. With
//! `HOSTWATCH_BENCH_SPLIT=1` it also splits the 30 days' blocks into raw and aggregates.
//!
//! Otherwise, sizes are DuckDB blocks in use (256 KiB each), on a copy of the archive:
//! - raw tables: the blocks of `raw` and `raw_recent` alone;
//! - raw tier: the whole file with the aggregate tiers dropped (adds the series catalogue,
//!   the small tables and DuckDB's metadata, each in blocks of their own);
//! - all tiers: the whole file; file on disk: its length, free blocks included.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use hostwatch::archive;
use hostwatch::metrics::{Sample, SeriesKey};
use hostwatch::store::Store;
use laptop::{DAY, HOUR, Laptop, T0, policy, write_hour};

#[path = "support/laptop.rs"]
mod laptop;

/// Builds `dir/archive.duckdb` from `days` of `source` at 1 s; returns the sample count.
fn build(dir: &Path, days: i64, source: &mut dyn FnMut(i64, &mut Vec<Sample>)) -> usize {
    let arch = dir.join("archive.duckdb");
    let mut store = Store::open(&dir.join("hot.sqlite")).expect("store");
    let stop = AtomicBool::new(false);
    let mut written = 0;
    for hour in 0..days * 24 {
        written += write_hour(&mut store, hour, source);
        let end = T0 + (hour + 1) * HOUR;
        archive::rollup(&mut store, &arch, end, &policy(6 * HOUR), &stop).expect("rollup");
    }
    archive::rollup(&mut store, &arch, T0 + (days + 1) * DAY, &policy(HOUR), &stop).expect("final rollup");
    written
}

/// Bytes of one archive, each as described in the module doc.
#[derive(Clone, Copy)]
struct Sizes {
    raw_tables: i64,
    raw_tier: i64,
    all_tiers: i64,
    file: i64,
}

impl Sizes {
    fn minus(self, o: Sizes) -> Sizes {
        Sizes {
            raw_tables: self.raw_tables - o.raw_tables,
            raw_tier: self.raw_tier - o.raw_tier,
            all_tiers: self.all_tiers - o.all_tiers,
            file: self.file - o.file,
        }
    }
}

fn measure(dir: &Path) -> Sizes {
    let copy = dir.join("copy.duckdb");
    std::fs::copy(dir.join("archive.duckdb"), &copy).expect("copy");
    let file = i64::try_from(std::fs::metadata(&copy).expect("archive").len()).expect("size");
    let conn = duckdb::Connection::open(&copy).expect("open copy");
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
    let used = "SELECT used_blocks * block_size FROM pragma_database_size()";
    let all_tiers = one(used);
    let raw_tables = one(
        "WITH b AS (SELECT block_id, additional_block_ids FROM pragma_storage_info('raw')
                    UNION ALL SELECT block_id, additional_block_ids FROM pragma_storage_info('raw_recent'))
         SELECT count(DISTINCT id) * 262144 FROM (SELECT block_id AS id FROM b UNION ALL SELECT unnest(additional_block_ids) FROM b)
         WHERE id >= 0",
    );
    conn.execute_batch(
        "DROP VIEW samples_best; DROP VIEW samples_1m; DROP VIEW samples_1h; DROP TABLE agg_1m; DROP TABLE agg_1h;
         CHECKPOINT",
    )
    .expect("drop aggregates");
    Sizes { raw_tables, raw_tier: one(used), all_tiers, file }
}

/// Builds the archive for one day and for seven; prints a row for each and for the six
/// days the week adds.
fn report(name: &str, mut source: impl FnMut() -> Box<dyn FnMut(i64, &mut Vec<Sample>)>) {
    let mut runs = Vec::new();
    for days in [1, 7] {
        let dir = tempfile::tempdir().expect("temp dir");
        let samples = build(dir.path(), days, &mut *source());
        runs.push((samples, measure(dir.path())));
    }
    let (one, week) = (runs[0], runs[1]);
    let per = |bytes: i64, n: usize| format!("{:.2}", bytes as f64 / n as f64);
    for (label, n, s) in [
        ("1 day", one.0, one.1),
        ("7 days", week.0, week.1),
        ("days 2 to 7 alone", week.0 - one.0, week.1.minus(one.1)),
    ] {
        println!(
            "| {name}, {label} | {n} | {} | {} | {} | {} |",
            per(s.raw_tables, n),
            per(s.raw_tier, n),
            per(s.all_tiers, n),
            per(s.file, n)
        );
    }
}

/// The first hour of a store recorded by `bench/store_size.sh`: (second, series, value).
fn recorded_hour(path: &Path) -> Vec<Vec<(SeriesKey, f64)>> {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("store");
    let mut stmt = conn
        .prepare(
            "WITH f AS (SELECT min(ts) AS t FROM samples)
             SELECT s.ts - f.t, se.metric, se.labels, s.value * 1.0 / se.scale
             FROM samples s JOIN series se ON se.id = s.series_id, f WHERE s.ts < f.t + 3600",
        )
        .expect("query");
    let mut hour: Vec<Vec<(SeriesKey, f64)>> = vec![Vec::new(); 3600];
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?)))
        .expect("rows");
    for row in rows {
        let (second, metric, labels, value) = row.expect("row");
        if let Some(key) = SeriesKey::from_parts(&metric, &labels) {
            hour[usize::try_from(second).expect("second")].push((key, value));
        }
    }
    hour
}

/// One row of the `steady` table: the archive at `path` as `du` sees it.
fn file_row(label: &str, path: &Path, rewrites: usize) {
    let archive = hostwatch::archive::Archive::open_read(path).expect("archive");
    let (size, (raw, aged)) = (archive.size().expect("size"), archive.samples().expect("count"));
    println!(
        "| {label} | {raw} | {aged} | {:.1} MB | {:.2} | {:.2} | {:.2} | {:.0}% | {} | {rewrites} |",
        size.file as f64 / 1e6,
        size.file as f64 / raw as f64,
        size.file as f64 / (raw + aged) as f64,
        size.used as f64 / raw as f64,
        size.free_share() * 100.0,
        size.wal
    );
}

/// Bytes per raw sample that an ideal coder of each series' steps (its value minus the one
/// before, per UTC day) would take, counting each step by its frequency in the series: the
/// floor for any layout that, like DuckDB's delta bit-packing, codes steps one by one.
fn step_entropy(path: &Path) -> f64 {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("config");
    let conn = duckdb::Connection::open_with_flags(path, config).expect("open");
    let sql =
        "WITH d AS (SELECT series_id, value - lag(value) OVER (PARTITION BY series_id, ts // 86400 ORDER BY ts) AS step
                          FROM raw_rows),
                   f AS (SELECT series_id, step, count(*) AS n FROM d WHERE step IS NOT NULL GROUP BY ALL),
                   t AS (SELECT series_id, sum(n) AS total FROM f GROUP BY ALL)
               SELECT sum(-n * log2(n / total)) / 8 / (SELECT count(*) FROM raw_rows) FROM f JOIN t USING (series_id)";
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// Hours `from..to` of the laptop at 5 s, written and rolled up hourly with the default
/// policy; returns how many rollups left the file smaller (a rewrite, or DuckDB cutting
/// free blocks off its end).
fn hourly(dir: &Path, laptop: &mut Laptop, from: i64, to: i64) -> usize {
    let mut store = Store::open(&dir.join("hot.sqlite")).expect("store");
    let arch = dir.join("archive.duckdb");
    let default = hostwatch::config::Config::defaults();
    let policy = hostwatch::archive::Policy::from(&default.archive);
    let mut five = |ts: i64, out: &mut Vec<Sample>| {
        if ts % 5 == 0 {
            laptop.tick(ts, out);
        }
    };
    let mut rewrites = 0;
    for hour in from..to {
        write_hour(&mut store, hour, &mut five);
        let before = std::fs::metadata(&arch).map(|m| m.len()).ok();
        archive::rollup(&mut store, &arch, T0 + (hour + 1) * HOUR, &policy, &AtomicBool::new(false)).expect("rollup");
        let after = std::fs::metadata(&arch).map(|m| m.len()).ok();
        rewrites += usize::from(before.zip(after).is_some_and(|(b, a)| a < b));
    }
    rewrites
}

fn steady() {
    println!(
        "| archive of 5 s samples | raw samples | samples aged into minutes | file | file B/raw sample | file B/sample held | blocks in use B/raw sample | free | WAL bytes | rollups that shrank the file |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().expect("temp dir");
    let arch = dir.path().join("archive.duckdb");
    let mut laptop = Laptop::new();
    let rewrites = hourly(dir.path(), &mut laptop, 0, 30 * 24);
    file_row("30 days, hourly rollups", &arch, rewrites);
    if std::env::var_os("HOSTWATCH_BENCH_SPLIT").is_some() {
        let s = measure(dir.path());
        let raw = hostwatch::archive::Archive::open_read(&arch).expect("archive").samples().expect("count").0;
        let per = |b: i64| b as f64 / raw as f64;
        println!(
            "(30 days, blocks in use per raw sample: raw tables {:.2}, raw tier {:.2}, all tiers {:.2}; \
             order-0 entropy of each series' steps: {:.2})",
            per(s.raw_tables),
            per(s.raw_tier),
            per(s.all_tiers),
            step_entropy(&arch)
        );
    }
    let rewrites = hourly(dir.path(), &mut laptop, 30 * 24, 60 * 24);
    file_row("60 days, raw retention 30 days", &arch, rewrites);
    if let Some(keep) = std::env::var_os("HOSTWATCH_BENCH_KEEP") {
        std::fs::copy(&arch, Path::new(&keep).join("archive.duckdb")).expect("keep the 60-day archive");
    }

    // A week the hot store kept (the agent was off or the archive held), rolled up at once.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("hot.sqlite")).expect("store");
    let mut laptop = Laptop::new();
    let mut five = |ts: i64, out: &mut Vec<Sample>| {
        if ts % 5 == 0 {
            laptop.tick(ts, out);
        }
    };
    for hour in 0..7 * 24 {
        write_hour(&mut store, hour, &mut five);
    }
    let arch = dir.path().join("archive.duckdb");
    let policy = hostwatch::archive::Policy::from(&hostwatch::config::Config::defaults().archive);
    archive::rollup(&mut store, &arch, T0 + 7 * DAY + 6 * HOUR, &policy, &AtomicBool::new(false)).expect("rollup");
    file_row("7-day backlog at once", &arch, 0);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if args.first().is_some_and(|a| a == "steady") {
        steady();
        return;
    }
    println!(
        "| archive of 1 s samples | samples | raw tables B/sample | raw tier B/sample | all tiers B/sample | file on disk B/sample |"
    );
    println!("|---|---|---|---|---|---|");
    if let [mode, path] = args.as_slice()
        && mode == "real"
    {
        let hour = recorded_hour(Path::new(path));
        // Forwards, then backwards, and so on: each hour ends where the next begins, as a
        // real day would, instead of every series jumping back at every hour.
        report("recorded hour, replayed", || {
            let hour = hour.clone();
            Box::new(move |ts, out| {
                let second = ts.rem_euclid(HOUR);
                let at = if ts.div_euclid(HOUR) % 2 == 0 { second } else { HOUR - 1 - second };
                let at = usize::try_from(at).expect("second");
                out.extend(hour[at].iter().map(|(key, value)| Sample { key: key.clone(), ts, value: *value }));
            })
        });
    } else {
        report("synthetic laptop", || {
            let mut laptop = Laptop::new();
            Box::new(move |ts, out| laptop.tick(ts, out))
        });
    }
}
