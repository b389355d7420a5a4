//! The rules' validated settings, translated from the file by `config`.

use std::time::Duration;

/// `[alerts]`: whether and how rules are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether rules are evaluated at all.
    pub enabled: bool,
    /// After a start or a resume from sleep, nothing is announced for this long.
    pub grace: Duration,
    /// Announce a still-firing alert again this often; `None` is never.
    pub repeat: Option<Duration>,
    /// The built-in rules with the file's overrides, then the file's own, enabled only.
    pub rules: Vec<super::Rule>,
}
