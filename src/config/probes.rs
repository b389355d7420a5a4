//! Validates `[probes.NAME]`: the kind, the schedule, the request, its conditions and
//! where its secret is kept.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::raw::{RawProbe, RawRequest, SpannedStr};
use super::validate::{DAY, DurationKey, MINUTE, SECOND, headers, is_name};
use crate::probe::{Ai, Api, Clients, Condition, Http, Kind, Postgres, Probe, Secret, Settings, Sqlite, Target};

/// Attempts under way at once, all probes together: "a few", so a slow target never holds
/// many sockets and the agent's thread never juggles more than it must.
const CONCURRENCY: usize = 4;

const KINDS: &[&str] = &["http", "ai", "sqlite", "postgres"];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Validates the `[probes]` table.
pub fn probes(raw: BTreeMap<Spanned<String>, RawProbe>, loc: &Locator) -> Result<Settings, ConfigError> {
    let probes = raw
        .into_iter()
        .map(|(name, p)| {
            if !is_name(name.get_ref()) {
                let msg = format!("probes.{:?}: a probe name is letters, digits, _ and -", name.get_ref());
                return Err(loc.error(name.span().start, msg));
            }
            probe(name.into_inner(), p, loc)
        })
        .collect::<Result<_, _>>()?;
    Ok(Settings { probes, concurrency: CONCURRENCY })
}

fn probe(name: String, p: RawProbe, loc: &Locator) -> Result<Probe, ConfigError> {
    let key = format!("probes.{name}");
    let (interval_key, timeout_key) = (format!("{key}.interval"), format!("{key}.timeout"));
    let interval = DurationKey { name: &interval_key, default: MINUTE, min: SECOND, max: DAY };
    let timeout =
        DurationKey { name: &timeout_key, default: 10 * SECOND, min: Duration::from_millis(100), max: 5 * MINUTE };
    let interval = interval.get(p.interval.as_ref(), loc)?;
    let timeout = match (timeout.get(p.timeout.as_ref(), loc)?, &p.timeout) {
        // One attempt at a time per probe: a timeout past the interval would skip attempts.
        (t, Some(raw)) if t > interval => {
            let msg = format!("{key}.timeout = {:?} is longer than {key}.interval", raw.get_ref());
            return Err(loc.error(raw.span().start, msg));
        }
        (t, _) => t.min(interval),
    };
    let enabled = p.enabled.unwrap_or(true);
    let sla = match &p.sla {
        Some(v) if !(v.get_ref() > &0.0 && v.get_ref() < &100.0) => {
            let msg = format!("{key}.sla = {} is not a percentage between 0 and 100 (e.g. 99.9)", v.get_ref());
            return Err(loc.error(v.span().start, msg));
        }
        v => v.as_ref().map(|v| *v.get_ref()),
    };
    let kind = p.kind.get_ref().clone();
    if !KINDS.contains(&kind.as_str()) {
        let msg = format!("{key}.kind = {kind:?}: write one of {}", KINDS.join(", "));
        return Err(loc.error(p.kind.span().start, msg));
    }
    if let Some((name, at)) = foreign_key(&p, &kind) {
        return Err(loc.error(at, format!("{key}.{name} is not a key of {kind} probes")));
    }
    let target = match kind.as_str() {
        "http" => {
            let kind_at = p.kind.span().start;
            Target::Http(http(&key, p.request(), kind_at, loc)?)
        }
        "ai" => Target::Ai(ai(&key, p, interval, loc)?),
        "postgres" => Target::Postgres(postgres(&key, p, timeout, loc)?),
        _ => Target::Sqlite(sqlite(&key, p, loc)?),
    };
    Ok(Probe { name, enabled, interval, timeout, sla, target })
}

