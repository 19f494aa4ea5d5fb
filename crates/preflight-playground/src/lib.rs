//! `preflight playground`: try any CORS scenario in your own browser, with the model's
//! prediction beside the real result.
//!
//! [`run`] starts two HTTP servers on 127.0.0.1:
//! * the **page origin** `http://127.0.0.1:P`: the playground page (plain HTML/CSS/JS, embedded
//!   in the binary), `POST /api/predict` (the model, [`preflight::browser::evaluate`], on a
//!   scenario), `POST /api/run` (registers a scenario under a fresh run id and returns the URL
//!   to fetch), `GET /api/log/<run>` (what the API origin received for that run);
//! * the **API origin** `http://localhost:Q` (also reachable as `http://127.0.0.1:Q`, a third
//!   origin for redirects): `/r/<run>/<hop>/<path>` answers the run's preflight, redirects
//!   and final response exactly as the scenario writes them, and logs every request.
//!
//! The page origin also serves `/r/…`, so a redirect can lead back to the page's own origin.
//! Each run has its own URL, so no preflight cached by an earlier run hides a new one.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! let running = preflight_playground::run(preflight_playground::Options::default()).await?;
//! println!("open {}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight::browser::{evaluate, Behavior, Scenario, ScenarioResponse};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

mod http;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const FRAME_HTML: &str = include_str!("../assets/frame.html");
const FRAME_JS: &str = include_str!("../assets/frame.js");
/// The presets, one scenario per line (with a `title` and a `note`, which the scenario format
/// ignores).
pub const PRESETS: &str = include_str!("../assets/presets.jsonl");

/// The page's Content-Security-Policy: scripts and styles only from the page origin, so a
/// shared link cannot inject anything.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src *; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How many runs are remembered (the oldest are forgotten first).
const MAX_RUNS: usize = 500;
/// How many requests are logged per run.
const MAX_HITS: usize = 50;

/// Where to listen.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The page origin's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// The API origin's port (default: `port + 1`, or any free port when `port` is 0).
    pub api_port: Option<u16>,
}

/// A running playground. Dropping it leaves the servers running until the runtime ends;
/// [`Running::shutdown`] stops them.
pub struct Running {
    /// The page origin, `http://127.0.0.1:P`.
    pub page_origin: String,
    /// The API origin, `http://localhost:Q`.
    pub api_origin: String,
    /// The same server as another origin, `http://127.0.0.1:Q` (a redirect target).
    pub alt_origin: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The URL to open.
    pub fn url(&self) -> String {
        format!("{}/", self.page_origin)
    }

    /// Stops accepting connections and waits for the accept loops to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// One answer the API origin gives.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
}

/// One request the API origin received.
#[derive(Clone, Debug, Serialize)]
struct Hit {
    /// The origin it was sent to (`page`, `api` or `alt`).
    to: &'static str,
    hop: usize,
    method: String,
    target: String,
    /// `OPTIONS` with `Access-Control-Request-Method`.
    preflight: bool,
    headers: Vec<(String, String)>,
}

struct RunState {
    /// `None`: drop the connection without answering.
    preflight: Option<Answer>,
    hops: Vec<Answer>,
    log: Vec<Hit>,
}

struct Shared {
    page_origin: String,
    api_origin: String,
    alt_origin: String,
    page_port: u16,
    runs: Mutex<(VecDeque<String>, HashMap<String, RunState>)>,
    counter: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Page,
    Api,
}

