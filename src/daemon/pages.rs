//! Giving back the pages of code the agent ran once. The binary is about 70 MB (DuckDB's
//! C++ most of it), and the kernel maps 64 KiB of it around each page the agent touches;
//! those pages stay counted in its resident set until memory runs short, long after the
//! code that touched them (start-up, a rollup's DuckDB, a report) has finished. After
//! such work the agent drops its mappings of its own code: the pages stay in the page
//! cache, and what runs again maps them back (a minor fault), so its resident set is what
//! it runs, not what it ever ran.
//!
//! The heap's free pages go back too (`malloc_trim`). Only the executable's `r-xp`
//! mappings are dropped: code is never written, so
//! `MADV_DONTNEED` there changes nothing but residency. Writable or relocated mappings
//! (data, RELRO) would lose their contents and are never touched.

use std::path::Path;

/// Drops the resident pages of this program's code, and hands the heap's free pages back to
/// the system (a rollup's DuckDB frees megabytes the allocator would otherwise keep);
/// returns the bytes of the code mappings advised (0 where `/proc` cannot say which they are).
pub fn give_back_code() -> usize {
    trim_heap();
    let (Ok(exe), Ok(maps)) = (std::fs::read_link("/proc/self/exe"), std::fs::read_to_string("/proc/self/maps")) else {
        return 0;
    };
    code_mappings(&maps, &exe).into_iter().map(|(start, len)| if advise(start, len) { len } else { 0 }).sum()
}

#[cfg(target_env = "gnu")]
#[allow(unsafe_code)] // malloc_trim(3), glibc's, which std does not wrap.
fn trim_heap() {
    // SAFETY: no pointer to get wrong; it only releases the free memory of every arena.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn trim_heap() {}

/// `(start, length)` of each `r-xp` mapping of `exe` in a `/proc/PID/maps` text.
fn code_mappings(maps: &str, exe: &Path) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next()?, fields.next()?);
            let path = fields.nth(3)?;
            let (start, end) = range.split_once('-')?;
            let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
            (perms == "r-xp" && Path::new(path) == exe && end > start).then_some((start, end - start))
        })
        .collect()
}

#[allow(unsafe_code)] // madvise(2), which std does not wrap.
fn advise(start: usize, len: usize) -> bool {
    // SAFETY: the range is a whole read-only, executable, private file mapping of this
    // program, as /proc/self/maps lists it (page-aligned); MADV_DONTNEED on it only unmaps
    // clean pages that the next access maps back from the same file.
    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

#[cfg(test)]
mod tests {
    use super::{code_mappings, give_back_code};
    use std::path::Path;

    #[test]
    fn only_the_programs_own_code_mappings_are_picked() {
        let maps = "\
55d0a0000000-55d0a0400000 r--p 00000000 fd:01 123 /usr/bin/hostwatch
55d0a0400000-55d0a4000000 r-xp 00400000 fd:01 123 /usr/bin/hostwatch
55d0a4000000-55d0a4100000 r--p 04000000 fd:01 123 /usr/bin/hostwatch
55d0a4100000-55d0a4108000 rw-p 04100000 fd:01 123 /usr/bin/hostwatch
7f0000000000-7f0000200000 r-xp 00028000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000300000-7f0000400000 rw-p 00000000 00:00 0
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]";
        let picked = code_mappings(maps, Path::new("/usr/bin/hostwatch"));
        assert_eq!(picked, vec![(0x55d0_a040_0000, 0x3c0_0000)]);
        assert_eq!(code_mappings(maps, Path::new("/usr/bin/other")), vec![]);
    }

    #[test]
    fn the_code_runs_on_after_its_pages_are_given_back() {
        let advised = give_back_code();
        assert!(advised > 0, "the test binary's own code is mapped r-xp");
        // Code called after the drop maps its pages back.
        assert_eq!(code_mappings("", Path::new("/x")), vec![]);
        assert!(give_back_code() >= advised);
    }
}
