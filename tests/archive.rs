//! The archive on real DuckDB and SQLite files: tiers, retention, exactly-once, reads.

use std::sync::atomic::AtomicBool;

use hostwatch::archive::{self, Archive, Outcome, Policy};
use hostwatch::store::{Selector, Store};

use crate::util::{count, duck_count, seed_hot, some_series};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// A whole hour, so cutoffs are easy to reason about.
const T0: i64 = 1_800_000_000 - 1_800_000_000 % HOUR;

fn policy(hot_window: i64) -> Policy {
    Policy {
        hot_window,
        chunk: HOUR,
        raw_retention: Some(30 * DAY),
        minute_retention: Some(365 * DAY),
        hour_retention: None,
    }
}

struct Stores {
    dir: tempfile::TempDir,
}

impl Stores {
    fn new() -> Stores {
        Stores { dir: tempfile::tempdir().unwrap() }
    }
    fn hot(&self) -> std::path::PathBuf {
        self.dir.path().join("hot.sqlite")
    }
    fn archive(&self) -> std::path::PathBuf {
        self.dir.path().join("archive.duckdb")
    }
    fn rollup(&self, now: i64, policy: &Policy) -> Outcome {
        let mut store = Store::open(&self.hot()).unwrap();
        archive::rollup(&mut store, &self.archive(), now, policy, &AtomicBool::new(false)).unwrap()
    }
    fn hot_count(&self) -> i64 {
        count(&rusqlite::Connection::open(self.hot()).unwrap(), "SELECT count(*) FROM samples")
    }
}

#[test]
fn rollup_moves_samples_older_than_the_hot_window_into_every_tier() {
    let s = Stores::new();
    let series = some_series(3);
    // Ten hours at 10 s, ending at T0.
    let total = seed_hot(&s.hot(), &series, T0 - 10 * HOUR, T0, 10);
    let outcome = s.rollup(T0 + 30 * 60, &policy(2 * HOUR));
    // Cutoff: (T0 + 30 min - 2 h) rounded down to the hour = T0 - 2 h.
    let moved = 3 * 8 * 360;
    assert_eq!(outcome, Outcome::Moved { samples: moved, watermark: T0 - 2 * HOUR });
    assert_eq!(s.hot_count() as u64, total - moved);
    let a = s.archive();
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), moved as i64);
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM samples_1m"), moved as i64, "every minute, from raw");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1m"), 0, "the minute tier repeats no raw row");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1h"), 3 * 8);
    // Real values come back through the views: series 1 is disk.used_percent, 1000 + i % 100.
    assert_eq!(duck_count(&a, "SELECT min(value)::BIGINT FROM samples WHERE metric = 'disk.used_percent'"), 1000);
    assert_eq!(duck_count(&a, "SELECT max(max)::BIGINT FROM samples_1h WHERE mount = '/m1'"), 1099);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_best WHERE tier = 'raw'"), moved as i64);

    // Again at the same time: nothing more to move, nothing duplicated.
    assert_eq!(s.rollup(T0 + 30 * 60, &policy(2 * HOUR)), Outcome::NothingToMove);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), moved as i64);
}

#[test]
fn rows_found_below_the_watermark_are_inserted_once() {
    let s = Stores::new();
    let series = some_series(2);
    seed_hot(&s.hot(), &series, T0 - 4 * HOUR, T0, 60);
    s.rollup(T0, &policy(HOUR));
    let archived = duck_count(&s.archive(), "SELECT count(*) FROM raw_rows");
    // As after a crash between the archive's commit and the hot store's delete: the same
    // rows are back in the hot store, plus one late sample never seen before.
    seed_hot(&s.hot(), &series, T0 - 4 * HOUR, T0 - HOUR, 60);
    seed_hot(&s.hot(), &series[..1], T0 - 2 * HOUR + 30, T0 - 2 * HOUR + 31, 60);
    let outcome = s.rollup(T0, &policy(HOUR));
    assert_eq!(outcome, Outcome::Moved { samples: 1, watermark: T0 - HOUR });
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) FROM raw_rows"), archived + 1);
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) - count(DISTINCT (series_id, ts)) FROM raw_rows"), 0);
    assert_eq!(duck_count(&s.archive(), "SELECT sum(count) FROM samples_1m"), archived + 1);
    assert_eq!(duck_count(&s.archive(), "SELECT sum(count) FROM agg_1h"), archived + 1);
    let below = format!("SELECT count(*) FROM samples WHERE ts < {}", T0 - HOUR);
    assert_eq!(count(&rusqlite::Connection::open(s.hot()).unwrap(), &below), 0);
}

