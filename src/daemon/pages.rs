//! Giving back the pages of code and constants the agent ran once. The binary is about
//! 70 MB (DuckDB's C++ most of it), and the kernel maps 64 KiB of a file around each page
//! the agent touches; those pages stay counted in its resident set until memory runs short,
//! long after the code that touched them has finished: loading (DuckDB's C++ static
//! initialisers run all over the binary before `main`, the loader reads the C++ library's
//! symbol tables), the configuration and the store's migrations, the agent's set-up, a
//! rollup's DuckDB, a report. After each of these, and after each write to the store (every
//! flush interval), the agent drops its mappings of the read-only segments of every loaded
//! object (the program, the C and C++ libraries, the loader): the pages stay in the page
//! cache, and what runs again maps them back (minor faults, a few hundred per flush), so
//! its resident set is what it runs, not what it ever ran.
//!
//! The heap's free pages go back too (`malloc_trim`). Only the file's bytes of segments an
//! object's program headers load without write permission are dropped, and only where
//! `/proc/self/smaps` shows no private copy in their mapping: such pages were never written,
//! so `MADV_DONTNEED` changes nothing but residency, as the kernel's own reclaim of clean
//! file pages does. A private copy (text relocations, a zeroed tail, a debugger's
//! breakpoint, a uprobe perf or bpftrace placed) keeps its whole mapping resident; data
//! segments and the RELRO inside them are never touched. The walk runs under the loader's
//! lock (`dl_iterate_phdr`), so no object can be unloaded, and its range reused, between
//! finding a segment and dropping it. Under a debugger nothing is dropped at all.

use std::ffi::{CStr, c_int, c_void};

/// A program header, as much of it as decides what may be dropped.
#[derive(Clone, Copy, Debug)]
struct Segment {
    kind: u32,
    flags: u32,
    vaddr: usize,
    /// Bytes backed by the file (past them, zeroes the loader wrote).
    filesz: usize,
}

/// What the walk over loaded objects carries: the ranges never to drop, and the bytes it
/// dropped.
struct Walk {
    kept: Vec<(usize, usize)>,
    advised: usize,
}

/// Drops the resident pages of every loaded object's read-only segments, and hands the
/// heap's free pages back to the system (a rollup's DuckDB frees megabytes the allocator
/// would otherwise keep); returns the bytes advised.
#[allow(unsafe_code)] // dl_iterate_phdr(3), whose callback keeps its promise below.
pub fn give_back_code() -> usize {
    trim_heap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if status.lines().any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0")) {
        return 0;
    }
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return 0 };
    let mut walk = Walk { kept: private_copies(&smaps), advised: 0 };
    // SAFETY: `each_object` reads only what the loader hands it and writes only `walk`,
    // which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each_object), (&raw mut walk).cast()) };
    walk.advised
}

/// `dl_iterate_phdr`'s callback: drops one object's read-only segments outside the kept
/// ranges, adds their bytes to the [`Walk`] at `data`.
#[allow(unsafe_code)] // reads the loader's structures; madvise(2) through `advise`.
unsafe extern "C" fn each_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: the loader passes a valid `info` for the call; `data` is give_back_code's
    // `walk`.
    let (info, walk) = unsafe { (&*info, &mut *data.cast::<Walk>()) };
    // SAFETY: a non-null `dlpi_name` is a C string the loader keeps for the call.
    let name = if info.dlpi_name.is_null() { c"" } else { unsafe { CStr::from_ptr(info.dlpi_name) } };
    // The program (no name) and objects loaded from files; not the kernel's vDSO.
    if !(name.is_empty() || name.to_bytes().starts_with(b"/")) || info.dlpi_phdr.is_null() {
        return 0;
    }
    // SAFETY: the loader's `dlpi_phnum` headers at a non-null `dlpi_phdr`.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    let segments: Vec<Segment> = headers
        .iter()
        .map(|h| Segment { kind: h.p_type, flags: h.p_flags, vaddr: h.p_vaddr as usize, filesz: h.p_filesz as usize })
        .collect();
    for (start, len) in read_only_ranges(info.dlpi_addr as usize, &segments, page_size()) {
        if walk.kept.iter().any(|&(from, to)| start < to && from < start + len) {
            continue;
        }
        // SAFETY: whole pages of a file's bytes that this object loads without write
        // permission, in a mapping with no private copy, under the loader's lock, with no
        // debugger attached.
        if unsafe { advise(start, len) } {
            walk.advised += len;
        }
    }
    0
}

