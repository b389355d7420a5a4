//! The dashboard's load time and a year's chart, against the release agent.
//!
//! `cargo bench --bench dashboard` (HOSTWATCH_BENCH_ROUNDS, default 10). Needs Debian's
//! chromium and chromium-driver.
//!
//! The data dir holds 7 days in the hot store at the default 5 s (41 series; the hot window
//! set to 7 days, so the agent's start-up rollup moves none of it) and the year before in
//! the archive, rolled up as the agent rolls up (raw tier pruned past 30 days, minute and
//! hour tiers kept), written at 60 s: past 30 days only the aggregate tiers remain, and
//! those are what a year's chart reads.
//!
//! Load time: navigation start to the page's `hostwatch-filled` mark (every card has its
//! first answer and the chart is drawn), in a real headless Chromium. Chart: the time of
//! `GET /api/points` for one series over 7 days, 30 days and a year.

#![allow(unsafe_code, clippy::unwrap_used)]

#[path = "../tests/util.rs"]
#[allow(dead_code)]
mod util;
#[path = "../tests/util_browser.rs"]
#[allow(dead_code)]
mod util_browser;
#[path = "../tests/util_http.rs"]
#[allow(dead_code)]
mod util_http;
#[path = "../tests/util_web.rs"]
#[allow(dead_code)]
mod util_web;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hostwatch::archive::{Policy, rollup_logged};
use hostwatch::config::Config;
use hostwatch::metrics::{CPU_USAGE, SeriesKey};

const DAY: i64 = 86_400;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("HOSTWATCH_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let Some(browser) = util_browser::Browser::start() else { return };
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (hot, archive) = (data.join("hot.sqlite"), data.join("archive.duckdb"));
    let mut series = util::some_series(40);
    series.push(SeriesKey::with(&CPU_USAGE, "cpu", "total"));

    let started = Instant::now();
    let year = util::seed_hot(&hot, &series, now - 365 * DAY, now - 7 * DAY, 60);
    let policy = Policy::from(&Config::defaults().archive);
    rollup_logged(&hot, &archive, now - 7 * DAY + policy.hot_window, &policy, &AtomicBool::new(false)).unwrap();
    let week = util::seed_hot(&hot, &series, now - 7 * DAY, now, 5);
    println!(
        "data: {year} samples over the year before in the archive, {week} over 7 days in the hot store ({:.0} s to build)",
        started.elapsed().as_secs_f64()
    );

    let port = util_http::free_port();
    let config = format!(
        "[processes]\nenabled = false\n[store]\nretention = \"8d\"\n[archive]\nhot_window = \"7d\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n"
    );
    let _agent = util::TestAgent::start_in(dir, &config);
    let addr = format!("127.0.0.1:{port}");
    util::wait_until(Duration::from_secs(60), "the agent's server", || {
        std::net::TcpStream::connect(&addr).is_ok() && util_web::get(&addr, "/health", &[]).status == 200
    });

    let mut loads = Vec::new();
    for _ in 0..rounds {
        browser.open("about:blank");
        browser.open(&format!("http://{addr}/"));
        let ms = browser.wait_for(
            Duration::from_secs(30),
            "every card filled",
            "const m = performance.getEntriesByName('hostwatch-filled'); return m.length ? m[0].startTime : null;",
        );
        loads.push(ms.as_f64().unwrap());
    }
    println!(
        "dashboard load, navigation start to every card filled ({rounds} loads): median {:.0} ms, max {:.0} ms (goal: at most 300 ms)",
        median(&mut loads.clone()),
        loads.iter().copied().fold(0.0, f64::max)
    );
    for range in ["7d", "30d", "365d"] {
        let path = format!("/api/points?metric=cpu.usage_percent&label=cpu=total&since={range}");
        let mut times = Vec::new();
        let mut points = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let reply = util_web::get(&addr, &path, &[]);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(reply.status, 200, "{}", reply.body);
            points = reply.json()["points"].as_array().unwrap().len();
        }
        println!(
            "chart over {range:>4}: {points} points, median {:.1} ms, max {:.1} ms (goal for a year: at most 200 ms)",
            median(&mut times.clone()),
            times.iter().copied().fold(0.0, f64::max)
        );
    }
}
