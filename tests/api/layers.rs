//! The dependency rule, read from the source: the capabilities and the shared kernel never reach
//! the HTTP edge. Only `src/http/` and the process's entry points (start-up, `main`, the fuzzing
//! entry points) may name axum, the app state or anything under `http::`.

use std::path::{Path, PathBuf};

/// Files allowed to depend on the edge: the edge itself and the places that assemble it.
const EDGE: [&str; 4] = [
    "src/http/",
    "src/startup.rs",
    "src/main.rs",
    "src/fuzzing.rs",
];

/// What an inner module may not name: the web framework, its server stack and the edge.
const FORBIDDEN: [&str; 7] = [
    "axum",
    "tower_http",
    "hyper",
    "utoipa_axum",
    "crate::http",
    "AppState",
    "http::",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line without its comment (`//`, `///`, `//!`), or nothing for a comment line.
fn code_of(line: &str) -> &str {
    let line = line.trim_start();
    if line.starts_with("//") {
        return "";
    }
    match line.find("//") {
        // A `//` inside a string ("http://…") is part of the code.
        Some(at) if line[..at].matches('"').count().is_multiple_of(2) => &line[..at],
        _ => line,
    }
}

/// Every place in an inner module that names the edge: (file, line number, line).
fn breaches(root: &Path) -> Vec<(String, usize, String)> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let name = file
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        if EDGE.iter().any(|e| name.starts_with(e)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            if FORBIDDEN.iter().any(|f| code.contains(f)) {
                found.push((name.clone(), n + 1, line.trim().to_string()));
            }
        }
    }
    found
}

#[test]
fn capabilities_never_reach_the_http_edge() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = breaches(root);
    assert!(
        found.is_empty(),
        "inner modules name the HTTP edge; move the HTTP part under src/http/:\n{}",
        found
            .iter()
            .map(|(f, n, l)| format!("  {f}:{n}: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_rule_finds_a_capability_that_imports_axum() {
    // A copy of the tree with one capability reaching for axum and the app state.
    let tree = tempfile::tempdir().unwrap();
    let orders = tree.path().join("src/orders");
    let edge = tree.path().join("src/http");
    std::fs::create_dir_all(&orders).unwrap();
    std::fs::create_dir_all(&edge).unwrap();
    std::fs::write(
        orders.join("checkout.rs"),
        "//! Checkout; see https://example.org for axum.\nuse axum::Json;\nfn f(s: &crate::http::state::AppState) {}\nlet url = \"http://x\"; // fine\n",
    )
    .unwrap();
    std::fs::write(edge.join("mod.rs"), "use axum::Router;\n").unwrap();
    let found = breaches(tree.path());
    let lines: Vec<_> = found.iter().map(|(f, n, _)| (f.as_str(), *n)).collect();
    assert_eq!(
        lines,
        [("src/orders/checkout.rs", 2), ("src/orders/checkout.rs", 3)]
    );
}
