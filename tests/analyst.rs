//! What an analyst does with the real binary: query, trend, export, the docs' examples,
//! DuckDB's own CLI and Python on our file; and the rollup under kill -9 and a held lock.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{count, duck_count, hostwatch, require, seed_hot, some_series, text};

/// A data dir whose hot store holds `hours` of 10-second samples ending now, rolled up
/// (hot window 1 h) so the archive holds all but the last hour or two.
pub(crate) struct Seeded {
    pub(crate) dir: tempfile::TempDir,
    total: u64,
}

fn now() -> i64 {
    hostwatch::daemon::wall_ms() / 1000
}

impl Seeded {
    pub(crate) fn new(hours: i64, series: usize) -> Seeded {
        let dir = tempfile::tempdir().unwrap();
        let total = seed_hot(&dir.path().join("hot.sqlite"), &some_series(series), now() - hours * 3600, now(), 10);
        std::fs::write(dir.path().join("config.toml"), "[archive]\nhot_window = \"1h\"\n").unwrap();
        Seeded { dir, total }
    }

    pub(crate) fn run(&self, args: &[&str]) -> std::process::Output {
        let base = ["--config", self.path("config.toml"), "--data-dir", self.dir.path().to_str().unwrap()];
        hostwatch(&[&base[..], args].concat())
    }

    pub(crate) fn path(&self, name: &str) -> &'static str {
        Box::leak(self.dir.path().join(name).to_string_lossy().into_owned().into_boxed_str())
    }

    fn archive(&self) -> std::path::PathBuf {
        self.dir.path().join("archive.duckdb")
    }

    fn hot_count(&self) -> i64 {
        count(&rusqlite::Connection::open(self.dir.path().join("hot.sqlite")).unwrap(), "SELECT count(*) FROM samples")
    }
}

#[test]
fn query_prints_tables_csv_and_json_and_refuses_writes() {
    let s = Seeded::new(4, 3);
    assert!(s.run(&["rollup"]).status.success());
    // The archive `rollup` made is as private as the agent's files, whatever the umask.
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(s.archive()).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "archive mode {mode:o}");
    let sql = "SELECT metric, count(*) AS n FROM samples GROUP BY metric ORDER BY metric";
    let (out, err) = text(&s.run(&["query", sql]));
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["metric", "n"], "{out}{err}");
    assert_eq!(lines[1][0], "cpu.usage_percent", "{out}");
    assert!(lines[1][1].parse::<u32>().unwrap() > 0, "{out}");
    let (csv, _) = text(&s.run(&["query", sql, "--format", "csv"]));
    assert!(csv.starts_with("metric,n\ncpu.usage_percent,"), "{csv}");
    let (json, _) = text(&s.run(&["query", sql, "--format", "json"]));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[1]["metric"], "disk.used_percent");
    assert!(parsed[1]["n"].as_i64().unwrap() > 0);

    for write in ["DELETE FROM raw_recent", "CREATE TABLE t (a INTEGER)", "UPDATE rollup_state SET watermark = 0"] {
        let out = s.run(&["query", write]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{write}: {stderr}");
        assert!(stderr.contains("the archive is opened read-only, and this statement would change it"), "{stderr}");
    }
    assert!(duck_count(&s.archive(), "SELECT count(*) FROM raw_rows") > 0, "nothing was deleted");
}

