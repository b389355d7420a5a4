//! The agent's checklist schedule: claims each due slot in the store, runs its job on a
//! blocking thread with a timeout, records how it went with its report. One job at a time,
//! so a job never overlaps itself or the others.
//!
//! Every store call runs on the blocking pool and its handle is kept in [`State`], so a
//! step dropped by the agent loop's `select!` loses nothing: the next step picks it up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use chrono::TimeZone;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use super::wall_ms;
use crate::checks::{Context, Job, Settings, run_job, schedule::due};
use crate::report::Report;
use crate::store::{Shared, Store, StoreError};

/// The longest the schedule sleeps before looking again (a clock step or a wake from sleep
/// shows up within this).
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// How often a job past its deadline is interrupted again until it returns.
const INTERRUPT_AGAIN: Duration = Duration::from_millis(100);

/// A job's thread and its hot-store connection, once it started: both are interrupted at
/// the deadline (its archive queries by the thread), so a job never outlives its timeout.
type OnThread = Arc<Mutex<Option<(ThreadId, rusqlite::InterruptHandle)>>>;

/// Where the checklist is.
enum State {
    /// Waiting for a slot to come due.
    Idle,
    /// Claiming `slot` for `job` in the store (another agent may have claimed it).
    Claiming { job: Job, slot: i64, claim: JoinHandle<Result<bool, StoreError>> },
    /// The job runs.
    Running {
        job: Job,
        slot: i64,
        deadline: Instant,
        on_thread: OnThread,
        task: JoinHandle<Result<Report, StoreError>>,
    },
    /// Storing the job's outcome; its report is returned once stored.
    Recording { job: String, report: Option<Report>, record: JoinHandle<Result<Option<i64>, StoreError>> },
}

/// The checklist's schedule and where it is.
pub struct Checklist {
    /// The jobs and how missed slots are treated.
    settings: Settings,
    /// What the jobs read beside the hot store.
    ctx: Arc<Context>,
    /// The hot store, for the jobs' read-only connections.
    hot: PathBuf,
    /// Its own connection to the hot store, for claims and outcomes.
    db: Shared,
    /// The last slot each job ran for.
    last: HashMap<String, i64>,
    state: State,
    /// Set by [`Checklist::shutdown`]: a job claimed during it starts stopped.
    stopping: bool,
    /// This agent as its claims name it ([`crate::lock::this_process`]).
    me: Option<String>,
}

impl Checklist {
    /// The schedule of `config`'s jobs, with their last runs read from the store.
    pub fn new(settings: Settings, ctx: Context, hot: &Path) -> Result<Checklist, StoreError> {
        let db = Store::open(hot)?;
        let last = db.last_runs()?.into_iter().map(|r| (r.job, r.slot)).collect();
        let (ctx, hot, db) = (Arc::new(ctx), hot.to_owned(), Shared::new(db));
        let me = crate::lock::this_process();
        Ok(Checklist { settings, ctx, hot, db, last, state: State::Idle, stopping: false, me })
    }

