//! hostwatch's integration tests: one binary, helpers in `util`, fixtures in `fixtures/`.

mod agent;
mod alerts;
mod analyst;
mod archive;
mod collectors;
mod config;
mod notify;
mod store;
mod util;
mod util_desktop;
mod util_http;
