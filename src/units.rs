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

/// How a trend's buckets lie on time: each instant is moved by the offset in force at it,
/// then cut at multiples of the step; a bucket's key is that moved start. One offset (UTC,
/// or a zone's) for buckets shorter than a day; the local zone's offsets as they change for
/// whole days, so each bucket is a local day, 23 or 25 hours long across a daylight-saving
/// change, and every one starts at local midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// `(from, offset)`: seconds east of UTC from Unix second `from` on, oldest first; the
    /// first holds before its `from` too.
    changes: Vec<(i64, i64)>,
}

impl Shift {
    /// One offset throughout.
    pub fn fixed(offset: i64) -> Shift {
        Shift { changes: vec![(i64::MIN, offset)] }
    }

    /// The local zone's offsets over `[since, until]` and the day before `since` (the
    /// first bucket starts at the midnight before it), looked at once a day and each change
    /// found to the second; within 1970 to 2200, where samples can be (a range beyond
    /// takes the offsets at its ends).
    pub fn local_days(since: i64, until: i64) -> Shift {
        const LAST: i64 = 7_258_118_400; // 2200-01-01
        let from = since.saturating_sub(86_400).clamp(0, LAST);
        let until = until.clamp(0, LAST);
        let mut changes = vec![(i64::MIN, local_offset(from))];
        let mut t = from;
        while t < until {
            let next = t.saturating_add(86_400).min(until);
            let before = changes.last().map_or(0, |c| c.1);
            if local_offset(next) != before {
                let (mut lo, mut hi) = (t, next);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if local_offset(mid) == before { lo = mid } else { hi = mid }
                }
                changes.push((hi, local_offset(hi)));
            }
            t = next;
        }
        Shift { changes }
    }

    /// The offset in force at `ts`.
    pub fn at(&self, ts: i64) -> i64 {
        self.changes.iter().rev().find(|c| c.0 <= ts).map_or(self.changes[0].1, |c| c.1)
    }

    /// The key of the `step`-second bucket holding `ts`.
    pub fn key(&self, ts: i64, step: i64) -> i64 {
        (ts + self.at(ts)).div_euclid(step) * step
    }

    /// The first Unix second of the bucket `key`: where the moved time reaches it (local
    /// midnight, or the change itself when a zone skips midnight).
    pub fn start(&self, key: i64) -> i64 {
        let moved = |t: i64| t + self.at(t);
        let exact = self.changes.iter().map(|c| key - c.1).filter(|&t| moved(t) == key);
        let skipped = self.changes.iter().skip(1).map(|c| c.0).filter(|&t| moved(t) > key && moved(t - 1) < key);
        exact.chain(skipped).min().unwrap_or(key - self.changes[0].1)
    }

    /// Whether buckets of `width` seconds lie whole inside this shift's buckets: every
    /// offset, and every change's time, is a multiple of it.
    pub fn keeps_whole(&self, width: i64) -> bool {
        self.changes.iter().all(|&(from, offset)| offset % width == 0 && (from == i64::MIN || from % width == 0))
    }

    /// The offset at the Unix-seconds column `column` as an SQL expression, written alike
    /// for SQLite and DuckDB: a constant unless the offset changes.
    pub fn sql_offset(&self, column: &str) -> String {
        let (first, rest) = (self.changes[0].1, &self.changes[1..]);
        if rest.is_empty() {
            return first.to_string();
        }
        let arms: String = rest.iter().rev().map(|(from, o)| format!(" WHEN {column} >= {from} THEN {o}")).collect();
        format!("(CASE{arms} ELSE {first} END)")
    }
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

/// The longest bucket: a year and a day (a leap year's days); a longer one would start
/// its first bucket long before any range asked for (at 1970 for the longest).
pub const MAX_STEP: Duration = Duration::from_secs(366 * 86_400);

/// A bucket width: a whole number of seconds, from one to [`MAX_STEP`].
pub fn parse_step(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration: {e}"))?;
    if d.as_secs() == 0 || d.subsec_nanos() != 0 {
        return Err(format!("{s:?}: the step must be a whole number of seconds, at least 1s"));
    }
    if d > MAX_STEP {
        return Err(format!("{s:?}: the step must be at most 366d"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::Shift;

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3600;

    /// UTC+1, UTC+2 from `spring` (01:00 UTC), UTC+1 again from `autumn`.
    fn summer(spring: i64, autumn: i64) -> Shift {
        Shift { changes: vec![(i64::MIN, HOUR), (spring, 2 * HOUR), (autumn, HOUR)] }
    }

    #[test]
    fn each_day_starts_at_local_midnight_on_both_sides_of_a_change() {
        // Day 100 (UTC) springs forward at 01:00 UTC; day 300 falls back at 01:00 UTC.
        let (spring, autumn) = (100 * DAY + HOUR, 300 * DAY + HOUR);
        let s = summer(spring, autumn);
        // Midnight before a change is 23:00 UTC the day before; after it, 22:00.
        assert_eq!(s.start(s.key(spring - 1, DAY)), 100 * DAY - HOUR, "the 23-hour day");
        assert_eq!(s.start(s.key(spring, DAY)), 100 * DAY - HOUR, "the same day after the change");
        assert_eq!(s.start(s.key(spring + DAY, DAY)), 101 * DAY - 2 * HOUR, "the next day");
        assert_eq!(s.start(s.key(autumn, DAY)), 300 * DAY - 2 * HOUR, "the 25-hour day");
        assert_eq!(s.start(s.key(autumn + DAY, DAY)), 301 * DAY - HOUR);
        // Every second of the 25-hour day has one key, and the next day another.
        let long = s.key(300 * DAY - 2 * HOUR, DAY);
        assert!((300 * DAY - 2 * HOUR..301 * DAY - HOUR).step_by(600).all(|t| s.key(t, DAY) == long));
        assert_ne!(s.key(301 * DAY - HOUR, DAY), long);
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_that_day_at_its_change() {
        // UTC-4 to UTC-3 at local midnight (04:00 UTC): 00:00 to 01:00 never happens.
        let change = 50 * DAY + 4 * HOUR;
        let s = Shift { changes: vec![(i64::MIN, -4 * HOUR), (change, -3 * HOUR)] };
        assert_eq!(s.start(s.key(change, DAY)), change);
        assert_eq!(s.start(s.key(change - 1, DAY)), 49 * DAY + 4 * HOUR, "the day before is whole");
    }

    #[test]
    fn one_offset_is_a_constant_in_sql_and_changes_are_a_case() {
        assert_eq!(Shift::fixed(-18_000).sql_offset("ts"), "-18000");
        assert_eq!(
            summer(10, 20).sql_offset("t.bucket"),
            "(CASE WHEN t.bucket >= 20 THEN 3600 WHEN t.bucket >= 10 THEN 7200 ELSE 3600 END)"
        );
        assert!(summer(HOUR, 2 * HOUR).keeps_whole(HOUR));
        assert!(!summer(HOUR, 2 * HOUR).keeps_whole(DAY), "an hour's offset splits a day's buckets");
        assert!(!Shift::fixed(19_800).keeps_whole(HOUR), "India's half hour");
        assert!(Shift::fixed(19_800).keeps_whole(60));
    }
}
