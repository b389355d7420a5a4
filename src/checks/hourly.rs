//! `hourly_health`: the last hour of each rule's series against the rule's thresholds and
//! its monthly baseline, each probe's error rate and response-time p95 (with what the host
//! was doing when one failed or was slow), network traffic for the record, and the agent's
//! own health (gaps, collector failures, store size, rollup backlog).

use crate::metrics::{self as m, Metric};
use crate::report::{Finding, Level, Report};
use crate::rules::Rule;
use crate::store::{SeriesValues, Store, StoreError};

/// A hot store larger than this is worth a look (the default settings keep a few MB).
const STORE_WARN_BYTES: u64 = 256 << 20;

/// The mean and the nearest-rank 95th percentile of `values` (not empty).
pub fn avg_p95(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    #[allow(clippy::cast_precision_loss)]
    let avg = sorted.iter().sum::<f64>() / sorted.len() as f64;
    (avg, crate::report::quantile(&mut sorted, 0.95).unwrap_or(f64::NAN))
}

/// How the hour of one series compares with one rule's thresholds.
fn judge(rule: &Rule, s: &SeriesValues, divisor: f64) -> Option<Finding> {
    let values: Vec<f64> = s.values.iter().map(|v| v / divisor).collect();
    if values.is_empty() {
        return None;
    }
    let (avg, p95) = avg_p95(&values);
    let d = rule.direction;
    let beyond = |v: f64, t: Option<f64>| t.is_some_and(|t| d.beyond(v, t));
    let level = if beyond(avg, rule.critical) {
        Level::Critical
    } else if beyond(avg, rule.warning) || beyond(p95, rule.critical) {
        Level::Warning
    } else {
        return None;
    };
    let t = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v}"));
    let text = format!(
        "avg {avg:.1}, p95 {p95:.1} over {} ({} {} warning {} / critical {}, rule {})",
        covered(s),
        s.key.metric.unit,
        d.as_str(),
        t(rule.warning),
        t(rule.critical),
        rule.name
    );
    Some(Finding { level, subject: s.key.to_string(), text })
}

/// What an hour's values really cover: "the hour", or the span and sample count when the
/// agent ran for only part of it (a finding from 15 s of data must not say "the hour").
fn covered(s: &SeriesValues) -> String {
    let (first, last) = s.span();
    let secs = last - first;
    if secs >= MOST_OF_AN_HOUR {
        "the hour".to_owned()
    } else {
        let span = humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs()));
        format!("{span} of the hour ({} samples)", s.values.len())
    }
}

/// Data spanning at least this much of an hour is "the hour".
const MOST_OF_AN_HOUR: i64 = 45 * 60;

/// An hour whose p95 is well past the series' usual p99 (the monthly baseline), though
/// within the rule's thresholds: worth knowing, not worth a notification.
fn unusual(s: &SeriesValues, b: &crate::report::Baseline) -> Option<Finding> {
    let (_, p95) = avg_p95(&s.values);
    let margin = (b.p99 - b.p50).abs().max(b.p99.abs() * 0.1);
    (!s.values.is_empty() && p95 > b.p99 + margin).then(|| Finding {
        level: Level::Info,
        subject: s.key.to_string(),
        text: format!(
            "p95 {} over {}, above its usual p99 of {} (monthly baseline)",
            s.key.metric.show(p95),
            covered(s),
            s.key.metric.show(b.p99)
        ),
    })
}

