//! Crontab's five fields as crontab(5) reads them, in the `cron` crate's terms. Two
//! things differ: the crate counts weekdays 1 = Sunday where crontab counts 0 (and 7) =
//! Sunday, 1 = Monday; and where both day fields are restricted, crontab runs on either
//! day, the crate only on days that are both. Weekdays are therefore written out by name,
//! and such a schedule becomes two that run in turn. `@hourly` and its kin are crontab's
//! shorthands.

/// Crontab's names for the weekdays, Sunday first (crontab's 0).
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The `cron` crate expressions (with seconds) that together run when crontab would run
/// `expr`. The error names the field and what crontab accepts there.
pub fn translate(expr: &str) -> Result<Vec<String>, String> {
    let expanded = match expr.trim() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        other if other.starts_with('@') => {
            return Err(format!("{expr:?}: write @hourly, @daily, @weekly, @monthly or @yearly"));
        }
        other => other,
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return Err(format!(
            "{expr:?} has {} fields: write 5 (minute hour day month weekday), e.g. \"5 * * * *\"",
            fields.len()
        ));
    };
    for (name, field, (lo, hi)) in
        [("minute", minute, (0, 59)), ("hour", hour, (0, 23)), ("day", dom, (1, 31)), ("month", month, (1, 12))]
    {
        in_range(field, lo, hi).map_err(|n| format!("{expr:?}: {name} {n} is out of range: write {lo}-{hi}"))?;
    }
    let days = weekdays(dow).map_err(|why| format!("{expr:?}: weekday {dow:?}: {why}"))?;
    // crontab(5): a field that starts with `*` is unrestricted, and then both must match.
    if dom.starts_with('*') || dow.starts_with('*') {
        return Ok(vec![format!("0 {minute} {hour} {dom} {month} {days}")]);
    }
    Ok(vec![format!("0 {minute} {hour} {dom} {month} *"), format!("0 {minute} {hour} * {month} {days}")])
}

/// Every number in a crontab field (`5`, `1-5`, `*/15`, `0,30`: not a step, not a name)
/// within `lo..=hi`; the first that is not, otherwise.
fn in_range(field: &str, lo: u32, hi: u32) -> Result<(), u32> {
    let numbers = field.split(',').flat_map(|item| item.split('/').next().unwrap_or("").split('-'));
    match numbers.filter_map(|n| n.parse::<u32>().ok()).find(|n| !(lo..=hi).contains(n)) {
        Some(n) => Err(n),
        None => Ok(()),
    }
}

/// Crontab's weekday field (`*`, `0`-`7`, `sun`-`sat`, ranges, lists, steps) as a list of
/// the crate's day names, or `*`.
fn weekdays(field: &str) -> Result<String, String> {
    if field == "*" {
        return Ok("*".to_owned());
    }
    let mut on = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or(format!("step {s:?} is not a whole number above 0"))?,
            ),
            None => (item, 1),
        };
        let (from, to) = match range {
            "*" => (0, 7),
            r => match r.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None if step > 1 => (day(r)?, 7),
                None => (day(r)?, day(r)?),
            },
        };
        if from > to {
            return Err(format!("the range {range:?} runs backwards: write the earlier day first"));
        }
        (from..=to).step_by(step).for_each(|d| on[d % 7] = true);
    }
    let names: Vec<&str> = DAYS.iter().zip(on).filter(|(_, on)| *on).map(|(name, _)| *name).collect();
    Ok(names.join(","))
}

/// One weekday: `0`-`7` (0 and 7 are Sunday) or a name's first three letters.
fn day(s: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return (n <= 7).then_some(n).ok_or(format!("{n} is not a weekday: write 0-7 (0 and 7 are Sunday) or sun-sat"));
    }
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(s))
        .ok_or(format!("{s:?} is not a weekday: write 0-7 (0 and 7 are Sunday) or sun-sat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_are_written_out_by_name_from_every_crontab_form() {
        let dow = |f: &str| weekdays(f).unwrap();
        assert_eq!(dow("1"), "MON");
        assert_eq!(dow("0"), "SUN");
        assert_eq!(dow("7"), "SUN");
        assert_eq!(dow("1-5"), "MON,TUE,WED,THU,FRI");
        assert_eq!(dow("mon-fri"), "MON,TUE,WED,THU,FRI");
        assert_eq!(dow("Sat,sun"), "SUN,SAT");
        assert_eq!(dow("*/2"), "SUN,TUE,THU,SAT");
        assert_eq!(dow("1-5/2"), "MON,WED,FRI");
        assert_eq!(dow("5-7"), "SUN,FRI,SAT");
        assert!(weekdays("8").unwrap_err().contains("0-7 (0 and 7 are Sunday)"));
        assert!(weekdays("fri-mon").unwrap_err().contains("runs backwards"));
        assert!(weekdays("*/0").unwrap_err().contains("above 0"));
    }

    #[test]
    fn shorthands_and_both_day_fields_restricted_follow_crontab() {
        assert_eq!(translate("@weekly").unwrap(), ["0 0 0 * * SUN"]);
        assert_eq!(translate("@hourly").unwrap(), ["0 0 * * * *"]);
        assert_eq!(translate("0 9 13 * 5").unwrap(), ["0 0 9 13 * *", "0 0 9 * * FRI"]);
        assert_eq!(translate("0 9 */2 * 5").unwrap(), ["0 0 9 */2 * FRI"]);
        assert!(translate("@often").unwrap_err().contains("@hourly"));
        assert!(translate("0 9 * *").unwrap_err().contains("has 4 fields"));
        // Each field's range, as crontab(5) gives it, said in the user's own terms.
        let err = translate("60 * * * *").unwrap_err();
        assert_eq!(err, "\"60 * * * *\": minute 60 is out of range: write 0-59");
        assert!(translate("0 24 * * *").unwrap_err().contains("hour 24 is out of range: write 0-23"));
        assert!(translate("0 0 0 * *").unwrap_err().contains("day 0 is out of range: write 1-31"));
        assert!(translate("0 0 1 1-13 *").unwrap_err().contains("month 13 is out of range: write 1-12"));
        assert!(translate("59 23 31 12 *").is_ok() && translate("*/15 0,12 1-7 jan-mar *").is_ok());
    }
}
