//! The conditions a probe's answer must meet, in a small grammar modelled on Gatus's:
//! `SUBJECT OP VALUE`, e.g. `status < 400`, `response_time < 3s`, `body.status == "ok"`,
//! `body contains "healthy"`, `cert_days > 14`.
//!
//! Subjects of an http probe: `status`, `response_time` and `ttfb` (durations: `250ms`,
//! `3s`, `1m`), `body_size` (bytes), `cert_days` (https only), `body` (`contains` /
//! `!contains` a string) and `body.PATH`, a dotted path into a JSON body
//! (`body.checks.0.state`; `0` indexes an array). Of an ai probe's completion:
//! `response_time`, `ttft`, `tokens_per_second`. Of a database probe: `query_time`, `rows`
//! and `value` (the first column of the first row). Operators: `==` `!=` `<` `<=` `>` `>=`
//! `contains` `!contains`. Values: numbers, durations, JSON strings, `true`, `false`, `null`.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// The HTTP status code.
    Status,
    /// Time to the last byte of the body.
    ResponseTime,
    /// Time to the response's status line and headers.
    Ttfb,
    /// Bytes of the body.
    BodySize,
    /// Days until the TLS certificate expires.
    CertDays,
    /// The body as text.
    Body,
    /// A value inside a JSON body, as a JSON pointer (`/checks/0/state`).
    Json(String),
    /// A model's time to its first token.
    Ttft,
    /// A model's output tokens per second after the first.
    TokensPerSecond,
    /// A database query's time.
    QueryTime,
    /// Rows a query returned.
    Rows,
    /// The first column of a query's first row.
    Value,
}

/// Which subjects a probe's kind has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An answer over HTTP.
    Http,
    /// A model's streamed completion.
    Ai,
    /// A query's result.
    Database,
}

/// Each kind's subjects by their words (`body.PATH` aside): the parser's table and the
/// list its errors show.
const SUBJECTS: &[(Kind, &str, Subject)] = &[
    (Kind::Http, "status", Subject::Status),
    (Kind::Http, "response_time", Subject::ResponseTime),
    (Kind::Http, "ttfb", Subject::Ttfb),
    (Kind::Http, "body_size", Subject::BodySize),
    (Kind::Http, "cert_days", Subject::CertDays),
    (Kind::Http, "body", Subject::Body),
    (Kind::Ai, "response_time", Subject::ResponseTime),
    (Kind::Ai, "ttft", Subject::Ttft),
    (Kind::Ai, "tokens_per_second", Subject::TokensPerSecond),
    (Kind::Database, "query_time", Subject::QueryTime),
    (Kind::Database, "rows", Subject::Rows),
    (Kind::Database, "value", Subject::Value),
];

impl Kind {
    fn subjects(self) -> String {
        let mut words: Vec<&str> = SUBJECTS.iter().filter(|(k, _, _)| *k == self).map(|(_, w, _)| *w).collect();
        if self == Kind::Http {
            words.push("body.PATH");
        }
        words.join(", ")
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `!contains`
    NotContains,
}

const OPS: &[(&str, Op)] = &[
    ("!contains", Op::NotContains),
    ("contains", Op::Contains),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("<", Op::Lt),
    (">", Op::Gt),
];

/// One condition, parsed and checked for sense (a duration for a time, a string for
/// `contains`); `text` is what the user wrote, for findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What is compared.
    pub subject: Subject,
    /// How.
    pub op: Op,
    /// With what: a number (seconds for times) or any JSON value for `body.PATH`.
    pub value: Value,
    /// As written.
    pub text: String,
}

/// What one answer showed, for conditions to judge; a subject the kind has not is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Answer<'a> {
    /// The whole attempt: to the last byte, or the query's time.
    pub time: Duration,
    /// To the headers; for a model, to its first token.
    pub ttfb: Option<Duration>,
    /// A model's output tokens per second after the first.
    pub tokens_per_second: Option<f64>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Body bytes in all.
    pub body_size: Option<u64>,
    /// Days left on the certificate, for https.
    pub cert_days: Option<f64>,
    /// The body as kept (its first bytes, at most [`super::http::KEPT_BODY`]).
    pub body: &'a [u8],
    /// Rows a query returned.
    pub rows: Option<u64>,
    /// The first column of its first row.
    pub value: Option<&'a Value>,
}

