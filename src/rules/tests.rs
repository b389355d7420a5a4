//! The engine's behaviour, one story per test, with time passed in (no sleeping).

use std::time::Duration;

use super::*;
use crate::metrics::{self as m, Sample, SeriesKey};

/// Series silent this long are gone: longer than any story here.
const HOUR: Duration = Duration::from_secs(3600);

/// A rule on total CPU: warning 70, critical 90, clear 60.
fn cpu_rule(condition: Condition, for_secs: u64) -> Rule {
    let mut r = DEFAULT_RULES.iter().find(|d| d.name == "cpu").unwrap().rule();
    r.condition = condition;
    r.for_ = Duration::from_secs(for_secs);
    r
}

fn cpu(ts: i64, value: f64) -> Sample {
    Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value }
}

/// Feeds one sample per second from `start`, evaluating after each; returns the events.
fn run(engine: &mut Engine, start: i64, values: &[f64]) -> Vec<(i64, EventKind, Severity)> {
    let mut out = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        let ts = start + i64::try_from(i).unwrap();
        engine.observe(&[cpu(ts, v)]);
        for c in engine.evaluate(ts * 1000) {
            if let Some(e) = c.event {
                out.push((ts, e.kind, e.severity));
            }
        }
    }
    out
}

#[test]
fn a_crossing_must_last_for_its_duration_and_a_dip_starts_the_wait_again() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 3)], 4, None, HOUR);
    // Above 70 at 0..2, a dip at 3, then above from 4: fires at 4 + 3 = 7.
    let events = run(&mut e, 0, &[75.0, 75.0, 75.0, 50.0, 75.0, 75.0, 75.0, 75.0, 75.0]);
    assert_eq!(events, vec![(7, EventKind::Fired, Severity::Warning)]);
}

#[test]
fn a_value_wobbling_at_the_line_does_not_flap() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, HOUR);
    // Fires at 71, then wobbles between 69 and 71 (above clear = 60): no resolution.
    let events = run(&mut e, 0, &[71.0, 69.0, 71.0, 69.0, 65.0, 71.0, 61.0]);
    assert_eq!(events, vec![(0, EventKind::Fired, Severity::Warning)]);
    let events = run(&mut e, 7, &[59.0]);
    assert_eq!(events, vec![(7, EventKind::Resolved, Severity::Warning)]);
}

#[test]
fn escalation_waits_for_its_own_duration_and_resolution_keeps_the_severity() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 2)], 4, None, HOUR);
    let events = run(&mut e, 0, &[80.0, 80.0, 80.0, 95.0, 95.0, 80.0, 95.0, 95.0, 95.0, 10.0]);
    assert_eq!(
        events,
        vec![
            (2, EventKind::Fired, Severity::Warning),
            (8, EventKind::Escalated, Severity::Critical),
            (9, EventKind::Resolved, Severity::Critical),
        ]
    );
}

#[test]
fn x_of_the_last_y_samples_fires_on_a_mostly_bad_run() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Count { hits: 3, of: 5 }, 0)], 4, None, HOUR);
    let events = run(&mut e, 0, &[95.0, 10.0, 95.0, 10.0, 10.0, 10.0, 95.0, 95.0, 10.0, 95.0]);
    // At 9 the last five are 10, 95, 95, 10, 95: three above 90.
    assert_eq!(events, vec![(9, EventKind::Fired, Severity::Critical)]);
}

#[test]
fn an_average_window_ignores_a_single_spike() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Avg(Duration::from_secs(10)), 0)], 4, None, HOUR);
    let mut values = vec![20.0; 10];
    values.push(100.0);
    assert_eq!(run(&mut e, 0, &values), vec![], "one spike in ten seconds averages 28");
    let events = run(&mut e, 11, &[100.0; 6]);
    assert_eq!(events, vec![(16, EventKind::Fired, Severity::Warning)]);
}

#[test]
fn nothing_is_announced_during_the_grace_period_and_a_short_blip_never_is() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, HOUR);
    e.hold(0, 5_000);
    // A blip at start-up that is over before the grace ends: silence.
    assert_eq!(run(&mut e, 0, &[99.0, 99.0, 50.0, 50.0, 50.0, 50.0, 50.0]), vec![]);
    // Still high when the grace ends: one alert, at its end.
    e.hold(7_000, 12_000);
    let events = run(&mut e, 7, &[99.0; 7]);
    assert_eq!(events, vec![(12, EventKind::Fired, Severity::Critical)]);
}

