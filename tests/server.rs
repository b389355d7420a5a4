//! The agent's server against the real binary on 127.0.0.1: `/health`, `/metrics` (checked
//! by Debian's `promtool` and scraped by a real Prometheus), the JSON API, who may ask, and
//! a port that is taken. The page itself is driven in Chromium in `dashboard.rs`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{TestAgent, alert_config, battery, bin, count, laptop, require, text, wait_until};
use crate::util_http::free_port;
use crate::util_web::{Reply, get, request};

/// A laptop's config (samples every second, the battery rule only) serving on `port`.
pub fn served(sys: &Path, port: u16, server: &str) -> String {
    alert_config(sys, "desktop = false\n", "") + &format!("[server]\nlisten = \"127.0.0.1:{port}\"\n{server}")
}

/// Waits until `/health` at `addr` answers 200, and returns its body.
pub fn healthy(addr: &str) -> serde_json::Value {
    let mut last = None;
    wait_until(Duration::from_secs(30), "a healthy /health", || {
        last = std::net::TcpStream::connect(addr).ok().map(|_| get(addr, "/health", &[]));
        last.as_ref().is_some_and(|r| r.status == 200)
    });
    last.unwrap().json()
}

/// The agent's CLI on the agent's own config and data dir.
fn cli(agent: &TestAgent, args: &[&str]) -> String {
    let out = bin()
        .arg("--config")
        .arg(agent.dir.path().join("config.toml"))
        .arg("--data-dir")
        .arg(agent.data_dir())
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

#[test]
fn health_metrics_and_the_api_answer_with_the_agents_own_values() {
    let (dir, sys) = laptop();
    battery(&sys, 42, "Discharging");
    let port = free_port();
    let agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    let addr = format!("127.0.0.1:{port}");
    let health = healthy(&addr);
    assert_eq!((health["status"].as_str(), health["pid"].as_u64()), (Some("ok"), Some(u64::from(agent.pid()))));

    let metrics = get(&addr, "/metrics", &[]);
    assert_eq!(metrics.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert!(metrics.body.contains("# TYPE hostwatch_battery_charge_percent gauge\n"), "{}", metrics.body);
    assert!(metrics.body.contains("hostwatch_battery_charge_percent{battery=\"BAT1\"} 42\n"), "{}", metrics.body);
    assert!(metrics.body.contains("# TYPE hostwatch_agent_samples_written_total counter\n"));
    let open = get(&addr, "/metrics", &[("Accept", "application/openmetrics-text;version=1.0.0")]);
    assert!(open.header("content-type").unwrap().starts_with("application/openmetrics-text; version=1.0.0"));
    assert!(open.body.ends_with("# EOF\n") && open.body.contains("# TYPE hostwatch_agent_samples_written counter\n"));

    let status = get(&addr, "/api/status", &[]).json();
    let bat = status["series"].as_array().unwrap().iter().find(|s| s["metric"] == "battery.charge_percent").unwrap();
    assert_eq!((bat["value"].as_f64(), bat["band"]["level"].as_str()), (Some(42.0), Some("ok")), "{bat}");
    assert_eq!(bat["band"]["rule"], "battery_low");
    agent.wait_for(Duration::from_secs(20), "three flushes", |c| count(c, "SELECT count(*) FROM samples") > 3);
    let points = get(&addr, "/api/points?metric=battery.charge_percent&label=battery=BAT1&since=5m", &[]).json();
    let first = &points["points"][0];
    assert_eq!((first[1].as_f64(), first[2].as_f64()), (Some(42.0), Some(42.0)), "{points}");
    let catalogue = get(&addr, "/api/series", &[]).json();
    assert!(catalogue.as_array().unwrap().iter().any(|s| s["metric"] == "battery.charge_percent"));
    for path in ["/api/alerts", "/api/probes", "/api/reports", "/", "/assets/app.js", "/assets/uPlot.iife.min.js"] {
        assert_eq!(get(&addr, path, &[]).status, 200, "{path}");
    }

    assert!(cli(&agent, &["status"]).contains(&format!("dashboard http://{addr}/ answers")));
    let doctor = cli(&agent, &["doctor"]);
    assert!(doctor.lines().any(|l| l.starts_with("ok") && l.contains("dashboard")), "{doctor}");
}

#[test]
fn promtool_accepts_the_exposition() {
    if !require(Path::new("/usr/bin/promtool").exists(), "promtool (Debian's prometheus)") {
        return;
    }
    let (dir, sys) = laptop();
    let port = free_port();
    let _agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    // promtool reads the classic text format only; OpenMetrics is proven by a real
    // Prometheus, which asks for it first (the scrape test below).
    for accept in ["text/plain", "*/*"] {
        let body = get(&addr, "/metrics", &[("Accept", accept)]).body;
        let mut check = Command::new("/usr/bin/promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut check.stdin.take().unwrap(), body.as_bytes()).unwrap();
        let out = check.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{accept}: {stdout}{stderr}\n{body}");
    }
}

/// Prometheus asks for OpenMetrics first, so this also proves that format parses.
#[test]
fn a_real_prometheus_scrapes_the_agent_and_answers_a_promql_query_with_its_value() {
    if !require(Path::new("/usr/bin/prometheus").exists(), "Debian's prometheus") {
        return;
    }
    let (dir, sys) = laptop();
    battery(&sys, 37, "Discharging");
    let port = free_port();
    let _agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    healthy(&format!("127.0.0.1:{port}"));
    let prom = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: hostwatch\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    std::fs::write(prom.path().join("prometheus.yml"), config).unwrap();
    let prom_port = free_port();
    let mut server = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", prom.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", prom.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prom_addr = format!("127.0.0.1:{prom_port}");
    let mut answer = serde_json::Value::Null;
    let found = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        if std::net::TcpStream::connect(&prom_addr).is_err() {
            return false;
        }
        answer = get(&prom_addr, "/api/v1/query?query=hostwatch_battery_charge_percent", &[]).json();
        answer["data"]["result"][0]["value"][1] == "37"
    });
    let _ = server.kill();
    let _ = server.wait();
    assert!(found, "Prometheus never answered 37: {answer}");
    assert_eq!(answer["data"]["result"][0]["metric"]["battery"], "BAT1");
}

#[test]
fn only_its_own_host_names_and_its_token_get_in_and_the_token_shows_nowhere() {
    let (dir, sys) = laptop();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token-4711\n").unwrap();
    std::fs::set_permissions(&token_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let port = free_port();
    let extra = format!("token_file = {:?}\nnames = [\"devbox.lan\"]\n", token_file.to_str().unwrap());
    let mut agent = TestAgent::start_in(dir, &served(&sys, port, &extra));
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    let bearer = ("Authorization", "Bearer s3cret-token-4711");
    let ask = |path: &str, headers: &[(&str, &str)]| get(&addr, path, headers);

    let refused = ask("/api/status", &[]);
    assert_eq!((refused.status, refused.header("www-authenticate")), (401, Some("Bearer")));
    assert_eq!(ask("/metrics", &[("Authorization", "Bearer s3cret-token-4712")]).status, 401);
    assert_eq!(ask("/api/status", &[bearer]).status, 200);
    assert_eq!(ask("/health", &[]).status, 200, "a supervisor needs no token");
    let first_visit = ask("/?token=s3cret-token-4711", &[]);
    assert_eq!(first_visit.status, 303);
    let cookie = first_visit.header("set-cookie").unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(ask("/api/status", &[("Cookie", pair)]).status, 200);

    let rebinding = ask("/api/status", &[bearer, ("Host", &format!("evil.example:{port}"))]);
    assert_eq!(rebinding.status, 403);
    assert!(rebinding.body.contains("\"evil.example:"), "{}", rebinding.body);
    assert_eq!(ask("/health", &[("Host", "")]).status, 400, "no Host at all");
    for host in [format!("localhost:{port}"), format!("devbox.lan:{port}"), format!("[::1]:{port}")] {
        assert_eq!(ask("/api/status", &[bearer, ("Host", &host)]).status, 200, "{host}");
    }

    let mut seen = String::new();
    for path in ["/", "/api/status", "/metrics", "/api/probes", "/api/alerts", "/api/reports", "/api/series"] {
        seen.push_str(&ask(path, &[bearer]).body);
    }
    let (_, log) = agent.stop();
    assert!(!seen.contains("s3cret-token") && !log.contains("s3cret-token"), "the token leaked");
    for entry in std::fs::read_dir(agent.data_dir()).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"s3cret-token"), "token in {}", entry.path().display());
    }
}

