//! The metric catalogue and the sample types every collector produces.
//!
//! Owns what a metric *is* (name, unit, stored precision); must not know how samples are
//! collected or stored.

use std::fmt;

use Precision::{Decimals, Units};

/// The real precision of a metric's source: the store keeps no finer, because digits below
/// it are noise that costs bits in both stores (DuckDB bit-packs differences, so every
/// useless binary digit is paid on every sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Decimal places: with `Decimals(2)`, 12.34 is stored as 1234.
    Decimals(u8),
    /// A whole number of source units, a power of two: memory comes in 4 KiB pages
    /// (`/proc/meminfo` prints page counts times 4 kB), disk space in 4 KiB blocks, disk
    /// I/O in 512-byte sectors.
    Units(u32),
}

/// One metric of the catalogue. Two metrics are the same if their names are.
#[derive(Debug)]
pub struct Metric {
    /// Dotted name, stable across releases: `family.what_unit`.
    pub name: &'static str,
    /// Unit for display (`%`, `bytes`, `bytes/s`, `°C`, `s`).
    pub unit: &'static str,
    /// The finest step of its values worth keeping: values are stored as integers of it.
    pub precision: Precision,
    /// One line saying what it measures (its doc, and `/metrics`' HELP).
    pub help: &'static str,
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Metric {}

impl std::hash::Hash for Metric {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Metric {
    /// The factor between a real value and its stored integer: stored = round(real * scale).
    /// Always exact in binary (a power of ten up to 100, or one over a power of two), so
    /// `stored / scale` gives back the value a collector saw, to its precision.
    pub fn scale(&self) -> f64 {
        match self.precision {
            Precision::Decimals(d) => 10_f64.powi(i32::from(d)),
            Precision::Units(n) => 1.0 / f64::from(n),
        }
    }

    /// `value` as stored: an integer count of this metric's precision.
    pub fn to_stored(&self, value: f64) -> i64 {
        (value * self.scale()).round() as i64
    }

    /// `value` as the stores keep it, at this metric's precision: what the rules judge, so
    /// the agent and a replay of the store see the same numbers.
    pub fn rounded(&self, value: f64) -> f64 {
        (value * self.scale()).round() / self.scale()
    }

    /// A value of this metric for people: bytes in binary units, anything else at the
    /// metric's precision with its unit (`47.98 %`, `0.0512 s`, `193.6 GiB`, `1.02`).
    pub fn show(&self, v: f64) -> String {
        match (self.unit, self.precision) {
            ("bytes", _) => crate::units::bytes(v),
            ("bytes/s", _) => format!("{}/s", crate::units::bytes(v)),
            (unit, Precision::Decimals(d)) => {
                let n = format!("{v:.*}", usize::from(d));
                if unit.is_empty() { n } else { format!("{n} {unit}") }
            }
            (unit, Precision::Units(_)) => format!("{v:.0} {unit}"),
        }
    }

