//! The postgres probe: a fresh connection (its time measured), one query in the simple
//! protocol (one round trip, timed from its send to its last row), then the server's
//! connection counts from `pg_stat_activity` on the same connection and, with
//! `statements = true`, the 10 statements busiest since the last attempt
//! (`pg_stat_statements`, as deltas of its counters: calls and mean time).
//!
//! The password comes from the probe's secret, never from the connection string (the
//! config refuses one there). With `sslmode=require` the connection is TLS, verified
//! (`pg_tls.rs`); otherwise plain TCP.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::condition::{Answer, Condition};
use super::{Attempt, Failure, Reason, Secret};
use crate::metrics::{
    PROBE_CONNECT, PROBE_DB_CONNECTIONS, PROBE_DB_CONNECTIONS_PCT, PROBE_DB_IDLE_IN_TX, PROBE_DB_MAX_CONNECTIONS,
    PROBE_QUERY, PROBE_ROWS, PROBE_STATEMENT_CALLS, PROBE_STATEMENT_MEAN, PROBE_VALUE,
};

/// The database's statements by total time, cumulative since its statistics were reset
/// (`pg_stat_statements`); the probe keeps the 10 busiest since its last attempt.
const STATEMENTS: &str = "SELECT queryid, calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 100)
       FROM pg_stat_statements
       WHERE toplevel AND queryid IS NOT NULL AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       ORDER BY total_exec_time DESC LIMIT 200";

/// Statements reported per attempt: the series stay few whatever the workload.
const TOP: usize = 10;

/// Each statement's counters at the last attempt, by query id: calls and total ms.
pub type Counters = HashMap<i64, (f64, f64)>;

/// The server's own counts, asked after the probe's query; the probe's own connection is
/// left out of those in use.
const STATS: &str =
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()),
       current_setting('max_connections'),
       (SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction')";

/// `[probes.NAME]` with `kind = "postgres"`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Postgres {
    /// The connection settings, without a password.
    pub connection: tokio_postgres::Config,
    /// TLS settings, with `sslmode=require`.
    pub tls: Option<super::Tls>,
    /// The connection string as written (no password in it), for display.
    pub shown: String,
    /// One statement (`SELECT 1` unless configured).
    pub query: String,
    /// The password.
    pub secret: Option<Secret>,
    /// Whether the busiest statements are reported (`pg_stat_statements`).
    pub statements: bool,
    /// Must all hold, or the attempt fails.
    pub conditions: Vec<Condition>,
    /// Must all hold, or the attempt is up but degraded.
    pub warn_conditions: Vec<Condition>,
}

/// A failure of the connect (reason `refused`, `tls` when TLS was asked for, or `connect`)
/// or of a query (`query`).
fn failure(e: &tokio_postgres::Error, connecting: bool, tls: bool) -> Failure {
    let mut detail = e.to_string();
    if let Some(db) = e.as_db_error() {
        detail = format!("{}: {}", db.severity(), db.message());
    } else if let Some(source) = std::error::Error::source(e) {
        detail = format!("{detail}: {source}");
    }
    let refused = detail.contains("Connection refused");
    let tls = tls && ["TLS", "certificate", "InvalidDnsName"].iter().any(|t| detail.contains(t));
    let reason = match (connecting, refused, tls) {
        (true, true, _) => Reason::Refused,
        (true, false, true) => Reason::Tls,
        (true, false, false) => Reason::Connect,
        (false, ..) => Reason::Query,
    };
    Failure { reason, detail }
}

/// Runs a connection until its client is gone.
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = connection.await;
}

impl Postgres {
    /// One attempt started at `at_ms`.
    /// `counters` are the statements' counters of the last attempt, replaced by this one's.
    pub async fn attempt(&self, at_ms: i64, counters: &Mutex<Counters>) -> Attempt {
        let attempt = Attempt::new(at_ms);
        let mut config = self.connection.clone();
        if let Some(secret) = &self.secret {
            match secret.read() {
                Ok(password) => config.password(password),
                Err(detail) => return attempt.failed(Failure { reason: Reason::Secret, detail }),
            };
        }
        let connector = match self.tls.as_ref().map(super::Tls::connector).transpose() {
            Ok(connector) => connector,
            Err(detail) => return attempt.failed(Failure { reason: Reason::Tls, detail }),
        };
        let start = Instant::now();
        // The connection's own task ends when the client is dropped below.
        let connected = match connector {
            Some(tls) => config.connect(tls).await.map(|(client, c)| (client, tokio::spawn(drive(c)))),
            None => config.connect(NoTls).await.map(|(client, c)| (client, tokio::spawn(drive(c)))),
        };
        let (client, driver) = match connected {
            Ok(pair) => pair,
            Err(e) => return attempt.failed(failure(&e, true, self.tls.is_some())),
        };
        let connect = start.elapsed();
        let mut attempt = attempt;
        attempt.values.push((&PROBE_CONNECT, connect.as_secs_f64()));
        let result = self.measure(&client, &mut attempt).await;
        if result.is_ok() && self.statements {
            // A missing extension degrades the probe rather than failing it.
            if let Err(e) = statements(&client, &mut attempt, counters).await {
                attempt.warnings.push(format!("pg_stat_statements: {}", failure(&e, false, false).detail));
            }
        }
        drop(client);
        let _ = driver.await;
        match result {
            Ok(answer) => attempt.judge(&self.conditions, &self.warn_conditions, &answer.as_answer()),
            Err(e) => attempt.failed(failure(&e, false, false)),
        }
    }

