//! The http probe: one request on a fresh connection, timed as curl times it (from before
//! the connect to the status line and headers, then to the body's last byte), judged by its
//! expected status and conditions.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue};

use super::condition::{Answer, Condition};
use super::{Attempt, Failure, Reason, Secret};
use crate::metrics::{PROBE_BODY, PROBE_CERT_DAYS, PROBE_DURATION, PROBE_STATUS, PROBE_TTFB};

/// The most of a body kept for conditions; the rest is counted, not kept.
pub const KEPT_BODY: usize = 1 << 20;
/// Reading stops here and the attempt fails: a probe never reads an endless body.
pub const MAX_BODY: u64 = 64 << 20;

/// `[probes.NAME]` with `kind = "http"`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// GET unless configured.
    pub method: reqwest::Method,
    /// The target; user info is refused by the config (a password goes in a secret).
    pub url: reqwest::Url,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Statuses that count as up: `None` is 200-399.
    pub expect_status: Option<Vec<u16>>,
    /// Must all hold, or the attempt fails (reason `condition`).
    pub conditions: Vec<Condition>,
    /// Must all hold, or the attempt is up but degraded.
    pub warn_conditions: Vec<Condition>,
    /// Sent as `Authorization: Bearer ...`, or as the value of `secret_header`.
    pub secret: Option<Secret>,
    /// The header that carries the secret.
    pub secret_header: Option<String>,
    /// PEM certificates trusted beside the system's (a local service's own CA).
    pub ca_file: Option<PathBuf>,
    /// Redirects followed; past them the attempt fails (reason `redirect`).
    pub max_redirects: usize,
}

/// A client trusting `ca_file`'s certificates beside the system's.
fn builder(ca_file: Option<&Path>) -> Result<reqwest::ClientBuilder, String> {
    let builder = reqwest::Client::builder().user_agent(concat!("hostwatch/", env!("CARGO_PKG_VERSION")));
    let Some(path) = ca_file else { return Ok(builder) };
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{} holds no PEM certificate: {e}", path.display()))?;
    Ok(builder.tls_certs_merge(certs))
}

/// A client for probes: no idle connections kept, so every attempt pays the connect (and
/// TLS handshake) a user's first request pays; TLS details kept for the certificate's
/// expiry; `ca_file`'s certificates trusted beside the system's.
fn client(ca_file: Option<&Path>, max_redirects: usize) -> Result<reqwest::Client, String> {
    builder(ca_file)?
        .pool_max_idle_per_host(0)
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::limited(max_redirects))
        .build()
        .map_err(|e| format!("cannot configure the HTTP client: {e}"))
}

/// A client for load tests: connections kept and reused, as a browser's or a service's
/// client keeps them; no redirect followed (a 3xx is the answer, and no request goes to a
/// host the test was not allowed).
pub fn load_client(ca_file: Option<&Path>) -> Result<reqwest::Client, String> {
    builder(ca_file)?
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot configure the HTTP client: {e}"))
}

/// Clients shared by the probes that would build the same one. Each client holds its own
/// TLS configuration and parsed copy of the system's root certificates; ten probes with
/// the same `ca_file` and redirect limit use one. Sharing keeps attempts apart: with no
/// idle connections kept, each still opens its own.
#[derive(Default)]
pub struct Clients(HashMap<(Option<PathBuf>, usize), reqwest::Client>);

impl Clients {
    /// The client for these TLS and redirect settings, built on first use.
    pub fn get(&mut self, ca_file: Option<&Path>, max_redirects: usize) -> Result<reqwest::Client, String> {
        match self.0.entry((ca_file.map(Path::to_path_buf), max_redirects)) {
            Entry::Occupied(built) => Ok(built.get().clone()),
            Entry::Vacant(slot) => Ok(slot.insert(client(ca_file, max_redirects)?).clone()),
        }
    }
}

/// `request` with the secret, read now, as `Authorization: Bearer ...` or as the value of
/// `header`; marked sensitive, so no `Debug` prints it.
pub fn authorize(
    request: reqwest::RequestBuilder,
    secret: Option<&Secret>,
    header: Option<&str>,
) -> Result<reqwest::RequestBuilder, Failure> {
    let Some(secret) = secret else { return Ok(request) };
    let value = secret.read().map_err(|detail| Failure { reason: Reason::Secret, detail })?;
    let (name, value) = match header {
        Some(name) => (name, value),
        None => ("authorization", format!("Bearer {value}")),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Failure::secret_header())?;
    let mut value = HeaderValue::from_str(&value).map_err(|_| Failure::secret_header())?;
    value.set_sensitive(true);
    Ok(request.header(name, value))
}

