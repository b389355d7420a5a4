//! `weekly_trends`: week-over-week change of each reviewed series (the biggest movers
//! first), and a short host benchmark (fixed CPU, memory and fsync work, a few seconds at
//! most) against its own history, so thermal throttling or a failing disk shows up.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::metrics::{self as m, Metric, SeriesKey};
use crate::report::{Bench, Finding, Level, Report};
use crate::store::{Store, StoreError};

const WEEK: i64 = 7 * 86_400;
/// A benchmark this much slower than its usual is a finding.
const SLOWER: f64 = 1.3;
/// Series whose week-over-week change is reviewed.
const REVIEWED: &[&Metric] = &[
    &m::CPU_USAGE,
    &m::MEM_USED_PCT,
    &m::SWAP_USED_PCT,
    &m::LOAD_5,
    &m::DISK_USED_PCT,
    &m::NET_RX,
    &m::NET_TX,
    &m::DISKIO_READ,
    &m::DISKIO_WRITE,
];

/// Times fixed work: integer arithmetic, four passes over 16 MB of memory, and 20 fsyncs
/// of 4 KiB in `dir`. Under a second on a laptop; the same work every week.
pub fn host_bench(dir: &Path) -> std::io::Result<Bench> {
    let time = |f: &mut dyn FnMut() -> std::io::Result<u64>| -> std::io::Result<(Duration, u64)> {
        let start = Instant::now();
        let sink = f()?;
        Ok((start.elapsed(), sink))
    };
    let (cpu, a) = time(&mut || {
        let mut x: u64 = 1;
        for i in 0..50_000_000_u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        Ok(x)
    })?;
    let (memory, b) = time(&mut || {
        let mut buf = vec![1_u8; 16 << 20];
        for pass in 0..4 {
            for i in (0..buf.len()).step_by(64) {
                buf[i] = buf[i].wrapping_add(u8::try_from((i + pass) % 251).unwrap_or(0));
            }
        }
        Ok(buf.iter().step_by(4096).map(|&v| u64::from(v)).sum())
    })?;
    let path = dir.join(format!(".hostwatch-bench-{}", std::process::id()));
    let fsync = time(&mut || {
        let mut f = std::fs::File::create(&path)?;
        for _ in 0..20 {
            f.write_all(&[7_u8; 4096])?;
            f.sync_data()?;
        }
        Ok(0)
    });
    // Removed whatever happened: the result is read after.
    let _ = std::fs::remove_file(&path);
    std::hint::black_box((a, b));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Bench { cpu_ms: ms(cpu), memory_ms: ms(memory), fsync_ms: ms(fsync?.0) })
}

/// Reads one part of a benchmark.
type Part = fn(&Bench) -> f64;

/// This run's benchmark against the median of the earlier ones.
fn compare(now: &Bench, history: &[Bench], findings: &mut Vec<Finding>) -> Vec<String> {
    let parts: [(&str, Part); 3] = [("cpu", |b| b.cpu_ms), ("memory", |b| b.memory_ms), ("disk fsync", |b| b.fsync_ms)];
    parts
        .iter()
        .map(|(name, get)| {
            let value = get(now);
            if history.is_empty() {
                return format!("{name}: {value:.0} ms (first run: the baseline)");
            }
            let usual = crate::report::median(history.iter().map(get).collect());
            if value > usual * SLOWER {
                let text =
                    format!("took {value:.0} ms, usually {usual:.0} ms: throttling, a busy host or a failing disk?");
                findings.push(Finding { level: Level::Warning, subject: format!("host benchmark {name}"), text });
            }
            format!("{name}: {value:.0} ms (usually {usual:.0} ms)")
        })
        .collect()
}