    /// One step: sleeps until a slot is due and claims it, starts the claimed job, waits for
    /// the running job (or its timeout), or stores its outcome and returns its report.
    /// Cancel-safe: the state is in `self`.
    pub async fn step(&mut self) -> Option<Report> {
        match &mut self.state {
            State::Idle => self.look().await,
            State::Claiming { claim, .. } => {
                let claimed = claim.await;
                let State::Claiming { job, slot, .. } = std::mem::replace(&mut self.state, State::Idle) else {
                    return None;
                };
                match claimed.map_err(panicked) {
                    Ok(Ok(true)) => self.start(job, slot),
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) | Err(e) => tracing::error!(job = job.name, "cannot claim a check slot: {e}"),
                }
            }
            State::Running { .. } => self.finished().await,
            State::Recording { record, .. } => {
                let stored = record.await;
                let State::Recording { job, report, .. } = std::mem::replace(&mut self.state, State::Idle) else {
                    return None;
                };
                if let Ok(Err(e)) | Err(e) = stored.map_err(panicked) {
                    tracing::error!(job, "cannot store a check's outcome: {e}");
                }
                return report;
            }
        }
        None
    }

    /// Claims the first due slot, or sleeps until the next one is due.
    async fn look(&mut self) {
        let Some(now) = chrono::Local.timestamp_millis_opt(wall_ms()).single() else { return };
        let tolerance = LOOK_AGAIN * 2;
        for job in &self.settings.jobs {
            let last = self.last.get(&job.name).copied();
            let Some(slot) = due(&job.schedule, last, &now, self.settings.catch_up, tolerance) else { continue };
            self.last.insert(job.name.clone(), slot);
            let (name, at) = (job.name.clone(), wall_ms());
            let me = self.me.clone();
            let claim = self.db.spawn(move |db| db.claim_slot(&name, slot, at, me.as_deref()));
            self.state = State::Claiming { job: job.clone(), slot, claim };
            return;
        }
        let next = self.settings.jobs.iter().filter_map(|j| j.schedule.next_slot(&now)).min();
        let wait = next.map_or(LOOK_AGAIN, |n| {
            Duration::from_millis(u64::try_from((n - now).num_milliseconds()).unwrap_or(0)).min(LOOK_AGAIN)
        });
        tokio::time::sleep(wait).await;
    }

    /// Runs `job` on a blocking thread with a read-only connection of its own.
    fn start(&mut self, job: Job, slot: i64) {
        // A stop asked of the job before (its deadline) is not this one's.
        self.ctx.stop.store(self.stopping, std::sync::atomic::Ordering::Relaxed);
        let (ctx, todo, hot) = (self.ctx.clone(), job.clone(), self.hot.clone());
        let on_thread: OnThread = Arc::new(Mutex::new(None));
        let mine = on_thread.clone();
        let task = tokio::task::spawn_blocking(move || {
            let store = Store::open_read_only(&hot)?;
            let handle = (std::thread::current().id(), store.interrupt_handle());
            *mine.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
            run_job(&todo, &store, &ctx, slot)
        });
        self.state = State::Running { deadline: Instant::now() + job.timeout, job, slot, on_thread, task };
    }

    /// Lets the work under way finish (a job within its timeout; a load test stops at once,
    /// keeping what it measured) and returns its report.
    pub async fn shutdown(mut self) -> Option<Report> {
        self.stopping = true;
        self.ctx.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut report = None;
        while !matches!(self.state, State::Idle) {
            report = self.step().await.or(report);
        }
        report
    }

    /// Waits for the running job, or its deadline, then starts recording its outcome.
    async fn finished(&mut self) {
        let State::Running { deadline, on_thread, task, .. } = &mut self.state else { return };
        let result = match tokio::time::timeout_at(*deadline, &mut *task).await {
            Ok(done) => Some(done),
            Err(_) => {
                // Stop its queries (and a load test) and wait for the thread, so the next job
                // never overlaps it.
                self.ctx.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                // An interrupt stops the query running now; a job may start another, so
                // keep interrupting until it gives up.
                loop {
                    if let Some((thread, sqlite)) = &*on_thread.lock().unwrap_or_else(PoisonError::into_inner) {
                        sqlite.interrupt();
                        crate::archive::interrupt_thread(*thread);
                    }
                    if tokio::time::timeout(INTERRUPT_AGAIN, &mut *task).await.is_ok() {
                        break;
                    }
                }
                None
            }
        };
        let State::Running { job, slot, .. } = std::mem::replace(&mut self.state, State::Idle) else { return };
        let (outcome, report) = match result {
            None => (format!("timed out after {}", humantime::format_duration(job.timeout)), None),
            Some(Err(e)) => (format!("failed: {e}"), None),
            Some(Ok(Err(e))) => (format!("failed: {e}"), None),
            Some(Ok(Ok(report))) => {
                let outcome = if report.findings.is_empty() { "ok" } else { "findings" };
                (outcome.to_owned(), Some(report))
            }
        };
        if report.is_none() {
            tracing::warn!(job = job.name, "check {outcome}");
        }
        let (name, stored, at) = (job.name.clone(), report.clone(), wall_ms());
        let record = self.db.spawn(move |db| db.finish_run(&name, slot, &outcome, stored.as_ref(), at));
        self.state = State::Recording { job: job.name, report, record };
    }
}

/// Re-raises the panic of a store call here (a started blocking task is never cancelled).
fn panicked(e: JoinError) -> StoreError {
    std::panic::resume_unwind(e.into_panic())
}