/// Starts the playground; it serves until [`Running::shutdown`] (or the runtime ends).
pub async fn run(opts: Options) -> io::Result<Running> {
    let page = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await?;
    let page_port = page.local_addr()?.port();
    let api_port = match (opts.api_port, opts.port) {
        (Some(p), _) => p,
        (None, 0) => 0,
        (None, p) => p
            .checked_add(1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no port above 65535"))?,
    };
    let api = TcpListener::bind((Ipv4Addr::LOCALHOST, api_port)).await?;
    let api_port = api.local_addr()?.port();
    let shared = Arc::new(Shared {
        page_origin: format!("http://127.0.0.1:{page_port}"),
        api_origin: format!("http://localhost:{api_port}"),
        alt_origin: format!("http://127.0.0.1:{api_port}"),
        page_port,
        runs: Mutex::new((VecDeque::new(), HashMap::new())),
        counter: AtomicU64::new(0),
    });
    let (stop, rx) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(accept(page, Side::Page, Arc::clone(&shared), rx.clone())),
        tokio::spawn(accept(api, Side::Api, Arc::clone(&shared), rx)),
    ];
    Ok(Running {
        page_origin: shared.page_origin.clone(),
        api_origin: shared.api_origin.clone(),
        alt_origin: shared.alt_origin.clone(),
        stop,
        tasks,
    })
}

async fn accept(l: TcpListener, side: Side, sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            conn = l.accept() => {
                if let Ok((stream, peer)) = conn {
                    tokio::spawn(connection(Arc::clone(&sh), side, stream, peer));
                }
            }
        }
    }
}

/// What to do with a request.
enum Reply {
    /// Send these bytes and keep the connection.
    Keep(Vec<u8>),
    /// Send these bytes and close (a close-delimited body).
    Close(Vec<u8>),
    /// Close without answering.
    Drop,
}

async fn connection(sh: Arc<Shared>, side: Side, stream: TcpStream, _peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let req = tokio::time::timeout(Duration::from_secs(60), http::read_request(&mut rd)).await;
        let reply = match req {
            Err(_) | Ok(Err(http::ReadError::Closed)) => return,
            Ok(Err(http::ReadError::Bad(msg))) => Reply::Close(http::error(400, msg)),
            Ok(Ok(req)) => {
                let close = req
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                match route(&sh, side, &req) {
                    Reply::Keep(b) if close => Reply::Close(b),
                    r => r,
                }
            }
        };
        match reply {
            Reply::Keep(b) => {
                if wr.write_all(&b).await.is_err() {
                    return;
                }
            }
            Reply::Close(b) => {
                let _ = wr.write_all(&b).await;
                let _ = wr.shutdown().await;
                return;
            }
            Reply::Drop => return,
        }
    }
}

fn route(sh: &Shared, side: Side, req: &http::Request) -> Reply {
    let path = req.path();
    if let Some(rest) = path.strip_prefix("/r/") {
        return scenario_answer(sh, side, req, rest);
    }
    if side == Side::Api {
        return Reply::Keep(http::error(
            404,
            "the API origin only serves /r/<run>/<hop>/…",
        ));
    }
    let get = req.method == "GET" || req.method == "HEAD";
    let asset = |ct: &str, body: &str, extra: &[(&str, &str)]| {
        Reply::Keep(http::response(200, ct, extra, body.as_bytes()))
    };
    match (get, path) {
        (true, "/" | "/index.html") => asset(
            "text/html; charset=utf-8",
            INDEX_HTML,
            &[("Content-Security-Policy", PAGE_CSP)],
        ),
        (true, "/app.js") => asset("text/javascript; charset=utf-8", APP_JS, &[]),
        (true, "/app.css") => asset("text/css; charset=utf-8", APP_CSS, &[]),
        (true, "/frame.html") => asset(
            "text/html; charset=utf-8",
            FRAME_HTML,
            &[("Content-Security-Policy", "sandbox allow-scripts")],
        ),
        (true, "/frame.js") => asset("text/javascript; charset=utf-8", FRAME_JS, &[]),
        (true, "/favicon.ico") => Reply::Keep(http::response(204, "image/x-icon", &[], b"")),
        (true, "/api/config") => Reply::Keep(http::json(
            200,
            &json!({
                "page_origin": sh.page_origin,
                "api_origin": sh.api_origin,
                "alt_origin": sh.alt_origin,
            }),
        )),
        (true, "/api/presets") => Reply::Keep(http::json(200, &presets())),
        (true, p) if p.starts_with("/api/log/") => {
            let run = &p["/api/log/".len()..];
            let runs = sh.runs.lock().unwrap_or_else(|e| e.into_inner());
            match runs.1.get(run) {
                Some(st) => {
                    Reply::Keep(http::json(200, &json!({ "run": run, "requests": st.log })))
                }
                None => Reply::Keep(http::error(404, "no such run")),
            }
        }
        (false, "/api/predict" | "/api/run") if req.method == "POST" => {
            if let Err(msg) = guard(sh, req) {
                return Reply::Keep(http::error(403, &msg));
            }
            let scenario = match parse_scenario(&req.body) {
                Ok(s) => s,
                Err(msg) => return Reply::Keep(http::error(400, &msg)),
            };
            let behavior = if req.target.contains("behavior=spec") {
                Behavior::Spec
            } else {
                Behavior::Chromium
            };
            if path == "/api/predict" {
                return Reply::Keep(match predict(&scenario, behavior) {
                    Ok(v) => http::json(200, &v),
                    Err(msg) => http::error(500, &msg),
                });
            }
            Reply::Keep(match register(sh, scenario, behavior) {
                Ok(v) => http::json(200, &v),
                Err(msg) => http::error(400, &msg),
            })
        }
        (_, "/api/predict" | "/api/run") => Reply::Keep(http::error(405, "use POST")),
        _ => Reply::Keep(http::error(404, "not found")),
    }
}

