//! The JSON API behind the page (docs/API.md). Every parameter is checked before anything
//! is read: a bad one is a 400 that says what is accepted; a store that cannot answer is a
//! 503 that says why. Nothing here writes.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::live::Newest;
use super::query::Params;
use crate::metrics::SeriesKey;
use crate::rules::{Phase, Rule, Severity};
use crate::store::Store;
use crate::trend::TrendError;

type Shared = State<Arc<super::State>>;

/// A JSON answer. Written here rather than with axum's `json` feature, which would turn on
/// serde_json's `raw_value` and so rebuild DuckDB's build script and C++ in every profile.
pub(super) fn json(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A 400 with the reason.
pub(super) fn bad(why: impl Into<String>) -> Response {
    json(StatusCode::BAD_REQUEST, &json!({ "error": why.into() }))
}

/// A 503: the stores could not answer (locked past the busy timeout, a disk error).
fn unavailable(why: impl std::fmt::Display) -> Response {
    json(StatusCode::SERVICE_UNAVAILABLE, &json!({ "error": why.to_string() }))
}

/// Runs `f` on the blocking pool with the server's hot-store connection.
pub(super) async fn read<F>(s: &super::State, f: F) -> Response
where
    F: FnOnce(&Store) -> Result<Value, TrendError> + Send + 'static,
{
    match s.store.call(move |store| Ok(f(store))).await {
        Ok(Ok(v)) => json(StatusCode::OK, &v),
        Ok(Err(e)) => match e.as_parameters() {
            Some(why) => bad(why),
            None => unavailable(e),
        },
        Err(e) => unavailable(e),
    }
}

/// The band a value of `key` is in by the first rule on its own values that selects it and
/// applies now: a guarded rule (battery low *while discharging*) asks `newest` for the
/// guard's series.
pub(super) fn band(rules: &[Rule], cores: usize, key: &SeriesKey, value: f64, newest: &[(SeriesKey, Newest)]) -> Value {
    let applies = |r: &&Rule| {
        r.guard.as_ref().is_none_or(|g| {
            let guard = SeriesKey { metric: g.metric, labels: key.labels.clone() };
            newest.iter().any(|(k, n)| *k == guard && n.value == g.equals)
        })
    };
    let Some(rule) = rules.iter().filter(|r| r.condition.on_values() && r.selects(key)).find(applies) else {
        return Value::Null;
    };
    let v = value / rule.divisor(cores);
    let level = rule.level(|t| rule.direction.beyond(v, t)).map_or("ok", Severity::as_str);
    let scaled = |t: Option<f64>| t.map(|t| t * rule.divisor(cores));
    json!({
        "rule": rule.name, "level": level, "direction": rule.direction.as_str(),
        "warning": scaled(rule.warning), "critical": scaled(rule.critical),
    })
}

/// A series' identity as the API shows it: its name with labels, metric, labels, unit.
pub(super) fn series_json(key: &SeriesKey) -> Value {
    let labels: serde_json::Map<String, Value> = key.labels.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    json!({ "series": key.to_string(), "metric": key.metric.name, "labels": labels, "unit": key.metric.unit })
}

/// `GET /api/status`: the host, the agent, and the newest value of every series with its
/// band, from the agent's memory; alert counts from the store.
pub async fn status(State(s): Shared) -> Response {
    let (live, snap) = (s.ctx.live.newest(), s.ctx.live.snapshot());
    let series: Vec<Value> = live
        .iter()
        .map(|(key, n)| {
            let mut v = series_json(key);
            v["value"] = json!(n.value);
            v["ts"] = json!(n.ts);
            v["band"] = band(&s.ctx.rules, s.ctx.cores, key, n.value, &live);
            v
        })
        .collect();
    let head = json!({
        "host": s.ctx.host, "version": env!("CARGO_PKG_VERSION"), "pid": s.pid,
        "started_ms": snap.started_ms, "now_ms": (s.ctx.now)(), "interval_s": s.ctx.interval.as_secs_f64(),
        "cores": s.ctx.cores,
        "probes": s.ctx.probes.iter().map(|p| json!({ "name": p.name, "kind": p.target.kind() })).collect::<Vec<_>>(),
    });
    read(&s, move |store| {
        let alerts = store.alerts()?;
        let firing = alerts.iter().filter(|t| t.phase == Phase::Firing);
        let mut out = head;
        out["alerts"] = json!({
            "firing": firing.clone().count(),
            "critical": firing.filter(|t| t.severity == Severity::Critical).count(),
            "pending": alerts.iter().filter(|t| t.phase == Phase::Pending).count(),
        });
        out["series"] = Value::Array(series);
        Ok(out)
    })
    .await
}

/// `GET /api/series`: the hot store's catalogue.
pub async fn series(State(s): Shared) -> Response {
    read(&s, |store| {
        let all = store.series()?;
        Ok(Value::Array(
            all.iter()
                .map(|i| {
                    let labels: Value = serde_json::from_str(&i.labels).unwrap_or(Value::Null);
                    json!({ "metric": i.metric, "labels": labels, "unit": i.unit,
                            "first_seen": i.first_seen, "last_seen": i.last_seen })
                })
                .collect(),
        ))
    })
    .await
}

/// `GET /api/alerts?since=7d&limit=50`: firing and pending alerts, and announced changes.
pub async fn alerts(State(s): Shared, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), &["since", "limit"]) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let now_ms = (s.ctx.now)();
    let (since, limit) = match (p.when("since", "7d", now_ms / 1000), p.number("limit", 50, 1000)) {
        (Ok(since), Ok(limit)) => (since, limit),
        (Err(e), _) | (_, Err(e)) => return bad(e),
    };
    read(&s, move |store| {
        let active: Vec<Value> = store
            .alerts()?
            .iter()
            .map(|t| {
                json!({ "rule": t.rule, "series": t.key.to_string(), "phase": t.phase.as_str(),
                        "severity": t.severity.as_str(), "since_ms": t.since_ms, "value": t.value,
                        "threshold": t.threshold })
            })
            .collect();
        let history: Vec<Value> = store
            .alert_history(since.saturating_mul(1000), limit)?
            .iter()
            .map(|e| {
                json!({ "at_ms": e.at_ms, "rule": e.rule, "series": e.series, "event": e.event.as_str(),
                        "severity": e.severity.as_str(), "value": e.value, "threshold": e.threshold })
            })
            .collect();
        Ok(json!({ "active": active, "history": history }))
    })
    .await
}

