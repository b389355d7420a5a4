//! `daily_review`: the last day against the 7 days before at the same hours (sustained
//! anomalies, peaks), its probes' AI model and database performance against the 7 days
//! before ([`super::probe_review`]), the alerts it fired, the busiest and largest processes, and leak suspects
//! (processes whose memory grew steadily for days). Processes are reviewed by name, all
//! pids of a name together, and at most [`MAX_NAMES`] of them. Each metric is read in one
//! grouped query per store (by series, or by process name), so the review scans each time
//! range once whatever the pids left behind.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::fit::theil_sen;
use crate::archive::Archive;
use crate::metrics::{self as m, Metric, SeriesKey};
use crate::report::{Finding, Level, Report};
use crate::rules::EventKind;
use crate::store::{Group, Selector, SeriesInfo, Store, StoreError};
use crate::trend::{Point, trends};
use crate::units::Shift;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Consecutive unusual hours that make an anomaly (a single odd hour is not one).
const SUSTAINED_HOURS: usize = 3;
/// Metrics reviewed for anomalies and peaks.
const REVIEWED: &[&Metric] = &[&m::CPU_USAGE, &m::MEM_USED_PCT, &m::LOAD_5, &m::SWAP_USED_PCT];

/// Hourly trends of `metric` over `[from, to)` in `group`s, by group key: one query per
/// store whatever the series. A store that fails leaves them empty, with a warning.
fn hourly(
    (store, archive): (&Store, Option<&Archive>),
    metric: &Metric,
    group: Group<'_>,
    from: i64,
    to: i64,
) -> BTreeMap<String, Vec<Point>> {
    let sel = Selector { metric: metric.name.to_owned(), labels: Vec::new() };
    trends(Some(store), archive, &sel, group, (from, to), (HOUR, &Shift::fixed(0)))
        .inspect_err(|e| tracing::warn!("daily review: {} by {group:?} failed: {e}", metric.name))
        .unwrap_or_default()
}

