//! Service files and `hostwatch service`: the units pass systemd's own checker, the launch
//! agent is a real plist, and install is previewed, idempotent, and clear when it cannot
//! finish. Nothing here touches the real user's ~/.config or /etc.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hostwatch::service::{self, Host, Manager, Scope};

use crate::util::{bin, require, text};

/// The binary under test, which the rendered units run.
fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hostwatch"))
}

fn host(manager: Manager, dir: &Path) -> Host {
    Host {
        manager,
        exe: exe(),
        config: None,
        data_dir: None,
        config_dir: Some(dir.join("config")),
        home: Some(dir.join("home")),
        uid: 1000,
    }
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `hostwatch service ARGS` with its config dir in `dir` and `path_dirs` as the whole PATH.
fn service(dir: &Path, path_dirs: &[&Path], args: &[&str]) -> Output {
    bin()
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("PATH", std::env::join_paths(path_dirs).unwrap())
        .arg("service")
        .args(args)
        .output()
        .unwrap()
}

/// A `systemctl` that only logs its arguments to `dir/systemctl.log`.
fn fake_systemctl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let script = bin_dir.join("systemctl");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", dir.join("systemctl.log").display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin_dir
}

fn systemctl_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("systemctl.log")).unwrap_or_default()
}

#[test]
fn both_units_as_installed_pass_systemd_analyze_verify() {
    if !require(has("systemd-analyze"), "systemd-analyze (apt-get install systemd)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    for (scope, mode) in [(Scope::User, "--user"), (Scope::System, "--system")] {
        // The unit's file name is its name; ExecStart must name a binary that exists.
        let unit = service::unit(&host(Manager::Systemd, dir.path()), scope).unwrap();
        let file = dir.path().join(format!("{mode}/hostwatch.service"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &unit.content).unwrap();
        // --man=no: the man page comes with the package, not with this checkout.
        let out = Command::new("systemd-analyze")
            .args([mode, "verify", "--man=no"])
            .arg(&file)
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{mode}: {stdout}{stderr}");
        assert_eq!(stderr, "", "{mode}: systemd-analyze has remarks");
    }
}

#[test]
fn the_launch_agent_parses_as_a_plist_and_runs_this_binary_in_the_background() {
    if !require(has("python3"), "python3 (for plistlib)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = service::unit(&host(Manager::Launchd, dir.path()), Scope::User).unwrap();
    let file = dir.path().join("agent.plist");
    std::fs::write(&file, &unit.content).unwrap();
    let script = "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))";
    let out = Command::new("python3").args(["-c", script]).arg(&file).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "not a plist: {stderr}");
    let plist: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plist["Label"], "dev.hostwatch.agent");
    assert_eq!(plist["ProgramArguments"], serde_json::json!([exe().to_str().unwrap(), "run"]));
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false, "restarted after a crash, not after a stop");
    assert_eq!(plist["ProcessType"], "Background");
    assert_eq!(plist["LowPriorityIO"], true);
    let log = dir.path().join("home/Library/Logs/hostwatch.log");
    assert_eq!(plist["StandardErrorPath"], log.to_str().unwrap());
}

