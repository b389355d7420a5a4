//! The hot store's side of a trend: per-bucket partial aggregates of the series a selector
//! matches, in groups.

use std::collections::{BTreeMap, HashMap};

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{Store, StoreError};
use crate::metrics::Partial;
use crate::units::Shift;

/// Series ids named in a trend's query at most; past this the range's samples are filtered
/// by series after they are read.
const MAX_NAMED: usize = 500;

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

    /// Partials per group and `step`-second bucket for samples in `[from, until)`, each
    /// partial's bucket the key `shift` gives it (local days, say).
    ///
    /// The series come first (a small table): the selector's and the group's label lookups
    /// run once a series, not once a sample. The samples of the range are then aggregated
    /// per series and bucket, with integer compares only, and folded into groups here.
    pub fn partials(
        &self,
        sel: &Selector,
        group: Group<'_>,
        from: i64,
        until: i64,
        (step, shift): (i64, &Shift),
    ) -> Result<Grouped, StoreError> {
        let (cond, mut args) = sel.sql();
        let (key, only, values) = group.sql("se.labels", label_sql);
        args.extend(values.into_iter().map(Value::Text));
        let series_sql = format!("SELECT se.id, {key}, se.scale FROM series se WHERE {cond}{only}");
        self.sql(|c| {
            let mut stmt = c.prepare(&series_sql)?;
            let chosen: HashMap<i64, (String, f64)> = stmt
                .query_map(params_from_iter(args), |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
                .collect::<Result<_, _>>()?;
            if chosen.is_empty() {
                return Ok((Vec::new(), None));
            }
            // A few series are named in the query; many (the pids of a day) are filtered
            // here, as the range is scanned once either way.
            let (filter, mut params) = if chosen.len() <= MAX_NAMED {
                let marks = vec!["?"; chosen.len()].join(", ");
                (format!(" AND series_id IN ({marks})"), chosen.keys().map(|id| Value::Integer(*id)).collect())
            } else {
                (String::new(), Vec::new())
            };
            params.extend([Value::Integer(from), Value::Integer(until)]);
            let offset = shift.sql_offset("ts");
            let sql = format!(
                "SELECT series_id, ((ts + {offset}) / {step}) * {step} AS b, min(value), max(value), sum(value), count(*)
                 FROM samples WHERE 1{filter} AND ts >= ? AND ts < ? GROUP BY series_id, b"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut buckets: BTreeMap<(String, i64), Partial> = BTreeMap::new();
            let mut scale = None;
            let mut rows = stmt.query(params_from_iter(params))?;
            while let Some(r) = rows.next()? {
                let Some((g, s)) = chosen.get(&r.get::<_, i64>(0)?) else { continue };
                scale = Some(scale.map_or(*s, |m: f64| m.max(*s)));
                let p = Partial {
                    bucket: r.get(1)?,
                    min: r.get(2)?,
                    max: r.get(3)?,
                    sum: r.get::<_, i64>(4)?.into(),
                    count: r.get(5)?,
                };
                buckets.entry((g.clone(), p.bucket)).and_modify(|b| b.merge(&p)).or_insert(p);
            }
            Ok((buckets.into_iter().map(|((g, _), p)| (g, p)).collect(), scale))
        })
    }
}