/// `GET /api/probes`: each probe at a glance (as `hostwatch probes`).
pub async fn probes(State(s): Shared) -> Response {
    let probes = s.ctx.probes.clone();
    let archive = s.ctx.archive.as_ref().map(|(path, _)| path.clone());
    let now = (s.ctx.now)() / 1000;
    read(&s, move |store| {
        let (archive, _) = super::charts::open_archive(store, archive.as_deref(), now - 30 * 86_400)?;
        let all = crate::checks::probes::overview((Some(store), archive.as_ref()), &probes, now)?;
        Ok(Value::Array(
            all.iter()
                .map(|o| {
                    let last = o.last.as_ref().map(|l| {
                        json!({ "at_ms": l.last.at_ms, "reason": l.last.reason, "detail": l.last.detail })
                    });
                    json!({ "name": o.name, "kind": o.kind, "target": o.target, "enabled": o.enabled,
                            "last": last, "p50": o.p50, "p95": o.p95, "error_rate": o.error_rate,
                            "availability": { "24h": o.availability[0], "7d": o.availability[1], "30d": o.availability[2] } })
                })
                .collect(),
        ))
    })
    .await
}

/// `GET /api/reports`: the latest report of each checklist job, in Markdown.
pub async fn reports(State(s): Shared) -> Response {
    read(&s, |store| {
        let mut out = Vec::new();
        for run in store.last_runs()? {
            let report = run.report_id.map(|id| store.report(id)).transpose()?.flatten();
            out.push(json!({ "job": run.job, "slot": run.slot, "outcome": run.outcome,
                "report": report.map(|r| json!({ "id": r.id, "created_ms": r.created_ms, "level": r.level,
                                                 "markdown": r.markdown })) }));
        }
        Ok(Value::Array(out))
    })
    .await
}

/// Any method but GET on a route: nothing here writes.
pub async fn read_only() -> Response {
    json(StatusCode::METHOD_NOT_ALLOWED, &json!({ "error": "this server is read-only: only GET is answered" }))
}

/// Any other path.
pub async fn not_found() -> Response {
    json(StatusCode::NOT_FOUND, &json!({ "error": "no such page: see docs/API.md" }))
}
