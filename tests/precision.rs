//! A release that keeps a metric at a new precision: files written by the previous one
//! (memory to the byte, CPU to 0.01 %) are rescaled, never read at the wrong scale.

use std::sync::atomic::AtomicBool;

use hostwatch::archive::{self, Policy};
use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Store};

use crate::util::duck_count;

const HOUR: i64 = 3600;
const T0: i64 = 1_800_000_000 - 1_800_000_000 % HOUR;
const MIB: f64 = 1024.0 * 1024.0;

fn mem(ts: i64, value: f64) -> Sample {
    Sample { key: SeriesKey::plain(&m::MEM_USED), ts, value }
}

#[test]
fn a_hot_store_from_the_previous_precision_is_rescaled_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.sqlite");
    let cpu = SeriesKey::with(&m::CPU_USAGE, "cpu", "total");
    let mut store = Store::open(&path).unwrap();
    let batch = Batch {
        samples: vec![mem(T0, 3.0 * MIB), Sample { key: cpu, ts: T0, value: 12.3 }],
        gaps: vec![],
        probes: vec![],
    };
    store.write(&batch, T0, 0).unwrap();
    drop(store);
    // As the previous release wrote them: bytes at scale 1, CPU % at scale 100.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE samples SET value = 3145728 WHERE series_id = (SELECT id FROM series WHERE metric = 'memory.used_bytes');
         UPDATE samples SET value = 1234 WHERE series_id = (SELECT id FROM series WHERE metric = 'cpu.usage_percent');
         UPDATE series SET scale = CASE metric WHEN 'memory.used_bytes' THEN 1 ELSE 100 END;",
    )
    .unwrap();
    let store = Store::open(&path).unwrap();
    let stored: Vec<(String, i64, f64)> = conn
        .prepare("SELECT se.metric, s.value, se.scale FROM samples s JOIN series se ON se.id = s.series_id ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored,
        vec![("cpu.usage_percent".into(), 123, 10.0), ("memory.used_bytes".into(), 768, 1.0 / 4096.0)],
        "stored at the new precision, once"
    );
    let latest: Vec<f64> = store.latest().unwrap().into_iter().map(|l| l.value).collect();
    assert_eq!(latest, vec![12.3, 3.0 * MIB]);
}

#[test]
fn an_archive_from_the_previous_release_is_migrated_and_rescaled_at_the_next_rollup() {
    let dir = tempfile::tempdir().unwrap();
    let (hot, arch) = (dir.path().join("hot.sqlite"), dir.path().join("archive.duckdb"));
    let (old, new) = (T0 - 3 * HOUR, T0 - 2 * HOUR);
    // The archive as the previous release left it: schema 1, memory to the byte (3 MiB).
    {
        let conn = duckdb::Connection::open(&arch).unwrap();
        conn.execute_batch(include_str!("../schema/duckdb/0001_archive.sql")).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
             INSERT INTO series (id, metric, labels, unit, scale) VALUES (1, 'memory.used_bytes', '{{}}', 'bytes', 1);
             INSERT INTO raw_recent VALUES (1, {old}, 3145728);
             INSERT INTO agg_1m VALUES (1, {old}, 3145728, 3145728, 3145728, 1, 3145728, {old});
             INSERT INTO agg_1h VALUES (1, {old}, 3145728, 3145728, 3145728, 1, 3145728, {old});
             UPDATE rollup_state SET watermark = {new};"
        ))
        .unwrap();
    }
    let mut store = Store::open(&hot).unwrap();
    store.write(&Batch { samples: vec![mem(new, 4.0 * MIB)], gaps: vec![], probes: vec![] }, new, 0).unwrap();
    let policy =
        Policy { hot_window: HOUR, chunk: HOUR, raw_retention: None, minute_retention: None, hour_retention: None };
    archive::rollup(&mut store, &arch, T0, &policy, &AtomicBool::new(false)).unwrap();
    let q = |sql: &str| duck_count(&arch, sql);
    assert_eq!(q("SELECT count(*) FROM series WHERE scale = 1.0 / 4096"), 1, "one series, in pages");
    assert_eq!(q("SELECT (SELECT max(version) FROM schema_version)"), 5);
    assert_eq!(q("SELECT count(*) FROM agg_1m"), 0, "its minute partial repeated a raw row");
    // Both rows in pages, and the views give back the bytes each release saw.
    assert_eq!(q("SELECT sum(value) FROM raw_rows"), 768 + 1024);
    assert_eq!(q("SELECT sum(sum) + sum(min) + sum(max) + sum(last) FROM agg_1h"), 4 * (768 + 1024));
    assert_eq!(q("SELECT sum(value)::BIGINT FROM samples"), 7 * 1024 * 1024);
    assert_eq!(q("SELECT sum(avg)::BIGINT FROM samples_1m"), 7 * 1024 * 1024);
    assert_eq!(q("SELECT count(*) FROM samples_best WHERE tier = 'raw'"), 2);
}
