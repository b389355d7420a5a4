//! The local HTTP server: the dashboard page, its JSON API, `/metrics` and `/health`.
//!
//! Owns who may ask and what each route answers; must not write anything, run a caller's
//! SQL, or hold the agent's runtime thread (every store read runs on the blocking pool,
//! live values come from [`Live`]).
//!
//! Who may ask:
//! - It listens on loopback unless configured otherwise; a non-loopback address needs a
//!   token (the config refuses it without one).
//! - A request whose `Host` is not an IP literal, `localhost` or a configured name is
//!   refused: a page elsewhere could reach a loopback server through a DNS name it
//!   re-points at 127.0.0.1 (DNS rebinding), but its requests carry that name.
//! - With a token, every route but `/health` wants it, as `Authorization: Bearer ...` or
//!   the cookie that `/?token=...` sets for a browser.

mod api;
mod charts;
mod exposition;
mod guard;
mod live;
mod ops;
mod page;
mod query;
mod reach;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use live::{Live, Newest, Snapshot};
pub use reach::check;

use crate::archive::Policy;
use crate::probe::{Probe, Secret};
use crate::rules::Rule;
use crate::store::{Shared, Store};

/// Where the server listens unless `[server] listen` says otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9180);

/// `[server]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether `hostwatch run` serves at all.
    pub enabled: bool,
    /// The address and port.
    pub listen: SocketAddr,
    /// The token every route but `/health` asks for, in a file only its owner reads.
    pub token: Option<Secret>,
    /// Host names besides IP literals and `localhost` that requests may carry.
    pub names: Vec<String>,
}

impl Settings {
    /// The dashboard's address as a person types it.
    pub fn url(&self) -> String {
        format!("http://{}/", self.listen)
    }
}

/// What the routes read: the stores, the rules that colour values, the probes, the
/// agent's live state.
pub struct Context {
    /// The hot store's file.
    pub hot: PathBuf,
    /// The archive's file and policy, if the archive is on.
    pub archive: Option<(PathBuf, Policy)>,
    /// Every alert rule, for bands.
    pub rules: Vec<Rule>,
    /// Every configured probe.
    pub probes: Vec<Probe>,
    /// The host's name.
    pub host: String,
    /// The sampling interval: live values change this often.
    pub interval: Duration,
    /// How often the writer writes: `/health` expects a write within a few of these.
    pub flush_interval: Duration,
    /// The agent's state right now.
    pub live: Arc<Live>,
    /// Logical CPUs, which per-core rules divide by.
    pub cores: usize,
    /// The wall clock, Unix ms: the agent's, passed in.
    pub now: fn() -> i64,
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The token file cannot be read.
    #[error("server.token_file: {0}")]
    Token(String),
    /// The hot store cannot be opened for reading.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What every request handler shares.
struct State {
    ctx: Context,
    /// The API's connection: its calls queue behind one another.
    store: Shared,
    /// `/metrics`' own connection, so a scrape never waits behind a chart.
    ops_store: Shared,
    /// What `/metrics` last read from the store, and when.
    store_figures: std::sync::Mutex<Option<ops::StoreFigures>>,
    token: Option<String>,
    pid: u32,
}

/// A running server.
pub struct Server {
    /// The address it listens on (the port chosen, if the config said 0).
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `settings.listen` and serves on the current runtime until [`Server::shutdown`].
    pub async fn start(settings: &Settings, ctx: Context) -> Result<Server, ServerError> {
        let token = settings.token.as_ref().map(Secret::read).transpose().map_err(ServerError::Token)?;
        let store = Shared::new(Store::open_read_only(&ctx.hot)?);
        let ops_store = Shared::new(Store::open_read_only(&ctx.hot)?);
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ServerError::Bind { addr: settings.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr: settings.listen, source })?;
        let store_figures = std::sync::Mutex::default();
        let state = Arc::new(State { ctx, store, ops_store, store_figures, token, pid: std::process::id() });
        let app = guard::guarded(routes(), state, settings.names.clone());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("the dashboard server stopped: {e}");
            }
        });
        Ok(Server { addr, stop, task })
    }

    /// Stops accepting, lets requests in flight finish for at most a second, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(1), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Every route; those that take no parameter refuse any, as the others refuse keys they
/// do not know.
fn routes() -> axum::Router<Arc<State>> {
    use axum::routing::get;
    let bare = axum::Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/api/status", get(api::status))
        .route("/api/series", get(api::series))
        .route("/api/probes", get(api::probes))
        .route("/api/reports", get(api::reports))
        .layer(axum::middleware::from_fn(no_parameters));
    bare.route("/api/points", get(charts::points))
        .route("/api/processes", get(charts::processes))
        .route("/api/alerts", get(api::alerts))
        .route("/", get(page::index))
        .route("/assets/{file}", get(page::asset))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::read_only)
}

/// A route that takes no parameter answers `400` to a query string.
async fn no_parameters(
    axum::extract::RawQuery(q): axum::extract::RawQuery,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match query::Params::parse(q.as_deref(), &[]) {
        Ok(_) => next.run(request).await,
        Err(e) => api::bad(e),
    }
}
