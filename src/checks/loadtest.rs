//! A load test as a checklist job (scheduled, or `hostwatch load run`): the guard rails
//! first (on battery, a busy host, another job under way: refused, the reason recorded),
//! then the run on this thread, then its judgment against the test's stored history.

use std::sync::atomic::AtomicBool;

use crate::load::Loadtest;
use crate::load::generator::{self, Progress};
use crate::load::guard::{self, Refusal};
use crate::load::judge::{self, Kept};
use crate::metrics as m;
use crate::report::{Finding, Level, Report};
use crate::store::{Store, StoreError};

/// How long an unfinished claim of another job counts as under way: the longest job (a
/// load test of an hour) and its margin. A process killed during a job leaves its claim
/// unfinished: it stops refusing tests once its owner is gone, or, for a claim that names
/// none (made before claims had owners), after this.
const UNDER_WAY: i64 = 75 * 60 * 1000;

/// Why `test` must not run now, if it must not: `own` is the caller's claim.
pub fn refusal(
    store: &Store,
    sys_root: &std::path::Path,
    own: (&str, i64),
    now_ms: i64,
) -> Result<Option<Refusal>, StoreError> {
    if let Some(b) = crate::collect::discharging(sys_root) {
        return Ok(Some(Refusal::OnBattery(b.name, b.charge_percent)));
    }
    let now = now_ms.div_euclid(1000);
    let from = now - crate::units::secs(guard::BUSY_WINDOW);
    let cpu: Vec<(i64, f64)> = store
        .series_between(&[&m::CPU_USAGE], from, now + 1)?
        .into_iter()
        .filter(|s| s.label("cpu") == Some("total"))
        .flat_map(|s| s.times.into_iter().zip(s.values))
        .collect();
    if let Some(cpu) = guard::busy(&cpu) {
        return Ok(Some(Refusal::Busy(cpu)));
    }
    let mut others = store.jobs_under_way(now_ms - UNDER_WAY, own)?.into_iter();
    let running = others.find(|(_, owner)| owner.as_deref().is_none_or(crate::lock::runs));
    Ok(running.map(|(job, _)| Refusal::OtherJob(job)))
}

/// Runs `test` as `job`'s `slot` unless refused, reporting progress each second; `stop`
/// ends it at once, keeping what it measured.
pub fn run(
    test: &Loadtest,
    store: &Store,
    ctx: &super::Context,
    (job, slot): (&str, i64),
    stop: &AtomicBool,
    progress: impl FnMut(&Progress),
) -> Result<Report, StoreError> {
    let started_ms = (ctx.clock)();
    if let Some(why) = refusal(store, &ctx.sys_root, (job, slot), started_ms)? {
        tracing::warn!(test = test.name, "load test refused: {why}");
        return Ok(judge::refused(test, &why, (job, slot), started_ms));
    }
    let plan = test.plan();
    let history: Vec<Kept> = store
        .load_history(&test.name, &plan, test.compare_runs)?
        .iter()
        .filter_map(|k| serde_json::from_str(k).ok())
        .collect();
    match generator::run(test, stop, progress) {
        Ok(run) => Ok(judge::judge(test, &run, &history, (job, slot), (started_ms, (ctx.clock)()))),
        Err(e) => {
            let finding = Finding {
                level: Level::Warning,
                subject: format!("loadtest {}", test.name),
                text: format!("cannot run: {e}"),
            };
            Ok(Report::new(job, slot, &format!("Load test {}", test.name), vec![finding], &[]))
        }
    }
}
