//! Validates `[server]`: where the dashboard listens, and who may ask it.

use std::net::SocketAddr;

use super::error::{ConfigError, Locator};
use super::raw::RawServer;
use crate::probe::Secret;
use crate::server::{DEFAULT_LISTEN, Settings};

/// Validates the `[server]` table. Beyond loopback a token is required: the dashboard shows
/// what runs on the machine and where it is slow.
pub fn server(raw: RawServer, loc: &Locator) -> Result<Settings, ConfigError> {
    let listen = match &raw.listen {
        None => DEFAULT_LISTEN,
        Some(l) => l.get_ref().parse::<SocketAddr>().map_err(|_| {
            let msg =
                format!("server.listen = {:?} is not an address and port: write e.g. \"127.0.0.1:9180\"", l.get_ref());
            loc.error(l.span().start, msg)
        })?,
    };
    let token = match raw.token_file {
        None => None,
        Some(file) => {
            let secret = Secret::File(file.get_ref().clone());
            secret.check().map_err(|e| loc.error(file.span().start, format!("server.token_file: {e}")))?;
            Some(secret)
        }
    };
    if let Some(l) = raw.listen.as_ref().filter(|_| !listen.ip().is_loopback() && token.is_none()) {
        let msg = format!(
            "server.listen = {:?} is reachable from other machines: set server.token_file (a file only you can read) or listen on 127.0.0.1",
            l.get_ref()
        );
        return Err(loc.error(l.span().start, msg));
    }
    let mut names = Vec::new();
    for n in raw.names.unwrap_or_default() {
        let ok = !n.get_ref().is_empty()
            && n.get_ref()
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            let msg = format!("server.names: {:?} is not a host name (letters, digits, - and dots)", n.get_ref());
            return Err(loc.error(n.span().start, msg));
        }
        names.push(n.into_inner());
    }
    Ok(Settings { enabled: raw.enabled.unwrap_or(true), listen, token, names })
}
