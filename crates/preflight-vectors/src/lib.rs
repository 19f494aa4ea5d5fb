//! Loader for the server conformance vectors in `vectors/server/*.toml`.
//!
//! Each file holds suites; a suite is one policy (in the TOML policy format) and the cases run
//! against it. A case is a request (method, path, headers) and what the policy must answer:
//!
//! ```toml
//! [[suite]]
//! name = "exact-origin"
//! policy = '''
//! origins = ["https://app.example.com"]
//! '''
//!
//! [[suite.case]]
//! id = "allowed-get"
//! method = "GET"
//! headers = [["Origin", "https://app.example.com"]]
//! decision = "actual_allowed"        # not_cors | preflight_allowed | preflight_denied | actual_allowed | actual_denied
//! # status = 204                     # only for preflights (absent: the handler answers)
//! # reason = "origin_not_allowed"    # only for denials
//! response_headers = [["access-control-allow-origin", "https://app.example.com"], ["vary", "Origin"]]
//! ```
//!
//! `response_headers` is the complete list of CORS response headers and `Vary` lines on the final
//! response (names lowercase, compared as a multiset). `handler_headers` are headers the handler
//! itself sets (for `Vary` merging). `headers_hex` adds request headers whose values are given in
//! hex (for non-UTF-8 bytes). `repeat` repeats the last request header's value N times, joined
//! by `,` (for oversized inputs).

pub mod alloc_count;

use std::path::{Path, PathBuf};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

/// A file of suites.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// The suites.
    pub suite: Vec<Suite>,
}

/// One policy and its cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Suite name.
    pub name: String,
    /// The policy, in the TOML policy format.
    pub policy: String,
    /// The cases.
    pub case: Vec<Case>,
}

/// One request and the expected answer.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case id, unique in its suite.
    pub id: String,
    /// Request method.
    pub method: String,
    /// Request path (default `/`).
    #[serde(default = "root")]
    pub path: String,
    /// Request headers, in order, repeats allowed.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Request headers with hex-encoded values.
    #[serde(default)]
    pub headers_hex: Vec<(String, String)>,
    /// Repeat the last header's value this many times, comma-joined.
    #[serde(default)]
    pub repeat: Option<usize>,
    /// Headers the handler sets on its response.
    #[serde(default)]
    pub handler_headers: Vec<(String, String)>,
    /// Expected decision kind.
    pub decision: String,
    /// Expected status when the policy answers itself.
    #[serde(default)]
    pub status: Option<u16>,
    /// Expected denial reason code.
    #[serde(default)]
    pub reason: Option<String>,
    /// Expected CORS response headers and `Vary` lines.
    #[serde(default)]
    pub response_headers: Vec<(String, String)>,
}

fn root() -> String {
    "/".to_owned()
}

/// The repository's `vectors/` directory.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors")
}

/// Loads every `vectors/server/*.toml`, as (file name, suite).
///
/// # Panics
/// On unreadable or malformed vector files (this is test support).
#[allow(clippy::panic)]
pub fn server_suites() -> Vec<(String, Suite)> {
    let dir = vectors_dir().join("server");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.extend(file.suite.into_iter().map(|s| (name.clone(), s)));
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

impl Case {
    /// The request headers as raw (name, value bytes) pairs, in order.
    pub fn request_headers(&self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
            .collect();
        out.extend(self.headers_hex.iter().map(|(n, v)| (n.clone(), hex(v))));
        if let (Some(n), Some(last)) = (self.repeat, out.last_mut()) {
            let one = last.1.clone();
            let mut v = Vec::with_capacity(one.len() * n + n);
            for i in 0..n {
                if i > 0 {
                    v.push(b',');
                }
                v.extend_from_slice(&one);
            }
            last.1 = v;
        }
        out
    }

    /// The request headers as a `HeaderMap`.
    ///
    /// # Panics
    /// On a header that `http` refuses (a broken vector).
    #[allow(clippy::panic)]
    pub fn header_map(&self) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in self.request_headers() {
            let name = HeaderName::from_bytes(n.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {n}: {e}", self.id));
            let value =
                HeaderValue::from_bytes(&v).unwrap_or_else(|e| panic!("{}: {n}: {e}", self.id));
            m.append(name, value);
        }
        m
    }

    /// The expected CORS headers, sorted.
    pub fn expected_cors_headers(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .response_headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        v.sort();
        v
    }
}

/// Whether a response header name is one the vectors compare (CORS headers and `Vary`).
pub fn is_compared(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "vary" || n.starts_with("access-control-")
}

/// The compared headers of a response, sorted, for comparison with
/// [`Case::expected_cors_headers`].
pub fn cors_subset(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut v: Vec<_> = headers
        .iter()
        .filter(|(n, _)| is_compared(n.as_str()))
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}
