//! Load and stress tests against real HTTP servers on 127.0.0.1 (`util_target`): the
//! measured latencies match a fixed delay, a stress test stops at the step whose errors pass
//! its threshold, thresholds and abort hold, runs are compared with their history, the
//! guard rails refuse, and a kill or a stop never leaves a corrupt run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hostwatch::load::judge::Kept;
use rusqlite::Connection;
use tempfile::TempDir;

use crate::util::{TestAgent, battery, bin, laptop, sys_root, text, wait_until};
use crate::util_site::{Reply, Site, ok};
use crate::util_target::{Behaviour, Target};

/// A data dir and a config holding `[loadtests]` text `tests`.
struct Setup {
    dir: TempDir,
    config: PathBuf,
}

impl Setup {
    /// On a desktop (no battery) unless `tests` names its own `[host]`.
    fn new(tests: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let host = if tests.contains("[host]") {
            String::new()
        } else {
            format!("[host]\nsys_root = \"{}\"\n", sys_root(dir.path(), "desktop").display())
        };
        std::fs::write(&config, format!("[server]\nenabled = false\n{host}{tests}")).unwrap();
        Setup { dir, config }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = bin();
        cmd.arg("--config").arg(&self.config).arg("--data-dir").arg(self.data()).args(args);
        cmd
    }

    /// `load run NAME`: (success, stdout, stderr).
    fn run(&self, name: &str) -> (bool, String, String) {
        let out = self.command(&["load", "run", name]).output().unwrap();
        let (stdout, stderr) = text(&out);
        (out.status.success(), stdout, stderr)
    }

    fn db(&self) -> Connection {
        Connection::open(self.data().join(hostwatch::store::FILE_NAME)).unwrap()
    }

    /// Every stored run: (status, reason, kept).
    fn runs(&self) -> Vec<(String, Option<String>, Option<Kept>)> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT status, reason, kept FROM load_runs ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, serde_json::from_str::<Kept>(&r.get::<_, String>(2)?).ok())))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

fn test_table(name: &str, url: &str, keys: &str) -> String {
    format!("[loadtests.{name}]\nurl = \"{url}\"\n{keys}\n")
}

#[test]
fn a_fixed_delay_is_what_both_models_measure() {
    let target = Target::delayed(Duration::from_millis(25));
    let closed = test_table("closed", &target.url(), "users = 4\nduration = \"3s\"\nramp_up = \"0s\"");
    let open = test_table("open", &target.url(), "target_rps = 60\nduration = \"3s\"\nramp_up = \"0s\"");
    let s = Setup::new(&format!("{closed}{open}"));
    for name in ["closed", "open"] {
        let (ok, stdout, stderr) = s.run(name);
        assert!(ok, "{stdout}{stderr}");
        assert!(stdout.contains("# Load test") && stdout.contains("latency p50"), "{stdout}");
    }
    let runs = s.runs();
    assert_eq!(runs.len(), 2);
    for (status, _, kept) in &runs {
        let k = kept.as_ref().unwrap();
        let l = &k.total.latency;
        assert_eq!(status, "complete");
        assert_eq!(k.total.errors.len(), 0, "{k:?}");
        // Never under the delay; over it by what a busy machine adds, not by another delay.
        assert!(l.p50 >= 0.025 && l.p50 < 0.050, "p50 {l:?}");
        assert!(l.p99 >= l.p50 && l.max >= l.p99, "{l:?}");
    }
    let closed = runs[0].2.as_ref().unwrap();
    assert!(closed.total.requests > 200, "4 users for 3 s at 25 ms: {:?}", closed.total);
    let open = runs[1].2.as_ref().unwrap();
    let intended = open.total.intended_rps.unwrap();
    assert!((open.total.rps - 60.0).abs() < 6.0 && (intended - 60.0).abs() < 6.0, "{:?}", open.total);
    // Each run's figures are samples too, labelled with the test's name.
    let samples = s.db().query_row(
        "SELECT count(*) FROM sample_values WHERE metric = 'loadtest.latency_p95_seconds' AND labels = '{\"name\":\"closed\"}'",
        [],
        |r| r.get::<_, i64>(0),
    );
    assert_eq!(samples.unwrap(), 1);
    let list = s.command(&["load", "list"]).output().unwrap();
    let (stdout, _) = text(&list);
    assert!(stdout.contains("closed") && stdout.contains("open") && stdout.contains("complete"), "{stdout}");
}

