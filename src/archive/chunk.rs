//! One chunk of a rollup as the archive stores it: rows mapped to archive series and
//! sorted by series then time (the order the tables keep), and their minute and hour
//! partial aggregates, computed here in one pass over rows already in memory rather than
//! by DuckDB grouping them again. Both go to DuckDB as Arrow columns, one appender call
//! per table (row-by-row appending cost a quarter of a rollup).

use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, Int32Array, Int64Array};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;

/// One archived sample: (archive series id, Unix seconds, stored value).
pub(super) type Row = (i32, i64, i64);

/// A partial aggregate of one series over one bucket, as `agg_1m` and `agg_1h` hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bucket {
    pub series_id: i32,
    /// Unix seconds of the bucket's start.
    pub bucket: i64,
    pub min: i64,
    pub max: i64,
    pub sum: i64,
    pub count: i32,
    /// The value at `last_ts`, the bucket's newest sample.
    pub last: i64,
    pub last_ts: i64,
}

/// The partials of `rows` (sorted by series, then time) in buckets of `width` seconds:
/// one per (series, bucket) present.
pub(super) fn buckets(rows: &[Row], width: i64) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for &(series_id, ts, v) in rows {
        let bucket = ts - ts.rem_euclid(width);
        match out.last_mut() {
            Some(b) if b.series_id == series_id && b.bucket == bucket => {
                b.min = b.min.min(v);
                b.max = b.max.max(v);
                b.sum += v;
                b.count += 1;
                (b.last, b.last_ts) = (v, ts);
            }
            _ => out.push(Bucket { series_id, bucket, min: v, max: v, sum: v, count: 1, last: v, last_ts: ts }),
        }
    }
    out
}

/// `rows` as the columns of `raw_recent`: (series_id, ts, value).
pub(super) fn rows_batch(rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_from_iter([
        ("series_id", int32(rows.iter().map(|r| r.0))),
        ("ts", int64(rows.iter().map(|r| r.1))),
        ("value", int64(rows.iter().map(|r| r.2))),
    ])
}

/// `buckets` as the columns of `agg_1m` and `agg_1h`.
pub(super) fn buckets_batch(buckets: &[Bucket]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_from_iter([
        ("series_id", int32(buckets.iter().map(|b| b.series_id))),
        ("bucket", int64(buckets.iter().map(|b| b.bucket))),
        ("min", int64(buckets.iter().map(|b| b.min))),
        ("max", int64(buckets.iter().map(|b| b.max))),
        ("sum", int64(buckets.iter().map(|b| b.sum))),
        ("count", int32(buckets.iter().map(|b| b.count))),
        ("last", int64(buckets.iter().map(|b| b.last))),
        ("last_ts", int64(buckets.iter().map(|b| b.last_ts))),
    ])
}

fn int32(values: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(values.collect::<Int32Array>())
}

fn int64(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(values.collect::<Int64Array>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_series_and_bucket_edges_and_keep_the_newest_value() {
        let rows = [(1, 59, 5), (1, 60, 7), (1, 61, -3), (1, 119, 4), (1, 120, 9), (2, 60, 100), (2, 61, 50)];
        let b = |series_id, bucket, min, max, sum, count, last, last_ts| Bucket {
            series_id,
            bucket,
            min,
            max,
            sum,
            count,
            last,
            last_ts,
        };
        assert_eq!(
            buckets(&rows, 60),
            vec![
                b(1, 0, 5, 5, 5, 1, 5, 59),
                b(1, 60, -3, 7, 8, 3, 4, 119),
                b(1, 120, 9, 9, 9, 1, 9, 120),
                b(2, 60, 50, 100, 150, 2, 50, 61)
            ]
        );
        assert_eq!(
            buckets(&rows, 3600).iter().map(|b| (b.series_id, b.count, b.sum)).collect::<Vec<_>>(),
            [(1, 5, 22), (2, 2, 150)]
        );
        assert_eq!(buckets(&[], 60), vec![]);
    }
}
