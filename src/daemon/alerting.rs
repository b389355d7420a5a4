//! Alerting inside the agent: samples go to the rule engine at every tick; its changes and
//! the notices they cause are stored in one transaction; then the channels' outbox loops
//! are woken to deliver them.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::TimeZone;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::wall_ms;
use crate::config::Config;
use crate::metrics::Sample;
use crate::notify::{Channel, DESKTOP, Entry, Notice, Outbox};
use crate::rules::{Change, Engine};
use crate::store::{OutboxRow, Outcome, Store, StoreError};

/// The longest shutdown waits for a delivery under way (a webhook's timeout is at most 1 min).
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The rule engine, its store connection and the channels' loops.
pub struct Alerting {
    /// Turns samples into changes.
    engine: Engine,
    /// A connection of its own to the hot store, shared with the outbox loops.
    db: Arc<Mutex<Store>>,
    /// For notices.
    host: String,
    /// Quiet hours and the channels' settings.
    notify: crate::config::Notify,
    /// Each channel's name and the signal that wakes its loop.
    wakes: Vec<(String, Arc<Notify>)>,
    /// How long announcements wait after a start or a resume.
    grace: Duration,
    /// The loops, and the flag that stops them.
    loops: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// The host's name for notices.
pub fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "localhost".to_owned())
}

impl Alerting {
    /// Restores the alerts of the last run and starts one outbox loop per channel.
    pub fn start(config: &Config, store: &Path, now_ms: i64) -> Result<Alerting, StoreError> {
        let db = Store::open(store)?;
        // Logical CPUs: what the load average counts against.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut engine = Engine::new(config.alerts.rules.clone(), cores, config.alerts.repeat);
        let forgotten = engine.restore(db.alerts()?);
        let db = Arc::new(Mutex::new(db));
        let (stop, stopped) = watch::channel(false);
        let outbox = Outbox { db: db.clone(), retry_max: config.notify.retry_max, clock: wall_ms };
        let mut wakes = Vec::new();
        let mut loops = Vec::new();
        for channel in Channel::all(&config.notify) {
            let wake = Arc::new(Notify::new());
            wakes.push((channel.name().to_owned(), wake.clone()));
            let (outbox, stopped) = (outbox.clone(), stopped.clone());
            loops.push(tokio::spawn(async move { outbox.run(channel, wake, stopped).await }));
        }
        let mut alerting = Alerting {
            engine,
            db,
            host: host_name(),
            notify: config.notify.clone(),
            wakes,
            grace: config.alerts.grace,
            loops,
            stop,
        };
        alerting.resumed(now_ms);
        alerting.persist(&forgotten, now_ms);
        Ok(alerting)
    }

    /// The host woke up or the agent started: hold announcements for the grace period.
    pub fn resumed(&mut self, now_ms: i64) {
        self.engine.hold_until(now_ms + i64::try_from(self.grace.as_millis()).unwrap_or(i64::MAX));
    }

    /// Evaluates the rules on one tick's samples and queues what changed.
    pub fn observe(&mut self, samples: &[Sample], now_ms: i64) {
        self.engine.observe(samples);
        let changes = self.engine.evaluate(now_ms);
        if !changes.is_empty() {
            self.persist(&changes, now_ms);
        }
    }

    fn persist(&self, changes: &[Change], now_ms: i64) {
        let entries: Vec<Entry> =
            changes.iter().filter_map(|c| c.event.as_ref()).map(|e| Entry::from_event(&self.host, e)).collect();
        let outbox =
            if entries.is_empty() { Vec::new() } else { self.queue(&Notice::new(&self.host, now_ms, entries), now_ms) };
        let stored = self.db.lock().unwrap_or_else(PoisonError::into_inner).record_alerts(changes, &outbox, now_ms);
        match stored {
            Ok(()) => self.wakes.iter().for_each(|(_, w)| w.notify_one()),
            // The engine moved on; the next change of these alerts is stored with its own
            // notice. A full disk is already reported by the writer.
            Err(e) => tracing::error!("cannot store {} alert changes: {e}", changes.len()),
        }
    }

    /// One outbox row per channel; a desktop notice in quiet hours is stored as suppressed.
    fn queue(&self, notice: &Notice, now_ms: i64) -> Vec<OutboxRow> {
        let body = serde_json::to_string(notice).expect("a notice is plain data");
        let local = chrono::Local.timestamp_millis_opt(now_ms).single().map(|t| t.time());
        let quiet = self.notify.quiet_hours.zip(local).is_some_and(|(q, t)| q.contains(t))
            && !(self.notify.critical_breaks_quiet && notice.is_critical());
        self.wakes
            .iter()
            .map(|(name, _)| OutboxRow {
                channel: name.clone(),
                body: body.clone(),
                done: (quiet && name == DESKTOP).then_some(Outcome::Suppressed),
            })
            .collect()
    }

    /// Stops the outbox loops, letting a delivery under way finish (bounded).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.loops {
            if tokio::time::timeout(STOP_TIMEOUT, handle).await.is_err() {
                tracing::warn!("a notification delivery did not finish in time; it is resent at the next start");
            }
        }
    }
}
