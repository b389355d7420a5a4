//! `hostwatch rules backtest` against what the real agent announced: the agent runs on a
//! fixture battery that drains, is restarted mid-alert and recovers; the backtest replays
//! its store afterwards and must announce exactly the same changes at the same seconds.

use std::time::Duration;

use crate::util::{TestAgent, battery, hostwatch, laptop, text, wait_until};

/// The battery rules: the built-in (warning 15, critical 5, while discharging) and one
/// with a `for`, so pending, escalation and de-escalation all happen.
fn config(sys: &std::path::Path) -> String {
    let mut c = String::from(
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n\
         [alerts]\ngrace = \"2s\"\n",
    );
    for rule in ["cpu", "memory", "disk_space", "swap", "load"] {
        c.push_str(&format!("[alerts.rules.{rule}]\nenabled = false\n"));
    }
    c.push_str(
        "[alerts.rules.battery_half]\nmetric = \"battery.charge_percent\"\ndirection = \"below\"\n\
         warning = 50\ncritical = 30\nclear = 55\nfor = \"3s\"\n",
    );
    c + &format!("[host]\nsys_root = {:?}\n[notify]\ndesktop = false\n", sys.to_str().unwrap())
}

/// (at_ms, rule, event, severity, value) of every announced change, oldest first.
type Change = (i64, String, String, String, f64);

