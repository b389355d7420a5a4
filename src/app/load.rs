//! `hostwatch load run|list|show`: a load test now, with a live progress line, stored like a
//! scheduled run; the runs kept.

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result, bail};

use super::show::{local, table};
use super::{Paths, UsageError};
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::load::generator::{Progress, secs};
use crate::load::judge::Kept;
use crate::store::Store;

/// Stops `stop` at the first Ctrl-C or SIGTERM, from a thread of its own (the run holds
/// this one).
fn stop_on_signal(stop: Arc<AtomicBool>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut term = runtime
        .block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) })
        .context("cannot listen for SIGTERM")?;
    std::thread::spawn(move || {
        runtime.block_on(super::ctrl_c_or(&mut term));
        stop.store(true, Ordering::Relaxed);
    });
    Ok(())
}

/// The progress line: rewritten in place on a terminal, a line every 5 s elsewhere.
fn progress_line(p: &Progress) {
    let tty = std::io::stderr().is_terminal();
    if !tty && !p.elapsed.as_secs().is_multiple_of(5) {
        return;
    }
    let line = format!(
        "{:>5.0} rps  p95 {:>8}  errors {:<6} {:>4}s / {}s  (level {})",
        p.rps,
        secs(p.p95.as_secs_f64()),
        p.errors,
        p.elapsed.as_secs(),
        p.total.as_secs(),
        p.level
    );
    let mut err = std::io::stderr().lock();
    let _ = if tty { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
}

/// Runs test `name` now (unless refused), stores the run and its report, prints the report.
/// Exits 1 when it was refused, aborted, stopped, or found a warning.
pub fn run_now(paths: &Paths, config: &Config, name: &str) -> Result<()> {
    let Some(test) = config.loadtests.tests.iter().find(|t| t.name == name) else {
        let names: Vec<&str> = config.loadtests.tests.iter().map(|t| t.name.as_str()).collect();
        let names = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        bail!(UsageError(format!("no load test {name:?} in the config; load tests are: {names}")));
    };
    super::private_data_dir(&paths.dir)?;
    let mut store = Store::open(&paths.hot)?;
    let (job, now) = (format!("load.{name}"), wall_ms());
    // A command-line run's slot is the second it started, or the next one free (a refused
    // run ends within its second).
    let mut slot = now.div_euclid(1000);
    let me = crate::lock::this_process();
    while !store.claim_slot(&job, slot, now, me.as_deref())? {
        slot += 1;
    }
    let ctx = config.checks_context(&paths.archive, wall_ms);
    stop_on_signal(ctx.stop.clone())?;
    errln!("load test {name}: {} (Ctrl-C stops it and keeps the partial result)", test.plan());
    let report = crate::checks::loadtest::run(test, &store, &ctx, (&job, slot), &ctx.stop, progress_line)?;
    if std::io::stderr().is_terminal() {
        errln!("");
    }
    let status = report.load.as_ref().map_or("failed", |l| l.run.status.as_str()).to_owned();
    let outcome = if report.findings.is_empty() { "ok" } else { "findings" };
    let id = store.finish_run(&job, slot, outcome, Some(&report), wall_ms())?;
    out!("{}", report.markdown);
    if let Some(id) = id {
        outln!("(report {id}; `hostwatch load list` shows the runs)");
    }
    if status != "complete" || report.notable().next().is_some() {
        bail!("load test {name}: {status}{}", if report.notable().next().is_some() { ", with findings" } else { "" });
    }
    Ok(())
}

/// The runs kept, newest first.
pub fn list(paths: &Paths, test: Option<&str>, limit: u32) -> Result<()> {
    let runs = super::store_if_any(paths)?.map(|s| s.load_runs(test, limit)).transpose()?.unwrap_or_default();
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|stored| {
            let r = &stored.run;
            let kept: Option<Kept> = serde_json::from_str(&r.kept).ok();
            let figures = kept.as_ref().map_or_else(
                || vec![String::new(); 5],
                |k| {
                    let t = &k.total;
                    vec![
                        t.requests.to_string(),
                        format!("{:.1}", t.rps),
                        secs(t.latency.p50),
                        secs(t.latency.p95),
                        format!("{:.2}%", t.error_rate() * 100.0),
                    ]
                },
            );
            let note = match (&r.reason, r.client_bound) {
                (Some(why), _) => why.clone(),
                (None, true) => "client-bound".to_owned(),
                (None, false) => kept.map(|k| k.end).unwrap_or_default(),
            };
            let mut row = vec![stored.id.to_string(), r.test.clone(), local(r.started_ms / 1000), r.status.clone()];
            row.extend(figures);
            row.push(note);
            row
        })
        .collect();
    if rows.is_empty() {
        outln!("No load test has run yet: `hostwatch load run NAME` runs one of [loadtests].");
        return Ok(());
    }
    out!("{}", table(&["ID", "TEST", "STARTED", "STATUS", "REQUESTS", "RPS", "P50", "P95", "ERRORS", "NOTE"], &rows));
    Ok(())
}

/// One run: its report, or what was kept of it.
pub fn show(paths: &Paths, id: i64) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let Some(stored) = store.load_run(id)? else {
        bail!(UsageError(format!("no load test run {id}: `hostwatch load list` shows their ids")));
    };
    let run = stored.run;
    match stored.report_id.map(|r| store.report(r)).transpose()?.flatten() {
        Some(report) => out!("{}", report.markdown),
        None => outln!("run {id} of {}: {} {}", run.test, run.status, run.reason.unwrap_or_default()),
    }
    Ok(())
}
