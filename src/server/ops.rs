//! `/health` and `/metrics`: what a supervisor and a fleet's Prometheus ask. `/health`
//! reads only the agent's memory; `/metrics` adds small reads of the store (the outbox's
//! backlog per channel, the archive's watermark) at most once a flush interval.

use std::sync::{Arc, PoisonError};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::exposition::{AgentFigures, Format, render};
use super::live::Snapshot;

/// How many sampling (or flush) intervals may pass without a tick (or a write) before
/// the agent is unhealthy: one late tick is noise, three is a stall.
const LATE: i64 = 3;

/// What is wrong with the agent at `now_ms`, if anything.
fn problems(s: &Snapshot, now_ms: i64, interval_ms: i64, flush_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    let up_ms = now_ms - s.started_ms;
    let tick_age = now_ms - s.last_tick_ms.max(s.started_ms);
    if tick_age > LATE * interval_ms {
        out.push(format!("no system tick for {} s (sampling every {} s)", tick_age / 1000, interval_ms / 1000));
    }
    if s.failing {
        out.push(format!("the hot store refuses writes: {} samples held in memory", s.pending));
    } else if up_ms > LATE * flush_ms && now_ms - s.last_write_ms.max(s.started_ms) > LATE * flush_ms {
        let since = now_ms - s.last_write_ms.max(s.started_ms);
        out.push(format!("no write for {} s (writing every {} s)", since / 1000, flush_ms / 1000));
    }
    out
}

/// `GET /health`: 200 when ticks are recent and the writer keeps up, else 503 with why.
pub async fn health(State(s): State<Arc<super::State>>) -> Response {
    let (snap, now) = (s.ctx.live.snapshot(), (s.ctx.now)());
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let reasons = problems(&snap, now, ms(s.ctx.interval), ms(s.ctx.flush_interval));
    let status = if reasons.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if reasons.is_empty() { "ok" } else { "unhealthy" },
        "reasons": reasons, "pid": s.pid, "version": env!("CARGO_PKG_VERSION"),
        "last_tick_ms": snap.last_tick_ms, "last_write_ms": snap.last_write_ms, "pending_samples": snap.pending,
    });
    super::api::json(status, &body)
}

/// What `/metrics` reads from the store, kept for a flush interval: the store changes when
/// the writer writes, and a scrape every second need not ask it every second.
#[derive(Debug, Clone, Default)]
pub(super) struct StoreFigures {
    /// Wall-clock ms when they were read.
    at_ms: i64,
    /// Notices waiting per channel.
    outbox: Vec<(String, u64)>,
    /// Seconds of history due for the archive that it lacks, if it is on.
    rollup_backlog: Option<i64>,
}

/// The store's figures at `now_ms`: the kept ones if fresh, else read again.
async fn store_figures(s: &super::State, now_ms: i64) -> StoreFigures {
    let fresh = i64::try_from(s.ctx.flush_interval.as_millis()).unwrap_or(i64::MAX);
    let kept = s.store_figures.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if let Some(f) = kept.filter(|f| (0..fresh).contains(&(now_ms - f.at_ms))) {
        return f;
    }
    let policy = s.ctx.archive.as_ref().map(|(_, p)| p.clone());
    let read = s
        .ops_store
        .call(move |store| {
            let outbox = store.outbox_pending()?.into_iter().map(|w| (w.channel, w.count.unsigned_abs())).collect();
            let rollup_backlog = match policy {
                Some(p) => {
                    let done = store.archived_until()?.or(store.oldest_ts()?);
                    Some(done.map_or(0, |d| (p.cutoff(now_ms / 1000) - d).max(0)))
                }
                None => None,
            };
            Ok(StoreFigures { at_ms: now_ms, outbox, rollup_backlog })
        })
        .await;
    match read {
        Ok(f) => {
            *s.store_figures.lock().unwrap_or_else(PoisonError::into_inner) = Some(f.clone());
            f
        }
        Err(e) => {
            tracing::warn!("/metrics: the store did not answer, serving the agent's memory only: {e}");
            StoreFigures::default()
        }
    }
}

/// `GET /metrics`: the exposition, in the format the `Accept` header asks for.
pub async fn metrics(State(s): State<Arc<super::State>>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()));
    let now_ms = (s.ctx.now)();
    let stored = store_figures(&s, now_ms).await;
    let figures = AgentFigures {
        snapshot: Some(s.ctx.live.snapshot()),
        now_ms,
        outbox: stored.outbox,
        rollup_backlog: stored.rollup_backlog,
    };
    let body = render(&s.ctx.live.newest(), &figures, format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(last_tick_ms: i64, last_write_ms: i64, failing: bool) -> Snapshot {
        Snapshot {
            started_ms: 0,
            last_tick_ms,
            last_write_ms,
            ticks_skipped: 0,
            samples_written: 0,
            write_errors: 0,
            failing,
            pending: 7,
        }
    }

    #[test]
    fn a_stalled_tick_a_refused_write_and_a_silent_writer_are_each_named() {
        assert!(problems(&snap(99_000, 90_000, false), 100_000, 5_000, 15_000).is_empty());
        let stalled = problems(&snap(60_000, 90_000, false), 100_000, 5_000, 15_000);
        assert_eq!(stalled, ["no system tick for 40 s (sampling every 5 s)"]);
        let full = problems(&snap(99_000, 90_000, true), 100_000, 5_000, 15_000);
        assert_eq!(full, ["the hot store refuses writes: 7 samples held in memory"]);
        let silent = problems(&snap(99_000, 10_000, false), 100_000, 5_000, 15_000);
        assert_eq!(silent, ["no write for 90 s (writing every 15 s)"]);
        assert!(problems(&snap(0, 0, false), 2_000, 5_000, 15_000).is_empty(), "just started");
    }
}
