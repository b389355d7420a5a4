//! Shared helpers: a `TestAgent` running the real binary on a temp dir, CLI runs, fixtures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A path under `tests/fixtures`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// The hostwatch binary cargo built for these tests.
pub fn bin() -> Command {
    bin_via(&[])
}

/// The hostwatch binary run through `wrapper` (`["unshare", "--net"]`), if not empty.
pub fn bin_via(wrapper: &[&str]) -> Command {
    let exe = env!("CARGO_BIN_EXE_hostwatch");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    // The platform config of whoever runs the tests must not leak in.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-hostwatch-test-config");
    cmd
}

/// Runs the binary to completion with `args`.
pub fn hostwatch(args: &[&str]) -> Output {
    bin().args(args).output().expect("hostwatch runs")
}

/// Text of a finished run's stdout and stderr.
pub fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A `/sys` root for the agent: the host's real `/sys/block` (so disk I/O sees real devices)
/// plus a fixture's `class` tree (batteries and sensors this machine lacks).
pub fn sys_root(dir: &Path, fixture_name: &str) -> PathBuf {
    let root = dir.join("sys");
    std::fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink("/sys/block", root.join("block")).unwrap();
    copy_tree(&fixture(&format!("sys/{fixture_name}/class")), &root.join("class"));
    root
}

/// Copies a directory tree (fixture trees are small).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The real agent running in the background on a temp data dir.
pub struct TestAgent {
    /// Holds the data dir and config for the agent's life.
    pub dir: TempDir,
    child: Option<Child>,
    /// Extra environment for the agent (a session bus address, a time zone).
    env: Vec<(String, String)>,
}

