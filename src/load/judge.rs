//! A run judged: its thresholds, a stress test's breaking point, and the comparison with the
//! median of the test's last runs of the same plan; written as a report and kept as a
//! [`LoadRecord`] (the run as JSON, and its figures as `loadtest.*` samples).

use serde::{Deserialize, Serialize};

use super::generator::{End, Run, secs};
use super::guard::Refusal;
use super::record::Summary;
use super::{Loadtest, Model, Shape};
use crate::metrics::{self as m, Sample, SeriesKey};
use crate::report::{Finding, Level, LoadRecord, LoadRun, Report, median};

/// A generator thread busier than this share of its core was saturated: its latencies
/// include its own queueing and say little about the target.
pub const CLIENT_BOUND_CPU: f64 = 0.9;
/// Latency changes smaller than this (seconds) are noise on any machine, whatever their share.
const LATENCY_NOISE: f64 = 0.001;

/// A run as kept in the store: what `load show` prints and later runs compare with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The whole run.
    pub total: Summary,
    /// Each step that ran.
    pub steps: Vec<Summary>,
    /// A stress test's last step that held, if one did.
    pub breaking: Option<usize>,
    /// How it ended, in words.
    pub end: String,
    /// The generator's CPU, as a share of its one core.
    pub generator_cpu: f64,
    /// The host's CPU during the run, percent.
    pub host_cpu: f64,
}

/// The figures compared across runs: (name, value, whether it is a latency). A latency is
/// worse higher; the others (a rate, a breaking point) are worse lower.
fn figures(test: &Loadtest, kept: &Kept) -> Vec<(&'static str, f64, bool)> {
    match test.shape {
        Shape::Load { model, .. } => {
            let t = &kept.total;
            let mut f = vec![("p50", t.latency.p50, true), ("p95", t.latency.p95, true), ("p99", t.latency.p99, true)];
            if model == Model::Closed {
                f.push(("rps", t.rps, false));
            }
            f
        }
        Shape::Stress { .. } => match kept.breaking.and_then(|b| kept.steps.get(b)) {
            Some(held) => vec![("breaking point", f64::from(held.level), false), ("rps at it", held.rps, false)],
            None => vec![("breaking point", 0.0, false)],
        },
    }
}

/// Each figure against the median of `history`: findings for the regressions, a line each.
fn compare(test: &Loadtest, kept: &Kept, history: &[Kept]) -> (Vec<Finding>, Vec<String>) {
    let (mut findings, mut lines) = (Vec::new(), Vec::new());
    if history.is_empty() {
        return (findings, lines);
    }
    let n = history.len();
    let (warn, crit) = test.regression;
    for (i, (name, now, latency)) in figures(test, kept).into_iter().enumerate() {
        let before = median(history.iter().filter_map(|h| figures(test, h).get(i).map(|f| f.1)).collect());
        let shown = |v: f64| if latency { secs(v) } else { format!("{v:.1}") };
        let change = if before.abs() > f64::EPSILON { (now - before) / before } else { 0.0 };
        let worse = if latency { change } else { -change };
        let text =
            format!("{name} {:+.0}% against the {n}-run median ({} -> {})", change * 100.0, shown(before), shown(now));
        lines.push(text.clone());
        let noise = latency && (now - before).abs() < LATENCY_NOISE;
        let level = if noise {
            None
        } else if worse >= crit {
            Some(Level::Critical)
        } else if worse >= warn {
            Some(Level::Warning)
        } else {
            None
        };
        if let Some(level) = level {
            findings.push(Finding { level, subject: format!("loadtest {}", test.name), text });
        }
    }
    (findings, lines)
}

/// The thresholds the run passed, as findings.
fn thresholds(test: &Loadtest, t: &Summary) -> Vec<Finding> {
    let th = &test.thresholds;
    let limits = [
        ("p50", th.p50, t.latency.p50),
        ("p95", th.p95, t.latency.p95),
        ("p99", th.p99, t.latency.p99),
        ("max", th.max, t.latency.max),
    ];
    let mut out: Vec<String> = limits
        .iter()
        .filter_map(|(name, limit, v)| {
            let limit = (*limit)?.as_secs_f64();
            (*v > limit).then(|| format!("threshold passed: {name} {} > {}", secs(*v), secs(limit)))
        })
        .collect();
    if let Some(limit) = th.error_rate.filter(|l| t.error_rate() > *l) {
        out.push(format!("threshold passed: error rate {:.2}% > {:.2}%", t.error_rate() * 100.0, limit * 100.0));
    }
    out.into_iter()
        .map(|text| Finding { level: Level::Warning, subject: format!("loadtest {}", test.name), text })
        .collect()
}

/// The run's lines for its report.
fn run_lines(test: &Loadtest, kept: &Kept) -> Vec<String> {
    let t = &kept.total;
    let rate = match t.intended_rps {
        Some(i) => format!("{:.1} rps of {i:.1} intended", t.rps),
        None => format!("{:.1} rps", t.rps),
    };
    let l = &t.latency;
    vec![
        format!("plan: {}", test.plan()),
        format!("ended: {}", kept.end),
        format!("{} requests in {:.1}s, {rate}; errors: {}", t.requests, t.seconds, t.errors_shown()),
        format!(
            "latency p50 {} p90 {} p95 {} p99 {} max {}",
            secs(l.p50),
            secs(l.p90),
            secs(l.p95),
            secs(l.p99),
            secs(l.max)
        ),
        format!("time to first byte p50 {} p95 {}", secs(t.ttfb.p50), secs(t.ttfb.p95)),
        format!("generator CPU {:.0}% of a core; host CPU {:.0}%", kept.generator_cpu * 100.0, kept.host_cpu),
    ]
}

