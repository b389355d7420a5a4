//! Who may ask: every request passes here before its route. A `Host` that is not an IP
//! literal, `localhost` or a configured name is refused (DNS rebinding); with a token,
//! every route but `/health` wants it.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie a browser keeps the token in, set by `/?token=...`.
const COOKIE: &str = "hostwatch_token";

/// The names a request's `Host` may carry besides IP literals and `localhost`.
struct Hosts(Vec<String>);

impl Hosts {
    fn allows(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            // `[::1]:9180`: the literal is between the brackets.
            Some(rest) => return rest.split_once(']').is_some_and(|(ip, _)| ip.parse::<IpAddr>().is_ok()),
            None => host.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()).map_or(host, |(n, _)| n),
        };
        name.parse::<IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self.0.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// `routes` behind the guard, with their state.
pub(super) fn guarded(
    routes: axum::Router<Arc<super::State>>,
    state: Arc<super::State>,
    names: Vec<String>,
) -> axum::Router {
    let hosts = Arc::new(Hosts(names));
    routes.layer(axum::middleware::from_fn_with_state((state.clone(), hosts), check)).with_state(state)
}

/// Equal without an early exit, so the time a comparison takes says nothing of the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: its bearer token, else its cookie.
fn carried(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()?.strip_prefix("Bearer "));
    bearer.or_else(|| {
        let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
        cookies.flat_map(|c| c.split(';')).find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

fn refuse(status: StatusCode, why: String) -> Response {
    super::api::json(status, &serde_json::json!({ "error": why }))
}

async fn check(State((state, hosts)): State<(Arc<super::State>, Arc<Hosts>)>, req: Request, next: Next) -> Response {
    let Some(host) = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "a request needs a Host header".into());
    };
    if !hosts.allows(host) {
        let why = format!("Host {host:?} is not this server's: add the name to [server] names to use it");
        return refuse(StatusCode::FORBIDDEN, why);
    }
    let Some(token) = state.token.as_deref() else { return next.run(req).await };
    if req.uri().path() == "/health" || carried(req.headers()).is_some_and(|t| same(t, token)) {
        return next.run(req).await;
    }
    // A browser's first visit, `/?token=...`: keep the token in a cookie, drop it from the URL.
    let query = req.uri().query().unwrap_or("");
    let offered = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned());
    if req.uri().path() == "/" && offered.as_deref().is_some_and(|t| same(t, token)) {
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/".to_owned()), (header::SET_COOKIE, cookie)])
            .into_response();
    }
    let mut refused = refuse(
        StatusCode::UNAUTHORIZED,
        "this server wants its token: send `Authorization: Bearer TOKEN`, or open /?token=TOKEN once".into(),
    );
    refused.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ip_literals_localhost_and_configured_names_pass() {
        let hosts = Hosts(vec!["devbox.lan".into()]);
        for ok in ["127.0.0.1:9180", "[::1]:9180", "localhost:9180", "LOCALHOST", "10.0.0.5", "devbox.lan:9180"] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in ["evil.example:9180", "localhost.evil.example", "[evil]:80", "devbox.lan.evil:9180", ""] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn a_token_is_taken_from_the_bearer_header_or_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=b; hostwatch_token=s3cret".parse().unwrap());
        assert_eq!(carried(&h), Some("s3cret"));
        h.insert(header::AUTHORIZATION, "Bearer other".parse().unwrap());
        assert_eq!(carried(&h), Some("other"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