#[test]
fn each_tier_keeps_its_own_retention_with_time_passed_in() {
    let s = Stores::new();
    // A day three days ago, then the hour before last: the agent was away in between.
    seed_hot(&s.hot(), &some_series(1), T0 - 3 * DAY, T0 - 2 * DAY, 60);
    seed_hot(&s.hot(), &some_series(1), T0 - 2 * HOUR, T0 - HOUR, 60);
    let p = Policy {
        hot_window: HOUR,
        chunk: 24 * HOUR,
        raw_retention: Some(DAY),
        minute_retention: Some(3 * DAY),
        hour_retention: None,
    };
    s.rollup(T0, &p);
    let a = s.archive();
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), 60, "raw older than a day is gone");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1m"), 24 * 60, "the day raw keeps no longer, in minutes");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_1m"), 25 * 60, "minutes are kept three days");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1h"), 25);
    // A day later the agent has moved more samples; that rollup applies retention again.
    // Raw goes a whole UTC day at a time: the hour before last is a day old, its UTC day not.
    seed_hot(&s.hot(), &some_series(1), T0 + DAY, T0 + DAY + HOUR, 60);
    s.rollup(T0 + DAY + 2 * HOUR, &p);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1m"), 0, "the old day's minutes are gone");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), 120, "both hours are raw");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1h"), 26, "hours are kept forever");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_best WHERE tier = '1h'"), 24, "the old day, in hours");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_best WHERE tier = '1m'"), 0);
    // A day later again, that hour's day has aged out of raw: it is in minutes now.
    seed_hot(&s.hot(), &some_series(1), T0 + 2 * DAY, T0 + 2 * DAY + HOUR, 60);
    s.rollup(T0 + 2 * DAY + 2 * HOUR, &p);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), 120, "the two newer hours are raw");
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM agg_1m"), 60, "the hour before last, in its minutes");
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM samples_1m"), 180, "each sample counted once");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_best WHERE tier = '1m'"), 60);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples_best WHERE tier = '1h'"), 24);
}

#[test]
fn a_rollup_onto_a_full_disk_loses_nothing_and_completes_once_space_returns() {
    let Some(disk) = crate::util::SmallDisk::mount("32m") else {
        crate::util::require(false, "mounting a tmpfs (root)");
        return;
    };
    let hot_dir = tempfile::tempdir().unwrap();
    let hot = hot_dir.path().join("hot.sqlite");
    let arch = disk.dir.path().join("archive.duckdb");
    // Twelve hour-chunks of 1 s samples; the archive's disk has room for a few of them.
    let total = seed_hot(&hot, &some_series(9), T0 - 12 * HOUR, T0, 1);
    let filler = disk.fill();
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&filler).unwrap().set_len(len - 3 * 1024 * 1024).unwrap();
    let stop = AtomicBool::new(false);
    let mut store = Store::open(&hot).unwrap();
    let err = archive::rollup(&mut store, &arch, T0 + HOUR, &policy(HOUR), &stop).expect_err("the disk is full");
    assert!(err.to_string().contains("No space left on device"), "{err}");
    let hot_count = || count(&rusqlite::Connection::open(&hot).unwrap(), "SELECT count(*) FROM samples");
    let kept = hot_count();
    assert!(kept > 0, "the hot store keeps what could not be archived");
    assert!((kept as u64) < total, "the disk filled up mid-rollup, after some chunks committed");
    std::fs::remove_file(&filler).unwrap();
    archive::rollup(&mut store, &arch, T0 + HOUR, &policy(HOUR), &stop).unwrap();
    assert_eq!(hot_count(), 0);
    assert_eq!(duck_count(&arch, "SELECT count(*) FROM raw_rows") as u64, total, "every sample, once");
    assert_eq!(duck_count(&arch, "SELECT count(*) - count(DISTINCT (series_id, ts)) FROM raw_rows"), 0);
    assert_eq!(duck_count(&arch, "SELECT sum(count) FROM samples_1m") as u64, total);
    assert_eq!(duck_count(&arch, "SELECT sum(count) FROM agg_1h") as u64, total);
}