impl Condition {
    /// Parses `text` for a probe of `kind`; the error says what is wrong and shows the grammar.
    pub fn parse(text: &str, kind: Kind) -> Result<Condition, String> {
        let bad = |why: &str| format!("{text:?}: {why}; write SUBJECT OP VALUE, e.g. \"status < 400\"");
        let (subject, rest) = text.trim().split_once(char::is_whitespace).ok_or_else(|| bad("no operator"))?;
        let rest = rest.trim_start();
        let (op_text, op) = OPS.iter().find(|(w, _)| rest.starts_with(w)).ok_or_else(|| bad("unknown operator"))?;
        let value_text = rest[op_text.len()..].trim();
        let unknown = || bad(&format!("unknown subject {subject:?} (here: {})", kind.subjects()));
        let known = SUBJECTS.iter().find(|(k, w, _)| *k == kind && *w == subject).map(|(_, _, s)| s.clone());
        let path = subject.strip_prefix("body.").filter(|p| kind == Kind::Http && !p.split('.').any(str::is_empty));
        let subject = match (known, path) {
            (Some(s), _) => s,
            (None, Some(path)) => Subject::Json(
                path.split('.').map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1"))).collect(),
            ),
            (None, None) => return Err(unknown()),
        };
        let value = match (&subject, op) {
            (Subject::Body, Op::Contains | Op::NotContains) | (Subject::Json(_) | Subject::Value, _) => {
                serde_json::from_str::<Value>(value_text)
                    .map_err(|_| bad("the value is not a number, \"string\", true, false or null"))?
            }
            (Subject::Body, _) => return Err(bad("the body takes contains or !contains")),
            (_, Op::Contains | Op::NotContains) => return Err(bad("contains takes the body or body.PATH")),
            (Subject::ResponseTime | Subject::Ttfb | Subject::Ttft | Subject::QueryTime, _) => {
                let d = humantime::parse_duration(value_text)
                    .map_err(|_| bad("a time takes a duration like 250ms or 3s"))?;
                Value::from(d.as_secs_f64())
            }
            _ => Value::from(value_text.parse::<f64>().map_err(|_| bad("the value is not a number"))?),
        };
        if matches!(op, Op::Contains | Op::NotContains) && !value.is_string() {
            return Err(bad("contains takes a \"string\""));
        }
        Ok(Condition { subject, op: *op, value, text: text.trim().to_owned() })
    }

    /// Whether `answer` meets the condition. A subject the answer lacks (no certificate
    /// over http, a path a JSON body does not have, a body that is not JSON) does not.
    pub fn holds(&self, answer: &Answer<'_>) -> bool {
        let number = |x: f64| self.value.as_f64().is_some_and(|v| compare(self.op, x.partial_cmp(&v)));
        match &self.subject {
            Subject::Status => answer.status.is_some_and(|s| number(f64::from(s))),
            Subject::ResponseTime | Subject::QueryTime => number(answer.time.as_secs_f64()),
            Subject::Ttfb | Subject::Ttft => answer.ttfb.is_some_and(|t| number(t.as_secs_f64())),
            Subject::TokensPerSecond => answer.tokens_per_second.is_some_and(number),
            Subject::BodySize => answer.body_size.is_some_and(|n| number(n as f64)),
            Subject::CertDays => answer.cert_days.is_some_and(number),
            Subject::Rows => answer.rows.is_some_and(|n| number(n as f64)),
            Subject::Value => answer.value.is_some_and(|v| self.json(v)),
            Subject::Body => {
                let needle = self.value.as_str().unwrap_or_default();
                let found = String::from_utf8_lossy(answer.body).contains(needle);
                found == (self.op == Op::Contains)
            }
            Subject::Json(pointer) => {
                let Ok(body) = serde_json::from_slice::<Value>(answer.body) else { return false };
                body.pointer(pointer).is_some_and(|found| self.json(found))
            }
        }
    }

