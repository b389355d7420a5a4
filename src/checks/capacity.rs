//! `quarterly_capacity`: when each disk fills, and how memory and swap grow, from a fit
//! over the last 90 days of both stores that outliers do not bend.

use super::fit::{Fit, theil_sen};
use crate::archive::Archive;
use crate::metrics::{self as m, SeriesKey};
use crate::report::{Finding, Level, Report};
use crate::store::{Store, StoreError};

/// How far back the fit looks, and the width of its buckets: hourly, so a junk reading
/// spoils one point of many (an outlier the fit ignores), not the average of a wide one.
const SPAN: i64 = 90 * 86_400;
const STEP: i64 = 3600;
/// The least history a forecast is made from.
const MIN_HISTORY: i64 = 7 * 86_400;
const DAY: f64 = 86_400.0;

/// The bucket averages of one series over the span, as (unix seconds, value).
fn history(store: &Store, archive: Option<&Archive>, key: &SeriesKey, slot: i64) -> Vec<(f64, f64)> {
    #[allow(clippy::cast_precision_loss)]
    super::buckets(store, archive, key, slot - SPAN, slot, STEP).iter().map(|p| (p.bucket as f64, p.avg)).collect()
}

fn date(unix: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    chrono::DateTime::from_timestamp(unix as i64, 0)
        .map_or_else(|| "-".to_owned(), |d| d.format("%Y-%m-%d").to_string())
}

/// The finding for one mount's free space, from its fit.
fn fill(mount: &str, fit: &Fit, slot: i64) -> Finding {
    #[allow(clippy::cast_precision_loss)]
    let now = slot as f64;
    let subject = format!("disk {mount}");
    if fit.slope >= 0.0 {
        return Finding { level: Level::Info, subject, text: "free space is not shrinking".to_owned() };
    }
    let days = fit.now / -fit.slope / DAY;
    // The band: the faster and slower quartile slopes (a slope >= 0 never fills).
    let when = |s: f64| if s < 0.0 { date(now + fit.now / -s) } else { "never".to_owned() };
    let level = match days {
        d if d <= 30.0 => Level::Critical,
        d if d <= 90.0 => Level::Warning,
        _ => Level::Info,
    };
    let text = format!(
        "fills in about {days:.0} days, on {} (between {} and {}), losing {:.2} GB a day",
        date(now + days * DAY),
        when(fit.band.0),
        when(fit.band.1),
        -fit.slope * DAY / 1e9
    );
    Finding { level, subject, text }
}

/// When a growing percentage would reach 100, with the band of dates; `None` if it is not
/// growing, or would take more than a year.
fn full(key: &SeriesKey, fit: &Fit, slot: i64) -> Option<Finding> {
    if fit.slope <= 0.0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let now = slot as f64;
    let days = (100.0 - fit.now) / fit.slope / DAY;
    if !(0.0..=365.0).contains(&days) {
        return None;
    }
    let when = |s: f64| if s > 0.0 { date(now + (100.0 - fit.now) / s) } else { "never".to_owned() };
    let level = if days <= 30.0 { Level::Warning } else { Level::Info };
    let text = format!(
        "reaches 100% in about {days:.0} days, on {} (between {} and {})",
        date(now + days * DAY),
        when(fit.band.1),
        when(fit.band.0)
    );
    Some(Finding { level, subject: key.to_string(), text })
}

/// Runs the check for the 90 days before `slot`.
pub fn run(store: &Store, ctx: &super::Context, slot: i64) -> Result<Report, StoreError> {
    let archive = super::archive_beside(ctx);
    // A line through hours says nothing of months: under a week of history, no forecast.
    let short =
        super::too_little(store, archive.as_ref(), slot - MIN_HISTORY, slot, "a forecast needs 7 days; none was made");
    let mut findings: Vec<Finding> = short.iter().cloned().collect();
    let mut growth = Vec::new();
    // Only these are forecast: the fit compares every pair of 2 160 points, so no other
    // series' history is read.
    let forecast = [&m::DISK_FREE, &m::MEM_USED_PCT, &m::SWAP_USED_PCT];
    let series = if short.is_some() { Vec::new() } else { store.series()? };
    for info in series.into_iter().filter(|i| forecast.iter().any(|f| f.name == i.metric)) {
        let Some(key) = SeriesKey::from_parts(&info.metric, &info.labels) else { continue };
        let points = history(store, archive.as_ref(), &key, slot);
        let Some(fit) = theil_sen(&points) else { continue };
        if key.metric == &m::DISK_FREE {
            let mount = key.labels.iter().find(|(k, _)| *k == "mount").map_or("?", |(_, v)| v.as_str());
            findings.push(fill(mount, &fit, slot));
        } else {
            growth.push(format!("{key}: {:+.2} points a week, now {:.1}%", fit.slope * 7.0 * DAY, fit.now));
            findings.extend(full(&key, &fit, slot));
        }
    }
    let (availability, below) =
        super::probes::availability((store, archive.as_ref()), &ctx.slas, (slot - 90 * 86_400, slot));
    findings.extend(below);
    let note = if archive.is_some() { "hot store and archive" } else { "hot store only (no archive to read)" };
    let title = format!("Quarterly capacity, {}", crate::units::rfc3339(slot * 1000));
    Ok(Report::new(
        "quarterly_capacity",
        slot,
        &title,
        findings,
        &[("Memory and swap", growth), ("Probe availability", availability), ("Data", vec![note.to_owned()])],
    ))
}
