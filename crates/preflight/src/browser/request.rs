//! The request side: building the header list the way `fetch()` does, deciding whether a
//! preflight is needed, and the preflight request itself (Fetch "Headers" class, "fetch",
//! "main fetch", "CORS-preflight fetch").

use super::headers::{is_token, normalize_value, Header};
use super::reason::{Failure, Reason};
use super::safelist::{
    cors_unsafe_request_header_names, is_cors_safelisted_method, is_forbidden_method,
    is_forbidden_request_header, is_no_cors_safelisted_name, normalize_method, unsafe_names_into,
    Names,
};
use super::scenario::{CacheMode, RequestBody};
use super::small::Small;
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
    /// The body, when its kind matters to CORS (`None`: no body, or one with a source).
    pub body: Option<RequestBody>,
    /// The cache mode (`None`: `default`).
    pub cache: Option<CacheMode>,
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
    /// The body kind (`None` after a redirect turned the request into a `GET`).
    pub body: Option<RequestBody>,
    /// The use-CORS-preflight flag (set by a `ReadableStream` body; kept across redirects).
    pub use_cors_preflight: bool,
}

/// Builds the request as `fetch()` does (R2–R5, R11, R12, R14).
///
/// # Errors
/// The `TypeError`s `fetch()` throws before sending anything: invalid or forbidden method,
/// invalid header name/value, a non-safelisted method in `no-cors` mode, a body on `GET` or
/// `HEAD`, a `ReadableStream` body in `no-cors` mode.
///
/// ```
/// use preflight::browser::{prepare, Behavior, CredentialsMode, RequestInit, RequestMode};
/// let headers = vec![("Cookie".into(), "a=b".into()), ("X-Api-Key".into(), " k ".into())];
/// let p = prepare(&RequestInit { method: "patch", headers: &headers,
///     credentials: CredentialsMode::SameOrigin, mode: RequestMode::Cors, body: None,
///     cache: None },
///     Behavior::Spec).unwrap();
/// assert_eq!(p.method, "patch");
/// assert_eq!(p.dropped_headers, vec!["Cookie"]);
/// assert_eq!(p.unsafe_header_names, vec!["x-api-key"]);
/// assert!(p.needs_preflight());
/// assert_eq!(p.access_control_request_headers().as_deref(), Some("x-api-key"));
/// ```
pub fn prepare(init: &RequestInit<'_>, behavior: Behavior) -> Result<PreparedRequest, Failure> {
    Ok(prepare_ref(init, behavior)?.to_prepared())
}

/// Names of dropped headers (rare), inline.
pub(crate) type Dropped<'a> = Small<&'a str, 4>;

/// Request headers as `(name, value)` borrowed from the script's list, inline.
pub(crate) type HeaderRefs<'a> = Small<(&'a str, &'a str), 16>;

/// [`PreparedRequest`] borrowing from the [`RequestInit`]: what the model works on. Names are
/// kept as written; `unsafe_names` is sorted by lowercase form, de-duplicated ignoring case.
#[derive(Clone, Debug)]
pub(crate) struct Prep<'a> {
    pub method: &'a str,
    pub headers: HeaderRefs<'a>,
    pub dropped_headers: Dropped<'a>,
    pub dropped_no_cors: Dropped<'a>,
    pub unsafe_names: Names<'a>,
    pub credentials: CredentialsMode,
    pub mode: RequestMode,
    pub behavior: Behavior,
    pub body: Option<RequestBody>,
    pub use_cors_preflight: bool,
}

/// [`prepare`] without allocating (but for a `TypeError`'s detail and duplicate `no-cors`
/// headers).
pub(crate) fn prepare_ref<'a>(
    init: &RequestInit<'a>,
    behavior: Behavior,
) -> Result<Prep<'a>, Failure> {
    let mut p = Prep::new(init, behavior);
    p.fill(init)?;
    Ok(p)
}

impl<'a> Prep<'a> {
    /// An empty request (method as written, no headers); [`Prep::fill`] builds it.
    pub(crate) fn new(init: &RequestInit<'a>, behavior: Behavior) -> Self {
        Prep {
            method: init.method,
            headers: Small::new(),
            dropped_headers: Small::new(),
            dropped_no_cors: Small::new(),
            unsafe_names: Small::new(),
            credentials: init.credentials,
            mode: init.mode,
            behavior,
            body: init.body,
            use_cors_preflight: false,
        }
    }

