//! The daily review's "AI model performance" and "Database performance": the last day of
//! each probe against the 7 days before, from raw values of both stores (probes answer
//! seconds or minutes apart, so a week of one is a few thousand values): percentiles, not
//! means of means.

use super::probes::seconds;
use crate::archive::Archive;
use crate::metrics::{self as m, Metric};
use crate::report::{Finding, Level, quantile};
use crate::store::{SeriesValues, Store};

const DAY: i64 = 86_400;

/// A p95 that grew by half and by this much is "slower than the week before".
const SLOWER_BY: f64 = 0.5;

/// Statements listed as slower, at most.
const SLOWER_STATEMENTS: usize = 5;

/// What the review shows of probes: its two sections and its findings.
#[derive(Debug, Default)]
pub struct Review {
    /// One line per ai probe.
    pub ai: Vec<String>,
    /// One line per database probe, then the statements that got slower.
    pub databases: Vec<String>,
    /// Probes slower than the week before.
    pub findings: Vec<Finding>,
}

/// A series' values split at `day_start`: the 7 days before, and the day.
fn split(s: &SeriesValues, day_start: i64) -> (Vec<f64>, Vec<f64>) {
    let (mut before, mut day) = (Vec::new(), Vec::new());
    for (t, v) in s.times.iter().zip(&s.values) {
        if *t < day_start { before.push(*v) } else { day.push(*v) }
    }
    (before, day)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Whether `now` is slower than `before`, by half and by at least `floor` seconds.
fn slower(now: f64, before: f64, floor: f64) -> bool {
    now > before * (1.0 + SLOWER_BY) && now - before >= floor
}

/// The review of every probe over the day from `day_start`, with the 7 days before.
pub fn review((store, archive): (&Store, Option<&Archive>), day_start: i64) -> Review {
    let metrics: [&Metric; 7] = [
        &m::PROBE_TTFT,
        &m::PROBE_AI_RESPONSE,
        &m::PROBE_TOKENS_PER_SECOND,
        &m::PROBE_CACHE_HIT,
        &m::PROBE_QUERY,
        &m::PROBE_DB_CONNECTIONS_PCT,
        &m::PROBE_STATEMENT_MEAN,
    ];
    let all = crate::trend::values(Some(store), archive, &metrics, (day_start - 7 * DAY, day_start + DAY))
        .inspect_err(|e| tracing::warn!("daily review of probes failed: {e}"))
        .unwrap_or_default();
    let mut review = Review::default();
    let of = |metric: &Metric, probe: &str| {
        all.iter()
            .find(|s| *s.key.metric == *metric && s.label("probe") == Some(probe) && s.label("statement").is_none())
    };
    let mut probes: Vec<&str> = all.iter().filter_map(|s| s.label("probe")).collect();
    probes.sort_unstable();
    probes.dedup();
    for probe in probes {
        // A p95 of the day, the 7 days before's, and a finding when it got slower.
        let mut p95 = |metric: &Metric, what: &str| -> Option<String> {
            let (mut before, mut day) = split(of(metric, probe)?, day_start);
            let now = quantile(&mut day, 0.95)?;
            let Some(then) = quantile(&mut before, 0.95) else { return Some(format!("{what} p95 {}", seconds(now))) };
            if slower(now, then, if metric == &m::PROBE_QUERY { 0.005 } else { 0.1 }) {
                review.findings.push(Finding {
                    level: Level::Warning,
                    subject: format!("probe {probe}"),
                    text: format!("{what} p95 {} over the day, {} the 7 days before", seconds(now), seconds(then)),
                });
            }
            Some(format!("{what} p95 {} ({} the 7 days before)", seconds(now), seconds(then)))
        };
        let median = |metric: &Metric| of(metric, probe).and_then(|s| quantile(&mut split(s, day_start).1, 0.5));
        let ai: Vec<String> = [p95(&m::PROBE_TTFT, "time to first token"), p95(&m::PROBE_AI_RESPONSE, "response time")]
            .into_iter()
            .flatten()
            .chain(median(&m::PROBE_TOKENS_PER_SECOND).map(|r| format!("{r:.1} tokens/s (median)")))
            .chain(median(&m::PROBE_CACHE_HIT).map(|h| format!("prompt cache hit {h:.0}% (median)")))
            .collect();
        if !ai.is_empty() {
            review.ai.push(format!("{probe}: {}", ai.join(", ")));
        }
        let Some(query) = p95(&m::PROBE_QUERY, "query time") else { continue };
        let busiest =
            of(&m::PROBE_DB_CONNECTIONS_PCT, probe).and_then(|s| split(s, day_start).1.into_iter().reduce(f64::max));
        let connections = busiest.map_or_else(String::new, |p| format!(", connections in use at most {p:.0}% of max"));
        review.databases.push(format!("{probe}: {query}{connections}"));
        review.databases.extend(slower_statements(&all, probe, day_start));
    }
    review
}

/// The statements of probe `probe` whose mean time grew by half (and 1 ms) over the week.
fn slower_statements(all: &[SeriesValues], probe: &str, day_start: i64) -> Vec<String> {
    let mut slower_ones: Vec<(f64, String)> = all
        .iter()
        .filter(|s| *s.key.metric == m::PROBE_STATEMENT_MEAN && s.label("probe") == Some(probe))
        .filter_map(|s| {
            let (before, day) = split(s, day_start);
            let (now, then) = (mean(&day)?, mean(&before)?);
            let id = s.label("statement")?;
            slower(now, then, 0.001).then(|| {
                (
                    now / then,
                    format!(
                        "statement {id} got slower: mean {} over the day, {} the 7 days before",
                        seconds(now),
                        seconds(then)
                    ),
                )
            })
        })
        .collect();
    slower_ones.sort_by(|a, b| b.0.total_cmp(&a.0));
    slower_ones.into_iter().take(SLOWER_STATEMENTS).map(|(_, line)| format!("{probe}: {line}")).collect()
}
