//! The request side: building the header list the way `fetch()` does, deciding whether a
//! preflight is needed, and the preflight request itself (Fetch "Headers" class, "fetch",
//! "main fetch", "CORS-preflight fetch").

use super::headers::{is_token, normalize_value, Header};
use super::reason::{Failure, Reason};
use super::safelist::{
    cors_unsafe_request_header_names, is_cors_safelisted_method, is_forbidden_method,
    is_forbidden_request_header, is_no_cors_safelisted_name, normalize_method,
};
use super::{Behavior, CredentialsMode, RequestMode};

/// What a page passes to `fetch()`: method and headers as written, credentials and mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInit<'a> {
    /// The method as written in script (`put`, `patch`, ...).
    pub method: &'a str,
    /// Headers in order, as written; repeated names allowed; forbidden ones included.
    pub headers: &'a [Header],
    /// The credentials mode.
    pub credentials: CredentialsMode,
    /// The request mode.
    pub mode: RequestMode,
}

/// A request after `fetch()` built it: normalized method, the header list actually sent, and
/// the CORS-unsafe names that drive the preflight decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedRequest {
    /// The normalized method (R2).
    pub method: String,
    /// The header list: values normalized (R5), forbidden headers dropped (R4), in `no-cors`
    /// mode only no-CORS-safelisted headers (R14), plus the default `Accept: */*` (R12).
    pub headers: Vec<Header>,
    /// Names of headers dropped silently because they are forbidden (as written).
    pub dropped_headers: Vec<String>,
    /// Names of headers dropped because the request is `no-cors` (R14).
    pub dropped_no_cors: Vec<String>,
    /// CORS-unsafe request-header names (R11): lowercased, de-duplicated, sorted.
    pub unsafe_header_names: Vec<String>,
    /// The credentials mode.
    pub credentials: CredentialsMode,
    /// The request mode.
    pub mode: RequestMode,
    /// Whose rules built this.
    pub behavior: Behavior,
}

/// Builds the request as `fetch()` does (R2–R5, R11, R12, R14).
///
/// # Errors
/// The `TypeError`s `fetch()` throws before sending anything: invalid or forbidden method,
/// invalid header name/value, a non-safelisted method in `no-cors` mode.
///
/// ```
/// use preflight::browser::{prepare, Behavior, CredentialsMode, RequestInit, RequestMode};
/// let headers = vec![("Cookie".into(), "a=b".into()), ("X-Api-Key".into(), " k ".into())];
/// let p = prepare(&RequestInit { method: "patch", headers: &headers,
///     credentials: CredentialsMode::SameOrigin, mode: RequestMode::Cors }, Behavior::Spec).unwrap();
/// assert_eq!(p.method, "patch");
/// assert_eq!(p.dropped_headers, vec!["Cookie"]);
/// assert_eq!(p.unsafe_header_names, vec!["x-api-key"]);
/// assert!(p.needs_preflight());
/// assert_eq!(p.access_control_request_headers().as_deref(), Some("x-api-key"));
/// ```
pub fn prepare(init: &RequestInit<'_>, behavior: Behavior) -> Result<PreparedRequest, Failure> {
    // Request constructor: method must be a token, not forbidden; then normalized.
    if !is_token(init.method) {
        return Err(Failure::new(Reason::InvalidMethod, init.method));
    }
    if is_forbidden_method(init.method) {
        return Err(Failure::new(Reason::ForbiddenMethod, init.method));
    }
    let method = normalize_method(init.method).into_owned();
    if init.mode == RequestMode::NoCors && !is_cors_safelisted_method(&method) {
        return Err(Failure::new(Reason::MethodUnsupportedInNoCors, method));
    }
    let mut headers: Vec<Header> = Vec::with_capacity(init.headers.len() + 1);
    let mut dropped_headers = Vec::new();
    let mut dropped_no_cors = Vec::new();
    for (name, value) in init.headers {
        // Headers "append": normalize, validate (R5).
        let value = normalize_value(value);
        if !is_token(name) || value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(Failure::new(Reason::InvalidHeader, name.as_str()));
        }
        // Guard "request": forbidden request-headers are silently ignored (R4).
        if is_forbidden_request_header(name, value) {
            dropped_headers.push(name.clone());
            continue;
        }
        if init.mode == RequestMode::NoCors {
            // Guard "request-no-cors": the combined value must stay no-CORS-safelisted (R14).
            let mut combined = super::headers::get(&headers, name)
                .map(|c| c.into_owned())
                .unwrap_or_default();
            if !combined.is_empty() {
                combined.push_str(", ");
            }
            combined.push_str(value);
            if !is_no_cors_safelisted_name(name)
                || !super::safelist::is_cors_safelisted_request_header(
                    name,
                    &combined,
                    Behavior::Spec,
                )
            {
                dropped_no_cors.push(name.clone());
                continue;
            }
        }
        headers.push((name.clone(), value.to_string()));
    }
    // fetch step: append `Accept: */*` when absent (R12). `Accept-Language` is UA-defined and
    // not modelled.
    if !super::headers::contains(&headers, "accept") {
        headers.push(("Accept".to_string(), "*/*".to_string()));
    }
    let unsafe_header_names = cors_unsafe_request_header_names(&headers, behavior);
    Ok(PreparedRequest {
        method,
        headers,
        dropped_headers,
        dropped_no_cors,
        unsafe_header_names,
        credentials: init.credentials,
        mode: init.mode,
        behavior,
    })
}