#[test]
fn a_clock_stepped_far_ahead_does_not_prune_what_was_just_archived() {
    let s = Stores::new();
    let total = seed_hot(&s.hot(), &some_series(2), T0 - 3 * HOUR, T0, 10);
    // The wall clock reads a year ahead (a dead RTC battery, a bad NTP answer).
    s.rollup(T0 + 365 * DAY, &policy(HOUR));
    let a = s.archive();
    assert_eq!(s.hot_count(), 0);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows") as u64, total, "raw is kept 30 days of the data");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1m"), 0, "nothing aged out of raw");
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM agg_1h") as u64, total);
}

#[test]
fn a_trend_finer_than_what_a_tier_still_keeps_falls_back_to_the_next_coarser_tier() {
    let s = Stores::new();
    // Three days at 10 s; raw is kept a day, minutes two, hours forever.
    let total = seed_hot(&s.hot(), &some_series(1), T0 - 3 * DAY, T0, 10);
    let p = Policy {
        hot_window: HOUR,
        chunk: 24 * HOUR,
        raw_retention: Some(DAY),
        minute_retention: Some(2 * DAY),
        hour_retention: None,
    };
    s.rollup(T0 + HOUR, &p);
    let archive = Archive::open_read(&s.archive()).unwrap();
    let sel = Selector { metric: "cpu.usage_percent".into(), labels: vec![] };
    let points = hostwatch::trend::trend(None, Some(&archive), &sel, T0 - 3 * DAY, T0, 30).unwrap();
    let count_at = |t: i64| points.iter().find(|p| p.bucket == t).map(|p| p.count);
    // Raw goes a whole UTC day at a time (T0 is 08:00 UTC): raw for the last 32 hours (30 s
    // buckets of 3), minutes for the 15 before (6 each, kept 47 hours back from T0 + 1 h),
    // hours before that (360 each): every sample counted once.
    assert_eq!(points.len(), 32 * 120 + 15 * 60 + 25);
    assert_eq!(points.iter().map(|p| p.count).sum::<i64>() as u64, total);
    assert_eq!((count_at(T0 - 30), count_at(T0 - 40 * HOUR), count_at(T0 - 3 * DAY)), (Some(3), Some(6), Some(360)));
    // A range the archive has not reached yet is simply empty there.
    assert_eq!(hostwatch::trend::trend(None, Some(&archive), &sel, T0 + HOUR, T0 + 2 * HOUR, 30).unwrap(), vec![]);
}

