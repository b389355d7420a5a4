//! The archive's size as `du` sees it, and giving free blocks back. DuckDB reuses a file's
//! free blocks but never shrinks the file: the blocks a day's compaction frees (its hours in
//! `raw_recent`, rewritten sorted into `raw`) stay in it. When they pass
//! [`MAX_FREE_SHARE`] of a file worth the trouble, the archive is copied into a fresh file
//! (`COPY FROM DATABASE`, which keeps every table's row order, so `raw` stays sorted and
//! compressed), flushed, and renamed over the old one.
//!
//! Crash-safe: until the rename the old file is the archive, whole; the copy is beside it
//! as `archive.duckdb.rewrite` and a later open removes it. The rename is atomic and comes
//! after the copy is on disk, so a kill -9 or a power cut leaves one whole file or the
//! other, with the same rows and watermark: exactly-once holds across it.

use std::path::{Path, PathBuf};

use super::{Archive, ArchiveError};

/// Free blocks above this share of the file are given back by a rewrite.
pub const MAX_FREE_SHARE: f64 = 0.15;

/// Files smaller than this are not rewritten: their free blocks are a few hundred KiB.
pub const MIN_REWRITE: u64 = 4 << 20;

/// The archive's size: its file, its WAL, and the bytes of DuckDB's blocks in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Bytes of the file.
    pub file: u64,
    /// Bytes of its WAL, if one is left (none after a clean close).
    pub wal: u64,
    /// Bytes of the blocks that hold data (DuckDB truncates free blocks at the file's end,
    /// so the free ones that cost disk are the file's bytes beyond these).
    pub used: u64,
}

impl Size {
    /// For people, against the samples the file holds (raw rows and those aged into the
    /// minute tier): `2.5 MiB, 3% free, 1.04 B/sample over 2400000 samples (0 in minutes)`.
    #[allow(clippy::cast_precision_loss)] // byte and row counts
    pub fn describe(&self, (raw, aged): (u64, u64)) -> String {
        let held = raw + aged;
        let per = if held == 0 {
            String::new()
        } else {
            format!(", {:.2} B/sample over {held} samples ({aged} in minutes)", self.file as f64 / held as f64)
        };
        let wal = if self.wal == 0 { String::new() } else { format!(", WAL {}", crate::units::bytes(self.wal as f64)) };
        format!("{}, {:.0}% free{per}{wal}", crate::units::bytes(self.file as f64), self.free_share() * 100.0)
    }

    /// The share of the file that holds nothing: free blocks between used ones.
    pub fn free_share(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // byte counts
        if self.file == 0 { 0.0 } else { self.file.saturating_sub(self.used) as f64 / self.file as f64 }
    }
}

/// `path` with `suffix` after its whole name: the WAL DuckDB keeps beside a file
/// (`.wal`), the copy a rewrite writes before its rename (`.rewrite`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes what a rewrite cut short left beside `path`: the old file is the archive.
pub(super) fn remove_leftover(path: &Path) -> Result<(), ArchiveError> {
    for left in [beside(path, ".rewrite"), beside(path, ".rewrite.wal")] {
        match std::fs::remove_file(&left) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                return Err(ArchiveError::File { path: left, source });
            }
            _ => {}
        }
    }
    Ok(())
}

impl Archive {
    /// The file's size and the bytes of DuckDB's blocks in use.
    pub fn size(&self) -> Result<Size, ArchiveError> {
        let sql =
            "SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = current_database()";
        let used: i64 = self.sql(|c| c.query_row(sql, [], |r| r.get(0)))?;
        let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        Ok(Size { file: len(&self.path), wal: len(&beside(&self.path, ".wal")), used: used.unsigned_abs() })
    }

    /// Samples the archive holds: raw rows, and those aged into the minute tier (counted
    /// there, their raw rows gone). Its bytes per sample are counted against both.
    pub fn samples(&self) -> Result<(u64, u64), ArchiveError> {
        let sql = "SELECT (SELECT count(*) FROM raw_rows), (SELECT coalesce(sum(count), 0)::BIGINT FROM agg_1m)";
        let (raw, aged) = self.sql(|c| c.query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))))?;
        Ok((raw.unsigned_abs(), aged.unsigned_abs()))
    }

    /// Closes the archive as [`Archive::close`] does, first rewriting it into a fresh file
    /// if its free blocks pass [`MAX_FREE_SHARE`] of it and it is at least `min_file` bytes.
    /// Returns the size before and, if it was rewritten, after.
    pub fn close_rewriting(self, min_file: u64) -> Result<(Size, Option<Size>), ArchiveError> {
        self.sql(|c| c.execute_batch("CHECKPOINT"))?;
        let before = self.size()?;
        // The copy needs room for the blocks in use, beside the old file, with a margin: a
        // rewrite must never be what fills the disk the hot store writes to.
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let room = crate::collect::mounts::statvfs(dir).is_ok_and(|(free, _)| free > before.used + (64 << 20));
        if before.file < min_file || before.free_share() <= MAX_FREE_SHARE || !room {
            self.close()?;
            return Ok((before, None));
        }
        let copy = beside(&self.path, ".rewrite");
        remove_leftover(&self.path)?;
        let quoted = copy.to_string_lossy().replace('\'', "''");
        let copied = self.sql(|c| {
            let catalog: String = c.query_row("SELECT current_database()", [], |r| r.get(0))?;
            c.execute_batch(&format!(
                "ATTACH '{quoted}' AS hostwatch_rewrite (STORAGE_VERSION 'v1.5.0');
                 COPY FROM DATABASE \"{catalog}\" TO hostwatch_rewrite;
                 CHECKPOINT hostwatch_rewrite;"
            ))?;
            let sql =
                "SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = 'hostwatch_rewrite'";
            let used = c.query_row(sql, [], |r| r.get(0))?;
            c.execute_batch("DETACH hostwatch_rewrite")?;
            Ok(used)
        });
        let used: i64 = match copied {
            Ok(used) => used,
            Err(e) => {
                // The archive is as it was (committed, checkpointed); the half copy goes now,
                // not at the next open an hour later.
                let _ = self.sql(|c| c.execute_batch("DETACH DATABASE IF EXISTS hostwatch_rewrite"));
                let _ = remove_leftover(&self.path);
                return Err(e);
            }
        };
        let flushed = std::fs::File::open(&copy).and_then(|f| f.sync_all());
        // Renamed while this connection still holds the old file's lock: no other process
        // can have written to the old file in between. It checkpointed above, so closing
        // it later writes nothing, and its WAL name is the new file's only once it is gone.
        let renamed = flushed.and_then(|()| std::fs::rename(&copy, &self.path)).and_then(|()| {
            let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::File::open(dir)?.sync_all()
        });
        let path = self.path.clone();
        if let Err(source) = renamed {
            let _ = remove_leftover(&path);
            return Err(ArchiveError::File { path: copy, source });
        }
        drop(self);
        let file = std::fs::metadata(&path).map_or(0, |m| m.len());
        let after = Size { file, wal: 0, used: used.unsigned_abs() };
        Ok((before, Some(after)))
    }
}