#[test]
fn keep_firing_for_bridges_a_short_recovery() {
    let mut rule = cpu_rule(Condition::Value, 0);
    rule.keep_firing_for = Duration::from_secs(3);
    let mut e = Engine::new(vec![rule], 4, None, HOUR);
    let events = run(&mut e, 0, &[80.0, 10.0, 10.0, 80.0, 10.0, 10.0, 10.0, 10.0]);
    assert_eq!(events, vec![(0, EventKind::Fired, Severity::Warning), (7, EventKind::Resolved, Severity::Warning)]);
}

#[test]
fn a_restart_keeps_a_firing_alert_quiet_and_still_sends_its_resolution() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, HOUR);
    run(&mut e, 0, &[95.0]);
    let saved: Vec<Track> = e.snapshot();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].phase, Phase::Firing);

    // The next run: restored, still high after its grace: nothing new is said.
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, HOUR);
    assert!(e.restore(saved.clone(), 100_000).is_empty());
    e.hold(100_000, 103_000);
    assert_eq!(run(&mut e, 100, &[95.0; 6]), vec![]);
    // Then it recovers: the resolution is sent.
    assert_eq!(run(&mut e, 106, &[5.0]), vec![(106, EventKind::Resolved, Severity::Critical)]);

    // An alert of a rule that was removed from the config is forgotten.
    let mut e = Engine::new(vec![], 4, None, HOUR);
    let gone = e.restore(saved, 200_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].track, None);
    let resolved = gone[0].event.as_ref().expect("a firing alert is resolved, not dropped");
    assert_eq!((resolved.kind, resolved.reason), (EventKind::Resolved, Some("its rule was removed from the config")));
}

#[test]
fn battery_low_fires_only_while_discharging_and_resolves_on_the_charger() {
    let rule = DEFAULT_RULES.iter().find(|d| d.name == "battery_low").unwrap().rule();
    let mut e = Engine::new(vec![rule], 4, None, HOUR);
    let bat = |metric, ts, value| Sample { key: SeriesKey::with(metric, "battery", "BAT0"), ts, value };
    let mut step = |ts: i64, charge: f64, status: f64| {
        e.observe(&[bat(&m::BATTERY_STATUS, ts, status), bat(&m::BATTERY_CHARGE, ts, charge)]);
        e.evaluate(ts * 1000).into_iter().filter_map(|c| c.event).map(|e| (e.kind, e.severity)).collect::<Vec<_>>()
    };
    assert_eq!(step(0, 10.0, 1.0), vec![], "charging at 10%: fine");
    assert_eq!(step(1, 10.0, -1.0), vec![(EventKind::Fired, Severity::Warning)]);
    assert_eq!(step(2, 4.0, -1.0), vec![(EventKind::Escalated, Severity::Critical)]);
    assert_eq!(step(3, 4.0, 1.0), vec![(EventKind::Resolved, Severity::Critical)], "plugged in");
}

#[test]
fn load_is_judged_per_core_and_repeats_when_asked() {
    let rule = DEFAULT_RULES.iter().find(|d| d.name == "load").unwrap().rule();
    let rule = Rule { for_: Duration::ZERO, ..rule };
    let mut e = Engine::new(vec![rule], 4, Some(Duration::from_secs(10)), HOUR);
    let load = |ts, value| Sample { key: SeriesKey::plain(&m::LOAD_5), ts, value };
    e.observe(&[load(0, 5.0)]);
    assert!(e.evaluate(0).is_empty(), "5 on 4 cores is 1.25 per core, under 1.5");
    let mut kinds = Vec::new();
    for ts in 1..=12 {
        e.observe(&[load(ts, 7.0)]);
        kinds.extend(e.evaluate(ts * 1000).into_iter().filter_map(|c| c.event).map(|e| (ts, e.kind)));
    }
    assert_eq!(kinds, vec![(1, EventKind::Fired), (11, EventKind::Repeated)]);
}

#[test]
fn a_series_that_stops_reporting_resolves_its_alert_and_nan_is_ignored() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, Duration::from_secs(10));
    assert_eq!(run(&mut e, 0, &[95.0]), vec![(0, EventKind::Fired, Severity::Critical)]);
    assert_eq!(run(&mut e, 1, &[f64::NAN, f64::INFINITY]), vec![], "not a number: nothing changes");
    // The disk was unplugged: other series go on, this one is silent.
    let other = |ts| Sample { key: SeriesKey::plain(&m::LOAD_5), ts, value: 0.1 };
    let mut resolved = Vec::new();
    for ts in 2..=12 {
        e.observe(&[other(ts)]);
        resolved.extend(e.evaluate(ts * 1000).into_iter().filter_map(|c| c.event).map(|ev| (ts, ev.kind, ev.reason)));
    }
    assert_eq!(resolved, vec![(11, EventKind::Resolved, Some("its series is no longer reported"))]);
}