impl TestAgent {
    /// Starts `hostwatch run` with `config` (TOML text) and `--data-dir <temp>/data`.
    pub fn start(config: &str) -> TestAgent {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, config)
    }

    /// Like [`TestAgent::start`], in a prepared temp dir (one holding a `sys` tree, say).
    pub fn start_in(dir: TempDir, config: &str) -> TestAgent {
        Self::start_with_env(dir, config, &[])
    }

    /// Like [`TestAgent::start_in`], with extra environment variables. A config without a
    /// `[server]` table gets one that switches the server off: agents of parallel tests
    /// would all ask for the default port.
    pub fn start_with_env(dir: TempDir, config: &str, env: &[(&str, &str)]) -> TestAgent {
        let config_path = dir.path().join("config.toml");
        let server = if config.contains("[server]") { "" } else { "\n[server]\nenabled = false\n" };
        std::fs::write(&config_path, format!("{config}{server}")).unwrap();
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut agent = TestAgent { dir, child: None, env };
        agent.spawn();
        agent
    }

    /// Starts the agent again on the same data dir and config (after a stop or a kill).
    pub fn spawn(&mut self) {
        let child = bin()
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("run")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hostwatch starts");
        self.child = Some(child);
    }

    /// The agent's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The hot store file.
    pub fn store(&self) -> PathBuf {
        self.data_dir().join("hot.sqlite")
    }

    /// The running agent's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("agent running").id()
    }

    /// Sends `signal` to the running agent.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().expect("agent running").id();
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid as i32, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Waits for the agent to exit, failing the test if it takes longer than `limit`.
    pub fn wait(&mut self, limit: Duration) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("agent running");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                return (status, String::from_utf8_lossy(&out.stderr).into_owned());
            }
            if Instant::now() > deadline {
                child.kill().ok();
                panic!("agent did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> (ExitStatus, String) {
        self.signal(libc::SIGTERM);
        self.wait(Duration::from_secs(10))
    }

    /// Waits until `cond` holds on the store (polling), or fails after `limit`.
    pub fn wait_for(&self, limit: Duration, what: &str, cond: impl Fn(&rusqlite::Connection) -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            // Never create the file, and wait for the agent's schema before asking anything.
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
            if let Ok(conn) = rusqlite::Connection::open_with_flags(self.store(), flags) {
                conn.busy_timeout(Duration::from_secs(1)).unwrap();
                let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap_or(0);
                if version > 0 && cond(&conn) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out after {limit:?} waiting for {what}");
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// One integer from a query.
pub fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Whether this run is CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips a test whose tool is missing outside CI (saying so), and fails it under CI.
pub fn require(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(!in_ci(), "CI must provide {what}");
        eprintln!("SKIPPED: {what} is not available here");
    }
    ok
}

/// A small tmpfs of its own, to fill up: a real full disk. Needs root (CI runs as root).
pub struct SmallDisk {
    /// The mount point.
    pub dir: TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. "4m"), or `None` if this user cannot mount.
    pub fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    /// Fills the disk to the last byte with a file `filler`; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0_u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&[0]);
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fills the hot store at `path` with one sample per series every `step` seconds in
/// `[from, until)`; value `i` of series `k` is `k * 1000 + i % 100` (exact at the
/// precision of every metric [`some_series`] uses).
/// Returns how many samples were written.
pub fn seed_hot(path: &Path, series: &[hostwatch::metrics::SeriesKey], from: i64, until: i64, step: i64) -> u64 {
    use hostwatch::metrics::Sample;
    use hostwatch::store::{Batch, Store};
    let mut store = Store::open(path).unwrap();
    let mut batch = Batch::default();
    let mut n = 0;
    for (i, ts) in (from..until).step_by(usize::try_from(step).unwrap()).enumerate() {
        for (k, key) in series.iter().enumerate() {
            batch.samples.push(Sample { key: key.clone(), ts, value: (k * 1000 + i % 100) as f64 });
        }
        if batch.samples.len() >= 10_000 {
            n += batch.samples.len() as u64;
            store.write(&std::mem::take(&mut batch), ts, 0).unwrap();
        }
    }
    n += batch.samples.len() as u64;
    store.write(&batch, until, 0).unwrap();
    n
}

/// A few series of different metrics and labels.
pub fn some_series(n: usize) -> Vec<hostwatch::metrics::SeriesKey> {
    use hostwatch::metrics::{self as m, SeriesKey};
    (0..n)
        .map(|i| match i % 3 {
            0 => SeriesKey::with(&m::CPU_USAGE, "cpu", i.to_string()),
            1 => SeriesKey::with(&m::DISK_USED_PCT, "mount", format!("/m{i}")),
            _ => SeriesKey::with(&m::NET_RX, "iface", format!("eth{i}")),
        })
        .collect()
}

/// One integer from a DuckDB query on the archive at `path` (opened read-only).
pub fn duck_count(path: &Path, sql: &str) -> i64 {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    let conn = duckdb::Connection::open_with_flags(path, config).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A config for alert tests: samples every second, only the battery rule (the others watch
/// this machine's CPU, memory and disks, which a test cannot steer), no grace, fast
/// retries. `notify` goes into the `[notify]` table; `webhooks` follow it.
pub fn alert_config(sys: &Path, notify: &str, webhooks: &str) -> String {
    let mut c = String::from(
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n\
         [alerts]\ngrace = \"0s\"\n",
    );
    for rule in ["cpu", "memory", "disk_space", "swap", "load"] {
        c.push_str(&format!("[alerts.rules.{rule}]\nenabled = false\n"));
    }
    c.push_str(&format!("[host]\nsys_root = {:?}\n", sys.to_str().unwrap()));
    c + "[notify]\nretry_max = \"1s\"\n" + notify + webhooks
}

/// A webhook table pointing at `url`, signed with the secret `s3cret`.
pub fn hook(name: &str, url: &str, extra: &str) -> String {
    format!("[notify.webhooks.{name}]\nurl = {url:?}\nsecret = \"s3cret\"\n{extra}")
}

/// A temp dir holding a `/sys` tree with a discharging laptop battery, BAT1.
pub fn laptop() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sys = sys_root(dir.path(), "discharging");
    (dir, sys)
}

/// Sets the fixture battery's charge (percent) and status, as the kernel shows them.
pub fn battery(sys: &Path, percent: u32, status: &str) {
    let bat = sys.join("class/power_supply/BAT1");
    std::fs::write(bat.join("charge_now"), (u64::from(percent) * 40_000).to_string()).unwrap();
    std::fs::write(bat.join("status"), status).unwrap();
}

/// Waits until `cond` holds, polling every 50 ms; fails after `limit` naming `what`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
