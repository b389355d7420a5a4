//! Validates `[checks]`: the built-in checklist's schedules, switches and timeouts, and
//! the user's own checks, whose SQL is one statement, prepared on an empty copy of its
//! store's schema unless the agent is starting ([`SqlCheck`]).

use super::SqlCheck;
use super::error::{ConfigError, Locator};
use super::raw::{RawChecks, RawCustom};
use super::validate::{DurationKey, HOUR, SECOND, choice, is_name};
use crate::checks::custom::{Condition, Custom, Target};
use crate::checks::schedule::Schedule;
use crate::checks::{BUILT_IN_JOBS, Job, JobKind, Settings};
use crate::report::Level;
use crate::rules::Direction;

/// Validates the `[checks]` table.
pub fn checks(mut raw: RawChecks, loc: &Locator, sql: SqlCheck) -> Result<Settings, ConfigError> {
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
    for (name, default_schedule, kind) in BUILT_IN_JOBS {
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
        let timeout = job_timeout.get(job.timeout.as_ref(), loc)?;
        jobs.push(Job { name: (*name).to_owned(), kind: kind.clone(), schedule, timeout });
    }
    for (name, c) in raw.custom {
        let at = name.span().start;
        let name = name.into_inner();
        if !is_name(&name) || BUILT_IN_JOBS.iter().any(|(b, _, _)| *b == name) {
            return Err(loc.error(
                at,
                format!("checks.custom.{name:?}: a check name is letters, digits, _ and -, and not a built-in job's"),
            ));
        }
        jobs.push(custom(&name, c, (default_timeout, sql), loc)?);
    }
    Ok(Settings { enabled: raw.enabled.unwrap_or(true), catch_up: raw.catch_up.unwrap_or(true), jobs })
}

fn custom(
    name: &str,
    c: RawCustom,
    (default_timeout, sql): (std::time::Duration, SqlCheck),
    loc: &Locator,
) -> Result<Job, ConfigError> {
    let key = format!("checks.custom.{name}");
    let schedule = Schedule::parse(c.schedule.get_ref())
        .map_err(|e| loc.error(c.schedule.span().start, format!("{key}.schedule = {e}")))?;
    let target =
        choice(&format!("{key}.store"), c.store.as_ref(), &[("hot", Target::Hot), ("archive", Target::Archive)], loc)?;
    let text = c.sql.get_ref();
    let checked = match (sql, target) {
        (SqlCheck::Count, _) => crate::sql::single(text).map(drop).map_err(|e| e.to_string()),
        (SqlCheck::Prepare, Target::Hot) => crate::store::check_sql(text),
        (SqlCheck::Prepare, Target::Archive) => crate::archive::check_sql(text),
    };
    checked.map_err(|e| {
        loc.error(
            c.sql.span().start,
            format!(
                "{key}.sql does not run on the {} store: {e}",
                if target == Target::Hot { "hot" } else { "archive" }
            ),
        )
    })?;
    let by_value = choice(&format!("{key}.condition"), c.condition.as_ref(), &[("rows", false), ("value", true)], loc)?;
    let condition = if by_value {
        let direction = choice(&format!("{key}.direction"), c.direction.as_ref(), Direction::ALL, loc)?;
        if c.warning.is_none() && c.critical.is_none() {
            return Err(loc.error(
                c.sql.span().start,
                format!("{key}: condition = \"value\" needs `warning`, `critical` or both"),
            ));
        }
        Condition::Value { direction, warning: c.warning, critical: c.critical }
    } else {
        Condition::Rows(choice(
            &format!("{key}.level"),
            c.level.as_ref(),
            &[("warning", Level::Warning), ("critical", Level::Critical), ("info", Level::Info)],
            loc,
        )?)
    };
    let timeout_key = format!("{key}.timeout");
    let timeout = DurationKey { name: &timeout_key, default: default_timeout, min: SECOND, max: HOUR }
        .get(c.timeout.as_ref(), loc)?;
    let kind = JobKind::Custom(Custom { sql: c.sql.into_inner(), target, condition });
    Ok(Job { name: name.to_owned(), kind, schedule, timeout })
}
