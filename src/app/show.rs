//! Printing the hot store for people: `hostwatch status` and `hostwatch series`.

use std::fmt::Write as _;

use anyhow::Result;

use super::listing::{Field, Listing};
use crate::cli::Format;
use crate::config::Config;
use crate::rules::{Phase, Severity};
use crate::store::{Run, SeriesInfo, Store, Waiting};

pub use crate::units::local;

fn span(secs: i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs())).to_string()
}

pub use crate::units::bytes;

/// A value in its series' unit, for people.
pub fn value(v: f64, unit: &str) -> String {
    match unit {
        "bytes" => bytes(v),
        "bytes/s" => format!("{}/s", bytes(v)),
        "s" => span(v as i64),
        "" => format!("{v}"),
        _ => format!("{v} {unit}"),
    }
}

/// `metric{k="v",...}` from a catalogue entry.
fn series_name(s: &SeriesInfo) -> String {
    let labels: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&s.labels).unwrap_or_default();
    if labels.is_empty() {
        return s.metric.clone();
    }
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}{{{}}}", s.metric, parts.join(","))
}

/// `rows` as left-aligned columns under `header`.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// What the last agent run looks like at `now`: running (`holder`, the pid holding the
/// data dir's agent lock, is the truth), stopped, or dead without a clean stop.
pub fn agent_state(run: Option<&Run>, now: i64, holder: Option<&str>) -> String {
    let Some(r) = run else {
        return holder.map_or_else(|| "never run".to_owned(), |pid| format!("starting, pid {pid}"));
    };
    if let Some(stop) = r.stopped_at.filter(|_| holder.is_none()) {
        return format!("stopped at {} (ran {})", local(stop), span(stop - r.started_at));
    }
    let last = r.last_flush.unwrap_or(r.started_at);
    if holder.is_none() {
        return format!(
            "not running: pid {} started {}, last wrote {} ago and did not stop cleanly (killed, crashed, or the host slept)",
            r.pid,
            local(r.started_at),
            span(now - last)
        );
    }
    let write = r.last_flush.map_or_else(|| "none yet".to_owned(), |t| format!("{} ago", span(now - t)));
    format!(
        "running since {} (up {}), pid {}, version {}, last write {write}",
        local(r.started_at),
        span(now - r.started_at),
        r.pid,
        r.version
    )
}

/// `hostwatch status`: as JSON, one object (`agent`, `store`, `samples`, `last_gap`,
/// `archive`, `alerts`, `dashboard`, `series`); as CSV, the series.
pub fn status(store: &Store, config: &Config, format: Format) -> Result<()> {
    let st = store.status()?;
    let now = crate::daemon::wall_ms() / 1000;
    let holder = store.path().parent().and_then(crate::lock::holder);
    let agent = agent_state(st.last_run.as_ref(), now, holder.as_deref());
    let pid: Option<u32> = holder.as_deref().and_then(|pid| pid.parse().ok());
    let dashboard = crate::server::check(&config.server, pid).detail;
    let mut latest = Listing::new(&["series", "metric", "labels", "value", "unit", "at"]);
    for l in store.latest()? {
        let shown = value(l.value, &l.series.unit);
        latest.push(vec![
            Field::Text(series_name(&l.series)),
            Field::Json(l.series.metric.clone().into()),
            labels(&l.series),
            Field::Num(l.value, shown),
            Field::Json(l.series.unit.clone().into()),
            Field::Time(l.series.last_seen),
        ]);
    }
    match format {
        Format::Csv => return latest.print(format),
        Format::Json => {
            let time = |t: i64| crate::units::local_rfc3339(t);
            let (firing, critical, pending) = alert_counts(store)?;
            let archive = config.archive.enabled.then(|| {
                let path = store.path().with_file_name(crate::archive::FILE_NAME);
                serde_json::json!({"path": path, "bytes": std::fs::metadata(&path).ok().map(|m| m.len())})
            });
            let head = serde_json::json!({
                "agent": {"running": pid.is_some(), "pid": pid, "state": agent},
                "store": {"path": store.path(), "bytes": st.bytes},
                "samples": {"count": st.samples, "oldest": st.range.map(|r| time(r.0)), "newest": st.range.map(|r| time(r.1))},
                "last_gap": st.last_gap.map(|g| serde_json::json!({"from": time(g.start_ts), "to": time(g.end_ts), "reason": g.reason})),
                "archive": archive,
                "alerts": {"firing": firing, "critical": critical, "pending": pending},
                "dashboard": dashboard,
            });
            // The summary (its keys sorted), then the series last: the long part at the end.
            let head = head.to_string();
            outln!("{},\n\"series\": {}}}", &head[..head.len() - 1], latest.json());
            return Ok(());
        }
        Format::Table => {}
    }
    outln!("agent     {agent}");
    outln!("store     {} ({})", store.path().display(), bytes(st.bytes as f64));
    let range = st.range.map_or_else(String::new, |(a, b)| format!(", {} to {}", local(a), local(b)));
    outln!("samples   {}{range}", st.samples);
    if st.samples == 0 && pid.is_some() {
        let flush = humantime::format_duration(config.sampling.flush_interval);
        outln!("          (the agent writes its first samples at the flush interval, {flush} after its start)");
    }
    let gap = st.last_gap.map_or_else(
        || "none".to_owned(),
        |g| format!("{} to {} ({}, {})", local(g.start_ts), local(g.end_ts), span(g.end_ts - g.start_ts), g.reason),
    );
    outln!("last gap  {gap}");
    if config.archive.enabled {
        outln!("archive   {}", archive_line(store, config, now)?);
    }
    outln!("alerts    {}", alerts_line(store)?);
    outln!("dashboard {dashboard}");
    outln!("\n{}", latest.table().trim_end());
    Ok(())
}

