//! The mount table, read and filtered before any file system is asked for its space.
//!
//! sysinfo calls `statvfs` on every mount before a caller can filter, and a hung network
//! or FUSE mount (sshfs over a dropped VPN) blocks that call for as long as the server is
//! gone. Reading `<proc>/mounts` ourselves lets `fs_exclude` and `mounts_exclude` keep such
//! mounts out of reach: only the mounts left are asked.

use std::path::Path;

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mounted device or source (`/dev/nvme0n1p2`, `host:/export`).
    pub device: String,
    /// Where it is mounted, unescaped.
    pub point: String,
    /// Its file system type (`ext4`, `fuse.sshfs`).
    pub fs: String,
}

/// Kernel pseudo file systems that never hold a user's files (sysinfo skips them too).
const PSEUDO: &[&str] = &[
    "sysfs",
    "proc",
    "devtmpfs",
    "cgroup",
    "cgroup2",
    "pstore",
    "rpc_pipefs",
    "devpts",
    "hugetlbfs",
    "mqueue",
    "securityfs",
    "debugfs",
    "configfs",
    "fusectl",
    "bpf",
    "binfmt_misc",
    "autofs",
    "tracefs",
    "nsfs",
];

/// `\040`-style octal escapes (space, tab, newline, backslash) as the kernel writes them.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mounts in `table` (the text of `/proc/mounts`), pseudo file systems left out.
pub fn parse(table: &str) -> Vec<Mount> {
    table
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (device, point, fs) = (f.next()?, f.next()?, f.next()?);
            Some(Mount { device: unescape(device), point: unescape(point), fs: fs.to_owned() })
        })
        .filter(|m| !PSEUDO.contains(&m.fs.as_str()))
        .collect()
}

/// The mount table under `proc_root`.
pub fn read(proc_root: &Path) -> std::io::Result<Vec<Mount>> {
    std::fs::read_to_string(proc_root.join("mounts")).map(|t| parse(&t))
}

/// Bytes available to unprivileged users, and the size, of the file system holding `path`.
#[allow(clippy::useless_conversion)] // The field widths differ between platforms.
#[allow(unsafe_code)] // The one libc call that std does not wrap.
pub fn statvfs(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string and `st` is valid for writes of one statvfs.
    if unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    let block = u64::from(st.f_frsize);
    Ok((u64::from(st.f_bavail) * block, u64::from(st.f_blocks) * block))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_parsed_unescaped_and_pseudo_file_systems_are_left_out() {
        let table = "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n\
                     proc /proc proc rw 0 0\n\
                     user@host:/srv /home/me/My\\040Server fuse.sshfs rw 0 0\n\
                     sysfs /sys sysfs rw 0 0\n";
        let mounts = parse(table);
        let points: Vec<(&str, &str)> = mounts.iter().map(|m| (m.point.as_str(), m.fs.as_str())).collect();
        assert_eq!(points, vec![("/", "ext4"), ("/home/me/My Server", "fuse.sshfs")]);
        assert_eq!(mounts[1].device, "user@host:/srv");
    }
}
