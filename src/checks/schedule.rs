//! When a check runs: cron schedules in local time, judged against the last slot that ran,
//! with `now` passed in, so every case (a restart, a week asleep, a DST change) is a test
//! that does not sleep.

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone};

/// A parsed cron schedule; two are equal if written alike.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// As written, for messages and listings.
    pub expr: String,
    /// Its slots are those of all of these (two where crontab runs on either day field).
    cron: Vec<cron::Schedule>,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Schedule {
    /// Crontab's 5 fields (`"m h dom mon dow"`, weekdays 0-7 with 0 and 7 Sunday, names,
    /// `@daily` and its kin) read as crontab(5) reads them, or the `cron` crate's own form
    /// with seconds (6 or 7 fields, weekdays 1-7 from Sunday). The error quotes the
    /// expression as written.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let forms = match expr.split_whitespace().count() {
            6 | 7 => vec![expr.to_owned()],
            _ => super::crontab::translate(expr)?,
        };
        let cron = forms
            .iter()
            .map(|f| f.parse::<cron::Schedule>().map_err(|e| format!("{expr:?} is not a cron schedule: {e}")))
            .collect::<Result<_, _>>()?;
        let schedule = Schedule { expr: expr.to_owned(), cron };
        // Every date comes again within 28 years (the calendar's cycle, leap days included):
        // a schedule with no slot in those from a fixed day has none at all.
        let from = chrono::Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).single().expect("a valid date");
        match schedule.next_slot(&from) {
            Some(next) if next.year() < 2029 => Ok(schedule),
            _ => Err(format!("{expr:?} never runs: no such date (the 31st of a month of 30 days, 30 February)")),
        }
    }

    /// The latest slot at or before `now`.
    pub fn last_slot<Z: TimeZone>(&self, now: &DateTime<Z>) -> Option<DateTime<Z>> {
        let just_after = now.clone() + chrono::Duration::seconds(1);
        self.cron.iter().filter_map(|c| c.after(&just_after).next_back()).max()
    }

    /// The first slot after `now`.
    pub fn next_slot<Z: TimeZone>(&self, now: &DateTime<Z>) -> Option<DateTime<Z>> {
        self.cron.iter().filter_map(|c| c.after(now).next()).min()
    }
}

