//! Model servers on 127.0.0.1 that speak two streaming protocols as their docs define them
//! (no real model server can be installed here):
//! - OpenAI's chat completions: `POST /v1/chat/completions` with `"stream": true` answers
//!   Server-Sent Events, one `data: {chunk}` per token (`choices[0].delta.content`), a last
//!   chunk with `usage` when `stream_options.include_usage` is asked (llama.cpp adds its
//!   `timings`), then `data: [DONE]`; `GET /v1/models` lists the models.
//! - Ollama's `POST /api/chat`: one JSON object per line (`message.content`), the last with
//!   `"done": true`, `prompt_eval_count` and `eval_count`; `GET /api/tags` lists the models.
//!
//! Each stream waits a known time before its first token and then sends one token every
//! `gap`; the server stamps when it accepted the connection and when each token left.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a completion's stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Usage, then the protocol's end (`[DONE]`, `"done": true`).
    Done,
    /// After two tokens, an error event.
    Error,
    /// After three tokens, the connection closes.
    Cut,
    /// No token at all, then the end.
    Empty,
}

/// What a completion does.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// Before the first token.
    pub first_token: Duration,
    /// Tokens sent.
    pub tokens: u32,
    /// Between tokens.
    pub gap: Duration,
    /// How it ends.
    pub ending: Ending,
    /// Cached prompt tokens reported (OpenAI-style `cached_tokens`, or llama.cpp's `cache_n`).
    pub cached: u32,
    /// Report the cache as llama.cpp's `timings` rather than OpenAI's usage details; for
    /// Ollama, report none (`prompt_eval_cached_count` came with Ollama 0.30).
    pub llama_timings: bool,
}

/// Prompt tokens every completion reports.
pub const PROMPT_TOKENS: u32 = 16;

/// What the server saw of one completion.
#[derive(Debug, Clone)]
pub struct Served {
    /// The request's JSON body.
    pub request: serde_json::Value,
    /// Its `authorization` header.
    pub authorization: Option<String>,
    /// From accepting the connection to the first token leaving.
    pub first_token: Option<Duration>,
    /// From the first token leaving to the last.
    pub decode: Option<Duration>,
}

/// The server; one thread per connection.
pub struct ModelServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    served: Arc<Mutex<Vec<Served>>>,
}

impl ModelServer {
    /// Serves every completion with `script`.
    pub fn start(script: Script) -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(Mutex::new(Vec::new()));
        let log = served.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let accepted = Instant::now();
                let log = log.clone();
                std::thread::spawn(move || serve(conn, accepted, script, &log));
            }
        });
        ModelServer { port, served }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every completion served so far.
    pub fn served(&self) -> Vec<Served> {
        self.served.lock().unwrap().clone()
    }
}

fn serve(mut conn: TcpStream, accepted: Instant, script: Script, log: &Mutex<Vec<Served>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
    let (mut length, mut authorization) = (0, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
            break;
        }
        let (k, v) = h.trim_end().split_once(':').unwrap_or(("", ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let head = |kind: &str| format!("HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\nconnection: close\r\n\r\n");
    let ollama = path.starts_with("/api/");
    if method == "GET" {
        let list = if ollama {
            r#"{"models":[{"name":"tiny:latest"}]}"#
        } else {
            r#"{"object":"list","data":[{"id":"tiny"}]}"#
        };
        let _ = conn.write_all(format!("{}{list}", head("application/json")).as_bytes());
        return;
    }
    let _ = conn.write_all(head(if ollama { "application/x-ndjson" } else { "text/event-stream" }).as_bytes());
    let send = |conn: &mut TcpStream, json: serde_json::Value| {
        let line = if ollama { format!("{json}\n") } else { format!("data: {json}\n\n") };
        conn.write_all(line.as_bytes()).and_then(|()| conn.flush()).is_ok()
    };
    let tokens = match script.ending {
        Ending::Done => script.tokens,
        Ending::Error => 2,
        Ending::Cut => 3,
        Ending::Empty => 0,
    };
    std::thread::sleep(script.first_token);
    let (mut first, mut last) = (None, None);
    for i in 0..tokens {
        if i > 0 {
            std::thread::sleep(script.gap);
        }
        let token = format!("tok{i} ");
        let chunk = if ollama {
            serde_json::json!({ "model": "tiny", "message": { "role": "assistant", "content": token }, "done": false })
        } else {
            serde_json::json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": token } }] })
        };
        if !send(&mut conn, chunk) {
            return;
        }
        let now = Instant::now();
        first.get_or_insert(now);
        last = Some(now);
    }
    let record = |log: &Mutex<Vec<Served>>| {
        log.lock().unwrap().push(Served {
            request: serde_json::from_slice(&body).unwrap_or_default(),
            authorization: authorization.clone(),
            first_token: first.map(|f| f - accepted),
            decode: first.zip(last).map(|(f, l)| l - f),
        });
    };
    record(log);
    match script.ending {
        Ending::Cut => {}
        Ending::Error if ollama => {
            send(&mut conn, serde_json::json!({ "error": "model overloaded" }));
        }
        Ending::Error => {
            send(&mut conn, serde_json::json!({ "error": { "message": "model overloaded", "type": "server_error" } }));
        }
        Ending::Done | Ending::Empty if ollama => {
            let mut end = serde_json::json!({ "model": "tiny", "message": { "role": "assistant", "content": "" }, "done": true,
                                              "done_reason": "stop", "prompt_eval_count": PROMPT_TOKENS, "eval_count": tokens });
            if !script.llama_timings {
                end["prompt_eval_cached_count"] = script.cached.into();
            }
            send(&mut conn, end);
        }
        Ending::Done | Ending::Empty => {
            let usage = if script.llama_timings {
                serde_json::json!({ "choices": [], "usage": { "prompt_tokens": PROMPT_TOKENS, "completion_tokens": tokens },
                                    "timings": { "cache_n": script.cached, "prompt_n": PROMPT_TOKENS - script.cached } })
            } else {
                serde_json::json!({ "choices": [], "usage": { "prompt_tokens": PROMPT_TOKENS, "completion_tokens": tokens,
                                    "prompt_tokens_details": { "cached_tokens": script.cached } } })
            };
            send(&mut conn, usage);
            let _ = conn.write_all(b"data: [DONE]\n\n");
        }
    }
}
