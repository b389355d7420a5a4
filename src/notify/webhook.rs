//! Sends a notice to a webhook: rendered body, custom headers, an HMAC-SHA256 signature.
//!
//! Signature: `X-Hostwatch-Signature: sha256=HEX`, the HMAC-SHA256 with the secret of
//! `TIMESTAMP.BODY`, where `TIMESTAMP` is the `X-Hostwatch-Timestamp` header (Unix seconds
//! of the attempt). Receivers recompute it and refuse old timestamps to stop replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{DeliveryError, Notice, Webhook, render};

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The most of a failing receiver's body kept for the error message: a receiver that
/// answers with hundreds of megabytes costs the agent no more than this.
const ERROR_BODY: usize = 4096;

/// A webhook URL as it may be shown, logged or stored: scheme, host and port. Its path,
/// query and user info, where Slack, Discord and ntfy keep their tokens, become `…`.
pub fn redacted(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let hidden = url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some();
    format!("{}://{host}{port}/{}", url.scheme(), if hidden { "…" } else { "" })
}

/// A client for one webhook: its timeout applies to the whole request. Redirects are not
/// followed: a 301/302 would turn the POST into a body-less GET whose 200 looks delivered,
/// and a 307 would send the body, signature and headers to another origin.
pub fn client(hook: &Webhook) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(hook.timeout)
        .user_agent(concat!("hostwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            // Only a broken TLS setup makes the builder fail; the default client still
            // reaches plain-http receivers and reports TLS errors per request.
            tracing::warn!(webhook = hook.name, "cannot configure the HTTP client: {e}");
            reqwest::Client::new()
        })
}

/// Posts `notice` once; `now_secs` stamps the signature.
pub async fn post(
    client: &reqwest::Client,
    hook: &Webhook,
    notice: &Notice,
    now_secs: i64,
) -> Result<(), DeliveryError> {
    let r = render(notice, hook.format);
    let mut req = client
        .post(hook.url.clone())
        .header("Content-Type", r.content_type)
        .header("Idempotency-Key", &notice.idempotency_key);
    for (k, v) in &r.headers {
        req = req.header(*k, v);
    }
    for (k, v) in &hook.headers {
        req = req.header(k, v);
    }
    if let Some(secret) = &hook.secret {
        req = req
            .header("X-Hostwatch-Timestamp", now_secs.to_string())
            .header("X-Hostwatch-Signature", sign(secret, now_secs, &r.body));
    }
    let what = || format!("webhook {} ({})", hook.name, redacted(&hook.url));
    // The cause by name (refused, dns, tls, timeout...), not only "error sending request".
    let failed = |e: reqwest::Error| {
        let f = crate::probe::Failure::from_http(&e.without_url());
        DeliveryError::Retry(format!("{}: {}: {}", what(), f.reason.as_str(), f.detail))
    };
    let response = req.body(r.body).send().await.map_err(failed)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        return Err(DeliveryError::Permanent(format!(
            "{}: HTTP {status}: redirects are not followed; set the webhook's url to where it points",
            what()
        )));
    }
    let text: String = String::from_utf8_lossy(&head(response, ERROR_BODY).await).chars().take(200).collect();
    let message = format!("{}: HTTP {status}: {}", what(), text.trim());
    // A 4xx other than a timeout or a rate limit will not change by asking again.
    if status.is_client_error() && status != 408 && status != 429 {
        Err(DeliveryError::Permanent(message))
    } else {
        Err(DeliveryError::Retry(message))
    }
}

/// At most `limit` bytes of the response's body, read chunk by chunk; the rest is never read.
async fn head(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk[..chunk.len().min(limit - out.len())]),
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shown_url_keeps_only_its_origin() {
        let r = |u: &str| super::redacted(&reqwest::Url::parse(u).unwrap());
        assert_eq!(r("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com/…");
        assert_eq!(r("https://user:pw@example.org/"), "https://example.org/…");
        assert_eq!(r("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
        assert_eq!(r("http://[::1]:9/hook?token=x"), "http://[::1]:9/…");
    }

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // Computed independently: python3 -c "hmac.new(b'key', b'1700000000.{}', sha256)"
        let sig = super::sign("key", 1_700_000_000, b"{}");
        assert_eq!(sig, "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    }
}