/// The first key set that a probe of `kind` does not have, and where it is.
fn foreign_key(p: &RawProbe, kind: &str) -> Option<(&'static str, usize)> {
    const HTTP: &[&str] = &["http"];
    const WEB: &[&str] = &["http", "ai"];
    const TLS: &[&str] = &["http", "ai", "postgres"];
    const SECRET: &[&str] = &["http", "ai", "postgres"];
    const AI: &[&str] = &["ai"];
    const QUERY: &[&str] = &["sqlite", "postgres"];
    let kind_at = p.kind.span().start;
    let keys: [(&str, &[&str], Option<usize>); 19] = [
        ("url", WEB, p.url.as_ref().map(|v| v.span().start)),
        ("method", HTTP, p.method.as_ref().map(|v| v.span().start)),
        ("headers", HTTP, p.headers.as_ref().map(|h| h.keys().next().map_or(kind_at, |k| k.span().start))),
        ("body", HTTP, p.body.as_ref().map(|v| v.span().start)),
        ("expect_status", HTTP, p.expect_status.as_ref().map(|v| v.first().map_or(kind_at, |c| c.span().start))),
        ("secret_env", SECRET, p.secret_env.as_ref().map(|v| v.span().start)),
        ("secret_file", SECRET, p.secret_file.as_ref().map(|v| v.span().start)),
        ("secret_header", HTTP, p.secret_header.as_ref().map(|v| v.span().start)),
        ("ca_file", TLS, p.ca_file.as_ref().map(|v| v.span().start)),
        ("max_redirects", HTTP, p.max_redirects.as_ref().map(|v| v.span().start)),
        ("api", AI, p.api.as_ref().map(|v| v.span().start)),
        ("model", AI, p.model.as_ref().map(|v| v.span().start)),
        ("prompt", AI, p.prompt.as_ref().map(|v| v.span().start)),
        ("max_tokens", AI, p.max_tokens.as_ref().map(|v| v.span().start)),
        ("completion_interval", AI, p.completion_interval.as_ref().map(|v| v.span().start)),
        ("path", &["sqlite"], p.path.as_ref().map(|v| v.span().start)),
        ("query", QUERY, p.query.as_ref().map(|v| v.span().start)),
        ("connection", &["postgres"], p.connection.as_ref().map(|v| v.span().start)),
        ("statements", &["postgres"], p.statements.as_ref().map(|v| v.span().start)),
    ];
    keys.into_iter().find_map(|(name, kinds, at)| Some((name, at?)).filter(|_| !kinds.contains(&kind)))
}

/// One statement, `SELECT 1` if none is given.
fn query(key: &str, raw: Option<&SpannedStr>, loc: &Locator) -> Result<String, ConfigError> {
    let Some(q) = raw else { return Ok("SELECT 1".to_owned()) };
    let one = crate::sql::single(q.get_ref()).map_err(|e| loc.error(q.span().start, format!("{key}.query: {e}")))?;
    Ok(one.to_owned())
}

fn postgres(key: &str, p: RawProbe, timeout: Duration, loc: &Locator) -> Result<Postgres, ConfigError> {
    use tokio_postgres::config::SslMode;
    let kind_at = p.kind.span().start;
    let raw = p.connection.ok_or_else(|| {
        loc.error(
            kind_at,
            format!("{key}: a postgres probe needs `connection` (\"host=127.0.0.1 user=app dbname=app\")"),
        )
    })?;
    let at = raw.span().start;
    // Not quoted: a connection string may hold a password.
    let mut connection: tokio_postgres::Config = raw
        .get_ref()
        .parse()
        .map_err(|e| loc.error(at, format!("{key}.connection is not a PostgreSQL connection string: {e}")))?;
    if connection.get_password().is_some() {
        let msg = format!("{key}.connection holds a password: put it in secret_env or secret_file");
        return Err(loc.error(at, msg));
    }
    let require = connection.get_ssl_mode() == SslMode::Require;
    if require && connection.get_hosts().iter().any(|h| matches!(h, tokio_postgres::config::Host::Unix(_))) {
        let msg = format!("{key}.connection: sslmode=require needs a TCP host (a Unix socket has no TLS)");
        return Err(loc.error(at, msg));
    }
    if connection.get_channel_binding() == tokio_postgres::config::ChannelBinding::Require {
        let msg = format!("{key}.connection: channel_binding=require is not supported (the probe binds no channel)");
        return Err(loc.error(at, msg));
    }
    if let Some(file) = &p.ca_file {
        let at = file.span().start;
        if !require {
            return Err(loc.error(at, format!("{key}.ca_file is for TLS: add sslmode=require to the connection")));
        }
        crate::probe::Tls::check(file.get_ref()).map_err(|e| loc.error(at, format!("{key}.ca_file: {e}")))?;
    }
    if connection.get_hosts().is_empty() {
        // With `hostaddr` only, each address is also the name TLS checks the certificate
        // against (an IP address in its subjectAltName); with neither, localhost.
        let addresses: Vec<String> = connection.get_hostaddrs().iter().map(ToString::to_string).collect();
        if addresses.is_empty() {
            connection.host("localhost");
        }
        for address in addresses {
            connection.host(&address);
        }
    }
    connection.connect_timeout(timeout).application_name("hostwatch");
    Ok(Postgres {
        shown: raw.get_ref().clone(),
        connection,
        tls: require.then(|| crate::probe::Tls::new(p.ca_file.map(Spanned::into_inner))),
        query: query(key, p.query.as_ref(), loc)?,
        secret: secret(key, p.secret_env, p.secret_file, loc)?,
        statements: p.statements.is_some_and(|s| *s.get_ref()),
        conditions: conditions(&format!("{key}.conditions"), p.conditions, Kind::Database, loc)?,
        warn_conditions: conditions(&format!("{key}.warn_conditions"), p.warn_conditions, Kind::Database, loc)?,
    })
}