/// Runs the check for the hour before `slot` (unix seconds).
pub fn run(store: &Store, ctx: &super::Context, slot: i64) -> Result<Report, StoreError> {
    let (from, to) = (slot - 3600, slot);
    let cores = crate::rules::logical_cpus();
    let mut findings = Vec::new();
    let baselines = store.baselines()?;
    // Rules on `probe.up` are error rates, judged per probe below; a rate's thresholds are
    // not in the units of the hour's values.
    let rules: Vec<&Rule> = ctx
        .alerts
        .rules
        .iter()
        .filter(|r| r.guard.is_none() && r.condition.on_values() && *r.metric != m::PROBE_UP)
        .collect();
    let metrics: Vec<&Metric> = rules.iter().map(|r| r.metric).collect();
    // One read of the hour for every rule's metric; each rule takes the series it selects.
    let hour = store.series_between(&metrics, from, to)?;
    for rule in rules {
        let divisor = rule.divisor(cores);
        for s in hour.iter().filter(|s| rule.selects(&s.key)) {
            let mut judged = judge(rule, s, divisor);
            if let Some(f) = judged.as_mut()
                && let Some(context) = super::probes::slowest(store, s)?
            {
                f.text = format!("{}; {context}", f.text);
            }
            let usual = baselines.iter().find(|b| b.metric == s.key.metric.name && b.labels == s.key.labels_json());
            findings.extend(judged.or_else(|| usual.and_then(|b| unusual(s, b))));
        }
    }
    let (probes, probe_findings) = super::probes::summary(store, &ctx.alerts.rules, from, to)?;
    findings.extend(probe_findings);
    let mut network = Vec::new();
    for s in store.series_between(&[&m::NET_RX, &m::NET_TX], from, to)? {
        let (avg, p95) = avg_p95(&s.values);
        network.push(format!("{}: avg {avg:.0}, p95 {p95:.0} bytes/s", s.key));
        let usual = baselines.iter().find(|b| b.metric == s.key.metric.name && b.labels == s.key.labels_json());
        findings.extend(usual.and_then(|b| unusual(&s, b)));
    }
    let mut agent = Vec::new();
    for (start, end, reason) in store.gaps_between(from, to)? {
        agent.push(format!("gap of {} s ({reason})", end - start));
    }
    for s in store.series_between(&[&m::COLLECTOR_ERRORS], from, to)? {
        let failures = s.values.len();
        let name = s.key.labels.first().map_or("?", |(_, v)| v.as_str());
        findings.push(Finding {
            level: Level::Warning,
            subject: format!("collector {name}"),
            text: format!("failed at {failures} ticks in the hour (its error is in the agent's log)"),
        });
    }
    for s in store.series_between(&[&m::TICKS_SKIPPED], from, to)? {
        let skipped: f64 = s.values.iter().sum();
        let name = s.key.labels.first().map_or("?", |(_, v)| v.as_str());
        agent.push(format!("{skipped:.0} {name} ticks skipped: the agent was held up (stopped, or starved of CPU)"));
    }
    let bytes = store.status()?.bytes;
    agent.push(format!("hot store {:.1} MB", bytes as f64 / 1e6));
    let archive = store.path().with_file_name(crate::archive::FILE_NAME);
    if let Ok(meta) = std::fs::metadata(&archive) {
        agent.push(format!("archive {:.1} MB", meta.len() as f64 / 1e6));
    }
    if bytes > STORE_WARN_BYTES {
        findings.push(Finding {
            level: Level::Warning,
            subject: "hot store".to_owned(),
            text: format!(
                "{:.0} MB: samples are not leaving for the archive (see `hostwatch status`)",
                bytes as f64 / 1e6
            ),
        });
    }
    if let Some((_, policy)) = &ctx.archive {
        let cutoff = policy.cutoff(slot);
        let backlog = store.count_before(cutoff - 3600)?;
        agent.push(format!("rollup backlog {backlog} samples"));
        if backlog > 0 {
            findings.push(Finding {
                level: Level::Warning,
                subject: "archive".to_owned(),
                text: format!("{backlog} samples are over an hour past the hot window: is the archive held open?"),
            });
        }
    }
    let title = format!("Hourly health, {}", crate::units::rfc3339(slot * 1000));
    Ok(Report::new(
        "hourly_health",
        slot,
        &title,
        findings,
        &[("Probes", probes), ("Network", network), ("Agent", agent)],
    ))
}
