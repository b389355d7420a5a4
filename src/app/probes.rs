//! `hostwatch probes` and `hostwatch probe run NAME`.

use anyhow::{Result, bail};

use super::Paths;
use super::archive::sources;
use super::listing::{Field, Listing};
use super::show::local;
use crate::checks::probes::overview;
use crate::cli::Format;
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::probe::{Clients, Probe, Prober};
use crate::store::ProbeLast;

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
pub fn list(paths: &Paths, config: &Config, format: Format) -> Result<()> {
    let probes = &config.probes.probes;
    if probes.is_empty() {
        outln!("No probe is configured: add a [probes.NAME] table (see `hostwatch config default`).");
        return Ok(());
    }
    let (store, archive) = sources(paths)?;
    let secs = |v: Option<f64>| v.map_or(Field::Absent("-"), |v| Field::Num(v, shown_secs(v)));
    let share = |v: Option<f64>| v.map_or(Field::Absent("-"), |v| Field::Num(v, percent(Some(v))));
    let columns =
        &["probe", "kind", "enabled", "target", "last", "p50_1h", "p95_1h", "errors_1h", "up_24h", "up_7d", "up_30d"];
    let mut list = Listing::new(columns);
    for o in overview((store.as_ref(), archive.as_ref()), probes, wall_ms() / 1000)? {
        let [day, week, month] = o.availability.map(share);
        list.push(vec![
            Field::Text(o.name),
            Field::Text(o.kind.to_owned()),
            Field::Json(o.enabled.into()),
            Field::Text(o.target),
            Field::Text(last(o.last.as_ref())),
            secs(o.p50),
            secs(o.p95),
            share(o.error_rate),
            day,
            week,
            month,
        ]);
    }
    list.print(format)
}

/// Runs probe `name` once now and prints every measurement; stores nothing. Fails (exit 1)
/// if the attempt failed, so a script can use it.
pub fn run_now(config: &Config, name: &str) -> Result<()> {
    let Some(probe) = config.probes.probes.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = config.probes.probes.iter().map(|p| p.name.as_str()).collect();
        let names = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        bail!(super::UsageError(format!("no probe {name:?} in the config; probes are: {names}")));
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
    let prober = Prober::new(probe.clone(), &mut Clients::default()).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(prober.attempt_full(wall_ms())))
}
