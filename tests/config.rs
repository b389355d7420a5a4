//! Config: the shipped default parses to the built-in defaults; every mistake is located.

use hostwatch::config::{Config, DEFAULT_TOML};

use crate::util::{fixture, hostwatch, text};

#[test]
fn shipped_default_config_is_exactly_the_built_in_defaults() {
    let parsed = Config::parse(DEFAULT_TOML, std::path::Path::new("packaging/config.toml")).unwrap();
    assert_eq!(parsed, Config::defaults());
}

#[test]
fn config_default_prints_a_file_that_config_check_accepts() {
    let out = hostwatch(&["config", "default"]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = hostwatch(&["config", "check", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&check);
    assert!(check.status.success(), "{stderr}");
    assert_eq!(stdout, format!("{}: ok\n", file.display()));
}

#[test]
fn valid_fixtures_parse() {
    let laptop = Config::load(&fixture("config/valid/laptop.toml")).unwrap();
    assert_eq!(laptop.sampling.interval.as_secs(), 1);
    assert!(!laptop.processes.enabled);
    assert_eq!(laptop.store.retention.as_secs(), 7 * 86_400);
    assert!(laptop.filters.interfaces_exclude.iter().any(|p| p.matches("tailscale0")));
}

/// Each invalid fixture's first line is `# expect: LINE:COL: message`.
#[test]
fn every_invalid_config_fixture_gives_its_expected_message() {
    let dir = fixture("config/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).expect("first line is # expect:");
        let err = Config::load(&path).expect_err(&format!("{} should be rejected", path.display()));
        let msg = err.to_string();
        let want = format!("{}:{expect}", path.display());
        assert!(msg.starts_with(&want), "{}:\n  got:  {msg}\n  want: {want}...", path.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures found");
}

#[test]
fn a_bad_config_makes_run_and_check_exit_2_with_the_location() {
    let bad = fixture("config/invalid/bad_duration.toml");
    let bad = bad.to_str().unwrap();
    for args in [vec!["--config", bad, "run"], vec!["config", "check", bad]] {
        let out = hostwatch(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("{bad}:3:12: sampling.interval = \"5x\" is not a duration")), "{stderr}");
    }
}

#[test]
fn a_missing_config_file_is_a_config_error() {
    let out = hostwatch(&["--config", "/nonexistent/hostwatch.toml", "status"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("cannot read config /nonexistent/hostwatch.toml: No such file"), "{stderr}");
}

#[test]
fn bad_flags_exit_2_with_usage() {
    for args in [vec!["--no-such-flag", "run"], vec!["run", "extra"], vec!["frobnicate"], vec![]] {
        let out = hostwatch(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr.contains("Usage:"), "{args:?}: {stderr}");
    }
}

#[test]
fn output_into_a_closed_pipe_exits_quietly() {
    // `hostwatch config default | head -0`: the reader is gone before the first write.
    let mut child = crate::util::bin()
        .args(["config", "default"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn an_error_into_a_closed_stderr_is_lost_not_a_panic() {
    // `hostwatch config check bad.toml 2>&1 | head -0`: the message has nowhere to go.
    let bad = fixture("config/invalid/bad_duration.toml");
    let mut child = crate::util::bin()
        .args(["config", "check", bad.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "a config error, not a panic (101)");
}

#[test]
fn alert_rules_override_built_ins_switch_them_off_and_add_new_ones() {
    use hostwatch::rules::{Condition, Direction};
    let c = Config::load(&fixture("config/valid/alerts.toml")).unwrap();
    let names: Vec<&str> = c.alerts.rules.iter().map(|r| r.name.as_str()).collect();
    let probes =
        ["probe_errors", "probe_slow", "probe_ai_response", "probe_query", "probe_degraded", "probe_certificate"];
    let want: Vec<&str> = ["cpu", "memory", "disk_space", "swap", "battery_low", "process_cpu"]
        .into_iter()
        .chain(probes)
        .chain(["hot_package", "root_filling"])
        .collect();
    assert_eq!(names, want);
    let cpu = &c.alerts.rules[0];
    assert_eq!((cpu.warning, cpu.critical, cpu.clear), (Some(50.0), Some(90.0), 40.0), "the built-in gap of 10 kept");
    let rule = |name: &str| c.alerts.rules.iter().find(|r| r.name == name).unwrap();
    let hot = rule("hot_package");
    assert_eq!(hot.condition, Condition::Count { hits: 3, of: 5 });
    assert_eq!(hot.describe(), "temp.celsius{sensor=coretemp*} 3 of 5 above 85/95 for 30s");
    let filling = rule("root_filling");
    assert_eq!((filling.direction, filling.critical, filling.clear), (Direction::Below, None, -950_000.0), "5% above");
    assert_eq!(filling.condition, Condition::Rate(std::time::Duration::from_secs(3600)));
    assert_eq!(c.alerts.repeat, Some(std::time::Duration::from_secs(4 * 3600)));
    assert!(!c.notify.critical_breaks_quiet);
    let names: Vec<&str> = c.notify.webhooks.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["phone", "team"]);
    assert_eq!(c.notify.webhooks[0].headers, [("Authorization".to_owned(), "Bearer tk_abc".to_owned())]);
}

#[test]
fn checking_a_custom_check_runs_none_of_its_sql() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written.csv");
    let file = dir.path().join("config.toml");
    for sql in [
        format!("COPY (SELECT 'x') TO '{}'; SELECT 1", written.display()),
        format!("COPY (SELECT 'x') TO '{}'", written.display()),
    ] {
        let toml = format!("[checks.custom.sneaky]\nschedule = \"0 * * * *\"\nstore = \"archive\"\nsql = \"{sql}\"\n");
        std::fs::write(&file, toml).unwrap();
        let out = hostwatch(&["config", "check", file.to_str().unwrap()]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{sql}: {stderr}");
        assert!(stderr.contains("checks.custom.sneaky.sql does not run on the archive store"), "{stderr}");
        assert!(!written.exists(), "{sql} wrote a file while being checked");
    }
}

#[test]
fn every_commented_example_in_the_shipped_config_is_valid_as_written() {
    // The example lines: "#   key = ..." and "#   [table]", not "#   # an option" or prose.
    let examples: Vec<&str> = DEFAULT_TOML
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter(|l| {
            let key = l.split('=').next().unwrap_or_default().trim();
            l.starts_with('[')
                || (l.contains(" = ") && !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .collect();
    assert!(examples.len() > 60, "only {} example lines found", examples.len());
    let text = examples.join("\n");
    // SQL is prepared against the real schemas, as `config check` does.
    let parsed = Config::parse(&text, std::path::Path::new("examples.toml"));
    let config = parsed.unwrap_or_else(|e| panic!("{e}\n--- the examples as one file:\n{text}"));
    let custom: Vec<&str> =
        config.checks.jobs.iter().map(|j| j.name.as_str()).filter(|n| *n == "busy_evenings").collect();
    assert_eq!(custom, ["busy_evenings"], "the custom check example is in");
    assert!(config.alerts.rules.iter().any(|r| r.name == "hot_package"));
    assert_eq!(config.probes.probes.len(), 4);
    assert_eq!(config.loadtests.tests.len(), 2);
}
