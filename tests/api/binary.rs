//! The `qudao` binary as an operator runs it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{qudao, served_url, spawn_serve};

#[test]
fn serve_prints_its_url_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(&mut qudao(dir.path()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let url = served_url(&mut stdout);
    let rest: Vec<String> = stdout.lines().take(2).map(|l| l.unwrap()).collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("coop-zilong") && l.contains("official-sichuan")),
        "{rest:?}"
    );
    assert!(
        !rest.iter().any(|l| l.contains("qudao-demo")),
        "serve printed the demo password: {rest:?}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let r = reqwest::get(format!("{url}/api/v1/listings"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["total"].as_u64().unwrap() >= 10);
        reqwest::get(format!("{url}/readyz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    assert!(
        dir.path().join("qudao.db").exists(),
        "the embedded database lives in the data dir"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut waited = 0;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
        assert!(waited < 100, "qudao did not stop within 10 s of SIGTERM");
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn migrate_and_seed_demo_work_as_subcommands_and_demo_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = qudao(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));

    let seeded = qudao(dir.path()).arg("seed-demo").output().unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("demo data loaded"));
    assert!(
        String::from_utf8_lossy(&seeded.stdout).contains("qudao-demo"),
        "seed-demo tells the password of the accounts it made"
    );
    let again = qudao(dir.path()).arg("seed-demo").output().unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("not loaded"),
        "seeding twice must not duplicate"
    );
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("qudao-demo"),
        "no password when no account was made"
    );

    let empty = tempfile::tempdir().unwrap();
    let mut child = qudao(empty.path())
        .env("QUDAO_DEMO", "false")
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = served_url(&mut BufReader::new(child.stdout.take().unwrap()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (listings, login) = rt.block_on(async {
        let l: serde_json::Value = reqwest::get(format!("{url}/api/v1/listings"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let login = reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": "qudao-demo"}))
            .send()
            .await
            .unwrap()
            .status();
        (l, login)
    });
    child.kill().ok();
    child.wait().ok();
    assert_eq!(listings["total"], 0);
    assert_eq!(login, 401, "no demo accounts with QUDAO_DEMO=false");
}

#[test]
fn a_bad_database_url_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = qudao(dir.path())
        .env("QUDAO_DATABASE_URL", "mysql://nope")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("QUDAO_DATABASE_URL must start with sqlite:// or postgres://")
    );
}

/// With `QUDAO_LOG_FORMAT=json`, each answered request is one JSON log line carrying its
/// request id: the caller's `x-request-id` when it sends one, else a new one, echoed back.
#[test]
fn json_logs_carry_the_request_id_that_the_answer_echoes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(qudao(dir.path()).env("QUDAO_LOG_FORMAT", "json").env(
        "QUDAO_LOG",
        "warn,tower_http=info,qudao::http::middleware=info",
    ));
    // Start-up lines, the URL and the demo accounts, then request logs: all of them JSON.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the URL is logged"
        );
        log.push_str(&line);
        let line: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if let Some(url) = line["fields"]["message"]
            .as_str()
            .and_then(|m| m.split("running at ").nth(1))
        {
            break url.trim().to_string();
        }
    };

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (given, made) = rt.block_on(async {
        let client = reqwest::Client::new();
        let r = client
            .get(format!("{url}/api/v1/listings"))
            .header("x-request-id", "qudao-test-42")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let given = r.headers()["x-request-id"].to_str().unwrap().to_string();
        let r = client.get(format!("{url}/healthz")).send().await.unwrap();
        let made = r.headers()["x-request-id"].to_str().unwrap().to_string();
        (given, made)
    });
    assert_eq!(given, "qudao-test-42");
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    stdout.read_to_string(&mut log).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(log.contains("running at "), "{log}");
    assert!(
        !log.contains("qudao-demo"),
        "the demo password reached the log: {log}"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("coop-zilong"))),
        "{log}"
    );
    let answered = |id: &str| {
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == id && l["fields"]["status"] == 200)
    };
    assert!(answered("qudao-test-42"), "{log}");
    assert!(answered(&made), "{log}");
}

/// SIGTERM with a notification stream open: the stream gets a last `reconnect` event and
/// ends, and the process is gone at once instead of waiting for the stream to close.
#[test]
fn sigterm_ends_open_streams_with_a_last_event_and_exits_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(&mut qudao(dir.path()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let url = served_url(&mut stdout);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stream = rt.block_on(async {
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "buyer", "password": "qudao-demo"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_string();
        let mut stream = client
            .get(format!("{url}/api/v1/notifications/stream"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        // The first event (the unread count) says the stream is open.
        let first = stream.chunk().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("unread"));
        stream
    });

    let signalled = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let rest = rt.block_on(async move {
        let mut stream = stream;
        let mut rest = String::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
        rest
    });
    assert!(rest.contains("event: reconnect"), "{rest}");
    assert!(rest.contains("retry: 500"), "{rest}");
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "qudao did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    // The stream no longer holds the stop up to the old 20 s drain.
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        signalled.elapsed()
    );
}
