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

/// A byte count with a binary unit, for people: `193.6 GiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{v:.0} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// Unix ms as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Unix seconds as local time for people, with the zone's offset so a reader in another
/// zone (or a log read later) is not misled: `2026-12-04 09:15:00 +01:00`.
pub fn local(ts: i64) -> String {
    use chrono::TimeZone;
    let t = chrono::Local.timestamp_opt(ts, 0).single();
    t.map_or_else(|| ts.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string())
}

/// Unix seconds as RFC 3339 in local time, with its offset: `2026-12-04T09:15:00+01:00`,
/// for CSV and JSON a script reads.
pub fn local_rfc3339(ts: i64) -> String {
    use chrono::TimeZone;
    let t = chrono::Local.timestamp_opt(ts, 0).single();
    t.map_or_else(|| ts.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
}

/// Seconds east of UTC of the local zone at unix second `ts`: where local days begin.
pub fn local_offset(ts: i64) -> i64 {
    use chrono::{Offset, TimeZone};
    chrono::Local.timestamp_opt(ts, 0).single().map_or(0, |t| i64::from(t.offset().fix().local_minus_utc()))
}

/// A point in time as people write it: `30d` (that long ago), `2026-11-01` (local
/// midnight), or an RFC 3339 time (`2026-11-01T08:00:00Z`, `2026-11-01T08:00:00+01:00`).
/// Read by the command line and the dashboard's API.
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
            // Local midnight; on a day that starts in a DST gap, the first moment there is.
            use chrono::TimeZone;
            let midnight = d.and_time(chrono::NaiveTime::MIN);
            let at = chrono::Local.from_local_datetime(&midnight).earliest();
            let at =
                at.or_else(|| chrono::Local.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest());
            return Ok(When::At(at.map_or_else(|| midnight.and_utc().timestamp(), |t| t.timestamp())));
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
