//! A real headless Chromium, driven over the W3C WebDriver protocol through chromedriver,
//! for tests of what people see in their browser. Without chromedriver the tests are skipped
//! and say so, unless `QUDAO_REQUIRE_BROWSER` is set (as CI does), when they fail.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process with one headless browser session.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium `width` pixels wide, or `None` (saying
    /// why) when this machine has no chromedriver and CI does not require one.
    pub async fn start(width: u32) -> Option<Browser> {
        let port = crate::helpers::free_port();
        let driver = match Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                assert!(
                    std::env::var_os("QUDAO_REQUIRE_BROWSER").is_none(),
                    "QUDAO_REQUIRE_BROWSER is set but chromedriver does not run: {e}"
                );
                eprintln!(
                    "skipped: chromedriver is not installed (apt-get install chromium chromium-driver), so the browser test did not run"
                );
                return None;
            }
        };
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // Finding an element waits for it a while, as a page after a click may still load.
            "timeouts": {"implicit": 5000},
            "goog:chromeOptions": {"args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},900"), "--lang=zh-CN",
            ]},
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"))
            .to_string();
        Some(Browser {
            driver,
            http,
            session: format!("{base}/session/{session}"),
        })
    }

    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, Value> {
        let req = self.http.request(method, format!("{}{path}", self.session));
        let req = if body.is_null() { req } else { req.json(&body) };
        let r: Value = req.send().await.unwrap().json().await.unwrap();
        if r["value"]["error"].is_string() {
            return Err(r["value"].clone());
        }
        Ok(r["value"].clone())
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.try_command(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// Makes the window `width` by `height` pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    /// Types into an element.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Clicks an element.
    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            json!({}),
        )
        .await;
    }

    /// The visible text of an element; found again if the page changed under it.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            // A page being replaced (a form's answer loading) may have no such element yet.
            let found = self
                .try_command(
                    reqwest::Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            let el = match found {
                Ok(v) => v[ELEMENT].as_str().unwrap_or_default().to_string(),
                Err(e) if e["error"] == "no such element" => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => panic!("WebDriver /element {css}: {e}"),
            };
            match self
                .try_command(
                    reqwest::Method::GET,
                    &format!("/element/{el}/text"),
                    Value::Null,
                )
                .await
            {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                // The page was replaced between finding the element and reading it (Chromium
                // says so either way).
                Err(e)
                    if e["error"] == "stale element reference"
                        || e["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("does not belong to the document")) =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("WebDriver text of {css}: {e}"),
            }
        }
        let url = self.url().await;
        let shown = self
            .try_command(
                reqwest::Method::POST,
                "/execute/sync",
                json!({"script": "return document.title + ' | ' + (document.querySelector('main') || document.body).innerText.slice(0, 400);", "args": []}),
            )
            .await
            .unwrap_or_else(|e| e);
        panic!("{css} never settled on {url}; the page shows {shown}")
    }

    /// Empties an input.
    pub async fn clear(&self, css: &str) {
        let el = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            json!({}),
        )
        .await;
    }

    /// Runs `script` (a function body that may `await`) in the page and returns its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/async",
            json!({"script": format!(
                "const done = arguments[arguments.length - 1]; (async () => {{ {script} }})().then(done, e => done(String(e)));"
            ), "args": args}),
        )
        .await
    }

    /// Saves a PNG of the page as `dir/name.png`.
    pub async fn screenshot(&self, dir: &std::path::Path, name: &str) {
        use base64::Engine;
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits up to 15 s until the address contains `needle`; returns the address.
    pub async fn wait_for_url(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if url.contains(needle) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the page never went to {needle:?}; it is at {url:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to 15 s until the text of `css` contains `needle`; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {needle:?}; it shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Loads `url` again until `css` shows `needle` (figures the server works out in the
    /// background, within moments), giving up after 15 s; returns the element's text.
    pub async fn reload_until(&self, url: &str, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            self.goto(url).await;
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} at {url} never showed {needle:?}; it shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (closing Chromium), then stops chromedriver.
        let session = self.session.clone();
        crate::helpers::finish_aside(async move {
            reqwest::Client::new().delete(session).send().await.ok();
        });
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}
