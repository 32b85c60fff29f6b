//! Generated requests against the OpenAPI document. Schemathesis (from PyPI) sends thousands
//! of made-up inputs, valid, invalid and hostile, to every operation, signed in as each role
//! and as nobody, and no answer may be a 5xx. Without schemathesis installed the test is
//! skipped and says why, unless `QUDAO_REQUIRE_SCHEMATHESIS` is set (as CI does).
//! `QUDAO_SCHEMATHESIS_SECONDS` sets the time given to each role (default 20).

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_databases;

on_both_databases!(no_generated_request_gets_a_server_error);

/// Runs schemathesis' command line, whatever directory pip put its script in.
const SCHEMATHESIS: &str = "import sys; from schemathesis.cli import schemathesis; schemathesis(sys.argv[1:], prog_name='st')";

fn schemathesis_installed() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import schemathesis.cli"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("QUDAO_REQUIRE_SCHEMATHESIS").is_none(),
            "QUDAO_REQUIRE_SCHEMATHESIS is set but schemathesis is not installed (pip install schemathesis)"
        );
        eprintln!("skipped: schemathesis is not installed (pip install schemathesis)");
    }
    found
}

/// Every `$ref` in the document names a schema it defines, so that no part is left untested.
fn unresolved_refs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let name = r.trim_start_matches("#/components/schemas/");
                    if doc["components"]["schemas"].get(name).is_none() {
                        out.push(r.clone());
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

async fn no_generated_request_gets_a_server_error(backend: Backend) {
    if !schemathesis_installed() {
        return;
    }
    // Thousands of requests from one address would soon be rate limited instead of tested.
    let Some(app) = spawn_app_with(backend, |s| s.rate_limits = false).await else {
        return;
    };
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    assert_eq!(unresolved_refs(&doc), Vec::<String>::new());
    let seconds: u64 = std::env::var("QUDAO_SCHEMATHESIS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    // The admin last: its run may disable the other accounts.
    for user in ["", "buyer", "coop-panshi", "official-kaijiang", "admin"] {
        run_as(&app, user, seconds).await;
    }
}

/// One bounded schemathesis run with `user`'s token (none when empty).
async fn run_as(app: &TestApp, user: &str, seconds: u64) {
    let token = if user.is_empty() {
        None
    } else {
        Some(app.login(user).await)
    };
    // Each run signs in as it is told; schemathesis must not register accounts of its own.
    std::fs::write(
        app.dir().join("schemathesis.toml"),
        "[auth]\nauto-signup = false\n",
    )
    .unwrap();
    let spec = format!("{}/api/v1/openapi.json", app.address);
    let secs = seconds.to_string();
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args(["-c", SCHEMATHESIS, "run", &spec])
        .args(["--checks", "not_a_server_error", "--max-time", &secs])
        .args(["--workers", "1", "--request-timeout", "10"])
        // Signing out would end the run's own token; the stream of notices never ends.
        .args(["--exclude-path", "/api/v1/auth/logout"])
        .args(["--exclude-path", "/api/v1/notifications/stream"])
        // It reads its settings there and keeps its example database there, not in the
        // repository.
        .current_dir(app.dir())
        .kill_on_drop(true);
    if let Some(t) = &token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let reports = app.dir().join(format!("reports-{user}"));
    cmd.args(["--report", "junit", "--report-dir"])
        .arg(&reports);
    let out = tokio::time::timeout(Duration::from_secs(seconds * 4 + 60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis as {user:?} overran its time"))
        .expect("running schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    let who = if user.is_empty() { "nobody" } else { user };
    let junit = std::fs::read_dir(&reports)
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .unwrap_or_else(|| {
            panic!(
                "schemathesis as {who} wrote no report:\n{report}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        junit.contains("<testsuites errors=") && junit.contains(" failures=\"0\""),
        "schemathesis as {who} found server errors:\n{report}"
    );
    // Errors of its own (a crash inside its generator) are reported and tolerated; anything
    // about the server (unreachable, unresponsive, a schema it cannot use) is not.
    let server_errors = error_titles(&report)
        .into_iter()
        .filter(|t| t != "Runtime Error")
        .collect::<Vec<_>>();
    assert!(
        server_errors.is_empty(),
        "schemathesis as {who} met {server_errors:?}:\n{report}"
    );
    if !out.status.success() {
        eprintln!(
            "schemathesis as {who} had errors of its own: {:?}",
            error_titles(&report)
        );
    }
    assert_eq!(
        app.get("/healthz", None).await.status,
        reqwest::StatusCode::OK
    );
    let summary: String = report
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("schemathesis as {who}:\n{summary}");
}

/// The titles of the errors in a schemathesis report: the line after each operation's heading
/// in its ERRORS section.
fn error_titles(report: &str) -> Vec<String> {
    let mut lines = report
        .lines()
        .skip_while(|l| !(l.starts_with('=') && l.contains(" ERRORS ")))
        .skip(1)
        .take_while(|l| !l.starts_with('='));
    let mut titles = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('_')
            && let Some(title) = lines.by_ref().find(|l| !l.trim().is_empty())
        {
            titles.push(title.trim().to_string());
        }
    }
    titles
}
