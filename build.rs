//! Link flags for the `hostwatch` binary; nothing is generated.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        // The agent's resident memory is mostly its own binary's pages, and the kernel
        // maps 64 KiB around each page a process touches in a file. DuckDB's static
        // initialisers run at every start; scattered through 50 MB of code, they made about
        // 3 MB resident. Kept in their own `.text.startup` section they share a few pages.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,keep-text-section-prefix");
    }
}
