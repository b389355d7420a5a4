//! The ai probe: a model endpoint's liveness (its model list, free) at every interval and,
//! every `completion_interval`, a short streamed completion (`max_tokens`, a fixed prompt)
//! timed at the socket: each network chunk is stamped when it arrives, before it is parsed.
//!
//! OpenAI-compatible servers (llama.cpp, vLLM, LM Studio, OpenAI) stream Server-Sent Events
//! ending in `data: [DONE]`, with the usage in a last chunk when asked
//! (`stream_options.include_usage`); Ollama's native API streams one JSON object per line,
//! the last with `"done": true` and its counts. A streamed error, a stream cut before its
//! end and an answer without a token are failures.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::condition::{Answer, Condition};
use super::http::{Clients, Http, authorize};
use super::{Attempt, Failure, MAX_BODY, Reason, Secret};
use crate::metrics::{
    PROBE_AI_RESPONSE, PROBE_CACHE_HIT, PROBE_COMPLETION_TOKENS, PROBE_DURATION, PROBE_PROMPT_TOKENS, PROBE_STATUS,
    PROBE_TOKENS_PER_SECOND, PROBE_TTFT,
};

/// The wire protocol of a model server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v1/models`, `/v1/chat/completions` with Server-Sent Events.
    OpenAi,
    /// Ollama's `/api/tags`, `/api/chat` with JSON lines.
    Ollama,
}

impl Api {
    /// Every choice, by its config word.
    pub const ALL: &[(&str, Api)] = &[("openai", Api::OpenAi), ("ollama", Api::Ollama)];
}

/// `[probes.NAME]` with `kind = "ai"`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Ai {
    /// The protocol.
    pub api: Api,
    /// The server's base URL (`http://127.0.0.1:11434`).
    pub url: reqwest::Url,
    /// The model asked; OpenAI-style servers with one model accept any.
    pub model: String,
    /// The completion's prompt.
    pub prompt: String,
    /// The most tokens a completion may produce.
    pub max_tokens: u32,
    /// Time between completions; the attempts between them only ask for the model list.
    pub completion_interval: Duration,
    /// The API key, sent as `Authorization: Bearer ...`.
    pub secret: Option<Secret>,
    /// PEM certificates trusted beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Must all hold, or a completion fails.
    pub conditions: Vec<Condition>,
    /// Must all hold, or a completion is up but degraded.
    pub warn_conditions: Vec<Condition>,
}

/// What a stream showed, as it came.
#[derive(Debug, Default)]
struct Stream {
    first_token: Option<Instant>,
    last_token: Option<Instant>,
    token_events: u64,
    done: bool,
    prompt_tokens: Option<f64>,
    completion_tokens: Option<f64>,
    cached_tokens: Option<f64>,
    error: Option<String>,
}

impl Ai {
    /// This probe's client (no redirects: a model API does not move), from those already
    /// built if one fits.
    pub fn client(&self, clients: &mut Clients) -> Result<reqwest::Client, String> {
        clients.get(self.ca_file.as_deref(), 0)
    }

    fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// The model list: the free liveness check.
    pub async fn liveness(&self, client: &reqwest::Client, attempt: Attempt) -> Attempt {
        let path = if self.api == Api::OpenAi { "/v1/models" } else { "/api/tags" };
        let start = Instant::now();
        let request = match authorize(client.get(self.endpoint(path)), self.secret.as_ref(), None) {
            Ok(r) => r,
            Err(f) => return attempt.failed(f),
        };
        let result = match request.send().await {
            Ok(r) => {
                let status = r.status();
                r.bytes().await.map(|_| status)
            }
            Err(e) => Err(e),
        };
        let mut attempt = attempt;
        match result {
            Ok(status) => {
                attempt.values.push((&PROBE_DURATION, start.elapsed().as_secs_f64()));
                attempt.values.push((&PROBE_STATUS, f64::from(status.as_u16())));
                if status.is_success() {
                    attempt
                } else {
                    attempt.failed(Failure { reason: Reason::Status, detail: format!("{path}: status {status}") })
                }
            }
            Err(e) => attempt.failed(Failure::from_http(&e)),
        }
    }

    /// The streamed completion request as an http request (what a load test sends).
    pub fn completion_request(&self) -> Http {
        let messages = json!([{ "role": "user", "content": self.prompt }]);
        let (path, body) = match self.api {
            Api::OpenAi => (
                "/v1/chat/completions",
                json!({ "model": self.model, "messages": messages, "max_tokens": self.max_tokens, "stream": true,
                        "stream_options": { "include_usage": true } }),
            ),
            Api::Ollama => (
                "/api/chat",
                json!({ "model": self.model, "messages": messages, "stream": true,
                        "options": { "num_predict": self.max_tokens } }),
            ),
        };
        Http {
            method: reqwest::Method::POST,
            url: self.endpoint(path),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(body.to_string()),
            expect_status: Some((200..300).collect()),
            conditions: Vec::new(),
            warn_conditions: Vec::new(),
            secret: self.secret.clone(),
            secret_header: None,
            ca_file: self.ca_file.clone(),
            max_redirects: 0,
        }
    }