#[test]
fn trend_joins_the_archive_and_the_hot_store_at_the_watermark() {
    let s = Stores::new();
    let series = some_series(3);
    seed_hot(&s.hot(), &series, T0 - 6 * HOUR, T0, 10);
    s.rollup(T0, &policy(3 * HOUR));
    let store = Store::open_read_only(&s.hot()).unwrap();
    let archive = Archive::open_read(&s.archive()).unwrap();
    let sel = Selector { metric: "disk.used_percent".into(), labels: vec![] };
    let points = hostwatch::trend::trend(Some(&store), Some(&archive), &sel, T0 - 6 * HOUR, T0, HOUR).unwrap();
    assert_eq!(points.len(), 6, "three hours from the archive, three from the hot store");
    for p in &points {
        assert_eq!((p.count, p.min, p.max), (360, 1000.0, 1099.0));
    }
    // Two-hour buckets straddle the watermark in the middle and still count exactly.
    let wide = hostwatch::trend::trend(Some(&store), Some(&archive), &sel, T0 - 6 * HOUR, T0, 2 * HOUR).unwrap();
    assert_eq!(wide.iter().map(|p| p.count).collect::<Vec<_>>(), vec![720, 720, 720]);

    let all_cpus = Selector { metric: "cpu.usage_percent".into(), labels: vec![] };
    let one = hostwatch::trend::trend(Some(&store), Some(&archive), &all_cpus, T0 - HOUR, T0, HOUR).unwrap();
    assert_eq!(one.len(), 1, "only one cpu series in this seed");
    let none = Selector { metric: "cpu.usage_percent".into(), labels: vec![("cpu", "9".into())] };
    let err = hostwatch::trend::one_series(Some(&store), Some(&archive), &none).unwrap_err();
    assert_eq!(err.to_string(), "no series matches cpu.usage_percent{cpu=\"9\"}: `hostwatch series` lists them");
}