    /// The catalogue's metric called `name`, if this build has one.
    pub fn by_name(name: &str) -> Option<&'static Metric> {
        CATALOGUE.iter().copied().find(|m| m.name == name)
    }
}

macro_rules! metrics {
    ($($id:ident = $name:literal, $unit:literal, $prec:expr, $help:literal;)*) => {
        $(
            #[doc = $help]
            pub static $id: Metric = Metric { name: $name, unit: $unit, precision: $prec, help: $help };
        )*
        /// Every metric the built-in collectors can produce.
        pub static CATALOGUE: &[&Metric] = &[$(&$id),*];
    };
}

metrics! {
    CPU_USAGE = "cpu.usage_percent", "%", Decimals(1), "CPU busy time, total (cpu=total) and per core";
    LOAD_1 = "load.avg1", "", Decimals(2), "Load average over 1 minute";
    LOAD_5 = "load.avg5", "", Decimals(2), "Load average over 5 minutes";
    LOAD_15 = "load.avg15", "", Decimals(2), "Load average over 15 minutes";
    MEM_USED = "memory.used_bytes", "bytes", Units(4096), "Memory in use (total minus available)";
    MEM_AVAILABLE = "memory.available_bytes", "bytes", Units(4096), "Memory available for new work";
    MEM_USED_PCT = "memory.used_percent", "%", Decimals(2), "Memory in use as a share of total";
    SWAP_USED = "swap.used_bytes", "bytes", Units(4096), "Swap in use";
    SWAP_USED_PCT = "swap.used_percent", "%", Decimals(2), "Swap in use as a share of total";
    DISK_USED = "disk.used_bytes", "bytes", Units(4096), "Space used on a mount";
    DISK_FREE = "disk.free_bytes", "bytes", Units(4096), "Space available to users on a mount";
    DISK_USED_PCT = "disk.used_percent", "%", Decimals(2), "Space used on a mount as a share of its size";
    DISKIO_READ = "diskio.read_bytes_per_s", "bytes/s", Units(512), "Bytes read per second from a block device";
    DISKIO_WRITE = "diskio.write_bytes_per_s", "bytes/s", Units(512), "Bytes written per second to a block device";
    NET_RX = "net.rx_bytes_per_s", "bytes/s", Decimals(0), "Bytes received per second on an interface";
    NET_TX = "net.tx_bytes_per_s", "bytes/s", Decimals(0), "Bytes sent per second on an interface";
    NET_RX_ERRORS = "net.rx_errors_per_s", "errors/s", Decimals(2), "Receive errors per second on an interface";
    NET_TX_ERRORS = "net.tx_errors_per_s", "errors/s", Decimals(2), "Transmit errors per second on an interface";
    UPTIME = "system.uptime_seconds", "s", Decimals(0), "Seconds since the host booted";
    TEMP = "temp.celsius", "°C", Decimals(1), "Temperature of a hardware sensor";
    BATTERY_CHARGE = "battery.charge_percent", "%", Decimals(1), "Battery charge";
    BATTERY_STATUS = "battery.status", "", Decimals(0), "Battery status: 1 charging, 0 full or idle, -1 discharging";
    BATTERY_TIME_TO_EMPTY = "battery.time_to_empty_seconds", "s", Decimals(0), "Estimated seconds until the battery is empty (while discharging)";
    PROC_CPU = "process.cpu_percent", "%", Decimals(1), "CPU used by a top process (100 = one core)";
    PROC_RSS = "process.rss_bytes", "bytes", Units(4096), "Resident memory of a top process";
    COLLECTOR_ERRORS = "agent.collector_errors", "", Decimals(0), "1 at each tick a collector failed (name=collector), for the hourly check";
    PROBE_UP = "probe.up", "", Decimals(0), "1 if a probe's attempt succeeded, 0 if it failed (probe=NAME); its mean is the availability";
    PROBE_DEGRADED = "probe.degraded", "", Decimals(0), "1 if a probe's attempt succeeded but a warning condition did not hold";
    PROBE_DURATION = "probe.duration_seconds", "s", Decimals(4), "Time from before the connect to the answer's last byte";
    PROBE_TTFB = "probe.ttfb_seconds", "s", Decimals(4), "Time from before the connect to the answer's status line and headers";
    PROBE_STATUS = "probe.http_status", "", Decimals(0), "HTTP status of a probe's answer";
    PROBE_BODY = "probe.body_bytes", "bytes", Decimals(0), "Size of a probe's answer body";
    PROBE_TTFT = "probe.ttft_seconds", "s", Decimals(4), "Time from before the connect to a model's first streamed token (any channel, reasoning included)";
    PROBE_AI_RESPONSE = "probe.ai_response_seconds", "s", Decimals(4), "Time from before the connect to a model's streamed completion's end";
    PROBE_TOKENS_PER_SECOND = "probe.tokens_per_second", "tokens/s", Decimals(2), "A model's output tokens per second after the first token";
    PROBE_PROMPT_TOKENS = "probe.prompt_tokens", "tokens", Decimals(0), "Prompt tokens of a completion, as the server reported them";
    PROBE_COMPLETION_TOKENS = "probe.completion_tokens", "tokens", Decimals(0), "Output tokens of a completion, as the server reported them (else the token events counted)";
    PROBE_CACHE_HIT = "probe.cache_hit_percent", "%", Decimals(2), "Share of a completion's prompt tokens the server took from its cache, where it reports them";
    PROBE_QUERY = "probe.query_seconds", "s", Decimals(5), "Time of a database probe's query, from its prepare to its last row";
    PROBE_ROWS = "probe.rows", "", Decimals(0), "Rows a database probe's query returned";
    PROBE_VALUE = "probe.value", "", Decimals(3), "The first column of a database probe's first row, where it is a number";
    PROBE_CONNECT = "probe.connect_seconds", "s", Decimals(4), "Time a database probe took to connect (and authenticate)";
    PROBE_DB_CONNECTIONS = "probe.db_connections", "", Decimals(0), "Client connections in use on a database server, the probe's own left out";
    PROBE_DB_MAX_CONNECTIONS = "probe.db_max_connections", "", Decimals(0), "The database server's max_connections";
    PROBE_DB_CONNECTIONS_PCT = "probe.db_connections_percent", "%", Decimals(2), "Client connections in use as a share of max_connections";
    PROBE_DB_IDLE_IN_TX = "probe.db_idle_in_transaction", "", Decimals(0), "Connections idle in a transaction (they hold locks and snapshots)";
    PROBE_STATEMENT_CALLS = "probe.statement_calls", "", Decimals(0), "Calls of one of a database's 10 busiest statements since the probe's last attempt (statement=QUERYID)";
    PROBE_STATEMENT_MEAN = "probe.statement_mean_seconds", "s", Decimals(5), "Mean time of those calls";
    PROBE_CERT_DAYS = "probe.cert_expiry_days", "days", Decimals(2), "Days until the TLS certificate of an https probe expires";
    LOADTEST_RPS = "loadtest.requests_per_second", "requests/s", Decimals(2), "Requests per second a load test's run achieved (name=TEST), at its end";
    LOADTEST_P50 = "loadtest.latency_p50_seconds", "s", Decimals(5), "Median latency of a load test's run";
    LOADTEST_P95 = "loadtest.latency_p95_seconds", "s", Decimals(5), "95th percentile latency of a load test's run";
    LOADTEST_P99 = "loadtest.latency_p99_seconds", "s", Decimals(5), "99th percentile latency of a load test's run";
    LOADTEST_MAX = "loadtest.latency_max_seconds", "s", Decimals(5), "The slowest request of a load test's run";
    LOADTEST_ERRORS = "loadtest.error_percent", "%", Decimals(3), "Failed requests of a load test's run, in percent";
    LOADTEST_REQUESTS = "loadtest.requests", "", Decimals(0), "Requests a load test's run sent";
    TICKS_SKIPPED = "agent.ticks_skipped", "", Decimals(0), "Ticks of a schedule (name=system|processes) dropped because the agent was held up, at the tick after";
}

/// Every label name a collector uses; also the archive's label columns.
pub const LABELS: &[&str] =
    &["cpu", "mount", "device", "iface", "sensor", "label", "battery", "pid", "name", "probe", "statement"];

/// `KEY=VALUE`, with the key one of [`LABELS`] (it becomes SQL): a label filter as the
/// command line and the dashboard's API take it.
pub fn parse_label(s: &str) -> Result<(&'static str, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    let Some(known) = LABELS.iter().find(|l| **l == k) else {
        return Err(format!("unknown label {k:?}; labels are {}", LABELS.join(", ")));
    };
    Ok((known, v.to_owned()))
}

