//! hostwatch's integration tests: one binary, helpers in `util`, fixtures in `fixtures/`.

mod agent;
mod alerts;
mod analyst;
mod archive;
mod checks;
mod collectors;
mod config;
mod doctor;
mod held_up;
mod layers;
mod notify;
mod packaging;
mod precision;
mod service;
mod store;
mod util;
mod util_desktop;
mod util_http;
