//! The doctor's checks of the host: its clock, and the session bus desktop notices need.

use std::path::PathBuf;

use super::{Check, Verdict};
use crate::units::local;

/// No clock on a host running this release reads earlier than this (2026-01-01 UTC): it
/// was written after that, so such a clock lost its time (a dead RTC battery, no NTP).
const EARLIEST_PLAUSIBLE: i64 = 1_767_225_600;
/// Samples are stamped at collection and written up to a flush later: allow for that.
const FUTURE_SLACK: i64 = 60;

/// Whether the wall clock `now` is plausible, given the newest stored sample.
pub fn clock(now: i64, newest_sample: Option<i64>) -> Check {
    const NAME: &str = "clock";
    let ntp = "turn on network time (`timedatectl set-ntp true` on Linux) and check the time zone";
    if now < EARLIEST_PLAUSIBLE {
        return Check::trouble(
            NAME,
            Verdict::Fail,
            format!("the clock reads {}, before this release", local(now)),
            ntp,
        );
    }
    match newest_sample {
        Some(newest) if newest > now + FUTURE_SLACK => Check::trouble(
            NAME,
            Verdict::Warn,
            format!(
                "the clock reads {}, earlier than the newest sample ({}): it was stepped back",
                local(now),
                local(newest)
            ),
            format!("{ntp}; if the clock is right now, samples stamped after it came from a wrong clock and age out"),
        ),
        _ => Check::ok(NAME, local(now)),
    }
}

/// Where a D-Bus client would find the session bus: the `unix:path=` in `address`
/// (`DBUS_SESSION_BUS_ADDRESS`), else `/run/user/<uid>/bus`. `None` for an address this
/// cheap check cannot follow (an abstract socket, TCP).
fn bus_socket(address: Option<&str>, uid: u32) -> Option<PathBuf> {
    match address {
        None | Some("") => Some(PathBuf::from(format!("/run/user/{uid}/bus"))),
        Some(address) => address
            .split(';')
            .filter_map(|a| a.strip_prefix("unix:"))
            .flat_map(|params| params.split(','))
            .find_map(|kv| kv.strip_prefix("path="))
            .map(PathBuf::from),
    }
}

/// Whether the user's session bus answers, which desktop notifications need. Only the bus:
/// whether a notification server is on it is the notification module's check.
pub fn session_bus(address: Option<&str>, uid: u32) -> Check {
    const NAME: &str = "session bus";
    let Some(socket) = bus_socket(address, uid) else {
        return Check::ok(
            NAME,
            format!("DBUS_SESSION_BUS_ADDRESS={} (not a socket path; not checked)", address.unwrap_or("")),
        );
    };
    match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(_) => Check::ok(NAME, format!("{} answers", socket.display())),
        Err(e) => Check::trouble(
            NAME,
            Verdict::Warn,
            format!("no session bus at {}: {e}; desktop notifications cannot be shown", socket.display()),
            "run hostwatch as a user service inside your desktop session (`hostwatch service install`), not as a \
             system service or from an ssh login; webhooks work either way",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_this_release_fails_and_one_behind_the_samples_warns() {
        let now = EARLIEST_PLAUSIBLE + 86_400 * 300;
        assert_eq!(clock(0, None).verdict, Verdict::Fail);
        assert_eq!(clock(now, Some(now + 3600)).verdict, Verdict::Warn);
        assert_eq!(clock(now, Some(now + 30)).verdict, Verdict::Ok, "a sample stamped during the flush");
        assert_eq!(clock(now, None).verdict, Verdict::Ok);
    }

    #[test]
    fn the_bus_socket_comes_from_the_address_or_the_users_runtime_dir() {
        assert_eq!(bus_socket(None, 1000), Some("/run/user/1000/bus".into()));
        assert_eq!(bus_socket(Some("unix:path=/tmp/b,guid=42"), 0), Some("/tmp/b".into()));
        assert_eq!(bus_socket(Some("unix:abstract=/tmp/x;unix:path=/run/b"), 0), Some("/run/b".into()));
        assert_eq!(bus_socket(Some("tcp:host=localhost,port=1"), 0), None);
    }
}
