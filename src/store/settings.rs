//! The hot store's validated settings, translated from the file by `config`.

use std::path::PathBuf;
use std::time::Duration;

/// `[store]`: where the hot store lives and how long samples stay.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Data directory from the file, if set (the `--data-dir` flag beats it).
    pub data_dir: Option<PathBuf>,
    /// The longest samples stay in the hot store: with the archive on, only samples that
    /// could not be archived for this long (the archive held open) are dropped.
    pub retention: Duration,
}