    async fn measure(
        &self,
        client: &tokio_postgres::Client,
        attempt: &mut Attempt,
    ) -> Result<Measured, tokio_postgres::Error> {
        let start = Instant::now();
        let messages = client.simple_query(&self.query).await?;
        let time = start.elapsed();
        let rows: Vec<_> =
            messages.iter().filter_map(|m| if let SimpleQueryMessage::Row(r) = m { Some(r) } else { None }).collect();
        let first = rows.first().and_then(|r| r.try_get(0).ok().flatten()).map(json);
        attempt.values.push((&PROBE_QUERY, time.as_secs_f64()));
        attempt.values.push((&PROBE_ROWS, rows.len() as f64));
        attempt.values.extend(first.as_ref().and_then(Value::as_f64).map(|v| (&PROBE_VALUE, v)));
        let stats = client.simple_query(STATS).await?;
        if let Some(SimpleQueryMessage::Row(r)) = stats.iter().find(|m| matches!(m, SimpleQueryMessage::Row(_))) {
            let number = |i: usize| r.try_get(i).ok().flatten().and_then(|v| v.parse::<f64>().ok());
            let (used, max, idle) = (number(0), number(1), number(2));
            attempt.values.extend(used.map(|v| (&PROBE_DB_CONNECTIONS, v)));
            attempt.values.extend(max.map(|v| (&PROBE_DB_MAX_CONNECTIONS, v)));
            attempt.values.extend(
                used.zip(max).filter(|(_, m)| *m > 0.0).map(|(u, m)| (&PROBE_DB_CONNECTIONS_PCT, 100.0 * u / m)),
            );
            attempt.values.extend(idle.map(|v| (&PROBE_DB_IDLE_IN_TX, v)));
        }
        Ok(Measured { time, rows: rows.len() as u64, first })
    }

    /// The target as it may be shown.
    pub fn target(&self) -> String {
        format!("{}: {}", self.shown, self.query)
    }
}

/// Reports the statements busiest since the last attempt (on the first, since the
/// statistics' reset, as notes only), and keeps their counters for the next.
async fn statements(
    client: &tokio_postgres::Client,
    attempt: &mut Attempt,
    counters: &Mutex<Counters>,
) -> Result<(), tokio_postgres::Error> {
    let rows = client.simple_query(STATEMENTS).await?;
    let now: Vec<(i64, f64, f64, String)> = rows
        .iter()
        .filter_map(|m| if let SimpleQueryMessage::Row(r) = m { Some(r) } else { None })
        .filter_map(|r| {
            let field = |i: usize| r.try_get(i).ok().flatten();
            Some((field(0)?.parse().ok()?, field(1)?.parse().ok()?, field(2)?.parse().ok()?, field(3)?.to_owned()))
        })
        .collect();
    let mut last = counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let first = last.is_empty();
    let mut busy: Vec<(i64, f64, f64, &str)> = now
        .iter()
        .filter_map(|(id, calls, total, text)| {
            let (c0, t0) = if first { (0.0, 0.0) } else { last.get(id).copied().unwrap_or((0.0, 0.0)) };
            let (calls, ms) = (calls - c0, total - t0);
            (calls > 0.0 && ms >= 0.0).then_some((*id, calls, ms, text.as_str()))
        })
        .collect();
    busy.sort_by(|a, b| b.2.total_cmp(&a.2));
    busy.truncate(TOP);
    let since = if first { "since the statistics' reset" } else { "since the last attempt" };
    for (id, calls, ms, text) in &busy {
        let mean = ms / calls / 1000.0;
        attempt.notes.push(format!("statement {id}: {calls} calls {since}, mean {:.3} ms: {text}", mean * 1000.0));
        if !first {
            attempt.parts.push((&PROBE_STATEMENT_CALLS, ("statement", id.to_string()), *calls));
            attempt.parts.push((&PROBE_STATEMENT_MEAN, ("statement", id.to_string()), mean));
        }
    }
    *last = now.into_iter().map(|(id, calls, total, _)| (id, (calls, total))).collect();
    Ok(())
}

/// What the query gave.
struct Measured {
    time: Duration,
    rows: u64,
    first: Option<Value>,
}

impl Measured {
    fn as_answer(&self) -> Answer<'_> {
        Answer { time: self.time, rows: Some(self.rows), value: self.first.as_ref(), ..Answer::default() }
    }
}

/// A value of the simple protocol (text) as JSON: a number where it reads as one.
fn json(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::from)
        .or_else(|_| text.parse::<f64>().map(Value::from))
        .unwrap_or_else(|_| Value::from(text))
}
