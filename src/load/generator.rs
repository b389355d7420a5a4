//! Runs a test on a thread of its own (a current-thread runtime, so its CPU is one core's
//! and measurable): users that each send the next request when the last is answered
//! (closed model), or requests sent on a schedule whatever the answers do (open model),
//! where a request's latency counts from when it was meant to leave, so a slow target
//! cannot hide its slowness by slowing the sender (coordinated omission).
//!
//! The controller looks every [`TICK`]: it ramps, ends steps (a stress step that fails ends
//! the run), applies `abort_on`, reports progress each second and stops at once when asked.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::record::{Outcome, Recorder, Summary};
use super::schedule;
use super::wire::{Conn, Wire};
use super::{Loadtest, Model, Shape, Step};
use crate::probe::{Answer, Failure, read_body};

/// How often the controller looks.
const TICK: Duration = Duration::from_millis(10);

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// Every step ran to its end.
    Complete,
    /// It sent `max_requests`.
    MaxRequests,
    /// A stress step failed: its index and why.
    StepFailed(usize, String),
    /// `abort_on` held: why.
    Aborted(String),
    /// Asked to stop (SIGTERM, Ctrl-C, the agent's shutdown): what was measured is kept.
    Stopped,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// Each step that ran, the last one possibly cut short.
    pub steps: Vec<Summary>,
    /// The whole run.
    pub total: Summary,
    /// How it ended.
    pub end: End,
    /// The generator thread's CPU time over the run, as a share of one core.
    pub generator_cpu: f64,
    /// The host's CPU use over the run, in percent of all cores.
    pub host_cpu: f64,
}

/// The line a user watches while a run goes on.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Since the run started.
    pub elapsed: Duration,
    /// The planned length.
    pub total: Duration,
    /// The current level (users or rps).
    pub level: u32,
    /// Requests answered in the last second.
    pub rps: f64,
    /// The current step's 95th percentile latency.
    pub p95: Duration,
    /// Requests so far.
    pub requests: u64,
    /// Failed requests so far.
    pub errors: u64,
}

/// What the senders and the controller share.
#[derive(Default)]
struct Shared {
    step: Recorder,
    /// (second of the run, requests, errors), the newest last, for `abort_on` and progress.
    seconds: VecDeque<(u64, u64, u64)>,
    requests: u64,
    errors: u64,
}

impl Shared {
    fn record(&mut self, outcome: &Outcome, second: u64) {
        self.step.record(outcome);
        let failed = u64::from(outcome.error.is_some());
        self.requests += 1;
        self.errors += failed;
        match self.seconds.back_mut() {
            Some((s, n, e)) if *s == second => {
                *n += 1;
                *e += failed;
            }
            _ => self.seconds.push_back((second, 1, failed)),
        }
        while self.seconds.len() > 600 {
            self.seconds.pop_front();
        }
    }

    /// The progress line's figures at `second` of the run.
    fn progress(&self, second: u64, elapsed: Duration, total: Duration, level: u32) -> Progress {
        #[allow(clippy::cast_precision_loss)]
        let rps = self.last(second, 1).0 as f64;
        Progress { elapsed, total, level, rps, p95: self.step.p95(), requests: self.requests, errors: self.errors }
    }

    /// Requests and errors in the `n` whole seconds before `now_second`.
    fn last(&self, now_second: u64, n: u64) -> (u64, u64) {
        let from = now_second.saturating_sub(n);
        self.seconds
            .iter()
            .filter(|(s, _, _)| *s >= from && *s < now_second)
            .fold((0, 0), |a, x| (a.0 + x.1, a.1 + x.2))
    }
}

/// Everything a sender needs.
struct Sender {
    client: reqwest::Client,
    request: reqwest::Request,
    /// The closed model's own connections, for a plain-http target.
    wire: Option<Wire>,
    test: Loadtest,
    shared: Mutex<Shared>,
    begun: Instant,
    /// Set when senders must send no more.
    halt: AtomicBool,
    /// Requests started, against `max_requests`.
    started: AtomicU64,
}

