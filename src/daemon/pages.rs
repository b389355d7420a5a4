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
//! The heap's free pages go back too (`malloc_trim`). Only segments the object's own program
//! headers load without write permission are dropped, from an object that has no text
//! relocations: their pages are never written, so `MADV_DONTNEED` changes nothing but
//! residency, as the kernel's own reclaim of clean file pages does. Writable and relocated
//! data (the data segments, RELRO inside them) would lose their contents and are never
//! touched. The walk runs under the loader's lock (`dl_iterate_phdr`), so no object can be
//! unloaded, and its address range reused, between finding a segment and dropping it.

use std::ffi::{CStr, c_int, c_void};

/// A program header, as much of it as decides what may be dropped.
#[derive(Clone, Copy, Debug)]
struct Segment {
    kind: u32,
    flags: u32,
    vaddr: usize,
    memsz: usize,
}

/// `d_tag` values of the dynamic section that say an object writes into its code.
const DT_NULL: u64 = 0;
const DT_TEXTREL: u64 = 22;
const DT_FLAGS: u64 = 30;
const DF_TEXTREL: u64 = 0x4;

/// Drops the resident pages of every loaded object's read-only segments, and hands the
/// heap's free pages back to the system (a rollup's DuckDB frees megabytes the allocator
/// would otherwise keep); returns the bytes advised. Under a debugger nothing is dropped:
/// its breakpoints live in private copies of code pages, which the drop would discard (as
/// it would uprobes that perf or bpftrace placed in hostwatch).
#[allow(unsafe_code)] // dl_iterate_phdr(3), whose callback keeps its promise below.
pub fn give_back_code() -> usize {
    trim_heap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if status.lines().any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0")) {
        return 0;
    }
    let mut advised = 0usize;
    // SAFETY: `each_object` reads only what the loader hands it and writes only `advised`,
    // which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each_object), (&raw mut advised).cast()) };
    advised
}

/// `dl_iterate_phdr`'s callback: drops one object's read-only segments, adds their bytes to
/// the `usize` at `data`.
#[allow(unsafe_code)] // reads the loader's structures; madvise(2) through `advise`.
unsafe extern "C" fn each_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: the loader passes a valid `info` for the call; `data` is give_back_code's
    // `advised`.
    let (info, advised) = unsafe { (&*info, &mut *data.cast::<usize>()) };
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
        .map(|h| Segment { kind: h.p_type, flags: h.p_flags, vaddr: h.p_vaddr as usize, memsz: h.p_memsz as usize })
        .collect();
    let base = info.dlpi_addr as usize;
    // SAFETY: `segments` are this loaded object's headers and `base` its load address.
    if unsafe { relocates_text(base, &segments) } {
        return 0;
    }
    let page = page_size();
    for (start, len) in read_only_ranges(base, &segments, page) {
        // SAFETY: a whole-page range inside a segment this object loads without write
        // permission and never relocates, under the loader's lock, with no debugger attached.
        if unsafe { advise(start, len) } {
            *advised += len;
        }
    }
    0
}

/// The whole pages of each loaded segment without write permission, at `base`.
fn read_only_ranges(base: usize, segments: &[Segment], page: usize) -> Vec<(usize, usize)> {
    segments
        .iter()
        .filter(|s| s.kind == libc::PT_LOAD && s.flags & libc::PF_W == 0)
        .filter_map(|s| {
            let start = (base + s.vaddr).next_multiple_of(page);
            let end = (base + s.vaddr + s.memsz) / page * page;
            end.checked_sub(start).filter(|&len| len > 0).map(|len| (start, len))
        })
        .collect()
}

/// Whether the object's dynamic section asks the loader to write into its read-only
/// segments (text relocations): then their pages hold private, relocated copies.
///
/// # Safety
/// `segments` must be a loaded object's program headers and `base` its load address.
#[allow(unsafe_code)] // reads the object's dynamic section, which the loader mapped.
unsafe fn relocates_text(base: usize, segments: &[Segment]) -> bool {
    let Some(dynamic) = segments.iter().find(|s| s.kind == libc::PT_DYNAMIC) else { return false };
    let entries = (base + dynamic.vaddr) as *const [u64; 2];
    for i in 0..dynamic.memsz / size_of::<[u64; 2]>() {
        // SAFETY: the caller's promise: `i` is inside the mapped dynamic section.
        match unsafe { entries.add(i).read_unaligned() } {
            [DT_NULL, _] => return false,
            [DT_TEXTREL, _] => return true,
            [DT_FLAGS, flags] if flags & DF_TEXTREL != 0 => return true,
            _ => {}
        }
    }
    false
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
    use super::{DF_TEXTREL, DT_FLAGS, DT_TEXTREL, Segment, give_back_code, read_only_ranges, relocates_text};

    const fn segment(kind: u32, flags: u32, vaddr: usize, memsz: usize) -> Segment {
        Segment { kind, flags, vaddr, memsz }
    }

    #[test]
    fn only_whole_pages_of_loaded_segments_without_write_permission_are_picked() {
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
        assert_eq!(read_only_ranges(base, &segments, 0x1000), vec![(base, 0x1000), (base + 0x2000, 0x3000)],);
    }

    #[test]
    #[allow(unsafe_code)] // the dynamic sections are arrays of this test's own.
    fn an_object_with_text_relocations_is_left_alone() {
        let plain: [[u64; 2]; 3] = [[1, 7], [DT_FLAGS, 0x8], [0, 0]];
        let textrel: [[u64; 2]; 3] = [[1, 7], [DT_TEXTREL, 0], [0, 0]];
        let flagged: [[u64; 2]; 2] = [[DT_FLAGS, DF_TEXTREL | 0x8], [0, 0]];
        let at = |d: &[[u64; 2]]| [segment(libc::PT_DYNAMIC, libc::PF_R, d.as_ptr() as usize, size_of_val(d))];
        // SAFETY: each segment is an array above, at base 0.
        unsafe {
            assert!(!relocates_text(0, &at(&plain)));
            assert!(relocates_text(0, &at(&textrel)));
            assert!(relocates_text(0, &at(&flagged)));
            assert!(!relocates_text(0, &[]));
        }
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