#[test]
fn a_critical_alert_back_below_critical_by_the_clear_gap_for_its_for_says_so_once() {
    // Critical 90, warning 70, clear 60: the gap is 10, so it de-escalates below 80.
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 2)], 4, None, HOUR);
    let fired = run(&mut e, 0, &[95.0, 95.0, 95.0]);
    assert_eq!(fired, vec![(2, EventKind::Fired, Severity::Critical)]);
    // 85 is below critical but within the gap: still critical. 75 for 2 s: de-escalated once.
    assert_eq!(run(&mut e, 3, &[85.0, 85.0, 85.0, 75.0, 92.0, 75.0, 75.0]), vec![], "the 92 restarts the wait");
    assert_eq!(run(&mut e, 10, &[75.0, 75.0, 75.0]), vec![(10, EventKind::Deescalated, Severity::Warning)]);
    assert_eq!(run(&mut e, 13, &[50.0]), vec![(13, EventKind::Resolved, Severity::Warning)]);
    // Below: battery warning 15, critical 5, clear 20, so the line is 10.
    let battery = DEFAULT_RULES.iter().find(|d| d.name == "battery_low").unwrap().rule();
    assert!((battery.deescalate_at() - 10.0).abs() < 1e-9);
}

#[test]
fn a_pending_alert_waits_its_whole_for_again_after_a_resume() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 10)], 4, None, HOUR);
    assert_eq!(run(&mut e, 0, &[80.0; 5]), vec![], "pending since 0");
    // Asleep from 5 to 1000; awake with a 2 s grace: the 10 s count again from the wake.
    e.hold(1_000_000, 1_002_000);
    assert_eq!(run(&mut e, 1000, &[80.0; 10]), vec![]);
    assert_eq!(run(&mut e, 1010, &[80.0]), vec![(1010, EventKind::Fired, Severity::Warning)]);
}

#[test]
fn a_pending_alert_fires_at_the_severity_that_held_for_the_whole_wait() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 3)], 4, None, HOUR);
    // Warning from 0, critical only from 2: at 3 it fires as a warning, escalates at 5.
    let events = run(&mut e, 0, &[80.0, 80.0, 95.0, 95.0, 95.0, 95.0]);
    assert_eq!(events, vec![(3, EventKind::Fired, Severity::Warning), (5, EventKind::Escalated, Severity::Critical)]);
}

#[test]
fn windows_of_series_gone_silent_are_dropped_and_a_returning_one_is_watched_again() {
    let mut rule = cpu_rule(Condition::Avg(Duration::from_secs(30)), 0);
    (rule.metric, rule.matchers) = (&m::PROC_CPU, Vec::new());
    let mut e = Engine::new(vec![rule], 4, None, Duration::from_secs(10));
    let proc = |pid: i64, ts| Sample {
        key: SeriesKey { metric: &m::PROC_CPU, labels: vec![("name", "cc".into()), ("pid", pid.to_string())] },
        ts,
        value: 1.0,
    };
    // A build: a thousand short processes, one second each, beside a long-lived one.
    for ts in 0..1000 {
        e.observe(&[proc(ts, ts), proc(1, ts)]);
        e.evaluate(ts * 1000);
        assert!(e.watched() <= 25, "{} windows at {ts}", e.watched());
    }
    for ts in 1000..1030 {
        e.observe(&[proc(1, ts)]);
        e.evaluate(ts * 1000);
    }
    assert_eq!(e.watched(), 1, "only the live process keeps a window");
    // A pid that comes back is watched again and can alert.
    let back: Vec<_> = (1030..1070)
        .flat_map(|ts| {
            e.observe(&[Sample { value: 99.0, ..proc(5, ts) }, proc(1, ts)]);
            e.evaluate(ts * 1000)
        })
        .filter_map(|c| c.event)
        .collect();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].series.to_string(), r#"process.cpu_percent{name="cc",pid="5"}"#);
}

#[test]
fn the_window_sweep_keeps_live_series_across_a_clock_jump_either_way() {
    let mut e = Engine::new(vec![cpu_rule(Condition::Value, 0)], 4, None, Duration::from_secs(10));
    assert_eq!(run(&mut e, 1000, &[10.0; 20]), vec![]);
    // A jump ahead past the stale period, then one back past it: the series is still
    // reported, so its window survives each sweep and a crossing still fires.
    assert_eq!(run(&mut e, 5000, &[10.0; 3]), vec![]);
    assert_eq!(e.watched(), 1);
    assert_eq!(run(&mut e, 100, &[10.0, 95.0]), vec![(101, EventKind::Fired, Severity::Critical)]);
    assert_eq!(e.watched(), 1);
}
