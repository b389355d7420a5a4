//! Validates `[loadtests]`: each test's target (a URL, or a probe's request) on loopback or
//! an allowed host, its shape and bounds, thresholds and abort rule; a test with a
//! `schedule` becomes a checklist job.

use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::raw::SpannedStr;
use super::raw_load::{RawLoadtest, RawLoadtests};
use super::validate::{DurationKey, HOUR, MINUTE, SECOND, choice, is_name};
use crate::checks::schedule::Schedule;
use crate::checks::{Job, JobKind};
use crate::load::{AbortOn, Loadtest, Model, Settings, Shape, Thresholds, guard};
use crate::probe::Target;

/// The longest run: a load test is an experiment, not a second workload.
const LONGEST: Duration = Duration::from_secs(3600);

/// Validates the `[loadtests]` table into its settings and the checklist jobs of the tests
/// with a schedule.
pub fn loadtests(
    raw: RawLoadtests,
    probes: &crate::probe::Settings,
    loc: &Locator,
) -> Result<(Settings, Vec<Job>), ConfigError> {
    let allow_hosts: Vec<String> = raw.allow_hosts.unwrap_or_default().into_iter().map(Spanned::into_inner).collect();
    let (mut tests, mut jobs) = (Vec::new(), Vec::new());
    for (name, t) in raw.tests {
        let at = name.span().start;
        let name = name.into_inner();
        if !is_name(&name) {
            return Err(loc.error(at, format!("loadtests.{name:?}: a test name is letters, digits, _ and -")));
        }
        let schedule = t.schedule.clone();
        let test = loadtest(name, t, at, (probes, &allow_hosts), loc)?;
        if let Some(s) = schedule {
            let key = format!("loadtests.{}.schedule", test.name);
            let schedule =
                Schedule::parse(s.get_ref()).map_err(|e| loc.error(s.span().start, format!("{key} = {e}")))?;
            // Long enough for the whole plan, its last answers and the store.
            let timeout = test.shape.duration() + test.timeout + MINUTE;
            jobs.push(Job {
                name: format!("load.{}", test.name),
                kind: JobKind::Load(Box::new(test.clone())),
                schedule,
                timeout,
            });
        }
        tests.push(test);
    }
    Ok((Settings { allow_hosts, tests }, jobs))
}

/// A count key in `min..=max`, or its default.
fn count(
    key: &str,
    raw: Option<&Spanned<i64>>,
    default: u64,
    (min, max): (u64, u64),
    loc: &Locator,
) -> Result<u64, ConfigError> {
    let Some(v) = raw else { return Ok(default) };
    u64::try_from(*v.get_ref())
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| loc.error(v.span().start, format!("{key} = {} is out of range: {min} to {max}", v.get_ref())))
}

/// A fraction key (`0.05` is 5%) in `[0, 1)`, or its default.
fn fraction(key: &str, raw: Option<&Spanned<f64>>, default: f64, loc: &Locator) -> Result<f64, ConfigError> {
    let Some(v) = raw else { return Ok(default) };
    let x = *v.get_ref();
    if !(0.0..1.0).contains(&x) {
        return Err(loc.error(v.span().start, format!("{key} = {x} is not a fraction from 0 to below 1 (0.05 is 5%)")));
    }
    Ok(x)
}

