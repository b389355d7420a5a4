//! `/metrics`: the newest value of every series and the agent's own health, in the
//! Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper's `Accept` asks.
//!
//! Names follow the Prometheus conventions: `hostwatch_` and the catalogue's name with
//! dots as underscores (`memory.used_bytes` is `hostwatch_memory_used_bytes`), `_per_s`
//! spelled `_per_second`. Labels stay bounded: process series are summed by process name,
//! without the pid (pids churn; a fleet's Prometheus would keep every one for weeks).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::live::{Newest, Snapshot};
use crate::metrics::{Metric, PROC_CPU, PROC_RSS, SeriesKey, TICKS_SKIPPED};

/// Which exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when `accept` names it, else the classic text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The agent's health beside the host's series.
#[derive(Debug, Clone, Default)]
pub struct AgentFigures {
    /// The live counters.
    pub snapshot: Option<Snapshot>,
    /// Wall-clock ms when the figures were taken.
    pub now_ms: i64,
    /// Notices waiting per channel.
    pub outbox: Vec<(String, u64)>,
    /// Seconds of samples due for the archive that it does not hold yet, if it is on.
    pub rollup_backlog: Option<i64>,
}

/// The exposition name of a catalogue metric.
pub fn name(metric: &Metric) -> String {
    let base = metric.name.replace('.', "_");
    let base = base.strip_suffix("_per_s").map_or(base.clone(), |b| format!("{b}_per_second"));
    format!("hostwatch_{base}")
}

