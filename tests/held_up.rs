//! Nothing holds up the sampling tick: not a collector that hangs, not a hot store locked by
//! someone else, and a tick that still comes late (the process was stopped) is counted.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hostwatch::collect::rate::TickCtx;
use hostwatch::collect::{Battery, CollectError, Collector, Sampler};
use hostwatch::metrics::{Sample, SeriesKey, TEMP};

use crate::collectors::sample;
use crate::util::{TestAgent, alert_config, battery, count, hook, laptop, sys_root};
use crate::util_http::Receiver;

/// A collector that blocks until its gate opens, as a read of a hung mount would.
struct Stuck {
    gate: Arc<(Mutex<bool>, Condvar)>,
    returned: Arc<AtomicUsize>,
}

impl Collector for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }

    fn collect(&mut self, ctx: &TickCtx, out: &mut Vec<Sample>) -> Result<(), CollectError> {
        let (open, changed) = &*self.gate;
        let _open = changed.wait_while(open.lock().unwrap(), |open| !*open).unwrap();
        out.push(Sample { key: SeriesKey::with(&TEMP, "sensor", "stuck"), ts: ctx.ts(), value: 1.0 });
        self.returned.fetch_add(1, SeqCst);
        Ok(())
    }
}

/// The series names of one tick's samples.
fn names(out: &[Sample]) -> Vec<String> {
    out.iter().map(|s| s.key.to_string()).collect()
}

#[test]
fn a_hung_collector_is_skipped_at_its_deadline_while_the_others_go_on() {
    let (_dir, sys) = laptop();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let returned = Arc::new(AtomicUsize::new(0));
    let stuck = Stuck { gate: gate.clone(), returned: returned.clone() };
    let collectors: Vec<Box<dyn Collector>> = vec![Box::new(stuck), Box::new(Battery::new(&sys))];
    let mut sampler = Sampler::new(collectors, Duration::from_millis(400)).unwrap();
    let (error, own) = (r#"agent.collector_errors{name="stuck"}"#, r#"temp.celsius{sensor="stuck"}"#);
    let t0 = 1_800_000_000_000;

    // It hangs: the battery's samples come anyway, and the hung one is recorded, each tick.
    for tick in 0..3 {
        let mut out = Vec::new();
        sample(&mut sampler, t0 + tick * 400, &mut out);
        let got = names(&out);
        assert!(got.iter().any(|n| n.starts_with("battery.charge_percent")), "{got:?}");
        assert!(got.iter().any(|n| n == error), "{got:?}");
        assert!(!got.iter().any(|n| n == own), "{got:?}");
    }

    // It comes back: its late answer is dropped and the next tick is its own again.
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    let deadline = Instant::now() + Duration::from_secs(10);
    while returned.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the stuck collector never returned");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut out = Vec::new();
    sample(&mut sampler, t0 + 1_600, &mut out);
    let got = names(&out);
    assert!(!got.iter().any(|n| n == error), "{got:?}");
    let stuck: Vec<&Sample> = out.iter().filter(|s| s.key.to_string() == own).collect();
    assert_eq!(stuck.len(), 1, "{got:?}");
    assert_eq!(stuck[0].ts, (t0 + 1_600) / 1000, "the sample is this tick's, not the late one's");
}

#[test]
fn a_battery_that_never_answers_holds_up_only_itself_and_sigterm_still_stops_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let sys = sys_root(dir.path(), "discharging");
    // A FIFO with no writer: opening it blocks for good, as a hung device read does.
    let fifo = sys.join("class/power_supply/BAT1/type");
    std::fs::remove_file(&fifo).unwrap();
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let config = format!(
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\nenabled = false\n\
         [host]\nsys_root = {:?}\n",
        sys.to_str().unwrap()
    );
    let mut agent = TestAgent::start_in(dir, &config);
    agent.wait_for(Duration::from_secs(20), "samples beside a hung battery", |c| {
        let ticks = count(c, "SELECT count(DISTINCT ts) FROM sample_values WHERE metric = 'memory.used_bytes'");
        let hung = count(
            c,
            "SELECT count(*) FROM sample_values WHERE metric = 'agent.collector_errors' AND labels LIKE '%battery%'",
        );
        ticks >= 4 && hung >= 3
    });
    let conn = rusqlite::Connection::open(agent.store()).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM sample_values WHERE metric LIKE 'battery.%'"), 0);
    assert!(count(&conn, "SELECT count(*) FROM sample_values WHERE metric = 'temp.celsius'") > 0);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("collector battery did not answer within 500ms"), "{stderr}");
}

#[test]
fn a_hot_store_locked_by_another_process_delays_no_tick_and_the_alert_goes_out_after() {
    let receiver = Receiver::start();
    let (dir, sys) = laptop();
    let agent =
        TestAgent::start_in(dir, &alert_config(&sys, "desktop = false\n", &hook("ops", &receiver.url("/"), "")));
    agent.wait_for(Duration::from_secs(15), "a flush", |c| count(c, "SELECT count(*) FROM samples") > 0);

    // Another process holds the write lock past the agent's busy timeout (5 s), as a long
    // rollup transaction or a user's `sqlite3` session would; the battery drains meanwhile.
    let lock = rusqlite::Connection::open(agent.store()).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let from = hostwatch::daemon::wall_ms() / 1000;
    battery(&sys, 10, "Discharging");
    std::thread::sleep(Duration::from_secs(8));
    let until = hostwatch::daemon::wall_ms() / 1000;
    lock.execute_batch("ROLLBACK").unwrap();

    let got = receiver.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].json()["alerts"][0]["event"], "fired");
    // Every second of the lock has its sample: the ticks went on, the writer caught up.
    agent.wait_for(Duration::from_secs(10), "the held samples", |c| {
        let sql = format!(
            "SELECT count(DISTINCT ts) FROM sample_values WHERE metric = 'memory.used_bytes' \
             AND ts > {from} AND ts < {until}"
        );
        count(c, &sql) >= until - from - 2
    });
}

#[test]
fn a_stopped_agent_counts_the_ticks_it_skipped() {
    let mut agent = TestAgent::start(
        "[sampling]\ninterval = \"1s\"\nflush_interval = \"1s\"\n[processes]\ninterval = \"1s\"\ntop = 3\n",
    );
    agent.wait_for(Duration::from_secs(15), "a flush", |c| count(c, "SELECT count(*) FROM samples") > 0);
    agent.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(4));
    agent.signal(libc::SIGCONT);
    agent.wait_for(Duration::from_secs(15), "the skipped ticks", |c| {
        let skipped = |name: &str| {
            let sql = format!(
                "SELECT coalesce(max(value), 0) FROM sample_values WHERE metric = 'agent.ticks_skipped' \
                 AND labels LIKE '%{name}%'"
            );
            c.query_row(&sql, [], |r| r.get::<_, f64>(0)).unwrap()
        };
        skipped("system") >= 2.0 && skipped("processes") >= 2.0
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{stderr}");
}
