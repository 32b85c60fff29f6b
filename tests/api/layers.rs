//! The dependency rule, read from the source: the capabilities and the shared kernel never reach
//! the HTTP edge. Only `src/http/` and the process's entry points (start-up, `main`, the fuzzing
//! entry points) may name axum, the app state or anything under `http::`. And no top-level module
//! reaches back to itself through others.

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

/// The top-level modules each file of `root/src` names with `crate::…`, per top-level module.
fn module_edges(
    root: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top = |path: &Path| {
        let rel = path.strip_prefix(&src).expect("under src/");
        let head = rel.iter().next().expect("a path").to_string_lossy();
        head.trim_end_matches(".rs").to_string()
    };
    let mut edges: std::collections::BTreeMap<_, std::collections::BTreeSet<_>> =
        Default::default();
    for file in files {
        let from = top(&file);
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        for line in text.lines() {
            let mut rest = code_of(line);
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let to: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !to.is_empty() && to != from {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

/// A module that reaches back to itself through others, if any: the path of the cycle.
fn a_cycle(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == at) {
            let mut cycle = path[start..].to_vec();
            cycle.push(at.to_string());
            return Some(cycle);
        }
        if !done.insert(at.to_string()) {
            return None;
        }
        path.push(at.to_string());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(c) = walk(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = Default::default();
    edges
        .keys()
        .find_map(|m| walk(m, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_reaches_back_to_itself_through_others() {
    let edges = module_edges(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(edges.get("orders").is_some_and(|e| e.contains("outbox")));
    assert_eq!(
        a_cycle(&edges),
        None,
        "top-level modules depend on each other in a cycle; let one side hear of the other through the outbox"
    );
}

#[test]
fn the_cycle_rule_finds_two_capabilities_that_use_each_other() {
    let tree = tempfile::tempdir().unwrap();
    for (dir, file, text) in [
        ("src/orders", "checkout.rs", "use crate::stats::facts;\n"),
        (
            "src/stats",
            "facts.rs",
            "// crate::catalog in a comment\nuse crate::orders::entity::order;\n",
        ),
        ("src/catalog", "mod.rs", "use crate::error::AppError;\n"),
    ] {
        std::fs::create_dir_all(tree.path().join(dir)).unwrap();
        std::fs::write(tree.path().join(dir).join(file), text).unwrap();
    }
    let edges = module_edges(tree.path());
    assert!(!edges["stats"].contains("catalog"));
    assert_eq!(
        a_cycle(&edges),
        Some(vec!["orders".into(), "stats".into(), "orders".into()])
    );
}
