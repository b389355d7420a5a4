//! The hot store's side of a trend: per-bucket partial aggregates of the series a selector
//! matches, in groups.

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
        let (sql, args) = self.condition("se.metric", label_sql);
        (sql, args.into_iter().map(Value::Text).collect())
    }
}

/// The hot store's SQL for label `k` of `series se`.
fn label_sql(k: &str) -> String {
    format!("json_extract(se.labels, '$.{k}')")
}

/// How the series a selector matches are grouped, one trend per group. Whatever the groups,
/// each store answers in one query: samples are keyed by time first, so a query per group
/// would scan the time range once per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group<'a> {
    /// All together, one trend (key `""`).
    All,
    /// One trend per series, keyed by its labels (canonical JSON, alike in both stores).
    Series,
    /// One trend per value of a catalogue label, for these values only (all the pids of
    /// each process name, say).
    Label(&'static str, &'a [String]),
}

impl Group<'_> {
    /// The group key's SQL, the extra condition (`""` or ` AND ...`) and its values, with
    /// `labels` the SQL of the canonical labels and `label` the SQL of one label.
    pub fn sql(&self, labels: &str, label: impl Fn(&str) -> String) -> (String, String, Vec<String>) {
        match self {
            Group::All => ("''".to_owned(), String::new(), Vec::new()),
            Group::Series => (labels.to_owned(), String::new(), Vec::new()),
            Group::Label(k, values) => {
                let marks = vec!["?"; values.len()].join(", ");
                (label(k), format!(" AND {} IN ({marks})", label(k)), values.to_vec())
            }
        }
    }

    /// Whether no series can be in any group (a label group with no values).
    pub fn is_empty(&self) -> bool {
        matches!(self, Group::Label(_, values) if values.is_empty())
    }
}

/// Partials keyed by group, and the series' scale (stored value = real value * scale) if
/// any sample matched: what each store's `partials` answers.
pub type Grouped = (Vec<(String, Partial)>, Option<f64>);

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

    /// Partials per group and `step`-second bucket for samples in `[from, until)`.
    pub fn partials(
        &self,
        sel: &Selector,
        group: Group<'_>,
        from: i64,
        until: i64,
        step: i64,
    ) -> Result<Grouped, StoreError> {
        let (cond, mut args) = sel.sql();
        let (key, only, values) = group.sql("se.labels", label_sql);
        args.extend(values.into_iter().map(Value::Text));
        args.extend([Value::Integer(from), Value::Integer(until)]);
        // CROSS JOIN keeps samples the outer loop: one scan of the range serves every group.
        let sql = format!(
            "SELECT {key} AS g, (s.ts / {step}) * {step} AS b, min(s.value), max(s.value), sum(s.value), count(*),
                 max(se.scale)
             FROM samples s CROSS JOIN series se ON se.id = s.series_id
             WHERE {cond}{only} AND s.ts >= ? AND s.ts < ? GROUP BY g, b ORDER BY g, b"
        );
        self.sql(|c| {
            let mut stmt = c.prepare(&sql)?;
            let mut scale = None;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    scale = Some(r.get::<_, f64>(6)?);
                    let partial = Partial {
                        bucket: r.get(1)?,
                        min: r.get(2)?,
                        max: r.get(3)?,
                        sum: r.get::<_, i64>(4)?.into(),
                        count: r.get(5)?,
                    };
                    Ok((r.get(0)?, partial))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, scale))
        })
    }
}
