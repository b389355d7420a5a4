//! `hostwatch probes` and `hostwatch probe run NAME`.

use anyhow::{Result, bail};

use super::Paths;
use super::archive::sources;
use super::show::{local, table};
use crate::checks::probes::{RESPONSE, response};
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::metrics::PROBE_UP;
use crate::probe::{Probe, Prober};
use crate::report::quantile;
use crate::store::{Group, ProbeLast, Selector, Store};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Seconds as people read a response time: `212 ms`, `3.40 s`.
fn shown_secs(v: f64) -> String {
    if v < 1.0 { format!("{:.3} ms", v * 1000.0) } else { format!("{v:.3} s") }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{:.2}%", v * 100.0))
}

/// One line of the last attempt: `ok 14:02:05`, `timeout 14:02:05: no complete answer ...`.
fn last(row: Option<&ProbeLast>) -> String {
    let Some(row) = row else { return "no attempt yet".to_owned() };
    let l = &row.last;
    match &l.reason {
        Some(reason) => format!("{reason} at {}: {}", local(l.at_ms / 1000), l.detail),
        None if l.detail.is_empty() => format!("ok at {}", local(l.at_ms / 1000)),
        None => format!("ok at {}, {}", local(l.at_ms / 1000), l.detail),
    }
}

/// Every configured probe with its last result, the last hour's p50/p95 response time and
/// error rate, and its availability over 24 h, 7 d and 30 d (hot store and archive).
pub fn list(paths: &Paths, config: &Config) -> Result<()> {
    let probes = &config.probes.probes;
    if probes.is_empty() {
        outln!("No probe is configured: add a [probes.NAME] table (see `hostwatch config default`).");
        return Ok(());
    }
    let now = wall_ms() / 1000;
    let (store, archive) = sources(paths)?;
    let names: Vec<String> = probes.iter().map(|p| p.name.clone()).collect();
    let results = store.as_ref().map(Store::probe_results).transpose()?.unwrap_or_default();
    let metrics = [&PROBE_UP, RESPONSE[0], RESPONSE[1], RESPONSE[2]];
    let hour = store.as_ref().map(|s| s.series_between(&metrics, now - HOUR, now + 1)).transpose()?.unwrap_or_default();
    let up = Selector { metric: PROBE_UP.name.to_owned(), labels: Vec::new() };
    // Hourly buckets: a trend starts at a whole bucket, so a window is at most an hour long.
    let availability = |days: i64| {
        let since = now - days * DAY;
        crate::trend::trends(
            store.as_ref(),
            archive.as_ref(),
            &up,
            Group::Label("probe", &names),
            (since, now + 1),
            HOUR,
        )
    };
    let (day, week, month) = (availability(1)?, availability(7)?, availability(30)?);
    let avg = |map: &std::collections::BTreeMap<String, Vec<crate::trend::Point>>, name: &str| {
        let points = map.get(name)?;
        let count: i64 = points.iter().map(|p| p.count).sum();
        (count > 0).then(|| points.iter().map(|p| p.avg * p.count as f64).sum::<f64>() / count as f64)
    };
    let mut rows = Vec::new();
    for p in probes {
        let mut times = response(&hour, &p.name).map(|s| s.values.clone()).unwrap_or_default();
        let ups = hour.iter().find(|s| *s.key.metric == PROBE_UP && s.label("probe") == Some(&p.name));
        let errors = ups.map(|s| s.values.iter().filter(|v| **v < 0.5).count() as f64 / s.values.len().max(1) as f64);
        let (p50, p95) = (quantile(&mut times, 0.5), quantile(&mut times, 0.95));
        let shown = |v: Option<f64>| v.map_or("-".to_owned(), shown_secs);
        rows.push(vec![
            p.name.clone(),
            format!("{}{}", p.target.kind(), if p.enabled { "" } else { " (off)" }),
            p.target.shown(),
            last(results.iter().find(|r| r.last.probe == p.name)),
            format!("{} / {}", shown(p50), shown(p95)),
            percent(errors),
            format!(
                "{} / {} / {}",
                percent(avg(&day, &p.name)),
                percent(avg(&week, &p.name)),
                percent(avg(&month, &p.name))
            ),
        ]);
    }
    let header = ["PROBE", "KIND", "TARGET", "LAST", "P50 / P95 (1H)", "ERRORS (1H)", "UP 24H / 7D / 30D"];
    out!("{}", table(&header, &rows));
    Ok(())
}

/// Runs probe `name` once now and prints every measurement; stores nothing. Fails (exit 1)
/// if the attempt failed, so a script can use it.
pub fn run_now(config: &Config, name: &str) -> Result<()> {
    let Some(probe) = config.probes.probes.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = config.probes.probes.iter().map(|p| p.name.as_str()).collect();
        bail!(
            "no probe {name:?} in the config; probes are: {}",
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        );
    };
    let attempt = attempt(probe)?;
    outln!("{} {} ({})", probe.name, probe.target.shown(), probe.target.kind());
    for (metric, value) in &attempt.values {
        let shown = if metric.unit == "s" { shown_secs(*value) } else { format!("{value} {}", metric.unit) };
        outln!("  {:<24} {}", metric.name, shown.trim_end());
    }
    for (metric, (label, part), value) in &attempt.parts {
        outln!("  {:<24} {label}={part} {value}", metric.name);
    }
    for note in &attempt.notes {
        outln!("  {note}");
    }
    for w in &attempt.warnings {
        outln!("  degraded: {w}");
    }
    match &attempt.failure {
        None => {
            outln!("  up");
            Ok(())
        }
        Some(f) => bail!("probe {name} failed ({}): {}", f.reason.as_str(), f.detail),
    }
}

fn attempt(probe: &Probe) -> Result<crate::probe::Attempt> {
    let prober = Prober::new(probe.clone()).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(prober.attempt_full(wall_ms())))
}