/// A label value with `\`, `"` and newlines escaped, as both formats want.
fn escaped(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

fn labels(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escaped(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// Label pairs of one exposed series.
type Labels = Vec<(&'static str, String)>;

/// The series as exposed: process series summed by name, without the pid.
fn bounded(newest: &[(SeriesKey, Newest)]) -> BTreeMap<(&'static str, Labels), f64> {
    let mut out: BTreeMap<(&'static str, Labels), f64> = BTreeMap::new();
    for (key, n) in newest {
        let per_process = *key.metric == PROC_CPU || *key.metric == PROC_RSS;
        let kept: Labels = key.labels.iter().filter(|(k, _)| !(per_process && *k == "pid")).cloned().collect();
        *out.entry((key.metric.name, kept)).or_insert(0.0) += n.value;
    }
    out
}

/// A sample value as both formats spell it: `NaN`, `+Inf`, `-Inf`, else the shortest
/// decimal that reads back exactly.
fn number(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".to_owned(),
        f64::INFINITY => "+Inf".to_owned(),
        f64::NEG_INFINITY => "-Inf".to_owned(),
        v => v.to_string(),
    }
}

/// One family's HELP and TYPE lines, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)], format: Format) {
    // OpenMetrics names a counter family without its `_total`; its samples keep it.
    let family = match (format, kind) {
        (Format::OpenMetrics, "counter") => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = writeln!(out, "# HELP {family} {}", help.replace('\\', r"\\").replace('\n', r"\n"));
    let _ = writeln!(out, "# TYPE {family} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {}", number(*value));
    }
}

/// The whole exposition.
pub fn render(newest: &[(SeriesKey, Newest)], agent: &AgentFigures, format: Format) -> String {
    let mut out = String::new();
    let mut by_metric: BTreeMap<&'static str, Vec<(String, f64)>> = BTreeMap::new();
    for ((metric, pairs), value) in bounded(newest) {
        by_metric.entry(metric).or_default().push((labels(&pairs), value));
    }
    for (metric, samples) in &by_metric {
        // Skipped ticks are the agent's counter below; as a gauge the family would repeat.
        let Some(m) = Metric::by_name(metric).filter(|m| **m != TICKS_SKIPPED) else { continue };
        family(&mut out, &name(m), "gauge", m.help, samples, format);
    }
    if let Some(s) = agent.snapshot {
        let one = |v: f64| vec![(String::new(), v)];
        let age = |ms: i64| if ms > 0 { (agent.now_ms - ms) as f64 / 1000.0 } else { f64::NAN };
        let counters = [
            ("hostwatch_agent_samples_written_total", "Samples the agent stored since it started", s.samples_written),
            ("hostwatch_agent_write_errors_total", "Hot-store writes refused since the agent started", s.write_errors),
            ("hostwatch_agent_ticks_skipped_total", "Ticks dropped because the agent was held up", s.ticks_skipped),
        ];
        for (n, help, v) in counters {
            family(&mut out, n, "counter", help, &one(v as f64), format);
        }
        let gauges = [
            (
                "hostwatch_agent_pending_samples",
                "Samples held in memory that the store has not taken",
                s.pending as f64,
            ),
            ("hostwatch_agent_last_tick_age_seconds", "Seconds since the last system tick", age(s.last_tick_ms)),
            ("hostwatch_agent_last_write_age_seconds", "Seconds since the last successful write", age(s.last_write_ms)),
            ("hostwatch_agent_start_time_seconds", "Unix time the agent started", s.started_ms as f64 / 1000.0),
        ];
        for (n, help, v) in gauges {
            family(&mut out, n, "gauge", help, &one(v), format);
        }
    }
    let outbox: Vec<(String, f64)> =
        agent.outbox.iter().map(|(c, n)| (labels(&[("channel", c.clone())]), *n as f64)).collect();
    if !outbox.is_empty() {
        family(&mut out, "hostwatch_agent_outbox_backlog", "gauge", "Notices waiting for a channel", &outbox, format);
    }
    if let Some(b) = agent.rollup_backlog {
        let help = "Seconds of samples due for the archive that it does not hold yet";
        family(&mut out, "hostwatch_agent_rollup_backlog_seconds", "gauge", help, &[(String::new(), b as f64)], format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CPU_USAGE, DISKIO_READ, MEM_USED};

    #[test]
    fn names_follow_the_prometheus_conventions() {
        assert_eq!(name(&MEM_USED), "hostwatch_memory_used_bytes");
        assert_eq!(name(&CPU_USAGE), "hostwatch_cpu_usage_percent");
        assert_eq!(name(&DISKIO_READ), "hostwatch_diskio_read_bytes_per_second");
    }

    #[test]
    fn processes_are_summed_by_name_and_label_values_escaped() {
        let n = |value| Newest { ts: 1, value };
        let newest = vec![
            (SeriesKey::labelled(&PROC_RSS, vec![("pid", "1".into()), ("name", "cargo".into())]), n(100.0)),
            (SeriesKey::labelled(&PROC_RSS, vec![("pid", "2".into()), ("name", "cargo".into())]), n(50.0)),
            (SeriesKey::with(&CPU_USAGE, "cpu", "a\"b\\c"), n(1.5)),
        ];
        let text = render(&newest, &AgentFigures::default(), Format::Prometheus);
        assert!(text.contains("hostwatch_process_rss_bytes{name=\"cargo\"} 150\n"), "{text}");
        assert!(text.contains(r#"hostwatch_cpu_usage_percent{cpu="a\"b\\c"} 1.5"#), "{text}");
        assert!(text.contains("# TYPE hostwatch_cpu_usage_percent gauge\n"), "{text}");
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_names_counter_families_without_total_and_ends_with_eof() {
        let agent = AgentFigures { snapshot: Some(Live::new(0).snapshot()), now_ms: 5_000, ..AgentFigures::default() };
        // A skipped tick is a sample too; it must not become a second family of that name.
        let skipped = (SeriesKey::with(&TICKS_SKIPPED, "name", "system"), Newest { ts: 1, value: 2.0 });
        let hot = (SeriesKey::with(&CPU_USAGE, "cpu", "total"), Newest { ts: 1, value: f64::INFINITY });
        let text = render(&[skipped, hot], &agent, Format::OpenMetrics);
        assert_eq!(text.matches("# TYPE hostwatch_agent_ticks_skipped ").count(), 1, "{text}");
        assert!(text.contains("hostwatch_cpu_usage_percent{cpu=\"total\"} +Inf\n"), "{text}");
        assert!(
            text.contains("# TYPE hostwatch_agent_samples_written counter\nhostwatch_agent_samples_written_total 0\n")
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(Format::from_accept(Some("application/openmetrics-text;version=1.0.0")), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    }

    use super::super::live::Live;
}
