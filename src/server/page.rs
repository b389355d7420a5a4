//! The dashboard page and its assets, embedded in the binary: no CDN, no build step, the
//! same page offline. uPlot is vendored as npm ships it (`assets/uplot/VERSION`).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Every asset: (name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("assets/style.css")),
    ("icon.svg", "image/svg+xml", include_bytes!("assets/icon.svg")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/uplot/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("assets/uplot/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_bytes!("assets/uplot/LICENSE")),
];

/// Pages may not be framed by another site, nor load anything from elsewhere.
const POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

fn send(content_type: &'static str, body: &'static [u8]) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    send("text/html; charset=utf-8", include_bytes!("assets/index.html"))
}

/// `GET /assets/NAME`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => send(content_type, body),
        None => super::api::not_found().await,
    }
}
