//! What the bounds of issue 11 hold, each side by side in one run:
//!
//!     cargo bench --bench bounds [review [before]|memory]...   (default: both)
//!
//! - review: the daily review on a hot store holding 8 days of the reviewed system series
//!   and N process series seen yesterday, each pid for 10 minutes at 5 s. Processes are
//!   reviewed by name (at most 100 names), so it is timed with the pids spread over 100
//!   names and with every pid a name of its own; with `before`, beside it, the queries the
//!   review made before: two per name at 1k and 4k pids, one trend per process series at 1k
//!   (minutes).
//! - memory: peak RSS of the release binary against hostile answers, next to the harmless
//!   answer: `notify test` to a webhook answering 500 with a 400 MB body (and with 40
//!   bytes); `report run` of hot-store and archive checks returning 20 M rows (and 20).

// wait4(2) reads a child's peak RSS: std does not give it.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hostwatch::config::Config;
use hostwatch::metrics::{self as m, Sample, SeriesKey};
use hostwatch::store::{Batch, Selector, Store};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Now, rounded to the hour: the review covers the 24 hours before the hour of its slot.
fn slot() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    i64::try_from(now).expect("seconds") / HOUR * HOUR
}

/// A hot store with the reviewed system series for 8 days at 1 min and `pids` process
/// series yesterday, spread over `names` names.
fn seeded(path: &Path, pids: i64, names: i64, slot: i64) {
    let mut store = Store::open(path).expect("store");
    let day_start = slot - DAY;
    let mut batch = Batch::default();
    let mut rng = fastrand::Rng::with_seed(11);
    for ts in (day_start - 7 * DAY..slot).step_by(60) {
        for metric in [&m::MEM_USED_PCT, &m::LOAD_5, &m::SWAP_USED_PCT] {
            batch.samples.push(Sample { key: SeriesKey::plain(metric), ts, value: rng.f64() * 50.0 });
        }
        let cpu = SeriesKey::with(&m::CPU_USAGE, "cpu", "total");
        batch.samples.push(Sample { key: cpu, ts, value: rng.f64() * 100.0 });
    }
    store.write(&batch, slot, 0).expect("write");
    for pid in 0..pids {
        let labels = vec![("name", format!("prog-{}", pid % names)), ("pid", (10_000 + pid).to_string())];
        let (cpu, rss) = (SeriesKey::labelled(&m::PROC_CPU, labels.clone()), SeriesKey::labelled(&m::PROC_RSS, labels));
        let from = day_start + (pid * 7) % (DAY - 600);
        let mut batch = Batch::default();
        for ts in (from..from + 600).step_by(5) {
            batch.samples.push(Sample { key: cpu.clone(), ts, value: rng.f64() * 100.0 });
            batch.samples.push(Sample { key: rss.clone(), ts, value: 1e8 + rng.f64() * 1e6 });
        }
        store.write(&batch, slot, 0).expect("write");
    }
}

/// Seconds of one daily review on `path`.
fn review_secs(path: &Path, slot: i64) -> f64 {
    let store = Store::open_read_only(path).expect("store");
    let start = Instant::now();
    let ctx = Config::defaults().checks_context(&path.with_file_name("archive.duckdb"), hostwatch::daemon::wall_ms);
    let report = hostwatch::checks::daily::run(&store, &ctx, slot).expect("review");
    assert!(report.markdown.contains("Busiest processes"), "{}", report.markdown);
    start.elapsed().as_secs_f64()
}

/// Seconds of the review's process queries as they were: one trend per process series.
fn per_pid_secs(path: &Path, slot: i64) -> f64 {
    let store = Store::open_read_only(path).expect("store");
    let start = Instant::now();
    for info in store.series().expect("series") {
        let Some(key) = SeriesKey::from_parts(&info.metric, &info.labels) else { continue };
        let days = if key.metric.name == m::PROC_RSS.name { 7 } else { 1 };
        if key.metric.name.starts_with("process.") {
            let sel = Selector { metric: key.metric.name.to_owned(), labels: key.labels.clone() };
            hostwatch::trend::one_series(Some(&store), None, &sel).expect("one series");
            hostwatch::trend::trend(Some(&store), None, &sel, slot - days * DAY, slot, HOUR).expect("trend");
        }
    }
    start.elapsed().as_secs_f64()
}