/// Runs the review of the week before `slot`, and the benchmark (whose result is kept).
pub fn run(store: &Store, ctx: &super::Context, slot: i64, bench: Option<&Bench>) -> Result<Report, StoreError> {
    let archive = super::archive_beside(ctx);
    let mut movers: Vec<(f64, String)> = Vec::new();
    for info in store.series()? {
        let Some(key) = SeriesKey::from_parts(&info.metric, &info.labels) else { continue };
        if !REVIEWED.contains(&key.metric) {
            continue;
        }
        // Hourly buckets (week-wide ones would be aligned to the epoch, not to `slot`).
        let points = super::buckets(store, archive.as_ref(), &key, slot - 2 * WEEK, slot, 3600);
        let week = |this: bool| {
            let (sum, n) = points
                .iter()
                .filter(|p| (p.bucket >= slot - WEEK) == this)
                .fold((0.0, 0_i64), |(s, n), p| (s + p.avg * p.count as f64, n + p.count));
            #[allow(clippy::cast_precision_loss)]
            (n > 0).then(|| sum / n as f64)
        };
        if let (Some(this), Some(last)) = (week(true), week(false)) {
            let change = if last.abs() > f64::EPSILON { (this - last) / last.abs() * 100.0 } else { 0.0 };
            let (last, this) = (key.metric.show(last), key.metric.show(this));
            movers.push((change.abs(), format!("{key}: {last} → {this} ({change:+.0}%)")));
        }
    }
    movers.sort_by(|a, b| b.0.total_cmp(&a.0));
    let movers: Vec<String> = movers.into_iter().take(10).map(|(_, line)| line).collect();
    let mut findings = Vec::new();
    let bench_lines = match bench {
        Some(b) => compare(b, &store.benches()?, &mut findings),
        None => vec!["not run".to_owned()],
    };
    let title = format!("Weekly trends, {}", crate::units::rfc3339(slot * 1000));
    let sections =
        [("Biggest movers", movers), ("Host benchmark", bench_lines), ("Load tests", load_runs(store, slot)?)];
    Ok(Report { bench: bench.copied(), ..Report::new("weekly_trends", slot, &title, findings, &sections) })
}

/// A line for each load test run of the week before `slot`, with what its report found.
fn load_runs(store: &Store, slot: i64) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    for stored in store.load_runs_between((slot - WEEK) * 1000, slot * 1000)? {
        let run = &stored.run;
        let kept: Option<crate::load::judge::Kept> = serde_json::from_str(&run.kept).ok();
        let figures = kept.map_or_else(String::new, |k| {
            let p95 = crate::load::generator::secs(k.total.latency.p95);
            format!(", {:.1} rps, p95 {p95}", k.total.rps)
        });
        let report = stored.report_id.map(|id| store.report(id)).transpose()?.flatten();
        let findings: Vec<Finding> = report.and_then(|r| serde_json::from_str(&r.findings).ok()).unwrap_or_default();
        let found: Vec<String> = findings
            .iter()
            .filter(|f| f.level >= Level::Warning)
            .map(|f| format!("{}: {}", f.level.as_str(), f.text))
            .collect();
        let found = if found.is_empty() { String::new() } else { format!("; {}", found.join("; ")) };
        let at = crate::units::rfc3339(run.started_ms);
        lines.push(format!("{at} {}: {}{figures}{found}", run.test, run.status));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_benchmark_much_slower_than_its_usual_is_a_finding() {
        let usual = Bench { cpu_ms: 100.0, memory_ms: 20.0, fsync_ms: 40.0 };
        let history = [usual, Bench { cpu_ms: 110.0, ..usual }, Bench { cpu_ms: 90.0, ..usual }];
        let mut findings = Vec::new();
        let lines = compare(&Bench { fsync_ms: 400.0, ..usual }, &history, &mut findings);
        assert_eq!(lines[2], "disk fsync: 400 ms (usually 40 ms)");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject, "host benchmark disk fsync");
        let mut none = Vec::new();
        assert!(compare(&usual, &[], &mut none)[0].ends_with("(first run: the baseline)"));
        assert!(none.is_empty());
    }
}