fn sqlite(key: &str, p: RawProbe, loc: &Locator) -> Result<Sqlite, ConfigError> {
    let kind_at = p.kind.span().start;
    let path = p.path.ok_or_else(|| loc.error(kind_at, format!("{key}: a sqlite probe needs `path`")))?;
    if path.get_ref().as_os_str().is_empty() {
        return Err(loc.error(path.span().start, format!("{key}.path is empty")));
    }
    let query = query(key, p.query.as_ref(), loc)?;
    Ok(Sqlite {
        path: path.into_inner(),
        query,
        conditions: conditions(&format!("{key}.conditions"), p.conditions, Kind::Database, loc)?,
        warn_conditions: conditions(&format!("{key}.warn_conditions"), p.warn_conditions, Kind::Database, loc)?,
    })
}

/// An http request's keys (a probe's, a load test's) validated; `kind_at` is where an
/// error about a missing key points.
pub(super) fn http(key: &str, p: RawRequest, kind_at: usize, loc: &Locator) -> Result<Http, ConfigError> {
    let url = url(key, "an http", p.url.as_ref(), kind_at, loc)?;
    let method = match &p.method {
        None => reqwest::Method::GET,
        Some(m) => METHODS
            .iter()
            .find(|w| w.eq_ignore_ascii_case(m.get_ref()))
            .and_then(|w| reqwest::Method::from_bytes(w.as_bytes()).ok())
            .ok_or_else(|| {
                let msg = format!("{key}.method = {:?}: write one of {}", m.get_ref(), METHODS.join(", "));
                loc.error(m.span().start, msg)
            })?,
    };
    let expect_status = p
        .expect_status
        .map(|codes| {
            codes
                .into_iter()
                .map(|c| {
                    u16::try_from(*c.get_ref()).ok().filter(|c| (100..=599).contains(c)).ok_or_else(|| {
                        let msg = format!("{key}.expect_status: {} is not an HTTP status (100-599)", c.get_ref());
                        loc.error(c.span().start, msg)
                    })
                })
                .collect::<Result<Vec<u16>, _>>()
        })
        .transpose()?;
    let secret = secret(key, p.secret_env, p.secret_file, loc)?;
    let secret_header = p
        .secret_header
        .map(|h| match reqwest::header::HeaderName::from_bytes(h.get_ref().as_bytes()) {
            Ok(_) => Ok(h.into_inner()),
            Err(_) => {
                Err(loc.error(h.span().start, format!("{key}.secret_header = {:?} is not a header name", h.get_ref())))
            }
        })
        .transpose()?;
    let max_redirects = match p.max_redirects {
        None => 5,
        Some(n) => usize::try_from(*n.get_ref()).ok().filter(|n| *n <= 20).ok_or_else(|| {
            loc.error(n.span().start, format!("{key}.max_redirects = {} is out of range: 0 to 20", n.get_ref()))
        })?,
    };
    let http = Http {
        method,
        url,
        headers: headers(key, p.headers, loc)?,
        body: p.body.map(Spanned::into_inner),
        expect_status,
        conditions: conditions(&format!("{key}.conditions"), p.conditions, Kind::Http, loc)?,
        warn_conditions: conditions(&format!("{key}.warn_conditions"), p.warn_conditions, Kind::Http, loc)?,
        secret,
        secret_header,
        ca_file: p.ca_file.as_ref().map(|f| f.get_ref().clone()),
        max_redirects,
    };
    if let Some(file) = &p.ca_file {
        http.client(&mut Clients::default())
            .map_err(|e| loc.error(file.span().start, format!("{key}.ca_file: {e}")))?;
    }
    Ok(http)
}

