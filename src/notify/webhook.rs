//! Sends a notice to a webhook: rendered body, custom headers, an HMAC-SHA256 signature.
//!
//! Signature: `X-Hostwatch-Signature: sha256=HEX`, the HMAC-SHA256 with the secret of
//! `TIMESTAMP.BODY`, where `TIMESTAMP` is the `X-Hostwatch-Timestamp` header (Unix seconds
//! of the attempt). Receivers recompute it and refuse old timestamps to stop replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::deliver::DeliveryError;
use super::render::render;
use super::{Notice, Webhook};

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A client for one webhook: its timeout applies to the whole request.
pub fn client(hook: &Webhook) -> reqwest::Client {
    reqwest::Client::builder()
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
    let what = || format!("webhook {} ({})", hook.name, hook.url);
    let response = req.body(r.body).send().await.map_err(|e| DeliveryError::Retry(format!("{}: {e}", what())))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text: String = response.text().await.unwrap_or_default().chars().take(200).collect();
    let message = format!("{}: HTTP {status}: {}", what(), text.trim());
    // A 4xx other than a timeout or a rate limit will not change by asking again.
    if status.is_client_error() && status != 408 && status != 429 {
        Err(DeliveryError::Permanent(message))
    } else {
        Err(DeliveryError::Retry(message))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_documented_hmac() {
        // Computed independently: python3 -c "hmac.new(b'key', b'1700000000.{}', sha256)"
        let sig = super::sign("key", 1_700_000_000, b"{}");
        assert_eq!(sig, "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    }
}