/// Reads `response`'s body to its end: its first [`KEPT_BODY`] bytes if `keep`, and its
/// size. Reading stops past [`MAX_BODY`], a failure: nothing reads an endless body.
pub async fn read_body(response: &mut reqwest::Response, keep: bool) -> Result<(Vec<u8>, u64), Failure> {
    let (mut body, mut size) = (Vec::new(), 0u64);
    while let Some(chunk) = response.chunk().await.map_err(|e| Failure::from_http(&e))? {
        size += chunk.len() as u64;
        if keep {
            let room = KEPT_BODY.saturating_sub(body.len()).min(chunk.len());
            body.extend_from_slice(&chunk[..room]);
        }
        if size > MAX_BODY {
            let detail = format!("the body passed {} MiB: stopped reading", MAX_BODY >> 20);
            return Err(Failure { reason: Reason::Body, detail });
        }
    }
    Ok((body, size))
}

impl Http {
    /// This probe's client, from those already built if one fits.
    pub fn client(&self, clients: &mut Clients) -> Result<reqwest::Client, String> {
        clients.get(self.ca_file.as_deref(), self.max_redirects)
    }

    /// The request, secret included (read now).
    pub fn request(&self, client: &reqwest::Client) -> Result<reqwest::RequestBuilder, Failure> {
        let mut request = client.request(self.method.clone(), self.url.clone());
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        let request = authorize(request, self.secret.as_ref(), self.secret_header.as_deref())?;
        Ok(match &self.body {
            Some(body) => request.body(body.clone()),
            None => request,
        })
    }

    /// One attempt started at `at_ms` (wall clock, for the certificate's days left).
    pub async fn attempt(&self, client: &reqwest::Client, at_ms: i64) -> Attempt {
        let start = Instant::now();
        let mut attempt = Attempt::new(at_ms);
        let sent = match self.request(client) {
            Ok(request) => request.send().await,
            Err(failure) => return attempt.failed(failure),
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return attempt.failed(Failure::from_http(&e)),
        };
        let ttfb = start.elapsed();
        let status = response.status().as_u16();
        let cert_days = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|tls| super::cert::not_after(tls.peer_certificate()?))
            .map(|end| (end * 1000 - at_ms) as f64 / 86_400_000.0);
        let (body, size) = match read_body(&mut response, true).await {
            Ok(read) => read,
            Err(failure) => return attempt.failed(failure),
        };
        let answer = Answer {
            time: start.elapsed(),
            ttfb: Some(ttfb),
            status: Some(status),
            body_size: Some(size),
            cert_days,
            body: &body,
            ..Answer::default()
        };
        attempt.values.extend([
            (&PROBE_DURATION, answer.time.as_secs_f64()),
            (&PROBE_TTFB, ttfb.as_secs_f64()),
            (&PROBE_STATUS, f64::from(status)),
            (&PROBE_BODY, size as f64),
        ]);
        attempt.values.extend(cert_days.map(|d| (&PROBE_CERT_DAYS, d)));
        if !self.expects(status) {
            let want = self.expect_status.as_ref().map_or("200-399".to_owned(), |s| format!("{s:?}"));
            return attempt
                .failed(Failure { reason: Reason::Status, detail: format!("status {status}, expected {want}") });
        }
        attempt.judge(&self.conditions, &self.warn_conditions, &answer)
    }

    /// Whether `status` counts as up: one of `expect_status`, else 200-399.
    pub fn expects(&self, status: u16) -> bool {
        self.expect_status.as_ref().map_or((200..400).contains(&status), |s| s.contains(&status))
    }

    /// The target as it may be shown: method and URL with the query hidden.
    pub fn target(&self) -> String {
        let mut shown = self.url.clone();
        // Set as text after the URL: a URL would percent-encode the ellipsis.
        let hidden = if shown.query().is_some() { "?…" } else { "" };
        shown.set_query(None);
        shown.set_fragment(None);
        format!("{} {shown}{hidden}", self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_with_the_same_tls_and_redirect_settings_share_one_client() {
        let mut clients = Clients::default();
        for _ in 0..10 {
            clients.get(None, 0).unwrap();
        }
        assert_eq!(clients.0.len(), 1);
        clients.get(None, 5).unwrap();
        assert_eq!(clients.0.len(), 2);
        let missing = Path::new("/nonexistent/ca.pem");
        let err = clients.get(Some(missing), 0).unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        assert_eq!(clients.0.len(), 2, "a client that failed to build is not kept");
    }
}