impl PreparedRequest {
    /// R17: whether the CORS-with-preflight path is taken (before consulting any cache):
    /// the method is not CORS-safelisted or some header is CORS-unsafe.
    pub fn needs_preflight(&self) -> bool {
        !is_cors_safelisted_method(&self.method) || !self.unsafe_header_names.is_empty()
    }

    /// Whether the header list holds `Authorization` (R13, R28).
    pub fn has_authorization(&self) -> bool {
        super::headers::contains(&self.headers, "authorization")
    }

    /// `Access-Control-Request-Headers` for the preflight: the unsafe names joined with `,`
    /// (no space), or `None` when there are none (R21).
    pub fn access_control_request_headers(&self) -> Option<String> {
        if self.unsafe_header_names.is_empty() {
            None
        } else {
            Some(self.unsafe_header_names.join(","))
        }
    }

    /// The preflight's header list, without `Origin` (R21): `Accept: */*`,
    /// `Access-Control-Request-Method`, and `Access-Control-Request-Headers` when needed.
    pub fn preflight_headers(&self) -> Vec<Header> {
        let mut h = vec![
            ("Accept".to_string(), "*/*".to_string()),
            (
                "Access-Control-Request-Method".to_string(),
                self.method.clone(),
            ),
        ];
        if let Some(v) = self.access_control_request_headers() {
            h.push(("Access-Control-Request-Headers".to_string(), v));
        }
        h
    }

    /// R49: a 301/302 POST or a 303 non-GET/HEAD becomes a GET without request-body headers.
    /// Returns whether anything changed.
    pub fn apply_redirect_method_change(&mut self, status: u16) -> bool {
        if ((status == 301 || status == 302) && self.method == "POST")
            || (status == 303 && self.method != "GET" && self.method != "HEAD")
        {
            self.method = "GET".to_string();
            self.headers.retain(|(n, _)| {
                ![
                    "content-encoding",
                    "content-language",
                    "content-location",
                    "content-type",
                ]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(n))
            });
            self.recompute();
            true
        } else {
            false
        }
    }

    /// R50: drop `Authorization` (on a redirect to another origin). Returns whether it was
    /// present.
    pub fn remove_authorization(&mut self) -> bool {
        let before = self.headers.len();
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        let changed = self.headers.len() != before;
        if changed {
            self.recompute();
        }
        changed
    }

    fn recompute(&mut self) {
        self.unsafe_header_names = cors_unsafe_request_header_names(&self.headers, self.behavior);
    }
}