/// The slot a job should run for at `now`, if any, given the slot its last run was for
/// (Unix seconds; `None` if it never ran).
///
/// - A slot runs at most once: a restart finds it done. When the clock falls back and
///   a local time comes twice (DST), its second coming is the same slot.
/// - Missed slots (the laptop slept, the agent was off) run once, for the latest of
///   them, if `catch_up`; otherwise they are skipped.
/// - A job seen for the first time does not run for slots before it existed, except
///   one within `tolerance` (the scheduler's tick).
pub fn due<Z: TimeZone>(
    schedule: &Schedule,
    last: Option<i64>,
    now: &DateTime<Z>,
    catch_up: bool,
    tolerance: Duration,
) -> Option<i64> {
    let slot = schedule.last_slot(now)?;
    let late = now.timestamp() - slot.timestamp() > i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    match last {
        Some(last) => {
            let last_local = now.timezone().timestamp_opt(last, 0).single().map(|t| t.naive_local());
            let same_wall_time = last_local == Some(slot.naive_local());
            if slot.timestamp() <= last || same_wall_time || (late && !catch_up) {
                None
            } else {
                Some(slot.timestamp())
            }
        }
        None if late => None,
        None => Some(slot.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone};
    use chrono_tz::Europe::Berlin;
    use chrono_tz::Tz;

    use super::*;

    const TICK: Duration = Duration::from_secs(60);

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Tz> {
        Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).earliest().unwrap()
    }

    #[test]
    fn the_usual_five_fields_and_the_crates_six_are_accepted_and_nonsense_is_named() {
        assert!(Schedule::parse("5 * * * *").is_ok());
        assert!(Schedule::parse("0 5 * * * *").is_ok());
        let err = Schedule::parse("every hour").unwrap_err();
        assert!(err.starts_with("\"every hour\" has 2 fields"), "{err}");
        let err = Schedule::parse("61 * * * *").unwrap_err();
        assert_eq!(err, "\"61 * * * *\": minute 61 is out of range: write 0-59");
        for never in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 0 31 2 * *"] {
            let err = Schedule::parse(never).unwrap_err();
            assert!(err.contains("never runs"), "{never}: {err}");
        }
        assert!(Schedule::parse("0 0 29 2 *").is_ok(), "a leap day comes every 4 years");
        assert!(Schedule::parse("0 0 31 2 5").is_ok(), "crontab: the 31st or a Friday, so every Friday");
        let err = Schedule::parse("0 0 foo * *").unwrap_err();
        assert!(err.starts_with("\"0 0 foo * *\" is not a cron schedule"), "{err}");
    }

    #[test]
    fn crontab_weekdays_fall_on_the_days_crontab_means_across_a_dst_change() {
        let next = |expr: &str, from: DateTime<Tz>| Schedule::parse(expr).unwrap().next_slot(&from).unwrap();
        // 2026-11-29 is a Sunday.
        let sunday = at(2026, 11, 29, 12, 0);
        assert_eq!(next("30 8 * * 1", sunday), at(2026, 11, 30, 8, 30), "1 is Monday");
        assert_eq!(next("30 8 * * mon", sunday), at(2026, 11, 30, 8, 30));
        assert_eq!(next("0 9 * * 0", at(2026, 11, 28, 12, 0)), at(2026, 11, 29, 9, 0), "0 is Sunday");
        assert_eq!(next("0 9 * * 7", at(2026, 11, 28, 12, 0)), at(2026, 11, 29, 9, 0), "so is 7");
        assert_eq!(next("0 9 * * 1-5", at(2026, 11, 27, 12, 0)), at(2026, 11, 30, 9, 0), "Friday noon: Monday");
        assert_eq!(next("0 9 * * */2", sunday), at(2026, 12, 1, 9, 0), "Sun, Tue, Thu, Sat: Tuesday");
        assert_eq!(next("@weekly", at(2026, 11, 30, 0, 0)), at(2026, 12, 6, 0, 0), "Sunday midnight");
        assert_eq!(next("@daily", sunday), at(2026, 11, 30, 0, 0));
        // The 13th or a Friday, as crontab runs it; 2026-12-13 is a Sunday.
        let either = Schedule::parse("0 9 13 * 5").unwrap();
        assert_eq!(either.next_slot(&at(2026, 12, 1, 0, 0)), Some(at(2026, 12, 4, 9, 0)), "a Friday");
        assert_eq!(either.next_slot(&at(2026, 12, 11, 12, 0)), Some(at(2026, 12, 13, 9, 0)), "the 13th");
        assert_eq!(either.last_slot(&at(2026, 12, 12, 0, 0)), Some(at(2026, 12, 11, 9, 0)));
        // Across the spring change (2026-03-29, a Sunday in Berlin): Monday stays Monday.
        assert_eq!(next("0 9 * * 1", at(2026, 3, 29, 0, 0)), at(2026, 3, 30, 9, 0));
        let err = Schedule::parse("0 9 * * 8").unwrap_err();
        assert!(err.contains("0-7 (0 and 7 are Sunday)") && !err.contains("0 0 9"), "{err}");
    }

    #[test]
    fn a_restart_just_before_or_after_a_slot_runs_it_once() {
        let hourly = Schedule::parse("5 * * * *").unwrap();
        let slot = at(2026, 11, 27, 10, 5).timestamp();
        assert_eq!(due(&hourly, None, &at(2026, 11, 27, 10, 5), true, TICK), Some(slot));
        assert_eq!(due(&hourly, Some(slot), &at(2026, 11, 27, 10, 6), true, TICK), None, "restarted at 10:06");
        assert_eq!(due(&hourly, Some(slot), &at(2026, 11, 27, 11, 5), true, TICK), Some(slot + 3600));
        // Restarted at 11:04, just before the next slot: nothing yet, then the slot once.
        assert_eq!(due(&hourly, Some(slot), &at(2026, 11, 27, 11, 4), true, TICK), None);
    }

    #[test]
    fn a_week_asleep_runs_once_on_wake_or_not_at_all_without_catch_up() {
        let daily = Schedule::parse("0 9 * * *").unwrap();
        let last = at(2026, 11, 20, 9, 0).timestamp();
        let wake = at(2026, 11, 27, 14, 30);
        let latest = at(2026, 11, 27, 9, 0).timestamp();
        assert_eq!(due(&daily, Some(last), &wake, true, TICK), Some(latest), "one run, for the latest slot");
        assert_eq!(due(&daily, Some(latest), &wake, true, TICK), None, "and only one");
        assert_eq!(due(&daily, Some(last), &wake, false, TICK), None, "skipped without catch-up");
    }

    #[test]
    fn a_new_job_does_not_run_for_slots_before_it_existed() {
        let quarterly = Schedule::parse("0 8 1 1,4,7,10 *").unwrap();
        assert_eq!(due(&quarterly, None, &at(2026, 11, 27, 12, 0), true, TICK), None);
        assert_eq!(quarterly.next_slot(&at(2026, 11, 27, 12, 0)), Some(at(2027, 1, 1, 8, 0)));
    }

    #[test]
    fn a_slot_in_the_hour_the_clock_falls_back_runs_once() {
        // 2026-10-25 in Berlin: 02:30 happens at 00:30 UTC and again at 01:30 UTC.
        let nightly = Schedule::parse("30 2 * * *").unwrap();
        let first = Berlin.with_ymd_and_hms(2026, 10, 25, 2, 30, 0).earliest().unwrap();
        let second = Berlin.with_ymd_and_hms(2026, 10, 25, 2, 30, 0).latest().unwrap();
        assert_eq!(second.timestamp() - first.timestamp(), 3600);
        let ran = due(&nightly, None, &first, true, TICK).expect("the first 02:30 runs");
        assert_eq!(due(&nightly, Some(ran), &second, true, TICK), None, "the second 02:30 is the same slot");
    }

    #[test]
    fn a_slot_in_the_hour_the_clock_springs_forward_never_runs_twice() {
        // 2026-03-29 in Berlin: 02:30 does not exist.
        let nightly = Schedule::parse("30 2 * * *").unwrap();
        let before = at(2026, 3, 28, 2, 30).timestamp();
        let mut runs = Vec::new();
        let mut last = Some(before);
        for minute in 0..(24 * 60) {
            let now = at(2026, 3, 29, 0, 0) + chrono::Duration::minutes(minute);
            if let Some(slot) = due(&nightly, last, &now, true, TICK) {
                runs.push(slot);
                last = Some(slot);
            }
        }
        assert!(runs.len() <= 1, "at most one run that day: {runs:?}");
    }
}
