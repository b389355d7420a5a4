//! Alerts end to end: the real agent, a fixture battery that drains on command, and a real
//! webhook receiver on 127.0.0.1 that verifies what it gets.

use std::time::Duration;

use hostwatch::notify::sign;

use crate::util::{TestAgent, alert_config, battery, count, hook, hostwatch, laptop, text};
use crate::util_http::{Receiver, Request, free_port};

/// The one alert of a generic JSON notice: (event, severity, value).
fn alert(req: &Request) -> (String, String, f64) {
    let body = req.json();
    assert_eq!(body["schema"], "hostwatch.notification.v1");
    let a = &body["alerts"][0];
    (a["event"].as_str().unwrap().to_owned(), a["severity"].as_str().unwrap().to_owned(), a["value"].as_f64().unwrap())
}

fn assert_signed(req: &Request) {
    let ts: i64 = req.header("x-hostwatch-timestamp").expect("a timestamp header").parse().unwrap();
    let expected = sign("s3cret", ts, &req.body);
    assert_eq!(req.header("x-hostwatch-signature"), Some(expected.as_str()), "signature of {req:?}");
    assert_eq!(req.header("idempotency-key"), req.json()["idempotency_key"].as_str());
}

#[test]
fn a_draining_battery_sends_signed_alerts_as_it_falls_and_a_resolution_on_the_charger() {
    let receiver = Receiver::start();
    let (dir, sys) = laptop();
    let mut agent =
        TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &receiver.url("/hook"), "")));

    battery(&sys, 12, "Discharging");
    let got = receiver.wait_for(1, Duration::from_secs(15));
    assert_eq!(alert(&got[0]), ("fired".into(), "warning".into(), 12.0));
    let body = got[0].json();
    assert_eq!(body["alerts"][0]["alert"], "battery_low");
    assert_eq!(body["alerts"][0]["labels"]["battery"], "BAT1");
    assert_eq!(body["alerts"][0]["threshold"], 15.0);
    assert_eq!(got[0].path, "/hook");

    battery(&sys, 4, "Discharging");
    let got = receiver.wait_for(2, Duration::from_secs(15));
    assert_eq!(alert(&got[1]), ("escalated".into(), "critical".into(), 4.0));

    let rules = hostwatch(&["--data-dir", agent.data_dir().to_str().unwrap(), "rules"]);
    let (stdout, _) = text(&rules);
    assert!(stdout.lines().any(|l| l.starts_with("battery_low") && l.contains("firing critical")), "{stdout}");

    battery(&sys, 4, "Charging");
    let got = receiver.wait_for(3, Duration::from_secs(15));
    assert_eq!(alert(&got[2]).0, "resolved");
    got.iter().for_each(assert_signed);

    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    let out = hostwatch(&["--data-dir", agent.data_dir().to_str().unwrap(), "alerts"]);
    let (stdout, _) = text(&out);
    assert!(stdout.starts_with("No alert is firing or pending."), "{stdout}");
    for event in ["fired", "escalated", "resolved"] {
        assert!(stdout.lines().any(|l| l.contains("battery_low") && l.contains(event)), "{event}: {stdout}");
    }
}

#[test]
fn notices_outlive_a_receiver_outage_and_a_kill_9_and_arrive_in_order_once() {
    let port = free_port();
    let (dir, sys) = laptop();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut agent = TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &url, "")));
    let pending = |agent: &TestAgent, n: i64| {
        agent.wait_for(Duration::from_secs(15), &format!("{n} pending notices"), |c| {
            count(c, "SELECT count(*) FROM outbox WHERE done_ms IS NULL") == n
        });
    };

    // The receiver is down (laptop offline): the alert fires and escalates anyway.
    battery(&sys, 12, "Discharging");
    pending(&agent, 1);
    battery(&sys, 4, "Discharging");
    pending(&agent, 2);
    agent.wait_for(Duration::from_secs(15), "failed attempts", |c| {
        count(c, "SELECT max(attempts) FROM outbox WHERE done_ms IS NULL") >= 1
    });

    // A kill -9 in the middle: the firing alert is neither forgotten nor announced again.
    agent.signal(libc::SIGKILL);
    agent.wait(Duration::from_secs(10));
    let waiting = hostwatch(&["--data-dir", agent.data_dir().to_str().unwrap(), "alerts"]);
    assert!(text(&waiting).0.contains("2 notices waiting for ops"), "{}", text(&waiting).0);
    let status = hostwatch(&["--data-dir", agent.data_dir().to_str().unwrap(), "status"]);
    let line = text(&status).0.lines().find(|l| l.starts_with("alerts")).unwrap_or_default().to_owned();
    assert!(line.starts_with("alerts    1 firing (1 critical), 0 pending; 2 notices waiting for ops since"), "{line}");
    agent.spawn();
    // Plugged in while still offline: the resolution joins the queue.
    battery(&sys, 4, "Charging");
    pending(&agent, 3);

    // Back online: everything arrives, in order, once.
    let receiver = Receiver::start_on(port);
    let got = receiver.wait_for(3, Duration::from_secs(20));
    let events: Vec<String> = got.iter().map(|r| alert(r).0).collect();
    assert_eq!(events, ["fired", "escalated", "resolved"]);
    std::thread::sleep(Duration::from_secs(2));
    let got = receiver.requests();
    let mut keys: Vec<&str> = got.iter().filter_map(|r| r.header("idempotency-key")).collect();
    keys.dedup();
    assert_eq!(keys.len(), 3, "nothing new after the three: {got:#?}");
    pending(&agent, 0);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn quiet_hours_hold_back_desktop_warnings_but_not_webhooks_or_criticals() {
    let receiver = Receiver::start();
    let (dir, sys) = laptop();
    // Quiet from an hour ago to two hours from now, UTC (the agent runs with TZ=UTC).
    let hm = |h: i64| {
        let t = chrono::Utc::now() + chrono::Duration::hours(h);
        t.format("%H:%M").to_string()
    };
    let quiet = format!("desktop = true\nquiet_hours = \"{}-{}\"\n", hm(-1), hm(2));
    let cfg = alert_config(&sys, &quiet, &hook("ops", &receiver.url("/"), ""));
    // No session bus: a desktop notice that is not suppressed stays pending, retried.
    let env = [("TZ", "UTC"), ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let agent = TestAgent::start_with_env(dir, &cfg, &env);
    // Each notice has a desktop row, then a webhook row: the desktop rows are 1 and 3.
    let outcome = |agent: &TestAgent, id: i64, want: &'static str| {
        let sql = format!("SELECT count(*) FROM outbox WHERE channel = 'desktop' AND id = {id} AND {want}");
        agent.wait_for(Duration::from_secs(15), &sql.clone(), move |c| count(c, &sql) == 1);
    };

    battery(&sys, 12, "Discharging");
    receiver.wait_for(1, Duration::from_secs(15));
    outcome(&agent, 1, "outcome = 'suppressed'");
    battery(&sys, 4, "Discharging");
    receiver.wait_for(2, Duration::from_secs(15));
    outcome(&agent, 3, "done_ms IS NULL AND attempts >= 1");
}