#[test]
fn grouped_trends_equal_one_trend_per_group_across_the_watermark() {
    use hostwatch::metrics::{self as m, SeriesKey};
    use hostwatch::store::Group;
    use hostwatch::trend::{trend, trends};
    let s = Stores::new();
    // Three pids of two names, and a third name left out of the groups asked for.
    let procs: Vec<SeriesKey> = [("make", "1"), ("make", "2"), ("cc", "3"), ("ld", "4")]
        .iter()
        .map(|(name, pid)| SeriesKey::labelled(&m::PROC_CPU, vec![("name", (*name).into()), ("pid", (*pid).into())]))
        .collect();
    seed_hot(&s.hot(), &procs, T0 - 6 * HOUR, T0, 10);
    s.rollup(T0, &policy(3 * HOUR));
    let store = Store::open_read_only(&s.hot()).unwrap();
    let archive = Archive::open_read(&s.archive()).unwrap();
    let both = (Some(&store), Some(&archive));
    let sel = Selector { metric: m::PROC_CPU.name.into(), labels: vec![] };
    let one = |labels: Vec<(&'static str, String)>| {
        let sel = Selector { metric: m::PROC_CPU.name.into(), labels };
        trend(both.0, both.1, &sel, T0 - 6 * HOUR, T0, 2 * HOUR).unwrap()
    };

    let names = ["make".to_owned(), "cc".to_owned()];
    let range = (T0 - 6 * HOUR, T0);
    let utc = hostwatch::units::Shift::fixed(0);
    let by_name = trends(both.0, both.1, &sel, Group::Label("name", &names), range, (2 * HOUR, &utc)).unwrap();
    assert_eq!(by_name.keys().collect::<Vec<_>>(), ["cc", "make"], "only the names asked for");
    for name in names {
        assert_eq!(by_name[&name], one(vec![("name", name.clone())]), "{name}");
    }
    assert_eq!(by_name["make"].iter().map(|p| p.count).collect::<Vec<_>>(), vec![1440, 1440, 1440]);

    let by_series = trends(both.0, both.1, &sel, Group::Series, range, (2 * HOUR, &utc)).unwrap();
    assert_eq!(by_series.len(), 4);
    assert_eq!(by_series[r#"{"name":"ld","pid":"4"}"#], one(vec![("pid", "4".into())]));
    assert_eq!(trends(both.0, both.1, &sel, Group::Label("name", &[]), range, (2 * HOUR, &utc)).unwrap().len(), 0);
}

/// Days in the hot store are read in pieces, each on a thread and connection of its own,
/// beside the archive: buckets that straddle two pieces still count every sample once.
#[test]
fn a_long_hot_range_read_in_pieces_counts_every_sample_once() {
    let s = Stores::new();
    let (from, until, every) = (T0 - 5 * DAY - 7, T0, 60);
    seed_hot(&s.hot(), &some_series(3), from, until, every);
    let store = Store::open_read_only(&s.hot()).unwrap();
    // Series 0 is the only CPU series: its i-th sample is i % 100.
    let sel = Selector { metric: "cpu.usage_percent".into(), labels: vec![] };
    let step = 7 * HOUR;
    let mut expected: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
    for (i, ts) in (from..until).step_by(every as usize).enumerate() {
        expected.entry(ts.div_euclid(step) * step).or_default().push((i % 100) as f64);
    }
    let points = hostwatch::trend::trend(Some(&store), None, &sel, from, until, step).unwrap();
    assert_eq!(points.len(), expected.len());
    for (p, (bucket, values)) in points.iter().zip(&expected) {
        let sum: f64 = values.iter().sum();
        assert_eq!((p.bucket, p.count), (*bucket, values.len() as i64));
        assert_eq!(
            (p.min, p.max),
            (values.iter().copied().fold(f64::MAX, f64::min), values.iter().copied().fold(0.0, f64::max))
        );
        assert!(
            (p.avg - sum / values.len() as f64).abs() < 1e-9,
            "{bucket}: {} against {}",
            p.avg,
            sum / values.len() as f64
        );
    }
}

/// Past 500 series a trend filters the range's samples by series after reading them: the
/// same answer as naming them, and no other metric's samples slip in.
#[test]
fn a_trend_over_many_series_counts_each_of_them_and_nothing_else() {
    use hostwatch::metrics::{self as m, SeriesKey};
    use hostwatch::store::Group;
    use hostwatch::trend::trends;
    let s = Stores::new();
    let mut keys: Vec<SeriesKey> = (0..600)
        .map(|pid| {
            let name = if pid % 2 == 0 { "even" } else { "odd" };
            SeriesKey::labelled(&m::PROC_CPU, vec![("name", name.into()), ("pid", pid.to_string())])
        })
        .collect();
    keys.push(SeriesKey::with(&m::CPU_USAGE, "cpu", "total"));
    seed_hot(&s.hot(), &keys, T0 - HOUR, T0, 60);
    let store = Store::open_read_only(&s.hot()).unwrap();
    let sel = Selector { metric: m::PROC_CPU.name.into(), labels: vec![] };
    let names = ["even".to_owned(), "odd".to_owned()];
    let utc = hostwatch::units::Shift::fixed(0);
    let by_name =
        trends(Some(&store), None, &sel, Group::Label("name", &names), (T0 - HOUR, T0), (HOUR, &utc)).unwrap();
    assert_eq!(by_name["even"][0].count, 300 * 60);
    assert_eq!(by_name["odd"][0].count, 300 * 60);
    let all = trends(Some(&store), None, &sel, Group::All, (T0 - HOUR, T0), (HOUR, &utc)).unwrap();
    // Series k holds k * 1000 + (i % 100): the largest process value is series 599's.
    assert_eq!((all[""][0].count, all[""][0].max), (600 * 60, 599_059.0));
}

/// An archive whose minute tier repeated its raw rows (schema 4) keeps each sample counted
/// once: minutes raw holds whole lose their partials, a minute partly pruned loses its raw
/// rows (its partial counts them), minutes raw no longer holds keep theirs, and a minute
/// whose partials minute retention pruned before a late sample added one keeps its raw rows.
#[test]
fn the_minute_tier_of_an_older_archive_stops_repeating_raw_rows() {
    let s = Stores::new();
    {
        let conn = duckdb::Connection::open(s.archive()).unwrap();
        for (_, _, sql) in &archive::MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        let (whole, partly, aged, watermark) = (T0, T0 + 60, T0 - DAY, T0 + HOUR);
        let pruned = T0 + 120;
        conn.execute_batch(&format!(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1), (2), (3), (4);
             INSERT INTO series (id, metric, labels, unit, scale) VALUES (1, 'cpu.usage_percent', '{{\"cpu\":\"total\"}}', '%', 10);
             INSERT INTO raw_recent VALUES (1, {whole}, 10), (1, {whole} + 30, 30), (1, {partly} + 5, 50),
                                           (1, {pruned}, 20), (1, {pruned} + 9, 20);
             INSERT INTO agg_1m VALUES (1, {whole}, 10, 30, 40, 2, 30, {whole} + 30),
                                       (1, {partly}, 40, 50, 90, 2, 50, {partly} + 5),
                                       (1, {aged}, 70, 70, 70, 1, 70, {aged}),
                                       (1, {pruned}, 20, 20, 20, 1, 20, {pruned} + 9);
             UPDATE rollup_state SET watermark = {watermark};"
        ))
        .unwrap();
    }
    drop(Archive::open_write(&s.archive()).unwrap());
    let a = s.archive();
    assert_eq!(duck_count(&a, "SELECT count(*) FROM agg_1m"), 2, "the partly pruned minute and the aged one");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), 4, "the whole minute and the pruned one");
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM samples_1m"), 7, "each sample once");
    assert_eq!(duck_count(&a, "SELECT (sum(avg * count) * 10)::BIGINT FROM samples_1m"), 40 + 90 + 70 + 40);
}

