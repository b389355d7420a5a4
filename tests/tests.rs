//! hostwatch's integration tests: one binary, helpers in `util`, fixtures in `fixtures/`.

mod agent;
mod analyst;
mod archive;
mod collectors;
mod config;
mod doctor;
mod packaging;
mod service;
mod store;
mod util;
