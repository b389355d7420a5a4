//! hostwatch's integration tests: one binary, helpers in `util`, fixtures in `fixtures/`.

// Tests signal and wait for the processes they start (kill(2), mkfifo(3), wait4(2)), and a
// failed unwrap is their report.
#![allow(unsafe_code, clippy::unwrap_used)]

mod agent;
mod alert_quality;
mod alerts;
mod analyst;
mod archive;
mod backtest;
mod checks;
mod cli;
mod collectors;
mod config;
mod dashboard;
mod doctor;
mod held_up;
mod layers;
mod loadtests;
mod notify;
mod packaging;
mod precision;
mod probes;
// The alert-quality measure, shared with its bench, which prints the fields a test does not read.
#[allow(dead_code)]
#[path = "../benches/support/quality.rs"]
mod quality;
mod server;
mod service;
mod store;
mod util;
mod util_browser;
mod util_desktop;
mod util_http;
mod util_model;
mod util_postgres;
mod util_site;
mod util_target;
mod util_web;
#[path = "../benches/support/week.rs"]
mod week;
