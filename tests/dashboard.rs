//! The dashboard page in a real headless Chromium (Debian's, through ChromeDriver): it loads
//! without a console error, shows what `hostwatch status` shows, draws archived history,
//! lists a firing alert and follows the next sample.

use std::time::Duration;

use hostwatch::metrics::{CPU_USAGE, SeriesKey};

use crate::server::{healthy, served};
use crate::util::{TestAgent, battery, bin, laptop, seed_hot, text, wait_until};
use crate::util_browser::Browser;
use crate::util_http::free_port;

const BATTERY: &str = r#"[data-series='battery.charge_percent{battery="BAT1"}']"#;

/// The value `hostwatch status` prints for series `name`, as a number, once the agent has
/// written one.
fn status_value(config: &std::path::Path, data: &std::path::Path, name: &str) -> f64 {
    let mut value = None;
    wait_until(Duration::from_secs(20), "status to show the series", || {
        let out = bin().arg("--config").arg(config).arg("--data-dir").arg(data).arg("status").output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let line = stdout.lines().find(|l| l.starts_with(name));
        value = line.map(|l| l[name.len()..].split_whitespace().next().unwrap().parse().unwrap());
        value.is_some()
    });
    value.unwrap()
}

#[test]
fn the_dashboard_shows_what_status_shows_charts_the_archive_and_follows_live_values() {
    let Some(browser) = Browser::start() else { return };
    let (dir, sys) = laptop();
    battery(&sys, 12, "Discharging");
    let port = free_port();
    let config = served(&sys, port, "");
    // Three days of CPU history, moved into the archive before the agent starts.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let cpu = SeriesKey::with(&CPU_USAGE, "cpu", "total");
    seed_hot(&data.join("hot.sqlite"), &[cpu], now - 3 * 86_400, now - 7 * 3600, 60);
    std::fs::write(dir.path().join("config.toml"), &config).unwrap();
    let rollup = bin()
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("--data-dir")
        .arg(&data)
        .arg("rollup")
        .output()
        .unwrap();
    assert!(rollup.status.success(), "{}", text(&rollup).1);

    let agent = TestAgent::start_in(dir, &config);
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    browser.open(&format!("http://{addr}/"));
    let filled = browser.wait_for(
        Duration::from_secs(30),
        "every card filled",
        "const m = performance.getEntriesByName('hostwatch-filled'); return m.length ? m[0].startTime : null;",
    );
    assert!(filled.as_f64().unwrap() > 0.0);

    // The battery tile shows the value `status` shows, coloured by the battery rule.
    let tile = browser.wait_for(
        Duration::from_secs(20),
        "the battery tile",
        &format!("const t = document.querySelector(`{BATTERY}`); return t && [t.dataset.band, t.querySelector('.number').textContent];"),
    );
    let shown: f64 = tile[1].as_str().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let config_path = agent.dir.path().join("config.toml");
    let stated = status_value(&config_path, &agent.data_dir(), r#"battery.charge_percent{battery="BAT1"}"#);
    assert_eq!((tile[0].as_str(), shown), (Some("warning"), stated), "{tile}");

    // The firing battery alert is in the alert card.
    browser.wait_for(
        Duration::from_secs(30),
        "battery_low in the alert card",
        "return document.querySelector('#alerts-list [data-rule=\"battery_low\"]') !== null;",
    );
    // A week's chart of CPU reaches into the archive.
    browser.eval("document.querySelector('[data-range=\"7d\"]').click(); return true;");
    let points = browser.wait_for(
        Duration::from_secs(20),
        "the 7-day chart",
        "const c = document.getElementById('chart'); return c.querySelector('canvas') && Number(c.dataset.points) > 60 ? Number(c.dataset.points) : null;",
    );
    assert!(points.as_f64().unwrap() > 60.0, "{points}");

    // The next sample moves the tile without a reload.
    battery(&sys, 9, "Discharging");
    browser.wait_for(
        Duration::from_secs(20),
        "the live value to follow the battery",
        &format!("return document.querySelector(`{BATTERY} .number`).textContent === '9.0 %';"),
    );
    if let Some(path) = std::env::var_os("HOSTWATCH_SCREENSHOT") {
        browser.screenshot(std::path::Path::new(&path));
    }
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