#[test]
fn a_newer_archive_is_refused() {
    let s = Stores::new();
    drop(Archive::open_write(&s.archive()).unwrap());
    {
        let conn = duckdb::Connection::open(s.archive()).unwrap();
        conn.execute_batch("INSERT INTO schema_version VALUES (99)").unwrap();
    }
    let err = Archive::open_write(&s.archive()).err().expect("refused");
    assert!(err.to_string().contains("archive schema version 99, newer than this hostwatch"), "{err}");
}

#[test]
fn complete_days_move_to_raw_in_one_piece_and_the_current_day_stays_recent() {
    let s = Stores::new();
    let day = T0 - T0 % DAY;
    // 30 hours at one minute, ending six hours into a UTC day.
    let total = seed_hot(&s.hot(), &some_series(2), day - 24 * HOUR, day + 6 * HOUR, 60) as i64;
    s.rollup(day + 7 * HOUR, &policy(HOUR));
    let a = s.archive();
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw"), 2 * 24 * 60, "the complete day");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_recent"), 2 * 6 * 60, "today so far");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows"), total);
    assert_eq!(duck_count(&a, &format!("SELECT count(*) FROM raw WHERE ts >= {day}")), 0);
    // Laid out by series, runs alternately forwards and backwards in time, so that each
    // run starts where the one before ended.
    let steps = "SELECT series_id = lag(series_id) OVER w AS same, ts - lag(ts) OVER w AS step
                 FROM raw WINDOW w AS (ORDER BY rowid)";
    assert_eq!(duck_count(&a, &format!("SELECT count(DISTINCT step) FROM ({steps}) WHERE same")), 2, "+60 and -60");
    assert_eq!(duck_count(&a, &format!("SELECT max(abs(step)) FROM ({steps}) WHERE NOT same")), 0);
}

#[test]
fn a_sleep_past_retention_archives_the_hot_window_before_deleting_it() {
    let s = Stores::new();
    let series = some_series(3);
    let total = seed_hot(&s.hot(), &series, T0 - 10 * HOUR, T0, 10);
    let p = policy(6 * HOUR);
    archive::rollup_logged(&s.hot(), &s.archive(), T0, &p, &AtomicBool::new(false)).unwrap();
    let unarchived = s.hot_count();
    assert_eq!(unarchived, 3 * 6 * 360, "the last 6 hours wait in the hot store");

    // The laptop sleeps 8 days (retention is 7): the first flush on wake comes before the
    // first rollup, and must delete nothing the archive has not committed.
    let wake = T0 + 8 * DAY;
    let mut store = Store::open(&s.hot()).unwrap();
    store.keep_unarchived();
    store.write(&hostwatch::store::Batch::default(), wake, wake - 7 * DAY).unwrap();
    drop(store);
    assert_eq!(s.hot_count(), unarchived);

    archive::rollup_logged(&s.hot(), &s.archive(), wake, &p, &AtomicBool::new(false)).unwrap();
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) FROM raw_rows") as u64, total);
    assert_eq!(s.hot_count(), 0);
}

