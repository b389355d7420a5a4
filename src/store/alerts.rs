//! Alert state, alert history and the notification outbox in the hot store.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError};
use crate::metrics::SeriesKey;
use crate::rules::{Change, EventKind, Phase, Severity, Track};

/// A notice to queue for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The channel's name.
    pub channel: String,
    /// The notice as JSON.
    pub body: String,
}

/// How an outbox row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The channel accepted it.
    Delivered,
    /// The channel refused it for good.
    Failed,
    /// Quiet hours held it back.
    Suppressed,
    /// Too old to be worth showing (a desktop notice that waited too long).
    Expired,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Suppressed => "suppressed",
            Outcome::Expired => "expired",
        }
    }
}

/// The oldest pending row of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// The notice as JSON.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Unix ms before which it is not tried again.
    pub next_ms: i64,
    /// Unix ms it was queued.
    pub created_ms: i64,
}

/// Notices one channel has not taken yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The channel.
    pub channel: String,
    /// How many.
    pub count: i64,
    /// Unix ms the oldest was queued.
    pub oldest_ms: i64,
    /// Why its last attempt failed, if it was tried.
    pub error: Option<String>,
}

/// One announced alert change, for `hostwatch alerts`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// Unix ms.
    pub at_ms: i64,
    /// Rule name.
    pub rule: String,
    /// The series.
    pub series: String,
    /// What happened.
    pub event: EventKind,
    /// How bad it was.
    pub severity: Severity,
    /// The condition's value.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
}

/// A stored alert; `None` if its metric or labels are unknown to this build.
fn track(r: &Row) -> rusqlite::Result<Option<Track>> {
    let (metric, labels): (String, String) = (r.get(1)?, r.get(2)?);
    let Some(key) = SeriesKey::from_parts(&metric, &labels) else { return Ok(None) };
    let phase: String = r.get(3)?;
    let severity: String = r.get(4)?;
    Ok(Some(Track {
        rule: r.get(0)?,
        key,
        phase: if phase == Phase::Firing.as_str() { Phase::Firing } else { Phase::Pending },
        severity: Severity::parse(&severity).unwrap_or(Severity::Warning),
        since_ms: r.get(5)?,
        value: r.get(6)?,
        threshold: r.get(7)?,
        notified_ms: r.get(8)?,
    }))
}

