//! `hostwatch rules`, `hostwatch alerts` and `hostwatch notify test`.

use anyhow::{Result, bail};

use super::Paths;
use super::listing::{Field, Listing};
use super::show::{local, waiting};
use crate::cli::Format;
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

/// A pending or firing alert's fields, for scripts.
fn track_fields(t: Option<&Track>) -> Vec<Field> {
    let Some(t) = t else { return (0..6).map(|_| Field::Json(serde_json::Value::Null)).collect() };
    vec![
        Field::Json(t.phase.as_str().into()),
        Field::Json(t.severity.as_str().into()),
        Field::Json(t.key.to_string().into()),
        Field::Json(round(t.value).into()),
        Field::Json(round(t.threshold).into()),
        Field::Json(crate::units::local_rfc3339(t.since_ms / 1000).into()),
    ]
}

/// Every enabled rule, what it watches, and its state: a row per alert it has.
pub fn rules(paths: &Paths, config: &Config, format: Format) -> Result<()> {
    let tracks = super::store_if_any(paths)?.map(|s| s.alerts()).transpose()?;
    let mut list =
        Listing::new(&["rule", "condition", "state", "phase", "severity", "series", "value", "threshold", "since"]);
    for rule in &config.alerts.rules {
        let mine: Vec<&Track> = tracks.iter().flatten().filter(|t| t.rule == rule.name).collect();
        let state = match (&tracks, mine.as_slice()) {
            (None, _) => "no data yet".to_owned(),
            _ if !config.alerts.enabled => "off (alerts.enabled = false)".to_owned(),
            (_, []) => "ok".to_owned(),
            (_, [first, ..]) => describe(first),
        };
        let head = [Field::Text(rule.name.clone()), Field::Text(rule.describe()), Field::Text(state)];
        list.push(head.into_iter().chain(track_fields(mine.first().copied())).collect());
        for t in mine.iter().skip(1) {
            let head = [Field::Text(rule.name.clone()), Field::Text(rule.describe()), Field::Text(describe(t))];
            list.push(head.into_iter().chain(track_fields(Some(t))).collect());
        }
    }
    list.print(format)
}

/// Firing and pending alerts, then the history since `since`, then notices that wait. As
/// JSON: `{"active": [...], "history": [...], "waiting": [...]}`; as CSV: the history.
pub fn alerts(paths: &Paths, since: When, limit: u32, format: Format) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let now = wall_ms() / 1000;
    let tracks = store.alerts()?;
    let mut active = Listing::new(&["rule", "state", "phase", "severity", "series", "value", "threshold", "since"]);
    for t in &tracks {
        let head = [Field::Text(t.rule.clone()), Field::Text(describe(t))];
        active.push(head.into_iter().chain(track_fields(Some(t))).collect());
    }
    let mut history = Listing::new(&["time", "rule", "event", "severity", "series", "value", "threshold"]);
    for e in store.alert_history(since.resolve(now) * 1000, limit)? {
        history.push(vec![
            Field::Time(e.at_ms / 1000),
            Field::Text(e.rule.clone()),
            Field::Text(e.event.as_str().to_owned()),
            Field::Text(e.severity.as_str().to_owned()),
            Field::Text(e.series.clone()),
            Field::Num(round(e.value), round(e.value).to_string()),
            Field::Num(round(e.threshold), round(e.threshold).to_string()),
        ]);
    }
    let mut waiting_list = Listing::new(&["channel", "notices", "since", "error"]);
    let pending = store.outbox_pending()?;
    for w in &pending {
        let since = Field::Time(w.oldest_ms / 1000);
        waiting_list.push(vec![
            Field::Text(w.channel.clone()),
            Field::Int(w.count),
            since,
            Field::text(w.error.clone()),
        ]);
    }
    match format {
        Format::Json => {
            let (a, h, w) = (active.json(), history.json(), waiting_list.json());
            outln!("{{\"active\": {a},\n\"history\": {h},\n\"waiting\": {w}}}");
            return Ok(());
        }
        Format::Csv => return history.print(format),
        Format::Table => {}
    }
    if tracks.is_empty() {
        outln!("No alert is firing or pending.");
    } else {
        out!("{}", active.table());
    }
    outln!("");
    if history.is_empty() {
        outln!("No alert changes since {}.", local(since.resolve(now)));
    } else {
        out!("{}", history.table());
    }
    for w in pending {
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
