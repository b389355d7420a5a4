//! The real binary on temp data dirs: what it records, how it stops, what survives a kill.

use std::time::Duration;

use crate::util::{TestAgent, count, hostwatch, sys_root, text};

/// Fast schedules so a test sees several ticks in a few seconds.
const FAST: &str = "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\ninterval = \"1s\"\n";

/// Metric families every host has (battery and temperatures come from a fixture tree).
const FAMILIES: &[&str] =
    &["cpu", "load", "memory", "swap", "system", "disk", "diskio", "net", "process", "battery", "temp"];

fn families(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT substr(metric, 1, instr(metric, '.') - 1) FROM sample_values ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every tick that has any system gauge has all of them: no half-written batch.
fn assert_whole_ticks(conn: &rusqlite::Connection) {
    let partial = count(
        conn,
        "SELECT count(*) FROM (SELECT ts, count(*) AS n FROM sample_values
         WHERE metric IN ('memory.used_bytes', 'load.avg1', 'swap.used_bytes', 'system.uptime_seconds')
         GROUP BY ts HAVING n <> 4)",
    );
    assert_eq!(partial, 0, "ticks with only some of their samples");
}

#[test]
fn agent_records_every_collector_family() {
    let dir = tempfile::tempdir().unwrap();
    let sys = sys_root(dir.path(), "discharging");
    let config = format!("{FAST}[host]\nsys_root = {:?}\n", sys.to_str().unwrap());
    let mut agent = TestAgent::start_in(dir, &config);
    let want: Vec<String> = {
        let mut f: Vec<String> = FAMILIES.iter().map(|s| (*s).to_owned()).collect();
        f.sort();
        f
    };
    agent.wait_for(Duration::from_secs(20), "every family", |c| families(c) == want);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}

/// Resident kB of `pid`'s clean pages of code and constants: its read-only private
/// mappings of files (the program's, the C and C++ libraries'), less any private copies
/// (relocated data the loader protected after writing it).
fn resident_read_only_kb(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut read_only, mut kb) = (false, 0i64);
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let value = || fields[1].parse::<i64>().unwrap();
        match fields.first() {
            Some(range) if !range.ends_with(':') => {
                read_only = matches!(fields.get(1), Some(&"r--p" | &"r-xp"))
                    && fields.get(5).is_some_and(|p| p.starts_with('/'));
            }
            Some(&"Rss:") if read_only => kb += value(),
            Some(&"Anonymous:") if read_only => kb -= value(),
            _ => {}
        }
    }
    u64::try_from(kb).unwrap()
}

/// After start-up the agent drops its resident pages of code and constants (they stay in
/// the page cache): their resident size falls at the first flush, and it samples on as before.
#[test]
fn after_start_up_the_agent_gives_back_its_code_pages_and_samples_on() {
    let mut agent = TestAgent::start(FAST);
    let pid = agent.pid();
    let (mut most, mut fell) = (0, false);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !fell && std::time::Instant::now() < deadline {
        let kb = resident_read_only_kb(pid);
        // Only the agent unmaps its code: memory pressure would too, never a false failure.
        fell = most > 0 && kb < most * 3 / 4;
        most = most.max(kb);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(fell, "the resident code and constants never fell from {most} kB");
    let ticks = |c: &rusqlite::Connection| count(c, "SELECT count(DISTINCT ts) FROM samples");
    agent.wait_for(Duration::from_secs(20), "ticks after the first flush", |c| ticks(c) >= 4);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn agent_runs_on_embedded_defaults_in_the_platform_data_dir() {
    let home = tempfile::tempdir().unwrap();
    let child = crate::util::bin()
        .arg("run")
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let store = home.path().join(".local/share/hostwatch/hot.sqlite");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !store.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conn = rusqlite::Connection::open(&store).unwrap();
    assert!(count(&conn, "SELECT count(*) FROM sample_values WHERE metric = 'memory.used_bytes'") >= 1);
}

#[test]
fn sigterm_and_ctrl_c_write_the_pending_batch_and_exit_0() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // Nothing is flushed on schedule: only the shutdown path can write these samples.
        let mut agent =
            TestAgent::start("[sampling]\ninterval = \"1s\"\nflush_interval = \"10m\"\n[processes]\nenabled = false\n");
        std::thread::sleep(Duration::from_millis(3500));
        agent.signal(signal);
        let (status, stderr) = agent.wait(Duration::from_secs(10));
        assert!(status.success(), "signal {signal}: {stderr}");
        let conn = rusqlite::Connection::open(agent.store()).unwrap();
        assert!(count(&conn, "SELECT count(DISTINCT ts) FROM samples") >= 3);
        assert_whole_ticks(&conn);
        assert_eq!(count(&conn, "SELECT count(*) FROM agent_runs WHERE stopped_at IS NOT NULL"), 1);
    }
}

