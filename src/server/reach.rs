//! Whether the agent's server answers where the config says, for `status` and `doctor`:
//! one `GET /health` over a plain socket, cut off after a second.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::Settings;
use crate::doctor::{Check, Verdict};

const WAIT: Duration = Duration::from_secs(1);

/// What `/health` answered: its status code and the pid in its body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    /// 200 or 503 from a hostwatch agent; anything else from another program.
    status: u16,
    /// The answering agent's pid, if the body was hostwatch's.
    pid: Option<u32>,
    /// The body, for the reasons of a 503.
    body: String,
}

/// Asks `/health` at the configured address (it needs no token).
fn ask(settings: &Settings) -> Result<Answer, String> {
    let addr = settings.listen;
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(WAIT))
        .and_then(|()| stream.set_write_timeout(Some(WAIT)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    // At most 64 KiB: whatever answers, this never reads without end.
    stream.take(64 << 10).read_to_string(&mut text).map_err(|e| e.to_string())?;
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("not an HTTP answer")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    let pid = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["pid"].as_u64()).map(|p| p as u32);
    Ok(Answer { status, pid, body })
}

/// The server's line for `doctor` (and `status`), given the pid holding the agent lock.
pub fn check(settings: &Settings, agent: Option<u32>) -> Check {
    const NAME: &str = "dashboard";
    if !settings.enabled {
        return Check::ok(NAME, "off ([server] enabled = false): no dashboard, /metrics or /health");
    }
    let url = settings.url();
    let elsewhere = "set [server] listen to a free port, e.g. 127.0.0.1:9181, and restart the agent";
    match (ask(settings), agent) {
        (Ok(a), Some(pid)) if a.pid == Some(pid) && a.status == 200 => Check::ok(NAME, format!("{url} answers")),
        (Ok(a), Some(pid)) if a.pid == Some(pid) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("{url} says the agent is unhealthy: {}", a.body.trim()),
            "see `hostwatch status` and the agent's log",
        ),
        (Ok(a), _) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("{url} is answered by another program (status {})", a.status),
            elsewhere,
        ),
        (Err(e), Some(_)) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("the agent runs but nothing answers at {url} ({e}): the address was taken when it started"),
            elsewhere,
        ),
        (Err(_), None) => match TcpListener::bind(settings.listen) {
            Ok(_) => Check::ok(NAME, format!("the agent is not running; {url} is free for it")),
            Err(e) => Check::trouble(
                NAME,
                Verdict::Warn,
                format!("{} is taken ({e}): the agent's dashboard would not start", settings.listen),
                elsewhere,
            ),
        },
    }
}
