//! Test support shared by the tower and actix integration tests (the actix tests include this
//! file with `#[path]`): vector loading, a raw HTTP/1.1 client, and the vector runner.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use preflight_vectors::{cors_subset, Case, File, Suite};

/// Header the client sends so the catch-all handler knows which case it serves.
pub const CASE_HEADER: &str = "x-case";
/// Header the handler sets on every response it produces.
pub const HANDLER_HEADER: &str = "x-handler";

/// This crate's own adapter vectors.
pub fn local_vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../preflight-tower/tests/vectors")
}

fn load_dir(dir: &Path) -> Vec<(String, Suite)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.extend(file.suite.into_iter().map(|s| (name.clone(), s)));
    }
    out
}

/// Every suite: the repository's `vectors/server/*.toml` (whatever files exist; the directory
/// may also be given with `PREFLIGHT_SERVER_VECTORS`) plus this crate's adapter vectors.
pub fn all_suites() -> Vec<(String, Suite)> {
    let repo = std::env::var_os("PREFLIGHT_SERVER_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| preflight_vectors::vectors_dir().join("server"));
    let mut suites = load_dir(&repo);
    if suites.is_empty() {
        eprintln!(
            "note: no server vectors in {}; running the adapter vectors only",
            repo.display()
        );
    }
    suites.extend(load_dir(&local_vectors_dir()));
    assert!(!suites.is_empty(), "no vectors found");
    suites
}

/// handler_headers of every case of a suite, by case id.
pub fn handler_headers(suite: &Suite) -> HashMap<String, Vec<(String, String)>> {
    suite
        .case
        .iter()
        .map(|c| (c.id.clone(), c.handler_headers.clone()))
        .collect()
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn handler_called(&self) -> bool {
        self.headers.contains_key(HANDLER_HEADER)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(b, b"\r\n") {
        let size_str = std::str::from_utf8(&b[..i]).unwrap();
        let size = usize::from_str_radix(size_str.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}

/// Sends one request over a fresh connection, byte for byte (repeated headers and non-UTF-8
/// values included), and reads the whole response (`Connection: close`).
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, Vec<u8>)],
) -> std::io::Result<RawResponse> {
    let mut req = Vec::new();
    req.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req.extend_from_slice(format!("Host: {addr}\r\n").as_bytes());
    }
    req.extend_from_slice(b"Connection: close\r\n");
    for (n, v) in headers {
        req.extend_from_slice(n.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(&req)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let end = find(&buf, b"\r\n\r\n").ok_or_else(|| {
        std::io::Error::other(format!(
            "no header end in {:?}",
            String::from_utf8_lossy(&buf)
        ))
    })?;
    let head = &buf[..end];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut map = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(&line[..colon]).map_err(std::io::Error::other)?;
        let value = line[colon + 1..].trim_ascii();
        let value = HeaderValue::from_bytes(value).map_err(std::io::Error::other)?;
        map.append(name, value);
    }
    let raw_body = &buf[end + 4..];
    let chunked = map
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    Ok(RawResponse {
        status,
        headers: map,
        body,
    })
}

/// Sends a case's request (with the `x-case` header) and compares the response. Returns the
/// mismatches, each prefixed with file/suite/case.
pub fn check_case(
    addr: SocketAddr,
    file: &str,
    suite: &Suite,
    case: &Case,
    handler_calls: &AtomicUsize,
) -> Vec<String> {
    let at = format!("{file} / {} / {}", suite.name, case.id);
    let mut out = Vec::new();
    let mut headers = vec![(CASE_HEADER.to_owned(), case.id.clone().into_bytes())];
    headers.extend(case.request_headers());
    let before = handler_calls.load(Ordering::SeqCst);
    let res = match send(addr, &case.method, &case.path, &headers) {
        Ok(r) => r,
        Err(e) => return vec![format!("{at}: request failed: {e}")],
    };
    let called = handler_calls.load(Ordering::SeqCst) != before;
    let expected_status = case.status.unwrap_or(200);
    if res.status != expected_status {
        out.push(format!(
            "{at}: status {} (expected {expected_status})",
            res.status
        ));
    }
    let preflight = case.decision.starts_with("preflight");
    if preflight && (called || res.handler_called()) {
        out.push(format!("{at}: the handler was called for a preflight"));
    }
    let reached = called && res.handler_called();
    if !preflight && !reached {
        out.push(format!("{at}: the handler was not called"));
    }
    if preflight && !res.body.is_empty() {
        out.push(format!(
            "{at}: preflight body not empty: {:?}",
            String::from_utf8_lossy(&res.body)
        ));
    }
    let got = cors_subset(&res.headers);
    let want = case.expected_cors_headers();
    if got != want {
        out.push(format!(
            "{at}: CORS headers\n    got:      {got:?}\n    expected: {want:?}"
        ));
    }
    out
}

/// Runs every case of every suite: `start(suite)` starts a server for the suite's policy and
/// returns its address and handler-call counter.
pub fn run_vectors(
    adapter: &str,
    mut start: impl FnMut(&Suite) -> (SocketAddr, std::sync::Arc<AtomicUsize>),
) {
    let suites = all_suites();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (file, suite) in &suites {
        let (addr, calls) = start(suite);
        for case in &suite.case {
            cases += 1;
            let m = check_case(addr, file, suite, case, &calls);
            for line in &m {
                eprintln!("MISMATCH [{adapter}] {line}");
            }
            failures.extend(m);
        }
    }
    eprintln!(
        "[{adapter}] {} suites, {cases} cases, {} mismatches",
        suites.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Names of the compared (CORS and `Vary`) headers of a response, sorted, repeats kept.
pub fn cors_names(res: &RawResponse) -> Vec<String> {
    cors_subset(&res.headers)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// What a `tracing` subscriber wrote, for tests of the adapters' events.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The text written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Installs (for this thread, until the guard drops) a subscriber that writes every event up to
/// `DEBUG`, without colours, into the returned buffer.
pub fn capture_debug_events() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