/// An http(s) URL with a host and no user info (a password belongs in a secret).
fn url(
    key: &str,
    kind: &str,
    raw: Option<&SpannedStr>,
    kind_at: usize,
    loc: &Locator,
) -> Result<reqwest::Url, ConfigError> {
    let raw = raw.ok_or_else(|| loc.error(kind_at, format!("{key}: {kind} probe needs `url`")))?;
    let url = reqwest::Url::parse(raw.get_ref())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| loc.error(raw.span().start, format!("{key}.url = {:?} is not an http(s) URL", raw.get_ref())))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Not quoted: the URL holds a password.
        let msg = format!("{key}.url holds a user or password: put the secret in secret_env or secret_file");
        return Err(loc.error(raw.span().start, msg));
    }
    Ok(url)
}

/// Where the secret is kept: one of an environment variable or a file only its owner reads.
fn secret(
    key: &str,
    env: Option<SpannedStr>,
    file: Option<Spanned<std::path::PathBuf>>,
    loc: &Locator,
) -> Result<Option<Secret>, ConfigError> {
    match (env, file) {
        (Some(_), Some(file)) => {
            Err(loc.error(file.span().start, format!("{key}: secret_env and secret_file both given: keep one")))
        }
        (Some(env), None) if env.get_ref().is_empty() || env.get_ref().contains('=') => {
            Err(loc.error(env.span().start, format!("{key}.secret_env = {:?} is not a variable name", env.get_ref())))
        }
        (Some(env), None) => Ok(Some(Secret::Env(env.into_inner()))),
        (None, Some(file)) => {
            let secret = Secret::File(file.get_ref().clone());
            secret.check().map_err(|e| loc.error(file.span().start, format!("{key}.secret_file: {e}")))?;
            Ok(Some(secret))
        }
        (None, None) => Ok(None),
    }
}

fn ai(key: &str, p: RawProbe, interval: Duration, loc: &Locator) -> Result<Ai, ConfigError> {
    let url = url(key, "an ai", p.url.as_ref(), p.kind.span().start, loc)?;
    let api = super::validate::choice(&format!("{key}.api"), p.api.as_ref(), Api::ALL, loc)?;
    let model = match (&p.model, api) {
        (Some(m), _) if m.get_ref().trim().is_empty() => {
            return Err(loc.error(m.span().start, format!("{key}.model is empty")));
        }
        (Some(m), _) => m.get_ref().clone(),
        (None, Api::OpenAi) => "default".to_owned(),
        (None, Api::Ollama) => {
            return Err(loc.error(
                p.kind.span().start,
                format!("{key}: an ollama probe needs `model` (`ollama list` names them)"),
            ));
        }
    };
    let max_tokens = match p.max_tokens {
        None => 16,
        Some(n) => u32::try_from(*n.get_ref()).ok().filter(|n| (1..=4096).contains(n)).ok_or_else(|| {
            loc.error(n.span().start, format!("{key}.max_tokens = {} is out of range: 1 to 4096", n.get_ref()))
        })?,
    };
    let every_key = format!("{key}.completion_interval");
    let every = DurationKey { name: &every_key, default: 5 * MINUTE, min: interval, max: DAY };
    Ok(Ai {
        api,
        url,
        model,
        prompt: p.prompt.map_or_else(|| "Reply with one word: ready".to_owned(), Spanned::into_inner),
        max_tokens,
        completion_interval: every.get(p.completion_interval.as_ref(), loc)?.max(interval),
        secret: secret(key, p.secret_env, p.secret_file, loc)?,
        ca_file: p.ca_file.as_ref().map(|f| f.get_ref().clone()),
        conditions: conditions(&format!("{key}.conditions"), p.conditions, Kind::Ai, loc)?,
        warn_conditions: conditions(&format!("{key}.warn_conditions"), p.warn_conditions, Kind::Ai, loc)?,
    })
}

fn conditions(
    key: &str,
    raw: Option<Vec<SpannedStr>>,
    kind: Kind,
    loc: &Locator,
) -> Result<Vec<Condition>, ConfigError> {
    raw.unwrap_or_default()
        .iter()
        .map(|c| Condition::parse(c.get_ref(), kind).map_err(|e| loc.error(c.span().start, format!("{key}: {e}"))))
        .collect()
}
