//! The agent's checklist schedule: claims each due slot in the store, runs its job on a
//! blocking thread with a timeout, records how it went with its report. One job at a time,
//! so a job never overlaps itself or the others.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::wall_ms;
use crate::checks::report::Report;
use crate::checks::{run_job, schedule::due};
use crate::config::{Config, Job};
use crate::store::{Store, StoreError};

/// The longest the schedule sleeps before looking again (a clock step or a wake from sleep
/// shows up within this).
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// How often a job past its deadline is interrupted again until it returns.
const INTERRUPT_AGAIN: Duration = Duration::from_millis(100);

/// A job under way.
struct Running {
    job: Job,
    slot: i64,
    deadline: Instant,
    /// Stops its hot-store query at the deadline, so a job never outlives its timeout.
    interrupt: rusqlite::InterruptHandle,
    /// The job's thread, whose archive queries are stopped at the deadline too.
    thread: Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>,
    task: JoinHandle<Result<Report, StoreError>>,
}

/// The checklist's schedule and the run in progress.
pub struct Checklist {
    config: Arc<Config>,
    /// Its own connection to the hot store, for claims and outcomes.
    db: Store,
    /// The last slot each job ran for.
    last: HashMap<String, i64>,
    running: Option<Running>,
}

impl Checklist {
    /// The schedule of `config`'s jobs, with their last runs read from the store.
    pub fn new(config: Arc<Config>, hot: &Path) -> Result<Checklist, StoreError> {
        let db = Store::open(hot)?;
        let last = db.last_runs()?.into_iter().map(|r| (r.job, r.slot)).collect();
        Ok(Checklist { config, db, last, running: None })
    }

    /// One step: waits for the running job (or its timeout) and returns its report, or
    /// sleeps until a slot is due and starts its job. Cancel-safe: the state is in `self`.
    pub async fn step(&mut self) -> Option<Report> {
        if self.running.is_some() {
            return self.finished().await;
        }
        let now = chrono::Local.timestamp_millis_opt(wall_ms()).single()?;
        let tolerance = LOOK_AGAIN * 2;
        for job in &self.config.checks.jobs {
            let last = self.last.get(&job.name).copied();
            let Some(slot) = due(&job.schedule, last, &now, self.config.checks.catch_up, tolerance) else { continue };
            self.last.insert(job.name.clone(), slot);
            match self.db.claim_slot(&job.name, slot, wall_ms()) {
                Ok(true) => {
                    self.start(job.clone(), slot);
                    return None;
                }
                Ok(false) => {}
                Err(e) => tracing::error!(job = job.name, "cannot claim a check slot: {e}"),
            }
        }
        let next = self.config.checks.jobs.iter().filter_map(|j| j.schedule.next_slot(&now)).min();
        let wait = next.map_or(LOOK_AGAIN, |n| {
            Duration::from_millis(u64::try_from((n - now).num_milliseconds()).unwrap_or(0)).min(LOOK_AGAIN)
        });
        tokio::time::sleep(wait).await;
        None
    }

    fn start(&mut self, job: Job, slot: i64) {
        let store = match Store::open_read_only(self.db.path()) {
            Ok(store) => store,
            Err(e) => {
                tracing::error!(job = job.name, "cannot open the hot store for a check: {e}");
                return;
            }
        };
        let (config, todo, interrupt) = (self.config.clone(), job.clone(), store.interrupt_handle());
        let thread = Arc::new(std::sync::Mutex::new(None));
        let on_thread = thread.clone();
        let task = tokio::task::spawn_blocking(move || {
            *on_thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::thread::current().id());
            run_job(&todo, &store, &config, slot)
        });
        self.running = Some(Running { deadline: Instant::now() + job.timeout, job, slot, interrupt, thread, task });
    }

    /// Lets a job under way finish (within its timeout) and returns its report.
    pub async fn shutdown(mut self) -> Option<Report> {
        self.finished().await
    }

    async fn finished(&mut self) -> Option<Report> {
        let r = self.running.as_mut()?;
        let result = match tokio::time::timeout_at(r.deadline, &mut r.task).await {
            Ok(done) => Some(done),
            Err(_) => {
                // Stop its queries and wait for the thread, so the next job never overlaps it.
                // An interrupt stops the query running now; a job may start another, so
                // keep interrupting until it gives up.
                loop {
                    r.interrupt.interrupt();
                    if let Some(t) = *r.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
                        crate::archive::interrupt_thread(t);
                    }
                    if tokio::time::timeout(INTERRUPT_AGAIN, &mut r.task).await.is_ok() {
                        break;
                    }
                }
                None
            }
        };
        let Running { job, slot, .. } = self.running.take()?;
        let (outcome, report) = match result {
            None => (format!("timed out after {}", humantime::format_duration(job.timeout)), None),
            Some(Err(e)) => (format!("failed: {e}"), None),
            Some(Ok(Err(e))) => (format!("failed: {e}"), None),
            Some(Ok(Ok(report))) => {
                let outcome = if report.findings.is_empty() { "ok" } else { "findings" };
                (outcome.to_owned(), Some(report))
            }
        };
        if let Err(e) = self.db.finish_run(&job.name, slot, &outcome, report.as_ref(), wall_ms()) {
            tracing::error!(job = job.name, "cannot store a check's outcome: {e}");
        }
        if report.is_none() {
            tracing::warn!(job = job.name, "check {outcome}");
        }
        report
    }
}
