//! Units every layer counts in: durations as whole seconds or milliseconds, instants as
//! RFC 3339. A leaf: imports nothing of the crate.

use std::time::Duration;

/// A duration as whole seconds, the unit stores and schedules count in.
pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A duration as whole milliseconds, the unit the agent's clock counts in.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Unix ms as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A point in time as people write it: `30d` (that long ago), `2026-11-01`, or an RFC 3339
/// time (`2026-11-01T08:00:00Z`). Read by the command line and the dashboard's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This long before now.
    Ago(Duration),
    /// This Unix time, in seconds.
    At(i64),
}

impl When {
    /// Unix seconds, given the present.
    pub fn resolve(self, now: i64) -> i64 {
        match self {
            When::Ago(d) => now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            When::At(t) => t,
        }
    }

    /// Parses `s`; the error quotes it and says what is accepted.
    pub fn parse(s: &str) -> Result<When, String> {
        if let Ok(d) = humantime::parse_duration(s) {
            return Ok(When::Ago(d));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.timestamp()));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(When::At(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()));
        }
        Err(format!("{s:?} is neither a duration (30d, 12h) nor a date (2026-11-01) nor an RFC 3339 time"))
    }
}

/// A bucket width: a whole number of seconds, at least one.
pub fn parse_step(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration: {e}"))?;
    if d.as_secs() == 0 || d.subsec_nanos() != 0 {
        return Err(format!("{s:?}: the step must be a whole number of seconds, at least 1s"));
    }
    Ok(d)
}
