//! Reading the archive for people: SQL queries with their results as plain values.

use duckdb::types::{TimeUnit, Value};

use super::{Archive, ArchiveError};
use crate::report::Baseline;
use crate::sql::Cell;

/// A query's result: column names and rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows of cells, one per column.
    pub rows: Vec<Vec<Cell>>,
}

fn micros(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v / 1000,
    }
}

fn cell(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Boolean(b) => Cell::Bool(b),
        Value::TinyInt(i) => Cell::Int(i.into()),
        Value::SmallInt(i) => Cell::Int(i.into()),
        Value::Int(i) => Cell::Int(i.into()),
        Value::BigInt(i) => Cell::Int(i),
        Value::UTinyInt(i) => Cell::Int(i.into()),
        Value::USmallInt(i) => Cell::Int(i.into()),
        Value::UInt(i) => Cell::Int(i.into()),
        Value::UBigInt(i) => i64::try_from(i).map_or_else(|_| Cell::Text(i.to_string()), Cell::Int),
        Value::HugeInt(i) => i64::try_from(i).map_or_else(|_| Cell::Text(i.to_string()), Cell::Int),
        Value::Float(x) => Cell::Float(x.into()),
        Value::Double(x) => Cell::Float(x),
        Value::Decimal(d) => Cell::Text(d.to_string()),
        Value::Text(s) | Value::Enum(s) => Cell::Text(s),
        Value::Timestamp(unit, v) => Cell::Text(
            chrono::DateTime::from_timestamp_micros(micros(unit, v))
                .map_or_else(|| v.to_string(), |t| t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        ),
        Value::Date32(days) => Cell::Text(
            chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                .map_or_else(|| days.to_string(), |t| t.date_naive().to_string()),
        ),
        other => Cell::Text(format!("{other:?}")),
    }
}

impl Archive {
    /// Runs one SQL statement and collects its result. Through a read-only archive a
    /// statement that would change it fails with [`ArchiveError::ReadOnly`]; a text of
    /// several statements is refused before any of them runs.
    pub fn query(&self, sql: &str) -> Result<QueryResult, ArchiveError> {
        self.query_first(sql, usize::MAX).map(|(result, _)| result)
    }

    /// Like [`Archive::query`], keeping only the first `keep` rows; also returns how many
    /// rows the query produced in all (counted as they stream by, not held).
    pub fn query_first(&self, sql: &str, keep: usize) -> Result<(QueryResult, u64), ArchiveError> {
        // The duckdb crate fetches a whole result before the first row (20 M rows of 100
        // bytes took 2.4 GB): with a limit, DuckDB counts and only `keep` rows leave it.
        // Without one (`hostwatch query`), the statement runs as written.
        let query = crate::sql::single(sql)?;
        let limited = i64::try_from(keep).ok().filter(|k| *k < i64::MAX);
        self.sql(|c| {
            let (total, sql) = match limited {
                Some(k) => {
                    let total: i64 = c.query_row(&format!("SELECT count(*) FROM ({query})"), [], |r| r.get(0))?;
                    (Some(total.unsigned_abs()), format!("SELECT * FROM ({query}) LIMIT {k}"))
                }
                None => (None, query.to_owned()),
            };
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            let columns: Vec<String> = rows.as_ref().map(duckdb::Statement::column_names).unwrap_or_default();
            let width = columns.len();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let cells = (0..width).map(|i| row.get::<_, Value>(i).map(cell)).collect::<Result<Vec<_>, _>>();
                out.push(cells?);
            }
            let total = total.unwrap_or(out.len() as u64);
            Ok((QueryResult { columns, rows: out }, total))
        })
    }
}

impl Archive {
    /// Reads every block of every table once, so a damaged or truncated file fails here
    /// rather than in the next rollup (DuckDB checks each block's checksum as it reads).
    /// Costs a full scan: for `doctor`, not for the agent's path.
    pub fn verify(&self) -> Result<(), ArchiveError> {
        self.sql(|c| {
            let tables: Vec<String> = {
                let mut stmt =
                    c.prepare("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for table in tables {
                let sql = format!("SELECT max(hash(t)) FROM \"{}\" t", table.replace('"', "\"\""));
                c.query_row(&sql, [], |_| Ok(()))?;
            }
            Ok(())
        })
    }
}

impl Archive {
    /// p50, p95 and p99 of every series' raw samples in `[since, until)` (unix seconds).
    pub fn baselines(&self, since: i64, until: i64) -> Result<Vec<Baseline>, ArchiveError> {
        let sql = "SELECT s.metric, s.labels,
                          quantile_cont(r.value / s.scale, [0.5, 0.95, 0.99]) AS q, count(*) AS n
                   FROM raw_rows r JOIN series s ON s.id = r.series_id
                   WHERE r.ts >= ? AND r.ts < ? GROUP BY s.metric, s.labels ORDER BY s.metric, s.labels";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let mut rows = stmt.query(duckdb::params![since, until])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let q: Value = r.get(2)?;
                let Value::List(q) = q else { continue };
                let f = |v: &Value| if let Value::Double(x) = v { *x } else { f64::NAN };
                out.push(Baseline {
                    metric: r.get(0)?,
                    labels: r.get(1)?,
                    p50: q.first().map_or(f64::NAN, f),
                    p95: q.get(1).map_or(f64::NAN, f),
                    p99: q.get(2).map_or(f64::NAN, f),
                    count: r.get(3)?,
                });
            }
            Ok(out)
        })
    }
}

/// Whether `sql` would run on the archive's schema: exactly one statement, prepared (never
/// run) on an empty in-memory copy with no access to files or the network.
pub fn check_sql(sql: &str) -> Result<(), String> {
    let one = crate::sql::single(sql).map_err(|e| e.to_string())?;
    let config = duckdb::Config::default().enable_external_access(false).map_err(|e| e.to_string())?;
    let conn = duckdb::Connection::open_in_memory_with_flags(config).map_err(|e| e.to_string())?;
    let mut archive = Archive { conn, path: ":memory:".into(), _gate: None };
    archive.migrate().map_err(|e| e.to_string())?;
    archive.conn.prepare(one).map(drop).map_err(|e| e.to_string())
}
