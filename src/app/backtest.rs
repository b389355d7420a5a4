//! `hostwatch rules backtest`: what the rules would have announced over the stored history.

use anyhow::Result;
use chrono::{Local, NaiveDate, TimeZone};
use serde_json::json;

use super::show::{local, table};
use super::{Paths, UsageError};
use crate::backtest::{Backtest, Coverage};
use crate::cli::Format;
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::rules::Event;
use crate::units::{When, rfc3339};

/// Replays `span` through the config's rules (or the named ones) and prints the result.
pub fn backtest(
    paths: &Paths,
    config: &Config,
    names: &[String],
    span: (When, Option<When>),
    format: Format,
) -> Result<()> {
    let mut setup = config.alert_setup();
    if !names.is_empty() {
        let known: Vec<&str> = setup.rules.iter().map(|r| r.name.as_str()).collect();
        if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
            let known = known.join(", ");
            return Err(UsageError(format!("no enabled rule is called {bad:?}; the rules are: {known}")).into());
        }
        setup.rules.retain(|r| names.contains(&r.name));
    }
    let now = wall_ms() / 1000;
    let (since, until) = super::span(Some(span.0), span.1, now)?;
    let (store, archive) = super::archive::sources(paths)?;
    let result = crate::backtest::backtest(store.as_ref(), archive.as_ref(), &setup, since, until)?;
    match format {
        Format::Table => print_table(&result),
        Format::Csv => print_csv(&result.events),
        Format::Json => {
            outln!("{}", serde_json::to_string_pretty(&to_json(&result))?);
            Ok(())
        }
    }
}

/// Notices per local calendar day of the span, every day listed.
fn per_day(b: &Backtest) -> Vec<(NaiveDate, usize)> {
    let day = |ms: i64| Local.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
    let (Some(first), Some(last)) = (day(b.since * 1000), day(b.until * 1000 - 1)) else { return Vec::new() };
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d, b.summary.notices.iter().filter(|&&ms| day(ms) == Some(d)).count()))
        .collect()
}

fn coverage_lines(c: &Coverage, since: i64) -> Vec<String> {
    let mut lines = Vec::new();
    match c.range {
        None => lines.push("No samples of these rules' series in the span: nothing to replay.".to_owned()),
        Some((first, _)) if first > since + 3600 => lines.push(format!("History starts at {}.", local(first))),
        Some(_) => {}
    }
    for (from, to) in &c.minute_spans {
        lines.push(format!(
            "Only one-minute means remain from {} to {}: windows there see one value a minute, and a `for` may be off by up to a minute.",
            local(*from),
            local(*to)
        ));
    }
    lines
}

fn event_row(e: &Event) -> Vec<String> {
    vec![
        local(e.at_ms / 1000),
        e.rule.clone(),
        e.kind.as_str().to_owned(),
        e.severity.as_str().to_owned(),
        e.series.to_string(),
        format!("{:.2}", e.value),
        format!("{:.2}", e.threshold),
    ]
}

const EVENT_HEADER: [&str; 7] = ["TIME", "RULE", "EVENT", "SEVERITY", "SERIES", "VALUE", "THRESHOLD"];

fn print_table(b: &Backtest) -> Result<()> {
    outln!(
        "Replayed {} to {}: {} raw samples, {} one-minute means.",
        local(b.since),
        local(b.until),
        b.coverage.raw,
        b.coverage.minute_means
    );
    for line in coverage_lines(&b.coverage, b.since) {
        outln!("{line}");
    }
    outln!("");
    if b.events.is_empty() {
        outln!("Nothing would have been announced.");
    } else {
        let rows: Vec<Vec<String>> = b.events.iter().map(event_row).collect();
        out!("{}", table(&EVENT_HEADER, &rows));
    }
    outln!("");
    let days: Vec<Vec<String>> = per_day(b).iter().map(|(d, n)| vec![d.to_string(), n.to_string()]).collect();
    out!("{}", table(&["DAY", "NOTICES"], &days));
    outln!("");
    let span = (b.until - b.since).max(1);
    let rules: Vec<Vec<String>> = b
        .summary
        .rules
        .iter()
        .map(|r| {
            #[allow(clippy::cast_precision_loss)] // seconds in a span
            let share = r.firing_secs as f64 * 100.0 / span as f64;
            let firing = humantime::format_duration(std::time::Duration::from_secs(r.firing_secs.unsigned_abs()));
            vec![r.name.clone(), r.fired.to_string(), r.events.to_string(), format!("{firing} ({share:.1}%)")]
        })
        .collect();
    out!("{}", table(&["RULE", "FIRED", "CHANGES", "TIME FIRING"], &rules));
    Ok(())
}

fn print_csv(events: &[Event]) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    w.write_record(["at", "rule", "event", "severity", "series", "value", "threshold"])?;
    for e in events {
        let at = rfc3339(e.at_ms);
        let (value, threshold) = (e.value.to_string(), e.threshold.to_string());
        w.write_record([
            at.as_str(),
            &e.rule,
            e.kind.as_str(),
            e.severity.as_str(),
            &e.series.to_string(),
            &value,
            &threshold,
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn to_json(b: &Backtest) -> serde_json::Value {
    let events: Vec<serde_json::Value> = b
        .events
        .iter()
        .map(|e| {
            let labels: serde_json::Map<String, serde_json::Value> =
                e.series.labels.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
            json!({
                "at": rfc3339(e.at_ms), "at_ms": e.at_ms, "rule": e.rule, "event": e.kind.as_str(),
                "severity": e.severity.as_str(), "series": e.series.to_string(), "metric": e.series.metric.name,
                "labels": labels, "value": e.value, "threshold": e.threshold,
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = b
        .summary
        .rules
        .iter()
        .map(|r| json!({"rule": r.name, "fired": r.fired, "changes": r.events, "firing_seconds": r.firing_secs}))
        .collect();
    let days: Vec<serde_json::Value> =
        per_day(b).iter().map(|(d, n)| json!({"date": d.to_string(), "notices": n})).collect();
    let minute_only: Vec<serde_json::Value> = b
        .coverage
        .minute_spans
        .iter()
        .map(|(f, t)| json!({"from": rfc3339(f * 1000), "to": rfc3339(t * 1000)}))
        .collect();
    json!({
        "since": rfc3339(b.since * 1000), "until": rfc3339(b.until * 1000),
        "coverage": {"raw_samples": b.coverage.raw, "minute_means": b.coverage.minute_means, "minute_only": minute_only,
                     "notes": coverage_lines(&b.coverage, b.since)},
        "rules": rules, "days": days, "notices": b.summary.notices.len(), "events": events,
    })
}
