//! The alert-quality measure: a generated week (`week.rs`) written to a real hot store as
//! the agent would, the built-in rules replayed over it as `hostwatch rules backtest` does,
//! and each goal judged. Shared by `benches/alert_quality.rs`, which prints it, and a test
//! that holds the defaults to it.

use hostwatch::backtest::{Backtest, backtest};
use hostwatch::config::Config;
use hostwatch::rules::{Direction, Event, EventKind, Rule};
use hostwatch::store::{Batch, Gap, Store};

use super::week::{DAY, Host, Incident, T0, TICK, awake, incidents};

/// One day of the week.
pub struct Day {
    pub notices: usize,
    /// Notices with a change no planted incident explains.
    pub false_alarms: usize,
    pub planted: Vec<&'static str>,
}

/// How one planted incident was caught.
pub struct Caught {
    pub incident: &'static str,
    pub rule: &'static str,
    pub for_secs: i64,
    /// Seconds from the crossing to the rule's firing.
    pub delay: Option<i64>,
    pub goal: i64,
    pub verdict: &'static str,
}

/// The whole measure.
pub struct Quality {
    pub samples: u64,
    pub rules: usize,
    pub replay_secs: f64,
    pub days: Vec<Day>,
    pub caught: Vec<Caught>,
    pub resumes: usize,
    pub after_resume: usize,
    pub events: Vec<Event>,
}

impl Quality {
    /// Whether every goal is met: at most 1 false alarm a day, every incident caught in
    /// time, nothing in the minute after a resume.
    pub fn ok(&self) -> bool {
        self.days.iter().all(|d| d.false_alarms <= 1)
            && self.caught.iter().all(|c| c.verdict == "ok")
            && self.after_resume == 0
    }
}

/// Writes the week into a hot store as the agent would: one start, a clock-jump gap at
/// each morning's resume, a batch per hour.
fn record(store: &mut Store, seed: u64) -> u64 {
    let mut host = Host::new(seed);
    let mut written = 0;
    let mut last: Option<i64> = None;
    store.begin_run(awake()[0].0, 3 * TICK, 1, "bench").expect("start");
    for (wake, sleep) in awake() {
        let mut batch = Batch::default();
        if let Some(before) = last {
            batch.gaps.push(Gap { start_ts: before, end_ts: wake, reason: "clock jump".into() });
        }
        let mut t = wake;
        while t < sleep {
            host.tick(t, last.map_or(TICK, |l| (t - l).min(TICK)), &mut batch.samples);
            last = Some(t);
            t += TICK;
            if (t - wake) % 3600 == 0 || t >= sleep {
                written += batch.samples.len() as u64;
                store.write(&batch, t, 0).expect("write");
                batch = Batch::default();
            }
        }
    }
    written
}

/// (first, last) second of each stretch of samples beyond the threshold.
fn runs(samples: impl Iterator<Item = (i64, bool)>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut inside = false;
    for (t, beyond) in samples {
        match (beyond, inside, out.last_mut()) {
            (true, true, Some(run)) => run.1 = t,
            (true, _, _) => out.push((t, t)),
            _ => {}
        }
        inside = beyond;
    }
    out
}