/// The presets as a JSON array (lines that do not parse are skipped; a unit test checks that
/// none is).
fn presets() -> Value {
    Value::Array(
        PRESETS
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    )
}

/// `POST /api/*` only from the playground page itself: the Host must be the page origin's (no
/// DNS rebinding), an `Origin` must be the page origin, and the body must be declared JSON
/// (which a cross-site form cannot send without a preflight this server never answers).
fn guard(sh: &Shared, req: &http::Request) -> Result<(), String> {
    let hosts = [
        format!("127.0.0.1:{}", sh.page_port),
        format!("localhost:{}", sh.page_port),
    ];
    if !req
        .header("host")
        .is_some_and(|h| hosts.iter().any(|x| x == h))
    {
        return Err("wrong Host".into());
    }
    if let Some(o) = req.header("origin") {
        if o != sh.page_origin && o != format!("http://localhost:{}", sh.page_port) {
            return Err(format!("requests from {o} are not accepted"));
        }
    }
    let ct = req.header("content-type").unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err("send Content-Type: application/json".into());
    }
    Ok(())
}

fn parse_scenario(body: &[u8]) -> Result<Scenario, String> {
    serde_json::from_slice(body).map_err(|e| format!("not a scenario: {e}"))
}

/// The model's prediction as JSON (the [`preflight::browser::Evaluation`] fields plus
/// `reason_code`). A panic in the model becomes an error, never a dead connection.
fn predict(s: &Scenario, behavior: Behavior) -> Result<Value, String> {
    let ev = std::panic::catch_unwind(|| evaluate(s, behavior))
        .map_err(|_| "the model failed on this scenario (please report it)".to_string())?;
    let mut v = serde_json::to_value(&ev).map_err(|e| e.to_string())?;
    v["reason_code"] = json!(ev.reason.map(|r| r.code()));
    v["behavior"] = json!(behavior);
    Ok(v)
}

fn check_answer(what: &str, a: &ScenarioResponse) -> Result<(), String> {
    if !(200..=599).contains(&a.status) {
        return Err(format!(
            "{what}: status {} cannot be served (use 200–599)",
            a.status
        ));
    }
    for (k, v) in &a.headers {
        if !http::is_token(k) {
            return Err(format!("{what}: {k:?} is not a valid header name"));
        }
        if !http::is_line_safe(v) {
            return Err(format!(
                "{what}: the value of {k} holds a line break or NUL"
            ));
        }
    }
    Ok(())
}

fn to_answer(a: &ScenarioResponse) -> Answer {
    Answer {
        status: a.status,
        headers: a.headers.clone(),
    }
}