#[test]
fn kill_9_at_any_moment_leaves_only_whole_batches() {
    let mut agent = TestAgent::start(FAST);
    for i in 0..6 {
        std::thread::sleep(Duration::from_millis(900 + 370 * i));
        agent.signal(libc::SIGKILL);
        agent.wait(Duration::from_secs(5));
        agent.spawn();
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_whole_ticks(&conn);
    assert_eq!(count(&conn, "SELECT count(*) FROM agent_runs"), 7);
}

#[test]
fn status_and_series_describe_a_running_agent() {
    let agent = TestAgent::start(FAST);
    agent.wait_for(Duration::from_secs(10), "memory samples", |c| {
        count(c, "SELECT count(*) FROM sample_values WHERE metric = 'memory.used_percent'") > 0
    });
    let data_dir = agent.data_dir();
    let data_dir = data_dir.to_str().unwrap();
    let out = hostwatch(&["--data-dir", data_dir, "status"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("agent     running since "), "{stdout}");
    assert!(stdout.contains("last gap  none"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("memory.used_percent ") && l.contains(" %")), "{stdout}");
    let out = hostwatch(&["--data-dir", data_dir, "series"]);
    let (stdout, _) = text(&out);
    assert!(stdout.starts_with("SERIES"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("memory.used_bytes ") && l.contains("bytes")), "{stdout}");
}

#[test]
fn status_without_a_store_exits_1_and_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostwatch(&["--data-dir", dir.path().to_str().unwrap(), "status"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no hot store at") && stderr.contains("hostwatch run"), "{stderr}");
}

#[test]
fn a_full_disk_loses_no_samples_once_space_returns() {
    let Some(disk) = crate::util::SmallDisk::mount("8m") else {
        crate::util::require(false, "mounting a tmpfs (root)");
        return;
    };
    // The agent's data dir is the small disk.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(disk.dir.path(), dir.path().join("data")).unwrap();
    let mut agent = TestAgent::start_in(
        dir,
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n",
    );
    agent.wait_for(Duration::from_secs(10), "first samples", |c| count(c, "SELECT count(*) FROM samples") > 0);

    let filler = disk.fill();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::remove_file(filler).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot write the hot store, keeping samples in memory"),
        "the disk never filled: {stderr}"
    );

    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    assert_whole_ticks(&conn);
    // Ticks are 1 s apart: no stretch of the full period is missing.
    let longest_gap = count(
        &conn,
        "SELECT max(next - ts) FROM (SELECT ts, lead(ts) OVER (ORDER BY ts) AS next
         FROM (SELECT DISTINCT ts FROM samples))",
    );
    assert!(longest_gap <= 2, "a hole of {longest_gap} s in the samples");
}

#[test]
fn agent_moves_a_backlog_into_the_archive_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let now = hostwatch::daemon::wall_ms() / 1000;
    let seeded = crate::util::seed_hot(
        &dir.path().join("data/hot.sqlite"),
        &crate::util::some_series(3),
        now - 10 * 3600,
        now - 7 * 3600,
        10,
    );
    let mut agent = TestAgent::start_in(dir, FAST);
    agent.wait_for(Duration::from_secs(30), "a rollup", |c| {
        count(c, "SELECT count(*) FROM rollups WHERE outcome = 'moved'") > 0
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    let archive = agent.data_dir().join("archive.duckdb");
    assert_eq!(crate::util::duck_count(&archive, "SELECT count(*) FROM raw_rows"), seeded as i64);
}

#[test]
fn a_second_agent_on_one_data_dir_exits_1_naming_the_first() {
    use std::os::unix::fs::PermissionsExt;
    let mut agent = TestAgent::start(FAST);
    agent.wait_for(Duration::from_secs(10), "a flush", |c| count(c, "SELECT count(*) FROM samples") > 0);
    let data_dir = agent.data_dir();
    let first_pid = std::fs::read_to_string(data_dir.join("agent.lock")).unwrap().trim().to_owned();
    let second = crate::util::bin()
        .args(["--config", agent.dir.path().join("config.toml").to_str().unwrap()])
        .args(["--data-dir", data_dir.to_str().unwrap(), "run"])
        .output()
        .unwrap();
    let (_, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("another hostwatch agent (pid {first_pid}) is running")), "{stderr}");
    let (doctor, _) = text(&hostwatch(&["--data-dir", data_dir.to_str().unwrap(), "doctor"]));
    assert!(
        doctor.lines().any(|l| l.contains("agent") && l.contains(&format!("running, pid {first_pid}"))),
        "{doctor}"
    );

    // The data dir and everything in it are this user's alone.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700);
    for f in ["hot.sqlite", "hot.sqlite-wal", "agent.lock"] {
        assert_eq!(mode(&data_dir.join(f)), 0o600, "{f}");
    }

    // A kill -9 leaves the file but not the lock: the next agent starts.
    agent.signal(libc::SIGKILL);
    agent.wait(Duration::from_secs(10));
    let (status, _) = text(&hostwatch(&["--data-dir", data_dir.to_str().unwrap(), "status"]));
    assert!(status.starts_with("agent     not running"), "{status}");
    agent.spawn();
    agent.wait_for(Duration::from_secs(10), "the second run", |c| count(c, "SELECT count(*) FROM agent_runs") == 2);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}

/// `hostwatch run` in a terminal (a pseudo-terminal from `script(1)`) prints its start line
/// and then says when its first samples are stored; `status` before then says when they
/// come.
#[test]
fn run_in_a_terminal_says_where_it_writes_and_when_the_first_samples_are_stored() {
    use std::io::{BufRead, BufReader};
    let script = std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !crate::util::require(script, "script(1) (util-linux)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[sampling]\ninterval = \"1s\"\nflush_interval = \"3s\"\n[server]\nenabled = false\n")
        .unwrap();
    let command =
        format!("{} --config {} --data-dir {} run", env!("CARGO_BIN_EXE_hostwatch"), config.display(), data.display());
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = lines.next().unwrap().unwrap();
    assert!(start.contains(&format!("sampling every 1s into {}", data.display())), "{start}");
    assert!(start.contains("Ctrl-C or SIGTERM stops it"), "{start}");
    let (status, _) =
        text(&hostwatch(&["--config", config.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "status"]));
    // Before the first flush (usually: it is 3 s away), status says when samples come.
    if status.contains("\nsamples   0\n") {
        assert!(
            status.contains("the agent writes its first samples at the flush interval, 3s after its start"),
            "{status}"
        );
    }
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("first") && first.contains("samples written to") && first.contains("hot.sqlite"), "{first}");
    assert!(first.contains("`hostwatch status` shows them"), "{first}");
    let pid: i32 = hostwatch::lock::holder(&data).expect("the agent holds its data dir").parse().unwrap();
    // SAFETY: kill(2) on the agent this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert!(child.wait().unwrap().success());
}
