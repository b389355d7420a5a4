//! User-defined checks: a schedule, one SQL query over the hot store or the archive, and a
//! condition on its result that becomes a finding.

use crate::report::{Finding, Level, Report};
use crate::rules::Direction;
use crate::sql::Cell;
use crate::store::{Store, StoreError};

/// Which store a check's SQL reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The hot store (SQLite): recent samples, `sample_values`, alerts, reports.
    Hot,
    /// The archive (DuckDB): `samples`, `samples_1m`, `samples_1h`, ...
    Archive,
}

/// What in the result is a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// Any row returned is a finding at this level.
    Rows(Level),
    /// The first column of the first row against thresholds.
    Value {
        /// Which side is bad.
        direction: Direction,
        /// Warning threshold.
        warning: Option<f64>,
        /// Critical threshold.
        critical: Option<f64>,
    },
}

/// A validated user-defined check.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    /// The query.
    pub sql: String,
    /// Where it runs.
    pub target: Target,
    /// What makes a finding.
    pub condition: Condition,
}

/// The most rows a check's report shows.
const SHOWN: usize = 20;

/// Runs `check` as job `name` for `slot`: the query read-only, its result judged.
pub fn run(name: &str, check: &Custom, store: &Store, ctx: &super::Context, slot: i64) -> Result<Report, StoreError> {
    // A report shows at most SHOWN rows: fetch those and count the rest, never hold them.
    let rows: Result<(Vec<Vec<Cell>>, u64), String> = match check.target {
        Target::Hot => store.query_cells(&check.sql, SHOWN).map_err(|e| e.to_string()),
        Target::Archive => match super::archive_beside(ctx) {
            Some(a) => a.query_first(&check.sql, SHOWN).map(|(r, n)| (r.rows, n)).map_err(|e| e.to_string()),
            None => Err("the archive cannot be read (off, not created yet, or held by a writer)".to_owned()),
        },
    };
    let title = format!("{name}, {}", crate::units::rfc3339(slot * 1000));
    let (rows, total) = match rows {
        Ok(rows) => rows,
        Err(e) => {
            let finding = Finding {
                level: Level::Warning,
                subject: format!("check {name}"),
                // The agent prepares a check's SQL only when it runs it; `config check` does
                // it for every check at once.
                text: format!("the query failed: {e} (`hostwatch config check` prepares every check's SQL)"),
            };
            return Ok(Report::new(name, slot, &title, vec![finding], &[]));
        }
    };
    // NULL is shown as such: an empty cell would be an empty bullet.
    let cell = |c: &Cell| if *c == Cell::Null { "NULL".to_owned() } else { c.to_string() };
    let shown: Vec<String> = rows.iter().map(|r| r.iter().map(cell).collect::<Vec<_>>().join(" | ")).collect();
    let finding = match check.condition {
        Condition::Rows(level) if !rows.is_empty() => {
            Some(Finding { level, subject: format!("check {name}"), text: format!("{total} rows: {}", shown[0]) })
        }
        Condition::Rows(_) => None,
        Condition::Value { direction, warning, critical } => {
            let value = rows.first().and_then(|r| r.first()).and_then(|c| match c {
                Cell::Int(i) => Some(*i as f64),
                Cell::Float(x) => Some(*x),
                _ => None,
            });
            let beyond = |t: Option<f64>| value.zip(t).is_some_and(|(v, t)| direction.beyond(v, t));
            let level = if beyond(critical) {
                critical.map(|t| (Level::Critical, t))
            } else if beyond(warning) {
                warning.map(|t| (Level::Warning, t))
            } else {
                None
            };
            level.map(|(level, threshold)| Finding {
                level,
                subject: format!("check {name}"),
                text: format!(
                    "value {} is {} its {} threshold {threshold}",
                    value.unwrap_or_default(),
                    direction.as_str(),
                    level.as_str()
                ),
            })
        }
    };
    Ok(Report::new(name, slot, &title, finding.into_iter().collect(), &[("Result", shown)]))
}
