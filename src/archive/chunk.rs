//! One chunk of a rollup as the archive stores it: rows mapped to archive series and
//! sorted by series then time (the order the tables keep), and their minute and hour
//! partial aggregates, computed here in one pass over rows already in memory rather than
//! by DuckDB grouping them again.

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