fn step_line(model: Model, s: &Summary) -> String {
    format!(
        "{} {}: {:.1} rps, p50 {}, p95 {}, errors {:.2}%",
        s.level,
        model.unit(),
        s.rps,
        secs(s.latency.p50),
        secs(s.latency.p95),
        s.error_rate() * 100.0
    )
}

/// The report and record of `run`, compared with `history` (earlier kept runs of the same
/// plan, complete and not client-bound), for `job`'s `slot`.
pub fn judge(
    test: &Loadtest,
    run: &Run,
    history: &[Kept],
    (job, slot): (&str, i64),
    (started_ms, finished_ms): (i64, i64),
) -> Report {
    let breaking = match (&test.shape, &run.end) {
        (Shape::Stress { .. }, End::StepFailed(i, _)) => i.checked_sub(1),
        (Shape::Stress { .. }, _) => run.steps.len().checked_sub(1),
        _ => None,
    };
    let (status, end) = match &run.end {
        End::Complete => ("complete", "complete".to_owned()),
        End::MaxRequests => ("complete", format!("stopped at max_requests ({})", test.max_requests)),
        End::StepFailed(i, why) => ("complete", format!("step {} failed: {why}", i + 1)),
        End::Aborted(why) => ("aborted", format!("aborted: {why}")),
        End::Stopped => ("partial", "stopped before its end: partial".to_owned()),
    };
    let kept = Kept {
        total: run.total.clone(),
        steps: run.steps.clone(),
        breaking,
        end,
        generator_cpu: run.generator_cpu,
        host_cpu: run.host_cpu,
    };
    let subject = format!("loadtest {}", test.name);
    let client_bound = run.generator_cpu >= CLIENT_BOUND_CPU;
    let mut findings = thresholds(test, &run.total);
    let mut sections = vec![("Run", run_lines(test, &kept))];
    let finding = |level, text: String| Finding { level, subject: subject.clone(), text };
    match &run.end {
        End::Aborted(why) => findings.push(finding(Level::Critical, format!("aborted: {why}"))),
        End::Stopped => findings.push(finding(Level::Info, kept.end.clone())),
        _ => {}
    }
    if let Shape::Stress { .. } = test.shape {
        let model = test.shape.model();
        let text = match (breaking.and_then(|b| run.steps.get(b)), &run.end) {
            (Some(held), End::StepFailed(_, why)) => {
                format!("breaking point: {}; the next step failed: {why}", step_line(model, held))
            }
            (None, End::StepFailed(_, why)) => format!("the first step already failed: {why}"),
            (Some(held), _) => format!("held to the last step: {}", step_line(model, held)),
            (None, _) => "no step completed".to_owned(),
        };
        let level = if breaking.is_none() { Level::Warning } else { Level::Info };
        findings.push(finding(level, text));
        sections.push(("Steps", run.steps.iter().map(|s| step_line(model, s)).collect()));
    }
    if client_bound {
        let text = format!(
            "client-bound: the generator used {:.0}% of its core, so these latencies say little about the target; not compared",
            run.generator_cpu * 100.0
        );
        findings.push(finding(Level::Info, text));
    } else if status == "complete" {
        let (regressions, lines) = compare(test, &kept, history);
        findings.extend(regressions);
        sections.push((
            "Compared with earlier runs",
            if lines.is_empty() { vec!["no earlier complete run of this plan".to_owned()] } else { lines },
        ));
    }
    let title = format!("Load test {}", test.name);
    let mut report = Report::new(job, slot, &title, findings, &sections);
    let row = LoadRun {
        client_bound,
        kept: serde_json::to_string(&kept).expect("a run is plain data"),
        ..row(test, (started_ms, finished_ms), status)
    };
    report.load = Some(LoadRecord { run: row, samples: samples(&test.name, &run.total, finished_ms) });
    report
}

/// The stored row of a run of `test` that ended as `status`: not client-bound, nothing kept.
fn row(test: &Loadtest, (started_ms, finished_ms): (i64, i64), status: &str) -> LoadRun {
    LoadRun {
        test: test.name.clone(),
        plan: test.plan(),
        started_ms,
        finished_ms,
        status: status.to_owned(),
        reason: None,
        client_bound: false,
        kept: String::new(),
    }
}

/// The run's figures as `loadtest.*` samples of series `name=TEST`, at its last second.
fn samples(test: &str, t: &Summary, finished_ms: i64) -> Vec<Sample> {
    let ts = finished_ms.div_euclid(1000);
    #[allow(clippy::cast_precision_loss)]
    let values = [
        (&m::LOADTEST_RPS, t.rps),
        (&m::LOADTEST_P50, t.latency.p50),
        (&m::LOADTEST_P95, t.latency.p95),
        (&m::LOADTEST_P99, t.latency.p99),
        (&m::LOADTEST_MAX, t.latency.max),
        (&m::LOADTEST_ERRORS, t.error_rate() * 100.0),
        (&m::LOADTEST_REQUESTS, t.requests as f64),
    ];
    values.into_iter().map(|(metric, value)| Sample { key: SeriesKey::with(metric, "name", test), ts, value }).collect()
}

/// The report and record of a run refused before it started.
pub fn refused(test: &Loadtest, why: &Refusal, (job, slot): (&str, i64), now_ms: i64) -> Report {
    let finding =
        Finding { level: Level::Info, subject: format!("loadtest {}", test.name), text: format!("refused: {why}") };
    let mut report = Report::new(job, slot, &format!("Load test {}", test.name), vec![finding], &[]);
    let run = LoadRun { reason: Some(why.to_string()), ..row(test, (now_ms, now_ms), "refused") };
    report.load = Some(LoadRecord { run, samples: Vec::new() });
    report
}