fn loadtest(
    name: String,
    mut t: RawLoadtest,
    at: usize,
    (probes, allow_hosts): (&crate::probe::Settings, &[String]),
    loc: &Locator,
) -> Result<Loadtest, ConfigError> {
    let key = format!("loadtests.{name}");
    let (request, via_probe) = match (t.probe.take(), t.url.is_some()) {
        (Some(p), false) => (probe_request(&key, &p, probes, &t, loc)?, Some(p.into_inner())),
        (Some(p), true) => {
            return Err(loc.error(p.span().start, format!("{key}: `url` and `probe` both given: keep one")));
        }
        (None, _) => {
            let url_at = t.url.as_ref().map_or(at, |u| u.span().start);
            let request = super::probes::http(&key, t.request(), at, loc)?;
            guard::allowed(&request.url, allow_hosts).map_err(|e| loc.error(url_at, format!("{key}.url: {e}")))?;
            (request, None)
        }
    };
    if let Some(p) = via_probe.as_ref() {
        guard::allowed(&request.url, allow_hosts).map_err(|e| loc.error(at, format!("{key}.probe = {p:?}: {e}")))?;
    }
    let timeout_key = format!("{key}.timeout");
    let timeout = DurationKey { name: &timeout_key, default: 10 * SECOND, min: Duration::from_millis(10), max: MINUTE }
        .get(t.timeout.as_ref(), loc)?;
    let shape = shape(&key, &t, at, loc)?;
    let thresholds = match &t.thresholds {
        None => Thresholds::default(),
        Some(th) => {
            let limit = |k: &str, v: &Option<SpannedStr>| {
                let name = format!("{key}.thresholds.{k}");
                v.as_ref()
                    .map(|v| {
                        DurationKey { name: &name, default: SECOND, min: Duration::from_micros(1), max: HOUR }
                            .get(Some(v), loc)
                    })
                    .transpose()
            };
            Thresholds {
                p50: limit("p50", &th.p50)?,
                p95: limit("p95", &th.p95)?,
                p99: limit("p99", &th.p99)?,
                max: limit("max", &th.max)?,
                error_rate: th
                    .error_rate
                    .as_ref()
                    .map(|v| fraction(&format!("{key}.thresholds.error_rate"), Some(v), 0.0, loc))
                    .transpose()?,
            }
        }
    };
    let abort_on = match &t.abort_on {
        None => AbortOn { error_rate: 0.05, window: 10 * SECOND },
        Some(a) => {
            let for_key = format!("{key}.abort_on.for");
            AbortOn {
                error_rate: fraction(&format!("{key}.abort_on.error_rate"), Some(&a.error_rate), 0.05, loc)?,
                window: DurationKey { name: &for_key, default: 10 * SECOND, min: SECOND, max: 10 * MINUTE }
                    .get(a.for_.as_ref(), loc)?,
            }
        }
    };
    let percent = |k: &str, v: &Option<Spanned<f64>>, default: f64| -> Result<f64, ConfigError> {
        let Some(v) = v else { return Ok(default / 100.0) };
        let x = *v.get_ref();
        if !(x > 0.0 && x <= 1000.0) {
            return Err(loc.error(v.span().start, format!("{key}.{k} = {x} is not a percentage above 0 (20 is 20%)")));
        }
        Ok(x / 100.0)
    };
    let regression = (
        percent("regression_warning", &t.regression_warning, 20.0)?,
        percent("regression_critical", &t.regression_critical, 50.0)?,
    );
    if regression.1 < regression.0 {
        let at = t.regression_critical.as_ref().map_or(at, |v| v.span().start);
        return Err(loc.error(at, format!("{key}.regression_critical is below regression_warning")));
    }
    let max_requests =
        count(&format!("{key}.max_requests"), t.max_requests.as_ref(), 1_000_000, (1, 100_000_000), loc)?;
    let max_in_flight = count(&format!("{key}.max_in_flight"), t.max_in_flight.as_ref(), 1000, (1, 10_000), loc)?;
    if let (Some(v), Model::Closed) = (&t.max_in_flight, shape.model()) {
        return Err(loc.error(v.span().start, format!("{key}.max_in_flight is a key of the open model (target_rps)")));
    }
    let compare_runs = count(&format!("{key}.compare_runs"), t.compare_runs.as_ref(), 4, (1, 50), loc)?;
    Ok(Loadtest {
        name,
        request,
        via_probe,
        shape,
        timeout,
        max_requests,
        max_in_flight: usize::try_from(max_in_flight).unwrap_or(1000),
        thresholds,
        abort_on: Some(abort_on),
        compare_runs: usize::try_from(compare_runs).unwrap_or(4),
        regression,
    })
}

/// The request of the probe `p` names: an http probe's request, an ai probe's completion.
fn probe_request(
    key: &str,
    p: &SpannedStr,
    probes: &crate::probe::Settings,
    t: &RawLoadtest,
    loc: &Locator,
) -> Result<crate::probe::Http, ConfigError> {
    let at = p.span().start;
    let own = [
        t.method.is_some(),
        t.headers.is_some(),
        t.body.is_some(),
        t.secret_env.is_some(),
        t.secret_file.is_some(),
        t.ca_file.is_some(),
    ];
    if own.iter().any(|set| *set) {
        return Err(loc.error(
            at,
            format!(
                "{key}: the request comes from probe {:?}: set method, headers, body, secret and ca_file there",
                p.get_ref()
            ),
        ));
    }
    let Some(probe) = probes.probes.iter().find(|x| &x.name == p.get_ref()) else {
        let names: Vec<&str> = probes.probes.iter().map(|x| x.name.as_str()).collect();
        return Err(loc.error(
            at,
            format!(
                "{key}.probe = {:?}: no such probe; probes are: {}",
                p.get_ref(),
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ),
        ));
    };
    match &probe.target {
        Target::Http(h) => Ok(h.clone()),
        Target::Ai(a) => Ok(a.completion_request()),
        other => Err(loc.error(
            at,
            format!(
                "{key}.probe = {:?} is a {} probe: a load test sends http and ai probes' requests",
                p.get_ref(),
                other.kind()
            ),
        )),
    }
}

