//! The hot store on real SQLite files: precision, retention, repeats, restarts, versions.

use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Gap, Store, StoreError};

use crate::util::count;

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn sample(key: &SeriesKey, ts: i64, value: f64) -> Sample {
    Sample { key: key.clone(), ts, value }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    (dir, store)
}

#[test]
fn values_are_kept_at_their_metrics_precision() {
    let (_dir, mut store) = open();
    let cpu = SeriesKey::with(&m::CPU_USAGE, "cpu", "total");
    let mem = SeriesKey::plain(&m::MEM_USED);
    let temp = SeriesKey::labelled(&m::TEMP, vec![("sensor", "k10temp".into()), ("label", "Tctl".into())]);
    let batch = Batch {
        samples: vec![sample(&cpu, T0, 12.345_678), sample(&mem, T0, 8_123_456_789.4), sample(&temp, T0, 61.26)],
        gaps: vec![],
        probes: vec![],
    };
    store.write(&batch, T0, T0 - DAY).unwrap();
    let latest: Vec<(String, f64)> = store.latest().unwrap().into_iter().map(|l| (l.series.metric, l.value)).collect();
    assert_eq!(
        latest,
        vec![
            ("cpu.usage_percent".into(), 12.3),
            // Memory comes from /proc/meminfo in pages: kept to the 4 KiB page.
            ("memory.used_bytes".into(), 1_983_266.0 * 4096.0),
            ("temp.celsius".into(), 61.3)
        ]
    );
}

#[test]
fn retention_deletes_old_samples_gaps_and_vanished_series_with_time_passed_in() {
    let (dir, mut store) = open();
    let old_proc = SeriesKey::labelled(&m::PROC_RSS, vec![("pid", "42".into()), ("name", "gone".into())]);
    let mem = SeriesKey::plain(&m::MEM_USED);
    let first = Batch {
        samples: vec![sample(&old_proc, T0, 1.0), sample(&mem, T0, 1.0)],
        gaps: vec![Gap { start_ts: T0 - 100, end_ts: T0 - 50, reason: "clock jump".into() }],
        probes: vec![],
    };
    store.write(&first, T0, T0 - 2 * DAY).unwrap();
    let later = T0 + 3 * DAY;
    store
        .write(&Batch { samples: vec![sample(&mem, later, 2.0)], gaps: vec![], probes: vec![] }, later, later - 2 * DAY)
        .unwrap();

    let conn = rusqlite::Connection::open(dir.path().join("hot.sqlite")).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM samples"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM gaps"), 0);
    let names: Vec<String> = store.series().unwrap().into_iter().map(|s| s.metric).collect();
    assert_eq!(names, vec!["memory.used_bytes"]);
    // A series pruned from the catalogue comes back with a new row when it reappears.
    store
        .write(
            &Batch { samples: vec![sample(&old_proc, later + 1, 3.0)], gaps: vec![], probes: vec![] },
            later + 1,
            later - 2 * DAY,
        )
        .unwrap();
    assert_eq!(store.latest().unwrap().len(), 2);
}

#[test]
fn a_repeated_second_keeps_the_first_value() {
    let (_dir, mut store) = open();
    let mem = SeriesKey::plain(&m::MEM_USED);
    store.write(&Batch { samples: vec![sample(&mem, T0, 4096.0)], gaps: vec![], probes: vec![] }, T0, 0).unwrap();
    store.write(&Batch { samples: vec![sample(&mem, T0, 8192.0)], gaps: vec![], probes: vec![] }, T0, 0).unwrap();
    assert_eq!(store.latest().unwrap()[0].value, 4096.0);
    assert_eq!(store.status().unwrap().samples, 1);
}

#[test]
fn a_restart_after_downtime_records_an_agent_stopped_gap() {
    let (_dir, mut store) = open();
    store.begin_run(T0, 15, 1, "test").unwrap();
    let mem = SeriesKey::plain(&m::MEM_USED);
    store.write(&Batch { samples: vec![sample(&mem, T0, 1.0)], gaps: vec![], probes: vec![] }, T0, 0).unwrap();
    store.end_run(T0 + 1).unwrap();
    store.begin_run(T0 + 10, 15, 2, "test").unwrap();
    assert_eq!(store.status().unwrap().last_gap, None, "10 s is within the gap bound");
    store.begin_run(T0 + 3600, 15, 3, "test").unwrap();
    let status = store.status().unwrap();
    assert_eq!(status.last_gap, Some(Gap { start_ts: T0, end_ts: T0 + 3600, reason: "agent stopped".into() }));
    let run = status.last_run.unwrap();
    assert_eq!((run.pid, run.started_at, run.stopped_at), (3, T0 + 3600, None));
}

#[test]
fn a_store_from_a_newer_agent_is_refused_not_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.sqlite");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::TooNew { version: 99, .. }));
    assert!(err.to_string().contains("has schema version 99, newer than this hostwatch understands"), "{err}");
}

#[test]
fn reading_a_missing_store_says_how_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_read_only(&dir.path().join("hot.sqlite")).err().expect("missing");
    assert!(err.to_string().ends_with("start the agent with `hostwatch run` first"), "{err}");
    assert!(!dir.path().join("hot.sqlite").exists(), "a reader never creates the store");
}