    fn json(&self, found: &Value) -> bool {
        match (self.op, found, &self.value) {
            (Op::Eq, a, b) => json_eq(a, b),
            (Op::Ne, a, b) => !json_eq(a, b),
            (Op::Contains, Value::String(a), Value::String(b)) => a.contains(b.as_str()),
            (Op::NotContains, Value::String(a), Value::String(b)) => !a.contains(b.as_str()),
            (op, Value::Number(a), Value::Number(b)) => compare(op, a.as_f64().partial_cmp(&b.as_f64())),
            _ => false,
        }
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(op: Op, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (op, ord) {
        (_, None) => false,
        (Op::Eq, Some(o)) => o == Equal,
        (Op::Ne, Some(o)) => o != Equal,
        (Op::Lt, Some(o)) => o == Less,
        (Op::Le, Some(o)) => o != Greater,
        (Op::Gt, Some(o)) => o == Greater,
        (Op::Ge, Some(o)) => o != Less,
        (Op::Contains | Op::NotContains, Some(_)) => false,
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &[u8]) -> Answer<'_> {
        Answer {
            time: Duration::from_millis(1200),
            ttfb: Some(Duration::from_millis(40)),
            status: Some(503),
            body_size: Some(body.len() as u64),
            body,
            ..Answer::default()
        }
    }

    #[test]
    fn each_subject_is_judged_on_what_the_answer_showed() {
        let body = br#"{"status":"ok","checks":[{"state":"degraded","load":0.5}],"n":3}"#;
        let a = answer(body);
        let holds = |c: &str| Condition::parse(c, Kind::Http).unwrap().holds(&a);
        assert!(holds("status >= 500") && !holds("status < 400") && holds("status != 200"));
        assert!(holds("response_time < 2s") && !holds("response_time <= 1s") && holds("ttfb < 50ms"));
        assert!(holds(&format!("body_size == {}", body.len())));
        assert!(holds(r#"body.status == "ok""#) && !holds(r#"body.status != "ok""#));
        assert!(holds(r#"body.checks.0.state contains "grad""#) && holds("body.checks.0.load < 1"));
        assert!(holds("body.n == 3.0") && !holds("body.missing == null") && !holds("body.n > 3"));
        assert!(holds(r#"body contains "degraded""#) && holds(r#"body !contains "down""#));
        // No certificate over http: a condition on it fails rather than passing unseen.
        assert!(!holds("cert_days > 0"));
        assert!(!Condition::parse(r#"body.status == "ok""#, Kind::Http).unwrap().holds(&answer(b"not json")));
        // A database's answer: its time, rows and first value.
        let first = Value::from("ready");
        let db = Answer { time: Duration::from_millis(30), rows: Some(2), value: Some(&first), ..Answer::default() };
        let holds = |c: &str| Condition::parse(c, Kind::Database).unwrap().holds(&db);
        assert!(holds("query_time < 50ms") && holds("rows == 2") && holds(r#"value == "ready""#));
        assert!(holds(r#"value contains "read""#) && !holds("value > 1") && !holds("rows > 2"));
    }

    #[test]
    fn a_condition_that_makes_no_sense_is_refused_with_the_grammar() {
        for (text, why) in [
            ("status", "no operator"),
            ("status ~ 4", "unknown operator"),
            ("latency < 3s", "unknown subject \"latency\" (here: status, response_time"),
            ("body. == 1", "unknown subject"),
            ("response_time < 3", "a duration"),
            ("status < fast", "not a number"),
            ("body == \"x\"", "contains or !contains"),
            ("status contains \"4\"", "contains takes the body"),
            ("body contains 4", "contains takes a \"string\""),
            ("body.a == ok", "not a number, \"string\""),
        ] {
            let e = Condition::parse(text, Kind::Http).unwrap_err();
            assert!(e.contains(why) && e.contains("SUBJECT OP VALUE"), "{text}: {e}");
        }
        let e = Condition::parse("status == 200", Kind::Database).unwrap_err();
        assert!(e.contains("unknown subject \"status\" (here: query_time, rows, value)"), "{e}");
    }
}
