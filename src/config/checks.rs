//! Validates `[checks]`: the built-in checklist's schedules, switches and timeouts.

use super::error::{ConfigError, Locator};
use super::raw::RawChecks;
use super::validate::{DurationKey, HOUR, SECOND};
use super::{Checks, Job};
use crate::checks::BUILT_IN_JOBS;
use crate::checks::schedule::Schedule;

/// Validates the `[checks]` table.
pub fn checks(mut raw: RawChecks, loc: &Locator) -> Result<Checks, ConfigError> {
    let timeout = DurationKey { name: "checks.timeout", default: 2 * 60 * SECOND, min: SECOND, max: HOUR };
    let default_timeout = timeout.get(raw.timeout.as_ref(), loc)?;
    if let Some((name, _)) = raw.jobs.iter().find(|(n, _)| !BUILT_IN_JOBS.iter().any(|(b, _, _)| b == n.get_ref())) {
        let known: Vec<&str> = BUILT_IN_JOBS.iter().map(|(n, _, _)| *n).collect();
        return Err(loc.error(
            name.span().start,
            format!("checks.jobs.{}: no such job; the checklist is {}", name.get_ref(), known.join(", ")),
        ));
    }
    let mut jobs = Vec::new();
    for (name, default_schedule, _) in BUILT_IN_JOBS {
        let key = raw.jobs.keys().find(|k| k.get_ref() == name).cloned();
        let job = key.and_then(|k| raw.jobs.remove(&k)).unwrap_or_default();
        if job.enabled == Some(false) {
            continue;
        }
        let schedule = match &job.schedule {
            Some(s) => Schedule::parse(s.get_ref())
                .map_err(|e| loc.error(s.span().start, format!("checks.jobs.{name}.schedule = {e}")))?,
            None => Schedule::parse(default_schedule).expect("built-in schedules are valid"),
        };
        let key = format!("checks.jobs.{name}.timeout");
        let job_timeout = DurationKey { name: &key, default: default_timeout, min: SECOND, max: HOUR };
        jobs.push(Job { name: (*name).to_owned(), schedule, timeout: job_timeout.get(job.timeout.as_ref(), loc)? });
    }
    Ok(Checks {
        enabled: raw.enabled.unwrap_or(true),
        catch_up: raw.catch_up.unwrap_or(true),
        timeout: default_timeout,
        jobs,
    })
}
