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
