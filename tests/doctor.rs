//! `hostwatch doctor` on a healthy setup and on broken ones: every problem is named with
//! its fix, and only a failure makes it exit 1.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Output;

use crate::util::{bin, seed_hot, some_series, text};
use crate::util_http::free_port;

fn now() -> i64 {
    hostwatch::daemon::wall_ms() / 1000
}

/// `hostwatch doctor` on `data_dir`, with the session bus at `bus` (a socket path), and the
/// dashboard on a free port (the default one may be this machine's own agent's).
fn doctor(data_dir: &Path, bus: &Path) -> Output {
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("config.toml");
    std::fs::write(&file, format!("[server]\nlisten = \"127.0.0.1:{}\"\n", free_port())).unwrap();
    bin()
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={},guid=0", bus.display()))
        .arg("--config")
        .arg(&file)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("doctor")
        .output()
        .unwrap()
}

/// The line doctor printed for check `name`, with its column padding squeezed to one space.
fn line(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(name)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| panic!("no {name} check in:\n{stdout}"))
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let samples = seed_hot(&data.join("hot.sqlite"), &some_series(3), now() - 600, now() - 10, 10);
    hostwatch::archive::Archive::open_write(&data.join("archive.duckdb")).unwrap().close().unwrap();
    let bus = dir.path().join("bus");
    let _listener = UnixListener::bind(&bus).unwrap();

    let out = doctor(&data, &bus);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // Disk space depends on the machine: it may warn, never fail.
    assert!(!line(&stdout, "disk space").starts_with("FAIL"), "{stdout}");
    for name in ["data dir", "hot store", "archive", "clock", "session bus", "dashboard"] {
        assert!(line(&stdout, name).starts_with("ok "), "{stdout}");
    }
    assert!(line(&stdout, "hot store").contains(&format!("{samples} samples")), "{stdout}");
    assert!(line(&stdout, "archive").contains("is free for the next rollup"), "{stdout}");
    assert!(line(&stdout, "archive").contains("% free)"), "its size and free share: {stdout}");
    assert!(stdout.ends_with("warned\n"), "{stdout}");
}

#[test]
fn a_data_dir_that_cannot_be_made_and_no_session_bus_are_each_named_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    // Below a regular file: no directory can be made there, even by root (CI runs as root,
    // and permission bits do not stop root).
    std::fs::write(dir.path().join("file"), "").unwrap();
    let data = dir.path().join("file/data");
    let bus = dir.path().join("no-bus");

    let out = doctor(&data, &bus);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(line(&stdout, "data dir").starts_with(&format!("FAIL data dir cannot create {}:", data.display())));
    assert!(stdout.contains("fix: make the data dir a directory this user can write"), "{stdout}");
    let no_bus = line(&stdout, "session bus");
    assert!(no_bus.starts_with(&format!("warn session bus no session bus at {}:", bus.display())), "{stdout}");
    assert!(stdout.contains("fix: run hostwatch as a user service inside your desktop session"), "{stdout}");
    // The notification server cannot answer without a bus either: the second warning.
    assert!(
        line(&stdout, "notification server").starts_with("warn notification server no notification server answers")
    );
    // Seven checks, the agent lock's (issue 11), the dashboard's (issue 14) and the
    // config's (issue 17); no agent runs here, which warns too.
    assert!(stderr.contains("1 of 10 checks failed, 3 warned"), "{stderr}");
}

#[test]
fn an_archive_held_by_another_process_fails_and_says_which_file_to_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.duckdb");
    hostwatch::archive::Archive::open_write(&archive).unwrap().close().unwrap();
    // This test process is "the other process": DuckDB locks the file per process.
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    let _analyst = duckdb::Connection::open_with_flags(&archive, config).unwrap();
    let bus = dir.path().join("bus");
    let _listener = UnixListener::bind(&bus).unwrap();

    let out = doctor(dir.path(), &bus);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line(&stdout, "archive").starts_with("FAIL"), "{stdout}");
    let fix = format!("fix: stop the other process (duckdb CLI, python) holding {}", archive.display());
    assert!(stdout.contains(&fix), "{stdout}");
}

