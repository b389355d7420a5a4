//! A real HTTP/1.1 server on 127.0.0.1 for load tests to send to: keep-alive connections, a
//! thread each, every answer after a fixed delay, optionally failing one request in ten
//! while more than a known number are under way, or failing every one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the server answers.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Every answer waits this long.
    pub delay: Duration,
    /// A request that arrives with more than this many under way gets a 503: at or under
    /// the limit nothing fails, above it a share does whatever the timing (users in step
    /// or spread out).
    pub fail_above: Option<u64>,
    /// Every request gets a 500.
    pub always_fail: bool,
}

/// The server; its threads end with the test process.
pub struct Target {
    /// Its port on 127.0.0.1.
    pub port: u16,
    served: Arc<AtomicU64>,
}

impl Target {
    /// Serves with `behaviour`.
    pub fn start(behaviour: Behaviour) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(AtomicU64::new(0));
        let in_flight = Arc::new(AtomicU64::new(0));
        let counted = served.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (in_flight, served) = (in_flight.clone(), counted.clone());
                std::thread::spawn(move || serve(conn, behaviour, &in_flight, &served));
            }
        });
        Target { port, served }
    }

    /// A fixed delay, no failures.
    pub fn delayed(delay: Duration) -> Target {
        Target::start(Behaviour { delay, fail_above: None, always_fail: false })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

/// Answers each request on `conn` until the client closes it.
fn serve(conn: TcpStream, b: Behaviour, in_flight: &AtomicU64, served: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let unlucky = b.fail_above.is_some_and(|limit| now > limit);
        std::thread::sleep(b.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let status = if b.always_fail {
            "500 Internal Server Error"
        } else if unlucky {
            "503 Busy"
        } else {
            "200 OK"
        };
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok");
        served.fetch_add(1, Ordering::SeqCst);
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