/// Seconds of the review's process queries as they were before they were grouped: two
/// trends per name for the first 100 names, each scanning its whole time range.
fn per_name_secs(path: &Path, names: i64, slot: i64) -> f64 {
    let store = Store::open_read_only(path).expect("store");
    let start = Instant::now();
    for name in 0..names.min(100) {
        for (metric, days) in [(&m::PROC_CPU, 1), (&m::PROC_RSS, 7)] {
            let sel = Selector { metric: metric.name.to_owned(), labels: vec![("name", format!("prog-{name}"))] };
            hostwatch::trend::trend(Some(&store), None, &sel, slot - days * DAY, slot, HOUR).expect("trend");
        }
    }
    start.elapsed().as_secs_f64()
}

fn review(want_before: bool) {
    println!("| daily review, hot store | process series | names | seconds |");
    println!("|---|---|---|---|");
    let slot = slot();
    for (pids, names) in [(1_000, 100), (1_000, 1_000), (4_000, 100), (4_000, 4_000), (10_000, 100), (10_000, 10_000)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hot.sqlite");
        seeded(&path, pids, names, slot);
        println!("| by name (now) | {pids} | {names} | {:.2} |", review_secs(&path, slot));
        if want_before && pids <= 4_000 && names == 100 {
            println!("| a query per name (before) | {pids} | {names} | {:.2} |", per_name_secs(&path, names, slot));
        }
        if want_before && pids == 1_000 && names == 1_000 {
            println!("| one trend per process series (before) | {pids} | {names} | {:.2} |", per_pid_secs(&path, slot));
        }
    }
}

/// A webhook receiver on 127.0.0.1 that answers every request 500 with a `size`-byte body,
/// streamed until the client hangs up. Returns its URL.
fn hostile_receiver(size: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0_u8; 65_536];
            let _ = conn.read(&mut buf);
            let head = format!("HTTP/1.1 500 Internal Server Error\r\ncontent-length: {size}\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_err() {
                continue;
            }
            let chunk = vec![b'x'; 65_536];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64);
                if conn.write_all(&chunk[..usize::try_from(n).expect("chunk")]).is_err() {
                    break;
                }
                left -= n;
            }
        }
    });
    url
}

/// Runs the release binary with `args` and returns its peak RSS in MB.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reads its rusage
fn peak_rss_mb(args: &[&str]) -> f64 {
    let child = Command::new(env!("CARGO_BIN_EXE_hostwatch"))
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-hostwatch-bench-config")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("hostwatch starts");
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    usage.ru_maxrss as f64 / 1024.0
}

fn memory() {
    println!("| hostile answer | harmless answer | peak RSS MB, hostile | peak RSS MB, harmless |");
    println!("|---|---|---|---|");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let config = dir.path().join("config.toml");
    let hook = |size| {
        let toml = format!("[notify]\ndesktop = false\n[notify.webhooks.ops]\nurl = {:?}\n", hostile_receiver(size));
        std::fs::write(&config, toml).expect("config");
        peak_rss_mb(&["--config", config.to_str().expect("path"), "--data-dir", data, "notify", "test"])
    };
    let (huge, small) = (hook(400_000_000), hook(40));
    println!("| webhook 500 with a 400 MB body | the same with 40 bytes | {huge:.1} | {small:.1} |");

    seeded(&dir.path().join("hot.sqlite"), 10, 10, slot());
    hostwatch::archive::Archive::open_write(&dir.path().join(hostwatch::archive::FILE_NAME)).expect("archive");
    let rows = |store: &str, sql: String| {
        let toml = format!(
            "[archive]\nenabled = true\n[checks.custom.rows]\nschedule = \"0 * * * *\"\nstore = \"{store}\"\nsql = \"{sql}\"\n"
        );
        std::fs::write(&config, toml).expect("config");
        peak_rss_mb(&["--config", config.to_str().expect("path"), "--data-dir", data, "report", "run", "rows"])
    };
    let cte = |n: u64| {
        format!("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c")
    };
    let (huge, small) = (rows("hot", cte(20_000_000)), rows("hot", cte(20)));
    println!("| hot-store check, 20 M rows | 20 rows | {huge:.1} | {small:.1} |");
    let range = |n: u64| format!("SELECT range AS x, repeat('x', 100) AS pad FROM range({n})");
    let (huge, small) = (rows("archive", range(20_000_000)), rows("archive", range(20)));
    println!("| archive check, 20 M rows of 100 bytes | 20 rows | {huge:.1} | {small:.1} |");
}

fn main() {
    let asked: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name);
    if want("review") {
        review(asked.iter().any(|a| a == "before"));
    }
    if want("memory") {
        memory();
    }
}
