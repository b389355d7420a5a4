//! The checklist: a job's report on seeded data with a known answer, run on demand and by
//! the agent on its schedule, stored once per slot, its findings sent to a real webhook.

use std::path::Path;
use std::time::Duration;

use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Store};

use crate::util::{TestAgent, count, hook, hostwatch, text};
use crate::util_http::Receiver;

fn now() -> i64 {
    hostwatch::daemon::wall_ms() / 1000
}

/// The last hour of a machine whose CPU ran at 95% and whose memory sat at 40%.
fn busy_hour(hot: &Path) {
    std::fs::create_dir_all(hot.parent().unwrap()).unwrap();
    let mut store = Store::open(hot).unwrap();
    let mut batch = Batch::default();
    for ts in (now() - 3600..now()).step_by(5) {
        batch.samples.push(Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: 95.0 });
        batch.samples.push(Sample { key: SeriesKey::plain(&m::MEM_USED_PCT), ts, value: 40.0 });
    }
    store.write(&batch, now(), 0).unwrap();
}

#[test]
fn the_hourly_check_names_a_busy_hour_and_leaves_a_quiet_series_alone() {
    let dir = tempfile::tempdir().unwrap();
    busy_hour(&dir.path().join("hot.sqlite"));
    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "hourly_health"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("# Hourly health, "), "{stdout}");
    assert!(
        stdout.contains("- **critical** cpu.usage_percent{cpu=\"total\"}: avg 95.0, p95 95.0 over the hour (% above warning 70 / critical 90, rule cpu)"),
        "{stdout}"
    );
    assert!(!stdout.contains("memory.used_percent"), "40% is fine: {stdout}");
    assert!(stdout.contains("## Agent\n\n- hot store"), "{stdout}");

    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "nightly"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains(
            "no job \"nightly\"; the checklist is hourly_health, daily_review, weekly_trends, monthly_audit, quarterly_capacity"
        ),
        "{:?}",
        text(&out)
    );
}

#[test]
fn the_agent_runs_a_due_check_once_per_slot_stores_its_report_and_sends_its_findings() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    busy_hour(&dir.path().join("data/hot.sqlite"));
    // Every 3 seconds (the crate's form with seconds), so the test need not wait an hour.
    let config = String::from("[processes]\nenabled = false\n[alerts]\nenabled = false\n")
        + "[checks.jobs.hourly_health]\nschedule = \"*/3 * * * * *\"\n"
        + "[notify]\ndesktop = false\n"
        + &hook("ops", &receiver.url("/"), "");
    let mut agent = TestAgent::start_in(dir, &config);

    let got = receiver.wait_for(1, Duration::from_secs(20));
    let body = got[0].json();
    assert_eq!(body["alerts"][0]["alert"], "hourly_health");
    assert_eq!(body["alerts"][0]["event"], "report");
    assert_eq!(body["alerts"][0]["severity"], "critical");
    assert!(body["summary"].as_str().unwrap().starts_with("hourly_health found 1 thing to look at on"), "{body}");
    agent.wait_for(Duration::from_secs(20), "two runs", |c| count(c, "SELECT count(*) FROM check_runs") >= 2);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");

    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let runs = count(&conn, "SELECT count(*) FROM check_runs");
    assert_eq!(runs, count(&conn, "SELECT count(DISTINCT slot) FROM check_runs"), "one run per slot");
    let finished = count(&conn, "SELECT count(*) FROM check_runs WHERE finished_ms IS NOT NULL");
    assert_eq!(finished, runs, "a stop lets the run under way finish");
    assert_eq!(runs, count(&conn, "SELECT count(*) FROM reports"), "each run wrote its report");
    let data = agent.data_dir();
    let data = data.to_str().unwrap();
    let (listing, _) = text(&hostwatch(&[
        "--data-dir",
        data,
        "--config",
        agent.dir.path().join("config.toml").to_str().unwrap(),
        "checks",
    ]));
    let line = listing.lines().find(|l| l.starts_with("hourly_health")).unwrap_or_default();
    let report = line.split_whitespace().last().unwrap_or_default();
    assert!(line.contains("*/3 * * * * *") && line.contains(" findings ") && report == runs.to_string(), "{listing}");
    let (reports, _) = text(&hostwatch(&["--data-dir", data, "report", "list"]));
    assert!(reports.lines().nth(1).is_some_and(|l| l.contains("hourly_health") && l.contains("critical")), "{reports}");
    let (shown, _) = text(&hostwatch(&["--data-dir", data, "report", "show", "1"]));
    assert!(shown.starts_with("# Hourly health") && shown.contains("**critical** cpu.usage_percent"), "{shown}");
}

