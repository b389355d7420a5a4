//! `monthly_audit`: each series' baseline (p50, p95, p99 over the last 30 days) recomputed
//! and kept, and the rules that do not fit this host: a replay of them over those 30 days
//! names the ones that would never or always have fired, each with a suggested threshold
//! (see [`super::tune`]).

use crate::metrics::SeriesKey;
use crate::report::Report;
use crate::store::Store;

const SPAN: i64 = 30 * 86_400;

/// Runs the audit of the 30 days before `slot`.
pub fn run(store: &Store, ctx: &super::Context, slot: i64) -> Report {
    let title = format!("Monthly audit, {}", crate::units::rfc3339(slot * 1000));
    let Some(archive) = super::archive_beside(ctx) else {
        let note = vec!["no archive to read: baselines need its 30 days of history".to_owned()];
        return Report::new("monthly_audit", slot, &title, Vec::new(), &[("Baselines", note)]);
    };
    let baselines = archive.baselines(slot - SPAN, slot).unwrap_or_else(|e| {
        tracing::warn!("cannot read baselines from the archive: {e}");
        Vec::new()
    });
    let span = (slot - SPAN, slot);
    let findings =
        super::tune::misfits(&ctx.alerts, (Some(store), Some(&archive)), &baselines, span).unwrap_or_else(|e| {
            tracing::warn!("cannot replay the rules over the last 30 days: {e}");
            Vec::new()
        });
    let lines: Vec<String> = baselines
        .iter()
        .filter_map(|b| {
            let key = SeriesKey::from_parts(&b.metric, &b.labels)?;
            let m = key.metric;
            Some(format!(
                "{key}: p50 {}, p95 {}, p99 {} ({} samples)",
                m.show(b.p50),
                m.show(b.p95),
                m.show(b.p99),
                b.count
            ))
        })
        .collect();
    let report = Report::new("monthly_audit", slot, &title, findings, &[("Baselines", lines)]);
    Report { baselines, ..report }
}