    /// Builds the request as `fetch()` does (R2–R5, R11, R12, R14), in place.
    pub(crate) fn fill(&mut self, init: &RequestInit<'a>) -> Result<(), Failure> {
        let p = self;
        let behavior = p.behavior;
        // Request constructor: `only-if-cached` needs mode `same-origin`.
        if init.cache == Some(CacheMode::OnlyIfCached) && init.mode != RequestMode::SameOrigin {
            return Err(Failure::new(Reason::OnlyIfCachedNotSameOrigin, ""));
        }
        // Request constructor: method must be a token, not forbidden; then normalized.
        if !is_token(init.method) {
            return Err(Failure::new(Reason::InvalidMethod, init.method));
        }
        if is_forbidden_method(init.method) {
            return Err(Failure::new(Reason::ForbiddenMethod, init.method));
        }
        let method: &'a str = match normalize_method(init.method) {
            std::borrow::Cow::Borrowed(m) => m,
            std::borrow::Cow::Owned(_) => init.method,
        };
        if init.mode == RequestMode::NoCors && !is_cors_safelisted_method(method) {
            return Err(Failure::new(Reason::MethodUnsupportedInNoCors, method));
        }
        p.method = method;
        for (name, value) in init.headers {
            // Headers "append": normalize, validate (R5).
            let value = normalize_value(value);
            if !is_token(name) || value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
                return Err(Failure::new(Reason::InvalidHeader, name.as_str()));
            }
            // Guard "request": forbidden request-headers are silently ignored (R4).
            if is_forbidden_request_header(name, value) {
                p.dropped_headers.push(name);
                continue;
            }
            if init.mode == RequestMode::NoCors {
                // Guard "request-no-cors": the combined value must stay no-CORS-safelisted (R14).
                let combined = match super::headers::get_ref(&p.headers, name) {
                    Some(c) if !c.is_empty() => std::borrow::Cow::Owned(format!("{c}, {value}")),
                    _ => std::borrow::Cow::Borrowed(value),
                };
                if !is_no_cors_safelisted_name(name)
                    || !super::safelist::is_cors_safelisted_request_header(
                        name,
                        &combined,
                        Behavior::Spec,
                    )
                {
                    p.dropped_no_cors.push(name);
                    continue;
                }
            }
            p.headers.push((name, value));
        }
        // Request constructor, body: none on GET/HEAD; a stream needs mode cors or
        // same-origin and sets the use-CORS-preflight flag (R17).
        if init.body.is_some() {
            if method == "GET" || method == "HEAD" {
                return Err(Failure::new(Reason::GetOrHeadWithBody, method));
            }
            if init.body == Some(RequestBody::Stream) {
                if init.mode == RequestMode::NoCors {
                    return Err(Failure::new(Reason::StreamBodyNotCors, ""));
                }
                p.use_cors_preflight = true;
            }
        }
        // fetch step: append `Accept: */*` when absent (R12). `Accept-Language` is UA-defined
        // and not modelled.
        if !super::headers::contains_ref(&p.headers, "accept") {
            p.headers.push(("Accept", "*/*"));
        }
        unsafe_names_into(&p.headers, behavior, &mut p.unsafe_names);
        Ok(())
    }
}

impl<'a> Prep<'a> {
    /// The owned form.
    pub(crate) fn to_prepared(&self) -> PreparedRequest {
        let s = |v: &Dropped<'_>| v.iter().map(|n| n.to_string()).collect();
        PreparedRequest {
            method: self.method.to_string(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            dropped_headers: s(&self.dropped_headers),
            dropped_no_cors: s(&self.dropped_no_cors),
            unsafe_header_names: self
                .unsafe_names
                .iter()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
            credentials: self.credentials,
            mode: self.mode,
            behavior: self.behavior,
            body: self.body,
            use_cors_preflight: self.use_cors_preflight,
        }
    }

    /// See [`PreparedRequest::needs_preflight`].
    pub(crate) fn needs_preflight(&self) -> bool {
        self.use_cors_preflight
            || !is_cors_safelisted_method(self.method)
            || !self.unsafe_names.is_empty()
    }

    /// See [`PreparedRequest::access_control_request_headers`].
    pub(crate) fn access_control_request_headers(&self) -> Option<String> {
        acrh(self.unsafe_names.iter().copied())
    }
}

/// Joins names lowercased with `sep`.
pub(crate) fn join_lowercase<'n>(
    names: impl Iterator<Item = &'n str> + Clone,
    sep: &str,
) -> String {
    let len = names.clone().map(|n| n.len() + sep.len()).sum();
    let mut out = String::with_capacity(len);
    for (i, n) in names.enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.extend(n.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    }
    out
}

