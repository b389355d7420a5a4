//! The outbox loop: one per channel, delivering its queued notices oldest first, with
//! retries and backoff, so a receiver that is down for hours misses nothing.
//!
//! Order per channel is strict: a notice waits until the one before it is done (delivered,
//! refused for good, or expired), so "resolved" never overtakes "fired".

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use chrono::TimeZone;

use super::{Channel, DeliveryError, Notice, QuietHours, Settings, send};
use crate::store::{OutboxItem, Outcome, Shared};

/// A desktop notice older than this is dropped as `expired`: after a night offline, an
/// old bubble helps nobody (webhooks keep trying: their receivers keep history).
const DESKTOP_EXPIRY_MS: i64 = 10 * 60 * 1000;

/// A webhook notice still failing this long after it was queued is marked failed: a
/// receiver that answers 5xx for days must not hold its channel's later notices for good.
/// `hostwatch alerts` lists the notices given up on.
const GIVE_UP_MS: i64 = 3 * 24 * 3600 * 1000;

/// The longest one desktop attempt may take (a hung notification server).
const DESKTOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait before attempt `attempts + 1`: 1 s, doubling, at most `max`.
pub fn backoff(attempts: u32, max: Duration) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1 << attempts.saturating_sub(1).min(20));
    doubled.min(max)
}

/// What every channel's loop shares.
#[derive(Clone)]
pub struct Outbox {
    /// The hot store: a connection of the loops' own, called off the runtime thread.
    db: Shared,
    /// The longest wait between attempts.
    retry_max: Duration,
    /// When desktop notices are held back, and whether critical ones break through.
    quiet: Option<(QuietHours, bool)>,
    /// Unix ms now: the daemon's wall clock.
    clock: fn() -> i64,
}

impl Outbox {
    /// The loops' shared state for the channels of `config`.
    pub fn new(db: Shared, config: &Settings, clock: fn() -> i64) -> Outbox {
        let quiet = config.quiet_hours.map(|q| (q, config.critical_breaks_quiet));
        Outbox { db, retry_max: config.retry_max, quiet, clock }
    }

    /// Whether a desktop notice is held back at `now_ms`: quiet hours are judged when it
    /// would be shown, so one still retried when they begin stays quiet too.
    fn quiet_at(&self, notice: &Notice, now_ms: i64) -> bool {
        let Some((hours, critical_breaks)) = self.quiet else { return false };
        let local = chrono::Local.timestamp_millis_opt(now_ms).single().map(|t| t.time());
        local.is_some_and(|t| hours.contains(t)) && !(critical_breaks && notice.is_critical())
    }

