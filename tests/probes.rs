//! Probes against real servers on 127.0.0.1: an HTTP server written in the test
//! (`util_site`) and, for https, `openssl s_server` with a certificate made by `openssl req`.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{TestAgent, bin, bin_via, count, require, text, wait_until};
use crate::util_http::free_port;
use crate::util_model::{Ending, ModelServer, Script};
use crate::util_postgres::{self, PgServer};
use crate::util_site::{Reply, Site, ok};

/// A config whose agent samples every second and writes every second.
fn agent_config(probes: &str) -> String {
    format!(
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n[archive]\nenabled = false\n{probes}"
    )
}

fn probe(name: &str, url: &str, extra: &str) -> String {
    format!("[probes.{name}]\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

/// `hostwatch probe run NAME` with `config` written into `dir`.
fn run_probe(dir: &std::path::Path, config: &str, name: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    run_probe_via(&[], dir, config, name, env)
}

/// [`run_probe`] through `wrapper` (see [`bin_via`]).
fn run_probe_via(
    wrapper: &[&str],
    dir: &std::path::Path,
    config: &str,
    name: &str,
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = bin_via(wrapper)
        .args([
            "--config",
            path.to_str().unwrap(),
            "--data-dir",
            dir.join("data").to_str().unwrap(),
            "probe",
            "run",
            name,
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

/// `hostwatch report run JOB` on the hot store in `dir` with `config` (TOML text).
fn report_run(dir: &std::path::Path, config: &str, job: &str) -> String {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = bin()
        .args(["--config", path.to_str().unwrap(), "--data-dir", dir.to_str().unwrap(), "report", "run", job])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    stdout
}

/// The value printed for `metric` by `probe run`, in seconds for times.
fn printed(stdout: &str, metric: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(metric))
        .unwrap_or_else(|| panic!("{metric}: {stdout}"));
    let mut words = line.split_whitespace().skip(1);
    let (v, unit) = (words.next().unwrap().parse::<f64>().unwrap(), words.next().unwrap_or(""));
    if unit == "ms" { v / 1000.0 } else { v }
}

#[test]
fn probe_run_prints_every_measurement_of_a_real_answer() {
    let delay = Duration::from_millis(200);
    let site =
        Site::start(&[("/health", Reply::Answer { status: 200, body: r#"{"status":"ok","n":3}"#.into(), delay })]);
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
    assert_eq!(code, Some(2), "an unknown name is bad usage");
    assert!(stderr.contains("no probe \"nope\" in the config; probes are: accepted, down"), "{stderr}");
}

/// The lookup runs in a network namespace of its own with no interface up (`unshare
/// --net`, as root): it fails at once, and no query leaves the machine.
#[test]
fn a_name_that_does_not_resolve_fails_as_dns() {
    let isolated = Command::new("unshare").args(["--net", "true"]).status().is_ok_and(|s| s.success());
    if !require(isolated, "unshare --net (util-linux, as root)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = probe("named", "http://hostwatch-test.invalid/health", "timeout = \"5s\"");
    let (code, stdout, stderr) = run_probe_via(&["unshare", "--net"], dir.path(), &config, "named", &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("probe named failed (dns)"), "{stderr}");
}

#[test]
fn a_secret_reaches_the_target_and_nothing_else() {
    const TOKEN: &str = "tok-3f9c1d-never-shown";
    // A query string may hold a key too: shown as `?…`.
    let signed = "/api?sig=q-never-shown";
    let site = Site::start(&[("/api", ok("{}")), (signed, ok("{}"))]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = [
        probe("env", &site.url(signed), "secret_env = \"HW_TEST_TOKEN\"\ninterval = \"1s\"\ntimeout = \"900ms\""),
        probe(
            "file",
            &site.url("/api"),
            &format!("secret_file = {:?}\nsecret_header = \"X-Api-Key\"\ninterval = \"1s\"\ntimeout = \"900ms\"", file),
        ),
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
    let header =
        |name: &str| seen.iter().flatten().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(header("authorization"), vec![format!("Bearer {TOKEN}")]);
    assert_eq!(header("x-api-key"), vec![TOKEN.to_owned()]);

    // The agent: its logs, its store and `hostwatch probes` never hold the secret.
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = TestAgent::start_with_env(tmp, &agent_config(&config), &env);
    agent.wait_for(Duration::from_secs(30), "three probes' results", |c| {
        count(c, "SELECT count(*) FROM probe_last") == 3
    });
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains(TOKEN), "{log}");
    let config_path = agent.dir.path().join("config.toml");
    let data = agent.data_dir();
    let out = bin()
        .args(["--config", config_path.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "probes"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("secret at") && stdout.contains("HW_TEST_UNSET is not set") && !stdout.contains(TOKEN),
        "{stdout}"
    );
    assert!(stdout.contains("/api?…") && !stdout.contains("q-never-shown"), "{stdout}");
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the secret is in the data dir");
    }

    // A secret file others can read is refused before anything runs.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, _, stderr) = run_probe(dir.path(), &config, "file", &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("probes.file.secret_file: ")
            && stderr.contains("is readable by others (mode 644): chmod 600 it"),
        "{stderr}"
    );
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
    agent.wait_for(Duration::from_secs(40), "five failed and five good attempts", |c| {
        count(c, &hung) >= 5 && count(c, &fine) >= 5
    });
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("probe failed: no complete answer within 1s") && log.contains("hung"), "{log}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    assert_eq!(count(&conn, &up("hung", 1)), 0);
    // The agent's own record of late ticks: none, though an attempt hung at every second.
    let skipped =
        "SELECT count(*) FROM samples v JOIN series s ON s.id = v.series_id WHERE s.metric = 'agent.ticks_skipped'";
    assert_eq!(count(&conn, skipped), 0, "{log}");
    let cpu = "SELECT max(v.ts) - min(v.ts) + 1 - count(*) FROM samples v JOIN series s ON s.id = v.series_id
               WHERE s.metric = 'cpu.usage_percent' AND s.labels = '{\"cpu\":\"total\"}'";
    assert_eq!(count(&conn, cpu), 0, "a second without a CPU sample");
    let reason: String =
        conn.query_row("SELECT reason FROM probe_last WHERE probe = 'hung'", [], |r| r.get(0)).unwrap();
    assert_eq!(reason, "timeout");
}

/// A CA's certificate, and a server certificate and key it signed for the names in `san`
/// (`IP:127.0.0.1,DNS:localhost`), valid for 30 days: PEM files made by `openssl`.
struct TestCa {
    ca: String,
    cert: String,
    key: String,
}

impl TestCa {
    /// Made in `dir`; `None` (with a note, or a failure under CI) without openssl.
    fn make(dir: &std::path::Path, san: &str) -> Option<TestCa> {
        let have = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
        if !require(have, "openssl (Debian package openssl)") {
            return None;
        }
        let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        let (ca, ca_key, cert, key, csr) =
            (path("ca.pem"), path("ca.key"), path("cert.pem"), path("key.pem"), path("req.csr"));
        let (names, san) = (san, path("san.ext"));
        std::fs::write(&san, format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\n")).unwrap();
        let ca_req = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=test CA"];
        let server_req = ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"];
        let sign = ["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-days", "30"];
        let steps: [Vec<&str>; 3] = [
            [&ca_req[..], &["-keyout", &ca_key, "-out", &ca]].concat(),
            [&server_req[..], &["-keyout", &key, "-out", &csr]].concat(),
            [&sign[..], &["-extfile", &san, "-out", &cert]].concat(),
        ];
        for args in &steps {
            let made = Command::new("openssl").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
            assert!(made.unwrap().success(), "openssl {args:?}");
        }
        Some(TestCa { ca, cert, key })
    }
}

/// `openssl` makes a CA and a certificate it signs, valid for 30 days, and serves it
/// (`s_server -www`).
#[test]
fn an_https_certificate_is_measured_in_days_and_an_untrusted_one_fails_as_tls() {
    let dir = tempfile::tempdir().unwrap();
    let Some(TestCa { ca, cert, key }) = TestCa::make(dir.path(), "IP:127.0.0.1,DNS:localhost") else { return };
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
    app.execute_batch(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT); INSERT INTO jobs (state) VALUES ('done'), ('done');",
    )
    .unwrap();
    let sqlite = |name: &str, query: &str, extra: &str| {
        format!("[probes.{name}]\nkind = \"sqlite\"\npath = {db:?}\nquery = \"{query}\"\n{extra}\n")
    };
    let config = [
        sqlite(
            "stuck",
            "SELECT count(*) FROM jobs WHERE state = 'stuck'",
            "conditions = [\"value == 0\", \"query_time < 5s\"]",
        ),
        sqlite("writes", "DELETE FROM jobs", ""),
        sqlite(
            "runaway",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            "timeout = \"500ms\"",
        ),
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
    Script {
        first_token: Duration::from_millis(300),
        tokens: 16,
        gap: Duration::from_millis(20),
        ending,
        cached: 12,
        llama_timings,
    }
}

#[test]
fn an_ai_probe_measures_the_first_token_and_the_decode_rate_as_the_server_sent_them() {
    let dir = tempfile::tempdir().unwrap();
    // For Ollama, `true` is a server before 0.30, which reports no cached count.
    for (api, llama) in [("openai", false), ("openai", true), ("ollama", false), ("ollama", true)] {
        let server = ModelServer::start(script(Ending::Done, llama));
        let config =
            ai_probe("model", &server.url(), api, "secret_env = \"HW_TEST_KEY\"\nconditions = [\"ttft < 5s\"]");
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
        assert!(
            ttft >= server_ttft - 0.001 && ttft <= server_ttft + 0.05,
            "{api}: {ttft} vs the server's {server_ttft}"
        );
        let (rate, server_rate) = (printed(&stdout, "probe.tokens_per_second"), 15.0 / s.decode.unwrap().as_secs_f64());
        assert!((rate - server_rate).abs() / server_rate < 0.1, "{api}: {rate} tokens/s vs the server's {server_rate}");
        assert_eq!(printed(&stdout, "probe.completion_tokens"), 16.0);
        assert_eq!(printed(&stdout, "probe.prompt_tokens"), 16.0);
        assert!(printed(&stdout, "probe.ai_response_seconds") >= ttft);
        if api == "ollama" && llama {
            assert!(!stdout.contains("probe.cache_hit_percent"), "this Ollama reports no cache: {stdout}");
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
            let (code, stdout, stderr) =
                run_probe(dir.path(), &ai_probe("model", &server.url(), api, ""), "model", &[]);
            assert_eq!(code, Some(1), "{api} {ending:?}: {stdout}{stderr}");
            assert!(stderr.contains(want), "{api} {ending:?}: {stderr}");
        }
    }
}

#[test]
fn the_agent_asks_a_model_for_its_list_at_every_interval_and_for_a_completion_less_often() {
    let server = ModelServer::start(Script { first_token: Duration::from_millis(20), ..script(Ending::Done, false) });
    let config =
        agent_config(&ai_probe("model", &server.url(), "openai", "interval = \"1s\"\ncompletion_interval = \"3s\""));
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

#[test]
fn hourly_health_gives_each_probes_error_rate_and_p95_and_what_the_host_was_doing_when_it_failed() {
    use hostwatch::metrics::{self as m, Sample, SeriesKey};
    use hostwatch::store::{Batch, Store};
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (from, busy) = (now - 3000, now - 1500);
    let probe = |metric: &'static m::Metric, ts: i64, value: f64| Sample {
        key: SeriesKey::with(metric, "probe", "api"),
        ts,
        value,
    };
    let mut samples = Vec::new();
    for (i, ts) in (from..now).step_by(10).enumerate() {
        // One attempt in ten fails; the 20 slowest answers come while a build holds the CPU.
        samples.push(probe(&m::PROBE_UP, ts, if i % 10 == 3 { 0.0 } else { 1.0 }));
        samples.push(probe(&m::PROBE_DURATION, ts, if (busy..busy + 200).contains(&ts) { 12.0 } else { 0.1 }));
        let hot = (busy - 300..busy + 300).contains(&ts);
        samples.push(Sample {
            key: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"),
            ts,
            value: if hot { 93.0 } else { 8.0 },
        });
        samples.push(Sample { key: SeriesKey::plain(&m::MEM_USED_PCT), ts, value: 71.0 });
        let cargo = SeriesKey::labelled(&m::PROC_CPU, vec![("pid", "4242".into()), ("name", "cargo".into())]);
        samples.push(Sample { key: cargo, ts, value: if hot { 180.0 } else { 1.0 } });
    }
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    store.write(&Batch { samples, gaps: Vec::new(), probes: Vec::new() }, now, 0).unwrap();
    drop(store);
    let out = bin()
        .args(["--data-dir", dir.path().to_str().unwrap(), "report", "run", "hourly_health"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let first_failure = hostwatch::units::rfc3339((from + 30) * 1000);
    assert!(
        stdout.contains(&format!(
            "- **critical** probe api: 30 of 300 attempts failed (10.0%; rule probe_errors: warning past 1.0%, critical past 5.0%); at the first failure, at {first_failure} the host had CPU 8.0%, memory 71.0%, busiest process cargo (1% CPU)"
        )),
        "{stdout}"
    );
    // The last of the equally slow answers.
    let slowest = hostwatch::units::rfc3339((busy + 190) * 1000);
    assert!(
        stdout.contains("probe.duration_seconds{probe=\"api\"}: avg ") && stdout.contains(&format!("; the slowest took 12.00 s, at {slowest} the host had CPU 93.0%, memory 71.0%, busiest process cargo (180% CPU)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("## Probes\n\n- api: 300 attempts, error rate 10.0%, response time p95 12.00 s"),
        "{stdout}"
    );
}

fn pg_probe(server: &PgServer, query: &str, extra: &str) -> String {
    format!(
        "[probes.db]\nkind = \"postgres\"\nconnection = \"{}\"\nquery = \"{query}\"\nsecret_env = \"HW_TEST_PGPASSWORD\"\n{extra}\n",
        server.connection()
    )
}

/// PostgreSQL speaking TLS with a certificate from the test's own CA: with
/// `sslmode=require` and that CA as `ca_file` the probe's session is encrypted (the
/// server's `pg_stat_ssl` says so), without the CA it fails as tls, and without
/// `sslmode=require` it stays plain TCP as before.
#[test]
fn a_postgres_probe_speaks_verified_tls_with_sslmode_require() {
    let dir = tempfile::tempdir().unwrap();
    // For the address only: a name the certificate does not hold fails.
    let Some(TestCa { ca, cert, key }) = TestCa::make(dir.path(), "IP:127.0.0.1") else { return };
    let Some(server) = PgServer::start_tls(&cert, &key) else { return };
    let env = [("HW_TEST_PGPASSWORD", util_postgres::PASSWORD)];
    let mine = "SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let tls = |name: &str, extra: &str| {
        pg_probe(&server, mine, extra)
            .replace("[probes.db]", &format!("[probes.{name}]"))
            .replace("dbname=postgres", "dbname=postgres sslmode=require")
    };
    let plain = pg_probe(&server, mine, "conditions = [\"value == 0\"]");
    let config =
        [tls("tls", &format!("ca_file = {ca:?}\nconditions = [\"value == 1\"]")), tls("untrusted", ""), plain].concat();
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "tls", &env);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(printed(&stdout, "probe.value"), 1.0, "the session is encrypted");
    assert!(printed(&stdout, "probe.connect_seconds") > 0.0);
    let (code, _, stderr) = run_probe(dir.path(), &config, "untrusted", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (tls)") && stderr.contains("certificate"), "{stderr}");
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "db", &env);
    assert_eq!(code, Some(0), "plain TCP without sslmode=require: {stdout}{stderr}");

    // `hostaddr` without `host`: the certificate is checked against that address, as libpq
    // does; `host` names what it is checked against.
    let with_ca = |host: &str| tls("named", &format!("ca_file = {ca:?}")).replace("host=127.0.0.1", host);
    let (code, stdout, stderr) = run_probe(dir.path(), &with_ca("hostaddr=127.0.0.1"), "named", &env);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, _, stderr) = run_probe(dir.path(), &with_ca("host=localhost hostaddr=127.0.0.1"), "named", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (tls)") && stderr.contains("localhost"), "{stderr}");
}

#[test]
fn a_postgres_probe_times_its_query_counts_connections_and_names_a_stopped_server() {
    let Some(mut server) = PgServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = [("HW_TEST_PGPASSWORD", util_postgres::PASSWORD)];
    let config =
        pg_probe(&server, "SELECT 42 FROM pg_sleep(0.2)", "conditions = [\"value == 42\", \"query_time < 5s\"]");
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "db", &env);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let query = printed(&stdout, "probe.query_seconds");
    assert!((0.2..0.5).contains(&query), "pg_sleep(0.2) measured as {query} s: {stdout}");
    assert_eq!(printed(&stdout, "probe.value"), 42.0);
    assert_eq!(printed(&stdout, "probe.db_max_connections"), 20.0);
    assert!(printed(&stdout, "probe.connect_seconds") > 0.0);
    assert!(!stdout.contains(util_postgres::PASSWORD) && !stderr.contains(util_postgres::PASSWORD));

    // Without the password, the server says why.
    let (code, _, stderr) = run_probe(dir.path(), &config, "db", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (secret): environment variable HW_TEST_PGPASSWORD is not set"), "{stderr}");
    let (code, _, stderr) = run_probe(dir.path(), &config, "db", &[("HW_TEST_PGPASSWORD", "wrong")]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("failed (connect): FATAL: password authentication failed for user \"postgres\""),
        "{stderr}"
    );
    // A server without TLS, asked for it: refused as tls before the password is sent.
    let require = config.replace("dbname=postgres", "dbname=postgres sslmode=require");
    let (code, _, stderr) = run_probe(dir.path(), &require, "db", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (tls)"), "{stderr}");

    // Three sessions the test holds, one of them idle in a transaction: counted, the
    // probe's own connection left out.
    for _ in 0..2 {
        server.hold("SELECT pg_sleep(60);\n");
    }
    server.hold("BEGIN;\nSELECT 1;\n");
    let plain = pg_probe(&server, "SELECT 1", "");
    wait_until(Duration::from_secs(20), "three sessions", || {
        let (_, stdout, _) = run_probe(dir.path(), &plain, "db", &env);
        stdout.lines().any(|l| l.trim_start().starts_with("probe.db_connections "))
            && printed(&stdout, "probe.db_connections") == 3.0
            && printed(&stdout, "probe.db_idle_in_transaction") == 1.0
    });
    let (_, stdout, _) = run_probe(dir.path(), &plain, "db", &env);
    assert_eq!(printed(&stdout, "probe.db_connections_percent"), 15.0, "{stdout}");

    // A query the server refuses, then a stopped server.
    let (code, _, stderr) = run_probe(dir.path(), &pg_probe(&server, "SELECT * FROM nowhere", ""), "db", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (query): ERROR: relation \"nowhere\" does not exist"), "{stderr}");
    server.stop();
    let (code, _, stderr) = run_probe(dir.path(), &plain, "db", &env);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (refused)"), "{stderr}");
}

#[test]
fn a_stopped_database_fires_the_probes_error_rule() {
    let Some(server) = PgServer::start() else { return };
    let env = [("HW_TEST_PGPASSWORD", util_postgres::PASSWORD)];
    // The rule's window shortened from 10 minutes to 3 seconds (it waits for a full window).
    let rule = "[alerts]\ngrace = \"0s\"\n[alerts.rules.probe_errors]\ncondition = \"error_rate 3s\"\n";
    let config =
        format!("{}{rule}", agent_config(&pg_probe(&server, "SELECT 1", "interval = \"1s\"\ntimeout = \"900ms\"")));
    let mut agent = TestAgent::start_with_env(tempfile::tempdir().unwrap(), &config, &env);
    let ups = "SELECT count(*) FROM samples v JOIN series s ON s.id = v.series_id WHERE s.metric = 'probe.up' AND v.value = 1";
    agent.wait_for(Duration::from_secs(30), "four good attempts", |c| count(c, ups) >= 4);
    server.stop();
    let firing =
        "SELECT count(*) FROM alerts WHERE rule = 'probe_errors' AND phase = 'firing' AND series LIKE '%probe=\"db\"%'";
    agent.wait_for(Duration::from_secs(30), "probe_errors firing", |c| count(c, firing) == 1);
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("probe failed") && !log.contains(util_postgres::PASSWORD), "{log}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let reason: String = conn.query_row("SELECT reason FROM probe_last WHERE probe = 'db'", [], |r| r.get(0)).unwrap();
    assert_eq!(reason, "refused");
}

#[test]
fn the_quarterly_review_holds_each_probe_to_its_sla() {
    use hostwatch::metrics::{self as m, Sample, SeriesKey};
    use hostwatch::store::{Batch, Store};
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let up =
        |probe: &str, ts: i64, value: f64| Sample { key: SeriesKey::with(&m::PROBE_UP, "probe", probe), ts, value };
    // Three days of attempts a minute apart: one in a hundred fails for "api", none for "docs".
    let samples: Vec<Sample> = (now - 3 * 86_400..now - 60)
        .step_by(60)
        .enumerate()
        .flat_map(|(i, ts)| [up("api", ts, if i % 100 == 7 { 0.0 } else { 1.0 }), up("docs", ts, 1.0)])
        .collect();
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    store.write(&Batch { samples, gaps: Vec::new(), probes: Vec::new() }, now, 0).unwrap();
    drop(store);
    let probes =
        [probe("api", "http://127.0.0.1:9/", "sla = 99.9"), probe("docs", "http://127.0.0.1:9/", "sla = 99.0")]
            .concat();
    let stdout = report_run(dir.path(), &format!("[archive]\nenabled = false\n{probes}"), "quarterly_capacity");
    assert!(
        stdout.contains("- **warning** probe api: available 98.981% over 90 days, below its SLA of 99.9%: about "),
        "{stdout}"
    );
    assert!(!stdout.contains("probe docs: available"), "docs met its SLA: {stdout}");
    assert!(stdout.contains("## Probe availability\n\n- api: available 98.981% of 4319 attempts over 90 days (SLA 99.9%)\n- docs: available 100.000% of 4319 attempts"), "{stdout}");
}

#[test]
fn the_statements_busiest_since_the_last_attempt_are_reported_with_their_mean_time() {
    let Some(server) = PgServer::start() else { return };
    let env = [("HW_TEST_PGPASSWORD", util_postgres::PASSWORD)];
    let dir = tempfile::tempdir().unwrap();
    server.psql("SELECT pg_sleep(0.3)");
    let config = pg_probe(&server, "SELECT 1", "statements = true\ninterval = \"1s\"\ntimeout = \"900ms\"");
    // One attempt has no earlier counters: it names the busiest since the statistics' reset.
    let (code, stdout, stderr) = run_probe(dir.path(), &config, "db", &env);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let line = stdout.lines().find(|l| l.contains("pg_sleep")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("1 calls since the statistics' reset, mean 30"), "{line}");

    // The agent reports each statement's calls and mean time since its last attempt.
    let mut agent = TestAgent::start_with_env(tempfile::tempdir().unwrap(), &agent_config(&config), &env);
    agent.wait_for(Duration::from_secs(30), "a first attempt", |c| count(c, "SELECT count(*) FROM probe_last") == 1);
    for _ in 0..2 {
        server.psql("SELECT pg_sleep(0.3)");
    }
    let id = server.psql("SELECT queryid FROM pg_stat_statements WHERE query LIKE '%pg_sleep%' AND toplevel");
    let slow = format!(
        "SELECT count(*) FROM sample_values WHERE metric = 'probe.statement_mean_seconds'
         AND json_extract(labels, '$.statement') = '{id}' AND value BETWEEN 0.29 AND 0.6"
    );
    agent.wait_for(Duration::from_secs(30), "the slow statement's mean", |c| count(c, &slow) >= 1);
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let per_attempt = "SELECT max(n) FROM (SELECT count(*) AS n FROM sample_values
                       WHERE metric = 'probe.statement_calls' GROUP BY ts)";
    assert!(count(&conn, per_attempt) <= 10, "at most 10 statements an attempt");
}

#[test]
fn the_daily_review_gives_ai_and_database_performance_against_the_week_before() {
    use hostwatch::metrics::{self as m, Sample, SeriesKey};
    use hostwatch::store::{Batch, Store};
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let day_start = (now - 86_400).div_euclid(3600) * 3600;
    let of = |metric: &'static m::Metric, probe: &str, ts: i64, value: f64| Sample {
        key: SeriesKey::with(metric, "probe", probe),
        ts,
        value,
    };
    let statement = |id: &str, ts: i64, value: f64| Sample {
        key: SeriesKey::labelled(&m::PROBE_STATEMENT_MEAN, vec![("probe", "pg".into()), ("statement", id.into())]),
        ts,
        value,
    };
    let mut samples = Vec::new();
    for ts in (now - 8 * 86_400..now).step_by(600) {
        // The last day: the model's first token twice as slow, the database three times.
        let day = ts >= day_start;
        let pick = |before: f64, after: f64| if day { after } else { before };
        samples.extend([
            of(&m::PROBE_TTFT, "llm", ts, pick(0.3, 0.6)),
            of(&m::PROBE_AI_RESPONSE, "llm", ts, pick(1.0, 1.2)),
            of(&m::PROBE_TOKENS_PER_SECOND, "llm", ts, 40.0),
            of(&m::PROBE_CACHE_HIT, "llm", ts, 75.0),
            of(&m::PROBE_QUERY, "pg", ts, pick(0.010, 0.030)),
            of(&m::PROBE_DB_CONNECTIONS_PCT, "pg", ts, pick(10.0, 35.0)),
            statement("42", ts, pick(0.1, 0.3)),
            statement("7", ts, 0.05),
        ]);
    }
    let mut store = Store::open(&dir.path().join("hot.sqlite")).unwrap();
    store.write(&Batch { samples, gaps: Vec::new(), probes: Vec::new() }, now, 0).unwrap();
    drop(store);
    let stdout = report_run(dir.path(), "[archive]\nenabled = false\n", "daily_review");
    for want in [
        "- **warning** probe llm: time to first token p95 600 ms over the day, 300 ms the 7 days before",
        "- **warning** probe pg: query time p95 30 ms over the day, 10 ms the 7 days before",
        "## AI model performance\n\n- llm: time to first token p95 600 ms (300 ms the 7 days before), response time p95 1.20 s (1.00 s the 7 days before), 40.0 tokens/s (median), prompt cache hit 75% (median)\n",
        "## Database performance\n\n- pg: query time p95 30 ms (10 ms the 7 days before), connections in use at most 35% of max\n- pg: statement 42 got slower: mean 300 ms over the day, 100 ms the 7 days before\n",
    ] {
        assert!(stdout.contains(want), "wanted {want:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("probe llm: response time") && !stdout.contains("statement 7"), "{stdout}");
}
