//! `hostwatch doctor`'s checks of the channels: a notification server on the session bus,
//! and each webhook's host reachable. Nothing is sent: a check must not post to a team's
//! channel (`hostwatch notify test` does that on purpose).

use std::net::TcpStream;
use std::time::Duration;

use super::{Settings, Webhook};
use crate::doctor::{Check, Verdict};

/// How long each check waits for an answer.
const WAIT: Duration = Duration::from_secs(5);

/// The checks of the configured channels.
pub fn checks(config: &Settings) -> Vec<Check> {
    let desktop = config.desktop.then(notification_server);
    desktop.into_iter().chain(config.webhooks.iter().map(reachable)).collect()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn notification_server() -> Check {
    const NAME: &str = "notification server";
    let trouble = |detail: String| {
        Check::trouble(
            NAME,
            Verdict::Warn,
            detail,
            "start your desktop's notification daemon (or dunst, mako) in this session and run hostwatch as you \
             (`hostwatch service install --user`); or set notify.desktop = false and use a webhook",
        )
    };
    // zbus's blocking call must not run inside a runtime, and a bus that starts a server
    // on demand may take a while: ask on a thread of its own and wait a bounded time.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(notify_rust::get_server_information()));
    match rx.recv_timeout(WAIT) {
        Ok(Ok(info)) => {
            Check::ok(NAME, format!("{} {} by {} shows desktop notifications", info.name, info.version, info.vendor))
        }
        Ok(Err(e)) => trouble(format!("no notification server answers on the session bus: {e}")),
        Err(_) => trouble(format!("the session bus did not answer within {}s", WAIT.as_secs())),
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn notification_server() -> Check {
    Check::ok("notification server", "shown by the system's notification center")
}

/// Whether a TCP connection to the webhook's host and port opens (DNS included).
fn reachable(hook: &Webhook) -> Check {
    const NAME: &str = "webhook";
    let host = hook.url.host_str().unwrap_or_default();
    let shown = super::redacted(&hook.url);
    let fail = |why: String| {
        Check::trouble(
            NAME,
            Verdict::Fail,
            format!("{} ({shown}): {why}", hook.name),
            format!(
                "check the URL and this host's network; meanwhile notices wait and are delivered once it answers \
                 (`hostwatch alerts` lists them); `hostwatch notify test {}` sends a test",
                hook.name
            ),
        )
    };
    // The url crate resolves IPv6 literals without their brackets, which `host_str` keeps.
    let addrs = match hook.url.socket_addrs(|| None) {
        Ok(addrs) => addrs,
        Err(e) => return fail(format!("cannot resolve {host}: {e}")),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, WAIT) {
            Ok(_) => return Check::ok(NAME, format!("{} ({shown}) accepts connections at {addr}", hook.name)),
            Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
        }
    }
    fail(last.unwrap_or_else(|| format!("{host} has no address")))
}