#[test]
fn every_bad_parameter_is_a_400_that_says_why_and_nothing_is_a_500() {
    let (dir, sys) = laptop();
    let port = free_port();
    let _agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    let points = "/api/points?metric=battery.charge_percent&label=battery=BAT1";
    for (path, why) in [
        ("/api/points", "metric is missing"),
        ("/api/processes", "metric is missing: e.g. metric=process.cpu_percent"),
        ("/api/points?metric=cpu.nope", "unknown metric \"cpu.nope\""),
        ("/api/points?metric=disk.used_percent&label=colour=red", "unknown label \"colour\""),
        ("/api/points?metric=disk.used_percent&label=mount", "is not KEY=VALUE"),
        (&format!("{points}&since=yesterday"), "neither a duration"),
        (&format!("{points}&since=1h&until=2h"), "must be before until"),
        (&format!("{points}&since=30d&step=1s"), "at most 6000"),
        (&format!("{points}&step=-5s"), "step"),
        (&format!("{points}&since=1h&since=2h"), "given twice"),
        (&format!("{points}&sql=select%201"), "unknown parameter \"sql\""),
        ("/api/points?metric=battery.charge_percent&label=battery=BAT9", "no series matches"),
        ("/api/points?metric=%FF%FE", "unknown metric"),
        ("/api/alerts?limit=0", "from 1 to 1000"),
        ("/api/alerts?limit=99999999999", "from 1 to 1000"),
        ("/api/alerts?since=%00", "since"),
        ("/api/series?metric=x", "unknown parameter"),
        ("/api/status?x=1", "unknown parameter \"x\""),
        ("/api/probes?x=1", "unknown parameter"),
        ("/api/reports?limit=5", "unknown parameter \"limit\""),
        ("/health?verbose=1", "unknown parameter"),
        ("/metrics?x=1", "unknown parameter"),
        (&format!("{points}&step=367d"), "at most 366d"),
    ] {
        let reply: Reply = get(&addr, path, &[]);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.json()["error"].as_str().unwrap().contains(why), "{path}: {}", reply.body);
    }
    assert_eq!(get(&addr, "/no/such/page", &[]).status, 404);
    assert_eq!(get(&addr, "/assets/../../etc/passwd", &[]).status, 404);
    let long_ago = get(&addr, "/api/alerts?since=9000000000000000000s", &[]);
    assert_eq!(long_ago.status, 200, "a time before any alert is all of them, not an overflow: {}", long_ago.body);
    let post = request(&addr, "POST", "/api/status", &[], "{}");
    assert_eq!(post.status, 405, "nothing here writes");
    assert!(post.json()["error"].as_str().unwrap().contains("read-only"), "{}", post.body);
    assert_eq!(request(&addr, "DELETE", "/metrics", &[], "").status, 405);
}

