//! The archive's side of a trend: per-bucket partial aggregates from the best tier.

use duckdb::types::Value;
use duckdb::{Connection, params_from_iter};

use super::{Archive, ArchiveError};
use crate::metrics::Partial;
use crate::store::{Group, Grouped, Selector};
use crate::units::Shift;

/// The condition on the archive's `series s` (labels are columns there), and its
/// parameters; label keys are column names the caller checked against
/// [`crate::metrics::LABELS`].
fn condition(sel: &Selector) -> (String, Vec<Value>) {
    let (sql, args) = sel.condition("s.metric", |k| format!("s.{k}"));
    (sql, args.into_iter().map(Value::Text).collect())
}

impl Archive {
    /// The labels (canonical JSON) of every archived series the selector matches.
    pub fn matching_series(&self, sel: &Selector) -> Result<Vec<String>, ArchiveError> {
        let (cond, args) = condition(sel);
        self.sql(|c| {
            let mut stmt = c.prepare(&format!("SELECT s.labels FROM series s WHERE {cond}"))?;
            let rows = stmt.query_map(params_from_iter(args), |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Partials per group and `step`-second bucket in `[from, until)`, and the scale. They come
    /// from the coarsest tier whose buckets divide `step` (hours, else raw and the minutes
    /// raw no longer holds), and where retention has pruned that tier, from the next coarser
    /// one (as `samples_best` does): a 30 s trend over last year shows last year's minutes,
    /// not nothing. Each partial's bucket is the key `shift` gives it (local days, say).
    pub fn partials(
        &self,
        sel: &Selector,
        group: Group<'_>,
        from: i64,
        until: i64,
        (step, shift): (i64, &Shift),
    ) -> Result<Grouped, ArchiveError> {
        // The minute tier holds only minutes whose raw rows are gone: raw answers the rest.
        let first = match TIERS.iter().rposition(|t| step % t.width == 0 && shift.keeps_whole(t.width)) {
            Some(1) | None => 0,
            Some(tier) => tier,
        };
        self.sql(|c| {
            let (mut rows, mut scale) = (Vec::new(), None);
            // Newest first: each tier answers from where it starts, and the next coarser one
            // only for whole buckets before that.
            let (mut hi, mut reach) = (until, 1);
            for (i, tier) in TIERS.iter().enumerate().skip(first) {
                if hi <= from {
                    break;
                }
                let lo = if i + 1 == TIERS.len() { from } else { kept_from(c, tier)?.clamp(from, hi) };
                if lo < hi {
                    let (mut part, s) = tier_partials(c, tier, (sel, group), (lo, reach, hi), (step, shift))?;
                    rows.append(&mut part);
                    scale = scale.or(s);
                }
                (hi, reach) = (lo, TIERS.get(i + 1).map_or(1, |t| t.width));
            }
            Ok((rows, scale))
        })
    }
}

/// The oldest time `tier` still holds (`i64::MAX` when it is empty).
fn kept_from(c: &Connection, tier: &Tier) -> duckdb::Result<i64> {
    let sql = format!("SELECT coalesce(min({}), 9223372036854775807) FROM {}", tier.time, tier.table);
    c.query_row(&sql, [], |r| r.get(0))
}

/// Partials of `tier` for rows whose time `t` has `lo <= t` and `t + reach <= hi`.
fn tier_partials(
    c: &Connection,
    tier: &Tier,
    (sel, group): (&Selector, Group<'_>),
    (lo, reach, hi): (i64, i64, i64),
    (step, shift): (i64, &Shift),
) -> duckdb::Result<Grouped> {
    let (cond, mut args) = condition(sel);
    let (key, only, values) = group.sql("s.labels", |k| format!("s.{k}"));
    args.extend(values.into_iter().map(Value::Text));
    args.extend([Value::BigInt(lo), Value::BigInt(reach), Value::BigInt(hi)]);
    let Tier { table, time, min, max, sum, count, .. } = tier;
    let offset = shift.sql_offset(&format!("t.{time}"));
    let sql = format!(
        "SELECT {key} AS g, ((t.{time} + {offset}) // {step}) * {step} AS b, min(t.{min}), max(t.{max}),
             sum(t.{sum})::HUGEINT, {count}::BIGINT, max(s.scale)
             FROM {table} t JOIN series s ON s.id = t.series_id
             WHERE {cond}{only} AND t.{time} >= ? AND t.{time} + ? <= ? GROUP BY g, b ORDER BY g, b"
    );
    let mut stmt = c.prepare(&sql)?;
    let mut scale = None;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            scale = Some(r.get::<_, f64>(6)?);
            let partial =
                Partial { bucket: r.get(1)?, min: r.get(2)?, max: r.get(3)?, sum: r.get(4)?, count: r.get(5)? };
            Ok((r.get(0)?, partial))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, scale))
}

/// One tier as a trend reads it: its table, time column and aggregate expressions.
struct Tier {
    table: &'static str,
    /// Seconds per bucket (1 for raw).
    width: i64,
    time: &'static str,
    min: &'static str,
    max: &'static str,
    sum: &'static str,
    count: &'static str,
}

/// Finest first.
const TIERS: [Tier; 3] = [
    Tier { table: "raw_rows", width: 1, time: "ts", min: "value", max: "value", sum: "value", count: "count(*)" },
    Tier { table: "agg_1m", width: 60, time: "bucket", min: "min", max: "max", sum: "sum", count: "sum(t.count)" },
    Tier { table: "agg_1h", width: 3600, time: "bucket", min: "min", max: "max", sum: "sum", count: "sum(t.count)" },
];
