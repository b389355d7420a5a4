//! Link flags for the `hostwatch` binary; nothing is generated. Both keep the pages the
//! agent touches at every start few: its resident memory is mostly its own binary's
//! pages, and the kernel maps 64 KiB around each page a process touches in a file.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    // DuckDB's static initialisers run at every start; scattered through 50 MB of code
    // they made about 3 MB resident. Kept in their own `.text.startup` section they share
    // a few pages.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,keep-text-section-prefix");
    // The loader reads every relocation at start: 2 MB of them in the usual format, a few
    // KB packed. Packed relocations need glibc 2.36 where the binary runs, so only a host
    // that has it (where `cargo install` or the .deb build runs) packs them, and the .deb
    // declares libc6 >= 2.36 (Cargo.toml; a test checks it).
    if host_glibc().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The build host's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn host_glibc() -> Option<(u32, u32)> {
    let out = Command::new("getconf").arg("GNU_LIBC_VERSION").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    Some((major.parse().ok()?, minor.split('.').next()?.parse().ok()?))
}