impl Store {
    /// The pending and firing alerts, firing and critical first.
    pub fn alerts(&self) -> Result<Vec<Track>, StoreError> {
        let sql = "SELECT rule, metric, labels, phase, severity, since_ms, value, threshold, notified_ms FROM alerts
                   ORDER BY phase = 'pending', severity = 'warning', rule, series";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], track)?;
            let tracks: Vec<Option<Track>> = rows.collect::<Result<_, _>>()?;
            Ok(tracks.into_iter().flatten().collect())
        })
    }

    /// Persists alert changes, their history and the notices they cause, in one transaction.
    pub fn record_alerts(&mut self, changes: &[Change], outbox: &[OutboxRow], now_ms: i64) -> Result<(), StoreError> {
        self.sql_mut(|conn| {
            let tx = conn.transaction()?;
            record(&tx, changes, outbox, now_ms).and_then(|()| tx.commit())
        })
    }

    /// The oldest pending notice of `channel`.
    pub fn outbox_next(&self, channel: &str) -> Result<Option<OutboxItem>, StoreError> {
        self.sql(|c| {
            c.query_row(
                "SELECT id, body, attempts, next_ms, created_ms FROM outbox
                 WHERE channel = ?1 AND done_ms IS NULL ORDER BY id LIMIT 1",
                [channel],
                |r| {
                    Ok(OutboxItem {
                        id: r.get(0)?,
                        body: r.get(1)?,
                        attempts: r.get(2)?,
                        next_ms: r.get(3)?,
                        created_ms: r.get(4)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Marks a notice done.
    pub fn outbox_done(
        &mut self,
        id: i64,
        outcome: Outcome,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "UPDATE outbox SET done_ms = ?2, outcome = ?3, attempts = attempts + (?3 != 'expired'),
                 last_error = coalesce(?4, last_error) WHERE id = ?1",
                params![id, now_ms, outcome.as_str(), error],
            )
            .map(drop)
        })
    }

    /// Ends the pending notices of channels no longer configured (a webhook removed or
    /// renamed): nothing would ever deliver them.
    pub fn outbox_orphans(&self, channels: &[String], now_ms: i64) -> Result<(), StoreError> {
        self.sql(|c| {
            let pending: Vec<String> = {
                let mut stmt = c.prepare("SELECT DISTINCT channel FROM outbox WHERE done_ms IS NULL")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for gone in pending.iter().filter(|c| !channels.contains(c)) {
                tracing::warn!(channel = gone, "notices for a channel that is no longer configured are dropped");
                c.execute(
                    "UPDATE outbox SET done_ms = ?2, outcome = 'failed', last_error = 'channel no longer configured'
                     WHERE channel = ?1 AND done_ms IS NULL",
                    params![gone, now_ms],
                )?;
            }
            Ok(())
        })
    }

    /// Records a failed attempt; the next is not before `next_ms`.
    pub fn outbox_retry(&mut self, id: i64, error: &str, next_ms: i64) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_ms = ?3 WHERE id = ?1",
                params![id, error, next_ms],
            )
            .map(drop)
        })
    }

    /// Pending notices per channel, with the oldest one's age and last error.
    pub fn outbox_pending(&self) -> Result<Vec<Waiting>, StoreError> {
        let sql = "SELECT channel, count(*), min(created_ms),
                          (SELECT last_error FROM outbox o WHERE o.channel = p.channel AND o.done_ms IS NULL ORDER BY id LIMIT 1)
                   FROM outbox p WHERE done_ms IS NULL GROUP BY channel ORDER BY channel";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                Ok(Waiting { channel: r.get(0)?, count: r.get(1)?, oldest_ms: r.get(2)?, error: r.get(3)? })
            })?;
            rows.collect()
        })
    }

    /// Notices that ended `failed` (refused, or given up on) since `since_ms`, per channel:
    /// how many, and the newest one's error.
    pub fn outbox_failed(&self, since_ms: i64) -> Result<Vec<(String, i64, String)>, StoreError> {
        let sql = "SELECT channel, count(*),
                          (SELECT last_error FROM outbox o WHERE o.channel = f.channel AND o.outcome = 'failed'
                           ORDER BY id DESC LIMIT 1)
                   FROM outbox f WHERE outcome = 'failed' AND done_ms >= ?1 GROUP BY channel ORDER BY channel";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([since_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default()))
            })?;
            rows.collect()
        })
    }

    /// Announced alert changes since `since_ms`, newest first.
    pub fn alert_history(&self, since_ms: i64, limit: u32) -> Result<Vec<AlertEvent>, StoreError> {
        let sql = "SELECT at_ms, rule, series, event, severity, value, threshold FROM alert_events
                   WHERE at_ms >= ?1 ORDER BY id DESC LIMIT ?2";
        self.sql(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![since_ms, limit], |r| {
                let (event, severity): (String, String) = (r.get(3)?, r.get(4)?);
                // Words a later release may add are skipped, not misread.
                let (Some(event), Some(severity)) = (EventKind::parse(&event), Severity::parse(&severity)) else {
                    return Ok(None);
                };
                Ok(Some(AlertEvent {
                    at_ms: r.get(0)?,
                    rule: r.get(1)?,
                    series: r.get(2)?,
                    event,
                    severity,
                    value: r.get(5)?,
                    threshold: r.get(6)?,
                }))
            })?;
            let events: Vec<Option<AlertEvent>> = rows.collect::<Result<_, _>>()?;
            Ok(events.into_iter().flatten().collect())
        })
    }
}

fn record(tx: &rusqlite::Transaction, changes: &[Change], outbox: &[OutboxRow], now_ms: i64) -> rusqlite::Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO alerts(rule, series, metric, labels, phase, severity, since_ms, value, threshold,
         notified_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut delete = tx.prepare_cached("DELETE FROM alerts WHERE rule = ?1 AND series = ?2")?;
    let mut history = tx.prepare_cached(
        "INSERT INTO alert_events(at_ms, rule, series, event, severity, value, threshold, started_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for c in changes {
        let series = c.key.to_string();
        match &c.track {
            Some(t) => {
                let phase = t.phase.as_str();
                put.execute(params![
                    t.rule,
                    series,
                    t.key.metric.name,
                    t.key.labels_json(),
                    phase,
                    t.severity.as_str(),
                    t.since_ms,
                    t.value,
                    t.threshold,
                    t.notified_ms
                ])?;
            }
            None => {
                delete.execute(params![c.rule, series])?;
            }
        }
        if let Some(e) = &c.event {
            history.execute(params![
                e.at_ms,
                c.rule,
                series,
                e.kind.as_str(),
                e.severity.as_str(),
                e.value,
                e.threshold,
                e.started_ms
            ])?;
        }
    }
    let mut queue =
        tx.prepare_cached("INSERT INTO outbox(channel, created_ms, body, next_ms) VALUES (?1, ?2, ?3, ?2)")?;
    for row in outbox {
        queue.execute(params![row.channel, now_ms, row.body])?;
    }
    Ok(())
}