#[test]
fn a_refused_notice_is_not_retried_and_does_not_hold_back_the_next() {
    let receiver = Receiver::start();
    receiver.answer(400);
    let (dir, sys) = laptop();
    let agent =
        TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &receiver.url("/"), "")));

    battery(&sys, 12, "Discharging");
    agent.wait_for(Duration::from_secs(15), "the refused notice marked failed", |c| {
        count(c, "SELECT count(*) FROM outbox WHERE outcome = 'failed' AND last_error LIKE '%HTTP 400%'") == 1
    });
    receiver.answer(200);
    battery(&sys, 12, "Charging");
    let got = receiver.wait_for(2, Duration::from_secs(15));
    assert_eq!(alert(&got[1]).0, "resolved");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.requests().len(), 2, "the refused one was asked once");
}

#[test]
fn notices_for_a_webhook_removed_from_the_config_are_dropped_at_start() {
    let (dir, sys) = laptop();
    let url = format!("http://127.0.0.1:{}/", free_port());
    let mut agent = TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("gone", &url, "")));
    battery(&sys, 12, "Discharging");
    agent.wait_for(Duration::from_secs(15), "a pending notice", |c| {
        count(c, "SELECT count(*) FROM outbox WHERE done_ms IS NULL") == 1
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");

    std::fs::write(agent.dir.path().join("config.toml"), alert_config(&sys, "desktop = false\n", "")).unwrap();
    agent.spawn();
    agent.wait_for(Duration::from_secs(15), "the orphan marked failed", |c| {
        count(c, "SELECT count(*) FROM outbox WHERE done_ms IS NULL") == 0
            && count(c, "SELECT count(*) FROM outbox WHERE last_error = 'channel no longer configured'") == 1
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("notices for a channel that is no longer configured are dropped"), "{stderr}");
}

#[test]
fn a_hot_store_that_is_not_sqlite_is_moved_aside_and_announced_as_critical() {
    let receiver = Receiver::start();
    let (dir, sys) = laptop();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hot.sqlite"), vec![0x5a_u8; 8192]).unwrap();
    let mut agent =
        TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &receiver.url("/hook"), "")));
    let text_of = |r: &Request| String::from_utf8_lossy(&r.body).into_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let notice = loop {
        if let Some(n) = receiver.requests().iter().map(text_of).find(|b| b.contains("moved aside")) {
            break n;
        }
        assert!(std::time::Instant::now() < deadline, "no notice about the store: {:?}", receiver.requests());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(notice.contains("critical"), "{notice}");
    let aside: Vec<_> = std::fs::read_dir(agent.data_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("hot.sqlite.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(agent.data_dir().join(&aside[0])).unwrap(), vec![0x5a_u8; 8192], "kept as it was");
    agent.wait_for(Duration::from_secs(10), "samples in the new store", |c| {
        count(c, "SELECT count(*) FROM samples") > 0
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_delivered_notice_the_store_cannot_mark_is_not_posted_again() {
    let receiver = Receiver::start();
    receiver.hold(true);
    let (dir, sys) = laptop();
    let mut agent =
        TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &receiver.url("/hook"), "")));
    battery(&sys, 12, "Discharging");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while receiver.seen() == 0 {
        assert!(std::time::Instant::now() < deadline, "no post arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The post is in flight; now nothing can write the store (another writer holds its
    // lock past the agent's 5 s busy timeout), and the receiver says 200.
    let locker = rusqlite::Connection::open(agent.store()).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    receiver.hold(false);
    // retry_max is 1 s: before the fix the same notice went out again within seconds.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(receiver.seen(), 1, "the delivered notice was posted again: {:?}", receiver.requests());
    locker.execute_batch("ROLLBACK").unwrap();
    agent.wait_for(Duration::from_secs(20), "the delivery stored", |c| {
        count(c, "SELECT count(*) FROM outbox WHERE outcome = 'delivered'") == 1
    });
    assert_eq!(receiver.seen(), 1);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}
