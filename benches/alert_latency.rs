//! Alert latency, end to end: from the sample that crosses a threshold to the webhook
//! request received by a real HTTP server and the `Notify` call received by a real
//! notification server (dunst on a private D-Bus session under Xvfb).
//!
//! `cargo bench --bench alert_latency` (HOSTWATCH_BENCH_ROUNDS, default 10, alert changes
//! per sampling interval; intervals 1 s and 5 s). The agent is the release binary.
//!
//! Each round drains the fixture battery below 15% (an alert fires), then plugs it in (it
//! resolves). Two figures per change: from the sample (the notice's `at`, the tick that
//! saw the change) to receipt, and from the moment the battery file changed to receipt,
//! which adds the wait for the next tick (at most one interval).

// The tests' helpers signal the agent (kill(2)), and a failed unwrap is the report.
#![allow(unsafe_code, clippy::unwrap_used)]

#[path = "../tests/util.rs"]
#[allow(dead_code)]
mod util;
#[path = "../tests/util_desktop.rs"]
#[allow(dead_code)]
mod util_desktop;
#[path = "../tests/util_http.rs"]
#[allow(dead_code)]
mod util_http;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use util::{TestAgent, alert_config, battery, hook, laptop};
use util_desktop::DesktopSession;
use util_http::Receiver;

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn at_ms(body: &serde_json::Value) -> i64 {
    let at = body["alerts"][0]["at"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis()
}

/// p50, p95 and max of `v`, in ms.
fn summary(v: &mut [i64]) -> String {
    v.sort_unstable();
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!("p50 {:>5}  p95 {:>5}  max {:>5}", p(0.5), p(0.95), v[v.len() - 1])
}

fn run(interval_s: u64, rounds: usize, session: Option<&DesktopSession>) {
    let receiver = Receiver::start();
    let (dir, sys) = laptop();
    battery(&sys, 50, "Discharging");
    let notify = format!("desktop = {}\n", session.is_some());
    let cfg = alert_config(&sys, &notify, &hook("bench", &receiver.url("/"), ""))
        .replace("interval = \"1s\"\nflush", &format!("interval = \"{interval_s}s\"\nflush"));
    let env: Vec<(&str, &str)> =
        session.map(|s| vec![("DBUS_SESSION_BUS_ADDRESS", s.bus.as_str())]).unwrap_or_default();
    let agent = TestAgent::start_with_env(dir, &cfg, &env);
    std::thread::sleep(Duration::from_secs(2 * interval_s));

    let (mut hook_from_sample, mut hook_from_change) = (Vec::new(), Vec::new());
    let (mut desk_from_sample, mut desk_from_change) = (Vec::new(), Vec::new());
    // The session outlives one run: count only this run's notifications.
    let shown_before = session.map_or(0, |s| s.notifications().len());
    for i in 0..rounds * 2 {
        // Land the change at a different point of the interval each time.
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..interval_s * 1000)));
        let changed = now_ms();
        if i % 2 == 0 {
            battery(&sys, 10, "Discharging")
        } else {
            battery(&sys, 50, "Charging")
        }
        let got = receiver.wait_for(i + 1, Duration::from_secs(interval_s * 3 + 5));
        let req = &got[i];
        let sample = at_ms(&req.json());
        hook_from_sample.push(req.received_ms - sample);
        hook_from_change.push(req.received_ms - changed);
        if let Some(s) = session {
            let n = shown_before + i;
            let shown = s.wait_for(n + 1, Duration::from_secs(interval_s * 3 + 5));
            desk_from_sample.push(shown[n].0 - sample);
            desk_from_change.push(shown[n].0 - changed);
        }
    }
    drop(agent);
    let goal = i64::try_from(interval_s * 1000).unwrap() + 100;
    println!("interval {interval_s} s, {} alert changes (goal: at most {goal} ms from the change)", rounds * 2);
    println!("  webhook, from the sample:          {}", summary(&mut hook_from_sample));
    println!("  webhook, from the battery change:  {}", summary(&mut hook_from_change));
    if session.is_some() {
        println!("  desktop, from the sample:          {}", summary(&mut desk_from_sample));
        println!("  desktop, from the battery change:  {}", summary(&mut desk_from_change));
    }
}

fn main() {
    let rounds = std::env::var("HOSTWATCH_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let session = DesktopSession::start();
    if session.is_none() {
        println!("(no desktop session tools: desktop latency not measured)");
    }
    for interval in [1, 5] {
        run(interval, rounds, session.as_ref());
    }
}