#[test]
fn a_taken_port_is_logged_and_shown_while_the_agent_samples_on() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (dir, sys) = laptop();
    let mut agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    agent.wait_for(Duration::from_secs(20), "samples despite the port", |c| {
        count(c, "SELECT count(*) FROM samples") > 3
    });
    let status = cli(&agent, &["status"]);
    assert!(status.contains("the agent runs but nothing answers at"), "{status}");
    let (exit, log) = agent.stop();
    assert!(exit.success(), "{log}");
    assert!(log.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{log}");
    let start = log.lines().next().unwrap();
    assert!(start.starts_with("hostwatch ") && start.contains(&format!("dashboard http://127.0.0.1:{port}/")), "{log}");
    assert!(start.contains("sampling every 1s into") && start.ends_with("Ctrl-C or SIGTERM stops it"), "{start}");
    drop(taken);
}

#[test]
fn the_processes_view_draws_one_line_per_process_name_with_all_its_pids() {
    use hostwatch::metrics::{PROC_CPU, SeriesKey};
    let (dir, sys) = laptop();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let proc = |pid: &str, name: &str| SeriesKey::labelled(&PROC_CPU, vec![("pid", pid.into()), ("name", name.into())]);
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    // Values are 0..99 for the first series, 1000.. for the second, 2000.. for the third.
    crate::util::seed_hot(
        &data.join("hot.sqlite"),
        &[proc("1", "cargo"), proc("2", "cargo"), proc("3", "rustc")],
        now - 3600,
        now - 60,
        30,
    );
    let port = free_port();
    let _agent = TestAgent::start_in(dir, &served(&sys, port, ""));
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    let view = get(&addr, "/api/processes?metric=process.cpu_percent&since=2h&step=1h", &[]).json();
    let names: Vec<&str> = view["processes"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cargo", "rustc"], "cargo has two pids, so it was seen longest: {view}");
    let cargo = view["processes"][0]["points"].as_array().unwrap();
    let (min, max) = cargo
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p[1].as_f64().unwrap()), hi.max(p[3].as_f64().unwrap())));
    assert!(min < 100.0 && max >= 1000.0, "both pids of cargo in its line: {view}");
    let wrong = get(&addr, "/api/processes?metric=cpu.usage_percent", &[]);
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("this view takes process.cpu_percent or process.rss_bytes"), "{}", wrong.body);
}

