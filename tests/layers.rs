//! The module map in `src/lib.rs` is the layering: each module uses only those listed
//! before it. This test reads the map and every file under `src/`, so a new edge that
//! points the other way (and with it the first import cycle) cannot slip in.

use std::collections::BTreeSet;
use std::path::Path;

/// The modules of lib.rs's map (`//! - [`name`]: ...`), in order.
fn layers(lib: &str) -> Vec<String> {
    lib.lines().filter_map(|l| l.strip_prefix("//! - [`")?.split_once('`').map(|(name, _)| name.to_owned())).collect()
}

/// The top-level modules `text` names as `crate::x` or `crate::{x, ...}`, outside comments
/// and the trailing `#[cfg(test)] mod` (tests may use anything).
fn uses(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
    let mut found = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let name: String = name.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`, with the top-level module it belongs to.
fn files(src: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(src, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src).unwrap();
            let top = rel.iter().next().unwrap().to_str().unwrap().trim_end_matches(".rs").to_owned();
            out.push((top, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_module_uses_only_those_before_it_in_the_module_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let order = layers(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut all = Vec::new();
    files(&src, &src, &mut all);
    let tops: BTreeSet<&str> = all.iter().map(|(t, _)| t.as_str()).filter(|t| !["lib", "main"].contains(t)).collect();
    let mapped: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    assert_eq!(tops, mapped, "lib.rs's module map must list every module once");

    let rank = |m: &str| order.iter().position(|o| o == m);
    let mut wrong = Vec::new();
    for (top, text) in all.iter().filter(|(t, _)| rank(t).is_some()) {
        for used in uses(text) {
            if used != *top && rank(&used).is_some_and(|r| Some(r) > rank(top)) {
                wrong.push(format!("{top} uses {used}, listed after it"));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports against the module map:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_grouped_and_nested_paths_and_skips_comments_and_tests() {
    let text = "use crate::{store::Store, metrics};\nlet x = crate::units::secs(d);\n\
                // crate::app in a comment\n#[cfg(test)]\nmod tests { use crate::daemon; }\n";
    let got: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(got, ["metrics", "store", "units"]);
}
