//! A channel and one delivery attempt on it.

use super::Settings;
use super::{DESKTOP, Notice, Webhook, desktop, webhook};

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
