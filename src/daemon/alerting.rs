//! Alerting inside the agent: samples go to the rule engine at every tick; its changes and
//! the notices they cause go to the writer thread, which stores them in one transaction and
//! then wakes the channels' outbox loops to deliver them. The loops run even with alerts
//! off, so notices queued before still go out.

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::wall_ms;
use super::writer::{AlertRecord, Msg};
use crate::config::Config;
use crate::metrics::Sample;
use crate::notify::{Channel, Entry, Notice, Outbox};
use crate::rules::{Change, Engine};
use crate::store::{OutboxRow, Shared, Store, StoreError};

/// The longest shutdown waits for deliveries under way, all channels together; a delivery
/// cut short is sent again at the next start.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The engine counts time in whole seconds, the samples' own resolution, so a replay of
/// the stored history (`hostwatch rules backtest`) reaches the decisions the agent did.
fn whole_second(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

/// The rule engine, the way to the writer and the channels' loops.
pub struct Alerting {
    /// Turns samples into changes; `None` with alerts off.
    engine: Option<Engine>,
    /// The writer thread, which stores changes and notices.
    writer: mpsc::Sender<Msg>,
    /// For notices.
    host: String,
    /// Each channel's name and the signal that wakes its loop.
    wakes: Vec<(String, Arc<Notify>)>,
    /// How long announcements wait after a start or a resume.
    grace: Duration,
    /// The outbox loops.
    loops: Vec<JoinHandle<()>>,
    /// Set to true to stop the loops.
    stop: watch::Sender<bool>,
}

impl Alerting {
    /// Restores the alerts of the last run and starts one outbox loop per channel; changes
    /// go to `writer`.
    pub fn start(
        config: &Config,
        store: &Path,
        writer: mpsc::Sender<Msg>,
        now_ms: i64,
    ) -> Result<Alerting, StoreError> {
        let now_ms = whole_second(now_ms);
        let db = Store::open(store)?;
        let channels = Channel::all(&config.notify);
        let names: Vec<String> = channels.iter().map(|c| c.name().to_owned()).collect();
        db.outbox_orphans(&names, now_ms)?;
        let a = &config.alerts;
        let mut engine = (a.enabled && !a.rules.is_empty()).then(|| config.alert_setup().engine());
        let restored = match engine.as_mut() {
            Some(engine) => engine.restore(db.alerts()?, now_ms),
            None => Vec::new(),
        };
        let (stop, stopped) = watch::channel(false);
        let outbox = Outbox::new(Shared::new(db), &config.notify, wall_ms);
        let mut wakes = Vec::new();
        let mut loops = Vec::new();
        for channel in channels {
            let wake = Arc::new(Notify::new());
            wakes.push((channel.name().to_owned(), wake.clone()));
            let (outbox, stopped) = (outbox.clone(), stopped.clone());
            loops.push(tokio::spawn(async move { outbox.run(channel, wake, stopped).await }));
        }
        let mut alerting =
            Alerting { engine, writer, host: crate::collect::host_name(), wakes, grace: a.grace, loops, stop };
        alerting.resumed(now_ms);
        alerting.persist(restored, now_ms);
        Ok(alerting)
    }

    /// The host woke up or the agent started: hold announcements for the grace period.
    pub fn resumed(&mut self, now_ms: i64) {
        let now_ms = whole_second(now_ms);
        let until = now_ms + crate::units::millis(self.grace);
        if let Some(engine) = self.engine.as_mut() {
            engine.hold(now_ms, until);
        }
    }

    /// Evaluates the rules on one tick's samples and queues what changed.
    pub fn observe(&mut self, samples: &[Sample], now_ms: i64) {
        let Some(engine) = self.engine.as_mut() else { return };
        let now_ms = whole_second(now_ms);
        engine.observe(samples);
        let changes = engine.evaluate(now_ms);
        self.persist(changes, now_ms);
    }

    /// The signals that wake the outbox loops, for the writer to send once notices are stored.
    pub fn wakes(&self) -> Vec<Arc<Notify>> {
        self.wakes.iter().map(|(_, w)| w.clone()).collect()
    }

    /// Queues the notable findings of a check's report as one notice per channel.
    pub fn announce(&mut self, report: &crate::report::Report, now_ms: i64) {
        if let Some(notice) = Notice::report(&self.host, now_ms, report) {
            let outbox = self.queue(&notice);
            self.send(AlertRecord { changes: Vec::new(), outbox, at_ms: now_ms });
        }
    }

    /// Sends `changes` to the writer with one notice per channel for those that announce.
    fn persist(&mut self, changes: Vec<Change>, now_ms: i64) {
        if changes.is_empty() {
            return;
        }
        let entries: Vec<Entry> =
            changes.iter().filter_map(|c| c.event.as_ref()).map(|e| Entry::from_event(&self.host, e)).collect();
        let outbox =
            if entries.is_empty() { Vec::new() } else { self.queue(&Notice::new(&self.host, now_ms, entries)) };
        self.send(AlertRecord { changes, outbox, at_ms: now_ms });
    }

    fn send(&self, record: AlertRecord) {
        // The writer is gone only when the agent is failing: its join reports why.
        let _ = self.writer.send(Msg::Alerts(record));
    }

    /// One outbox row per channel.
    fn queue(&self, notice: &Notice) -> Vec<OutboxRow> {
        let body = serde_json::to_string(notice).expect("a notice is plain data");
        self.wakes.iter().map(|(name, _)| OutboxRow { channel: name.clone(), body: body.clone() }).collect()
    }

    /// Stops the outbox loops, letting deliveries under way finish within [`STOP_TIMEOUT`].
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        for mut handle in self.loops {
            if tokio::time::timeout_at(deadline, &mut handle).await.is_err() {
                tracing::warn!("a notification delivery did not finish in time; it is sent again at the next start");
                handle.abort();
            }
        }
    }
}
