//! What the checklist says of probes: each probe's attempts, error rate and response-time
//! p95 over a span, its error rate against the rules on `probe.up`, and, for a probe that
//! failed or was slow, what the host was doing at that moment (CPU, memory, swap, the
//! busiest process): what no uptime monitor can say.

use std::collections::BTreeMap;

use crate::archive::Archive;
use crate::metrics::{self as m, Metric};
use crate::probe::Probe;
use crate::report::{Finding, Level, quantile};
use crate::rules::{Condition, Rule};
use crate::store::{Group, ProbeLast, Selector, SeriesValues, Store, StoreError};
use crate::trend::{Point, TrendError};
use crate::units::Shift;

/// Where a probe's response time is kept, first found first: a completion's, a query's,
/// else an answer's (an ai probe's liveness checks time an answer too).
pub const RESPONSE: [&Metric; 3] = [&m::PROBE_AI_RESPONSE, &m::PROBE_QUERY, &m::PROBE_DURATION];

/// Seconds as people read a response time.
pub fn seconds(v: f64) -> String {
    if v < 1.0 { format!("{:.0} ms", v * 1000.0) } else { format!("{v:.2} s") }
}

/// The response-time series of probe `name` among `series`.
pub fn response<'a>(series: &'a [SeriesValues], name: &str) -> Option<&'a SeriesValues> {
    RESPONSE.iter().find_map(|metric| series.iter().find(|s| s.key.metric == *metric && s.label("probe") == Some(name)))
}

/// Each probe's line for `[from, to)`, and a finding for each whose share of failed
/// attempts passes a rule on `probe.up` (`error_rate` above 0.01, or `avg` below 0.99).
pub fn summary(store: &Store, rules: &[Rule], from: i64, to: i64) -> Result<(Vec<String>, Vec<Finding>), StoreError> {
    let series = store.series_between(&[&m::PROBE_UP, RESPONSE[0], RESPONSE[1], RESPONSE[2]], from, to)?;
    let (mut lines, mut findings) = (Vec::new(), Vec::new());
    for up in series.iter().filter(|s| *s.key.metric == m::PROBE_UP) {
        let Some(name) = up.label("probe") else { continue };
        let failed: Vec<i64> = up.times.iter().zip(&up.values).filter(|(_, v)| **v < 0.5).map(|(t, _)| *t).collect();
        let attempts = up.values.len();
        let share = failed.len() as f64 / attempts.max(1) as f64;
        let p95 = response(&series, name).and_then(|r| quantile(&mut r.values.clone(), 0.95));
        let p95 = p95.map_or_else(String::new, |p| format!(", response time p95 {}", seconds(p)));
        lines.push(format!("{name}: {attempts} attempts, error rate {:.1}%{p95}", share * 100.0));
        for rule in rules.iter().filter(|r| *r.metric == m::PROBE_UP && r.selects(&up.key)) {
            // The span as the rule measures its window: the error rate itself, or the mean
            // of up (the share that succeeded). Thresholds are shown as error rates.
            let error_rate = matches!(rule.condition, Condition::ErrorRate(_));
            let as_error_rate = |v: f64| if error_rate { v } else { 1.0 - v };
            let beyond = |t: Option<f64>| t.is_some_and(|t| rule.direction.beyond(as_error_rate(share), t));
            let level = match (beyond(rule.critical), beyond(rule.warning)) {
                (true, _) => Level::Critical,
                (false, true) => Level::Warning,
                _ => continue,
            };
            let limit =
                |t: Option<f64>| t.map_or_else(|| "-".to_owned(), |t| format!("{:.1}%", as_error_rate(t) * 100.0));
            let first = failed.first().copied().unwrap_or(from);
            let text = format!(
                "{} of {attempts} attempts failed ({:.1}%; rule {}: warning past {}, critical past {}); at the first failure, {}",
                failed.len(),
                share * 100.0,
                rule.name,
                limit(rule.warning),
                limit(rule.critical),
                host_at(store, first)?
            );
            findings.push(Finding { level, subject: format!("probe {name}"), text });
        }
    }
    Ok((lines, findings))
}

/// For a response-time series, where its slowest attempt was and what the host was doing.
pub fn slowest(store: &Store, s: &SeriesValues) -> Result<Option<String>, StoreError> {
    if !RESPONSE.contains(&s.key.metric) {
        return Ok(None);
    }
    let worst = s.times.iter().zip(&s.values).max_by(|a, b| a.1.total_cmp(b.1));
    worst.map(|(&ts, &v)| Ok(format!("the slowest took {}, {}", seconds(v), host_at(store, ts)?))).transpose()
}

