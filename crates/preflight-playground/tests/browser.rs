//! The playground page in real headless Chromium, driven like a person would: pick a preset or
//! type into the form, click Run, read the verdict. The model's prediction must match the
//! browser on every preset. Saves `target/playground-screenshot.png` (and a narrow-window
//! one) for a person to look at.
//!
//! Without Chromium (`$CHROMIUM`, else `chromium` on the `PATH`, else `/usr/bin/chromium`) the test is skipped with a printed
//! reason, or fails when the `CI` environment variable is set.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use preflight_conformance::cdp::Browser;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);

/// `$CHROMIUM`, else `chromium` (or `chromium-browser`) on the `PATH`, else
/// `/usr/bin/chromium`.
fn chromium() -> Option<String> {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return std::path::Path::new(&path).exists().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

struct Page {
    b: Browser,
    session: String,
}

impl Page {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.b
            .call(Some(&self.session), method, params, T)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Evaluates `expr` in the page (awaiting promises) and returns its JSON value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("page script failed: {ex}\n{expr}");
        }
        r["result"]["value"].clone()
    }

    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        let session = self.session.clone();
        assert!(
            self.b.wait_event(&session, "Page.loadEventFired", T),
            "{url} did not load"
        );
        self.wait_for("document.body.dataset.ready === '1'");
    }

    fn wait_for(&mut self, cond: &str) {
        let t0 = Instant::now();
        while self.eval(cond) != json!(true) {
            assert!(t0.elapsed() < T, "timed out waiting for {cond}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the element `sel` with the mouse, at its centre.
    fn click(&mut self, sel: &str) {
        let r = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel:?}); e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = (r[0].as_f64().unwrap_or(0.0), r[1].as_f64().unwrap_or(0.0));
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Focuses `sel`, selects its text and types `text` over it.
    fn type_into(&mut self, sel: &str, text: &str) {
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel:?}); e.focus(); e.select && e.select(); }})()"
        ));
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Presses Run and waits for the verdict; returns `{state, text, rows}`.
    fn run(&mut self) -> Value {
        self.click("#run");
        self.eval(
            r#"new Promise((done) => { const t0 = Date.now(); (function poll() {
                const v = document.getElementById('verdict'); const s = v.dataset.state;
                if (['match', 'mismatch', 'error'].includes(s) || Date.now() - t0 > 30000) {
                  done({ state: s, text: v.textContent,
                         rows: [...document.querySelectorAll('#compare-body tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
                         reason: document.getElementById('m-reason').textContent,
                         message: document.getElementById('m-message').textContent,
                         log: document.getElementById('log').textContent });
                } else setTimeout(poll, 50); })(); })"#,
        )
    }

    fn screenshot(&mut self, width: u32, path: &PathBuf) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        std::thread::sleep(Duration::from_millis(200));
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"].as_str().expect("screenshot data");
        std::fs::write(path, decode_base64(data)).expect("write screenshot");
        println!("screenshot: {}", path.display());
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn playground_in_chromium() {
    let Some(chromium) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "Chromium is missing (set CHROMIUM or run scripts/install-browser) and CI is set"
            );
        }
        println!("skipped: Chromium not found (set CHROMIUM or run scripts/install-browser)");
        return;
    };
    let t0 = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let running = rt
        .block_on(preflight_playground::run(
            preflight_playground::Options::default(),
        ))
        .expect("start the playground");
    let url = running.url();

    let mut b = Browser::launch(&chromium, "MAP nothing.invalid 127.0.0.1").expect("launch");
    let target = b
        .call(
            None,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            T,
        )
        .expect("createTarget");
    let att = b
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
            T,
        )
        .expect("attach");
    let session = att["sessionId"].as_str().expect("session").to_string();
    let mut p = Page { b, session };
    p.call("Page.enable", json!({}));
    p.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
    p.navigate(&url);

    // Every preset: pick it in the menu, press Run, the prediction must match.
    let titles = p.eval(
        "[...document.querySelectorAll('#preset option')].slice(1).map((o) => o.textContent)",
    );
    let titles: Vec<String> = titles
        .as_array()
        .expect("preset titles")
        .iter()
        .map(|t| t.as_str().unwrap_or("").to_string())
        .collect();
    assert!(titles.len() >= 10, "{titles:?}");
    let mut failures = Vec::new();
    for (i, title) in titles.iter().enumerate() {
        p.eval(&format!(
            "(() => {{ const s = document.getElementById('preset'); s.focus(); s.value = '{i}'; s.dispatchEvent(new Event('change')); }})()"
        ));
        let r = p.run();
        let outcome = r["rows"][2][2].as_str().unwrap_or("").to_string();
        println!(
            "preset {i:2} {:<50} {:<9} browser: {outcome}",
            title,
            r["state"].as_str().unwrap_or("")
        );
        if r["state"] != "match" {
            failures.push(format!("{title}: {r:#}"));
        }
        if title.starts_with("Credentials: set a cookie") {
            // Run again: does the second request carry the cookie the first one set?
            let again = p.run();
            println!(
                "   second run: {}",
                if again["log"]
                    .as_str()
                    .unwrap_or("")
                    .contains("carried a Cookie")
                {
                    "the request carried the cookie"
                } else {
                    "no cookie sent (third-party cookie rules)"
                }
            );
            if again["state"] != "match" {
                failures.push(format!("{title} (second run): {again:#}"));
            }
        }
    }

    // A person's edit: start from "GET, no ACAO", type the page origin into the response's
    // ACAO field, a custom header into the request, and allow it in the preflight.
    let idx = titles
        .iter()
        .position(|t| t.starts_with("GET, no Access-Control-Allow-Origin"))
        .expect("preset");
    p.eval(&format!(
        "(() => {{ const s = document.getElementById('preset'); s.value = '{idx}'; s.dispatchEvent(new Event('change')); }})()"
    ));
    let origin = running.page_origin.clone();
    p.type_into("#res-acao", &origin);
    p.type_into("#req-headers", "X-Trace: 1");
    p.click("#pf-answer");
    p.type_into("#pf-acao", &origin);
    p.type_into("#pf-acah", "x-trace");
    let r = p.run();
    assert_eq!(r["state"], "match", "{r:#}");
    assert_eq!(r["rows"][0][2], "yes", "a preflight was sent: {r:#}");
    assert!(
        r["rows"][2][2].as_str().unwrap_or("").starts_with("ok"),
        "{r:#}"
    );
    assert!(
        r["log"]
            .as_str()
            .unwrap_or("")
            .contains("access-control-request-headers: x-trace"),
        "{r:#}"
    );

    // The link holds the state: reload it and the form comes back the same.
    let href = p.eval("location.href");
    let before = p.eval("document.getElementById('scenario-json').value");
    p.eval("document.getElementById('req-method').value = 'CHANGED'");
    p.call("Page.reload", json!({"ignoreCache": true}));
    let session = p.session.clone();
    assert!(p.b.wait_event(&session, "Page.loadEventFired", T));
    p.wait_for("document.body.dataset.ready === '1'");
    assert_eq!(p.eval("location.href"), href);
    let after = p.eval("document.getElementById('scenario-json').value");
    assert_eq!(before, after, "the shared link did not round-trip");

    // Import a scenario written for other origins (a seed vector line) through the JSON box.
    let seed = r#"{"id": "delete-preflight-500", "request": {"origin": "https://app.example.test", "url": "https://api.example.test/items/9", "method": "DELETE", "headers": [], "credentials": "same-origin", "mode": "cors"}, "preflight_response": {"status": 500, "headers": [["Access-Control-Allow-Origin", "*"]]}, "response": {"status": 204, "headers": [["Access-Control-Allow-Origin", "*"]]}}"#;
    p.eval(&format!(
        "document.getElementById('scenario-json').value = {}",
        serde_json::to_string(seed).expect("json")
    ));
    p.click("#apply-json");
    assert_eq!(
        p.eval("document.getElementById('req-method').value"),
        "DELETE"
    );
    assert_eq!(p.eval("document.getElementById('pf-status').value"), "500");
    let r = p.run();
    assert_eq!(r["state"], "match", "{r:#}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap_or("")
            .contains("preflight_invalid_status"),
        "{r:#}"
    );

    // Screenshots of a failing preset, with its explanation, wide and narrow.
    let idx = titles
        .iter()
        .position(|t| t.starts_with("JSON POST"))
        .expect("preset");
    p.eval(&format!(
        "(() => {{ const s = document.getElementById('preset'); s.value = '{idx}'; s.dispatchEvent(new Event('change')); }})()"
    ));
    let r = p.run();
    assert_eq!(r["state"], "match", "{r:#}");
    let dir = target_dir();
    let _ = std::fs::create_dir_all(&dir);
    p.screenshot(1280, &dir.join("playground-screenshot.png"));
    p.screenshot(420, &dir.join("playground-screenshot-narrow.png"));

    // A disagreement is loud: simulate a browser that rejects what the model lets through.
    let idx = titles
        .iter()
        .position(|t| t.starts_with("ACEH exposes"))
        .expect("preset");
    p.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
    p.eval(&format!(
        "(() => {{ window.fetchHere = async () => ({{ ok: false, error: 'TypeError: simulated' }}); const s = document.getElementById('preset'); s.value = '{idx}'; s.dispatchEvent(new Event('change')); }})()"
    ));
    let r = p.run();
    assert_eq!(r["state"], "mismatch", "{r:#}");
    assert!(
        r["text"].as_str().unwrap_or("").contains("MISMATCH"),
        "{r:#}"
    );
    assert_eq!(
        p.eval("document.getElementById('mismatch-actions').hidden"),
        json!(false)
    );
    p.eval("scrollTo(0, 0)");
    let shot = p.call("Page.captureScreenshot", json!({"format": "png"}));
    std::fs::write(
        dir.join("playground-screenshot-mismatch.png"),
        decode_base64(shot["data"].as_str().expect("data")),
    )
    .expect("write screenshot");

    p.b.close();
    rt.block_on(running.shutdown());
    println!("browser test took {:.1} s", t0.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "prediction and browser differ:\n{}",
        failures.join("\n")
    );
}