#[test]
fn a_disk_losing_a_gigabyte_a_day_gets_its_fill_date_whatever_the_outliers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let mut batch = Batch::default();
    let (start, gb) = (now() - 20 * 86_400, 1e9);
    for (i, ts) in (start..now()).step_by(600).enumerate() {
        let days = (ts - start) as f64 / 86_400.0;
        // 60 GB free 20 days ago, a gigabyte less each day; every 50th reading is junk
        // (a big download deleted again, a glitch), which a least-squares fit would follow.
        let free = if i % 50 == 7 { 5.0 * gb } else { 60.0 * gb - days * gb };
        batch.samples.push(Sample { key: SeriesKey::with(&m::DISK_FREE, "mount", "/data"), ts, value: free });
        batch.samples.push(Sample { key: SeriesKey::with(&m::DISK_FREE, "mount", "/"), ts, value: 100.0 * gb });
        // Swap creeping up a point a day from 20%: full in 60 days.
        batch.samples.push(Sample { key: SeriesKey::plain(&m::SWAP_USED_PCT), ts, value: 20.0 + days });
    }
    store.write(&batch, now(), 0).unwrap();
    drop(store);

    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "quarterly_capacity"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let data = stdout.lines().find(|l| l.contains("disk /data")).unwrap_or_default();
    assert!(data.starts_with("- **warning** disk /data: fills in about 40 days, on "), "{stdout}");
    assert!(data.ends_with("losing 1.00 GB a day"), "{stdout}");
    assert!(stdout.contains("- **info** disk /: free space is not shrinking"), "{stdout}");
    assert!(stdout.contains("hot store only"), "{stdout}");
    assert!(stdout.contains("- **info** swap.used_percent: reaches 100% in about 60 days, on "), "{stdout}");
    assert!(stdout.contains("- swap.used_percent: +7.00 points a week, now 40.0%"), "{stdout}");
}

#[test]
fn the_daily_review_finds_a_planted_anomaly_and_a_planted_leak_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let day_start = (now() - 86_400).div_euclid(3600) * 3600;
    let (busy_from, busy_to) = (day_start + 10 * 3600, day_start + 14 * 3600);
    let proc =
        |name: &str, pid: &str| SeriesKey::labelled(&m::PROC_RSS, vec![("name", name.into()), ("pid", pid.into())]);
    let mut batch = Batch::default();
    for ts in (day_start - 7 * 86_400..now()).step_by(60) {
        // The same daily shape every day, except four busy hours yesterday.
        let usual = 10.0 + (ts.rem_euclid(86_400) / 3600) as f64 * 0.5;
        let cpu = if (busy_from..busy_to).contains(&ts) { 80.0 } else { usual };
        batch.samples.push(Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: cpu });
        if ts % 600 == 0 && ts >= day_start - 6 * 86_400 {
            let days = (ts - (day_start - 6 * 86_400)) as f64 / 86_400.0;
            batch.samples.push(Sample { key: proc("leaky", "42"), ts, value: 200e6 + 50e6 * days });
            let wobble = if ts % 1200 == 0 { 1e6 } else { -1e6 };
            batch.samples.push(Sample { key: proc("steady", "7"), ts, value: 300e6 + wobble });
            let cpu_key = SeriesKey::labelled(&m::PROC_CPU, vec![("name", "builder".into()), ("pid", "9".into())]);
            batch.samples.push(Sample { key: cpu_key, ts, value: 150.0 });
        }
    }
    // A build yesterday: many compilers, each hot for a minute. Reviewed last, if at all.
    for n in 0..120 {
        let ts = day_start + 3600 + n * 60;
        let key = SeriesKey::labelled(&m::PROC_CPU, vec![("name", format!("cc-{n}")), ("pid", (1000 + n).to_string())]);
        batch.samples.extend([0, 59].map(|dt| Sample { key: key.clone(), ts: ts + dt, value: 100.0 }));
    }
    store.write(&batch, now(), 0).unwrap();
    drop(store);

    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "daily_review"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let findings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("- **")).collect();
    assert_eq!(findings.len(), 2, "{stdout}");
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("- **warning** cpu.usage_percent{cpu=\"total\"}: averaged 80.0 % for 4 hours")),
        "{stdout}"
    );
    assert!(
        findings.iter().any(|f| f.contains("process.rss_bytes{name=\"leaky\"}: memory grew 50.0 MB a day for 7 days")),
        "{stdout}"
    );
    assert!(stdout.contains("## Largest processes\n\n- process.rss_bytes{name=\"leaky\"}: "), "{stdout}");
    let busiest = "## Busiest processes\n\n- process.cpu_percent{name=\"builder\"}: 150.0% of a core on average \
                   while sampled (1 pid)\n";
    assert!(stdout.contains(busiest), "{stdout}");
    assert!(stdout.contains("- 23 more process names, each seen less, were not reviewed"), "{stdout}");
    assert!(stdout.contains("cpu.usage_percent{cpu=\"total\"}: hourly peak 80.0 %, average "), "{stdout}");
    assert!(stdout.contains("(the 7 days before: peak 21.5 %, average 15.8 %)"), "{stdout}");
}

