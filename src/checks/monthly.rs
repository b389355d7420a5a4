//! `monthly_audit`: each series' baseline (p50, p95, p99 over the archive's last 30 days)
//! recomputed and kept, and the rules whose thresholds no longer fit this host: ones that
//! would never fire, and ones that would fire all the time, each with a suggested value.

use crate::metrics::SeriesKey;
use crate::report::{Baseline, Finding, Level, Report};
use crate::rules::{Direction, Rule};

const SPAN: i64 = 30 * 86_400;

/// A rule's fit to one series' baseline, if it does not fit.
fn fit(rule: &Rule, key: &SeriesKey, b: &Baseline, divisor: f64) -> Option<Finding> {
    let mild = rule.warning.or(rule.critical)?;
    let (p50, p99) = (b.p50 / divisor, b.p99 / divisor);
    let subject = format!("rule {} on {key}", rule.name);
    let d = rule.direction;
    if d.beyond(p50, mild) {
        // Over half the time past the line: an alert that is always on is ignored.
        let text = format!(
            "would fire all the time: the median {p50:.1} is {} the threshold {mild}; {} {p99:.1} (this host's p99) would flag only the unusual",
            d.as_str(),
            if d == Direction::Above { "a threshold near" } else { "a threshold at" }
        );
        return Some(Finding { level: Level::Warning, subject, text });
    }
    // Never within half of the way to the line, even at p99.
    let far = match d {
        Direction::Above => p99 < mild * 0.5,
        Direction::Below => p99 > mild * 2.0 && mild > 0.0,
    };
    far.then(|| {
        let suggested = if d == Direction::Above { p99 * 1.2 } else { p99 / 1.2 };
        let text = format!(
            "never fires here: p99 is {p99:.1}, far from {mild}; {suggested:.1} would notice when this host leaves its usual range"
        );
        Finding { level: Level::Info, subject, text }
    })
}

/// Runs the audit of the 30 days before `slot`.
pub fn run(ctx: &super::Context, slot: i64) -> Report {
    let title = format!("Monthly audit, {}", crate::units::rfc3339(slot * 1000));
    let Some(archive) = super::archive_beside(ctx) else {
        let note = vec!["no archive to read: baselines need its 30 days of history".to_owned()];
        return Report::new("monthly_audit", slot, &title, Vec::new(), &[("Baselines", note)]);
    };
    let baselines = archive.baselines(slot - SPAN, slot).unwrap_or_else(|e| {
        tracing::warn!("cannot read baselines from the archive: {e}");
        Vec::new()
    });
    let cores = crate::rules::logical_cpus();
    let mut findings = Vec::new();
    for b in &baselines {
        let Some(key) = SeriesKey::from_parts(&b.metric, &b.labels) else { continue };
        for rule in ctx.alerts.rules.iter().filter(|r| r.guard.is_none() && r.condition.on_values() && r.selects(&key))
        {
            findings.extend(fit(rule, &key, b, rule.divisor(cores)));
        }
    }
    let lines: Vec<String> = baselines
        .iter()
        .filter_map(|b| {
            let key = SeriesKey::from_parts(&b.metric, &b.labels)?;
            Some(format!("{key}: p50 {:.2}, p95 {:.2}, p99 {:.2} ({} samples)", b.p50, b.p95, b.p99, b.count))
        })
        .collect();
    let report = Report::new("monthly_audit", slot, &title, findings, &[("Baselines", lines)]);
    Report { baselines, ..report }
}
