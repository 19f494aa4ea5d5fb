//! Shared helpers for the fuzz targets: a text request format and the safety cross-checks
//! every decision must pass.
//!
//! Request format (the `evaluate` target's input, after an optional TOML policy and a line
//! `%%`):
//!
//! ```text
//! METHOD /path
//! Name: value          (raw bytes, any number of lines, repeated names allowed)
//! ```

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Method;
use preflight::{Config, Decision, DecisionKind, OriginPattern, Policy};

/// Built-in policies used when the input carries none (or one that does not compile).
pub const POLICIES: &[&str] = &[
    r#"origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*"]
credentials = true
methods = ["GET", "POST", "PUT", "DELETE"]
request_headers = ["content-type", "authorization"]
expose_headers = ["x-request-id"]
max_age = 600"#,
    r#"origins = "*"
methods = "*"
request_headers = ["*", "authorization"]
expose_headers = "*""#,
    r#"origins = "*"
credentials = true
dangerously_reflect_any_origin_with_credentials = true
dangerously_allow_null_origin = true
private_network = true
methods = ["PATCH", "patch"]
[[routes]]
path = "/public/"
origins = ["null", "https://*.example.com:*"]
credentials = false
request_headers = "*""#,
];

/// A parsed request.
pub struct Request {
    /// The method (OPTIONS when the text has none that parses).
    pub method: Method,
    /// The path.
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
}

/// Splits `data` into (policy text, request bytes) at the first `\n%%\n`.
pub fn split_input(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.windows(4).position(|w| w == b"\n%%\n") {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 4..]),
        None => (None, data),
    }
}

/// The policy for an input: its own if it compiles, else a built-in one picked by length.
pub fn policy_for(text: Option<&str>, data: &[u8]) -> Policy {
    if let Some(t) = text {
        if let Ok(p) = Policy::from_toml(t) {
            return p;
        }
    }
    let i = data.len() % POLICIES.len();
    Policy::from_toml(POLICIES[i]).expect("built-in policies compile")
}

/// Parses the request text (never fails: bad lines are skipped).
pub fn parse_request(data: &[u8]) -> Request {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(2, |&b| b == b' ');
    let method = parts
        .next()
        .and_then(|m| Method::from_bytes(m).ok())
        .unwrap_or(Method::OPTIONS);
    let path = parts
        .next()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_else(|| "/".into());
    let mut headers = HeaderMap::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (n, v) = (&line[..colon], &line[colon + 1..]);
        let v = v.strip_prefix(b" ").unwrap_or(v);
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) {
            headers.append(n, v);
        }
    }
    Request {
        method,
        path,
        headers,
    }
}

/// The effective configuration for `path`: the longest matching route's, else the top level.
pub fn effective_config(cfg: &Config, path: &str) -> Config {
    cfg.routes
        .iter()
        .filter(|r| path.starts_with(&r.path))
        .max_by_key(|r| r.path.len())
        .map_or_else(|| cfg.clone(), |r| cfg.effective(r))
}

/// Whether `cfg` allows the `Origin` value `origin`, by a naive scan of its entries.
pub fn config_allows(cfg: &Config, origin: &[u8]) -> bool {
    if cfg.origins.iter().any(|o| o == "*") {
        return true;
    }
    if origin == b"null" {
        return cfg.dangerously_allow_null_origin || cfg.origins.iter().any(|o| o == "null");
    }
    cfg.origins.iter().any(|o| {
        OriginPattern::parse_with(o, cfg.dangerously_allow_public_suffix_wildcards)
            .is_ok_and(|p| p.matches(origin))
    })
}

/// The safety properties of one decision; panics (a fuzz finding) when one fails.
pub fn check_decision(policy: &Policy, req: &Request, d: &Decision) {
    let cfg = effective_config(policy.config(), &req.path);
    let mut resp = HeaderMap::new();
    d.apply(&mut resp);
    let acao = resp.get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    let acac = resp.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    let origins: Vec<&HeaderValue> = req.headers.get_all(header::ORIGIN).iter().collect();
    // Never `*` together with credentials.
    if let (Some(o), Some(_)) = (acao, acac) {
        assert_ne!(o.as_bytes(), b"*", "ACAO * with ACAC: {d:?}");
    }
    // With `origins = "*"` every non-preflight response carries `*` (shared caches), whatever
    // the request: nothing else may be sent, and never with credentials.
    let star_policy = cfg.origins.iter().any(|o| o == "*") && !cfg.credentials;
    let preflight_shaped = req.method == Method::OPTIONS
        && req.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if star_policy && !preflight_shaped {
        assert_eq!(acao.map(HeaderValue::as_bytes), Some(&b"*"[..]), "`*` policy without `*`: {d:?}");
        assert!(acac.is_none());
        return;
    }
    // Otherwise never an ACAO for a request without exactly one Origin, nor for an origin the
    // config does not allow; a reflected ACAO is the request's origin byte for byte.
    if let Some(a) = acao {
        assert_eq!(origins.len(), 1, "ACAO without exactly one Origin: {d:?}");
        let o = origins[0].as_bytes();
        assert!(
            config_allows(&cfg, o),
            "ACAO for a disallowed origin {o:?}: {d:?}"
        );
        if a.as_bytes() != b"*" {
            assert_eq!(a.as_bytes(), o, "ACAO is not the request's origin");
            // Reflected: the answer depends on Origin, so Vary says so.
            let vary: Vec<u8> = resp
                .get_all(header::VARY)
                .iter()
                .flat_map(|v| v.as_bytes().to_vec())
                .collect();
            assert!(
                String::from_utf8_lossy(&vary).contains("Origin"),
                "reflected ACAO without Vary: Origin"
            );
        }
    }
    match d.kind() {
        DecisionKind::PreflightAllow | DecisionKind::ActualAllow => assert!(acao.is_some()),
        DecisionKind::PreflightDeny | DecisionKind::ActualDeny | DecisionKind::NotCors => {
            assert!(
                acao.is_none() && acac.is_none(),
                "headers on a denial: {d:?}"
            )
        }
    }
    if d.kind() == DecisionKind::PreflightAllow {
        assert_eq!(req.method, Method::OPTIONS);
        assert!(d.status().is_some_and(|s| s.is_success()));
    }
    if d.kind() == DecisionKind::NotCors {
        assert!(origins.is_empty());
    }
}