#[test]
fn the_weekly_trends_rank_the_biggest_movers_and_time_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let mut batch = Batch::default();
    // The change lands on the first whole hour of this week, as the hourly buckets see it.
    let change = (now() - 7 * 86_400).div_euclid(3600) * 3600 + 3600;
    for ts in (now() - 14 * 86_400..now()).step_by(300) {
        let this_week = ts >= change;
        let cpu = if this_week { 40.0 } else { 20.0 };
        batch.samples.push(Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: cpu });
        batch.samples.push(Sample {
            key: SeriesKey::plain(&m::MEM_USED_PCT),
            ts,
            value: if this_week { 55.0 } else { 50.0 },
        });
    }
    store.write(&batch, now(), 0).unwrap();
    drop(store);

    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "weekly_trends"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let movers: Vec<&str> = stdout.split("## Biggest movers\n\n").nth(1).unwrap_or_default().lines().take(2).collect();
    assert!(movers[0].starts_with("- cpu.usage_percent{cpu=\"total\"}: 20.0 % → 40.0 % (+100%)"), "{stdout}");
    assert!(movers[1].starts_with("- memory.used_percent: 50.00 % → 55.00 % (+10%)"), "{stdout}");
    for part in ["cpu", "memory", "disk fsync"] {
        assert!(stdout.contains(&format!("- {part}: ")), "{part}: {stdout}");
    }
    assert!(stdout.contains("(first run: the baseline)"), "{stdout}");

    // When the agent runs it, the benchmark is kept with the report for later weeks.
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let config = hostwatch::config::Config::defaults();
    let ctx = config.checks_context(&dir.path().join("archive.duckdb"), hostwatch::daemon::wall_ms);
    let report = hostwatch::checks::run_job(&config.checks.jobs[2], &store, &ctx, now()).unwrap();
    assert!(store.claim_slot("weekly_trends", now(), now() * 1000, None).unwrap());
    assert!(!store.claim_slot("weekly_trends", now(), now() * 1000, None).unwrap(), "a slot is claimed once");
    store.finish_run("weekly_trends", now(), "ok", Some(&report), now() * 1000).unwrap();
    assert_eq!(store.benches().unwrap(), vec![report.bench.unwrap()]);
}

