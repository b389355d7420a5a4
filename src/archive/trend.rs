//! The archive's side of a trend: per-bucket partial aggregates from the best tier.

use duckdb::params_from_iter;
use duckdb::types::Value;

use super::{Archive, ArchiveError};
use crate::metrics::Partial;
use crate::store::Selector;

/// The condition on the archive's `series s` (labels are columns there), and its
/// parameters; label keys are column names the caller checked against
/// [`super::LABEL_COLUMNS`].
fn condition(sel: &Selector) -> (String, Vec<Value>) {
    let (sql, args) = sel.condition("s.metric", |k| format!("s.{k}"));
    (sql, args.into_iter().map(Value::Text).collect())
}

impl Archive {
    /// The labels (canonical JSON) of every archived series the selector matches.
    pub fn matching_series(&self, sel: &Selector) -> Result<Vec<String>, ArchiveError> {
        let (cond, args) = condition(sel);
        let mut stmt = self.conn.prepare(&format!("SELECT s.labels FROM series s WHERE {cond}")).map_err(self.err())?;
        let rows = stmt.query_map(params_from_iter(args), |r| r.get(0)).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Partials per `step`-second bucket in `[from, until)`, read from the coarsest tier
    /// whose buckets divide `step` (hours, minutes, else raw), and the series' scale.
    pub fn partials(
        &self,
        sel: &Selector,
        from: i64,
        until: i64,
        step: i64,
    ) -> Result<(Vec<Partial>, Option<i64>), ArchiveError> {
        let (cond, mut args) = condition(sel);
        args.extend([Value::BigInt(from), Value::BigInt(until)]);
        let tier = if step % 3600 == 0 {
            Some("agg_1h")
        } else if step % 60 == 0 {
            Some("agg_1m")
        } else {
            None
        };
        let sql = match tier {
            Some(table) => format!(
                "SELECT (a.bucket // {step}) * {step} AS b, min(a.min), max(a.max), sum(a.sum)::HUGEINT,
                 sum(a.count)::BIGINT, max(s.scale)
                 FROM {table} a JOIN series s ON s.id = a.series_id
                 WHERE {cond} AND a.bucket >= ? AND a.bucket < ? GROUP BY b ORDER BY b"
            ),
            None => format!(
                "SELECT (r.ts // {step}) * {step} AS b, min(r.value), max(r.value), sum(r.value)::HUGEINT,
                 count(*)::BIGINT, max(s.scale)
                 FROM raw_rows r JOIN series s ON s.id = r.series_id
                 WHERE {cond} AND r.ts >= ? AND r.ts < ? GROUP BY b ORDER BY b"
            ),
        };
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let mut scale = None;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                scale = Some(r.get::<_, i64>(5)?);
                Ok(Partial { bucket: r.get(0)?, min: r.get(1)?, max: r.get(2)?, sum: r.get(3)?, count: r.get(4)? })
            })
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok((rows, scale))
    }
}