fn live_changes(store: &std::path::Path) -> Vec<Change> {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut stmt = conn.prepare("SELECT at_ms, rule, event, severity, value FROM alert_events ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn events_so_far(agent: &TestAgent) -> usize {
    rusqlite::Connection::open(agent.store())
        .ok()
        .and_then(|c| c.query_row("SELECT count(*) FROM alert_events", [], |r| r.get::<_, i64>(0)).ok())
        .map_or(0, |n| usize::try_from(n).unwrap())
}

#[test]
fn a_backtest_of_a_recorded_stretch_announces_exactly_what_the_agent_did() {
    let (dir, sys) = laptop();
    battery(&sys, 60, "Discharging");
    let started = chrono::Utc::now().timestamp() - 1;
    let mut agent = TestAgent::start_in(dir, &config(&sys));
    let wait_events = |agent: &TestAgent, n: usize, what: &str| {
        wait_until(Duration::from_secs(20), what, || events_so_far(agent) >= n);
    };
    std::thread::sleep(Duration::from_secs(3));
    battery(&sys, 40, "Discharging");
    wait_events(&agent, 1, "battery_half to fire after its 3 s");
    battery(&sys, 12, "Discharging");
    wait_events(&agent, 3, "battery_low to fire and battery_half to escalate");
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");

    // Restarted while both fire: the alerts come back from the store, the grace holds them.
    battery(&sys, 45, "Discharging");
    // In a later second than the old run's last tick: the store keeps one value per series
    // per second, so a tick of the new run in that same second is never stored to replay.
    std::thread::sleep(Duration::from_millis(1100));
    agent.spawn();
    wait_events(&agent, 5, "battery_low to resolve and battery_half to de-escalate after the grace");
    battery(&sys, 80, "Charging");
    wait_events(&agent, 6, "battery_half to resolve");
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");

    let live = live_changes(&agent.store());
    let kinds: Vec<(&str, &str)> = live.iter().map(|c| (c.1.as_str(), c.2.as_str())).collect();
    assert!(kinds.contains(&("battery_half", "de-escalated")), "{live:?}");
    assert!(kinds.contains(&("battery_low", "resolved")), "{live:?}");

    let config_path = agent.dir.path().join("config.toml");
    let since = chrono::DateTime::from_timestamp(started, 0).unwrap().to_rfc3339();
    let data = agent.data_dir();
    let args = ["--config", config_path.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    let out = hostwatch(&[&args[..], &["rules", "backtest", "--since", &since, "--format", "json"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let replayed: Vec<Change> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (e["at_ms"].as_i64().unwrap(), s("rule"), s("event"), s("severity"), e["value"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(replayed, live, "the backtest must announce what the agent announced");
    let notices = json["notices"].as_u64().unwrap();
    assert!(notices >= 4 && notices <= live.len() as u64, "{notices} notices for {} changes", live.len());
    let half = json["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "battery_half").unwrap();
    assert_eq!(half["fired"], 1);
    assert!(half["firing_seconds"].as_i64().unwrap() >= 5, "{half}");

    // One rule by name, in the table; an unknown name is a usage error naming the rules.
    let out = hostwatch(&[&args[..], &["rules", "backtest", "battery_low", "--since", &since]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("battery_low") && !stdout.contains("battery_half"), "{stdout}");
    assert!(stdout.contains("DAY") && stdout.contains("TIME FIRING"), "{stdout}");
    let out = hostwatch(&[&args[..], &["rules", "backtest", "batery_low"]].concat());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"batery_low\"") && stderr.contains("battery_low,") && stderr.contains("battery_half"),
        "{stderr}"
    );
    let out = hostwatch(&[&args[..], &["rules", "backtest", "--since", "1h", "--until", "2h"]].concat());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "a reversed span is a usage error: {stderr}");
    assert!(stderr.contains("--since (") && stderr.contains("must be before --until"), "{stderr}");
    // A rule in a config not in use yet: what it would have said on the same history.
    let trial = agent.dir.path().join("trial.toml");
    let rule = "[alerts.rules.battery_30]\nmetric = \"battery.charge_percent\"\ndirection = \"below\"\nwarning = 30\n";
    std::fs::write(&trial, config(&sys) + rule).unwrap();
    let try_args = ["--config", trial.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    let out = hostwatch(
        &[&try_args[..], &["rules", "backtest", "battery_30", "--since", &since, "--format", "csv"]].concat(),
    );
    let (csv, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let fired: Vec<&str> = csv.lines().filter(|l| l.contains(",battery_30,fired,")).collect();
    assert_eq!(fired.len(), 1, "the trial rule fires once, when the battery fell to 12: {csv}");
    assert!(fired[0].contains(",12,"), "{csv}");
}

#[test]
fn a_backtest_reads_the_archive_below_the_watermark_and_says_where_only_minute_means_remain() {
    use hostwatch::metrics::{self as m, Sample, SeriesKey};
    use hostwatch::store::{Batch, Store};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("config.toml");
    let toml = "[sampling]\ninterval = \"10s\"\n[archive]\nhot_window = \"1h\"\nraw_retention = \"1d\"\n";
    std::fs::write(&config, toml).unwrap();
    // Three days of memory at 50%, at 90% for an hour 60 h ago (where the archive keeps
    // only one-minute means) and 10 h ago (raw rows in the archive), and a heartbeat.
    let now = chrono::Utc::now().timestamp();
    let mut store = Store::open(&data.join("hot.sqlite")).unwrap();
    let mut batch = Batch::default();
    let high =
        |ts: i64| (now - 60 * 3600..now - 59 * 3600).contains(&ts) || (now - 10 * 3600..now - 9 * 3600).contains(&ts);
    for ts in (now - 72 * 3600..now - 60).step_by(10) {
        let memory = if high(ts) { 90.0 } else { 50.0 };
        batch.samples.push(Sample { key: SeriesKey::plain(&m::MEM_USED_PCT), ts, value: memory });
        batch.samples.push(Sample { key: SeriesKey::plain(&m::UPTIME), ts, value: 1.0 });
    }
    store.write(&batch, now, 0).unwrap();
    drop(store);
    let (config, data) = (config.to_str().unwrap(), data.to_str().unwrap());
    let rollup = hostwatch(&["--config", config, "--data-dir", data, "rollup"]);
    assert!(rollup.status.success(), "{:?}", text(&rollup));

    let out = hostwatch(&[
        "--config",
        config,
        "--data-dir",
        data,
        "rules",
        "backtest",
        "memory",
        "--since",
        "3d",
        "--format",
        "json",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let fired: Vec<i64> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "fired")
        .map(|e| (now - e["at_ms"].as_i64().unwrap() / 1000) / 3600)
        .collect();
    assert_eq!(fired, vec![59, 9], "hours ago of each firing, 60 h ago from minute means: {stdout}");
    assert!(json["coverage"]["minute_means"].as_u64().unwrap() > 0, "{stdout}");
    assert!(json["coverage"]["raw_samples"].as_u64().unwrap() > 0, "{stdout}");
    let notes = json["coverage"]["notes"].to_string();
    assert!(notes.contains("Only one-minute means remain from"), "{notes}");
    let days = json["days"].as_array().unwrap();
    assert!(days.len() >= 3, "every local day of the span is listed: {days:?}");
}
