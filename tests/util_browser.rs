//! A real headless Chromium (Debian's `chromium`), driven through ChromeDriver's WebDriver
//! HTTP API: open a page, run a script in it, read its console, take a screenshot.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::require;
use crate::util_http::free_port;
use crate::util_web::{Reply, request};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// One browser session; the browser and its driver end when dropped.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium; `None` (the test skips) where they
    /// are not installed outside CI.
    pub fn start() -> Option<Browser> {
        let installed = Path::new(CHROMIUM).exists() && Path::new(DRIVER).exists();
        if !require(installed, "Debian's chromium and chromium-driver") {
            return None;
        }
        let port = free_port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        // As the machine's own check starts it: no sandbox (root), and nothing that reaches
        // out to the network, which is closed here.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1100",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let mut browser = Browser { driver, addr, session: String::new(), _profile: profile };
        let reply = browser.call("POST", "/session", &caps);
        browser.session =
            reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {reply}")).to_owned();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let text = if body.is_null() { String::new() } else { body.to_string() };
        let reply: Reply = request(&self.addr, method, path, &[("Content-Type", "application/json")], &text);
        let value = reply.json();
        assert!(reply.status == 200, "{method} {path}: {}", reply.body);
        value
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)["value"].take()
    }

    /// Navigates to `url` and waits for the page's load event.
    pub fn open(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    /// Runs `script` (a function body: `return ...;`) in the page and returns its value.
    pub fn eval(&self, script: &str) -> Value {
        self.session_call("POST", "/execute/sync", &json!({ "script": script, "args": [] }))
    }

    /// Polls `script` until it returns something other than null or false.
    pub fn wait_for(&self, limit: Duration, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(script);
            if !v.is_null() && v != Value::Bool(false) {
                return v;
            }
            assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's console messages at level SEVERE (errors, uncaught exceptions, failed loads).
    pub fn console_errors(&self) -> Vec<String> {
        let log = self.session_call("POST", "/se/log", &json!({ "type": "browser" }));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let b64 = self.session_call("GET", "/screenshot", &Value::Null);
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(&self.addr, "DELETE", &format!("/session/{}", self.session), &[], "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