#[test]
fn install_dry_run_prints_the_unit_and_the_commands_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let etc_unit = Path::new("/etc/systemd/system/hostwatch.service");
    let etc_before = std::fs::read(etc_unit).ok();
    let user_unit = dir.path().join("config/systemd/user/hostwatch.service");
    let exe = exe();
    let exe = exe.display();
    let cases = [
        ("--user", user_unit.clone(), format!("ExecStart={exe} run\n"), "systemctl --user"),
        ("--system", etc_unit.to_owned(), format!("ExecStart={exe} --data-dir /var/lib/hostwatch run\n"), "systemctl"),
    ];
    for (flag, path, exec_start, systemctl) in cases {
        let out = service(dir.path(), &[Path::new("/nonexistent")], &["install", flag, "--dry-run"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{flag}: {stderr}");
        assert!(stdout.starts_with(&format!("would write {}\n", path.display())), "{flag}: {stdout}");
        assert!(stdout.contains(&exec_start), "{flag}: {stdout}");
        let commands =
            format!("would run: {systemctl} daemon-reload\nwould run: {systemctl} enable --now hostwatch.service\n");
        assert!(stdout.ends_with(&commands), "{flag}: {stdout}");
    }
    assert!(!dir.path().join("config").exists(), "a dry run wrote the user unit");
    assert_eq!(std::fs::read(etc_unit).ok(), etc_before, "a dry run touched /etc");
}

#[test]
fn installing_twice_writes_once_then_only_makes_sure_the_service_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = [fake_systemctl(dir.path())];
    let path: Vec<&Path> = path.iter().map(PathBuf::as_path).collect();
    let unit = dir.path().join("config/systemd/user/hostwatch.service");

    let first = service(dir.path(), &path, &["install"]);
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stderr}");
    assert!(stdout.contains(&format!("done: write {}\n", unit.display())), "{stdout}");
    assert!(stdout.contains("logs: journalctl --user -u hostwatch -f"), "{stdout}");
    let written = std::fs::read_to_string(&unit).unwrap();
    assert!(written.contains(&format!("ExecStart={} run\n", exe().display())));
    assert_eq!(systemctl_log(dir.path()), "--user daemon-reload\n--user enable --now hostwatch.service\n");

    let second = service(dir.path(), &path, &["install", "--user"]);
    let (stdout, _) = text(&second);
    assert!(second.status.success());
    assert!(stdout.starts_with(&format!("{} is already installed, unchanged\n", unit.display())), "{stdout}");
    assert!(!stdout.contains("done: write"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), written);
    assert!(
        systemctl_log(dir.path())
            .ends_with("--user enable --now hostwatch.service\n--user enable --now hostwatch.service\n")
    );

    let status = service(dir.path(), &path, &["status"]);
    assert!(text(&status).0.starts_with(&format!("{}: installed, up to date\n", unit.display())));
    assert!(systemctl_log(dir.path()).ends_with("--user status --no-pager hostwatch.service\n"));
}

#[test]
fn install_keeps_the_config_and_data_dir_it_was_given_and_status_fails_for_a_stopped_service() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = fake_systemctl(dir.path());
    // This systemctl says every service is stopped, as the real one does with exit 3.
    let script = bin_dir.join("systemctl");
    let log = dir.path().join("systemctl.log");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\ncase \"$*\" in *status*) exit 3;; esac\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("hw.toml"), "[sampling]\ninterval = \"10s\"\n").unwrap();
    let run = |args: &[&str]| {
        bin()
            .current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("PATH", &bin_dir)
            .args(args)
            .output()
            .unwrap()
    };
    // Relative paths, as typed: the unit holds them made absolute.
    let out = run(&["--config", "hw.toml", "--data-dir", "data", "service", "install"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let unit = std::fs::read_to_string(dir.path().join("config/systemd/user/hostwatch.service")).unwrap();
    let (config, data) = (dir.path().join("hw.toml"), dir.path().join("data"));
    let want =
        format!("ExecStart={} --config {} --data-dir {} run\n", exe().display(), config.display(), data.display());
    assert!(unit.contains(&want), "{unit}");

    let out = run(&["service", "status"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr
            .contains("the service is not running (`systemctl --user status --no-pager hostwatch.service` exited with"),
        "{stderr}"
    );
    assert!(!stdout.contains("done:"), "{stdout}");

    // A config the service could not start with is refused before anything is written.
    std::fs::write(dir.path().join("bad.toml"), "[sampling]\ninterval = \"never\"\n").unwrap();
    let out = run(&["--config", "bad.toml", "service", "install", "--dry-run"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:2:"), "{stderr}");
}

#[test]
fn uninstall_stops_and_removes_the_unit_and_a_second_uninstall_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = [fake_systemctl(dir.path())];
    let path: Vec<&Path> = path.iter().map(PathBuf::as_path).collect();
    let unit = dir.path().join("config/systemd/user/hostwatch.service");
    assert!(service(dir.path(), &path, &["install"]).status.success());
    std::fs::remove_file(dir.path().join("systemctl.log")).unwrap();

    let out = service(dir.path(), &path, &["uninstall"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(!unit.exists());
    assert_eq!(systemctl_log(dir.path()), "--user disable --now hostwatch.service\n--user daemon-reload\n");

    let again = service(dir.path(), &path, &["uninstall"]);
    assert!(again.status.success());
    assert_eq!(text(&again).0, format!("{} is not installed: nothing to do\n", unit.display()));
}

#[test]
fn install_without_systemctl_writes_the_unit_and_names_what_is_left_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = service(dir.path(), &[&empty], &["install"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(dir.path().join("config/systemd/user/hostwatch.service").exists());
    assert!(
        stderr.contains(
            "left undone: run: systemctl --user daemon-reload; run: systemctl --user enable --now hostwatch.service: \
             `systemctl --user daemon-reload` failed: cannot run systemctl:"
        ),
        "{stderr}"
    );
}