impl Sender {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether another request may start (counting it).
    fn may_send(&self) -> bool {
        !self.halt.load(Ordering::Relaxed) && self.started.fetch_add(1, Ordering::Relaxed) < self.test.max_requests
    }

    /// Sends one request through the pooled client and records it, its latency counted
    /// from `since`.
    async fn send(&self, since: Instant) {
        let outcome = match self.request.try_clone() {
            Some(request) => one(&self.client, request, &self.test, since).await,
            None => Outcome { latency: None, ttfb: None, error: Some("body") },
        };
        self.record(&outcome);
    }

    fn record(&self, outcome: &Outcome) {
        let second = self.begun.elapsed().as_secs();
        self.lock().record(outcome, second);
    }
}

/// One request: sent, its body read to the end, judged by status and conditions.
async fn one(client: &reqwest::Client, request: reqwest::Request, test: &Loadtest, since: Instant) -> Outcome {
    let failed = |e: &reqwest::Error| Failure::from_http(e).reason.as_str();
    let mut response = match client.execute(request).await {
        Ok(r) => r,
        Err(e) => return Outcome { latency: None, ttfb: None, error: Some(failed(&e)) },
    };
    let ttfb = since.elapsed();
    let status = response.status().as_u16();
    let (body, size) = match read_body(&mut response, !test.request.conditions.is_empty()).await {
        Ok(read) => read,
        Err(f) => return Outcome { latency: None, ttfb: Some(ttfb), error: Some(f.reason.as_str()) },
    };
    judged(test, since, ttfb, status, size, &body)
}

/// A whole answer judged by its status and the test's conditions.
pub(super) fn judged(test: &Loadtest, since: Instant, ttfb: Duration, status: u16, size: u64, body: &[u8]) -> Outcome {
    let latency = since.elapsed();
    let error = if !test.request.expects(status) {
        Some("status")
    } else if !test.request.conditions.is_empty() {
        let answer = Answer {
            time: latency,
            ttfb: Some(ttfb),
            status: Some(status),
            body_size: Some(size),
            body,
            ..Answer::default()
        };
        test.request.conditions.iter().any(|c| !c.holds(&answer)).then_some("condition")
    } else {
        None
    };
    Outcome { latency: Some(latency), ttfb: Some(ttfb), error }
}

/// Runs `test` now on this thread; `stop` ends it at once (the result is kept, partial);
/// `progress` is called each second. An error is a client that cannot be built.
pub fn run(test: &Loadtest, stop: &AtomicBool, progress: impl FnMut(&Progress)) -> Result<Run, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the load generator: {e}"))?;
    let client = crate::probe::load_client(test.request.ca_file.as_deref())?;
    let request = test
        .request
        .request(&client)
        .and_then(|r| r.timeout(test.timeout).build().map_err(|e| Failure::from_http(&e)))
        .map_err(|f| format!("cannot build the request: {}", f.detail))?;
    // The host's CPU over the run; unknown (0) where sysinfo cannot read it.
    let mut host = sysinfo::System::new().ok();
    if let Some(h) = host.as_mut() {
        h.refresh_cpu_usage();
    }
    let cpu_before = thread_cpu();
    let begun = std::time::Instant::now();
    let (steps, total, end) = runtime.block_on(drive(test, client, request, stop, progress));
    let wall = begun.elapsed().as_secs_f64().max(1e-3);
    let generator_cpu = (thread_cpu() - cpu_before).as_secs_f64() / wall;
    let host_cpu = host.map_or(0.0, |mut h| {
        h.refresh_cpu_usage();
        f64::from(h.global_cpu_usage())
    });
    Ok(Run { steps, total, end, generator_cpu, host_cpu })
}

