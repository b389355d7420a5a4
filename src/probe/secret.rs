//! Where a probe's secret is kept: an environment variable or a file only its owner can
//! read, read again at each attempt (so a rotated token is picked up), never in the config.

use std::fmt;
use std::path::PathBuf;

/// Where a secret is kept: never in the config file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// An environment variable of the agent.
    Env(String),
    /// A file readable by its owner only (mode 0600 or stricter).
    File(PathBuf),
}

impl Secret {
    /// The secret, trimmed of a trailing newline; the error names where it was looked for.
    pub fn read(&self) -> Result<String, String> {
        match self {
            Secret::Env(name) => std::env::var(name).map_err(|_| format!("environment variable {name} is not set")),
            Secret::File(path) => {
                self.check()?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Ok(text.trim_end_matches(['\r', '\n']).to_owned())
            }
        }
    }

    /// For a file: that it exists and only its owner can read it.
    pub fn check(&self) -> Result<(), String> {
        let Secret::File(path) = self else { return Ok(()) };
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!("{} is readable by others (mode {mode:o}): chmod 600 it", path.display()));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        Ok(())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(name) => write!(f, "${name}"),
            Secret::File(path) => write!(f, "file {}", path.display()),
        }
    }
}
