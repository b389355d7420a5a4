//! Raw values of a few series, for the reviews' percentiles (a probe answers every few
//! seconds at most: a day of one is a few thousand values).

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
}
