//! Notification channels as their receivers see them: a real notification server on a
//! private session bus, and a real HTTP receiver for each webhook format.

use std::time::Duration;

use crate::util::{TestAgent, alert_config, battery, hook, hostwatch, laptop, text};
use crate::util_desktop::DesktopSession;
use crate::util_http::{Receiver, free_port};

#[test]
fn a_critical_battery_shows_a_critical_desktop_notification_and_its_resolution_a_quiet_one() {
    let Some(session) = DesktopSession::start() else { return };
    let (dir, sys) = laptop();
    let agent = TestAgent::start_with_env(
        dir,
        &alert_config(&sys, "desktop = true\n", ""),
        &[("DBUS_SESSION_BUS_ADDRESS", &session.bus)],
    );

    battery(&sys, 3, "Discharging");
    let shown = session.wait_for(1, Duration::from_secs(15));
    let (_, call) = &shown[0];
    let host = hostwatch::collect::host_name();
    assert!(call.starts_with("string \"hostwatch\""), "app name: {call}");
    assert!(call.contains(&format!("string \"battery_low critical on {host}\"")), "summary: {call}");
    assert!(
        call.contains("battery_low critical: battery.charge_percent{battery=\"BAT1\"} value is 3% (below 5%)"),
        "body: {call}"
    );
    assert!(call.contains("string \"urgency\"\nvariant byte 2"), "critical urgency: {call}");
    assert!(call.ends_with("int32 0\n"), "a critical one stays until dismissed: {call}");

    battery(&sys, 3, "Charging");
    let shown = session.wait_for(2, Duration::from_secs(15));
    let (_, call) = &shown[1];
    assert!(call.contains(&format!("string \"battery_low resolved on {host}\"")), "{call}");
    assert!(call.contains("string \"urgency\"\nvariant byte 0"), "low urgency: {call}");
    drop(agent);

    // `notify test desktop` goes straight to the same server.
    let out = crate::util::bin()
        .env("DBUS_SESSION_BUS_ADDRESS", &session.bus)
        .args(["notify", "test", "desktop"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0, "desktop: sent\n");
    let shown = session.wait_for(3, Duration::from_secs(10));
    assert!(shown[2].1.contains("hostwatch test notification from"), "{}", shown[2].1);
}

#[test]
fn notify_test_speaks_each_webhook_format_and_names_the_channels_that_failed() {
    let receiver = Receiver::start();
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let mut config = String::from("[notify]\ndesktop = false\n");
    for format in ["json", "slack", "discord", "ntfy"] {
        let extra = format!("format = {format:?}\nheaders = {{ Authorization = \"Bearer t0ken\" }}\n");
        config.push_str(&hook(format, &receiver.url(&format!("/{format}")), &extra));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &config).unwrap();
    let file = file.to_str().unwrap();

    let out = hostwatch(&["--config", file, "notify", "test"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let got = receiver.wait_for(4, Duration::from_secs(5));
    let by_path = |p: &str| got.iter().find(|r| r.path == p).unwrap_or_else(|| panic!("no request to {p}"));
    assert!(got.iter().all(|r| r.header("authorization") == Some("Bearer t0ken")));
    assert_eq!(by_path("/json").json()["alerts"][0]["event"], "test");
    assert!(by_path("/slack").json()["text"].as_str().unwrap().starts_with("*hostwatch test notification"));
    assert_eq!(by_path("/discord").json()["embeds"][0]["color"], 0x00f2_a900);
    let ntfy = by_path("/ntfy");
    assert_eq!(ntfy.header("priority"), Some("4"));
    assert!(ntfy.header("title").unwrap().starts_with("hostwatch test notification"));
    assert!(String::from_utf8_lossy(&ntfy.body).contains("this channel works"));

    // One channel by name; an unknown name is a usage error; a dead receiver fails.
    let out = hostwatch(&["--config", file, "notify", "test", "slack"]);
    assert_eq!(text(&out).0, "slack: sent\n");
    let out = hostwatch(&["--config", file, "notify", "test", "teams"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no channel named \"teams\""), "{:?}", text(&out));
    std::fs::write(file, String::from("[notify]\ndesktop = false\n") + &hook("down", &dead, "")).unwrap();
    let out = hostwatch(&["--config", file, "notify", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = text(&out);
    assert!(stdout.starts_with("down: FAILED: webhook down"), "{stdout}");
    assert!(stdout.contains("): refused: "), "the cause by name, not only 'error sending request': {stdout}");
    assert!(stderr.contains("1 of 1 channels failed"), "{stderr}");
}

#[test]
fn doctor_names_the_notification_server_and_each_webhook_it_cannot_reach() {
    let Some(session) = DesktopSession::start() else { return };
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let hooks = hook("up", &receiver.url("/"), "") + &hook("down", &dead, "");
    std::fs::write(&file, &hooks).unwrap();
    let data = dir.path().join("data");
    let doctor = |bus: &str| {
        let out = crate::util::bin()
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .args(["--config", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "doctor"])
            .output()
            .unwrap();
        (out.status.code(), text(&out).0)
    };

    let (code, stdout) = doctor(&session.bus);
    assert_eq!(code, Some(1), "an unreachable webhook fails: {stdout}");
    let line = |verdict: &str, name: &str| {
        stdout.lines().find(|l| l.starts_with(verdict) && l[5..].trim_start().starts_with(name)).unwrap_or_default()
    };
    assert!(line("ok", "notification server").contains("dunst"), "{stdout}");
    assert!(line("ok", "webhook").contains(&format!("up ({})", receiver.url("/"))), "{stdout}");
    assert!(line("FAIL", "webhook").contains(&format!("down ({dead}): cannot connect")), "{stdout}");
    assert!(stdout.contains("`hostwatch notify test down` sends a test"), "the fix: {stdout}");
    assert_eq!(receiver.requests().len(), 0, "doctor posts nothing");

    // No notification server on this "bus": a warning with its fix.
    let (_, stdout) = doctor("unix:path=/nonexistent/bus");
    let warn = stdout.lines().find(|l| l.starts_with("warn") && l.contains("notification server")).unwrap_or_default();
    assert!(warn.contains("no notification server answers"), "{stdout}");
    assert!(stdout.contains("set notify.desktop = false and use a webhook"), "{stdout}");
}

#[test]
fn a_redirecting_webhook_is_a_failure_and_its_secret_url_is_never_shown() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let secret_url = format!("http://hook:pa55word@127.0.0.1:{}/services/T0/B0/t0ken?key=k3y", receiver.port);
    std::fs::write(&file, String::from("[notify]\ndesktop = false\n") + &hook("ops", &secret_url, "")).unwrap();
    let file = file.to_str().unwrap();
    for code in [301, 302, 307] {
        receiver.answer(code);
        let out = hostwatch(&["--config", file, "notify", "test"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "HTTP {code} counted as delivered: {stdout}");
        assert!(stdout.contains("redirects are not followed"), "{stdout}");
        for secret in ["pa55word", "t0ken", "k3y", "services"] {
            assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} shown: {stdout}{stderr}");
        }
    }
    assert!(receiver.requests().iter().all(|r| r.path != "/moved"), "a redirect was followed");
    receiver.answer(200);
    let out = hostwatch(&["--config", file, "--data-dir", dir.path().to_str().unwrap(), "doctor"]);
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains(&format!("http://127.0.0.1:{}/…", receiver.port)), "{stdout}");
    assert!(!stdout.contains("pa55word") && !stdout.contains("t0ken") && !stderr.contains("t0ken"), "{stdout}");
}

#[test]
fn doctor_reaches_a_webhook_at_an_ipv6_literal() {
    let listener = std::net::TcpListener::bind("[::1]:0");
    if !crate::util::require(listener.is_ok(), "an IPv6 loopback address (::1)") {
        return;
    }
    let listener = listener.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let url = format!("http://[::1]:{port}/hook");
    std::fs::write(&file, String::from("[notify]\ndesktop = false\n") + &hook("v6", &url, "")).unwrap();
    let out = hostwatch(&["--config", file.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap(), "doctor"]);
    let (stdout, _) = text(&out);
    let webhook = stdout.lines().find(|l| l.contains("v6 (")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(webhook.starts_with("ok") && webhook.contains("accepts connections at [::1]"), "{stdout}");
}

/// How far the outbox's clock in the test below is stepped from the wall clock.
static STEP: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// The wall clock, stepped by [`STEP`]: it runs on, and jumps when the test says.
fn test_clock() -> i64 {
    hostwatch::daemon::wall_ms() + STEP.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn the_outbox_survives_a_clock_stepped_back_and_gives_up_on_a_receiver_failing_for_days() {
    use hostwatch::notify::{Channel, Notice, Outbox};
    use hostwatch::store::{OutboxRow, Shared, Store};
    use std::sync::atomic::Ordering::SeqCst;
    let receiver = Receiver::start();
    receiver.answer(503);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let toml = String::from("[notify]\ndesktop = false\nretry_max = \"1s\"\n") + &hook("ops", &receiver.url("/h"), "");
    std::fs::write(&file, &toml).unwrap();
    let config = hostwatch::config::Config::parse(&toml, &file).unwrap();
    let t0 = test_clock();
    let hot = dir.path().join("hot.sqlite");
    let mut store = Store::open(&hot).unwrap();
    let queue = |store: &mut Store, at: i64| {
        let body = serde_json::to_string(&Notice::test("host", at)).unwrap();
        store.record_alerts(&[], &[OutboxRow { channel: "ops".into(), body }], at).unwrap();
    };
    queue(&mut store, t0);
    let outbox = Outbox::new(Shared::new(Store::open(&hot).unwrap()), &config.notify, test_clock);
    let channel = Channel::all(&config.notify).pop().unwrap();
    let until = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let task = std::thread::spawn({
        let wake = wake.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(outbox.run(channel, wake, stopped));
        }
    });
    let done = |outcome: &str| {
        let conn = rusqlite::Connection::open(&hot).unwrap();
        crate::util::count(&conn, &format!("SELECT count(*) FROM outbox WHERE outcome = '{outcome}'"))
    };

    // Two failures, then the clock is stepped back an hour and the receiver recovers: the
    // notice goes out at once, not when the clock has caught up with its retry time.
    until("two attempts", &|| receiver.seen() >= 2);
    STEP.store(-3_600_000, SeqCst);
    receiver.answer(200);
    until("delivery after the step back", &|| done("delivered") == 1);

    // A receiver that fails for days: after 3 days the notice is marked failed.
    receiver.answer(503);
    queue(&mut store, test_clock());
    wake.notify_one();
    let seen = receiver.seen();
    until("a failing attempt", &|| receiver.seen() > seen);
    STEP.store(4 * 86_400_000, SeqCst);
    until("the notice given up on", &|| done("failed") == 1);
    stop.send(true).unwrap();
    task.join().unwrap();

    let out = hostwatch(&["--config", file.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap(), "alerts"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("ops: 1 notice(s) not delivered since") && stdout.contains("gave up after"), "{stdout}");
}
