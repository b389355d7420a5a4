//! A real webhook receiver on 127.0.0.1: records every request, answers 200.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target, e.g. `/hook`.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Unix ms when the body had been read (benches/alert_latency.rs measures with it).
    #[allow(dead_code)]
    pub received_ms: i64,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The receiver; stops when dropped.
pub struct Receiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    /// The HTTP status it answers with (200 unless set).
    status: Arc<AtomicU16>,
    /// While set, requests are read (and counted in `seen`) but not answered.
    hold: Arc<AtomicBool>,
    /// Requests read so far, answered or not.
    seen: Arc<AtomicUsize>,
}

/// A port nothing listens on (bound, then released): connections to it are refused.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Receiver {
    /// Listens on a free port.
    pub fn start() -> Receiver {
        Receiver::start_on(0)
    }

    /// Listens on `port` (0: any free one).
    pub fn start_on(port: u16) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(AtomicU16::new(200));
        let (hold, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (r, s, code) = (requests.clone(), stop.clone(), status.clone());
        let (h, n) = (hold.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    // A thread per connection: a client keeps its connection open between
                    // requests, and must not stop others from being accepted.
                    let (r, code, h, n) = (r.clone(), code.clone(), h.clone(), n.clone());
                    std::thread::spawn(move || {
                        while let Some(req) = serve_one(&conn, &code, &h, &n) {
                            r.lock().unwrap().push(req);
                        }
                    });
                }
            }
        });
        Receiver { port, requests, stop, status, hold, seen }
    }

    /// While `on`, reads requests but answers none (a slow receiver, or a test that must
    /// act between a request and its answer).
    pub fn hold(&self, on: bool) {
        self.hold.store(on, Ordering::SeqCst);
    }

    /// Requests read so far, answered or not.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// Answers every later request with `code` (e.g. 400 to refuse them).
    pub fn answer(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived, or fails after `limit`.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Request> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {n} requests, got {}: {got:#?}", got.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and closes the socket.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one HTTP/1.1 request from a keep-alive connection, counts it in `seen`, waits
/// while `hold` is set, and answers with `status`.
fn serve_one(conn: &TcpStream, status: &AtomicU16, hold: &AtomicBool, seen: &AtomicUsize) -> Option<Request> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    seen.fetch_add(1, Ordering::SeqCst);
    while hold.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = status.load(Ordering::SeqCst);
    let received_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    // A 3xx points back at this receiver, so a client that follows it is seen doing so.
    let location = if (300..400).contains(&status) { "location: /moved\r\n" } else { "" };
    let answer = format!("HTTP/1.1 {status} Answer\r\n{location}content-length: 6\r\n\r\nanswer");
    (&*conn).write_all(answer.as_bytes()).ok()?;
    Some(Request { path, headers, body, received_ms })
}
