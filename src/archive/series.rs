//! The archive's series catalogue: one row per series, with the scale its rows are stored
//! at. A rollup maps hot-store series onto it, adding new ones.
//!
//! A series has one scale in the archive, the same as in the hot store: when a release
//! changes a metric's precision, the hot store rescales at open and the next rollup
//! rescales that series' archived rows (raw and both aggregate tiers) in the transaction
//! that brings its new rows, so no row is ever read at the wrong scale.

use std::collections::HashMap;

use duckdb::{Transaction, params};

use super::{Archive, ArchiveError};
use crate::metrics::LABELS;
use crate::store::HotSeries;

/// An archived series: its id and the scale of its stored values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Entry {
    pub id: i32,
    pub scale: f64,
}

/// The catalogue by (metric, labels).
pub(super) type Catalogue = HashMap<(String, String), Entry>;

impl Archive {
    /// Every archived series, by (metric, labels).
    pub(super) fn catalogue(&self) -> Result<Catalogue, ArchiveError> {
        self.sql(|c| {
            let mut stmt = c.prepare("SELECT metric, labels, id, scale FROM series")?;
            let rows =
                stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), Entry { id: r.get(2)?, scale: r.get(3)? })))?;
            rows.collect()
        })
    }
}

/// The archive id of each hot series (by hot id), adding new series to the catalogue and
/// rescaling archived rows whose scale is no longer the hot store's, inside `tx`.
/// `catalogue` is updated as the rows are: if `tx` does not commit it no longer matches the
/// file, and the caller drops it (a failed rollup ends there).
pub(super) fn map_series(
    tx: &Transaction,
    series: &[HotSeries],
    catalogue: &mut Catalogue,
) -> Result<HashMap<i64, i32>, duckdb::Error> {
    let mut hot_to_archive = HashMap::with_capacity(series.len());
    let mut stale = Vec::new();
    // Past the highest id in use: pruned series leave holes, so the count is no new id.
    let mut next_id = catalogue.values().map(|e| e.id).max().unwrap_or(0).saturating_add(1);
    for s in series {
        let key = (s.metric.clone(), s.labels.clone());
        let id = match catalogue.get(&key).copied() {
            Some(entry) if entry.scale == s.scale => entry.id,
            Some(entry) => {
                stale.push((entry.id, entry.scale, s.scale));
                catalogue.insert(key, Entry { scale: s.scale, ..entry });
                entry.id
            }
            None => {
                let id = next_id;
                next_id = next_id.saturating_add(1);
                add(tx, id, s)?;
                catalogue.insert(key, Entry { id, scale: s.scale });
                id
            }
        };
        hot_to_archive.insert(s.id, id);
    }
    if !stale.is_empty() {
        rescale(tx, &stale)?;
    }
    Ok(hot_to_archive)
}

fn add(tx: &Transaction, id: i32, s: &HotSeries) -> Result<(), duckdb::Error> {
    let labels: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&s.labels).unwrap_or_default();
    let label = |k: &str| labels.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let cols: Vec<Option<String>> = LABELS.iter().map(|c| label(c)).collect();
    let sql = format!(
        "INSERT INTO series (id, metric, labels, unit, scale, {}) VALUES (?, ?, ?, ?, ?{})",
        LABELS.join(", "),
        ", ?".repeat(LABELS.len())
    );
    let fixed: [&dyn duckdb::ToSql; 5] = [&id, &s.metric, &s.labels, &s.unit, &s.scale];
    tx.execute(&sql, duckdb::params_from_iter(fixed.into_iter().chain(cols.iter().map(|c| c as &dyn duckdb::ToSql))))?;
    Ok(())
}

/// Brings every stored value of each (series id, old scale, new scale) to its new scale:
/// one pass over each table, whatever the number of series.
fn rescale(tx: &Transaction, stale: &[(i32, f64, f64)]) -> Result<(), duckdb::Error> {
    tx.execute_batch("CREATE TEMP TABLE _rescale (id INTEGER, old DOUBLE, new DOUBLE)")?;
    for &(id, old, new) in stale {
        tx.execute("INSERT INTO _rescale VALUES (?, ?, ?)", params![id, old, new])?;
    }
    // Multiply before dividing: with scales of 10^k and 2^-k both steps are exact.
    let to = |col: &str| format!("{col} = round({col} * r.new / r.old)::BIGINT");
    let values = to("value");
    let aggregates = ["min", "max", "sum", "last"].map(to).join(", ");
    for (table, set) in [("raw", &values), ("raw_recent", &values), ("agg_1m", &aggregates), ("agg_1h", &aggregates)] {
        tx.execute_batch(&format!("UPDATE {table} SET {set} FROM _rescale r WHERE {table}.series_id = r.id"))?;
    }
    tx.execute_batch("UPDATE series SET scale = r.new FROM _rescale r WHERE series.id = r.id; DROP TABLE _rescale")
}