/// The archive's size, the last rollup and the backlog waiting for the next one.
fn archive_line(store: &Store, config: &Config, now: i64) -> Result<String> {
    let path = store.path().with_file_name(crate::archive::FILE_NAME);
    // Its blocks too, unless a rollup holds it this moment: then its length alone.
    let described = |a: crate::archive::Archive| Ok(a.size()?.describe(a.samples()?));
    let size = match crate::archive::Archive::open_read(&path).and_then(described) {
        Ok(described) => described,
        Err(_) => std::fs::metadata(&path).map_or_else(|_| "not created yet".to_owned(), |m| bytes(m.len() as f64)),
    };
    // The rollup's own rule, so the backlog shown is exactly what the next rollup moves.
    let cutoff = crate::archive::Policy::from(&config.archive).cutoff(now);
    let backlog = store.count_before(cutoff)?;
    let last = store.last_rollup()?.map_or_else(
        || "no rollup yet".to_owned(),
        |r| format!("last rollup {} {} ({} samples)", local(r.at), r.outcome, r.moved),
    );
    Ok(format!("{} ({size}), {last}, backlog {backlog} samples older than the hot window", path.display()))
}

/// Alerts firing, of them critical, and pending.
fn alert_counts(store: &Store) -> Result<(usize, usize, usize)> {
    let alerts = store.alerts()?;
    let firing = alerts.iter().filter(|t| t.phase == Phase::Firing).count();
    let critical = alerts.iter().filter(|t| t.phase == Phase::Firing && t.severity == Severity::Critical).count();
    Ok((firing, critical, alerts.len() - firing))
}

/// Firing and pending alerts, and notices that wait for a channel.
fn alerts_line(store: &Store) -> Result<String> {
    let (firing, critical, pending) = alert_counts(store)?;
    let mut line = format!("{firing} firing ({critical} critical), {pending} pending");
    for w in store.outbox_pending()? {
        line.push_str(&format!("; {}", waiting(&w)));
    }
    Ok(line)
}

/// `3 notices waiting for desktop since ...`: what a channel's outbox holds.
pub fn waiting(w: &Waiting) -> String {
    format!("{} notices waiting for {} since {}", w.count, w.channel, local(w.oldest_ms / 1000))
}

/// `hostwatch dashboard`: opens the agent's page in the default browser, or prints its
/// address where there is none (a server, an SSH session).
pub fn dashboard(paths: &super::Paths, config: &Config) -> Result<()> {
    if !config.server.enabled {
        anyhow::bail!("the dashboard is off in the config ([server] enabled = false)");
    }
    let url = config.server.url();
    let agent = crate::lock::holder(&paths.dir).and_then(|pid| pid.parse().ok());
    let check = crate::server::check(&config.server, agent);
    if check.verdict != crate::doctor::Verdict::Ok || agent.is_none() {
        outln!("{}", check.detail);
    }
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let graphical =
        cfg!(target_os = "macos") || std::env::var_os("DISPLAY").or(std::env::var_os("WAYLAND_DISPLAY")).is_some();
    let opened = graphical
        && std::process::Command::new(opener)
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if opened {
        outln!("opened {url}");
    } else {
        outln!("{url}");
    }
    Ok(())
}

/// A series' labels as a JSON object, for scripts.
fn labels(s: &SeriesInfo) -> Field {
    Field::Json(serde_json::from_str(&s.labels).unwrap_or_default())
}

/// `hostwatch series`.
pub fn series(store: &Store, format: Format) -> Result<()> {
    let mut list = Listing::new(&["series", "metric", "labels", "unit", "first_seen", "last_seen"]);
    for s in store.series()? {
        let (name, metric) = (series_name(&s), Field::Json(s.metric.clone().into()));
        list.push(vec![
            Field::Text(name),
            metric,
            labels(&s),
            Field::Text(s.unit.clone()),
            Field::Time(s.first_seen),
            Field::Time(s.last_seen),
        ]);
    }
    list.print(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(last_flush: Option<i64>, stopped_at: Option<i64>) -> Run {
        Run { pid: 7, version: "0.1.0".into(), started_at: 1000, last_flush, stopped_at }
    }

    #[test]
    fn agent_state_tells_running_stopped_and_dead_apart() {
        let held = Some("7");
        assert_eq!(agent_state(None, 2000, None), "never run");
        assert!(agent_state(Some(&run(Some(1990), None)), 2000, held).starts_with("running since "));
        assert!(agent_state(Some(&run(None, None)), 1005, held).ends_with("last write none yet"));
        assert!(agent_state(Some(&run(Some(1100), Some(1200))), 2000, None).starts_with("stopped at "));
        let dead = agent_state(Some(&run(Some(1100), None)), 2000, None);
        assert!(dead.starts_with("not running: pid 7") && dead.contains("last wrote 15m ago"), "{dead}");
        // After a long sleep the last write is old, but the lock says the agent lives.
        assert!(agent_state(Some(&run(Some(1100), None)), 90_000, held).starts_with("running since "));
        // A fresh write without the lock is an agent that just died.
        assert!(agent_state(Some(&run(Some(1995), None)), 2000, None).starts_with("not running"));
    }
}
