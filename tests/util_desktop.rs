//! A private desktop session: Xvfb, a D-Bus session bus, the dunst notification server,
//! and dbus-monitor recording every `Notify` call as the server receives it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::util::{require, wait_until};

/// The session; every daemon is killed when it is dropped (a leftover dbus-daemon would
/// hold cargo's output pipe open and hang the test run).
pub struct DesktopSession {
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub bus: String,
    children: Vec<Child>,
    /// dbus-monitor's lines, each with the Unix ms it was read.
    lines: Arc<Mutex<Vec<(i64, String)>>>,
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

impl DesktopSession {
    /// Starts the session, or `None` (skip; a failure under CI) if a tool is missing.
    pub fn start() -> Option<DesktopSession> {
        let tools = ["Xvfb", "dbus-daemon", "dbus-monitor", "dbus-send", "dunst"];
        if !require(
            tools.iter().all(|t| have(t)),
            "Xvfb, dbus-daemon, dbus-monitor and dunst (Debian: xvfb dbus dunst)",
        ) {
            return None;
        }
        let mut s = DesktopSession { bus: String::new(), children: Vec::new(), lines: Arc::default() };
        // Xvfb picks a free display itself and prints its number once it is ready: tests
        // running in parallel (one pid for all) never collide on a display.
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().unwrap()).read_line(&mut number).unwrap();
        s.children.push(xvfb);
        assert!(number.trim().parse::<u32>().is_ok(), "Xvfb did not start (it printed {number:?})");
        let display = format!(":{}", number.trim());
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        s.children.push(bus);
        s.bus = address.trim().to_owned();
        let dunst = Command::new("dunst")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &s.bus)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        s.children.push(dunst);
        wait_until(Duration::from_secs(10), "dunst on the bus", || s.server_is_up());
        let mut monitor = Command::new("dbus-monitor")
            .args(["--address", &s.bus, "interface='org.freedesktop.Notifications',member='Notify'"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = monitor.stdout.take().unwrap();
        s.children.push(monitor);
        let lines = s.lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push((now_ms(), line));
            }
        });
        // dbus-monitor prints a NameAcquired signal once it is listening.
        wait_until(Duration::from_secs(10), "dbus-monitor", || !s.lines.lock().unwrap().is_empty());
        Some(s)
    }

    fn server_is_up(&self) -> bool {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.bus))
            .args(["--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(["org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.Notifications"])
            .output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }

    /// The `Notify` calls seen so far, each as (Unix ms seen, its text).
    pub fn notifications(&self) -> Vec<(i64, String)> {
        let lines = self.lines.lock().unwrap();
        let mut calls: Vec<(i64, String)> = Vec::new();
        for (ms, line) in lines.iter() {
            if line.starts_with("method call") && line.contains("member=Notify") {
                calls.push((*ms, String::new()));
            } else if let Some((_, text)) = calls.last_mut() {
                // One space between words: dbus-monitor pads some values with many.
                text.push_str(&line.split_whitespace().collect::<Vec<_>>().join(" "));
                text.push('\n');
            }
        }
        calls
    }

    /// Waits until `n` notifications were shown, or fails after `limit`.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<(i64, String)> {
        wait_until(limit, &format!("{n} desktop notifications"), || self.notifications().len() >= n);
        // The call's arguments follow its header line: give the reader a moment to get them.
        std::thread::sleep(Duration::from_millis(200));
        self.notifications()
    }
}

impl Drop for DesktopSession {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}
