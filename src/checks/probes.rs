//! What the checklist says of probes: each probe's attempts, error rate and response-time
//! p95 over a span, its error rate against the rules on `probe.up`, and, for a probe that
//! failed or was slow, what the host was doing at that moment (CPU, memory, swap, the
//! busiest process): what no uptime monitor can say.

use crate::archive::Archive;
use crate::metrics::{self as m, Metric};
use crate::report::{Finding, Level, quantile};
use crate::rules::Rule;
use crate::store::{Group, Selector, SeriesValues, Store, StoreError};

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
/// attempts passes a rule on `probe.up` (a rule "below 0.99" is an error rate above 1%).
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
            let beyond = |t: Option<f64>| t.is_some_and(|t| rule.direction.beyond(1.0 - share, t));
            let level = match (beyond(rule.critical), beyond(rule.warning)) {
                (true, _) => Level::Critical,
                (false, true) => Level::Warning,
                _ => continue,
            };
            let limit = |t: Option<f64>| t.map_or_else(|| "-".to_owned(), |t| format!("{:.1}%", (1.0 - t) * 100.0));
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
    let by = crate::trend::trends(Some(store), archive, &sel, Group::Label("probe", &names), (from, to), 86_400)
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
