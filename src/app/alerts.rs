//! `hostwatch rules`, `hostwatch alerts` and `hostwatch notify test`.

use anyhow::{Result, bail};

use super::Paths;
use super::show::{local, table, waiting};
use crate::collect::host_name;
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::notify::{Channel, DeliveryError, Notice, send};
use crate::units::When;

/// The longest `notify test` waits for one channel: above a webhook's longest timeout.
const TEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(70);
use crate::rules::Track;
use crate::store::Store;

/// A track in one line: `firing critical: disk.used_percent{mount="/"} 93.1 since ...`.
fn describe(t: &Track) -> String {
    format!(
        "{} {}: {} = {} (threshold {}) since {}",
        t.phase.as_str(),
        t.severity.as_str(),
        t.key,
        round(t.value),
        round(t.threshold),
        local(t.since_ms / 1000)
    )
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Every enabled rule, what it watches, and its state.
pub fn rules(paths: &Paths, config: &Config) -> Result<()> {
    let tracks = super::store_if_any(paths)?.map(|s| s.alerts()).transpose()?;
    let mut rows = Vec::new();
    for rule in &config.alerts.rules {
        let mine: Vec<&Track> = tracks.iter().flatten().filter(|t| t.rule == rule.name).collect();
        let state = match (&tracks, mine.as_slice()) {
            (None, _) => "no data yet".to_owned(),
            _ if !config.alerts.enabled => "off (alerts.enabled = false)".to_owned(),
            (_, []) => "ok".to_owned(),
            (_, [first, ..]) => describe(first),
        };
        rows.push(vec![rule.name.clone(), rule.describe(), state]);
        rows.extend(mine.iter().skip(1).map(|t| vec![String::new(), String::new(), describe(t)]));
    }
    out!("{}", table(&["RULE", "CONDITION", "STATE"], &rows));
    Ok(())
}

/// Firing and pending alerts, then the history since `since`.
pub fn alerts(paths: &Paths, since: When, limit: u32) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let now = wall_ms() / 1000;
    let tracks = store.alerts()?;
    if tracks.is_empty() {
        outln!("No alert is firing or pending.");
    } else {
        let rows: Vec<Vec<String>> = tracks.iter().map(|t| vec![t.rule.clone(), describe(t)]).collect();
        out!("{}", table(&["RULE", "STATE"], &rows));
    }
    let history = store.alert_history(since.resolve(now) * 1000, limit)?;
    outln!("");
    if history.is_empty() {
        outln!("No alert changes since {}.", local(since.resolve(now)));
    } else {
        let rows: Vec<Vec<String>> = history
            .iter()
            .map(|e| {
                let value = format!("{} (threshold {})", round(e.value), round(e.threshold));
                vec![
                    local(e.at_ms / 1000),
                    e.rule.clone(),
                    e.event.as_str().to_owned(),
                    e.severity.as_str().to_owned(),
                    e.series.clone(),
                    value,
                ]
            })
            .collect();
        out!("{}", table(&["TIME", "RULE", "EVENT", "SEVERITY", "SERIES", "VALUE"], &rows));
    }
    for w in store.outbox_pending()? {
        let why = w.error.as_ref().map_or_else(String::new, |e| format!(": {e}"));
        outln!("{}{why}", waiting(&w));
    }
    for (channel, n, why) in store.outbox_failed(since.resolve(now) * 1000)? {
        outln!("{channel}: {n} notice(s) not delivered since {}: {why}", local(since.resolve(now)));
    }
    Ok(())
}

/// Sends a test notice to `only` (or every channel) and reports each; fails if any failed.
pub fn notify_test(config: &Config, only: Option<&str>) -> Result<()> {
    let channels: Vec<Channel> =
        Channel::all(&config.notify).into_iter().filter(|c| only.is_none_or(|n| c.name() == n)).collect();
    if channels.is_empty() {
        match only {
            Some(name) => bail!(crate::app::UsageError(format!(
                "no channel named {name:?}: it is `desktop` (if notify.desktop is on) or a [notify.webhooks.NAME]"
            ))),
            None => bail!(crate::app::UsageError("no notification channel is configured".to_owned())),
        }
    }
    let now = wall_ms();
    let notice = Notice::test(&host_name(), now);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut failed = 0;
    for channel in &channels {
        // A hung notification server or a slow webhook must not hang the command.
        let attempt = async { tokio::time::timeout(TEST_TIMEOUT, send(channel, &notice, now / 1000)).await };
        match runtime.block_on(attempt).unwrap_or_else(|_| Err(DeliveryError::Retry("no answer in 70s".into()))) {
            Ok(()) => outln!("{}: sent", channel.name()),
            Err(e) => {
                failed += 1;
                outln!("{}: FAILED: {e}", channel.name());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} channels failed", channels.len());
    }
    Ok(())
}