/// A metric plus its labels: the identity of one time series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    /// The metric this series belongs to.
    pub metric: &'static Metric,
    /// Label pairs, sorted by name, so equal series compare equal.
    pub labels: Vec<(&'static str, String)>,
}

impl SeriesKey {
    /// A series with no labels.
    pub fn plain(metric: &'static Metric) -> Self {
        SeriesKey { metric, labels: Vec::new() }
    }

    /// A series with labels; they are sorted here so callers need not care about order.
    pub fn labelled(metric: &'static Metric, mut labels: Vec<(&'static str, String)>) -> Self {
        labels.sort_by(|a, b| a.0.cmp(b.0));
        SeriesKey { metric, labels }
    }

    /// A series with one label, the common case.
    pub fn with(metric: &'static Metric, name: &'static str, value: impl Into<String>) -> Self {
        SeriesKey { metric, labels: vec![(name, value.into())] }
    }

    /// The series a metric name and [`SeriesKey::labels_json`] text stand for; `None` if the
    /// metric or a label is unknown to this build (it was renamed since).
    pub fn from_parts(metric: &str, labels_json: &str) -> Option<SeriesKey> {
        let metric = Metric::by_name(metric)?;
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(labels_json).ok()?;
        let labels = map
            .into_iter()
            .map(|(k, v)| Some((*LABELS.iter().find(|l| **l == k)?, v.as_str()?.to_owned())))
            .collect::<Option<Vec<_>>>()?;
        Some(SeriesKey::labelled(metric, labels))
    }

    /// The labels as a canonical JSON object (keys sorted), as stored in the catalogue.
    pub fn labels_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.labels.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect();
        serde_json::Value::Object(map).to_string()
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric.name)?;
        if !self.labels.is_empty() {
            let parts: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            write!(f, "{{{}}}", parts.join(","))?;
        }
        Ok(())
    }
}

