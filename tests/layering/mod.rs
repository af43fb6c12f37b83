//! The module layering of `../shared/architecture.md`, read from the source: data flows one way
//! (source → transform → record → destination, wired by pipeline), so a module may not import
//! the ones downstream of it or beside it. Test code (`#[cfg(test)]` modules, `tests.rs`) is
//! exempt: it may drive the twin or read a database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (module, modules it must not import).
const RULES: &[(&str, &[&str])] = &[
    (
        "source",
        &[
            "destination",
            "pipeline",
            "transform",
            "schema_sync",
            "twin",
        ],
    ),
    (
        "model",
        &[
            "source",
            "destination",
            "pipeline",
            "transform",
            "record",
            "schema_sync",
            "state",
            "report",
            "twin",
            "plan",
        ],
    ),
    (
        "record",
        &["source", "destination", "pipeline", "transform", "twin"],
    ),
    ("transform", &["source", "destination", "pipeline", "twin"]),
    (
        "destination",
        &["source", "pipeline", "schema_sync", "twin", "transform"],
    ),
    ("schema_sync", &["source", "pipeline", "twin"]),
    ("state", &["pipeline", "destination", "source", "twin"]),
    ("report", &["pipeline", "destination", "source", "twin"]),
    (
        "twin",
        &[
            "destination",
            "source",
            "transform",
            "pipeline",
            "schema_sync",
        ],
    ),
];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/source/records.rs` → `source`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// The crate modules a file names (`crate::x`, `crate::{x, y}`), outside its test module.
fn imports(text: &str) -> BTreeSet<String> {
    let code = match text.find("\n#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let name = ident(part.trim());
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                found.insert(ident(rest));
            }
        }
    }
    found
}

/// Every (file, forbidden module) pair in the tree.
fn breaks(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let module = module_of(src, &file);
        let Some((_, forbidden)) = RULES.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read file");
        for name in imports(&text) {
            if forbidden.contains(&name.as_str()) {
                out.push(format!(
                    "{} ({module}) imports {name}",
                    file.strip_prefix(src).unwrap().display()
                ));
            }
        }
    }
    out
}

#[test]
fn no_module_imports_one_downstream_of_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = breaks(&src);
    assert!(
        found.is_empty(),
        "layering breaks:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_layering_check_sees_a_forbidden_import() {
    // The check itself must be able to fail: a source file naming the destination is caught,
    // in both import forms, and a test module is not read.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("source")).unwrap();
    std::fs::write(
        src.join("source/a.rs"),
        "use crate::{model, destination::Target};\nfn f() { crate::pipeline::run(); }\n#[cfg(test)]\nmod tests { use crate::twin; }\n",
    )
    .unwrap();
    let found = breaks(&src);
    assert_eq!(
        found,
        [
            "source/a.rs (source) imports destination",
            "source/a.rs (source) imports pipeline"
        ]
    );
}

/// Issue 15's size rule: no file over 700 lines outside tests, the twin, the fixture generator
/// and `src/bin`, so that no change has to cross a file nobody can hold in their head.
#[test]
fn no_file_outside_tests_the_twin_the_generator_and_bins_is_over_700_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let exempt = |rel: &Path| {
        rel.starts_with("twin")
            || rel.starts_with("bin")
            || rel == Path::new("fixture/generate.rs")
            || rel.file_name().is_some_and(|n| n == "tests.rs")
    };
    let mut long: Vec<String> = files
        .iter()
        .filter(|f| !exempt(f.strip_prefix(&src).unwrap()))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > 700).then(|| {
                format!(
                    "{} ({lines} lines)",
                    f.strip_prefix(&src).unwrap().display()
                )
            })
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "files over 700 lines:\n  {}",
        long.join("\n  ")
    );
}
