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

/// A value as JSON: lists and arrays as arrays, structs and maps as objects (a map's keys
/// as text), numbers as numbers, anything else as the text a cell shows.
fn json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::List(items) | Value::Array(items) => J::Array(items.into_iter().map(json).collect()),
        Value::Struct(fields) => J::Object(fields.iter().map(|(k, v)| (k.clone(), json(v.clone()))).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match json(k.clone()) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, json(v.clone()))
                })
                .collect(),
        ),
        Value::Union(inner) => json(*inner),
        Value::Decimal(d) => {
            d.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(J::Null, J::Number)
        }
        other => match cell(other) {
            Cell::Null => J::Null,
            Cell::Bool(b) => J::Bool(b),
            Cell::Int(i) => J::from(i),
            Cell::Float(x) => serde_json::Number::from_f64(x).map_or(J::Null, J::Number),
            Cell::Text(s) | Cell::Nested { text: s, .. } => J::String(s),
        },
    }
}

/// How a column of a user's query leaves DuckDB.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// A type the driver reads as a plain value.
    Plain,
    /// Anything else, cast to text by DuckDB, so it reads as the DuckDB CLI prints it.
    Text,
    /// A list, struct, map, array or union: its text and its value (made JSON here).
    Nested,
}

/// The shape of a column of DuckDB type `ty` (as `DESCRIBE` names it).
fn shape(ty: &str) -> Shape {
    const PLAIN: &[&str] = &[
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "HUGEINT",
        "FLOAT",
        "DOUBLE",
        "VARCHAR",
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
    ];
    if ty.ends_with(']') || ["STRUCT(", "MAP(", "UNION("].iter().any(|p| ty.starts_with(p)) {
        Shape::Nested
    } else if PLAIN.contains(&ty) || ty.starts_with("DECIMAL(") {
        Shape::Plain
    } else {
        Shape::Text
    }
}

/// `query` with its columns in the shapes DuckDB should hand them over in (renamed by
/// position, so duplicate names do no harm), or `None` if every column is plain.
fn shaped(query: &str, shapes: &[Shape]) -> Option<String> {
    if shapes.iter().all(|s| *s == Shape::Plain) {
        return None;
    }
    let names: Vec<String> = (0..shapes.len()).map(|i| format!("c{i}")).collect();
    let columns: Vec<String> = shapes
        .iter()
        .zip(&names)
        .map(|(shape, c)| match shape {
            Shape::Plain => c.clone(),
            Shape::Text => format!("CAST({c} AS VARCHAR)"),
            Shape::Nested => format!("CAST({c} AS VARCHAR), {c}"),
        })
        .collect();
    // The newline ends a trailing `-- comment` in the user's text before the wrapper goes on.
    Some(format!("SELECT {} FROM ({query}\n) AS hostwatch_q({})", columns.join(", "), names.join(", ")))
}

/// The cells of one row read in `shapes`.
fn cells(row: &duckdb::Row, shapes: &[Shape]) -> duckdb::Result<Vec<Cell>> {
    let mut at = 0;
    let mut out = Vec::with_capacity(shapes.len());
    for shape in shapes {
        out.push(match shape {
            Shape::Plain => cell(row.get::<_, Value>(at)?),
            Shape::Text => row.get::<_, Option<String>>(at)?.map_or(Cell::Null, Cell::Text),
            Shape::Nested => {
                at += 1;
                match (row.get::<_, Option<String>>(at - 1)?, row.get::<_, Value>(at)?) {
                    (Some(text), value) => Cell::Nested { text, json: json(value).to_string() },
                    (None, _) => Cell::Null,
                }
            }
        });
        at += 1;
    }
    Ok(out)
}

/// Whether DuckDB refused a user's query as written (its SQL, names or casts), rather
/// than failing to run it.
fn is_users_mistake(e: &duckdb::Error) -> bool {
    let msg = e.to_string();
    ["Parser Error", "Binder Error", "Catalog Error", "Conversion Error"].iter().any(|p| msg.starts_with(p))
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
        let ran = self.sql(|c| {
            // The columns' names and types, where DuckDB can name them (a SELECT); other
            // statements (PRAGMA, SHOW, a refused INSERT) run as written.
            let described: Option<Vec<(String, Shape)>> =
                c.prepare(&format!("DESCRIBE {query}\n")).ok().and_then(|mut d| {
                    let rows =
                        d.query_map([], |r| Ok((r.get::<_, String>(0)?, shape(&r.get::<_, String>(1)?)))).ok()?;
                    rows.collect::<Result<_, _>>().ok()
                });
            let shapes: Option<Vec<Shape>> = described.as_ref().map(|d| d.iter().map(|(_, s)| *s).collect());
            let query = shapes.as_deref().and_then(|s| shaped(query, s)).unwrap_or_else(|| query.to_owned());
            let (total, sql) = match limited {
                Some(k) => {
                    let total: i64 = c.query_row(&format!("SELECT count(*) FROM ({query}\n)"), [], |r| r.get(0))?;
                    (Some(total.unsigned_abs()), format!("SELECT * FROM ({query}\n) LIMIT {k}"))
                }
                None => (None, query.clone()),
            };
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            // The user's column names, not the wrapper's positional ones.
            let columns = match &described {
                Some(d) => d.iter().map(|(name, _)| name.clone()).collect(),
                None => rows.as_ref().map(duckdb::Statement::column_names).unwrap_or_default(),
            };
            let shapes = shapes.unwrap_or_else(|| vec![Shape::Plain; columns.len()]);
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(cells(row, &shapes)?);
            }
            let total = total.unwrap_or(out.len() as u64);
            Ok((QueryResult { columns, rows: out }, total))
        });
        // DuckDB's refusal of the query as written is the user's mistake, said in one line.
        ran.map_err(|e| match e {
            ArchiveError::DuckDb { source, .. } if is_users_mistake(&source) => {
                ArchiveError::BadSql(source.to_string())
            }
            e => e,
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