/// One value of one series at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Which series.
    pub key: SeriesKey,
    /// Unix time in seconds (the hot store keeps one value per series per second).
    pub ts: i64,
    /// The real value; the store rounds it to the metric's [`Precision`].
    pub value: f64,
}

/// Aggregates of one series over one time bucket, in stored (scaled integer) units, so
/// that partials from the hot store and the archive combine exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    /// Unix seconds of the bucket's start.
    pub bucket: i64,
    /// Smallest stored value.
    pub min: i64,
    /// Largest stored value.
    pub max: i64,
    /// Sum of stored values.
    pub sum: i128,
    /// Number of samples.
    pub count: i64,
}

impl Partial {
    /// Folds `other` (same bucket) into `self`.
    pub fn merge(&mut self, other: &Partial) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_unique_and_values_keep_their_precision() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        assert_eq!(CPU_USAGE.to_stored(12.34), 123);
        assert_eq!(MEM_USED.to_stored(5.0 * 1024.0 * 1024.0), 5 * 256);
        for m in CATALOGUE {
            // Exact in binary, so a stored value divides back to exactly what was seen.
            if let Precision::Units(n) = m.precision {
                assert!(n.is_power_of_two(), "{}: {n}", m.name);
            }
            assert_eq!(m.to_stored(3.0 * 4096.0) as f64 / m.scale(), 3.0 * 4096.0, "{}", m.name);
        }
    }

    #[test]
    fn labels_are_canonical_whatever_the_order() {
        let a = SeriesKey::labelled(&TEMP, vec![("sensor", "k10".into()), ("label", "Tctl".into())]);
        let b = SeriesKey::labelled(&TEMP, vec![("label", "Tctl".into()), ("sensor", "k10".into())]);
        assert_eq!(a, b);
        assert_eq!(a.labels_json(), r#"{"label":"Tctl","sensor":"k10"}"#);
        assert_eq!(a.to_string(), r#"temp.celsius{label="Tctl",sensor="k10"}"#);
        assert_eq!(SeriesKey::from_parts("temp.celsius", &a.labels_json()), Some(a));
        assert_eq!(SeriesKey::from_parts("temp.kelvin", "{}"), None);
    }
}