/// Registers `s` under a fresh run id: its URL and redirect `Location`s are moved under
/// `/r/<run>/<hop>/`, and the server will answer them as written. Returns the run id, the
/// scenario as it will be fetched, and the model's prediction for it.
fn register(sh: &Shared, mut s: Scenario, behavior: Behavior) -> Result<Value, String> {
    let origins = [
        (sh.page_origin.as_str(), "page"),
        (sh.api_origin.as_str(), "api"),
        (sh.alt_origin.as_str(), "alt"),
    ];
    let known = |u: &Url| {
        let o = u.origin().ascii_serialization();
        origins.iter().any(|(x, _)| *x == o)
    };
    if s.request.origin != sh.page_origin && s.request.origin != "null" {
        return Err(format!(
            "request.origin must be {} (the page) or null (a sandboxed frame), not {:?}",
            sh.page_origin, s.request.origin
        ));
    }
    let first = Url::parse(&s.request.url).map_err(|e| format!("request.url: {e}"))?;
    if !known(&first) {
        return Err(format!(
            "request.url must be on {}, {} or {} (the playground sends nothing elsewhere)",
            sh.api_origin, sh.alt_origin, sh.page_origin
        ));
    }
    if let Some(Some(p)) = &s.preflight_response {
        check_answer("preflight_response", p)?;
    }
    check_answer("response", &s.response)?;
    let n = sh.counter.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let run = format!("{n:x}-{nanos:08x}");
    let moved = |u: &Url, hop: usize| -> String {
        let mut m = u.clone();
        m.set_path(&format!("/r/{run}/{hop}{}", u.path()));
        m.set_fragment(None);
        m.to_string()
    };
    s.request.url = moved(&first, 0);
    let mut prev = first;
    for (k, r) in s.redirects.iter_mut().flatten().enumerate() {
        check_answer(&format!("redirects[{k}]"), r)?;
        for (name, value) in r.headers.iter_mut() {
            if !name.eq_ignore_ascii_case("location") {
                continue;
            }
            let next = prev
                .join(value)
                .map_err(|e| format!("redirects[{k}]: Location {value:?}: {e}"))?;
            if !known(&next) {
                return Err(format!(
                    "redirects[{k}]: Location must stay on the playground's origins, not {value:?}"
                ));
            }
            *value = moved(&next, k + 1);
            prev = next;
            break;
        }
    }
    let served = RunState {
        preflight: s
            .preflight_response
            .clone()
            .flatten()
            .map(|p| to_answer(&p)),
        hops: s
            .redirects
            .iter()
            .flatten()
            .chain(std::iter::once(&s.response))
            .map(to_answer)
            .collect(),
        log: Vec::new(),
    };
    {
        let mut runs = sh.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.0.push_back(run.clone());
        runs.1.insert(run.clone(), served);
        while runs.0.len() > MAX_RUNS {
            if let Some(old) = runs.0.pop_front() {
                runs.1.remove(&old);
            }
        }
    }
    let prediction = predict(&s, behavior)?;
    Ok(json!({ "run": run, "scenario": s, "prediction": prediction }))
}