#[test]
fn a_stress_test_stops_at_the_step_that_fails_and_names_the_one_before() {
    let target = Target::start(Behaviour { delay: Duration::from_millis(20), fail_above: Some(4), always_fail: false });
    let keys = "shape = \"stress\"\nstart = 2\nstep = 2\nmax = 10\nstep_duration = \"1s\"";
    let s = Setup::new(&test_table("st", &target.url(), keys));
    let (_, stdout, stderr) = s.run("st");
    assert!(stdout.contains("breaking point: 4 users"), "{stdout}{stderr}");
    assert!(stdout.contains("step 3 failed: error rate"), "{stdout}");
    let (status, _, kept) = &s.runs()[0];
    let kept = kept.as_ref().unwrap();
    assert_eq!(status, "complete");
    assert_eq!(kept.breaking, Some(1));
    assert_eq!(kept.steps.len(), 3, "8 and 10 users never ran: {:?}", kept.steps);
    assert!(kept.steps[1].errors.is_empty() && !kept.steps[2].errors.is_empty(), "{:?}", kept.steps);
}

#[test]
fn thresholds_are_findings_and_abort_on_stops_a_failing_run_early() {
    let slow = Target::delayed(Duration::from_millis(20));
    let failing = Target::start(Behaviour { delay: Duration::ZERO, fail_above: None, always_fail: true });
    let strict = test_table(
        "strict",
        &slow.url(),
        "users = 2\nduration = \"2s\"\nthresholds = { p95 = \"5ms\", error_rate = 0.01 }",
    );
    let broken = test_table(
        "broken",
        &failing.url(),
        "users = 2\nduration = \"60s\"\nabort_on = { error_rate = 0.05, for = \"1s\" }",
    );
    let s = Setup::new(&format!("{strict}{broken}"));
    let (ok, stdout, _) = s.run("strict");
    assert!(!ok, "a passed threshold fails the command");
    assert!(stdout.contains("**warning** loadtest strict: threshold passed: p95"), "{stdout}");
    assert!(!stdout.contains("threshold passed: error rate"), "{stdout}");
    let began = Instant::now();
    let (ok, stdout, stderr) = s.run("broken");
    assert!(!ok);
    assert!(began.elapsed() < Duration::from_secs(20), "aborted, not run for a minute");
    assert!(stdout.contains("**critical** loadtest broken: aborted: error rate 100.0% > 5.0% for 1s"), "{stdout}");
    assert!(stderr.contains("load test broken: aborted"), "{stderr}");
    assert_eq!(s.runs()[1].0, "aborted");
}

