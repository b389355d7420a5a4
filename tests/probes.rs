//! Probes against real servers on 127.0.0.1: an HTTP server written in the test
//! (`util_site`) and, for https, `openssl s_server` with a certificate made by `openssl req`.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{TestAgent, bin, count, require, text};
use crate::util_http::free_port;
use crate::util_model::{Ending, ModelServer, Script};
use crate::util_site::{Reply, Site, ok};

/// A config whose agent samples every second and writes every second.
fn agent_config(probes: &str) -> String {
    format!("[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n[archive]\nenabled = false\n{probes}")
}

fn probe(name: &str, url: &str, extra: &str) -> String {
    format!("[probes.{name}]\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

/// `hostwatch probe run NAME` with `config` written into `dir`.
fn run_probe(dir: &std::path::Path, config: &str, name: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = bin()
        .args(["--config", path.to_str().unwrap(), "--data-dir", dir.join("data").to_str().unwrap(), "probe", "run", name])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

/// The value printed for `metric` by `probe run`, in seconds for times.
fn printed(stdout: &str, metric: &str) -> f64 {
    let line = stdout.lines().find(|l| l.trim_start().starts_with(metric)).unwrap_or_else(|| panic!("{metric}: {stdout}"));
    let mut words = line.split_whitespace().skip(1);
    let (v, unit) = (words.next().unwrap().parse::<f64>().unwrap(), words.next().unwrap_or(""));
    if unit == "ms" { v / 1000.0 } else { v }
}

#[test]
fn probe_run_prints_every_measurement_of_a_real_answer() {
    let delay = Duration::from_millis(200);
    let site = Site::start(&[("/health", Reply::Answer { status: 200, body: r#"{"status":"ok","n":3}"#.into(), delay })]);
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"conditions = ["status == 200", "body.status == \"ok\"", "body.n >= 3"]
warn_conditions = ["response_time < 100ms", "body contains \"ok\""]"#;
    let config = probe("api", &site.url("/health"), extra);
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "api", &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(printed(&stdout, "probe.http_status"), 200.0, "{stdout}");
    assert_eq!(printed(&stdout, "probe.body_bytes"), 21.0, "{stdout}");
    // The server waited before its status line: both times include the wait.
    let (ttfb, total) = (printed(&stdout, "probe.ttfb_seconds"), printed(&stdout, "probe.duration_seconds"));
    assert!(ttfb >= 0.2 && total >= ttfb, "{stdout}");
    assert!(stdout.contains("degraded: response_time < 100ms") && !stdout.contains("body contains"), "{stdout}");
    assert!(!stdout.contains("cert_expiry"), "no certificate over http: {stdout}");
    assert!(stdout.trim_end().ends_with("up"), "{stdout}");
}

#[test]
fn each_way_an_attempt_fails_is_named_and_a_followed_redirect_is_up() {
    let site = Site::start(&[
        ("/health", ok(r#"{"status":"ok"}"#)),
        ("/down", Reply::Answer { status: 503, body: "busy".into(), delay: Duration::ZERO }),
        ("/wrong", ok(r#"{"status":"degraded"}"#)),
        ("/hang", Reply::Hang),
        ("/loop", Reply::Redirect("/loop")),
        ("/moved", Reply::Redirect("/health")),
        ("/endless", Reply::Endless),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cond = r#"conditions = ["body.status == \"ok\""]"#;
    let config = [
        probe("moved", &site.url("/moved"), cond),
        probe("down", &site.url("/down"), ""),
        probe("wrong", &site.url("/wrong"), cond),
        probe("hang", &site.url("/hang"), "timeout = \"500ms\""),
        probe("loop", &site.url("/loop"), ""),
        probe("endless", &site.url("/endless"), ""),
        probe("refused", &format!("http://127.0.0.1:{}/", free_port()), ""),
        probe("accepted", &site.url("/down"), "expect_status = [503]"),
    ]
    .concat();
    for (name, want) in [
        ("down", "failed (status): status 503, expected 200-399"),
        ("wrong", "failed (condition): condition failed: body.status == \"ok\""),
        ("hang", "failed (timeout): no complete answer within 500ms"),
        ("loop", "failed (redirect)"),
        ("endless", "failed (body): the body passed 64 MiB: stopped reading"),
        ("refused", "failed (refused)"),
    ] {
        let (code, stdout, stderr) = run_probe(dir.path(), &config, name, &[]);
        assert_eq!(code, Some(1), "{name}: {stdout}{stderr}");
        assert!(stderr.contains(&format!("probe {name} {want}")), "{name}: {stderr}");
    }
    for name in ["moved", "accepted"] {
        let (code, stdout, stderr) = run_probe(dir.path(), &config, name, &[]);
        assert_eq!(code, Some(0), "{name}: {stdout}{stderr}");
    }
    let (code, _, stderr) = run_probe(dir.path(), &config, "nope", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no probe \"nope\" in the config; probes are: accepted, down"), "{stderr}");
}

#[test]
fn a_secret_reaches_the_target_and_nothing_else() {
    const TOKEN: &str = "tok-3f9c1d-never-shown";
    let site = Site::start(&[("/api", ok("{}"))]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = [
        probe("env", &site.url("/api"), "secret_env = \"HW_TEST_TOKEN\"\ninterval = \"1s\"\ntimeout = \"900ms\""),
        probe("file", &site.url("/api"), &format!("secret_file = {:?}\nsecret_header = \"X-Api-Key\"\ninterval = \"1s\"\ntimeout = \"900ms\"", file)),
        probe("unset", &site.url("/api"), "secret_env = \"HW_TEST_UNSET\"\ninterval = \"1s\"\ntimeout = \"900ms\""),
    ]
    .concat();
    let env = [("HW_TEST_TOKEN", TOKEN)];
    for name in ["env", "file"] {
        let (code, stdout, stderr) = run_probe(dir.path(), &config, name, &env);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    }
    let (code, _, stderr) = run_probe(dir.path(), &config, "unset", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (secret): environment variable HW_TEST_UNSET is not set"), "{stderr}");
    let seen = site.headers();
    let header = |name: &str| seen.iter().flatten().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(header("authorization"), vec![format!("Bearer {TOKEN}")]);
    assert_eq!(header("x-api-key"), vec![TOKEN.to_owned()]);

    // The agent: its logs, its store and `hostwatch probes` never hold the secret.
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = TestAgent::start_with_env(tmp, &agent_config(&config), &env);
    agent.wait_for(Duration::from_secs(30), "three probes' results", |c| count(c, "SELECT count(*) FROM probe_last") == 3);
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains(TOKEN), "{log}");
    let config_path = agent.dir.path().join("config.toml");
    let data = agent.data_dir();
    let out = bin().args(["--config", config_path.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "probes"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("secret at") && stdout.contains("HW_TEST_UNSET is not set") && !stdout.contains(TOKEN), "{stdout}");
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the secret is in the data dir");
    }

    // A secret file others can read is refused before anything runs.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, _, stderr) = run_probe(dir.path(), &config, "file", &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("probes.file.secret_file: ") && stderr.contains("is readable by others (mode 644): chmod 600 it"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
}

#[test]
fn a_hung_target_never_delays_the_sampling_tick() {
    let site = Site::start(&[("/hang", Reply::Hang), ("/ok", ok("fine"))]);
    let probes = [
        probe("hung", &site.url("/hang"), "interval = \"1s\"\ntimeout = \"1s\""),
        probe("fine", &site.url("/ok"), "interval = \"1s\"\ntimeout = \"1s\""),
    ]
    .concat();
    let mut agent = TestAgent::start(&agent_config(&probes));
    let up = |probe: &str, value: i64| {
        format!(
            "SELECT count(*) FROM samples v JOIN series s ON s.id = v.series_id
             WHERE s.metric = 'probe.up' AND json_extract(s.labels, '$.probe') = '{probe}' AND v.value = {value}"
        )
    };
    let (hung, fine) = (up("hung", 0), up("fine", 1));
    agent.wait_for(Duration::from_secs(40), "five failed and five good attempts", |c| count(c, &hung) >= 5 && count(c, &fine) >= 5);
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("probe failed: no complete answer within 1s") && log.contains("hung"), "{log}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    assert_eq!(count(&conn, &up("hung", 1)), 0);
    // The agent's own record of late ticks: none, though an attempt hung at every second.
    let skipped = "SELECT count(*) FROM samples v JOIN series s ON s.id = v.series_id WHERE s.metric = 'agent.ticks_skipped'";
    assert_eq!(count(&conn, skipped), 0, "{log}");
    let cpu = "SELECT max(v.ts) - min(v.ts) + 1 - count(*) FROM samples v JOIN series s ON s.id = v.series_id
               WHERE s.metric = 'cpu.usage_percent' AND s.labels = '{\"cpu\":\"total\"}'";
    assert_eq!(count(&conn, cpu), 0, "a second without a CPU sample");
    let reason: String = conn.query_row("SELECT reason FROM probe_last WHERE probe = 'hung'", [], |r| r.get(0)).unwrap();
    assert_eq!(reason, "timeout");
}

/// `openssl` makes a CA and a certificate it signs, valid for 30 days, and serves it
/// (`s_server -www`).
#[test]
fn an_https_certificate_is_measured_in_days_and_an_untrusted_one_fails_as_tls() {
    let have = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !require(have, "openssl (Debian package openssl)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ca, ca_key, cert, key, csr) = (path("ca.pem"), path("ca.key"), path("cert.pem"), path("key.pem"), path("req.csr"));
    let san = path("san.ext");
    std::fs::write(&san, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    // A local CA, and a server certificate it signs, valid for 30 days from now.
    let steps: [&[&str]; 3] = [
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=test CA", "-keyout", &ca_key, "-out", &ca],
        &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
        &["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-days", "30", "-extfile", &san, "-out", &cert],
    ];
    for args in steps {
        let made = Command::new("openssl").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        assert!(made.success(), "openssl {args:?}");
    }
    let port = free_port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string(), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://127.0.0.1:{port}/");
    let config = [
        probe("trusted", &url, &format!("ca_file = {ca:?}\nconditions = [\"cert_days > 29\"]")),
        probe("untrusted", &url, ""),
    ]
    .concat();
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "trusted", &[]);
    let (code2, _, stderr2) = run_probe(dir.path(), &config, "untrusted", &[]);
    server.kill().ok();
    server.wait().ok();
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let days = printed(&stdout, "probe.cert_expiry_days");
    assert!((29.9..=30.01).contains(&days), "{stdout}");
    assert_eq!(code2, Some(1), "{stderr2}");
    assert!(stderr2.contains("failed (tls)"), "{stderr2}");
}

#[test]
fn a_sqlite_probe_times_a_query_judges_its_value_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let app = rusqlite::Connection::open(&db).unwrap();
    app.execute_batch("CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT); INSERT INTO jobs (state) VALUES ('done'), ('done');")
        .unwrap();
    let sqlite = |name: &str, query: &str, extra: &str| {
        format!("[probes.{name}]\nkind = \"sqlite\"\npath = {db:?}\nquery = \"{query}\"\n{extra}\n")
    };
    let config = [
        sqlite("stuck", "SELECT count(*) FROM jobs WHERE state = 'stuck'", "conditions = [\"value == 0\", \"query_time < 5s\"]"),
        sqlite("writes", "DELETE FROM jobs", ""),
        sqlite("runaway", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", "timeout = \"500ms\""),
        format!("[probes.gone]\nkind = \"sqlite\"\npath = {:?}\n", dir.path().join("missing.db")),
    ]
    .concat();
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "stuck", &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(printed(&stdout, "probe.rows"), 1.0);
    assert_eq!(printed(&stdout, "probe.value"), 0.0);
    assert!(printed(&stdout, "probe.query_seconds") > 0.0, "{stdout}");
    app.execute("INSERT INTO jobs (state) VALUES ('stuck')", []).unwrap();
    let (code, _, stderr) = run_probe(dir.path(), &config, "stuck", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (condition): condition failed: value == 0"), "{stderr}");

    let (code, _, stderr) = run_probe(dir.path(), &config, "writes", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (query): the query failed: attempt to write a readonly database"), "{stderr}");
    assert_eq!(count(&app, "SELECT count(*) FROM jobs"), 3, "the probe wrote");
    // A query that never ends is interrupted at the timeout: the command returns.
    let (code, _, stderr) = run_probe(dir.path(), &config, "runaway", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (timeout): no complete answer within 500ms"), "{stderr}");
    let (code, _, stderr) = run_probe(dir.path(), &config, "gone", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (connect): cannot open"), "{stderr}");
    assert!(!dir.path().join("missing.db").exists(), "a read-only open must not create the file");
}

fn ai_probe(name: &str, url: &str, api: &str, extra: &str) -> String {
    format!("[probes.{name}]\nkind = \"ai\"\napi = \"{api}\"\nurl = \"{url}\"\nmodel = \"tiny\"\n{extra}\n")
}

/// A script: 300 ms to the first token, then 16 tokens 20 ms apart, 12 of 16 prompt tokens cached.
fn script(ending: Ending, llama_timings: bool) -> Script {
    Script { first_token: Duration::from_millis(300), tokens: 16, gap: Duration::from_millis(20), ending, cached: 12, llama_timings }
}

#[test]
fn an_ai_probe_measures_the_first_token_and_the_decode_rate_as_the_server_sent_them() {
    let dir = tempfile::tempdir().unwrap();
    for (api, llama) in [("openai", false), ("openai", true), ("ollama", false)] {
        let server = ModelServer::start(script(Ending::Done, llama));
        let config = ai_probe("model", &server.url(), api, "secret_env = \"HW_TEST_KEY\"\nconditions = [\"ttft < 5s\"]");
        let (code, stdout, stderr) = run_probe(dir.path(), &config, "model", &[("HW_TEST_KEY", "sk-test")]);
        assert_eq!(code, Some(0), "{api}: {stdout}{stderr}");
        let served = server.served();
        assert_eq!(served.len(), 1, "one completion");
        let s = &served[0];
        assert_eq!(s.authorization.as_deref(), Some("Bearer sk-test"));
        match api {
            "ollama" => assert_eq!(s.request["options"]["num_predict"], 16, "{}", s.request),
            _ => {
                assert_eq!(s.request["max_tokens"], 16, "{}", s.request);
                assert_eq!(s.request["stream_options"]["include_usage"], true);
            }
        }
        assert_eq!(s.request["stream"], true);
        // Measured at the socket: no earlier than the server sent it, and within a few ms
        // (the probe's clock starts before the connect, the server's at its accept).
        let (ttft, server_ttft) = (printed(&stdout, "probe.ttft_seconds"), s.first_token.unwrap().as_secs_f64());
        assert!(ttft >= server_ttft - 0.001 && ttft <= server_ttft + 0.05, "{api}: {ttft} vs the server's {server_ttft}");
        let (rate, server_rate) = (printed(&stdout, "probe.tokens_per_second"), 15.0 / s.decode.unwrap().as_secs_f64());
        assert!((rate - server_rate).abs() / server_rate < 0.1, "{api}: {rate} tokens/s vs the server's {server_rate}");
        assert_eq!(printed(&stdout, "probe.completion_tokens"), 16.0);
        assert_eq!(printed(&stdout, "probe.prompt_tokens"), 16.0);
        assert!(printed(&stdout, "probe.ai_response_seconds") >= ttft);
        if api == "ollama" {
            assert!(!stdout.contains("probe.cache_hit_percent"), "Ollama reports no cache: {stdout}");
        } else {
            assert_eq!(printed(&stdout, "probe.cache_hit_percent"), 75.0, "{stdout}");
        }
    }
}

#[test]
fn a_streamed_error_a_cut_stream_and_an_empty_answer_are_failures() {
    let dir = tempfile::tempdir().unwrap();
    for api in ["openai", "ollama"] {
        for (ending, want) in [
            (Ending::Error, "failed (stream): the server streamed an error: model overloaded"),
            (Ending::Cut, "failed (stream): the stream ended before its last event"),
            (Ending::Empty, "failed (stream): the answer held no token"),
        ] {
            let server = ModelServer::start(script(ending, false));
            let (code, stdout, stderr) = run_probe(dir.path(), &ai_probe("model", &server.url(), api, ""), "model", &[]);
            assert_eq!(code, Some(1), "{api} {ending:?}: {stdout}{stderr}");
            assert!(stderr.contains(want), "{api} {ending:?}: {stderr}");
        }
    }
}

#[test]
fn the_agent_asks_a_model_for_its_list_at_every_interval_and_for_a_completion_less_often() {
    let server = ModelServer::start(Script { first_token: Duration::from_millis(20), ..script(Ending::Done, false) });
    let config = agent_config(&ai_probe("model", &server.url(), "openai", "interval = \"1s\"\ncompletion_interval = \"3s\""));
    let mut agent = TestAgent::start(&config);
    let samples = |metric: &str| {
        format!("SELECT count(*) FROM samples v JOIN series s ON s.id = v.series_id WHERE s.metric = '{metric}'")
    };
    let (liveness, completions) = (samples("probe.duration_seconds"), samples("probe.ai_response_seconds"));
    agent.wait_for(Duration::from_secs(40), "two completions and four liveness checks", |c| {
        count(c, &completions) >= 2 && count(c, &liveness) >= 4
    });
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let (l, c) = (count(&conn, &liveness), count(&conn, &completions));
    // About two liveness checks per completion (every 1 s, a completion every 3 s).
    assert!(l >= c, "{l} liveness checks, {c} completions");
    assert!(server.served().len() as i64 >= c);
    assert!(count(&conn, &samples("probe.up")) >= l.max(c), "an up sample for each attempt");
}
