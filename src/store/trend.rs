//! The hot store's side of a trend: per-bucket partial aggregates of one series.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{Store, StoreError};
use crate::metrics::Partial;

/// A series selection: a metric and label equalities. Label keys are the catalogue's
/// ([`crate::metrics::LABELS`]): they are placed in the SQL, so no caller can bring its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Metric name.
    pub metric: String,
    /// (label, value) pairs that must all match.
    pub labels: Vec<(&'static str, String)>,
}

impl Selector {
    /// `metric = ? AND <label k> = ? ...` with the SQL for a label given by `label`, and the
    /// values to bind, in order. Both stores build their filters with it.
    pub fn condition(&self, metric: &str, label: impl Fn(&str) -> String) -> (String, Vec<String>) {
        let mut sql = format!("{metric} = ?");
        let mut args = vec![self.metric.clone()];
        for (k, v) in &self.labels {
            sql.push_str(&format!(" AND {} = ?", label(k)));
            args.push(v.clone());
        }
        (sql, args)
    }

    /// The condition on the hot store's `series se`, and its parameters.
    fn sql(&self) -> (String, Vec<Value>) {
        let (sql, args) = self.condition("se.metric", |k| format!("json_extract(se.labels, '$.{k}')"));
        (sql, args.into_iter().map(Value::Text).collect())
    }
}

impl Store {
    /// The labels (canonical JSON) of every series the selector matches.
    pub fn matching_series(&self, sel: &Selector) -> Result<Vec<String>, StoreError> {
        let (cond, args) = sel.sql();
        self.sql(|c| {
            let mut stmt = c.prepare(&format!("SELECT se.labels FROM series se WHERE {cond}"))?;
            let rows = stmt.query_map(params_from_iter(args), |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Partials per `step`-second bucket for samples in `[from, until)`, and the series'
    /// scale (stored value = real value * scale), if any sample matched.
    pub fn partials(
        &self,
        sel: &Selector,
        from: i64,
        until: i64,
        step: i64,
    ) -> Result<(Vec<Partial>, Option<f64>), StoreError> {
        let (cond, mut args) = sel.sql();
        args.extend([Value::Integer(from), Value::Integer(until)]);
        // CROSS JOIN keeps samples the outer loop: samples are keyed by time first, so one
        // scan of the range serves every matching series (all the pids of a name), where a
        // loop over series would scan the range once per series.
        let sql = format!(
            "SELECT (s.ts / {step}) * {step} AS b, min(s.value), max(s.value), sum(s.value), count(*), max(se.scale)
             FROM samples s CROSS JOIN series se ON se.id = s.series_id
             WHERE {cond} AND s.ts >= ? AND s.ts < ? GROUP BY b ORDER BY b"
        );
        self.sql(|c| {
            let mut stmt = c.prepare(&sql)?;
            let mut scale = None;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    scale = Some(r.get::<_, f64>(5)?);
                    Ok(Partial {
                        bucket: r.get(0)?,
                        min: r.get(1)?,
                        max: r.get(2)?,
                        sum: r.get::<_, i64>(3)?.into(),
                        count: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, scale))
        })
    }
}