#[test]
fn a_run_is_compared_with_the_median_of_its_last_runs_of_the_same_plan() {
    let target = Target::delayed(Duration::from_millis(20));
    let s = Setup::new(&test_table(
        "api",
        &target.url(),
        "users = 2\nduration = \"2s\"\nramp_up = \"0s\"\ncompare_runs = 3",
    ));
    assert!(s.run("api").0);
    let (ok, stdout, _) = s.run("api");
    assert!(ok, "an unchanged run finds nothing: {stdout}");
    assert!(stdout.contains("p95 ") && stdout.contains("against the 1-run median"), "{stdout}");
    // A history four times faster than this server: the next run is a regression.
    let db = s.db();
    let (plan, kept): (String, String) = db
        .query_row("SELECT plan, kept FROM load_runs ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let mut fast: Kept = serde_json::from_str(&kept).unwrap();
    fast.total.latency.p50 /= 4.0;
    fast.total.latency.p95 /= 4.0;
    fast.total.latency.p99 /= 4.0;
    let fast = serde_json::to_string(&fast).unwrap();
    for _ in 0..3 {
        db.execute(
            "INSERT INTO load_runs(test, plan, started_ms, finished_ms, status, client_bound, kept) VALUES ('api', ?1, 0, 0, 'complete', 0, ?2)",
            rusqlite::params![plan, fast],
        )
        .unwrap();
    }
    // A run of another plan is no baseline.
    db.execute(
        "INSERT INTO load_runs(test, plan, started_ms, finished_ms, status, client_bound, kept) VALUES ('api', 'other', 0, 0, 'complete', 0, ?1)",
        [&kept],
    )
    .unwrap();
    let (ok, stdout, _) = s.run("api");
    assert!(!ok);
    assert!(
        stdout.contains("**critical** loadtest api: p95 +") && stdout.contains("against the 3-run median"),
        "{stdout}"
    );
    // The week's trends (the week before the second they run for) list the runs and what
    // they found.
    std::thread::sleep(Duration::from_millis(1100));
    let weekly = s.command(&["report", "run", "weekly_trends"]).output().unwrap();
    let (stdout, stderr) = text(&weekly);
    assert!(stdout.contains("## Load tests"), "{stdout}{stderr}");
    assert!(stdout.contains("api: complete") && stdout.contains("critical: p95 +"), "{stdout}");
}

#[test]
fn a_test_is_refused_on_battery_on_a_busy_host_and_during_another_job() {
    let target = Target::delayed(Duration::ZERO);
    let (_keep, sys) = laptop();
    let table = test_table("api", &target.url(), "users = 1\nduration = \"1s\"");
    let s = Setup::new(&format!("{table}[host]\nsys_root = \"{}\"\n", sys.display()));
    let refused = |want: &str| {
        let (ok, stdout, stderr) = s.run("api");
        assert!(!ok && stdout.contains(&format!("refused: {want}")), "{stdout}{stderr}");
        assert!(stderr.contains("load test api: refused"), "{stderr}");
    };
    refused("on battery (BAT1 at");
    battery(&sys, 80, "Charging");
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    busy_cpu(&s.data().join(hostwatch::store::FILE_NAME), now - 300, now, 85.0);
    refused("the host is busy: CPU averaged 85%");
    busy_cpu(&s.data().join(hostwatch::store::FILE_NAME), now - 300, now, 10.0);
    s.db()
        .execute("INSERT INTO check_runs(job, slot, started_ms) VALUES ('daily_review', 1, ?1)", [now * 1000])
        .unwrap();
    refused("another checklist job is under way: daily_review");
    s.db().execute("UPDATE check_runs SET finished_ms = ?1 WHERE job = 'daily_review'", [now * 1000]).unwrap();
    assert_eq!(target.served(), 0, "nothing was sent");
    let (ok, stdout, _) = s.run("api");
    assert!(ok, "{stdout}");
    let reasons: Vec<Option<String>> = s.runs().into_iter().map(|r| r.1).collect();
    assert_eq!(reasons.len(), 4, "each refusal is recorded: {reasons:?}");
    assert!(reasons[0].as_ref().unwrap().starts_with("on battery"));
}

/// Writes `cpu.usage_percent{cpu="total"}` = `value` every 5 s over `[from, to]`.
fn busy_cpu(hot: &Path, from: i64, to: i64, value: f64) {
    let mut store = hostwatch::store::Store::open(hot).unwrap();
    let key = hostwatch::metrics::SeriesKey::with(&hostwatch::metrics::CPU_USAGE, "cpu", "total");
    let samples = (from..=to).step_by(5).map(|ts| hostwatch::metrics::Sample { key: key.clone(), ts, value }).collect();
    let batch = hostwatch::store::Batch { samples, gaps: Vec::new(), probes: Vec::new() };
    // Overwrite: the samples' key is (ts, series), so the old ones go first.
    let db = Connection::open(hot).unwrap();
    db.execute("DELETE FROM samples", []).unwrap();
    store.write(&batch, to, 0).unwrap();
}

#[test]
fn a_hanging_a_redirecting_and_an_endless_target_are_failures_of_their_kind_within_bounds() {
    let site = Site::start(&[
        ("/hang", Reply::Hang),
        ("/moved", Reply::Redirect("/elsewhere")),
        ("/endless", Reply::Endless),
        ("/elsewhere", ok("ok")),
    ]);
    let hang = test_table("hang", &site.url("/hang"), "target_rps = 5\nduration = \"1s\"\ntimeout = \"200ms\"");
    let moved = test_table("moved", &site.url("/moved"), "users = 1\nduration = \"1s\"\nexpect_status = [200]");
    let endless = test_table("endless", &site.url("/endless"), "users = 1\nduration = \"1s\"\ntimeout = \"20s\"");
    let s = Setup::new(&format!("{hang}{moved}{endless}"));
    for name in ["hang", "moved", "endless"] {
        let began = Instant::now();
        let (_, stdout, stderr) = s.run(name);
        assert!(began.elapsed() < Duration::from_secs(15), "{name} ended within its bounds: {stdout}{stderr}");
    }
    let errors: Vec<Vec<String>> =
        s.runs().into_iter().map(|r| r.2.unwrap().total.errors.into_keys().collect()).collect();
    assert_eq!(errors[0], ["timeout"], "a target that never answers: timeouts");
    assert_eq!(errors[1], ["status"], "a 302 is the answer, never followed (expect_status = [200])");
    assert_eq!(errors[2], ["body"], "an endless body stops at 64 MiB");
    let runs = s.runs();
    let moved = &runs[1].2.as_ref().unwrap().total;
    assert!(moved.requests > 5 && moved.ok == 0, "{moved:?}");
}

#[test]
fn sigterm_keeps_a_partial_run_and_kill_9_leaves_none() {
    let target = Target::delayed(Duration::from_millis(5));
    let long = test_table("long", &target.url(), "users = 2\nduration = \"60s\"\nramp_up = \"0s\"");
    let s = Setup::new(&format!("{long}{}", test_table("short", &target.url(), "users = 1\nduration = \"1s\"")));
    std::fs::create_dir_all(s.data()).unwrap();
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGKILL, "kill -9")] {
        let before = target.served();
        let child = s.command(&["load", "run", "long"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        wait_until(Duration::from_secs(20), "requests", || target.served() > before + 50);
        if signal == libc::SIGTERM {
            // Two runs of one test at once: the second is refused while the first goes on.
            let (ok, stdout, _) = s.run("long");
            assert!(!ok && stdout.contains("refused: another checklist job is under way: load.long"), "{stdout}");
        }
        let (sent, child_pid) = (Instant::now(), child.id());
        unsafe { libc::kill(i32::try_from(child_pid).unwrap(), signal) };
        let out = child.wait_with_output().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(5), "{name} stopped it at once");
        let runs = s.runs();
        if signal == libc::SIGKILL {
            assert_eq!(runs.len(), 2, "a killed run leaves no row: {runs:?}");
            let ok: String = s.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok");
            // Its claim stays, unfinished, but names a process that is gone: it holds back
            // no run (a claim without an owner, from before owners, would for 75 minutes).
            let owner: String = s
                .db()
                .query_row("SELECT owner FROM check_runs WHERE job = 'load.long' AND finished_ms IS NULL", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(owner.contains(&format!(":{}:", child_pid)), "the killed run's claim names it: {owner}");
            let (_, stdout, _) = s.run("short");
            assert!(!stdout.contains("refused"), "a killed run's claim held back the next: {stdout}");
            assert_eq!(s.runs().len(), 3, "the next run ran");
        } else {
            let (stdout, _) = text(&out);
            assert_eq!(runs.len(), 2, "the refusal and the run: {stdout}");
            let (status, _, kept) = &runs[1];
            assert_eq!(status, "partial");
            assert!(kept.as_ref().unwrap().total.requests > 50, "{stdout}");
            assert!(stdout.contains("stopped before its end: partial"), "{stdout}");
        }
    }
}

/// A ramp from nothing to 20 rps over 1 s, then 4 s at 20: the schedule holds 10 + 80
/// requests, and the generator sends them, the ramp's too (it once sent one in the ramp: the
/// rate at its start, taken for the next second).
#[test]
fn the_open_model_sends_what_its_ramp_adds_up_to() {
    let target = Target::delayed(Duration::ZERO);
    let s = Setup::new(&test_table("ramped", &target.url(), "target_rps = 20\nramp_up = \"1s\"\nduration = \"5s\""));
    let (ok, stdout, stderr) = s.run("ramped");
    assert!(ok, "{stdout}{stderr}");
    let kept = s.runs()[0].2.clone().unwrap();
    let t = &kept.total;
    assert!((88..=91).contains(&t.requests), "90 planned: {t:?}\n{stdout}");
    assert!((t.intended_rps.unwrap() - 18.0).abs() < 0.5, "{t:?}");
    assert_eq!(target.served(), t.requests, "every request reached the target");
}

#[test]
fn the_open_model_counts_latency_from_when_a_request_was_meant_to_leave() {
    // Two requests at most under way, each 50 ms: 40 rps can be served, 100 are asked for.
    // Measured from the actual send, every request would take 50 ms; from the intended send
    // time, the queue behind the two slots shows.
    let target = Target::delayed(Duration::from_millis(50));
    let keys = "target_rps = 100\nduration = \"3s\"\nramp_up = \"0s\"\nmax_in_flight = 2";
    let s = Setup::new(&test_table("queued", &target.url(), keys));
    let (_, stdout, _) = s.run("queued");
    let kept = s.runs()[0].2.clone().unwrap();
    let t = &kept.total;
    assert!(t.rps < 50.0 && (t.intended_rps.unwrap() - 100.0).abs() < 1.0, "{t:?}");
    assert!(t.latency.p95 > 0.5, "the wait for a slot is counted: {:?}\n{stdout}", t.latency);
    assert!(stdout.contains("rps of"), "{stdout}");
}

#[test]
fn a_scheduled_test_runs_in_the_agent_and_its_report_is_kept() {
    let target = Target::delayed(Duration::from_millis(5));
    let table = test_table("nightly", &target.url(), "users = 1\nduration = \"2s\"\nschedule = \"*/3 * * * * *\"");
    let dir = tempfile::tempdir().unwrap();
    let sys = sys_root(dir.path(), "desktop");
    let config = format!("[sampling]\ninterval = \"1s\"\n[host]\nsys_root = \"{}\"\n{table}", sys.display());
    let mut agent = TestAgent::start_in(dir, &config);
    agent.wait_for(Duration::from_secs(30), "a stored load run", |db| {
        crate::util::count(db, "SELECT count(*) FROM load_runs WHERE test = 'nightly' AND status = 'complete'") >= 1
    });
    let (status, log) = agent.stop();
    assert!(status.success(), "{log}");
    let db = Connection::open(agent.store()).unwrap();
    let report: String = db
        .query_row("SELECT r.markdown FROM load_runs l JOIN reports r ON r.id = l.report_id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(report.starts_with("# Load test nightly"), "{report}");
}
