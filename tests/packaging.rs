//! Installing like a real tool: `--version` names the databases, completions and man pages
//! come from the command line's definition, and the .deb holds everything and runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{hostwatch, require, text};

const SUBCOMMANDS: &[&str] =
    &["run", "status", "series", "rollup", "query", "trend", "export", "config", "doctor", "service", "completions"];

#[test]
fn version_names_hostwatch_duckdb_and_sqlite() {
    for flag in ["--version", "-V"] {
        let out = hostwatch(&[flag]);
        let (stdout, _) = text(&out);
        assert!(out.status.success());
        let want = format!("hostwatch {} (DuckDB v", env!("CARGO_PKG_VERSION"));
        assert!(stdout.starts_with(&want), "{stdout}");
        assert!(stdout.contains(&format!(", SQLite {})\n", rusqlite::version())), "{stdout}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = hostwatch(&["completions", shell]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{shell}: {stderr}");
        for sub in SUBCOMMANDS {
            assert!(stdout.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hostwatch.bash");
    std::fs::write(&script, hostwatch(&["completions", "bash"]).stdout).unwrap();
    let parsed = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(parsed.status.success(), "bash -n: {}", text(&parsed).1);
}

#[test]
fn the_man_page_lists_every_subcommand_and_man_dir_writes_one_page_each() {
    let out = hostwatch(&["man"]);
    let (page, _) = text(&out);
    assert!(out.status.success());
    assert!(page.contains(".TH hostwatch 1"), "{page}");
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(
            page.contains(&format!(".SH {section}")) || page.contains(&format!(".SH \"{section}\"")),
            "no {section}"
        );
    }
    assert!(!page.contains("hostwatch\\-help(1)"), "a page for `help` is named but not written");
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("hostwatch\\-{sub}(1)")), "the man page lacks {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(hostwatch(&["man", "--dir", dir.path().to_str().unwrap()]).status.success());
    let main_page = std::fs::read_to_string(dir.path().join("hostwatch.1")).unwrap();
    assert!(main_page.contains(".SH \"EXIT STATUS\""), "{main_page}");
    let install = std::fs::read_to_string(dir.path().join("hostwatch-service-install.1")).unwrap();
    assert!(install.contains("\\-\\-dry\\-run"), "{install}");
}

/// The target dir holding the binary under test (`<target>/debug/hostwatch`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_hostwatch")).ancestors().nth(2).unwrap().to_owned()
}

#[test]
fn the_deb_holds_binary_units_man_pages_and_completions_and_its_binary_runs() {
    let cargo_deb = Command::new("cargo").args(["deb", "--version"]).output().is_ok_and(|o| o.status.success());
    if !require(cargo_deb, "cargo-deb (cargo install cargo-deb --locked)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The debug binary these tests run: a release build would compile DuckDB once more.
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/build-deb"))
        .args(["--profile", "dev", "--no-build", "--output"])
        .arg(dir.path())
        .args(["--", "--fast"])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "build-deb: {stderr}");
    let deb = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb in the output dir");
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("hostwatch_{}-1_", env!("CARGO_PKG_VERSION"))), "{name}");

    let listing = Command::new("dpkg-deb").arg("-c").arg(&deb).output().unwrap();
    let (listing, _) = text(&listing);
    for file in [
        "./usr/bin/hostwatch",
        "./usr/lib/systemd/user/hostwatch.service",
        "./usr/lib/systemd/system/hostwatch.service",
        "./usr/share/man/man1/hostwatch.1.gz",
        "./usr/share/man/man1/hostwatch-service-install.1.gz",
        "./usr/share/doc/hostwatch/config.toml.example",
        "./usr/share/doc/hostwatch/docs/ALERTS.md",
        "./usr/share/doc/hostwatch/docs/ARCHIVE.md",
        "./usr/share/bash-completion/completions/hostwatch",
        "./usr/share/zsh/vendor-completions/_hostwatch",
        "./usr/share/fish/vendor_completions.d/hostwatch.fish",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(&format!(" {file}"))), "{file} missing:\n{listing}");
    }

    let root = dir.path().join("root");
    assert!(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root).status().unwrap().success());
    let version = Command::new(root.join("usr/bin/hostwatch")).arg("--version").output().unwrap();
    assert!(text(&version).0.starts_with(&format!("hostwatch {} (DuckDB", env!("CARGO_PKG_VERSION"))));
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/user/hostwatch.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/hostwatch run\n"), "the packaged unit runs the packaged binary");
    // Packed relocations (build.rs, on a glibc 2.36 host) must show in the package's
    // dependencies, so an older system refuses the package instead of a broken binary.
    let needs = Command::new("readelf").arg("-V").arg(root.join("usr/bin/hostwatch")).output().unwrap();
    let depends = Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg("Depends").output().unwrap();
    let depends = text(&depends).0;
    assert!(depends.contains("libc6 (>= "), "{depends}");
    if text(&needs).0.contains("GLIBC_ABI_DT_RELR") {
        assert!(depends.contains("libc6 (>= 2.36)"), "{depends}");
    }
}
