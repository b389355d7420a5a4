//! A real PostgreSQL server from Debian's packages, of the test's own: `initdb` and
//! `pg_ctl` in a temp dir on a free port of 127.0.0.1, as `nobody` when the tests run as
//! root (PostgreSQL refuses to run as root), with password (SCRAM) authentication and
//! `pg_stat_statements` loaded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::util::require;
use crate::util_http::free_port;

/// The superuser's password.
pub const PASSWORD: &str = "pg-test-7d1e";

/// A running server; stopped when dropped.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// psql sessions the test holds open.
    sessions: Vec<Child>,
}

/// The newest PostgreSQL's binaries, if one is installed.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| Some(e.ok()?.path())).collect();
    dirs.sort_by_key(|d| d.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0));
    dirs.pop().map(|d| d.join("bin")).filter(|b| b.join("postgres").exists())
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program args...`, as `nobody` when we are root.
fn command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PgServer {
    /// Starts a server; `None` (with a note, or a failure under CI) where PostgreSQL is
    /// not installed.
    pub fn start() -> Option<PgServer> {
        PgServer::start_with(None)
    }

    /// Starts a server that also speaks TLS with this PEM certificate and key.
    pub fn start_tls(cert: &str, key: &str) -> Option<PgServer> {
        PgServer::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Option<PgServer> {
        let bin = bin_dir();
        if !require(bin.is_some(), "PostgreSQL (Debian package postgresql)") {
            return None;
        }
        let bin = bin.unwrap();
        let dir = tempfile::tempdir().unwrap();
        // nobody must reach the data dir through the temp dir and own what is inside.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, PASSWORD).unwrap();
        let mut owned = vec![pw.clone(), dir.path().to_owned()];
        let mut ssl = String::new();
        if let Some((cert, key)) = tls {
            // The server reads its key only if the key is its own and private.
            let (c, k) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            std::fs::copy(cert, &c).unwrap();
            std::fs::copy(key, &k).unwrap();
            std::fs::set_permissions(&k, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            ssl = format!(" -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}", c.display(), k.display());
            owned.extend([c, k]);
        }
        if is_root() {
            for path in owned {
                let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
                // SAFETY: a valid C path; nobody is uid/gid 65534 on Debian.
                assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
            }
        }
        let data = dir.path().join("data");
        let ok = command(&bin.join("initdb"))
            .args(["-U", "postgres", "-A", "scram-sha-256", "--no-sync", "--pwfile"])
            .arg(&pw)
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "initdb failed");
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=20 -c shared_preload_libraries=pg_stat_statements -c fsync=off{ssl}",
            dir.path().display()
        );
        let ok = command(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        let log = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        assert!(ok.success(), "pg_ctl start failed: {}", log());
        let server = PgServer { dir, bin, port, sessions: Vec::new() };
        server.psql("CREATE EXTENSION pg_stat_statements");
        Some(server)
    }

    /// `host=127.0.0.1 port=PORT user=postgres dbname=postgres`.
    pub fn connection(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    fn psql_command(&self) -> Command {
        let mut c = Command::new("psql");
        c.args(["-X", "-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres"])
            .env("PGPASSWORD", PASSWORD);
        c
    }

    /// Runs `sql`, waits for it and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let out = self.psql_command().args(["-At", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Opens a session that runs `script` and stays connected (its stdin held open).
    pub fn hold(&mut self, script: &str) {
        let mut child = self.psql_command().stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        use std::io::Write;
        child.stdin.as_mut().unwrap().write_all(script.as_bytes()).unwrap();
        self.sessions.push(child);
    }

    /// Stops the server now (`-m immediate`).
    pub fn stop(&self) {
        let _ = command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        for s in &mut self.sessions {
            let _ = s.kill();
            let _ = s.wait();
        }
        self.stop();
    }
}