/// The whole pages of the file's bytes of each loaded segment without write permission,
/// at `base`.
fn read_only_ranges(base: usize, segments: &[Segment], page: usize) -> Vec<(usize, usize)> {
    segments
        .iter()
        .filter(|s| s.kind == libc::PT_LOAD && s.flags & libc::PF_W == 0)
        .filter_map(|s| {
            let start = (base + s.vaddr).next_multiple_of(page);
            let end = (base + s.vaddr + s.filesz) / page * page;
            end.checked_sub(start).filter(|&len| len > 0).map(|len| (start, len))
        })
        .collect()
}

/// `[start, end)` of each mapping in a `/proc/PID/smaps` text that holds a private copy of
/// a page (`Anonymous` or `Swap` above 0 kB): never to be dropped.
fn private_copies(smaps: &str) -> Vec<(usize, usize)> {
    let mut kept = Vec::new();
    let mut range = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        match first {
            "Anonymous:" | "Swap:" if fields.next() != Some("0") => kept.extend(range.take()),
            _ if !first.ends_with(':') => {
                range = first.split_once('-').and_then(|(start, end)| {
                    Some((usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?))
                });
            }
            _ => {}
        }
    }
    kept
}

#[allow(unsafe_code)] // sysconf(3), which std does not wrap.
fn page_size() -> usize {
    // SAFETY: no pointer; `_SC_PAGESIZE` is always defined on Linux.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

#[cfg(target_env = "gnu")]
#[allow(unsafe_code)] // malloc_trim(3), glibc's, which std does not wrap.
fn trim_heap() {
    // SAFETY: no pointer to get wrong; it only releases the free memory of every arena.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn trim_heap() {}

/// Unmaps the resident pages of `[start, start + len)`; the next access maps them back
/// from the file.
///
/// # Safety
/// The range must be a read-only private file mapping that nothing wrote to (code, constants):
/// the private copy of a written page would be lost.
#[allow(unsafe_code)] // madvise(2), which std does not wrap.
unsafe fn advise(start: usize, len: usize) -> bool {
    // SAFETY: the caller's promise: clean, read-only pages of a file, mapped back on access.
    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

#[cfg(test)]
mod tests {
    use super::{Segment, give_back_code, private_copies, read_only_ranges};

    const fn segment(kind: u32, flags: u32, vaddr: usize, filesz: usize) -> Segment {
        Segment { kind, flags, vaddr, filesz }
    }

    #[test]
    fn only_whole_pages_of_the_files_bytes_of_read_only_segments_are_picked() {
        let (r, rx, rw) = (libc::PF_R, libc::PF_R | libc::PF_X, libc::PF_R | libc::PF_W);
        let segments = [
            segment(libc::PT_PHDR, r, 0x40, 0x2a0),
            segment(libc::PT_LOAD, r, 0, 0x1800), // headers, constants: one whole page
            segment(libc::PT_LOAD, rx, 0x2000, 0x3000), // code: three pages
            segment(libc::PT_LOAD, rw, 0x5e00, 0x2400), // data (RELRO inside): never
            segment(libc::PT_GNU_RELRO, r, 0x5e00, 0x200), // the loader protects it after relocating
            segment(libc::PT_LOAD, r, 0x9100, 0x800), // less than a page: nothing
        ];
        let base = 0x7f00_0000_0000;
        assert_eq!(read_only_ranges(base, &segments, 0x1000), vec![(base, 0x1000), (base + 0x2000, 0x3000)]);
    }

    #[test]
    fn a_mapping_holding_a_private_copy_is_kept() {
        let smaps = "\
55d0a0000000-55d0a0400000 r--p 00000000 fd:01 123 /usr/bin/hostwatch
Rss:                 400 kB
Anonymous:             0 kB
Swap:                  0 kB
55d0a0400000-55d0a4000000 r-xp 00400000 fd:01 123 /usr/bin/hostwatch
Anonymous:             4 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me
7f0000000000-7f0000200000 r--p 00028000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
Swap:                  8 kB
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]
Anonymous:             0 kB";
        assert_eq!(
            private_copies(smaps),
            vec![(0x55d0_a040_0000, 0x55d0_a400_0000), (0x7f00_0000_0000, 0x7f00_0020_0000)],
            "a breakpoint in the code, a relocated page in swap",
        );
        assert_eq!(private_copies(""), vec![]);
    }

    #[test]
    fn the_code_runs_on_after_its_pages_are_given_back() {
        let advised = give_back_code();
        assert!(advised > 0, "the test binary's own code is loaded read-only");
        // Code that runs after the drop maps its pages back.
        assert_eq!(read_only_ranges(0, &[], 4096), vec![]);
        assert!(give_back_code() >= advised);
    }
}