/// `/r/<run>/<hop>/…`: logs the request and answers as the run's scenario says.
fn scenario_answer(sh: &Shared, side: Side, req: &http::Request, rest: &str) -> Reply {
    let mut it = rest.splitn(3, '/');
    let run = it.next().unwrap_or("");
    let hop: Option<usize> = it.next().and_then(|h| h.parse().ok());
    let mut runs = sh.runs.lock().unwrap_or_else(|e| e.into_inner());
    let (Some(st), Some(hop)) = (runs.1.get_mut(run), hop) else {
        return Reply::Close(http::error(
            404,
            "no such run (runs are kept in memory; is this an old link?)",
        ));
    };
    let preflight =
        req.method == "OPTIONS" && req.header("access-control-request-method").is_some();
    let host = req.header("host").unwrap_or("");
    let to = match side {
        Side::Page => "page",
        Side::Api if host.starts_with("localhost") => "api",
        Side::Api => "alt",
    };
    if st.log.len() < MAX_HITS {
        st.log.push(Hit {
            to,
            hop,
            method: req.method.clone(),
            target: req.target.clone(),
            preflight,
            headers: req.headers.clone(),
        });
    }
    let answer = if preflight {
        st.preflight.as_ref()
    } else {
        st.hops.get(hop).or(st.hops.last())
    };
    match answer {
        // No framing header at all: Content-Length is a CORS-safelisted response header, so
        // adding one would let script read a header the scenario does not have. The (empty)
        // body ends with the connection.
        Some(a) => Reply::Close(http::head(a.status, &a.headers)),
        None => Reply::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_as_scenarios() {
        let mut n = 0;
        for line in PRESETS.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect(line);
            assert!(v["title"].is_string(), "{line}");
            let _: Scenario = serde_json::from_value(v).expect(line);
            n += 1;
        }
        assert_eq!(presets().as_array().map(Vec::len), Some(n));
        assert!(n >= 8);
    }

    #[tokio::test]
    async fn serves_and_rejects() {
        let r = run(Options::default()).await.unwrap();
        let page = r.page_origin.clone();
        let send = |raw: String, addr: String| async move {
            use tokio::io::AsyncReadExt;
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(raw.as_bytes()).await.unwrap();
            let mut out = String::new();
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut out)).await;
            out
        };
        let host = page.trim_start_matches("http://").to_string();
        let post = |path: &str, body: &str| {
            format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        };
        let out = send(post("/api/predict", "{nope"), host.clone()).await;
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        assert!(out.contains("not a scenario"), "{out}");
        let s = json!({"id":"t","request":{"origin": page,"url": format!("{}/x?q=1", r.api_origin),"method":"GET","headers":[],"credentials":"omit","mode":"cors"},
            "preflight_response": null,
            "redirects": [{"status": 302, "headers": [["Location", format!("{}/y", r.alt_origin)], ["Access-Control-Allow-Origin", "*"]]}],
            "response":{"status":200,"headers":[["Access-Control-Allow-Origin","*"],["X-A","1"],["X-A","2"]]}});
        let out = send(post("/api/run", &s.to_string()), host.clone()).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        let body: Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let run_id = body["run"].as_str().unwrap().to_string();
        let url = body["scenario"]["request"]["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("/r/{run_id}/0/x?q=1")), "{url}");
        let loc = body["scenario"]["redirects"][0]["headers"][0][1]
            .as_str()
            .unwrap();
        assert_eq!(loc, format!("{}/r/{run_id}/1/y", r.alt_origin));
        assert_eq!(body["prediction"]["outcome"], "ok");
        // The API origin answers byte-exactly.
        let api = r.alt_origin.trim_start_matches("http://").to_string();
        let out = send(
            format!("GET /r/{run_id}/1/y HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            api.clone(),
        )
        .await;
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
        );
        // No preflight answer: the connection is dropped.
        let out = send(format!("OPTIONS /r/{run_id}/0/x HTTP/1.1\r\nHost: localhost\r\nAccess-Control-Request-Method: PUT\r\n\r\n"), api.clone()).await;
        assert_eq!(out, "");
        let out = send(
            format!("GET /api/log/{run_id} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            host.clone(),
        )
        .await;
        assert!(
            out.contains("\"preflight\":true") && out.contains("\"to\":\"api\""),
            "{out}"
        );
        // Header injection and foreign targets are refused.
        let mut bad = s.clone();
        bad["response"]["headers"][0][1] = json!("*\r\nSet-Cookie: x=1");
        let out = send(post("/api/run", &bad.to_string()), host.clone()).await;
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        let mut bad = s.clone();
        bad["request"]["url"] = json!("https://example.com/");
        let out = send(post("/api/run", &bad.to_string()), host.clone()).await;
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        // Cross-site posts are refused.
        let raw = post("/api/run", &s.to_string()).replace(
            "Content-Type: application/json\r\n",
            "Origin: https://evil.test\r\nContent-Type: application/json\r\n",
        );
        let out = send(raw, host.clone()).await;
        assert!(out.starts_with("HTTP/1.1 403"), "{out}");
        r.shutdown().await;
    }
}
