//! The API's charts: one series over a range (`/api/points`), and the top processes over a
//! range (`/api/processes`), from the hot store and the archive joined.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::api::{bad, band, read, series_json};
use super::query::{Params, Range};
use crate::archive::{Archive, ArchiveError};
use crate::metrics::{PROC_CPU, PROC_RSS, SeriesKey};
use crate::store::{Group, Selector, Store};
use crate::trend::{Point, TrendError};
use crate::units::Shift;

type Shared = State<Arc<super::State>>;

/// `GET /api/points?metric=M&label=K=V&since=1h&until=..&step=..`: one series over a range
/// from both stores, each point `[t, min, avg, max, count]`.
pub async fn points(State(s): Shared, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), &["metric", "label", "since", "until", "step"]) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let now = (s.ctx.now)() / 1000;
    let (metric, labels, range) =
        match (p.metric("cpu.usage_percent"), p.labels(), Range::from(&p, now, s.ctx.interval)) {
            (Ok(m), Ok(l), Ok(r)) => (m, l, r),
            (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return bad(e),
        };
    let archive = s.ctx.archive.as_ref().map(|(path, _)| path.clone());
    let (rules, cores, newest) = (s.ctx.rules.clone(), s.ctx.cores, s.ctx.live.newest());
    read(&s, move |store| {
        let sel = Selector { metric: metric.name.to_owned(), labels };
        let (archive, note) = open_archive(store, archive.as_deref(), range.since)?;
        crate::trend::one_series(Some(store), archive.as_ref(), &sel)?;
        let (since, until, step) = (range.since, range.until, range.step);
        let points = crate::trend::trends(
            Some(store),
            archive.as_ref(),
            &sel,
            Group::All,
            (since, until),
            (step, &shift(step, since, until)),
        )?
        .remove("")
        .unwrap_or_default();
        let last = points.last().map_or(0.0, |p| p.avg);
        let key = SeriesKey::labelled(metric, sel.labels);
        let mut out = series_json(&key);
        out["since"] = json!(range.since);
        out["until"] = json!(range.until);
        out["step"] = json!(range.step);
        out["points"] = rows(&points);
        out["band"] = band(&rules, cores, &key, last, &newest);
        out["note"] = json!(note);
        Ok(out)
    })
    .await
}

/// Points as the API sends them: `[t, min, mean, max, count]` each.
fn rows(points: &[Point]) -> Value {
    points.iter().map(|p| json!([p.bucket, p.min, p.avg, p.max, p.count])).collect()
}

/// Process names a chart shows at most: more lines than this are not read.
const PROCESS_LINES: usize = 8;

/// `GET /api/processes?metric=process.cpu_percent&since=1h[&until=..][&step=..]`: the top
/// processes over a range, one line per process name (all its pids together), the names
/// seen longest in the range first.
pub async fn processes(State(s): Shared, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), &["metric", "since", "until", "step"]) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let now = (s.ctx.now)() / 1000;
    let (metric, range) = match (p.metric(PROC_CPU.name), Range::from(&p, now, s.ctx.interval)) {
        (Ok(m), Ok(r)) => (m, r),
        (Err(e), _) | (_, Err(e)) => return bad(e),
    };
    if ![PROC_CPU.name, PROC_RSS.name].contains(&metric.name) {
        return bad(format!("metric {:?}: this view takes {} or {}", metric.name, PROC_CPU.name, PROC_RSS.name));
    }
    let archive = s.ctx.archive.as_ref().map(|(path, _)| path.clone());
    read(&s, move |store| {
        let names: Vec<String> = crate::checks::daily::process_names(&store.series()?, range.since, range.until)
            .into_iter()
            .take(PROCESS_LINES)
            .map(|(name, _)| name)
            .collect();
        let (archive, note) = open_archive(store, archive.as_deref(), range.since)?;
        let sel = Selector { metric: metric.name.to_owned(), labels: Vec::new() };
        let group = Group::Label("name", &names);
        let by = crate::trend::trends(
            Some(store),
            archive.as_ref(),
            &sel,
            group,
            (range.since, range.until),
            (range.step, &shift(range.step, range.since, range.until)),
        )?;
        let lines: Vec<Value> = names
            .iter()
            .map(|name| json!({ "name": name, "points": rows(by.get(name).map(Vec::as_slice).unwrap_or_default()) }))
            .collect();
        Ok(json!({ "metric": metric.name, "unit": metric.unit, "since": range.since, "until": range.until,
                   "step": range.step, "processes": lines, "note": note }))
    })
    .await
}

/// The archive, if the range reaches below what the hot store holds; a note instead if it
/// is busy (a rollup, an analyst holding it).
pub(super) fn open_archive(
    store: &Store,
    path: Option<&std::path::Path>,
    since: i64,
) -> Result<(Option<Archive>, Option<String>), TrendError> {
    let Some(path) = path else { return Ok((None, None)) };
    if store.oldest_ts()?.is_some_and(|oldest| since >= oldest) {
        return Ok((None, None));
    }
    match Archive::open_read(path) {
        Ok(a) => Ok((Some(a), None)),
        Err(ArchiveError::Missing(_)) => Ok((None, None)),
        Err(e @ ArchiveError::Locked(_)) => Ok((None, Some(format!("older points are missing: {e}")))),
        Err(e) => Err(e.into()),
    }
}

/// Buckets of a whole number of days are local days, as the page shows them (the host's
/// zone, each starting at local midnight across daylight-saving changes too); shorter ones
/// stay aligned to UTC, which is the same hours in any zone a whole number of hours off it.
fn shift(step: i64, since: i64, until: i64) -> Shift {
    if step % 86_400 == 0 { Shift::local_days(since, until) } else { Shift::fixed(0) }
}