#[test]
fn the_monthly_audit_keeps_baselines_and_names_rules_that_never_or_always_fire() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    // A host sampled once a minute: the replay of the rules sees each minute as a tick.
    std::fs::write(&config, "[sampling]\ninterval = \"60s\"\n[archive]\nhot_window = \"1h\"\n").unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let mut store = Store::open(&data.join("hot.sqlite")).unwrap();
    let mut batch = Batch::default();
    // Ten days of an idle CPU with a 10-minute build on two of them, and a memory always
    // past the built-in warning (80%), at 97% for half an hour on one day.
    for (i, ts) in (now() - 10 * 86_400..now() - 7200).step_by(60).enumerate() {
        let (day, minute) = (i / 1440, i % 1440);
        let build = [2, 5].contains(&day) && (600..610).contains(&minute);
        let cpu = if build { 30.0 } else { 4.0 + (i % 3) as f64 };
        batch.samples.push(Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: cpu });
        let spike = day == 7 && (300..330).contains(&minute);
        let memory = if spike { 97.0 } else { 84.0 + (i % 5) as f64 };
        batch.samples.push(Sample { key: SeriesKey::plain(&m::MEM_USED_PCT), ts, value: memory });
    }
    store.write(&batch, now(), 0).unwrap();
    drop(store);
    let (config, data) = (config.to_str().unwrap(), data.to_str().unwrap());
    let rollup = hostwatch(&["--config", config, "--data-dir", data, "rollup"]);
    assert!(rollup.status.success(), "{:?}", text(&rollup));

    let out = hostwatch(&["--config", config, "--data-dir", data, "report", "run", "monthly_audit"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("- **warning** rule memory: would have been firing 100% of the 10 days replayed (median 86.00 %, threshold 80); 91.35 would have been firing on 1 of those days"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- **info** rule cpu: never fired in the 10 days replayed: p99 is 6.0 %, far from 70; 5.6 would have been firing on 2 of those days"),
        "{stdout}"
    );
    assert!(stdout.contains("- memory.used_percent: p50 86.00 %, p95 88.00 %, p99 88.00 % ("), "{stdout}");

    // When the agent runs it, the baselines are kept.
    let mut store = Store::open(&std::path::Path::new(data).join("hot.sqlite")).unwrap();
    let cfg = hostwatch::config::Config::load(std::path::Path::new(config)).unwrap();
    let ctx = cfg.checks_context(&std::path::Path::new(data).join("archive.duckdb"), hostwatch::daemon::wall_ms);
    let report = hostwatch::checks::run_job(&cfg.checks.jobs[3], &store, &ctx, now()).unwrap();
    assert!(store.claim_slot("monthly_audit", now(), now() * 1000, None).unwrap());
    store.finish_run("monthly_audit", now(), "findings", Some(&report), now() * 1000).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(std::path::Path::new(data).join("hot.sqlite")).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM baselines"), 2);
    drop(conn);

    // An hour at 40%: far below the CPU rule's 70, far above this host's usual p99 of 6.
    let mut store = Store::open(&std::path::Path::new(data).join("hot.sqlite")).unwrap();
    let hour: Vec<Sample> = (now() - 3000..now())
        .step_by(60)
        .map(|ts| Sample { key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"), ts, value: 40.0 })
        .collect();
    store.write(&Batch { samples: hour, gaps: Vec::new(), probes: Vec::new() }, now(), 0).unwrap();
    drop(store);
    let out = hostwatch(&["--config", config, "--data-dir", data, "report", "run", "hourly_health"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(
            "- **info** cpu.usage_percent{cpu=\"total\"}: p95 40.0 % over the hour, above its usual p99 of 6.0 %"
        ),
        "{stdout}"
    );
}

#[test]
fn a_users_sql_check_finds_what_its_condition_says_and_a_failing_query_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    busy_hour(&dir.path().join("hot.sqlite"));
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[checks.custom.busy_cpu]\nschedule = \"*/10 * * * *\"\n\
         sql = \"SELECT avg(value) FROM sample_values WHERE metric = 'cpu.usage_percent'\"\n\
         condition = \"value\"\nwarning = 50\ncritical = 90\n\
         [checks.custom.any_gap]\nschedule = \"0 * * * *\"\nsql = \"SELECT start_ts, reason FROM gaps\"\n\
         [checks.custom.nothing]\nschedule = \"0 * * * *\"\nsql = \"SELECT NULL\"\n\
         [checks.custom.old_days]\nschedule = \"0 9 * * *\"\nstore = \"archive\"\nsql = \"SELECT count(*) FROM samples\"\n",
    )
    .unwrap();
    let run = |name: &str| {
        let out = report_run(&config, dir.path(), name);
        assert!(out.status.success(), "{:?}", text(&out));
        text(&out).0
    };
    let busy = run("busy_cpu");
    assert!(busy.contains("- **critical** check busy_cpu: value 95 is above its critical threshold 90"), "{busy}");
    assert!(run("any_gap").contains("Nothing to report."), "no gaps, no rows");
    let nothing = run("nothing");
    assert!(
        nothing.contains("\n- NULL\n") && !nothing.contains("\n- \n"),
        "a NULL is shown, not an empty bullet: {nothing}"
    );
    let old = run("old_days");
    assert!(old.contains("- **warning** check old_days: the query failed: the archive cannot be read"), "{old}");
    let (listing, _) =
        text(&hostwatch(&["--config", config.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap(), "checks"]));
    assert!(listing.lines().any(|l| l.starts_with("busy_cpu") && l.contains("*/10 * * * *")), "{listing}");
}

#[test]
fn a_check_past_its_timeout_is_stopped_and_recorded_and_the_next_slot_runs() {
    // A query that would count for a long time; its timeout is one second.
    let slow =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c";
    times_out_twice_and_stops(tempfile::tempdir().unwrap(), "hot", slow);
}

#[test]
fn an_archive_check_past_its_timeout_is_interrupted_and_sigterm_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    hostwatch::archive::Archive::open_write(&data.join("archive.duckdb")).unwrap().close().unwrap();
    // Minutes of work at full CPU in DuckDB; its timeout is one second.
    let slow = "SELECT sum(a.range * b.range) FROM range(100000000) a, range(1000) b";
    times_out_twice_and_stops(dir, "archive", slow);
}

#[test]
fn the_agent_starts_on_a_check_whose_sql_fails_and_each_run_says_why() {
    // `config check` and every other command refuse this check (the invalid fixtures); the
    // agent prepares a check's SQL only when it runs, so it starts no DuckDB to validate it.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    hostwatch::archive::Archive::open_write(&data.join("archive.duckdb")).unwrap().close().unwrap();
    let config = "[processes]\nenabled = false\n[alerts]\nenabled = false\n[notify]\ndesktop = false\n\
                  [checks.custom.old]\nschedule = \"*/2 * * * * *\"\nstore = \"archive\"\n\
                  sql = \"SELECT avg(value) FROM no_such_view\"\n";
    let mut agent = TestAgent::start_in(dir, config);
    agent.wait_for(Duration::from_secs(30), "a report of the failing check", |c| {
        count(c, "SELECT count(*) FROM reports WHERE job = 'old' AND markdown LIKE '%no_such_view%'") >= 1
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let markdown: String =
        conn.query_row("SELECT markdown FROM reports WHERE job = 'old' LIMIT 1", [], |r| r.get(0)).unwrap();
    assert!(markdown.contains("- **warning** check old: the query failed: "), "{markdown}");
    assert!(markdown.contains("`hostwatch config check` prepares every check's SQL"), "{markdown}");

    // Counting statements still happens at start: a second one would run at prepare time.
    let wipe =
        "[checks.custom.wipe]\nschedule = \"0 * * * *\"\nstore = \"archive\"\nsql = \"DELETE FROM raw; SELECT 1\"\n";
    let path = agent.dir.path().join("config.toml");
    std::fs::write(&path, wipe).unwrap();
    let sql = hostwatch::config::SqlCheck::Count;
    let err = hostwatch::config::Config::load_with(&path, sql).unwrap_err().to_string();
    assert!(err.ends_with("4:7: checks.custom.wipe.sql does not run on the archive store: the SQL holds 2 statements; give exactly one (a `;` may only end it)"), "{err}");
}

/// Runs `slow` on `store` every 2 s with a 1 s timeout: two runs time out, none overlaps
/// the next, and SIGTERM stops the agent within `stop`'s 10 s.
fn times_out_twice_and_stops(dir: tempfile::TempDir, store: &str, slow: &str) {
    let config = format!(
        "[processes]\nenabled = false\n[alerts]\nenabled = false\n[notify]\ndesktop = false\n\
         [checks.custom.slow]\nschedule = \"*/2 * * * * *\"\nstore = \"{store}\"\nsql = \"{slow}\"\ntimeout = \"1s\"\n"
    );
    let mut agent = TestAgent::start_in(dir, &config);
    agent.wait_for(Duration::from_secs(30), "two timed-out runs", |c| {
        count(c, "SELECT count(*) FROM check_runs WHERE outcome = 'timed out after 1s'") >= 2
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    // Stopped at the deadline: each run ended before the next began.
    let overlaps = count(
        &conn,
        "SELECT count(*) FROM check_runs a JOIN check_runs b ON b.slot > a.slot
         WHERE b.started_ms < a.finished_ms",
    );
    assert_eq!(overlaps, 0);
}

/// `hostwatch report run NAME` with `config` on the data dir `data`.
fn report_run(config: &Path, data: &Path, name: &str) -> std::process::Output {
    hostwatch(&["--config", config.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "report", "run", name])
}

#[test]
fn a_check_returning_millions_of_rows_reports_the_count_and_keeps_twenty() {
    let dir = tempfile::tempdir().unwrap();
    busy_hour(&dir.path().join("hot.sqlite"));
    let config = dir.path().join("config.toml");
    let many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT x FROM c";
    std::fs::write(&config, format!("[checks.custom.many]\nschedule = \"0 * * * *\"\nsql = \"{many}\"\n")).unwrap();
    let out = report_run(&config, dir.path(), "many");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("check many: 2000000 rows: 1"), "{stdout}");
    assert!(stdout.lines().any(|l| l.trim_start_matches("- ").trim() == "20"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.trim_start_matches("- ").trim() == "21"), "{stdout}");
}

#[test]
fn an_hourly_finding_from_a_few_seconds_names_the_span_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let cpu = SeriesKey::with(&m::CPU_USAGE, "cpu", "total");
    let samples = (1..=3).map(|i| Sample { key: cpu.clone(), ts: now() - 5 * i, value: 100.0 }).collect();
    store.write(&Batch { samples, gaps: Vec::new(), probes: Vec::new() }, now(), 0).unwrap();
    drop(store);
    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "report", "run", "hourly_health"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("avg 100.0, p95 100.0 over 10s of the hour (3 samples)"), "{stdout}");
    assert!(!stdout.contains("over the hour"), "{stdout}");
}

#[test]
fn reports_on_six_hours_of_history_say_so_instead_of_forecasting_or_reviewing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    let mut batch = Batch::default();
    // Six hours of a disk losing 10 GB an hour and memory climbing 5 points an hour: a
    // line through them would say "full in days".
    for (i, ts) in (now() - 6 * 3600..now()).step_by(60).enumerate() {
        let free = 500e9 - 10e9 * i as f64 / 60.0;
        batch.samples.push(Sample { key: SeriesKey::with(&m::DISK_FREE, "mount", "/"), ts, value: free });
        batch.samples.push(Sample { key: SeriesKey::plain(&m::MEM_USED_PCT), ts, value: 40.0 + 5.0 * i as f64 / 60.0 });
    }
    store.write(&batch, now(), 0).unwrap();
    drop(store);
    let data = dir.path().to_str().unwrap();
    for (job, says) in [
        ("quarterly_capacity", "a forecast needs 7 days; none was made"),
        ("daily_review", "the review needs the whole last day"),
    ] {
        let out = hostwatch(&["--data-dir", data, "report", "run", job]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("- **info** history: only 6h") && stdout.contains(says), "{job}: {stdout}");
        assert!(!stdout.contains("Nothing to report."), "{job}: {stdout}");
        let judged = stdout.lines().filter(|l| l.starts_with("- **warning**") || l.starts_with("- **critical**"));
        assert_eq!(judged.count(), 0, "{job} judged six hours: {stdout}");
        assert!(!stdout.contains("fills in") && !stdout.contains("points a week"), "{job}: {stdout}");
    }
}