#[test]
fn before_any_rollup_retention_spares_every_sample_while_the_archive_is_on() {
    let s = Stores::new();
    seed_hot(&s.hot(), &some_series(1), T0 - HOUR, T0, 60);
    let mut store = Store::open(&s.hot()).unwrap();
    store.keep_unarchived();
    store.write(&hostwatch::store::Batch::default(), T0 + 30 * DAY, T0 + 23 * DAY).unwrap();
    assert_eq!(s.hot_count(), 60);
}

#[test]
fn a_job_reading_the_archive_defers_the_rollup_and_keeps_its_lock_against_other_processes() {
    let s = Stores::new();
    let series = some_series(3);
    let total = seed_hot(&s.hot(), &series, T0 - 10 * HOUR, T0, 10);
    let p = policy(6 * HOUR);
    assert!(matches!(s.rollup(T0, &p), Outcome::Moved { .. }));

    // The morning's catch-up review reads the archive while the start-up rollup is due.
    let job = Archive::open_read(&s.archive()).unwrap();
    let deferred = s.rollup(T0 + 2 * HOUR, &p);
    assert!(matches!(&deferred, Outcome::Deferred(why) if why.contains("held by")), "{deferred:?}");
    // The job's lock still keeps every other process's writer out (a second open in this
    // process would have converted it, and closing either dropped it).
    let out = crate::util::hostwatch(&[
        "--data-dir",
        s.dir.path().to_str().unwrap(),
        "query",
        "SELECT count(*) FROM raw_rows",
    ]);
    assert!(out.status.success(), "readers may share: {:?}", crate::util::text(&out));
    let py = std::process::Command::new("python3").args(["-c", "import duckdb"]).status().is_ok_and(|st| st.success());
    if crate::util::require(py, "Python's duckdb module (pip install duckdb)") {
        let writer = std::process::Command::new("python3")
            .args(["-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('CREATE TABLE intruder (a INT)')"])
            .arg(s.archive())
            .output()
            .unwrap();
        assert!(!writer.status.success(), "another process wrote beside the job");
        assert!(String::from_utf8_lossy(&writer.stderr).contains("lock"), "{writer:?}");
    }
    assert_eq!(job.watermark().unwrap(), T0 - 6 * HOUR);
    drop(job);

    assert!(matches!(s.rollup(T0 + 2 * HOUR, &p), Outcome::Moved { .. }));
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) FROM raw_rows") + s.hot_count(), total as i64);
}

#[test]
fn series_with_no_row_left_in_any_tier_leave_the_catalogue_and_new_ones_get_fresh_ids() {
    let s = Stores::new();
    let p = Policy {
        hot_window: 2 * HOUR,
        chunk: HOUR,
        raw_retention: Some(DAY),
        minute_retention: Some(2 * DAY),
        hour_retention: Some(3 * DAY),
    };
    let old = some_series(3);
    seed_hot(&s.hot(), &old, T0 - 10 * HOUR, T0 - 9 * HOUR, 10);
    s.rollup(T0, &p);
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) FROM series"), 3);

    // Five days on, those processes are long gone; one new series arrives.
    let later = T0 + 5 * DAY;
    let new = vec![hostwatch::metrics::SeriesKey::with(&hostwatch::metrics::CPU_USAGE, "cpu", "new")];
    let moved = seed_hot(&s.hot(), &new, later - 4 * HOUR, later - 3 * HOUR, 10);
    s.rollup(later, &p);
    let a = s.archive();
    assert_eq!(duck_count(&a, "SELECT count(*) FROM series"), 1, "the vanished series were pruned");
    assert_eq!(duck_count(&a, "SELECT count(*) FROM samples WHERE cpu = 'new'") as u64, moved);
    assert_eq!(duck_count(&a, "SELECT count(*) FROM raw_rows") as u64, moved);
}