fn shape(key: &str, t: &RawLoadtest, at: usize, loc: &Locator) -> Result<Shape, ConfigError> {
    let stress = choice(&format!("{key}.shape"), t.shape.as_ref(), &[("load", false), ("stress", true)], loc)?;
    let stress_keys = [
        ("start", t.start.as_ref().map(|v| v.span().start)),
        ("step", t.step.as_ref().map(|v| v.span().start)),
        ("max", t.max.as_ref().map(|v| v.span().start)),
        ("step_duration", t.step_duration.as_ref().map(|v| v.span().start)),
        ("failure_threshold", t.failure_threshold.as_ref().map(|v| v.span().start)),
        ("max_p95", t.max_p95.as_ref().map(|v| v.span().start)),
    ];
    let load_keys = [
        ("users", t.users.as_ref().map(|v| v.span().start)),
        ("target_rps", t.target_rps.as_ref().map(|v| v.span().start)),
        ("ramp_up", t.ramp_up.as_ref().map(|v| v.span().start)),
        ("duration", t.duration.as_ref().map(|v| v.span().start)),
    ];
    let (foreign, word) = if stress { (&load_keys[..], "stress") } else { (&stress_keys[..], "load") };
    if let Some((k, a)) = foreign.iter().find_map(|(k, a)| Some((*k, (*a)?))) {
        return Err(loc.error(a, format!("{key}.{k} is not a key of a {word} test")));
    }
    let models = &[("closed", Model::Closed), ("open", Model::Open)];
    let model = match (&t.model, &t.target_rps) {
        (None, Some(_)) => Model::Open,
        _ => choice(&format!("{key}.model"), t.model.as_ref(), models, loc)?,
    };
    let foreign = match model {
        Model::Closed => t.target_rps.as_ref().map(|v| ("target_rps", "closed", v.span().start)),
        Model::Open => t.users.as_ref().map(|v| ("users", "open", v.span().start)),
    };
    if let Some((k, m, at)) = foreign {
        return Err(loc.error(at, format!("{key}.{k} is not a key of the {m} model (users: closed; target_rps: open)")));
    }
    let level_range = if model == Model::Open { (1, 100_000) } else { (1, 1000) };
    if !stress {
        let level_raw = if model == Model::Open { t.target_rps.as_ref() } else { t.users.as_ref() };
        let level_key = format!("{key}.{}", if model == Model::Open { "target_rps" } else { "users" });
        let level = count(&level_key, level_raw, if model == Model::Open { 50 } else { 10 }, level_range, loc)?;
        let duration_key = format!("{key}.duration");
        let duration = DurationKey { name: &duration_key, default: 5 * MINUTE, min: SECOND, max: LONGEST }
            .get(t.duration.as_ref(), loc)?;
        let ramp_key = format!("{key}.ramp_up");
        let ramp_up =
            DurationKey { name: &ramp_key, default: MINUTE.min(duration / 5), min: Duration::ZERO, max: duration }
                .get(t.ramp_up.as_ref(), loc)?;
        return Ok(Shape::Load { model, level: u32::try_from(level).unwrap_or(u32::MAX), ramp_up, duration });
    }
    let n = |k: &str, raw: Option<&Spanned<i64>>, default| {
        count(&format!("{key}.{k}"), raw, default, level_range, loc).map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    };
    let (start, step, max) =
        (n("start", t.start.as_ref(), 10)?, n("step", t.step.as_ref(), 10)?, n("max", t.max.as_ref(), 100)?);
    if max < start {
        return Err(loc.error(
            t.max.as_ref().map_or(at, |v| v.span().start),
            format!("{key}.max = {max} is below start = {start}"),
        ));
    }
    let step_key = format!("{key}.step_duration");
    let step_duration = DurationKey { name: &step_key, default: MINUTE, min: SECOND, max: LONGEST }
        .get(t.step_duration.as_ref(), loc)?;
    let steps = u64::from((max - start) / step + 1);
    if step_duration * u32::try_from(steps).unwrap_or(u32::MAX) > LONGEST {
        let at = t.step_duration.as_ref().map_or(at, |v| v.span().start);
        return Err(loc.error(
            at,
            format!("{key}: {steps} steps of {} last longer than 1h", humantime::format_duration(step_duration)),
        ));
    }
    let p95_key = format!("{key}.max_p95");
    let max_p95 = t
        .max_p95
        .as_ref()
        .map(|v| {
            DurationKey { name: &p95_key, default: SECOND, min: Duration::from_micros(1), max: HOUR }.get(Some(v), loc)
        })
        .transpose()?;
    Ok(Shape::Stress {
        model,
        start,
        step,
        max,
        step_duration,
        failure_threshold: fraction(&format!("{key}.failure_threshold"), t.failure_threshold.as_ref(), 0.05, loc)?,
        max_p95,
    })
}