    /// One streamed completion.
    pub async fn completion(&self, client: &reqwest::Client, attempt: Attempt) -> Attempt {
        let start = Instant::now();
        let request = match self.completion_request().request(client) {
            Ok(r) => r,
            Err(f) => return attempt.failed(f),
        };
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return attempt.failed(Failure::from_http(&e)),
        };
        let (status, path) = (response.status(), response.url().path().to_owned());
        let mut stream = Stream::default();
        let (mut pending, mut read) = (Vec::new(), 0u64);
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    let cut = Failure::from_http(&e);
                    let detail = format!("the stream was cut: {}", cut.detail);
                    return attempt.failed(Failure { reason: Reason::Stream, detail });
                }
            };
            let arrived = Instant::now();
            read += chunk.len() as u64;
            if read > MAX_BODY {
                let detail = format!("the stream passed {} MiB: stopped reading", MAX_BODY >> 20);
                return attempt.failed(Failure { reason: Reason::Body, detail });
            }
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                stream.line(self.api, String::from_utf8_lossy(&line).trim(), arrived);
            }
        }
        if !pending.is_empty() {
            stream.line(self.api, String::from_utf8_lossy(&pending).trim(), Instant::now());
        }
        let end = start.elapsed();
        let mut attempt = attempt;
        attempt.values.push((&PROBE_STATUS, f64::from(status.as_u16())));
        if !status.is_success() {
            let why = stream.error.map_or_else(String::new, |e| format!(": {e}"));
            return attempt.failed(Failure { reason: Reason::Status, detail: format!("{path}: status {status}{why}") });
        }
        if let Some(error) = stream.error {
            return attempt
                .failed(Failure { reason: Reason::Stream, detail: format!("the server streamed an error: {error}") });
        }
        if !stream.done {
            let detail = "the stream ended before its last event".to_owned();
            return attempt.failed(Failure { reason: Reason::Stream, detail });
        }
        let (Some(first), Some(last)) = (stream.first_token, stream.last_token) else {
            return attempt.failed(Failure { reason: Reason::Stream, detail: "the answer held no token".into() });
        };
        let ttft = first - start;
        let tokens = stream.completion_tokens.unwrap_or(stream.token_events as f64);
        let decode = (last - first).as_secs_f64();
        let rate = (tokens > 1.0 && decode > 0.0).then(|| (tokens - 1.0) / decode);
        attempt.values.extend([(&PROBE_TTFT, ttft.as_secs_f64()), (&PROBE_AI_RESPONSE, end.as_secs_f64())]);
        attempt.values.push((&PROBE_COMPLETION_TOKENS, tokens));
        attempt.values.extend(stream.prompt_tokens.map(|n| (&PROBE_PROMPT_TOKENS, n)));
        attempt.values.extend(rate.map(|r| (&PROBE_TOKENS_PER_SECOND, r)));
        let hit = stream.cached_tokens.zip(stream.prompt_tokens).filter(|(_, p)| *p > 0.0).map(|(c, p)| 100.0 * c / p);
        attempt.values.extend(hit.map(|h| (&PROBE_CACHE_HIT, h)));
        let answer = Answer { time: end, ttfb: Some(ttft), tokens_per_second: rate, ..Answer::default() };
        attempt.judge(&self.conditions, &self.warn_conditions, &answer)
    }

    /// The target as it may be shown.
    pub fn target(&self) -> String {
        let api = Api::ALL.iter().find(|(_, a)| *a == self.api).map_or("", |(w, _)| w);
        format!("{api} {} model {}", self.url, self.model)
    }
}

impl Stream {
    /// One line of the stream, which arrived at `at`.
    fn line(&mut self, api: Api, line: &str, at: Instant) {
        let payload = match api {
            Api::OpenAi => match line.strip_prefix("data:").map(str::trim) {
                Some("[DONE]") => {
                    self.done = true;
                    return;
                }
                Some(p) => p,
                None => return, // comments, `event:` and `id:` lines
            },
            Api::Ollama => line,
        };
        let Ok(event) = serde_json::from_str::<Value>(payload) else { return };
        if let Some(error) = event.get("error").filter(|e| !e.is_null()) {
            // OpenAI: `{"error": {"message": ...}}`; Ollama: `{"error": "..."}`.
            let text = error.as_str().or_else(|| error.get("message").and_then(Value::as_str));
            let text = text.map_or_else(|| error.to_string(), str::to_owned);
            self.error = Some(text.chars().take(200).collect());
            return;
        }
        let token = match api {
            // Any channel counts: the answer, or a reasoning model's thinking.
            Api::OpenAi => ["content", "reasoning_content", "reasoning"].iter().any(|k| {
                event.pointer(&format!("/choices/0/delta/{k}")).and_then(Value::as_str).is_some_and(|t| !t.is_empty())
            }),
            Api::Ollama => ["content", "thinking"].iter().any(|k| {
                event.pointer(&format!("/message/{k}")).and_then(Value::as_str).is_some_and(|t| !t.is_empty())
            }),
        };
        if token {
            self.first_token.get_or_insert(at);
            self.last_token = Some(at);
            self.token_events += 1;
        }
        let number = |p: &str| event.pointer(p).and_then(Value::as_f64);
        match api {
            Api::OpenAi => {
                self.prompt_tokens = number("/usage/prompt_tokens").or(self.prompt_tokens);
                self.completion_tokens = number("/usage/completion_tokens").or(self.completion_tokens);
                self.cached_tokens = number("/usage/prompt_tokens_details/cached_tokens").or(self.cached_tokens);
                // llama.cpp's own report: prompt tokens taken from its cache, and evaluated.
                if let (Some(cached), Some(evaluated)) = (number("/timings/cache_n"), number("/timings/prompt_n")) {
                    self.cached_tokens = Some(cached);
                    self.prompt_tokens = Some(cached + evaluated);
                }
            }
            Api::Ollama if event.get("done").and_then(Value::as_bool) == Some(true) => {
                self.done = true;
                self.prompt_tokens = number("/prompt_eval_count");
                self.completion_tokens = number("/eval_count");
                // Since Ollama 0.30 the prompt count includes the tokens its KV cache served,
                // and these are counted apart; older servers report no cache.
                self.cached_tokens = number("/prompt_eval_cached_count");
            }
            Api::Ollama => {}
        }
    }
}
