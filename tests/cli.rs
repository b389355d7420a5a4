//! The everyday CLI a newcomer meets in the first hour: `query`'s values, closed pipes,
//! errors said once, local times in any zone, JSON for scripts, `trend` in units.

use std::process::Command;

use crate::analyst::Seeded;
use crate::util::{hostwatch, text};

#[test]
fn query_prints_nested_and_temporal_values_as_duckdb_does_and_says_a_bad_query_once() {
    let s = Seeded::new(2, 1);
    assert!(s.run(&["rollup"]).status.success());
    let sql = "SELECT 2 AS z, [1.5, 2.0] AS l, {'a': 1, 'b': [2]} AS s, MAP {'k': 1} AS m, INTERVAL 90 MINUTE AS i, \
               TIME '10:00:00' AS t, 'ab'::BLOB AS b, 'x'::ENUM('x', 'y') AS e, NULL::INT[] AS n, 1 AS a";
    let (table, err) = text(&s.run(&["query", sql]));
    let row: Vec<&str> = table.lines().nth(1).unwrap_or_default().split("  ").filter(|c| !c.is_empty()).collect();
    let row: Vec<&str> = row.iter().map(|c| c.trim()).collect();
    assert_eq!(
        row,
        ["2", "[1.5, 2.0]", "{'a': 1, 'b': [2]}", "{k=1}", "01:30:00", "10:00:00", "ab", "x", "1"],
        "{table}{err}"
    );
    let (csv, _) = text(&s.run(&["query", sql, "--format", "csv"]));
    assert_eq!(
        csv.lines().nth(1),
        Some("2,\"[1.5, 2.0]\",\"{'a': 1, 'b': [2]}\",{k=1},01:30:00,10:00:00,ab,x,,1"),
        "{csv}"
    );
    // JSON keeps the SELECT's column order, and lists, structs and maps are JSON.
    let (json, _) = text(&s.run(&["query", sql, "--format", "json"]));
    let keys: Vec<&str> =
        json.match_indices("\": ").map(|(i, _)| &json[json[..i].rfind('"').unwrap() + 1..i]).collect();
    assert_eq!(keys, ["z", "l", "s", "m", "i", "t", "b", "e", "n", "a"], "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[0]["l"], serde_json::json!([1.5, 2.0]));
    assert_eq!(parsed[0]["s"], serde_json::json!({"a": 1, "b": [2]}));
    assert_eq!(parsed[0]["m"], serde_json::json!({"k": 1}));
    assert_eq!((parsed[0]["i"].as_str(), parsed[0]["n"].is_null()), (Some("01:30:00"), true));

    // A query may end in a line comment: the wrapper that shapes its columns goes on after it.
    let (commented, err) = text(&s.run(&["query", "SELECT [1, 2] AS l -- a list", "--format", "csv"]));
    assert_eq!(commented, "l\n\"[1, 2]\"\n", "{err}");

    // SQL that does not parse, or names what is not there: the usage exit code, said once.
    for (bad, says) in [("SELEC 1", "Parser Error: syntax error"), ("SELECT nope FROM samples", "Binder Error")] {
        let out = s.run(&["query", bad]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.starts_with(&format!("hostwatch: {says}")), "{stderr}");
        assert!(!stderr.contains("Error code") && stderr.matches(says).count() == 1, "{stderr}");
    }
}

#[test]
fn query_into_a_closed_pipe_exits_quietly() {
    let s = Seeded::new(2, 1);
    assert!(s.run(&["rollup"]).status.success());
    let (config, data) = (s.path("config.toml"), s.dir.path().to_str().unwrap());
    for format in ["csv", "table", "json"] {
        let script = format!(
            "{:?} --config {config} --data-dir {data} query --format {format} 'SELECT range AS x FROM range(200000)' | head -1; exit ${{PIPESTATUS[0]}}",
            env!("CARGO_BIN_EXE_hostwatch")
        );
        let out = Command::new("bash").arg("-c").arg(&script).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

#[test]
fn errors_on_a_fresh_install_say_each_thing_once_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let missing = dir.path().join("nope.toml");
    for (args, says, code) in [
        (vec!["--data-dir", data, "rollup"], "no hot store at", 1),
        (vec!["--data-dir", data, "query", "SELECT 1"], "the agent creates it at its first rollup", 1),
        (vec!["--config", missing.to_str().unwrap(), "status"], "No such file or directory", 2),
    ] {
        let out = hostwatch(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert_eq!(stderr.matches(says).count(), 1, "said once: {stderr}");
        assert!(!stderr.contains("Error code") && !stderr.contains("unable to open database file"), "{stderr}");
    }
    // No file to check is bad usage, as the README's rule says.
    let empty = dir.path().join("home");
    let out = crate::util::bin()
        .env("HOME", &empty)
        .env("XDG_CONFIG_HOME", &empty)
        .args(["config", "check"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no config file to check: pass FILE"), "{stderr}");
}

#[test]
fn trend_reads_dates_and_buckets_days_in_local_time_in_any_zone() {
    let s = Seeded::new(80, 3);
    assert!(s.run(&["rollup"]).status.success());
    let base = ["--config", s.path("config.toml"), "--data-dir", s.dir.path().to_str().unwrap()];
    for zone in ["Asia/Tokyo", "America/New_York", "UTC"] {
        use chrono::TimeZone;
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let today = chrono::Utc::now().with_timezone(&tz).date_naive();
        let (from, to) = (today - chrono::Days::new(2), today - chrono::Days::new(1));
        let day = [from.to_string(), to.to_string()];
        let args = [
            "trend",
            "disk.used_percent",
            "--label",
            "mount=/m1",
            "--since",
            &day[0],
            "--until",
            &day[1],
            "--step",
            "1d",
        ];
        let run = |format: &str| {
            let out =
                crate::util::bin().env("TZ", zone).args(base).args(args).args(["--format", format]).output().unwrap();
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{zone}: {stderr}");
            stdout
        };
        // One row: that whole local day, from its local midnight, and nothing past --until.
        let csv = run("csv");
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        let midnight = tz.from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap()).unwrap();
        let stamp = midnight.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        assert_eq!(rows.len(), 1, "{zone}: {csv}");
        assert!(rows[0].starts_with(&format!("{stamp},")), "{zone}: want {stamp}: {csv}");
        assert!(rows[0].ends_with(",8640"), "{zone}: a whole day of 10 s samples: {csv}");
        // People read the same local time, with its offset.
        let table = run("table");
        let shown = midnight.format("%Y-%m-%d %H:%M:%S %:z").to_string();
        assert!(table.lines().nth(1).is_some_and(|l| l.starts_with(&shown)), "{zone}: want {shown}: {table}");
    }
}

/// A zone of its own (a POSIX TZ rule: UTC+1, UTC+2 in summer) whose clocks change two
/// days ago, going back (a 25-hour day) or forward (23 hours): each day's bucket starts at
/// its local midnight, the day after the change too, and holds that day's samples.
#[test]
fn a_day_bucket_is_a_local_day_across_a_daylight_saving_change() {
    use chrono::Datelike;
    let s = Seeded::new(100, 3);
    assert!(s.run(&["rollup"]).status.success());
    let base = ["--config", s.path("config.toml"), "--data-dir", s.dir.path().to_str().unwrap()];
    // Two days ago in that zone (UTC+1 or +2 there, whichever): a day that is not 29 Feb.
    let mut day = (chrono::Utc::now() + chrono::Duration::hours(1)).date_naive() - chrono::Days::new(2);
    if (day.month(), day.day()) == (2, 29) {
        day = day - chrono::Days::new(1);
    }
    // `Jn` counts days of the year without 29 February; the other change is half a year off.
    let leap = day.leap_year() && day.ordinal() > 59;
    let n = day.ordinal() - u32::from(leap);
    let other = (n - 1 + 182) % 365 + 1;
    let (back, forward) = (format!("XST-1XDT,J{other}/2,J{n}/3"), format!("XST-1XDT,J{n}/2,J{other}/3"));
    let days = [day - chrono::Days::new(1), day, day + chrono::Days::new(1), day + chrono::Days::new(2)];
    let midnight = |d: chrono::NaiveDate, offset: &str| format!("{d}T00:00:00{offset}");
    for (zone, offsets, samples) in [
        (back, ["+02:00", "+02:00", "+01:00"], [8640, 9000, 8640]),
        (forward, ["+01:00", "+01:00", "+02:00"], [8640, 8280, 8640]),
    ] {
        let until = days[3].to_string();
        let trend = |since: &str| {
            let args = ["trend", "disk.used_percent", "--label", "mount=/m1", "--since", since, "--until", &until];
            let out = crate::util::bin()
                .env("TZ", &zone)
                .args(base)
                .args(args)
                .args(["--step", "1d", "--format", "csv"])
                .output()
                .unwrap();
            let (csv, stderr) = text(&out);
            assert!(out.status.success(), "{zone}: {stderr}");
            csv
        };
        let csv = trend(&days[0].to_string());
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(rows.len(), 3, "{zone}: {csv}");
        for i in 0..3 {
            let want = midnight(days[i], offsets[i]);
            assert!(rows[i].starts_with(&format!("{want},")), "{zone}: day {i} wants {want}: {csv}");
            assert!(rows[i].ends_with(&format!(",{}", samples[i])), "{zone}: day {i} holds {}: {csv}", samples[i]);
        }
        // From noon of the day of the change, after it: that whole day from its midnight.
        let noon = trend(&format!("{}T12:00:00{}", days[1], offsets[2]));
        assert_eq!(noon.lines().skip(1).collect::<Vec<_>>(), rows[1..], "{zone}: {noon}");
    }
}

#[test]
fn every_listing_command_speaks_json_for_scripts() {
    let s = Seeded::new(2, 3);
    let parse = |args: &[&str]| -> serde_json::Value {
        let out = s.run(args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    };
    let status = parse(&["status", "--format", "json"]);
    assert_eq!(status["agent"]["running"], false, "{status}");
    assert!(status["samples"]["count"].as_u64().unwrap() > 0, "{status}");
    let series = status["series"].as_array().unwrap();
    assert_eq!(series.len(), 3, "{status}");
    assert!(series.iter().all(|s| s["value"].is_number() && s["at"].as_str().is_some_and(|t| t.contains('T'))));

    let catalogue = parse(&["series", "--format", "json"]);
    let disk = catalogue.as_array().unwrap().iter().find(|s| s["metric"] == "disk.used_percent").unwrap();
    assert_eq!(disk["labels"]["mount"], "/m1", "{catalogue}");
    // Keys in the column order the table has.
    let (out, _) = text(&s.run(&["series", "--format", "json"]));
    let first = out.lines().nth(1).unwrap();
    let at = |k: &str| first.find(&format!("\"{k}\":")).unwrap();
    assert!(at("series") < at("metric") && at("metric") < at("labels") && at("unit") < at("last_seen"), "{first}");

    for (args, key) in [
        (vec!["rules", "list", "--format", "json"], "rule"),
        (vec!["checks", "--format", "json"], "job"),
        (vec!["report", "list", "--format", "json"], "id"),
    ] {
        let v = parse(&args);
        let rows = v.as_array().unwrap_or_else(|| panic!("{args:?}: {v}"));
        assert!(rows.iter().all(|r| r.get(key).is_some()), "{args:?}: {v}");
    }
    let checks = parse(&["checks", "--format", "json"]);
    assert_eq!((checks[0]["job"].as_str(), checks[0]["last_run"].is_null()), (Some("hourly_health"), true));
    let alerts = parse(&["alerts", "--format", "json"]);
    assert!(alerts["active"].is_array() && alerts["history"].is_array() && alerts["waiting"].is_array(), "{alerts}");
    let (csv, _) = text(&s.run(&["series", "--format", "csv"]));
    assert!(csv.starts_with("series,metric,labels,unit,first_seen,last_seen\n"), "{csv}");
    // A script's columns are plain text in CSV, not JSON strings in quotes.
    let cpu = csv.lines().find(|l| l.contains(",cpu.usage_percent,")).unwrap_or_else(|| panic!("{csv}"));
    assert!(cpu.contains(",%,") && !cpu.contains("\"\"\""), "{cpu}");
    // A value is a plain number in CSV, its unit in a column of its own.
    let (csv, _) = text(&s.run(&["status", "--format", "csv"]));
    let cpu = csv.lines().find(|l| l.contains(",cpu.usage_percent,")).unwrap_or_else(|| panic!("{csv}"));
    let fields: Vec<&str> = cpu.rsplitn(4, ',').collect();
    assert!(fields[2].parse::<f64>().is_ok() && fields[1] == "%", "value, unit: {cpu}");
}

#[test]
fn trend_speaks_units_to_people_names_the_flags_to_pick_a_series_and_adds_series_up() {
    let s = Seeded::new(3, 6);
    // Six series: two of each metric, e.g. disk.used_percent on /m1 and /m4.
    let out = s.run(&["trend", "disk.used_percent", "--since", "2h"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pick one, e.g. --label mount=/m1 or --label mount=/m4, or add them up with --sum"),
        "{stderr}"
    );
    let out = s.run(&["trend", "no.such_metric"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);

    // People see the unit, rounded to the metric's precision; scripts the plain number.
    let (table, _) = text(&s.run(&["trend", "disk.used_percent", "--label", "mount=/m1", "--since", "2h"]));
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(row.split("  ").filter(|c| c.trim().ends_with(" %")).count() == 3, "{table}");
    // --sum: each bucket is the sum of both series' means, and says two series had samples.
    let (csv, err) = text(&s.run(&["trend", "disk.used_percent", "--sum", "--since", "2h", "--format", "csv"]));
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty(), "{csv}{err}");
    assert!(rows.iter().all(|r| r[2] == "2"), "{csv}");
    let (one, _) =
        text(&s.run(&["trend", "disk.used_percent", "--label", "mount=/m1", "--since", "2h", "--format", "csv"]));
    let (four, _) =
        text(&s.run(&["trend", "disk.used_percent", "--label", "mount=/m4", "--since", "2h", "--format", "csv"]));
    let avg = |csv: &str| csv.lines().nth(1).unwrap().split(',').nth(1).unwrap().parse::<f64>().unwrap();
    let sum = rows[0][1].parse::<f64>().unwrap();
    assert!((sum - avg(&one) - avg(&four)).abs() < 1e-6, "{sum} vs {one}{four}");
}
