//! When a test must not send: a target that is neither loopback nor allowed (refused when the
//! config is read), and, at each run, a laptop on battery, a host already busy, or another
//! checklist job under way (refused, with the reason recorded as the run).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A host whose CPU averaged above this over [`BUSY_WINDOW`] is busy: a test would measure
/// the host's other work as much as the target.
pub const BUSY_PERCENT: f64 = 50.0;
/// How far back the CPU is looked at.
pub const BUSY_WINDOW: Duration = Duration::from_secs(300);

/// Whether `url`'s host may be load-tested: loopback (`localhost`, `127.0.0.0/8`, `::1`),
/// or one of `allow_hosts` as written.
pub fn allowed(url: &reqwest::Url, allow_hosts: &[String]) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if loopback || allow_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    Err(format!(
        "{host} is not loopback: a load test sends only to this machine unless loadtests.allow_hosts names the host"
    ))
}

/// Why a run did not start.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A battery is discharging: (its name, charge in percent).
    OnBattery(String, f64),
    /// The host's CPU averaged this (percent) over the last [`BUSY_WINDOW`].
    Busy(f64),
    /// Another checklist job (or test) is under way: its name.
    OtherJob(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OnBattery(name, charge) => write!(f, "on battery ({name} at {charge:.0}%, discharging)"),
            Refusal::Busy(cpu) => write!(
                f,
                "the host is busy: CPU averaged {cpu:.0}% over the last {} (the limit is {BUSY_PERCENT:.0}%)",
                humantime::format_duration(BUSY_WINDOW)
            ),
            Refusal::OtherJob(job) => write!(f, "another checklist job is under way: {job}"),
        }
    }
}

/// The host's mean CPU if it was busy: `samples` are (Unix seconds, percent) of the last
/// [`BUSY_WINDOW`], and must cover most of it (an agent that just started knows too little
/// to refuse).
pub fn busy(samples: &[(i64, f64)]) -> Option<f64> {
    let (first, last) = (samples.iter().map(|s| s.0).min()?, samples.iter().map(|s| s.0).max()?);
    let window = i64::try_from(BUSY_WINDOW.as_secs()).unwrap_or(i64::MAX);
    if last - first < window * 4 / 5 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64;
    (mean > BUSY_PERCENT).then_some(mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_allowed_hosts_may_be_targets() {
        let ok = |u: &str, allow: &[&str]| {
            let allow: Vec<String> = allow.iter().map(|s| (*s).to_owned()).collect();
            allowed(&reqwest::Url::parse(u).unwrap(), &allow).is_ok()
        };
        assert!(ok("http://127.0.0.1:8080/", &[]));
        assert!(ok("http://127.0.0.53/", &[]));
        assert!(ok("http://[::1]:80/", &[]));
        assert!(ok("http://localhost/", &[]));
        assert!(ok("http://api.localhost/", &[]));
        assert!(!ok("http://192.168.1.10/", &[]));
        assert!(!ok("http://example.com/", &[]));
        assert!(!ok("http://localhost.example.com/", &[]));
        assert!(ok("https://Staging.Example.com/", &["staging.example.com"]));
    }

    #[test]
    fn a_host_is_busy_only_over_most_of_the_window() {
        let over = |from: i64, to: i64, cpu: f64| (from..=to).step_by(5).map(|t| (t, cpu)).collect::<Vec<_>>();
        assert_eq!(busy(&over(0, 300, 80.0)), Some(80.0));
        assert_eq!(busy(&over(0, 300, 40.0)), None, "under the limit");
        assert_eq!(busy(&over(200, 300, 95.0)), None, "100 s known: too little to refuse");
        assert_eq!(busy(&[]), None);
    }
}