#[test]
fn trend_reads_both_stores_and_rejects_bad_flags() {
    let s = Seeded::new(5, 3);
    assert!(s.run(&["rollup"]).status.success());
    let out = s.run(&[
        "trend",
        "disk.used_percent",
        "--label",
        "mount=/m1",
        "--since",
        "6h",
        "--step",
        "1h",
        "--format",
        "csv",
    ]);
    let (csv, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let counts: i64 = csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(counts, 5 * 360, "{csv}");
    for (args, msg) in [
        (vec!["trend", "disk.used_percent", "--label", "colour=red"], "unknown label \"colour\""),
        (vec!["trend", "disk.used_percent", "--step", "0s"], "at least 1s"),
        (vec!["trend", "disk.used_percent", "--since", "last tuesday"], "neither a duration"),
        (vec!["trend", "disk.used_percent", "--step", "99999999999d"], "at most 366d"),
        (vec!["trend", "disk.used_percent", "--since", "1m", "--until", "5m"], "must be before --until"),
        (vec!["export", "--out", "/nonexistent/x", "--since", "1h", "--until", "5h"], "must be before --until"),
    ] {
        let out = s.run(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr.contains(msg), "{stderr}");
    }
}

#[test]
fn parquet_export_reads_back_with_the_same_rows_and_values() {
    let s = Seeded::new(3, 3);
    assert!(s.run(&["rollup"]).status.success());
    let out_dir = s.dir.path().join("export");
    let out = s.run(&["export", "--format", "parquet", "--out", out_dir.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), format!("exported {} samples to {}", s.total, out_dir.display()));
    let host = std::fs::read_dir(&out_dir).unwrap().next().unwrap().unwrap().file_name().into_string().unwrap();
    assert!(host.starts_with("host="), "{host}");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let glob = format!("{}/**/*.parquet", out_dir.display());
    let (rows, sum, hosts): (i64, f64, i64) = conn
        .query_row(
            &format!("SELECT count(*), sum(value), count(DISTINCT host) FROM read_parquet('{glob}', hive_partitioning = true)"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((rows as u64, hosts), (s.total, 1));
    let per_tick: f64 = (0..3).map(|k| (k * 1000) as f64).sum::<f64>();
    let ticks = s.total / 3;
    let expected: f64 = per_tick * ticks as f64 + 3.0 * (0..ticks).map(|i| (i % 100) as f64).sum::<f64>();
    assert_eq!(sum, expected);
}

/// Every ```sql block of docs/ARCHIVE.md runs on a real archive.
#[test]
fn the_docs_example_queries_all_run() {
    let s = Seeded::new(3, 6);
    assert!(s.run(&["rollup"]).status.success());
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ARCHIVE.md")).unwrap();
    let blocks: Vec<&str> = doc.split("```sql").skip(1).map(|b| b.split("```").next().unwrap().trim()).collect();
    assert!(blocks.len() >= 12, "only {} example queries", blocks.len());
    for sql in blocks {
        let out = s.run(&["query", sql]);
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{sql}\n{stderr}");
    }
}

#[test]
fn duckdb_cli_and_python_open_the_archive() {
    let s = Seeded::new(2, 3);
    assert!(s.run(&["rollup"]).status.success());
    let archived = duck_count(&s.archive(), "SELECT count(*) FROM samples");
    let py = Command::new("python3").args(["-c", "import duckdb"]).status().is_ok_and(|st| st.success());
    if require(py, "Python's duckdb module (pip install duckdb)") {
        let script = format!(
            "import duckdb; c = duckdb.connect({:?}, read_only=True); print(c.execute('SELECT count(*) FROM samples').fetchone()[0])",
            s.archive()
        );
        let out = Command::new("python3").args(["-c", &script]).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            archived.to_string(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cli = Command::new("duckdb").arg("--version").output().is_ok_and(|o| o.status.success());
    if require(cli, "the DuckDB CLI (pip install duckdb-cli)") {
        let out = Command::new("duckdb")
            .args(["-readonly", "-csv", "-noheader"])
            .arg(s.archive())
            .arg("SELECT count(*) FROM samples")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            archived.to_string(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn rollup_is_deferred_while_another_process_holds_the_archive() {
    let py = Command::new("python3").args(["-c", "import duckdb"]).status().is_ok_and(|st| st.success());
    if !require(py, "Python's duckdb module (pip install duckdb)") {
        return;
    }
    let s = Seeded::new(3, 3);
    assert!(s.run(&["rollup"]).status.success());
    // New aged rows arrive while an analyst has the archive open.
    seed_hot(&s.dir.path().join("hot.sqlite"), &some_series(3), now() - 30 * 3600, now() - 20 * 3600, 10);
    let before = s.hot_count();
    let script = format!(
        "import duckdb, sys, time; c = duckdb.connect({:?}); print('ready', flush=True); sys.stdin.read()",
        s.archive()
    );
    let mut analyst =
        Command::new("python3").args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(analyst.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let out = s.run(&["rollup"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("rollup deferred")
            && stderr.contains("held by another process")
            && stderr.contains("nothing was lost"),
        "{stderr}"
    );
    assert_eq!(s.hot_count(), before, "the hot store keeps everything");
    let (status, _) = text(&s.run(&["status"]));
    let backlog: u64 =
        status.split("backlog ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(status.contains("deferred: ") && backlog >= 10 * 360 * 3, "{status}");

    drop(analyst.stdin.take());
    analyst.wait().unwrap();
    let out = s.run(&["rollup"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(
        duck_count(&s.archive(), "SELECT count(*) FROM raw_rows") + s.hot_count(),
        s.total as i64 + 10 * 360 * 3
    );
}

#[test]
fn rollup_killed_at_many_points_never_loses_or_duplicates_a_sample() {
    // About 40 one-hour chunks, so kills land in every phase of many chunks. The number of
    // kills is bounded, not the time: on a slow machine a whole rollup may never fit under
    // the longest delay, and the uninterrupted run after the kills finishes what is left.
    // Raw is kept a day, so the run ends by ageing a UTC day's raw rows into minutes: kills
    // land in that transaction too.
    let s = Seeded::new(54, 40);
    std::fs::write(s.path("config.toml"), "[archive]\nhot_window = \"1h\"\nraw_retention = \"1d\"\n").unwrap();
    let mut kills = 0;
    let mut delay = 40;
    while kills < 60 {
        let mut child = crate::util::bin()
            .args(["--config", s.path("config.toml"), "--data-dir", s.dir.path().to_str().unwrap(), "rollup"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        // Kill at shifting offsets: early (opening, migrating) through late (deleting).
        delay = 40 + (delay * 7 + 130) % 900;
    }
    assert!(kills >= 8, "only {kills} kills landed");
    // A rollup with nothing to move leaves the archive closed, retention included: a late
    // sample of a new series, two days old, gives the last one something to move.
    let late = &some_series(41)[40..];
    let late = seed_hot(&s.dir.path().join("hot.sqlite"), late, now() - 50 * 3600, now() - 50 * 3600 + 1, 10);
    let out = s.run(&["rollup"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let a = s.archive();
    let archived = duck_count(&a, "SELECT sum(count) FROM samples_1m");
    assert_eq!(archived + s.hot_count(), (s.total + late) as i64, "lost samples after {kills} kills");
    assert!(duck_count(&a, "SELECT count(*) FROM agg_1m") > 0, "no raw row aged into minutes");
    assert_eq!(duck_count(&a, "SELECT count(*) - count(DISTINCT (series_id, ts)) FROM raw_rows"), 0, "duplicates");
    let both =
        "SELECT count(*) FROM raw_rows r JOIN agg_1m m ON m.series_id = r.series_id AND m.bucket = r.ts // 60 * 60";
    assert_eq!(duck_count(&a, both), 0, "samples both raw and in minutes");
    assert_eq!(duck_count(&a, "SELECT count(*) - count(DISTINCT (series_id, bucket)) FROM agg_1m"), 0, "minutes twice");
    assert_eq!(duck_count(&a, "SELECT sum(count) FROM agg_1h"), archived, "hour tier disagrees with the minutes");
}

#[test]
fn query_touches_no_file_but_the_archive_and_runs_one_statement() {
    let s = Seeded::new(3, 1);
    assert!(s.run(&["rollup"]).status.success());
    let before = duck_count(&s.archive(), "SELECT count(*) FROM raw_rows");
    let leak = s.dir.path().join("leak.csv");
    let other = s.dir.path().join("other.duckdb");
    let attempts = [
        format!("COPY (SELECT * FROM raw_rows) TO '{}'", leak.display()),
        format!("SELECT 1; COPY (SELECT 1) TO '{}'", leak.display()),
        format!("EXPORT DATABASE '{}'", s.dir.path().join("dump").display()),
        format!("ATTACH '{}' AS o", other.display()),
        "SELECT * FROM read_text('/etc/passwd')".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "SET memory_limit = '100GB'".to_owned(),
    ];
    for sql in &attempts {
        let out = s.run(&["query", sql]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{sql} ran: {stdout}");
        assert!(!stdout.contains("root:"), "{sql}: {stdout}");
        assert!(!stderr.is_empty(), "{sql} failed without saying why");
    }
    assert!(!leak.exists() && !other.exists() && !s.dir.path().join("dump").exists());
    assert_eq!(duck_count(&s.archive(), "SELECT count(*) FROM raw_rows"), before);
}