/// What the host was doing at `ts`: the samples nearest to it, within a minute.
pub fn host_at(store: &Store, ts: i64) -> Result<String, StoreError> {
    let near =
        store.series_between(&[&m::CPU_USAGE, &m::MEM_USED_PCT, &m::SWAP_USED_PCT, &m::PROC_CPU], ts - 60, ts + 61)?;
    let at = |s: &SeriesValues| s.times.iter().zip(&s.values).min_by_key(|(t, _)| (**t - ts).abs()).map(|(_, v)| *v);
    let value = |metric: &Metric, label: Option<(&str, &str)>| {
        near.iter().find(|s| *s.key.metric == *metric && label.is_none_or(|(k, v)| s.label(k) == Some(v))).and_then(at)
    };
    let mut parts = Vec::new();
    for (what, metric, label) in [
        ("CPU", &m::CPU_USAGE, Some(("cpu", "total"))),
        ("memory", &m::MEM_USED_PCT, None),
        ("swap", &m::SWAP_USED_PCT, None),
    ] {
        if let Some(v) = value(metric, label) {
            parts.push(format!("{what} {v:.1}%"));
        }
    }
    let busiest = near
        .iter()
        .filter(|s| *s.key.metric == m::PROC_CPU)
        .filter_map(|s| Some((s.label("name")?, at(s)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((name, cpu)) = busiest {
        parts.push(format!("busiest process {name} ({cpu:.0}% CPU)"));
    }
    let when = crate::units::rfc3339(ts * 1000);
    Ok(if parts.is_empty() {
        format!("at {when} the host recorded nothing")
    } else {
        format!("at {when} the host had {}", parts.join(", "))
    })
}

/// Each probe's availability over `[from, to)` (hot store and archive) against its SLA, in
/// percent: a line for each, a warning for each below its target.
pub fn availability(
    (store, archive): (&Store, Option<&Archive>),
    slas: &[(String, f64)],
    (from, to): (i64, i64),
) -> (Vec<String>, Vec<Finding>) {
    let (mut lines, mut findings) = (Vec::new(), Vec::new());
    if slas.is_empty() {
        return (lines, findings);
    }
    let names: Vec<String> = slas.iter().map(|(n, _)| n.clone()).collect();
    let sel = Selector { metric: m::PROBE_UP.name.to_owned(), labels: Vec::new() };
    let by = crate::trend::trends(
        Some(store),
        archive,
        &sel,
        Group::Label("probe", &names),
        (from, to),
        (86_400, &Shift::fixed(0)),
    )
    .inspect_err(|e| tracing::warn!("availability of probes failed: {e}"))
    .unwrap_or_default();
    let days = (to - from) / 86_400;
    for (name, sla) in slas {
        let points = by.get(name).map(Vec::as_slice).unwrap_or_default();
        let attempts: i64 = points.iter().map(|p| p.count).sum();
        if attempts == 0 {
            lines.push(format!("{name}: no attempt in {days} days (SLA {sla}%)"));
            continue;
        }
        let up = 100.0 * points.iter().map(|p| p.avg * p.count as f64).sum::<f64>() / attempts as f64;
        lines.push(format!("{name}: available {up:.3}% of {attempts} attempts over {days} days (SLA {sla}%)"));
        if up < *sla {
            let span = (to - from) as f64;
            let hours = |share: f64| {
                humantime::format_duration(std::time::Duration::from_secs((share * span) as u64 / 60 * 60))
            };
            let text = format!(
                "available {up:.3}% over {days} days, below its SLA of {sla}%: about {} down where {} were allowed",
                hours(1.0 - up / 100.0),
                hours(1.0 - sla / 100.0)
            );
            findings.push(Finding { level: Level::Warning, subject: format!("probe {name}"), text });
        }
    }
    (lines, findings)
}

/// One probe at a glance: what `hostwatch probes` prints and the dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The probe's name.
    pub name: String,
    /// `http`, `ai`, `sqlite` or `postgres`.
    pub kind: &'static str,
    /// The target as it may be shown (no secret, no query string).
    pub target: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Its last attempt and last failure, if it made one.
    pub last: Option<ProbeLast>,
    /// Response time p50 and p95 over the last hour, seconds.
    pub p50: Option<f64>,
    /// See `p50`.
    pub p95: Option<f64>,
    /// Share of the last hour's attempts that failed.
    pub error_rate: Option<f64>,
    /// Share of attempts that succeeded over 24 hours, 7 days and 30 days.
    pub availability: [Option<f64>; 3],
}

/// Every probe of `probes` at `now`: the last hour's response times and errors from the
/// hot store, availability from both stores in hourly buckets (so a window is within an
/// hour of its length).
pub fn overview(
    (store, archive): (Option<&Store>, Option<&Archive>),
    probes: &[Probe],
    now: i64,
) -> Result<Vec<Overview>, TrendError> {
    const HOUR: i64 = 3600;
    let names: Vec<String> = probes.iter().map(|p| p.name.clone()).collect();
    let results = store.map(Store::probe_results).transpose()?.unwrap_or_default();
    let metrics = [&m::PROBE_UP, RESPONSE[0], RESPONSE[1], RESPONSE[2]];
    let hour = store.map(|s| s.series_between(&metrics, now - HOUR, now + 1)).transpose()?.unwrap_or_default();
    let up = Selector { metric: m::PROBE_UP.name.to_owned(), labels: Vec::new() };
    let mut availability = Vec::new();
    for days in [1, 7, 30] {
        let span = (now - days * 24 * HOUR, now + 1);
        availability.push(crate::trend::trends(
            store,
            archive,
            &up,
            Group::Label("probe", &names),
            span,
            (HOUR, &Shift::fixed(0)),
        )?);
    }
    let share_up = |map: &BTreeMap<String, Vec<Point>>, name: &str| {
        let points = map.get(name)?;
        let count: i64 = points.iter().map(|p| p.count).sum();
        (count > 0).then(|| points.iter().map(|p| p.avg * p.count as f64).sum::<f64>() / count as f64)
    };
    Ok(probes
        .iter()
        .map(|p| {
            let mut times = response(&hour, &p.name).map(|s| s.values.clone()).unwrap_or_default();
            let ups = hour.iter().find(|s| *s.key.metric == m::PROBE_UP && s.label("probe") == Some(&p.name));
            Overview {
                name: p.name.clone(),
                kind: p.target.kind(),
                target: p.target.shown(),
                enabled: p.enabled,
                last: results.iter().find(|r| r.last.probe == p.name).cloned(),
                p50: quantile(&mut times, 0.5),
                p95: quantile(&mut times, 0.95),
                error_rate: ups
                    .map(|s| s.values.iter().filter(|v| **v < 0.5).count() as f64 / s.values.len().max(1) as f64),
                availability: [0, 1, 2].map(|i| share_up(&availability[i], &p.name)),
            }
        })
        .collect())
}
