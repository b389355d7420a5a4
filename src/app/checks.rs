//! `hostwatch checks` and `hostwatch report list|show|run`.

use anyhow::{Result, bail};

use super::show::{local, table};
use super::{Paths, UsageError};
use crate::checks::run_job;
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::store::Store;

/// The jobs with their schedule, next slot and last run.
pub fn list(paths: &Paths, config: &Config) -> Result<()> {
    let runs = super::store_if_any(paths)?.map(|s| s.last_runs()).transpose()?.unwrap_or_default();
    let now = chrono::Local::now();
    let rows: Vec<Vec<String>> = config
        .checks
        .jobs
        .iter()
        .map(|job| {
            let next = job.schedule.next_slot(&now).map_or_else(|| "never".to_owned(), |t| local(t.timestamp()));
            let last = runs.iter().find(|r| r.job == job.name);
            let (ran, result) = last.map_or_else(
                || ("never".to_owned(), String::new()),
                |r| {
                    let report = r.report_id.map_or_else(String::new, |id| format!(" (report {id})"));
                    let outcome = r.outcome.clone().unwrap_or_else(|| "running or interrupted".to_owned());
                    (local(r.slot), format!("{outcome}{report}"))
                },
            );
            vec![job.name.clone(), job.schedule.expr.clone(), next, ran, result]
        })
        .collect();
    if !config.checks.enabled {
        outln!("The checklist is off (checks.enabled = false).");
    }
    out!("{}", table(&["JOB", "SCHEDULE", "NEXT RUN", "LAST RUN", "LAST RESULT"], &rows));
    Ok(())
}

/// The latest reports.
pub fn reports(paths: &Paths, limit: u32) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let rows: Vec<Vec<String>> = store
        .reports(limit)?
        .iter()
        .map(|r| {
            let findings: Vec<serde_json::Value> = serde_json::from_str(&r.findings).unwrap_or_default();
            vec![
                r.id.to_string(),
                r.job.clone(),
                local(r.created_ms / 1000),
                r.level.clone(),
                findings.len().to_string(),
            ]
        })
        .collect();
    out!("{}", table(&["ID", "JOB", "WRITTEN", "LEVEL", "FINDINGS"], &rows));
    Ok(())
}

/// One report's Markdown.
pub fn show(paths: &Paths, id: i64) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let Some(report) = store.report(id)? else {
        bail!(UsageError(format!("no report {id}: `hostwatch report list` shows their ids")));
    };
    out!("{}", report.markdown);
    Ok(())
}

/// Runs a job now for the hour just ended and prints its report.
pub fn run_now(paths: &Paths, config: &Config, name: &str) -> Result<()> {
    let Some(job) = config.checks.jobs.iter().find(|j| j.name == name) else {
        let known: Vec<&str> = config.checks.jobs.iter().map(|j| j.name.as_str()).collect();
        bail!(UsageError(format!("no job {name:?}; the checklist is {}", known.join(", "))));
    };
    let store = Store::open_read_only(&paths.hot)?;
    let report = run_job(job, &store, &config.checks_context(&paths.archive, wall_ms), wall_ms() / 1000)?;
    out!("{}", report.markdown);
    Ok(())
}
