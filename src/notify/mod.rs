//! Notifications: what is announced (a [`Notice`] of alert events), how each channel
//! renders and delivers it, and the outbox loop that retries until it is delivered.
//!
//! Owns the channels (desktop, webhooks) and their formats; must not decide when an alert
//! fires (that is [`crate::rules`]) or hold SQL (the outbox lives behind [`crate::store`]).
//! The channels and one delivery attempt are here; the submodules import from this parent
//! only, never from each other.

mod desktop;
mod health;
mod notice;
mod outbox;
mod render;
mod webhook;

use std::time::Duration;

use chrono::NaiveTime;

pub use health::checks;
pub use notice::{Entry, Notice, SCHEMA};
pub use outbox::Outbox;
use render::render;
pub use webhook::{redacted, sign};

/// `[notify]`: the notification channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether alerts show as desktop notifications.
    pub desktop: bool,
    /// When desktop notifications stay quiet.
    pub quiet_hours: Option<QuietHours>,
    /// Whether a critical alert is shown during quiet hours anyway.
    pub critical_breaks_quiet: bool,
    /// The longest wait between two delivery attempts.
    pub retry_max: Duration,
    /// Webhook channels, by name.
    pub webhooks: Vec<Webhook>,
}

/// The channel name of desktop notifications (webhooks are named by their config table).
pub const DESKTOP: &str = "desktop";

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// hostwatch's own versioned JSON ([`SCHEMA`], docs/ALERTS.md).
    Json,
    /// A Slack incoming webhook (`text`).
    Slack,
    /// A Discord webhook (`content` and an embed).
    Discord,
    /// An ntfy topic URL: the text as body, title and priority as headers.
    Ntfy,
}

impl Format {
    /// Every format, with the name used in the config.
    pub const ALL: &[(&str, Format)] =
        &[("json", Format::Json), ("slack", Format::Slack), ("discord", Format::Discord), ("ntfy", Format::Ntfy)];
}

/// A configured webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// The channel's name (its `[notify.webhooks.NAME]` table).
    pub name: String,
    /// Where requests go (http or https).
    pub url: reqwest::Url,
    /// Body shape.
    pub format: Format,
    /// Extra headers sent with every request (an `Authorization`, say).
    pub headers: Vec<(String, String)>,
    /// If set, each request carries an HMAC-SHA256 signature made with it.
    pub secret: Option<String>,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
}

/// A daily span of local time when desktop notifications stay quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Local time it starts.
    pub start: NaiveTime,
    /// Local time it ends (before `start`: the span crosses midnight).
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether the local time `t` is inside.
    pub fn contains(self, t: NaiveTime) -> bool {
        if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }
}

/// Why an attempt failed, and whether another could succeed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver is down, slow or unreachable: try again later.
    #[error("{0}")]
    Retry(String),
    /// The receiver refused the request (a 4xx): asking again would not help.
    #[error("{0}")]
    Permanent(String),
}

/// A place notices go.
pub enum Channel {
    /// The desktop's notification server.
    Desktop,
    /// A webhook with its HTTP client.
    Webhook(Webhook, reqwest::Client),
}

impl Channel {
    /// The configured channels: the desktop (if on) and every webhook.
    pub fn all(config: &Settings) -> Vec<Channel> {
        let desktop = config.desktop.then_some(Channel::Desktop);
        desktop
            .into_iter()
            .chain(config.webhooks.iter().map(|w| Channel::Webhook(w.clone(), webhook::client(w))))
            .collect()
    }

    /// Its name: `desktop`, or the webhook's.
    pub fn name(&self) -> &str {
        match self {
            Channel::Desktop => DESKTOP,
            Channel::Webhook(w, _) => &w.name,
        }
    }
}

/// One attempt to deliver `notice` on `channel`; `now_secs` stamps webhook signatures.
pub async fn send(channel: &Channel, notice: &Notice, now_secs: i64) -> Result<(), DeliveryError> {
    match channel {
        Channel::Desktop => desktop::show(notice).await,
        Channel::Webhook(hook, client) => webhook::post(client, hook, notice, now_secs).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_may_cross_midnight() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let night = QuietHours { start: t(22, 0), end: t(7, 0) };
        assert!(night.contains(t(23, 30)) && night.contains(t(3, 0)) && night.contains(t(22, 0)));
        assert!(!night.contains(t(7, 0)) && !night.contains(t(12, 0)));
        let lunch = QuietHours { start: t(12, 0), end: t(13, 0) };
        assert!(lunch.contains(t(12, 30)) && !lunch.contains(t(13, 0)) && !lunch.contains(t(23, 0)));
    }
}
