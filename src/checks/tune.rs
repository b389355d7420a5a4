//! The monthly audit's rule fit, from a replay of the rules over its 30 days: rules that
//! would never have fired though the host never came near them, rules that would have
//! been firing most of the time, and for each the threshold that would have fired on a
//! couple of days, found by replaying variants of the rule.

use crate::archive::Archive;
use crate::backtest::{BacktestError, Setup, backtest};
use crate::metrics::SeriesKey;
use crate::report::{Baseline, Finding, Level};
use crate::rules::{Direction, Rule};
use crate::store::Store;

/// A suggested threshold should have fired on at most this many days of a month: worth a
/// look, not a habit.
pub const TARGET_DAYS: usize = 2;

/// Thresholds tried per rule that does not fit.
const CANDIDATES: usize = 12;

/// A rule firing more than this share of the span fires "all the time".
const ALWAYS: f64 = 0.5;

/// How a rule fared, with the figures of the series it watches.
struct Misfit<'a> {
    rule: &'a Rule,
    /// Share of the span spent firing; 0 for one that never fired.
    firing: f64,
    /// The highest median and p99 among its series, divided as the rule divides.
    p50: f64,
    p99: f64,
}

/// The rule's `p50`/`p99` over the series of `baselines` it watches, if any.
fn spread(rule: &Rule, baselines: &[Baseline], cores: usize) -> Option<(f64, f64)> {
    let mine =
        baselines.iter().filter(|b| SeriesKey::from_parts(&b.metric, &b.labels).is_some_and(|k| rule.selects(&k)));
    let (p50, p99) = mine.fold((f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.max(x.p50), b.max(x.p99)));
    let d = rule.divisor(cores);
    p99.is_finite().then_some((p50 / d, p99 / d))
}

/// The variants of `m.rule` tried as suggestions, most sensitive first: warning only, each
/// with the rule's own clear gap in proportion, named `RULE@THRESHOLD`.
fn variants(m: &Misfit) -> Vec<Rule> {
    let r = m.rule;
    let mild = r.warning.or(r.critical).unwrap_or(r.clear);
    let ratio = if mild == 0.0 { 0.0 } else { ((mild - r.clear) / mild).abs() };
    let (lo, hi) = match r.direction {
        Direction::Above => (m.p50, (m.p99 * 1.2).max(m.p50 + 1e-6)),
        Direction::Below => (m.p50 * 0.2, m.p50),
    };
    #[allow(clippy::cast_precision_loss)] // a dozen candidates
    let at = |k: usize| lo + (hi - lo) * k as f64 / (CANDIDATES - 1) as f64;
    let mut out: Vec<Rule> = (0..CANDIDATES)
        .map(|k| {
            let t = (at(k) * 100.0).round() / 100.0;
            let gap = (t * ratio).abs();
            let clear = if r.direction == Direction::Above { t - gap } else { t + gap };
            Rule { name: format!("{}@{t}", r.name), warning: Some(t), critical: None, clear, ..r.clone() }
        })
        .collect();
    if r.direction == Direction::Below {
        out.reverse();
    }
    out
}

/// The findings for the rules of `setup` that do not fit the history of `[since, until)`.
pub fn misfits(
    setup: &Setup,
    sources: (Option<&Store>, Option<&Archive>),
    baselines: &[Baseline],
    (since, until): (i64, i64),
) -> Result<Vec<Finding>, BacktestError> {
    let replayed = backtest(sources.0, sources.1, setup, since, until)?;
    // Shares of the stretch that has history, not of the 30 days: a new install is judged
    // on what it has.
    let covered = replayed.coverage.range.map_or(0, |(first, last)| last - first).max(1);
    #[allow(clippy::cast_precision_loss)] // seconds in a month
    let span = covered as f64;
    let mut misfits = Vec::new();
    for rule in setup.rules.iter().filter(|r| r.guard.is_none() && r.condition.on_values()) {
        let (Some(s), Some((p50, p99))) = (replayed.summary.rule(&rule.name), spread(rule, baselines, setup.cores))
        else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let firing = s.firing_secs as f64 / span;
        let mild = rule.warning.or(rule.critical).unwrap_or(rule.clear);
        let far = match rule.direction {
            Direction::Above => p99 < mild * 0.5,
            Direction::Below => p99 > mild * 2.0 && mild > 0.0,
        };
        if firing > ALWAYS || (s.fired == 0 && far) {
            misfits.push(Misfit { rule, firing, p50, p99 });
        }
    }
    let per_misfit: Vec<Vec<Rule>> = misfits.iter().map(variants).collect();
    let tries: Vec<Rule> = per_misfit.iter().flatten().cloned().collect();
    let tried = if tries.is_empty() {
        None
    } else {
        Some(backtest(sources.0, sources.1, &setup.with_rules(tries), since, until)?)
    };
    let days_of = |name: &str| {
        let s = tried.as_ref().and_then(|t| t.summary.rule(name));
        s.map_or(0, |s| s.days(since, 86_400))
    };
    let history = (covered + 86_399) / 86_400;
    Ok(misfits.iter().zip(&per_misfit).map(|(m, v)| finding(m, v, days_of, history)).collect())
}

/// The finding for one misfit, with the most sensitive variant that would have been
/// firing on 1 to [`TARGET_DAYS`] days (else the least sensitive one that fired at all).
fn finding(m: &Misfit, variants: &[Rule], days_of: impl Fn(&str) -> usize, history: i64) -> Finding {
    let r = m.rule;
    let tried: Vec<(f64, usize)> = variants.iter().map(|v| (v.warning.unwrap_or(0.0), days_of(&v.name))).collect();
    let pick =
        tried.iter().find(|(_, d)| (1..=TARGET_DAYS).contains(d)).or_else(|| tried.iter().rev().find(|(_, d)| *d > 0));
    let suggestion = match pick {
        Some((t, d)) => format!("{t} would have been firing on {d} of those days"),
        None => {
            let (first, last) = (tried.first().map_or(0.0, |t| t.0), tried.last().map_or(0.0, |t| t.0));
            format!("no threshold from {first} to {last} would have fired either")
        }
    };
    let mild = r.warning.or(r.critical).unwrap_or(r.clear);
    let subject = format!("rule {}", r.name);
    if m.firing > ALWAYS {
        let text = format!(
            "would have been firing {:.0}% of the {history} days replayed (median {}, threshold {mild}); {suggestion}",
            m.firing.min(1.0) * 100.0,
            r.metric.show(m.p50)
        );
        return Finding { level: Level::Warning, subject, text };
    }
    let text = format!(
        "never fired in the {history} days replayed: p99 is {}, far from {mild}; {suggestion}",
        r.metric.show(m.p99)
    );
    Finding { level: Level::Info, subject, text }
}
