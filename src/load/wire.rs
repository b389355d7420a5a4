//! The closed model's path to a plain-HTTP target: each user holds one HTTP/1.1 connection
//! of its own, as wrk's connections do, on hyper's connection API, with the request built
//! once. A pooled client (reqwest, kept for https and the open model) spends more of the
//! generator's one core per request than the target does on a fast loopback server, and a
//! generator that saturates first measures itself.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use super::Loadtest;
use super::record::Outcome;
use crate::probe::{KEPT_BODY, MAX_BODY};

/// Where to connect and what to send.
pub struct Wire {
    addrs: Vec<SocketAddr>,
    parts: http::request::Parts,
    body: Bytes,
}

/// One user's connection, opened on first use and after a failure.
#[derive(Default)]
pub struct Conn(Option<SendRequest<Full<Bytes>>>);

impl Wire {
    /// The path for `request` (built by reqwest, secret included) if its URL is plain http.
    pub async fn new(request: &reqwest::Request) -> Result<Option<Wire>, String> {
        let url = request.url();
        if url.scheme() != "http" {
            return Ok(None);
        }
        let shown_host = url.host_str().unwrap_or_default();
        let host = shown_host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = url.port().map_or_else(|| shown_host.to_owned(), |p| format!("{shown_host}:{p}"));
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut builder = http::Request::builder().method(request.method().clone()).uri(path);
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        let built = builder
            .header(http::header::HOST, authority.as_str())
            .header(http::header::USER_AGENT, concat!("hostwatch/", env!("CARGO_PKG_VERSION")))
            .body(())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let body = request.body().and_then(reqwest::Body::as_bytes).map(Bytes::copy_from_slice).unwrap_or_default();
        Ok(Some(Wire { addrs, parts: built.into_parts().0, body }))
    }

    fn request(&self) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.parts.method.clone();
        *request.uri_mut() = self.parts.uri.clone();
        *request.headers_mut() = self.parts.headers.clone();
        request
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, &'static str> {
        let stream = tokio::net::TcpStream::connect(&self.addrs[..]).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "refused",
            _ => "connect",
        })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|_| "connect")?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// One request on `conn` (opened if need be), to its body's last byte or the test's
    /// timeout, judged; a failed connection is dropped, so the next request opens another.
    pub async fn send(&self, conn: &mut Conn, test: &Loadtest, since: Instant) -> Outcome {
        let keep = !test.request.conditions.is_empty();
        let answer = tokio::time::timeout(test.timeout, async {
            // A connection the server closed after its last answer (`Connection: close`, an
            // idle timeout) is replaced, not counted as a failure.
            if let Some(s) = &mut conn.0
                && s.ready().await.is_err()
            {
                conn.0 = None;
            }
            let sender = match &mut conn.0 {
                Some(s) => s,
                slot => slot.insert(self.connect().await.map_err(|e| (e, None))?),
            };
            sender.ready().await.map_err(|_| ("connect", None))?;
            let response = sender.send_request(self.request()).await.map_err(|_| ("connect", None))?;
            let ttfb = since.elapsed();
            let status = response.status().as_u16();
            let (mut body, mut kept, mut size) = (response.into_body(), Vec::new(), 0u64);
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| ("body", Some(ttfb)))?;
                if let Some(data) = frame.data_ref() {
                    size += data.len() as u64;
                    if keep {
                        kept.extend_from_slice(&data[..KEPT_BODY.saturating_sub(kept.len()).min(data.len())]);
                    }
                    if size > MAX_BODY {
                        return Err(("body", Some(ttfb)));
                    }
                }
            }
            Ok((ttfb, status, size, kept))
        })
        .await;
        match answer {
            Ok(Ok((ttfb, status, size, kept))) => super::generator::judged(test, since, ttfb, status, size, &kept),
            Ok(Err((error, ttfb))) => {
                conn.0 = None;
                Outcome { latency: None, ttfb, error: Some(error) }
            }
            Err(_) => {
                conn.0 = None;
                Outcome { latency: None, ttfb: None, error: Some("timeout") }
            }
        }
    }
}