#[test]
fn dashboard_prints_the_address_where_no_browser_can_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[server]\nlisten = \"127.0.0.1:{port}\"\n")).unwrap();
    let dashboard = || {
        let mut cmd = bin();
        cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").arg("--config").arg(&config);
        cmd.arg("--data-dir").arg(dir.path().join("data")).arg("dashboard").output().unwrap()
    };
    let out = dashboard();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(stdout, format!("the agent is not running; {url} is free for it\n{url}\n"));
    std::fs::write(&config, "[server]\nenabled = false\n").unwrap();
    let off = dashboard();
    assert_eq!(off.status.code(), Some(1));
    assert!(text(&off).1.contains("the dashboard is off in the config ([server] enabled = false)"));
}

#[test]
fn a_chart_of_whole_days_buckets_local_days() {
    let (dir, sys) = laptop();
    battery(&sys, 42, "Discharging");
    let port = free_port();
    // Tokyo is nine hours ahead of UTC: a local day starts at 15:00 UTC.
    let agent = TestAgent::start_with_env(dir, &served(&sys, port, ""), &[("TZ", "Asia/Tokyo")]);
    let addr = format!("127.0.0.1:{port}");
    healthy(&addr);
    agent.wait_for(Duration::from_secs(20), "a flush", |c| count(c, "SELECT count(*) FROM samples") > 0);
    let points =
        get(&addr, "/api/points?metric=battery.charge_percent&label=battery=BAT1&since=2d&step=1d", &[]).json();
    let bucket = points["points"][0][0].as_i64().unwrap_or_else(|| panic!("{points}"));
    assert_eq!((bucket + 9 * 3600).rem_euclid(86_400), 0, "a bucket at Tokyo's midnight: {points}");
    let hourly =
        get(&addr, "/api/points?metric=battery.charge_percent&label=battery=BAT1&since=2h&step=1h", &[]).json();
    assert_eq!(hourly["points"][0][0].as_i64().unwrap().rem_euclid(3600), 0, "hours stay whole hours: {hourly}");
}
