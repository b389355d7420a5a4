//! A real HTTP/1.1 server on 127.0.0.1 for probes to ask: each path answers as the test
//! set it (a status and body after a delay, a redirect, an endless body, no answer at all).
//! One request per connection, as the probes ask.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a path answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `status` with `body`, after waiting `delay` before the status line.
    Answer {
        /// The status.
        status: u16,
        /// The body.
        body: String,
        /// Wait before answering.
        delay: Duration,
    },
    /// `302` to this path.
    Redirect(&'static str),
    /// Reads the request, never answers.
    Hang,
    /// `200` and a body that never ends.
    Endless,
}

/// A 200 with `body`, at once.
pub fn ok(body: &str) -> Reply {
    Reply::Answer { status: 200, body: body.to_owned(), delay: Duration::ZERO }
}

/// Each request's headers (names lower-cased), in the order they came.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// The server; stops accepting when dropped.
pub struct Site {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Request headers seen, per request.
    seen: Seen,
    stop: Arc<AtomicBool>,
}

impl Site {
    /// Serves `routes`; any other path is a 404.
    pub fn start(routes: &[(&str, Reply)]) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<HashMap<String, Reply>> =
            Arc::new(routes.iter().map(|(p, r)| ((*p).to_owned(), r.clone())).collect());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, seen2) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (routes, seen, s) = (routes.clone(), seen2.clone(), s.clone());
                std::thread::spawn(move || serve(conn, &routes, &seen, &s));
            }
        });
        Site { port, seen, stop }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request's headers so far.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut conn: TcpStream, routes: &HashMap<String, Reply>, seen: &Seen, stop: &AtomicBool) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    seen.lock().unwrap().push(headers);
    let reply = routes.get(&path).cloned().unwrap_or(Reply::Answer {
        status: 404,
        body: "not found".into(),
        delay: Duration::ZERO,
    });
    match reply {
        Reply::Answer { status, body, delay } => {
            std::thread::sleep(delay);
            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = conn.write_all(head.as_bytes()).and_then(|()| conn.write_all(body.as_bytes()));
        }
        Reply::Redirect(to) => {
            let head =
                format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = conn.write_all(head.as_bytes());
        }
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Reply::Endless => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
            let chunk = vec![b'x'; 64 * 1024];
            while !stop.load(Ordering::SeqCst) && conn.write_all(&chunk).is_ok() {}
        }
    }
}