    /// Delivers `channel`'s notices until `shutdown` turns true; `wake` is signalled when a
    /// notice is queued. An attempt under way when shutdown comes is finished first.
    pub async fn run(&self, channel: Channel, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        let name = channel.name().to_owned();
        // An outcome the store did not take (a full disk): kept here and stored again before
        // anything else, so a delivered notice is never sent again while the disk is full.
        let mut unstored: Option<Done> = None;
        let retry_max_ms = crate::units::millis(self.retry_max);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = (self.clock)();
            let wait = if let Some(done) = unstored.take() {
                if self.finish(&name, &done).await {
                    continue;
                }
                unstored = Some(done);
                Some(self.retry_max)
            } else {
                let channel_name = name.clone();
                match self.db.call(move |db| db.outbox_next(&channel_name)).await {
                    // Due, or due further off than any backoff sets: the clock was stepped
                    // back, and waiting for it to catch up would send nothing for as long.
                    Ok(Some(item)) if item.next_ms <= now || item.next_ms - now > retry_max_ms => {
                        match self.attempt(&channel, item, now).await {
                            Step::Done(done) => {
                                if self.finish(&name, &done).await {
                                    continue;
                                }
                                unstored = Some(done);
                                Some(self.retry_max)
                            }
                            Step::Retried(true) => continue,
                            // Not stored: wait rather than resend at once.
                            Step::Retried(false) => Some(self.retry_max),
                        }
                    }
                    Ok(Some(item)) => Some(Duration::from_millis(u64::try_from(item.next_ms - now).unwrap_or(0))),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::error!(channel = name, "cannot read the outbox: {e}");
                        Some(self.retry_max)
                    }
                }
            };
            tokio::select! {
                () = wake.notified() => {}
                // An error means the sender is gone: stop as well.
                r = shutdown.changed() => if r.is_err() { return },
                () = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            }
        }
    }

    /// One attempt on the oldest pending notice: its final outcome, or a retry (recorded
    /// here; false if the store did not take it).
    async fn attempt(&self, channel: &Channel, item: OutboxItem, now: i64) -> Step {
        let name = channel.name();
        let done = |outcome, error: Option<String>| Step::Done(Done { id: item.id, outcome, error });
        let notice: Notice = match serde_json::from_str(&item.body) {
            Ok(n) => n,
            Err(e) => return done(Outcome::Failed, Some(format!("unreadable notice: {e}"))),
        };
        let result = match channel {
            Channel::Desktop if now - item.created_ms > DESKTOP_EXPIRY_MS => return done(Outcome::Expired, None),
            Channel::Desktop if self.quiet_at(&notice, now) => return done(Outcome::Suppressed, None),
            Channel::Desktop => tokio::time::timeout(DESKTOP_TIMEOUT, send(channel, &notice, now / 1000))
                .await
                .unwrap_or_else(|_| Err(DeliveryError::Retry("desktop notification: no answer in 10s".into()))),
            Channel::Webhook(..) => send(channel, &notice, now / 1000).await,
        };
        match result {
            Ok(()) => {
                tracing::info!(channel = name, key = notice.idempotency_key, "delivered");
                done(Outcome::Delivered, None)
            }
            Err(DeliveryError::Permanent(e)) => {
                tracing::error!(channel = name, "notice refused, not retried: {e}");
                done(Outcome::Failed, Some(e))
            }
            Err(DeliveryError::Retry(e)) if now - item.created_ms > GIVE_UP_MS => {
                let age =
                    humantime::format_duration(Duration::from_secs(((now - item.created_ms) / 1000).unsigned_abs()));
                let why = format!("gave up after {} attempts over {age}: {e}", item.attempts + 1);
                tracing::error!(channel = name, "{why}");
                done(Outcome::Failed, Some(why))
            }
            Err(DeliveryError::Retry(e)) => {
                let delay = backoff(item.attempts + 1, self.retry_max);
                if item.attempts == 0 {
                    tracing::warn!(channel = name, "delivery failed, will retry: {e}");
                }
                let next = (self.clock)() + crate::units::millis(delay);
                let stored = self.db.call(move |db| db.outbox_retry(item.id, &e, next)).await;
                Step::Retried(
                    stored
                        .inspect_err(|e| tracing::error!(channel = name, "cannot record a failed delivery: {e}"))
                        .is_ok(),
                )
            }
        }
    }

    /// Stores a notice's final outcome; false (logged) if the store did not take it.
    async fn finish(&self, channel: &str, done: &Done) -> bool {
        let (id, outcome, error, now) = (done.id, done.outcome, done.error.clone(), (self.clock)());
        let stored = self.db.call(move |db| db.outbox_done(id, outcome, error.as_deref(), now)).await;
        stored.inspect_err(|e| tracing::error!(channel, "cannot mark a notice done: {e}")).is_ok()
    }
}

/// A notice's final outcome, to be stored.
struct Done {
    id: i64,
    outcome: Outcome,
    error: Option<String>,
}

/// How one attempt ended.
enum Step {
    /// Delivered, refused, expired or given up on.
    Done(Done),
    /// To be tried again; whether the store took the new schedule.
    Retried(bool),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_up_to_its_cap() {
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=8).map(|a| backoff(a, max).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX, max), max);
    }
}