/// When the incident began for its rule: the first crossing that lasts as long as the rule
/// needs (its `for` and window: a blip it is meant to ignore is not the incident), or the
/// one the rule fired on, if that was earlier.
fn began(runs: &[(i64, i64)], needs: i64, fired: Option<i64>) -> Option<i64> {
    let sustained = runs.iter().find(|r| r.1 - r.0 >= needs).map(|r| r.0);
    let fired_on = fired.and_then(|f| runs.iter().rev().find(|r| r.0 <= f).map(|r| r.0));
    match (sustained, fired_on) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How `rule` caught incident `i` in `result`.
fn caught(i: &Incident, rule: &Rule, store: &Store, result: &Backtest, cores: usize) -> Caught {
    let stored = store.series_between(&[i.key.metric], i.from, i.to).expect("read");
    let values = stored.iter().find(|s| s.key == i.key).expect("the incident's series");
    let (divisor, threshold) = (rule.divisor(cores), rule.warning.or(rule.critical).expect("a threshold"));
    let beyond = |v: f64| match rule.direction {
        Direction::Above => v / divisor > threshold,
        Direction::Below => v / divisor < threshold,
    };
    let fired = result
        .events
        .iter()
        .find(|e| e.kind == EventKind::Fired && e.rule == i.rule && e.series == i.key && e.at_ms / 1000 >= i.from)
        .map(|e| e.at_ms / 1000);
    let needs = i64::try_from((rule.for_ + rule.condition.window().unwrap_or_default()).as_secs()).expect("seconds");
    let crossed = began(&runs(values.times.iter().zip(&values.values).map(|(t, v)| (*t, beyond(*v)))), needs, fired);
    let for_secs = i64::try_from(rule.for_.as_secs()).expect("seconds");
    let goal = (2 * for_secs).max(2 * TICK);
    let (delay, verdict) = match (crossed, fired) {
        (Some(c), Some(f)) if f <= i.to + goal => (Some(f - c), if f - c <= goal { "ok" } else { "LATE" }),
        (None, _) => (None, "never crossed: the plant is wrong"),
        _ => (None, "MISSED"),
    };
    Caught { incident: i.name, rule: i.rule, for_secs, delay, goal, verdict }
}

/// Generates the week of `seed`, replays the built-in rules over it, and judges.
pub fn measure(seed: u64) -> Quality {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("hot.sqlite")).expect("store");
    let samples = record(&mut store, seed);
    let mut setup = Config::defaults().alert_setup();
    setup.cores = 8;
    let started = std::time::Instant::now();
    let result = backtest(Some(&store), None, &setup, T0, T0 + 7 * DAY).expect("backtest");
    let replay_secs = started.elapsed().as_secs_f64();

    let planted = incidents();
    // A change of an incident's rules (a memory alert during swap thrashing is right)
    // during it or in the hour after is the incident's; a notice with any other is a
    // false alarm.
    let expected = |e: &Event| {
        let ts = e.at_ms / 1000;
        let mine = |i: &Incident| i.rule == e.rule || i.also.contains(&e.rule.as_str());
        planted.iter().any(|i| mine(i) && (i.from..i.to + 3600).contains(&ts))
    };
    let mut false_notices: Vec<i64> = result.events.iter().filter(|e| !expected(e)).map(|e| e.at_ms / 1000).collect();
    false_notices.dedup();
    let days = (0..7)
        .map(|d| {
            let day = T0 + d * DAY..T0 + (d + 1) * DAY;
            Day {
                notices: result.summary.notices.iter().filter(|ms| day.contains(&(*ms / 1000))).count(),
                false_alarms: false_notices.iter().filter(|ts| day.contains(ts)).count(),
                planted: planted.iter().filter(|i| i.from < day.end && i.to > day.start).map(|i| i.name).collect(),
            }
        })
        .collect();
    let caught = planted
        .iter()
        .map(|i| match setup.rules.iter().find(|r| r.name == i.rule) {
            Some(rule) => caught(i, rule, &store, &result, setup.cores),
            None => Caught {
                incident: i.name,
                rule: i.rule,
                for_secs: 0,
                delay: None,
                goal: 0,
                verdict: "MISSED: no such rule",
            },
        })
        .collect();
    let resumes: Vec<i64> = awake().iter().skip(1).map(|(wake, _)| *wake).collect();
    let after_resume = result
        .summary
        .notices
        .iter()
        .filter(|&&ms| resumes.iter().any(|&w| (w..w + 60).contains(&(ms / 1000))))
        .count();
    Quality {
        samples,
        rules: setup.rules.len(),
        replay_secs,
        days,
        caught,
        resumes: resumes.len(),
        after_resume,
        events: result.events,
    }
}