/// The run itself: starts senders, ends steps, stops; returns the steps' summaries, the
/// total and how it ended.
async fn drive(
    test: &Loadtest,
    client: reqwest::Client,
    request: reqwest::Request,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Progress),
) -> (Vec<Summary>, Summary, End) {
    let steps = test.shape.steps();
    let model = test.shape.model();
    let begun = Instant::now();
    let wire = match model {
        // Unresolvable: the pooled client's requests fail and say why.
        Model::Closed => Wire::new(&request).await.ok().flatten(),
        Model::Open => None,
    };
    let sender = Arc::new(Sender {
        client,
        request,
        wire,
        test: test.clone(),
        shared: Mutex::default(),
        begun,
        halt: AtomicBool::new(false),
        started: AtomicU64::new(0),
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(test.max_in_flight));
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    if model == Model::Open {
        tasks.push(tokio::spawn(open_sender(sender.clone(), steps.clone(), slots.clone())));
    }
    let (mut done, mut total) = (Vec::new(), Recorder::default());
    let (mut step_index, mut step_begun, mut from, mut reported) = (0, begun, 0, 0);
    let planned = test.shape.duration();
    let end = loop {
        tokio::time::sleep(TICK).await;
        let now = Instant::now();
        let step = &steps[step_index];
        let into = now - step_begun;
        if model == Model::Closed {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let want = schedule::level_at(step, from, into).ceil() as usize;
            while tasks.len() < want {
                tasks.push(tokio::spawn(user(sender.clone())));
            }
        }
        let second = (now - begun).as_secs();
        if second > reported {
            reported = second;
            progress(&sender.lock().progress(second, now - begun, planned, step.level));
        }
        if stop.load(Ordering::Relaxed) {
            break End::Stopped;
        }
        if let Some(why) = test.abort_on.and_then(|a| abort(&sender.lock(), a, now - begun)) {
            break End::Aborted(why);
        }
        if sender.started.load(Ordering::Relaxed) >= test.max_requests {
            break End::MaxRequests;
        }
        if into < step.duration {
            continue;
        }
        if step_index + 1 == steps.len() {
            break End::Complete;
        }
        let summary = finish_step(&sender, &mut total, (step, from), into);
        let failed = step_failure(&test.shape, &summary);
        done.push(summary);
        if let Some(why) = failed {
            break End::StepFailed(step_index, why);
        }
        (step_index, step_begun, from) = (step_index + 1, now, step.level);
    };
    sender.halt.store(true, Ordering::Relaxed);
    if matches!(end, End::Complete | End::MaxRequests) {
        // The requests under way are answered (or time out) and counted in the last step.
        let wait = test.timeout + Duration::from_secs(1);
        let _ = tokio::time::timeout(wait, async {
            for task in &mut tasks {
                let _ = task.await;
            }
            let _ = slots.acquire_many(u32::try_from(test.max_in_flight).unwrap_or(u32::MAX)).await;
        })
        .await;
    }
    for task in &tasks {
        task.abort();
    }
    // Requests still under way stop here: the runtime is dropped after this returns.
    let step = &steps[step_index];
    if !matches!(end, End::StepFailed(..)) {
        done.push(finish_step(&sender, &mut total, (step, from), Instant::now() - step_begun));
    }
    let seconds: f64 = done.iter().map(|s| s.seconds).sum();
    let intended = (model == Model::Open)
        .then(|| done.iter().filter_map(|s| s.intended_rps.map(|r| r * s.seconds)).sum::<f64>() / seconds.max(1e-9));
    let last_level = done.last().map_or(step.level, |s| s.level);
    (done, total.summary(last_level, seconds, intended), end)
}

/// Closes the current step (reached from level `from`) after `took`: its summary, its counts
/// added to the total, a fresh recorder.
fn finish_step(sender: &Sender, total: &mut Recorder, (step, from): (&Step, u32), took: Duration) -> Summary {
    let recorder = std::mem::take(&mut sender.lock().step);
    total.merge(&recorder);
    let took = took.min(step.duration).max(Duration::from_millis(1));
    let seconds = took.as_secs_f64();
    // The open model's intended rate: the schedule's requests over the time, whether or not
    // the sender kept up with them.
    let intended = (sender.test.shape.model() == Model::Open).then(|| schedule::planned(step, from, took) / seconds);
    recorder.summary(step.level, seconds, intended)
}

/// Why a stress step failed, if it did.
fn step_failure(shape: &Shape, s: &Summary) -> Option<String> {
    let Shape::Stress { failure_threshold, max_p95, .. } = shape else { return None };
    if s.error_rate() > *failure_threshold {
        return Some(format!("error rate {:.1}% > {:.1}%", s.error_rate() * 100.0, failure_threshold * 100.0));
    }
    let limit = (*max_p95)?;
    (s.latency.p95 > limit.as_secs_f64())
        .then(|| format!("p95 {} > {}", secs(s.latency.p95), secs(limit.as_secs_f64())))
}

/// Why `abort_on` holds at `elapsed`, if it does.
fn abort(s: &Shared, a: super::AbortOn, elapsed: Duration) -> Option<String> {
    let window = a.window.as_secs().max(1);
    if elapsed.as_secs() < window {
        return None;
    }
    let (requests, errors) = s.last(elapsed.as_secs(), window);
    #[allow(clippy::cast_precision_loss)]
    let rate = errors as f64 / requests.max(1) as f64;
    (requests > 0 && rate > a.error_rate)
        .then(|| format!("error rate {:.1}% > {:.1}% for {window}s", rate * 100.0, a.error_rate * 100.0))
}

/// Seconds as people read a latency, to about three digits: `78µs`, `1.23ms`, `12.3ms`, `1.20s`.
pub fn secs(s: f64) -> String {
    match s {
        s if s < 0.001 => format!("{:.0}µs", s * 1e6),
        s if s < 0.01 => format!("{:.2}ms", s * 1e3),
        s if s < 1.0 => format!("{:.1}ms", s * 1e3),
        s => format!("{s:.2}s"),
    }
}

/// A closed-model user: the next request when the last is answered, on a connection of its
/// own where the target is plain http.
async fn user(sender: Arc<Sender>) {
    let mut conn = Conn::default();
    while sender.may_send() {
        let since = Instant::now();
        match &sender.wire {
            Some(wire) => {
                let outcome = wire.send(&mut conn, &sender.test, since).await;
                sender.record(&outcome);
            }
            None => sender.send(since).await,
        }
    }
}

/// The open model's sender: each request leaves at its intended time (late ones at once,
/// so the rate holds), at most `max_in_flight` under way. Request `n` of a step leaves where
/// the schedule's rate, added up from the step's start, reaches `n` (ramps included).
async fn open_sender(sender: Arc<Sender>, steps: Vec<Step>, slots: Arc<tokio::sync::Semaphore>) {
    let (mut n, mut step_index, mut step_begun, mut from) = (0.0_f64, 0, 0.0_f64, 0);
    loop {
        let Some(step) = steps.get(step_index) else { return };
        let Some(at) = schedule::nth_send(step, from, n) else {
            // What this step held is sent; the fraction of a request left over goes on.
            n -= schedule::planned(step, from, step.duration);
            (step_index, step_begun, from) = (step_index + 1, step_begun + step.duration.as_secs_f64(), step.level);
            continue;
        };
        n += 1.0;
        let intended = sender.begun + Duration::from_secs_f64(step_begun + at);
        tokio::time::sleep_until(intended).await;
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        if !sender.may_send() {
            return;
        }
        let sender = sender.clone();
        tokio::spawn(async move {
            sender.send(intended).await;
            drop(slot);
        });
    }
}

/// CPU time this thread has used.
#[allow(unsafe_code)] // clock_gettime(2), which std does not wrap.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec to write; the clock id is a constant the OS knows.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut t) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}
