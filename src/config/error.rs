//! Config errors: every one names the file, line and column, and quotes the bad value.

use std::path::PathBuf;

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file (or `<defaults>` for the embedded text).
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column (in characters) of the offending value.
        column: usize,
        /// What is wrong, quoting the value.
        message: String,
    },
}

/// Turns byte offsets into line and column for one file's text.
pub struct Locator<'a> {
    /// The file, for messages.
    pub path: &'a std::path::Path,
    /// The whole text.
    pub text: &'a str,
}

impl Locator<'_> {
    /// An error at byte offset `at` (clamped to the text).
    pub fn error(&self, at: usize, message: impl Into<String>) -> ConfigError {
        let before = &self.text[..floor_char_boundary(self.text, at)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::Invalid { path: self.path.to_owned(), line, column, message: message.into() }
    }

    /// Converts toml's parse error, which carries a span and a message.
    pub fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim_end();
        // toml names neither the key it found twice nor what a `[[table]]` should have been.
        let quoted = self.text.get(span.clone()).unwrap_or_default().trim();
        let message = if message == "duplicate key" && !quoted.is_empty() {
            format!("duplicate key `{quoted}`: a key is set once in a table")
        } else if let Some(name) = quoted.strip_prefix("[[").and_then(|t| t.split("]]").next()) {
            format!("`[[{name}]]` makes a list of tables, and {name} is one table: write `[{name}]`")
        } else {
            message.to_owned()
        };
        self.error(span.start, &message)
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let text = "a = 1\n# é\nb = \"x\"\n";
        let loc = Locator { path: std::path::Path::new("c.toml"), text };
        let at = text.find("\"x\"").unwrap();
        assert_eq!(loc.error(at, "bad \"x\"").to_string(), "c.toml:3:5: bad \"x\"");
        assert_eq!(loc.error(0, "m").to_string(), "c.toml:1:1: m");
        assert_eq!(loc.error(999, "m").to_string(), "c.toml:4:1: m");
    }
}