/// A small archive has few free blocks: frees some in the file at `path` as a day's
/// compaction does on a big one, with a table written and dropped.
fn free_some_blocks(path: &std::path::Path) {
    let conn = duckdb::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE junk AS SELECT random() AS x FROM range(1000000); CHECKPOINT;
         CREATE TABLE kept AS SELECT random() AS x FROM range(100000); CHECKPOINT;
         DROP TABLE junk; CHECKPOINT;",
    )
    .unwrap();
}

#[test]
fn a_rewrite_gives_free_blocks_back_keeps_every_row_and_a_cut_short_copy_is_removed() {
    let s = Stores::new();
    // Three days rolled up at once: every hour lands in raw_recent, each complete day is
    // then rewritten into raw, and the blocks it held are left free in the file.
    seed_hot(&s.hot(), &some_series(6), T0 - 3 * DAY, T0, 10);
    assert!(matches!(s.rollup(T0 + 7 * HOUR, &policy(6 * HOUR)), Outcome::Moved { .. }));
    let path = s.archive();
    let counts = |p: &std::path::Path| {
        ["SELECT count(*) FROM raw_rows", "SELECT count(*) FROM agg_1m", "SELECT watermark FROM rollup_state"]
            .map(|q| duck_count(p, q))
    };
    let rows = counts(&path);
    free_some_blocks(&path);
    let size = Archive::open_write(&path).unwrap().size().unwrap();
    // Under MIN_REWRITE the agent's rollup keeps a file; forced at any size, a rewrite
    // gives the free blocks back and keeps every row and the watermark.
    let (before, after) = Archive::open_write(&path).unwrap().close_rewriting(0).unwrap();
    assert_eq!(before.used, size.used);
    let after =
        after.unwrap_or_else(|| panic!("{:.0}% free should be rewritten: {before:?}", before.free_share() * 100.0));
    assert!(before.free_share() > archive::MAX_FREE_SHARE, "{before:?}");
    assert!(after.file < before.file && after.free_share() <= archive::MAX_FREE_SHARE, "{before:?} -> {after:?}");
    assert_eq!(after.file, std::fs::metadata(&path).unwrap().len());
    assert_eq!(counts(&path), rows, "the same rows and watermark");
    assert!(!path.with_file_name("archive.duckdb.rewrite").exists());
    // The views still work, read-only too.
    assert!(duck_count(&path, "SELECT count(*) FROM samples_best") > 0);

    // A rewrite cut short (a kill -9 before its rename) left its copy: the next open
    // removes it and the archive is the old file, whole.
    let left = path.with_file_name("archive.duckdb.rewrite");
    std::fs::write(&left, b"half a copy").unwrap();
    Archive::open_write(&path).unwrap().close().unwrap();
    assert!(!left.exists());
    assert_eq!(counts(&path), rows);
}

#[test]
fn a_rewrite_on_a_disk_without_room_for_the_copy_leaves_the_archive_as_it_is() {
    let Some(disk) = crate::util::SmallDisk::mount("24m") else {
        crate::util::require(false, "mounting a tmpfs (root)");
        return;
    };
    let s = Stores::new();
    seed_hot(&s.hot(), &some_series(3), T0 - DAY, T0, 10);
    assert!(matches!(s.rollup(T0 + 7 * HOUR, &policy(6 * HOUR)), Outcome::Moved { .. }));
    let path = disk.dir.path().join("archive.duckdb");
    std::fs::copy(s.archive(), &path).unwrap();
    free_some_blocks(&path);
    let rows = duck_count(&path, "SELECT count(*) FROM raw_rows");
    // Free blocks well past 15%, but no room beside the file for a copy and a margin: it
    // is not tried, nothing is written, the archive stays whole.
    let (before, after) = Archive::open_write(&path).unwrap().close_rewriting(0).unwrap();
    assert!(before.free_share() > archive::MAX_FREE_SHARE, "{before:?}");
    assert_eq!(after, None, "no rewrite without room");
    assert!(!path.with_file_name("archive.duckdb.rewrite").exists());
    assert_eq!(duck_count(&path, "SELECT count(*) FROM raw_rows"), rows);
}
