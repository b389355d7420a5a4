//! Giving back the pages of code the agent ran once. The binary is about 70 MB (DuckDB's
//! C++ most of it), and the kernel maps 64 KiB of it around each page the agent touches;
//! those pages stay counted in its resident set until memory runs short, long after the
//! code that touched them has finished: loading (DuckDB's C++ static initialisers run all
//! over the binary before `main`), the configuration and the store's migrations, the
//! agent's set-up, a rollup's DuckDB, a report. After each of these, and after each write
//! to the store (every flush interval), the agent drops its mappings of its own code: the
//! pages stay in the page cache, and what runs again maps them back (minor faults, about
//! a hundred per flush), so its resident set is what it runs, not what it ever ran.
//!
//! The heap's free pages go back too (`malloc_trim`). Only the executable's `r-xp`
//! mappings are dropped: code is never written, so
//! `MADV_DONTNEED` there changes nothing but residency. Writable or relocated mappings
//! (data, RELRO) would lose their contents and are never touched.

use std::os::unix::fs::MetadataExt;

/// The identity of a mapped file: device (major, minor) and inode, as `/proc/PID/maps`
/// lists them. A path would not do: after a package upgrade the running binary's reads
/// `... (deleted)`, and a path may hold spaces.
type FileId = (u32, u32, u64);

/// Drops the resident pages of this program's code, and hands the heap's free pages back to
/// the system (a rollup's DuckDB frees megabytes the allocator would otherwise keep);
/// returns the bytes of the code mappings advised. Under a debugger nothing is dropped: its
/// breakpoints live in private copies of code pages, which the drop would discard (as it
/// would uprobes that perf or bpftrace placed in hostwatch).
#[allow(unsafe_code)] // calls `advise`, whose promise is kept here.
pub fn give_back_code() -> usize {
    trim_heap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let traced = status.lines().any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0"));
    let (Ok(exe), Ok(maps)) = (std::fs::metadata("/proc/self/exe"), std::fs::read_to_string("/proc/self/maps")) else {
        return 0;
    };
    if traced {
        return 0;
    }
    let id = (libc::major(exe.dev()), libc::minor(exe.dev()), exe.ino());
    code_mappings(&maps, id)
        .into_iter()
        // SAFETY: each range is a whole read-only, executable, private mapping of this
        // program's file, as /proc/self/maps lists it, and no debugger is attached.
        .map(|(start, len)| if unsafe { advise(start, len) } { len } else { 0 })
        .sum()
}

#[cfg(target_env = "gnu")]
#[allow(unsafe_code)] // malloc_trim(3), glibc's, which std does not wrap.
fn trim_heap() {
    // SAFETY: no pointer to get wrong; it only releases the free memory of every arena.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn trim_heap() {}

/// `(start, length)` of each `r-xp` mapping of the file `id` in a `/proc/PID/maps` text.
fn code_mappings(maps: &str, id: FileId) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms, _offset, dev, inode) =
                (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
            let (major, minor) = dev.split_once(':')?;
            let file =
                (u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?, inode.parse().ok()?);
            let (start, end) = range.split_once('-')?;
            let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
            (perms == "r-xp" && file == id && end > start).then_some((start, end - start))
        })
        .collect()
}

/// Unmaps the resident pages of `[start, start + len)`; the next access maps them back
/// from the file.
///
/// # Safety
/// The range must be a read-only private file mapping that nothing wrote to (code): the
/// private copy of a written page would be lost.
#[allow(unsafe_code)] // madvise(2), which std does not wrap.
unsafe fn advise(start: usize, len: usize) -> bool {
    // SAFETY: the caller's promise: clean, read-only pages of a file, mapped back on access.
    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

#[cfg(test)]
mod tests {
    use super::{code_mappings, give_back_code};

    #[test]
    fn only_the_programs_own_code_mappings_are_picked() {
        let maps = "\
55d0a0000000-55d0a0400000 r--p 00000000 fd:01 123 /usr/bin/hostwatch
55d0a0400000-55d0a4000000 r-xp 00400000 fd:01 123 /usr/bin/hostwatch (deleted)
55d0a4000000-55d0a4100000 r--p 04000000 fd:01 123 /usr/bin/hostwatch
55d0a4100000-55d0a4108000 rw-p 04100000 fd:01 123 /usr/bin/hostwatch
7f0000000000-7f0000200000 r-xp 00028000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 r-xp 00028000 fd:02 123 /mnt/other disk/hostwatch
7f0000300000-7f0000400000 rw-p 00000000 00:00 0
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]";
        assert_eq!(code_mappings(maps, (0xfd, 1, 123)), vec![(0x55d0_a040_0000, 0x3c0_0000)]);
        assert_eq!(code_mappings(maps, (0xfd, 1, 789)), vec![]);
    }

    #[test]
    fn the_code_runs_on_after_its_pages_are_given_back() {
        let advised = give_back_code();
        assert!(advised > 0, "the test binary's own code is mapped r-xp");
        // Code that runs after the drop maps its pages back.
        assert_eq!(code_mappings("", (0, 0, 0)), vec![]);
        assert!(give_back_code() >= advised);
    }
}
