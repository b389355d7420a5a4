//! The sqlite probe: an application's SQLite file opened read-only (`query_only` on, a
//! busy timeout), one query timed from its prepare to its last row. The query runs on
//! tokio's blocking pool; past the probe's timeout it is interrupted (SQLite checks between
//! steps), so a runaway query does not keep a thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use serde_json::Value;

use super::condition::{Answer, Condition};
use super::{Attempt, Failure, Reason, timed_out};
use crate::metrics::{PROBE_QUERY, PROBE_ROWS, PROBE_VALUE};

/// `[probes.NAME]` with `kind = "sqlite"`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Sqlite {
    /// The database file.
    pub path: PathBuf,
    /// One statement (`SELECT 1` unless configured).
    pub query: String,
    /// Must all hold, or the attempt fails.
    pub conditions: Vec<Condition>,
    /// Must all hold, or the attempt is up but degraded.
    pub warn_conditions: Vec<Condition>,
}

/// What a query gave: its time, its rows, its first value.
type Measured = (Duration, u64, Option<Value>);

/// Between the attempt and its query's thread: whether the attempt gave up, and the
/// connection's interrupt handle once it is open. Either side may come first.
#[derive(Default)]
struct Cancel(Mutex<(bool, Option<InterruptHandle>)>);

impl Cancel {
    /// The attempt gave up: interrupts the query if its connection is open.
    fn give_up(&self) {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 = true;
        if let Some(handle) = &state.1 {
            handle.interrupt();
        }
    }

    /// The connection is open: `false` if the attempt already gave up.
    fn opened(&self, handle: InterruptHandle) -> bool {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.1 = Some(handle);
        !state.0
    }
}

impl Sqlite {
    /// One attempt started at `at_ms`, interrupted at `timeout`.
    pub async fn attempt(&self, timeout: Duration, at_ms: i64) -> Attempt {
        let attempt = Attempt::new(at_ms);
        let cancel = Arc::new(Cancel::default());
        let (path, query, worker) = (self.path.clone(), self.query.clone(), cancel.clone());
        // Busy for less than the timeout, so a locked file says so rather than timing out.
        let task = tokio::task::spawn_blocking(move || run(&path, &query, timeout * 9 / 10, &worker));
        let (time, rows, first) = match tokio::time::timeout(timeout, task).await {
            Ok(Ok(Ok(measured))) => measured,
            Ok(Ok(Err(failure))) => return attempt.failed(failure),
            Ok(Err(e)) => {
                return attempt
                    .failed(Failure { reason: Reason::Query, detail: format!("the query's thread failed: {e}") });
            }
            Err(_) => {
                cancel.give_up();
                return timed_out(at_ms, timeout);
            }
        };
        let mut attempt = attempt;
        attempt.values.push((&PROBE_QUERY, time.as_secs_f64()));
        attempt.values.push((&PROBE_ROWS, rows as f64));
        attempt.values.extend(first.as_ref().and_then(Value::as_f64).map(|v| (&PROBE_VALUE, v)));
        let answer = Answer { time, rows: Some(rows), value: first.as_ref(), ..Answer::default() };
        attempt.judge(&self.conditions, &self.warn_conditions, &answer)
    }

    /// The target as it may be shown.
    pub fn target(&self) -> String {
        format!("{}: {}", self.path.display(), self.query)
    }
}

fn run(path: &Path, query: &str, busy: Duration, cancel: &Cancel) -> Result<Measured, Failure> {
    let open = |e: rusqlite::Error| Failure {
        reason: Reason::Connect,
        detail: format!("cannot open {}: {e}", path.display()),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open)?;
    if !cancel.opened(conn.get_interrupt_handle()) {
        return Err(Failure { reason: Reason::Timeout, detail: "gave up before the query".into() });
    }
    conn.busy_timeout(busy).and_then(|()| conn.pragma_update(None, "query_only", true)).map_err(open)?;
    let failed = |e: rusqlite::Error| Failure { reason: Reason::Query, detail: format!("the query failed: {e}") };
    let start = Instant::now();
    let mut stmt = conn.prepare(query).map_err(failed)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).map_err(failed)?;
    let (mut count, mut first) = (0u64, None);
    while let Some(row) = rows.next().map_err(failed)? {
        if count == 0 && columns > 0 {
            first = Some(json(row.get_ref(0).map_err(failed)?));
        }
        count += 1;
    }
    Ok((start.elapsed(), count, first))
}

/// A SQLite value as JSON, for conditions on `value`.
fn json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::from(format!("<{} bytes>", b.len())),
    }
}
