//! Values of a few series: raw ones for the reviews' percentiles (a probe answers every few
//! seconds at most: a day of one is a few thousand values), and one-minute means for a
//! replay of the rules where raw samples are gone.

use duckdb::params;

use super::{Archive, ArchiveError};
use crate::metrics::Metric;
use crate::store::SeriesValues;

impl Archive {
    /// Every raw value of the series of `metrics` in `[from, to)` (unix seconds), by series,
    /// as the hot store's `series_between` gives its own.
    pub fn series_between(&self, metrics: &[&Metric], from: i64, to: i64) -> Result<Vec<SeriesValues>, ArchiveError> {
        // Metric names are dotted words: a comma never occurs in one.
        let list = metrics.iter().map(|m| m.name).collect::<Vec<_>>().join(",");
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT s.metric, s.labels, r.value / s.scale, r.ts FROM raw_rows r JOIN series s ON s.id = r.series_id
                 WHERE r.ts >= ? AND r.ts < ? AND list_contains(string_split(?, ','), s.metric)
                 ORDER BY s.metric, s.labels, r.ts",
            )?;
            let rows = stmt.query_map(params![from, to, list], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(SeriesValues::from_rows(rows.collect::<duckdb::Result<Vec<_>>>()?))
        })
    }

    /// The one-minute means of the series of `metrics` in `[from, to)`, stamped with the
    /// minute's start, by series: what a replay of the rules reads where raw rows are gone.
    pub fn minute_means_between(
        &self,
        metrics: &[&Metric],
        from: i64,
        to: i64,
    ) -> Result<Vec<SeriesValues>, ArchiveError> {
        let list = metrics.iter().map(|m| m.name).collect::<Vec<_>>().join(",");
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT s.metric, s.labels, sum(a.sum) / sum(a.count) / any_value(s.scale), a.bucket
                 FROM agg_1m a JOIN series s ON s.id = a.series_id
                 WHERE a.bucket >= ? AND a.bucket < ? AND list_contains(string_split(?, ','), s.metric)
                 GROUP BY s.metric, s.labels, a.bucket ORDER BY s.metric, s.labels, a.bucket",
            )?;
            let rows = stmt.query_map(params![from, to, list], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(SeriesValues::from_rows(rows.collect::<duckdb::Result<Vec<_>>>()?))
        })
    }

    /// Unix seconds of the oldest raw row, if any: below it only aggregates remain.
    pub fn raw_from(&self) -> Result<Option<i64>, ArchiveError> {
        self.sql(|c| c.query_row("SELECT min(ts) FROM raw_rows", [], |r| r.get(0)))
    }
}
