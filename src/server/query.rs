//! The API's query parameters, parsed once at the door: an unknown or repeated key, an
//! unknown metric or label, a time or step that does not parse, a range that is empty or
//! too long, each becomes a message for a 400.

use std::time::Duration;

use crate::metrics::{Metric, parse_label};
use crate::units::{When, parse_step};

/// The most points one request may ask for: a year at one per hour and a half.
pub const MAX_POINTS: i64 = 6000;
/// About how many points a range is cut into when no step is given.
const AIM_POINTS: i64 = 600;
/// Steps the API picks from: whole seconds that make round buckets.
const STEPS: [i64; 16] =
    [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
/// The longest range: ten years.
const MAX_RANGE: i64 = 3653 * 86_400;

/// The pairs of a query string, checked against the keys a route takes.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `query`; only `keys` may appear, and only `label` more than once.
    pub fn parse(query: Option<&str>, keys: &[&str]) -> Result<Params, String> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !keys.contains(&k.as_str()) {
                let known = if keys.is_empty() { "none".to_owned() } else { keys.join(", ") };
                return Err(format!("unknown parameter {k:?}; this route takes: {known}"));
            }
            if k != "label" && pairs[..i].iter().any(|(other, _)| other == k) {
                return Err(format!("parameter {k:?} is given twice"));
            }
        }
        Ok(Params(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `metric`: a name of the catalogue.
    pub fn metric(&self, example: &str) -> Result<&'static Metric, String> {
        let name = self.get("metric").ok_or_else(|| format!("metric is missing: e.g. metric={example}"))?;
        Metric::by_name(name).ok_or_else(|| format!("unknown metric {name:?}: GET /api/series lists them"))
    }

    /// Every `label=KEY=VALUE`.
    pub fn labels(&self) -> Result<Vec<(&'static str, String)>, String> {
        self.0
            .iter()
            .filter(|(k, _)| k == "label")
            .map(|(_, v)| parse_label(v).map_err(|e| format!("label: {e}")))
            .collect()
    }

    /// `key` as a time (`1h` ago, a date, RFC 3339), else `default`, in Unix seconds.
    pub fn when(&self, key: &str, default: &str, now: i64) -> Result<i64, String> {
        When::parse(self.get(key).unwrap_or(default)).map(|w| w.resolve(now)).map_err(|e| format!("{key}: {e}"))
    }

    /// `key` as a whole number from 1 to `max`, else `default`.
    pub fn number(&self, key: &str, default: u32, max: u32) -> Result<u32, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("{key} = {v:?}: a whole number from 1 to {max}")),
        }
    }
}

/// A range of time cut into steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Unix seconds, inclusive.
    pub since: i64,
    /// Unix seconds, exclusive.
    pub until: i64,
    /// Bucket width in seconds.
    pub step: i64,
}

impl Range {
    /// `since` (default 1 hour ago), `until` (default now) and `step` (default: about
    /// [`AIM_POINTS`] buckets, never finer than the sampling `interval`).
    pub fn from(p: &Params, now: i64, interval: Duration) -> Result<Range, String> {
        let since = p.when("since", "1h", now)?;
        let until = if p.get("until").is_some() { p.when("until", "0s", now)? } else { now + 1 };
        if since >= until {
            return Err(format!("since ({since}) must be before until ({until})"));
        }
        let span = until.saturating_sub(since);
        if span > MAX_RANGE {
            return Err("the range is longer than ten years".to_owned());
        }
        let step = match p.get("step") {
            Some(s) => i64::try_from(parse_step(s).map_err(|e| format!("step: {e}"))?.as_secs()).unwrap_or(i64::MAX),
            None => {
                let finest = i64::try_from(interval.as_secs()).unwrap_or(1).max(1);
                let want = (span / AIM_POINTS).max(finest);
                STEPS.into_iter().find(|s| *s >= want).unwrap_or(STEPS[STEPS.len() - 1])
            }
        };
        if span / step > MAX_POINTS {
            return Err(format!("{} points of {step} s: at most {MAX_POINTS}; ask for a longer step", span / step));
        }
        Ok(Range { since, until, step })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(q: &str) -> Result<Range, String> {
        Range::from(
            &Params::parse(Some(q), &["metric", "label", "since", "until", "step"])?,
            1_000_000_000,
            Duration::from_secs(5),
        )
    }

    #[test]
    fn every_bad_form_of_a_parameter_says_what_is_accepted() {
        let err = |q: &str| range(q).unwrap_err();
        assert!(err("since=yesterday").contains("neither a duration"), "{}", err("since=yesterday"));
        assert!(err("since=1h&until=2h").contains("must be before until"));
        assert!(err("step=0s").contains("at least 1s"));
        assert!(err("step=367d").contains("at most 366d"));
        assert!(err("step=18446744073709551615s").contains("at most 366d"));
        assert!(err("step=1s&since=30d").contains("at most 6000"));
        assert!(err("since=20y").contains("ten years"));
        assert!(err("since=9000000000000000000s").contains("ten years"), "no overflow on a huge duration");
        assert!(err("since=1h&until=9000000000000000000s").contains("must be before until"));
        assert!(err("since=1h&since=2h").contains("twice"));
        assert!(err("sql=drop").contains("unknown parameter \"sql\""));
        let p = Params::parse(Some("metric=nope&label=pid"), &["metric", "label"]).unwrap();
        assert!(p.metric("cpu.usage_percent").unwrap_err().contains("unknown metric \"nope\""));
        assert!(p.labels().unwrap_err().contains("not KEY=VALUE"));
        let p = Params::parse(Some("limit=0"), &["limit"]).unwrap();
        assert!(p.number("limit", 50, 1000).unwrap_err().contains("from 1 to 1000"));
    }

    #[test]
    fn a_range_without_a_step_gets_about_six_hundred_round_buckets() {
        assert_eq!(range("since=1h").unwrap().step, 10, "3600 s / 600 is 6: the next round step");
        assert_eq!(range("since=365d").unwrap().step, 86_400);
        assert_eq!(range("since=15m").unwrap().step, 5, "never finer than the sampling interval");
        assert_eq!(range("since=2h&step=1m").unwrap().step, 60);
    }
}
