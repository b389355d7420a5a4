//! Validates `[alerts]`: the built-in rules with the file's overrides, and new rules.

use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::raw::{RawAlerts, RawRule, SpannedStr};
use super::validate::{DAY, DurationKey, HOUR, MINUTE, SECOND, choice, is_name, pattern};
use crate::metrics::{CATALOGUE, LABELS, Metric};
use crate::rules::{Condition, DEFAULT_RULES, Direction, Guard, Matcher, Rule, Settings};

/// Validates the `[alerts]` table.
pub fn alerts(raw: RawAlerts, loc: &Locator) -> Result<Settings, ConfigError> {
    let grace = DurationKey { name: "alerts.grace", default: 2 * MINUTE, min: Duration::ZERO, max: HOUR };
    // Its default is never used: absent means off.
    let repeat = DurationKey { name: "alerts.repeat_interval", default: HOUR, min: MINUTE, max: 7 * DAY };
    let mut rules: Vec<Rule> = DEFAULT_RULES.iter().map(|d| d.rule()).collect();
    for (name, r) in raw.rules {
        let at = name.span().start;
        let name = name.into_inner();
        if !is_name(&name) {
            return Err(loc.error(at, format!("alerts.rules.{name:?}: a rule name is letters, digits, _ and -")));
        }
        let position = rules.iter().position(|rule| rule.name == name);
        if r.enabled == Some(false) {
            // Switched off: a built-in goes, a rule of the file's own is not read further.
            position.map(|i| rules.remove(i));
            continue;
        }
        let base = match position {
            Some(i) => rules.remove(i),
            None => new_rule(&name, &r, at, loc)?,
        };
        let rule = apply(base, r, &format!("alerts.rules.{name}"), at, loc)?;
        rules.insert(position.unwrap_or(rules.len()), rule);
    }
    Ok(Settings {
        enabled: raw.enabled.unwrap_or(true),
        grace: grace.get(raw.grace.as_ref(), loc)?,
        repeat: match &raw.repeat_interval {
            Some(v) if v.get_ref() != "off" => Some(repeat.get(Some(v), loc)?),
            _ => None,
        },
        rules,
    })
}

/// The skeleton of a rule the built-in set does not have: it must name its metric.
fn new_rule(name: &str, r: &RawRule, at: usize, loc: &Locator) -> Result<Rule, ConfigError> {
    let Some(metric) = &r.metric else {
        let known: Vec<&str> = DEFAULT_RULES.iter().map(|d| d.name).collect();
        return Err(loc.error(
            at,
            format!("alerts.rules.{name} is not a built-in rule ({}), so it needs `metric`", known.join(", ")),
        ));
    };
    Ok(Rule {
        name: name.to_owned(),
        metric: metric_named(&format!("alerts.rules.{name}.metric"), metric, loc)?,
        matchers: Vec::new(),
        condition: Condition::Value,
        direction: Direction::Above,
        warning: None,
        critical: None,
        clear: 0.0,
        for_: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        per_core: false,
        guard: None,
    })
}

