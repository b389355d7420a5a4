//! Exports for fleets: hive-partitioned files (`host=…/date=…/`) that DuckDB, Spark, Trino
//! or ClickHouse read together, from the archive and the hot store joined.

use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::ArchiveError;
use crate::metrics::LABELS;
use crate::store::{SampleValue, Store};

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (compressed, typed).
    Parquet,
    /// CSV with a header row.
    Csv,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Output directory; partitions are created below it.
    pub out: PathBuf,
    /// File format.
    pub format: Format,
    /// Unix seconds, inclusive.
    pub since: i64,
    /// Unix seconds, exclusive.
    pub until: i64,
    /// This host's name: the `host=` partition.
    pub host: String,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Writes every sample in the range, from the archive at `archive` (if it exists) and the
/// hot store above the archive's watermark. Returns the number of rows written.
pub fn export(archive: &Path, store: &Store, req: &Export) -> Result<u64, ArchiveError> {
    // DuckDB's errors are converted step by step: the gate and the hot store's read, with
    // errors of their own, come between the steps.
    let err = |e| ArchiveError::from_duckdb(archive, e);
    let conn = Connection::open_in_memory().map_err(err)?;
    let cols = LABELS.join(", ");
    let mut watermark = 0;
    let mut sources = Vec::new();
    let _gate = if archive.exists() { Some(super::gate::Gate::enter(archive)?) } else { None };
    if archive.exists() {
        watermark = conn
            .execute_batch(&format!("ATTACH {} AS a (READ_ONLY)", quote(&archive.to_string_lossy())))
            .and_then(|()| conn.query_row("SELECT watermark FROM a.rollup_state", [], |r| r.get(0)))
            .map_err(err)?;
        // An archive not yet migrated by a rollup of this version lacks the newest labels.
        let have: Vec<String> = conn
            .prepare("SELECT column_name FROM duckdb_columns() WHERE database_name = 'a' AND table_name = 'series'")
            .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
            .map_err(err)?;
        let s_cols: Vec<String> = LABELS
            .iter()
            .map(|c| if have.iter().any(|h| h == c) { format!("s.{c}") } else { format!("NULL AS {c}") })
            .collect();
        sources.push(format!(
            "SELECT r.ts, s.metric, {}, r.value / s.scale AS value, s.unit
             FROM (SELECT * FROM a.raw UNION ALL SELECT * FROM a.raw_recent) r JOIN a.series s ON s.id = r.series_id
             WHERE r.ts >= {} AND r.ts < {}",
            s_cols.join(", "),
            req.since,
            req.until.min(watermark)
        ));
    }
    let label_cols: Vec<String> = LABELS.iter().map(|c| format!("{c} VARCHAR")).collect();
    conn.execute_batch(&format!(
        "CREATE TABLE hot_rows (ts BIGINT, metric VARCHAR, {}, value DOUBLE, unit VARCHAR)",
        label_cols.join(", ")
    ))
    .map_err(err)?;
    let rows = store.values_between(req.since.max(watermark), req.until)?;
    append_hot(&conn, rows).map_err(err)?;
    sources.push(format!("SELECT ts, metric, {cols}, value, unit FROM hot_rows"));
    let format = match req.format {
        Format::Parquet => "FORMAT parquet",
        Format::Csv => "FORMAT csv, HEADER true",
    };
    let sql = format!(
        "COPY (SELECT {host} AS host, strftime(make_timestamp(ts * 1000000), '%Y-%m-%d') AS date,
                      make_timestamp(ts * 1000000) AS time, metric, {cols}, value, unit
               FROM ({union}) ORDER BY time, metric)
         TO {out} ({format}, PARTITION_BY (host, date), OVERWRITE_OR_IGNORE true)",
        host = quote(&req.host),
        union = sources.join(" UNION ALL "),
        out = quote(&req.out.to_string_lossy()),
    );
    let n = conn.execute(&sql, []).map_err(err)?;
    Ok(n as u64)
}

/// Appends the hot store's `rows` to the `hot_rows` table, labels in their columns.
fn append_hot(conn: &Connection, rows: Vec<SampleValue>) -> duckdb::Result<()> {
    let mut app = conn.appender("hot_rows")?;
    for r in rows {
        let labels: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.labels).unwrap_or_default();
        let l: Vec<Option<&str>> = LABELS.iter().map(|c| labels.get(*c).and_then(|v| v.as_str())).collect();
        let mut row: Vec<&dyn duckdb::ToSql> = vec![&r.ts, &r.metric];
        row.extend(l.iter().map(|v| v as &dyn duckdb::ToSql));
        row.extend([&r.value as &dyn duckdb::ToSql, &r.unit]);
        app.append_row(row.as_slice())?;
    }
    app.flush()
}
