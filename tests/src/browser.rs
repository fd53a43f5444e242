//! A headless Chromium for the console's tests, driven through Debian's `chromedriver` with the
//! W3C WebDriver protocol (JSON over HTTP, spoken here with the harness's own `reqwest`: the
//! handful of commands the tests need do not justify a WebDriver crate and its dependencies).
//!
//! Elements are found as a user finds them, by accessible name: a field by its label's text, a
//! button or link by its text, and each is checked against the name Chromium's accessibility
//! tree computes. A name must match exactly one visible element, and no other visible element
//! of the kind may merely contain it, so two controls that a person (or a test matching names
//! by substring) could confuse fail the test. Every lookup waits for its condition with a
//! deadline; nothing sleeps a fixed time.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` (or `HERALD_CHROMIUM` and
//! `HERALD_CHROMEDRIVER`) [`Browser::start`] says "skipped: …" on stderr and yields `None`, except
//! under `CI=true`, where it fails the test: CI installs both (`scripts/deps.sh`).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// How long any lookup or condition may take.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The key W3C WebDriver names element references with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Finds the visible controls of a kind whose accessible name contains the wanted one.
/// Arguments: kind (`field`, `button`, `link`), name, optional heading text to search under
/// (the nearest `article` or `section` of the one heading with that text).
const FIND: &str = r#"
const [kind, name, scope] = arguments;
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim().toLowerCase();
const want = norm(name);
const visible = (el) => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
let root = document;
if (scope) {
  const heads = [...document.querySelectorAll('h1,h2,h3')].filter((x) => norm(x.textContent) === norm(scope));
  if (heads.length !== 1) return { names: [`${heads.length} headings ${scope}`], found: null };
  root = heads[0].closest('article,section') || document;
}
let all;
if (kind === 'field') {
  all = [...root.querySelectorAll('label')].map((l) => [norm(l.textContent), l.control]);
} else {
  all = [...root.querySelectorAll(kind === 'button' ? 'button' : 'a[href]')].map((el) => [norm(el.textContent), el]);
}
all = all.filter(([t, el]) => el && t.includes(want) && visible(el));
return { names: all.map(([t]) => t), found: all.length === 1 && all[0][0] === want ? all[0][1] : null };
"#;

/// A WebDriver error (`error` is the protocol's code, e.g. `stale element reference`).
#[derive(Debug)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// One browser session and the chromedriver that runs it; both end on [`Browser::close`] or drop.
pub struct Browser {
    http: reqwest::Client,
    driver: Option<Child>,
    driver_addr: SocketAddr,
    session: String,
    profile: PathBuf,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element {
    pub id: String,
}

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_string());
    let path = PathBuf::from(path);
    path.is_file().then_some(path)
}

/// Says why the browser tests cannot run: a failure under CI, a visible skip elsewhere.
fn unavailable(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}: CI must run the browser tests (scripts/deps.sh installs chromium and chromium-driver)");
    }
    // Straight to the stream: the test harness captures print macros of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {why} (install chromium and chromium-driver: scripts/deps.sh)"
    );
}