/// Mean and standard deviation.
fn spread(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 3 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some((mean, (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()))
}

/// The longest run of hours of the last day far from the same hours of the week before.
fn anomaly(key: &SeriesKey, history: &BTreeMap<i64, f64>, day_start: i64) -> Option<Finding> {
    let mut run: Vec<(i64, f64, f64)> = Vec::new();
    let mut best: Vec<(i64, f64, f64)> = Vec::new();
    for hour in (day_start..day_start + DAY).step_by(3600) {
        let usual: Vec<f64> = (1..=7).filter_map(|d| history.get(&(hour - d * DAY)).copied()).collect();
        let odd = match (history.get(&hour), spread(&usual)) {
            // Far beyond the usual spread, and not a trifle (a flat series has no spread).
            (Some(&v), Some((mean, sd))) if (v - mean).abs() > (3.0 * sd).max(0.1 * mean.abs()).max(1.0) => {
                Some((hour, v, mean))
            }
            _ => None,
        };
        match odd {
            Some(h) => run.push(h),
            None => run.clear(),
        }
        if run.len() > best.len() {
            best.clone_from(&run);
        }
    }
    if best.len() < SUSTAINED_HOURS {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let (value, usual) = (
        best.iter().map(|h| h.1).sum::<f64>() / best.len() as f64,
        best.iter().map(|h| h.2).sum::<f64>() / best.len() as f64,
    );
    // Local hours, with the offset, as everything shown to people.
    let hhmm = |t: i64| {
        use chrono::TimeZone;
        chrono::Local.timestamp_opt(t, 0).single().map_or_else(String::new, |d| d.format("%H:%M").to_string())
    };
    let offset = chrono::Local::now().format("%:z");
    let m = key.metric;
    let text = format!(
        "averaged {} for {} hours ({} to {} {offset}), usually {} at those hours",
        m.show(value),
        best.len(),
        hhmm(best[0].0),
        hhmm(best[best.len() - 1].0 + HOUR),
        m.show(usual)
    );
    Some(Finding { level: Level::Warning, subject: key.to_string(), text })
}

/// A process whose memory grew steadily over the last days.
fn leak(key: &SeriesKey, history: &BTreeMap<i64, f64>) -> Option<Finding> {
    #[allow(clippy::cast_precision_loss)]
    let points: Vec<(f64, f64)> = history.iter().map(|(t, v)| (*t as f64, *v)).collect();
    let (first, last) = (points.first()?, points.last()?);
    let days = (last.0 - first.0) / 86_400.0;
    let fit = theil_sen(&points)?;
    let per_day = fit.slope * 86_400.0;
    // Days of data, steady growth (even the slower quartile grows), and a real amount.
    if days < 3.0 || fit.band.0 <= 0.0 || per_day * days < 0.2 * first.1.max(1.0) {
        return None;
    }
    let text = format!("memory grew {:.1} MB a day for {days:.0} days, now {:.0} MB", per_day / 1e6, fit.now / 1e6);
    Some(Finding { level: Level::Warning, subject: key.to_string(), text })
}

/// Process names reviewed at most: a day of builds can leave thousands of short-lived pids
/// behind, and a report lists a few. The ones seen longest are reviewed.
pub const MAX_NAMES: usize = 100;

/// The process names sampled in `[from, to)`, longest seen first, with their pid counts
/// (also the dashboard's processes view).
pub fn process_names(series: &[SeriesInfo], from: i64, to: i64) -> Vec<(String, usize)> {
    let mut names: HashMap<String, (i64, HashSet<String>)> = HashMap::new();
    let process = |i: &&SeriesInfo| [m::PROC_CPU.name, m::PROC_RSS.name].contains(&i.metric.as_str());
    for info in series.iter().filter(process).filter(|i| i.last_seen >= from) {
        let Some(key) = SeriesKey::from_parts(&info.metric, &info.labels) else { continue };
        let label = |want: &str| key.labels.iter().find(|(k, _)| *k == want).map(|(_, v)| v.clone());
        let Some(name) = label("name") else { continue };
        let entry = names.entry(name).or_default();
        entry.0 += info.last_seen.min(to) - info.first_seen.max(from) + 1;
        entry.1.extend(label("pid"));
    }
    let mut ranked: Vec<(String, (i64, HashSet<String>))> = names.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().map(|(name, (_, pids))| (name, pids.len())).collect()
}

/// Runs the review of the day before `slot`.
pub fn run(store: &Store, ctx: &super::Context, slot: i64) -> Result<Report, StoreError> {
    let archive = super::archive_beside(ctx);
    let archive = archive.as_ref();
    let day_start = (slot - DAY).div_euclid(HOUR) * HOUR;
    let day_end = day_start + DAY;
    // Without a whole day there is no day to review: it says so and judges nothing. An
    // agent started a few minutes into the day has reviewed it well enough.
    let short = super::too_little(
        store,
        archive,
        day_start + HOUR,
        slot,
        "the review needs the whole last day; the first comes a day after the agent's start",
    );
    let mut findings: Vec<Finding> = short.iter().cloned().collect();
    let mut peaks = Vec::new();
    let both = (store, archive);
    for metric in REVIEWED {
        for (labels, points) in hourly(both, metric, Group::Series, day_start - 7 * DAY, day_end) {
            let Some(key) = SeriesKey::from_parts(metric.name, &labels) else { continue };
            let history: BTreeMap<i64, f64> = points.iter().map(|p| (p.bucket, p.avg)).collect();
            if short.is_none() {
                findings.extend(anomaly(&key, &history, day_start));
            }
            peaks.extend(peak(&key, &history, day_start));
        }
    }
    let (mut largest, mut busiest) = (Vec::new(), Vec::new());
    let names = process_names(&store.series()?, day_start, day_end);
    let reviewed: Vec<String> = names.iter().take(MAX_NAMES).map(|(name, _)| name.clone()).collect();
    let pids: HashMap<&str, usize> = names.iter().map(|(name, n)| (name.as_str(), *n)).collect();
    let group = Group::Label("name", &reviewed);
    for (name, cpu) in hourly(both, &m::PROC_CPU, group, day_start, day_end) {
        let pids = pids.get(name.as_str()).copied().unwrap_or(0);
        let plural = if pids == 1 { "" } else { "s" };
        #[allow(clippy::cast_precision_loss)]
        let (sum, n) = cpu.iter().fold((0.0, 0), |(s, n), p| (s + p.avg * p.count as f64, n + p.count));
        if n > 0 {
            #[allow(clippy::cast_precision_loss)]
            let avg = sum / n as f64;
            let key = SeriesKey::with(&m::PROC_CPU, "name", name);
            // Ranked by the sum, which is proportional to CPU time: a long busy process before
            // a compiler that was hot for a second.
            busiest.push((sum, format!("{key}: {avg:.1}% of a core on average while sampled ({pids} pid{plural})")));
        }
    }
    for (name, rss) in hourly(both, &m::PROC_RSS, group, day_start - 6 * DAY, day_end) {
        let history: BTreeMap<i64, f64> = rss.iter().map(|p| (p.bucket, p.avg)).collect();
        let key = SeriesKey::with(&m::PROC_RSS, "name", name);
        findings.extend(leak(&key, &history));
        if let Some(max) = rss.iter().filter(|p| p.bucket >= day_start).map(|p| p.max).reduce(f64::max) {
            largest.push((max, format!("{key}: {:.0} MB at most", max / 1e6)));
        }
    }
    let top = |mut v: Vec<(f64, String)>| {
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        v.into_iter().take(5).map(|(_, line)| line).collect::<Vec<String>>()
    };
    let (largest, mut busiest) = (top(largest), top(busiest));
    if names.len() > MAX_NAMES {
        let skipped = names.len() - MAX_NAMES;
        busiest.push(format!("{skipped} more process names, each seen less, were not reviewed"));
    }
    let alerts: Vec<String> = store
        .alert_history(day_start * 1000, 1000)?
        .iter()
        .filter(|e| matches!(e.event, EventKind::Fired | EventKind::Escalated))
        .map(|e| format!("{} {} {}: {}", e.rule, e.event.as_str(), e.severity.as_str(), e.series))
        .collect();
    let probes = super::probe_review::review(both, day_start);
    findings.extend(probes.findings);
    let title = format!("Daily review, {}", crate::units::rfc3339(slot * 1000));
    let sections = [
        ("Peaks", peaks),
        ("AI model performance", probes.ai),
        ("Database performance", probes.databases),
        ("Alerts fired", alerts),
        ("Busiest processes", busiest),
        ("Largest processes", largest),
    ];
    Ok(Report::new("daily_review", slot, &title, findings, &sections))
}

/// The last day's hourly peak and average of one series, beside the 7 days before.
fn peak(key: &SeriesKey, history: &BTreeMap<i64, f64>, day_start: i64) -> Option<String> {
    let day: Vec<f64> = history.range(day_start..).map(|(_, v)| *v).collect();
    let week: Vec<f64> = history.range(..day_start).map(|(_, v)| *v).collect();
    let (max, avg) = (day.iter().copied().reduce(f64::max)?, mean(&day)?);
    let m = key.metric;
    let before = match (week.iter().copied().reduce(f64::max), mean(&week)) {
        (Some(wmax), Some(wavg)) => format!(" (the 7 days before: peak {}, average {})", m.show(wmax), m.show(wavg)),
        _ => String::new(),
    };
    Some(format!("{key}: hourly peak {}, average {}{before}", m.show(max), m.show(avg)))
}

/// The mean of `v`, if any.
fn mean(v: &[f64]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let n = v.len() as f64;
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / n)
}
