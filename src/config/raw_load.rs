//! `[loadtests]` as written: `allow_hosts` beside the tests' own tables, so the table is
//! read key by key (serde's flatten would lose the spans errors point at).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use toml::Spanned;

use super::raw::{RawRequest, SpannedStr};

/// `[loadtests]`
#[derive(Debug, Default)]
pub struct RawLoadtests {
    pub allow_hosts: Option<Vec<SpannedStr>>,
    /// By name.
    pub tests: BTreeMap<Spanned<String>, RawLoadtest>,
}

impl<'de> Deserialize<'de> for RawLoadtests {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Tables;
        impl<'de> Visitor<'de> for Tables {
            type Value = RawLoadtests;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the [loadtests] table: `allow_hosts` and a table per test")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLoadtests, A::Error> {
                let mut out = RawLoadtests::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.get_ref() == "allow_hosts" {
                        out.allow_hosts = Some(map.next_value()?);
                    } else {
                        let test = map.next_value()?;
                        out.tests.insert(key, test);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Tables)
    }
}

/// `[loadtests.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a load test table with `url` or `probe`")]
pub struct RawLoadtest {
    pub url: Option<SpannedStr>,
    pub probe: Option<SpannedStr>,
    pub method: Option<SpannedStr>,
    pub headers: Option<BTreeMap<Spanned<String>, SpannedStr>>,
    pub body: Option<SpannedStr>,
    pub expect_status: Option<Vec<Spanned<i64>>>,
    pub conditions: Option<Vec<SpannedStr>>,
    pub secret_env: Option<SpannedStr>,
    pub secret_file: Option<Spanned<PathBuf>>,
    pub secret_header: Option<SpannedStr>,
    pub ca_file: Option<Spanned<PathBuf>>,
    pub shape: Option<SpannedStr>,
    pub model: Option<SpannedStr>,
    pub users: Option<Spanned<i64>>,
    pub target_rps: Option<Spanned<i64>>,
    pub ramp_up: Option<SpannedStr>,
    pub duration: Option<SpannedStr>,
    pub timeout: Option<SpannedStr>,
    pub start: Option<Spanned<i64>>,
    pub step: Option<Spanned<i64>>,
    pub max: Option<Spanned<i64>>,
    pub step_duration: Option<SpannedStr>,
    pub failure_threshold: Option<Spanned<f64>>,
    pub max_p95: Option<SpannedStr>,
    pub max_requests: Option<Spanned<i64>>,
    pub max_in_flight: Option<Spanned<i64>>,
    pub thresholds: Option<RawThresholds>,
    pub abort_on: Option<RawAbortOn>,
    pub schedule: Option<SpannedStr>,
    pub compare_runs: Option<Spanned<i64>>,
    pub regression_warning: Option<Spanned<f64>>,
    pub regression_critical: Option<Spanned<f64>>,
}

impl RawLoadtest {
    /// Its request's keys (a load test follows no redirect and has no warning conditions).
    pub fn request(&mut self) -> RawRequest {
        RawRequest {
            url: self.url.take(),
            method: self.method.take(),
            headers: self.headers.take(),
            body: self.body.take(),
            expect_status: self.expect_status.take(),
            conditions: self.conditions.take(),
            secret_env: self.secret_env.take(),
            secret_file: self.secret_file.take(),
            secret_header: self.secret_header.take(),
            ca_file: self.ca_file.take(),
            ..RawRequest::default()
        }
    }
}

/// `thresholds = { p95 = "500ms", error_rate = 0.01 }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table like { p95 = \"500ms\", error_rate = 0.01 }")]
pub struct RawThresholds {
    pub p50: Option<SpannedStr>,
    pub p95: Option<SpannedStr>,
    pub p99: Option<SpannedStr>,
    pub max: Option<SpannedStr>,
    pub error_rate: Option<Spanned<f64>>,
}

/// `abort_on = { error_rate = 0.05, for = "10s" }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table like { error_rate = 0.05, for = \"10s\" }")]
pub struct RawAbortOn {
    pub error_rate: Spanned<f64>,
    #[serde(rename = "for")]
    pub for_: Option<SpannedStr>,
}