fn metric_named(key: &str, name: &SpannedStr, loc: &Locator) -> Result<&'static Metric, ConfigError> {
    Metric::by_name(name.get_ref()).ok_or_else(|| {
        loc.error(
            name.span().start,
            format!(
                "{key} = {:?} is not a metric; metrics are {}",
                name.get_ref(),
                CATALOGUE.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Lays the file's keys over `rule` and checks the result as a whole.
fn apply(mut rule: Rule, r: RawRule, key: &str, at: usize, loc: &Locator) -> Result<Rule, ConfigError> {
    let (for_key, keep_key) = (format!("{key}.for"), format!("{key}.keep_firing_for"));
    let for_ = DurationKey { name: &for_key, default: rule.for_, min: Duration::ZERO, max: DAY };
    let keep = DurationKey { name: &keep_key, default: rule.keep_firing_for, min: Duration::ZERO, max: DAY };
    if let Some(m) = &r.metric {
        rule.metric = metric_named(&format!("{key}.metric"), m, loc)?;
        // A built-in's label globs were written for its own metric.
        rule.matchers.clear();
    }
    for (field, v) in [("warning", &r.warning), ("critical", &r.critical), ("clear", &r.clear)] {
        if let Some(v) = v.as_ref().filter(|v| !v.get_ref().is_finite()) {
            return Err(loc.error(v.span().start, format!("{key}.{field} = {} is not a number", v.get_ref())));
        }
    }
    // The built-in hysteresis, kept when the thresholds move (new rules: 5% of the warning).
    let gap = rule.warning.or(rule.critical).map(|mild| (mild - rule.clear).abs());
    if let Some(labels) = r.labels {
        rule.matchers =
            labels.into_iter().map(|(label, glob)| matcher(key, &label, &glob, loc)).collect::<Result<_, _>>()?;
    }
    if let Some(c) = &r.condition {
        rule.condition = condition(key, c, loc)?;
    }
    if let Some(d) = &r.direction {
        rule.direction = choice(&format!("{key}.direction"), Some(d), Direction::ALL, loc)?;
    }
    rule.warning = r.warning.as_ref().map(|v| *v.get_ref()).or(rule.warning);
    rule.critical = r.critical.as_ref().map(|v| *v.get_ref()).or(rule.critical);
    rule.for_ = for_.get(r.for_.as_ref(), loc)?;
    rule.keep_firing_for = keep.get(r.keep_firing_for.as_ref(), loc)?;
    rule.per_core = r.per_core.unwrap_or(rule.per_core);
    if let Some(g) = &r.while_ {
        if !g.equals.is_finite() {
            return Err(loc.error(g.metric.span().start, format!("{key}.while.equals = {} is not a number", g.equals)));
        }
        rule.guard =
            Some(Guard { metric: metric_named(&format!("{key}.while.metric"), &g.metric, loc)?, equals: g.equals });
    }
    let span = |v: &Option<Spanned<f64>>| v.as_ref().map(|v| v.span().start);
    let (w_at, c_at) = (span(&r.warning).unwrap_or(at), span(&r.critical).unwrap_or(at));
    let d = rule.direction;
    // The less severe threshold, where a firing alert would clear without hysteresis.
    let mild = match (rule.warning, rule.critical) {
        (None, None) => return Err(loc.error(at, format!("{key} needs `warning`, `critical` or both"))),
        (Some(w), Some(c)) if !d.beyond(c, w) => {
            return Err(
                loc.error(c_at.max(w_at), format!("{key}: critical ({c}) must be {} warning ({w})", d.as_str()))
            );
        }
        (Some(w), _) | (None, Some(w)) => w,
    };
    rule.clear = match &r.clear {
        Some(v) if d.beyond(*v.get_ref(), mild) => {
            return Err(loc.error(
                v.span().start,
                format!(
                    "{key}.clear = {} is on the alerting side of {mild}: it must not be {} it",
                    v.get_ref(),
                    d.as_str()
                ),
            ));
        }
        Some(v) => *v.get_ref(),
        None => {
            let gap = gap.unwrap_or(mild.abs() * 0.05);
            if d == Direction::Above { mild - gap } else { mild + gap }
        }
    };
    Ok(rule)
}

fn matcher(key: &str, label: &Spanned<String>, glob: &SpannedStr, loc: &Locator) -> Result<Matcher, ConfigError> {
    if !LABELS.contains(&label.get_ref().as_str()) {
        return Err(loc.error(
            label.span().start,
            format!("{key}.labels: unknown label {:?}; labels are {}", label.get_ref(), LABELS.join(", ")),
        ));
    }
    let pattern = pattern(&format!("{key}.labels"), glob, loc)?;
    Ok(Matcher { label: label.get_ref().clone(), pattern })
}

/// `"value"`, `"avg 5m"`, `"min 1m"`, `"max 1m"`, `"rate 1h"`, `"error_rate 10m"` or `"3 of 5"`.
fn condition(key: &str, raw: &SpannedStr, loc: &Locator) -> Result<Condition, ConfigError> {
    let text = raw.get_ref().trim();
    let bad = |why: &str| {
        loc.error(
            raw.span().start,
            format!(
                "{key}.condition = {:?}: {why}; write \"value\", \"avg 5m\", \"min 5m\", \"max 5m\", \"rate 1h\", \"error_rate 10m\" or \"3 of 5\"",
                raw.get_ref()
            ),
        )
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["value"] => Ok(Condition::Value),
        [hits, "of", of] => {
            let (hits, of) = (hits.parse::<usize>(), of.parse::<usize>());
            match (hits, of) {
                (Ok(hits), Ok(of)) if 1 <= hits && hits <= of && of <= 1000 => Ok(Condition::Count { hits, of }),
                _ => Err(bad("\"X of Y\" needs 1 <= X <= Y <= 1000")),
            }
        }
        [f, window] => {
            let w = humantime::parse_duration(window).map_err(|_| bad(&format!("{window:?} is not a duration")))?;
            if w < SECOND || w > 7 * DAY {
                return Err(bad("the window must be between 1s and 7days"));
            }
            match *f {
                "avg" => Ok(Condition::Avg(w)),
                "min" => Ok(Condition::Min(w)),
                "max" => Ok(Condition::Max(w)),
                "rate" => Ok(Condition::Rate(w)),
                "error_rate" => Ok(Condition::ErrorRate(w)),
                _ => Err(bad(&format!("unknown function {f:?}"))),
            }
        }
        _ => Err(bad("not a condition")),
    }
}