#[test]
fn a_clock_behind_the_newest_sample_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    seed_hot(&dir.path().join("hot.sqlite"), &some_series(1), now() + 3600, now() + 3700, 10);
    let bus = dir.path().join("bus");
    let _listener = UnixListener::bind(&bus).unwrap();

    let out = doctor(dir.path(), &bus);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "a warning alone passes: {stdout}");
    assert!(line(&stdout, "clock").starts_with("warn"), "{stdout}");
    assert!(line(&stdout, "clock").contains("it was stepped back"), "{stdout}");
}

#[test]
fn a_read_only_data_dir_fails_with_its_fix() {
    // A read-only mount binds root too (CI runs as root); mounting needs root.
    let Some(disk) = crate::util::SmallDisk::mount("1m") else {
        crate::util::require(false, "a tmpfs of its own (mounting needs root)");
        return;
    };
    let data = disk.dir.path();
    std::fs::write(data.join("hot.sqlite"), "").unwrap();
    let remount = std::process::Command::new("mount").args(["-o", "remount,ro"]).arg(data).status().unwrap();
    assert!(remount.success());
    let bus = tempfile::tempdir().unwrap();

    let out = doctor(data, &bus.path().join("bus"));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let data_line = line(&stdout, "data dir");
    assert!(data_line.starts_with(&format!("FAIL data dir cannot write in {}:", data.display())), "{stdout}");
    assert!(data_line.contains("Read-only file system"), "{stdout}");
    assert!(stdout.contains("fix: make the data dir a directory this user can write"), "{stdout}");
}

#[test]
fn a_truncated_archive_fails_instead_of_passing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let hot = data.join("hot.sqlite");
    let archive = data.join("archive.duckdb");
    seed_hot(&hot, &some_series(3), now() - 6 * 3600, now() - 3 * 3600, 10);
    let mut store = hostwatch::store::Store::open(&hot).unwrap();
    let policy = hostwatch::archive::Policy {
        hot_window: 3600,
        chunk: 3600,
        raw_retention: None,
        minute_retention: None,
        hour_retention: None,
    };
    hostwatch::archive::rollup(&mut store, &archive, now(), &policy, &Default::default()).unwrap();
    drop(store);
    let len = std::fs::metadata(&archive).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&archive).unwrap().set_len(len / 2).unwrap();
    let bus = dir.path().join("bus");
    let _listener = UnixListener::bind(&bus).unwrap();

    let out = doctor(&data, &bus);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let archive_line = line(&stdout, "archive");
    assert!(archive_line.starts_with("FAIL") && archive_line.contains("cannot be read"), "{stdout}");
    assert!(stdout.contains("move") && stdout.contains("aside"), "{stdout}");
}

#[test]
fn doctor_names_a_broken_config_sees_a_writing_agent_and_skips_the_bus_without_desktop_notices() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |config: &str| {
        let file = dir.path().join("config.toml");
        std::fs::write(&file, format!("{config}[server]\nlisten = \"127.0.0.1:{}\"\n", free_port())).unwrap();
        let out = bin()
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .arg("--config")
            .arg(&file)
            .arg("--data-dir")
            .arg(&data)
            .arg("doctor")
            .output();
        out.unwrap()
    };
    // A config that does not validate is a failed check with its line; the rest still run.
    let out = run("[sampling]\ninterval = \"never\"\n");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(line(&stdout, "config").starts_with("FAIL config ") && stdout.contains("config.toml:2:"), "{stdout}");
    assert!(line(&stdout, "agent").starts_with("warn agent not running on this data dir"), "{stdout}");
    assert!(line(&stdout, "clock").starts_with("ok "), "{stdout}");

    // Desktop notices off: no bus is needed, so none is looked for.
    let out = run("[notify]\ndesktop = false\n");
    let (stdout, _) = text(&out);
    assert!(line(&stdout, "config").starts_with("ok config valid ("), "{stdout}");
    assert!(!stdout.contains("session bus") && !stdout.contains("notification server"), "{stdout}");

    // A running agent that writes.
    let config = "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[notify]\ndesktop = false\n";
    let agent = crate::util::TestAgent::start(config);
    agent.wait_for(std::time::Duration::from_secs(20), "a first write", |c| {
        crate::util::count(c, "SELECT count(*) FROM samples") > 0
    });
    let out = bin()
        .arg("--config")
        .arg(agent.dir.path().join("config.toml"))
        .arg("--data-dir")
        .arg(agent.data_dir())
        .arg("doctor")
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(line(&stdout, "agent").starts_with(&format!("ok agent running, pid {}, writing", agent.pid())), "{stdout}");
}