impl Browser {
    /// A fresh headless Chromium with its own profile; `None` (said on stderr) when it cannot run.
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (
            binary("HERALD_CHROMIUM", "/usr/bin/chromium"),
            binary("HERALD_CHROMEDRIVER", "/usr/bin/chromedriver"),
        ) else {
            unavailable(
                "the console's browser tests need /usr/bin/chromium and /usr/bin/chromedriver",
            );
            return None;
        };
        let port = crate::procs::free_port();
        let profile = std::env::temp_dir().join(format!(
            "herald-chromium-{}-{}",
            std::process::id(),
            herald_core::crypto::random_secret()[..10].replace(['-', '_'], "x")
        ));
        if let Err(e) = std::fs::create_dir_all(&profile) {
            unavailable(&format!("no profile directory {}: {e}", profile.display()));
            return None;
        }
        let driver = match Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                unavailable(&format!("{} did not start: {e}", chromedriver.display()));
                return None;
            }
        };
        let mut b = Self {
            http: reqwest::Client::new(),
            driver: Some(driver),
            driver_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            profile,
        };
        let status = format!("http://{}/status", b.driver_addr);
        crate::wait::until("chromedriver ready", PATIENCE, || async {
            let v: Value = b
                .http
                .get(&status)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if v["value"]["ready"] == json!(true) {
                Ok(())
            } else {
                Err(v.to_string())
            }
        })
        .await;
        // No network but loopback on these machines: nothing that phones home.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", b.profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let url = format!("http://{}/session", b.driver_addr);
        let v = b.send(reqwest::Method::POST, &url, Some(caps)).await;
        match v {
            Ok(v) => {
                let id = v["sessionId"].as_str().unwrap_or_default().to_string();
                b.session = format!("http://{}/session/{id}", b.driver_addr);
                Some(b)
            }
            Err(e) => panic!("chromium did not start through chromedriver: {e}"),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, WdError> {
        let mut req = self.http.request(method, url);
        // WebDriver wants a JSON body on every POST, `{}` when there is nothing to say.
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| WdError {
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if ok {
            Ok(v["value"].clone())
        } else {
            Err(WdError {
                error: v["value"]["error"].as_str().unwrap_or("unknown").into(),
                message: v["value"]["message"].as_str().unwrap_or_default().into(),
            })
        }
    }

    /// A command of this session (`path` after `/session/{id}`).
    pub async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WdError> {
        self.send(method, &format!("{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Runs `script` (a function body: `arguments`, `return`) in the page.
    pub async fn script(&self, script: &str, args: Value) -> Result<Value, WdError> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Like [`Browser::script`], for scripts that must work.
    pub async fn eval(&self, script: &str) -> Value {
        self.script(script, json!([]))
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// One attempt at finding a control by name: the element, or what was seen instead.
    async fn try_find(
        &self,
        kind: &str,
        name: &str,
        scope: Option<&str>,
    ) -> Result<Element, String> {
        let v = self
            .script(FIND, json!([kind, name, scope]))
            .await
            .map_err(|e| e.to_string())?;
        let Some(id) = v["found"][ELEMENT].as_str() else {
            return Err(format!("visible {kind}s named like it: {}", v["names"]));
        };
        let el = Element { id: id.to_string() };
        // What a screen reader would read must be the name itself.
        let label = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{id}/computedlabel"),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        let label = label.as_str().unwrap_or_default().trim().to_lowercase();
        if label != name.to_lowercase() {
            return Err(format!("accessible name is {label:?}"));
        }
        Ok(el)
    }

    /// Waits for the one visible `kind` (`field`, `button`, `link`) named `name`, optionally
    /// under the heading `scope`.
    pub async fn find(&self, kind: &str, name: &str, scope: Option<&str>) -> Element {
        let what = format!(
            "the {kind} {name:?}{}",
            scope.map(|s| format!(" under {s:?}")).unwrap_or_default()
        );
        crate::wait::until(&what, PATIENCE, || self.try_find(kind, name, scope)).await
    }

    pub async fn field(&self, label: &str) -> Element {
        self.find("field", label, None).await
    }

    /// Finds and clicks, again if the page redrew the element in between.
    pub async fn click(&self, kind: &str, name: &str, scope: Option<&str>) {
        let what = format!("a click on the {kind} {name:?}");
        crate::wait::until(&what, PATIENCE, || async {
            let el = self.try_find(kind, name, scope).await?;
            self.element_cmd(&el, "/click", json!({}))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    }

    pub async fn click_button(&self, name: &str) {
        self.click("button", name, None).await;
    }

    pub async fn click_link(&self, name: &str) {
        self.click("link", name, None).await;
    }

    /// Replaces what the field labelled `label` holds with `text`.
    pub async fn fill(&self, label: &str, text: &str) {
        let el = self.field(label).await;
        self.element_cmd(&el, "/clear", json!({}))
            .await
            .unwrap_or_else(|e| panic!("clear {label}: {e}"));
        if !text.is_empty() {
            self.element_cmd(&el, "/value", json!({"text": text}))
                .await
                .unwrap_or_else(|e| panic!("type into {label}: {e}"));
        }
    }

    /// Chooses the option with text `option` in the select labelled `label`.
    pub async fn select(&self, label: &str, option: &str) {
        let el = self.field(label).await;
        let opt = self
            .cmd(
                reqwest::Method::POST,
                &format!("/element/{}/element", el.id),
                Some(json!({"using": "xpath", "value": format!("./option[normalize-space(.)='{option}']")})),
            )
            .await
            .unwrap_or_else(|e| panic!("option {option} of {label}: {e}"));
        let id = opt[ELEMENT].as_str().unwrap_or_default().to_string();
        self.element_cmd(&Element { id }, "/click", json!({}))
            .await
            .unwrap_or_else(|e| panic!("choose {option}: {e}"));
    }

    /// Sets the checkbox labelled `label` to `on`.
    pub async fn check(&self, label: &str, on: bool) {
        let el = self.field(label).await;
        let checked = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{}/selected", el.id),
                None,
            )
            .await
            .map(|v| v == json!(true))
            .unwrap_or(false);
        if checked != on {
            self.element_cmd(&el, "/click", json!({}))
                .await
                .unwrap_or_else(|e| panic!("click {label}: {e}"));
        }
    }

    pub async fn element_cmd(
        &self,
        el: &Element,
        path: &str,
        body: Value,
    ) -> Result<Value, WdError> {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}{path}", el.id),
            Some(body),
        )
        .await
    }

    /// The text of `main` as rendered.
    pub async fn main_text(&self) -> String {
        self.script(
            "return document.getElementById('main').innerText",
            json!([]),
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
    }

    /// Waits until the page's main content shows `text`; returns all of it.
    pub async fn wait_text(&self, text: &str) -> String {
        crate::wait::until(&format!("the page to show {text:?}"), PATIENCE, || async {
            let t = self.main_text().await;
            if t.contains(text) {
                Ok(t)
            } else {
                Err(t)
            }
        })
        .await
    }

    /// Waits until a script's answer satisfies `ok`; returns it.
    pub async fn wait_script(
        &self,
        what: &str,
        script: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        crate::wait::until(what, PATIENCE, || async {
            let v = self
                .script(script, json!([]))
                .await
                .map_err(|e| e.to_string())?;
            if ok(&v) {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        })
        .await
    }

    /// Waits for a `confirm()` or `alert()` and accepts (`true`) or dismisses it; its text.
    pub async fn answer_dialog(&self, accept: bool) -> String {
        let text = crate::wait::until("a dialog", PATIENCE, || async {
            self.cmd(reqwest::Method::GET, "/alert/text", None)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        let path = if accept {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.cmd(reqwest::Method::POST, path, Some(json!({})))
            .await
            .unwrap_or_else(|e| panic!("answer the dialog: {e}"));
        text.as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG of the viewport (to look at what a test saw).
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let v = self
            .cmd(reqwest::Method::GET, "/screenshot", None)
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_default();
        if let Err(e) = std::fs::write(path, png) {
            panic!("write {}: {e}", path.display());
        }
    }

    /// Resizes the window (a phone's width, say).
    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .unwrap_or_else(|e| panic!("resize: {e}"));
    }

    /// Ends the session (Chromium exits), then chromedriver.
    pub async fn close(mut self) {
        let _ = self
            .send(reqwest::Method::DELETE, &self.session.clone(), None)
            .await;
        self.session.clear();
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        if let Some(mut c) = self.driver.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    /// A failed test drops the browser mid-session: end the session with a blocking request of
    /// its own (no runtime is guaranteed here) so Chromium exits with chromedriver.
    fn drop(&mut self) {
        if let Some(path) = self
            .session
            .split_once(&self.driver_addr.to_string())
            .map(|(_, p)| p.to_string())
        {
            if !path.is_empty() {
                if let Ok(mut s) =
                    std::net::TcpStream::connect_timeout(&self.driver_addr, Duration::from_secs(2))
                {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        s,
                        "DELETE {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        self.driver_addr
                    );
                    let _ = s.read(&mut [0u8; 512]);
                }
            }
        }
        self.stop_driver();
    }
}
