//! What a replay adds up to: per rule, its announcements and its time spent firing; and the
//! notices, one per tick that announced anything, as the agent queues them.

use std::collections::HashMap;

use crate::metrics::SeriesKey;
use crate::rules::{Event, EventKind, Rule};

/// One rule's replay.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSummary {
    /// The rule's name.
    pub name: String,
    /// Its changes announced (fired, escalated, de-escalated, repeated, resolved).
    pub events: usize,
    /// Times it fired.
    pub fired: usize,
    /// Seconds at least one of its series was firing (overlaps counted once).
    pub firing_secs: i64,
    /// Unix seconds `[from, to)` of each firing, in the order they resolved.
    pub firing: Vec<(i64, i64)>,
}

impl RuleSummary {
    /// On how many `day`-second days (counted from `origin`) it was firing at some moment.
    pub fn days(&self, origin: i64, day: i64) -> usize {
        let mut d: Vec<i64> = self
            .firing
            .iter()
            .flat_map(|&(from, to)| (from - origin).div_euclid(day)..=(to.max(from + 1) - 1 - origin).div_euclid(day))
            .collect();
        d.sort_unstable();
        d.dedup();
        d.len()
    }
}

/// A replay's totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Every replayed rule, in config order, even those that never fired.
    pub rules: Vec<RuleSummary>,
    /// Unix ms of each notice: the agent sends one for every tick with announcements.
    pub notices: Vec<i64>,
}

impl Summary {
    /// Adds up `events` of `rules`; alerts still firing count until `until` (unix seconds).
    pub fn of(rules: &[Rule], events: &[Event], until: i64) -> Summary {
        let mut by_rule: Vec<RuleSummary> = rules
            .iter()
            .map(|r| RuleSummary { name: r.name.clone(), events: 0, fired: 0, firing_secs: 0, firing: Vec::new() })
            .collect();
        let mut open: HashMap<(&str, &SeriesKey), i64> = HashMap::new();
        let mut notices: Vec<i64> = Vec::new();
        for e in events {
            if notices.last() != Some(&e.at_ms) {
                notices.push(e.at_ms);
            }
            let Some(r) = by_rule.iter_mut().find(|r| r.name == e.rule) else { continue };
            r.events += 1;
            match e.kind {
                EventKind::Fired => {
                    r.fired += 1;
                    open.insert((&e.rule, &e.series), e.at_ms);
                }
                EventKind::Resolved => {
                    if let Some(from) = open.remove(&(e.rule.as_str(), &e.series)) {
                        r.firing.push((from.div_euclid(1000), e.at_ms.div_euclid(1000)));
                    }
                }
                EventKind::Escalated | EventKind::Deescalated | EventKind::Repeated => {}
            }
        }
        for ((rule, _), from) in open {
            if let Some(r) = by_rule.iter_mut().find(|r| r.name == rule) {
                r.firing.push((from.div_euclid(1000), until.max(from.div_euclid(1000))));
            }
        }
        for r in &mut by_rule {
            r.firing_secs = union(&r.firing);
        }
        Summary { rules: by_rule, notices }
    }

    /// The rule called `name`'s summary.
    pub fn rule(&self, name: &str) -> Option<&RuleSummary> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// The seconds covered by `spans` (`[from, to)`), overlaps counted once.
fn union(spans: &[(i64, i64)]) -> i64 {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    let (mut total, mut reach) = (0, i64::MIN);
    for (from, to) in sorted {
        let from = from.max(reach);
        if to > from {
            total += to - from;
            reach = to;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{self as m};
    use crate::rules::{DEFAULT_RULES, Direction, Severity};

    fn event(kind: EventKind, at_s: i64) -> Event {
        Event {
            kind,
            rule: "cpu".into(),
            condition: String::new(),
            direction: Direction::Above,
            series: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"),
            severity: Severity::Warning,
            value: 0.0,
            threshold: 0.0,
            started_ms: 0,
            at_ms: at_s * 1000,
            reason: None,
        }
    }

    #[test]
    fn firing_time_counts_to_the_resolution_or_the_end_and_a_tick_is_one_notice() {
        let rules: Vec<Rule> = DEFAULT_RULES.iter().take(2).map(|d| d.rule()).collect();
        let events = [
            event(EventKind::Fired, 100),
            event(EventKind::Escalated, 100),
            event(EventKind::Resolved, 400),
            event(EventKind::Fired, 90_000),
        ];
        let s = Summary::of(&rules, &events, 90_060);
        let cpu = s.rule("cpu").unwrap();
        assert_eq!((cpu.events, cpu.fired, cpu.firing_secs), (4, 2, 300 + 60));
        assert_eq!(s.rule("memory").unwrap().events, 0, "a rule that never fired is listed");
        assert_eq!(s.notices, vec![100_000, 400_000, 90_000_000]);
        assert_eq!(cpu.days(0, 86_400), 2, "day 0 (100 to 400) and day 1 (90000 on)");
        assert_eq!(union(&[(0, 10), (5, 20), (30, 40), (35, 36)]), 30, "three mounts firing at once count once");
        let long = RuleSummary { firing: vec![(86_000, 3 * 86_400)], ..cpu.clone() };
        assert_eq!(long.days(0, 86_400), 3, "a firing across midnights touches every day, not the one after its end");
    }
}