fn acrh<'n>(names: impl Iterator<Item = &'n str> + Clone) -> Option<String> {
    if names.clone().next().is_none() {
        None
    } else {
        Some(join_lowercase(names, ","))
    }
}

/// The request-body headers a method change to `GET` removes (R49).
const REQUEST_BODY_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-language",
    "content-location",
    "content-type",
];

/// R49: whether a redirect with `status` turns `method` into `GET`.
pub(crate) fn redirect_makes_get(status: u16, method: &str) -> bool {
    ((status == 301 || status == 302) && method == "POST")
        || (status == 303 && method != "GET" && method != "HEAD")
}

/// What a redirect may change in a request (R49, R50): implemented by the owned
/// [`PreparedRequest`] and the model's borrowed form.
pub(crate) trait Redirectable {
    /// R49; returns whether anything changed.
    fn apply_redirect_method_change(&mut self, status: u16) -> bool;
    /// R50; returns whether `Authorization` was present.
    fn remove_authorization(&mut self) -> bool;
    /// Whether the body is a `ReadableStream` (its source is null).
    fn has_stream_body(&self) -> bool;
    /// The method now.
    fn method(&self) -> &str;
    /// Whose rules apply.
    fn behavior(&self) -> Behavior;
}

impl Redirectable for Prep<'_> {
    fn apply_redirect_method_change(&mut self, status: u16) -> bool {
        if !redirect_makes_get(status, self.method) {
            return false;
        }
        self.method = "GET";
        self.body = None;
        self.headers.retain(|(n, _)| {
            !REQUEST_BODY_HEADERS
                .iter()
                .any(|b| b.eq_ignore_ascii_case(n))
        });
        unsafe_names_into(&self.headers, self.behavior, &mut self.unsafe_names);
        true
    }

    fn remove_authorization(&mut self) -> bool {
        let before = self.headers.len();
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        let changed = self.headers.len() != before;
        if changed {
            unsafe_names_into(&self.headers, self.behavior, &mut self.unsafe_names);
        }
        changed
    }

    fn has_stream_body(&self) -> bool {
        self.body == Some(RequestBody::Stream)
    }
    fn method(&self) -> &str {
        self.method
    }
    fn behavior(&self) -> Behavior {
        self.behavior
    }
}

impl Redirectable for PreparedRequest {
    fn apply_redirect_method_change(&mut self, status: u16) -> bool {
        PreparedRequest::apply_redirect_method_change(self, status)
    }
    fn remove_authorization(&mut self) -> bool {
        PreparedRequest::remove_authorization(self)
    }
    fn has_stream_body(&self) -> bool {
        self.body == Some(RequestBody::Stream)
    }
    fn method(&self) -> &str {
        &self.method
    }
    fn behavior(&self) -> Behavior {
        self.behavior
    }
}

impl PreparedRequest {
    /// R17: whether the CORS-with-preflight path is taken (before consulting any cache): the
    /// use-CORS-preflight flag is set, the method is not CORS-safelisted or some header is
    /// CORS-unsafe.
    pub fn needs_preflight(&self) -> bool {
        self.use_cors_preflight
            || !is_cors_safelisted_method(&self.method)
            || !self.unsafe_header_names.is_empty()
    }

    /// Whether the header list holds `Authorization` (R13, R28).
    pub fn has_authorization(&self) -> bool {
        super::headers::contains(&self.headers, "authorization")
    }

    /// `Access-Control-Request-Headers` for the preflight: the unsafe names joined with `,`
    /// (no space), or `None` when there are none (R21).
    pub fn access_control_request_headers(&self) -> Option<String> {
        acrh(self.unsafe_header_names.iter().map(String::as_str))
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
        if redirect_makes_get(status, &self.method) {
            self.method = "GET".to_string();
            self.body = None;
            self.headers.retain(|(n, _)| {
                !REQUEST_BODY_HEADERS
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
