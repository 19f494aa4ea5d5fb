//! The compiled server policy and its answer to each request.
//!
//! [`Policy::evaluate`] implements the server's side of the CORS protocol (Fetch §3.2.2–3.2.3):
//!
//! 1. No `Origin` header: not a CORS request ([`DecisionKind::NotCors`]); the handler answers.
//! 2. `OPTIONS` with `Origin` **and** `Access-Control-Request-Method`: a CORS-preflight request,
//!    answered by the policy itself ([`DecisionKind::PreflightAllow`] /
//!    [`DecisionKind::PreflightDeny`]). Any other `OPTIONS` is an ordinary request.
//! 3. Otherwise an actual CORS request: the handler answers and the policy adds headers
//!    ([`DecisionKind::ActualAllow`]) or none ([`DecisionKind::ActualDeny`]).
//!
//! Evaluation cannot fail and does not allocate: every header value is computed when the policy
//! is compiled, the request's own `Origin` value is reflected by reference count, and hostile
//! input is cut off at documented bounds ([`MAX_ACRH_BYTES`], [`MAX_ACRH_ELEMENTS`],
//! [`MAX_EMPTY_ELEMENTS`], [`crate::origin::MAX_ORIGIN_LEN`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use crate::browser::headers::is_tchar;
use crate::config::{self, Checked, Config, ConfigErrors, Diagnostic, Severity, Spans, Validator};
use crate::headers::{is_safelisted_method, is_token, skip_ows, trim_ows};
use crate::origin::{RawOrigin, MAX_ORIGIN_LEN};
use crate::pattern::{is_strict_subdomain, OriginPattern, PortSpec};

/// At most this many bytes of `Access-Control-Request-Headers` (all lines together) are read;
/// a longer value is denied with [`Reason::RequestHeadersTooLarge`]. Browsers send a sorted list
/// of distinct lowercase names, far below this.
pub const MAX_ACRH_BYTES: usize = 8 * 1024;
/// At most this many names in `Access-Control-Request-Headers`.
pub const MAX_ACRH_ELEMENTS: usize = 256;
/// At most this many empty list elements (`a,,b`) are tolerated (RFC 9110 §5.6.1 allows them).
pub const MAX_EMPTY_ELEMENTS: usize = 16;

/// `Access-Control-Request-Private-Network` (not in the `http` crate).
pub const ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");
/// `Access-Control-Allow-Private-Network` (not in the `http` crate).
pub const ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

/// A validated, compiled, immutable CORS policy.
///
/// Build it with [`Config::compile`], [`Policy::new`] or [`Policy::from_toml`]; evaluate requests
/// with [`Policy::evaluate`]. Cheap to share behind an `Arc` (see [`SharedPolicy`] for runtime
/// replacement).
///
/// ```
/// use http::{HeaderMap, Method};
/// use preflight::{Config, DecisionKind};
///
/// let policy = Config::new().origins(["https://app.example.com"]).compile()?;
/// let mut req = HeaderMap::new();
/// req.insert("origin", "https://app.example.com".parse().unwrap());
/// let d = policy.evaluate(&Method::GET, "/items", &req);
/// assert_eq!(d.kind(), DecisionKind::ActualAllow);
/// let mut resp = HeaderMap::new();
/// d.apply(&mut resp);
/// assert_eq!(resp["access-control-allow-origin"], "https://app.example.com");
/// assert_eq!(resp["vary"], "Origin");
/// # Ok::<(), preflight::ConfigErrors>(())
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    default: Compiled,
    /// Sorted by path length, longest first.
    routes: Vec<(Box<str>, Compiled)>,
    warnings: Vec<Diagnostic>,
    config: Config,
}

impl Policy {
    /// Validates a configuration and compiles it.
    ///
    /// # Errors
    /// Every error at once (warnings included), in [`ConfigErrors`].
    pub fn new(config: &Config) -> Result<Policy, ConfigErrors> {
        Self::build(config, &Vec::new(), Vec::new())
    }

    /// Parses a TOML policy file, validates and compiles it, keeping line numbers on every
    /// diagnostic.
    ///
    /// # Errors
    /// Every syntax, key, type and value error at once.
    pub fn from_toml(input: &str) -> Result<Policy, ConfigErrors> {
        let (cfg, spans, diags) = config::parse_toml(input);
        if diags.iter().any(|d| d.code == "toml_syntax") {
            return Err(ConfigErrors::from_diags(diags));
        }
        Self::build(&cfg, &spans, diags)
    }

    fn build(
        cfg: &Config,
        spans: &Spans,
        mut pre: Vec<Diagnostic>,
    ) -> Result<Policy, ConfigErrors> {
        let mut v = Validator::new(spans);
        let top = config::check(cfg, "", true, &mut v);
        let mut routes = Vec::new();
        for (i, r) in cfg.routes.iter().enumerate() {
            let eff = cfg.effective(r);
            let checked = config::check(&eff, &format!("routes[{i}]."), false, &mut v);
            routes.push((r.path.clone().into_boxed_str(), checked));
        }
        config::check_routes(cfg, &mut v);
        // A route inherits the top level's values, so its check repeats the top level's
        // mistakes; report each (code, value, message) once, at the top level.
        let top_keys: HashSet<(&'static str, Option<String>, String)> = v
            .diags
            .iter()
            .filter(|d| !d.field.starts_with("routes["))
            .map(|d| (d.code, d.value.clone(), d.message.clone()))
            .collect();
        v.diags.retain(|d| {
            !d.field.starts_with("routes[")
                || d.field.ends_with(".path")
                || !top_keys.contains(&(d.code, d.value.clone(), d.message.clone()))
        });
        pre.append(&mut v.diags);
        if pre.iter().any(|d| d.severity == Severity::Error) {
            pre.sort_by_key(|d| {
                (
                    d.severity == Severity::Warning,
                    d.line.unwrap_or(usize::MAX),
                )
            });
            return Err(ConfigErrors::from_diags(pre));
        }
        let mut routes: Vec<(Box<str>, Compiled)> = routes
            .into_iter()
            .map(|(p, c)| (p, Compiled::new(c)))
            .collect();
        routes.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
        Ok(Policy {
            default: Compiled::new(top),
            routes,
            warnings: pre,
            config: cfg.clone(),
        })
    }

    /// Warnings: choices that work but probably surprise.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The configuration this policy was compiled from. `Policy::new(p.config())` gives the same
    /// policy.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn route(&self, path: &str) -> &Compiled {
        self.routes
            .iter()
            .find(|(p, _)| path.starts_with(&**p))
            .map_or(&self.default, |(_, c)| c)
    }

    /// Decides what to answer to a request: method, path (for routes) and request headers.
    ///
    /// Never fails, never panics, never allocates.
    pub fn evaluate(&self, method: &Method, path: &str, headers: &HeaderMap) -> Decision {
        let route = self.route(path);
        let plan = if *method == Method::OPTIONS {
            // A possible preflight reads up to four headers: one pass over the map instead of
            // four lookups (see `OptionsHeaders`).
            route.plan(true, &OptionsHeaders::scan(headers))
        } else {
            // Only `Origin` is read: one lookup.
            route.plan(false, headers)
        };
        // Only a reflected origin needs the request's value; its clone is a reference count
        // on the request's own buffer.
        let origin = if plan.reflects_origin() {
            headers.get(header::ORIGIN).cloned()
        } else {
            None
        };
        Decision { plan, origin }
    }

    /// The same answer as [`Policy::evaluate`] for headers held by any HTTP library (see
    /// [`RequestHeaders`]), as a library-independent [`HeaderPlan`]. `method` is the request
    /// method's bytes (only `OPTIONS` matters).
    ///
    /// Never fails, never panics, never allocates.
    pub fn plan<H: RequestHeaders + ?Sized>(
        &self,
        method: &[u8],
        path: &str,
        headers: &H,
    ) -> HeaderPlan {
        self.route(path).plan(method == b"OPTIONS", headers)
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled form of one (route's) configuration

#[derive(Debug, Clone)]
enum OriginRule {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Reflect every origin (only via the dangerous option).
    ReflectAny,
    /// An allowlist.
    List(OriginSet),
}

/// Hash tables on the request path use foldhash (a fast, randomly seeded hash): the keys are
/// short origins and header names, where SipHash's cost dominates a lookup.
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// (scheme, ports) of a `*.suffix` pattern.
type SchemePort = (Box<[u8]>, PortSpec);

#[derive(Debug, Clone, Default)]
struct OriginSet {
    /// origin → the `Access-Control-Allow-Origin` value to send (interned: no reference count
    /// is touched when it is written to a response).
    exact: FastMap<Box<[u8]>, PlanValue>,
    /// host → schemes allowed on any port.
    any_port: FastMap<Box<[u8]>, Vec<Box<[u8]>>>,
    /// suffix → (scheme, port) for `*.suffix`.
    subdomains: FastMap<Box<[u8]>, Vec<SchemePort>>,
    /// Fewest and most dots in a `subdomains` suffix: only a host's suffixes with a dot count in
    /// this range are looked up (a disallowed origin usually needs no lookup at all).
    suffix_dots: (usize, usize),
}

impl OriginSet {
    /// The value to send for an allowed origin, `Err(OriginNotAllowed)` for a well-formed
    /// origin that is not allowed, `Err(InvalidOrigin)` for one browsers would never send.
    fn lookup(&self, origin: &[u8]) -> Result<PlanValue, Reason> {
        if let Some(v) = self.exact.get(origin) {
            return Ok(*v);
        }
        let Some(raw) = RawOrigin::parse(origin) else {
            return Err(Reason::InvalidOrigin);
        };
        if self.matches_pattern(raw) {
            Ok(PlanValue::RequestOrigin)
        } else {
            Err(Reason::OriginNotAllowed)
        }
    }

    fn matches_pattern(&self, raw: RawOrigin<'_>) -> bool {
        if self.any_port.is_empty() && self.subdomains.is_empty() {
            return false;
        }
        if let Some(schemes) = self.any_port.get(raw.host) {
            if schemes.iter().any(|s| **s == *raw.scheme) {
                return true;
            }
        }
        if !self.subdomains.is_empty() {
            // Try every proper suffix that starts after a dot and has as many dots as some
            // pattern's suffix: at most one lookup per label.
            let host = raw.host;
            let (min_dots, max_dots) = self.suffix_dots;
            let mut dots_after = host.iter().filter(|&&b| b == b'.').count();
            for (i, &b) in host.iter().enumerate() {
                if b != b'.' {
                    continue;
                }
                dots_after -= 1;
                if dots_after > max_dots {
                    continue;
                }
                if dots_after < min_dots {
                    break;
                }
                let Some(suffix) = host.get(i + 1..) else {
                    continue;
                };
                if let Some(rules) = self.subdomains.get(suffix) {
                    if rules
                        .iter()
                        .any(|(s, p)| **s == *raw.scheme && p.accepts(raw.port))
                        && is_strict_subdomain(host, suffix)
                    {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Lowercase header names, for case-insensitive membership. A short list is scanned (lengths
/// first, then bytes: a typical policy lists a handful of names, where hashing costs more than
/// the comparisons); a long one is hashed.
#[derive(Debug, Clone)]
enum NameSet {
    Few(Vec<Box<[u8]>>),
    Many(FastSet<Box<[u8]>>),
}

impl NameSet {
    const FEW: usize = 8;

    fn new(names: Vec<Box<[u8]>>) -> NameSet {
        if names.len() <= NameSet::FEW {
            NameSet::Few(names)
        } else {
            NameSet::Many(names.into_iter().collect())
        }
    }

    fn contains_ignore_case(&self, name: &[u8]) -> bool {
        match self {
            NameSet::Few(names) => names
                .iter()
                .any(|n| n.len() == name.len() && (**n == *name || n.eq_ignore_ascii_case(name))),
            NameSet::Many(set) => {
                // Browsers send lowercase names (Fetch "CORS-unsafe request-header names"):
                // look those up as they are; lowercase a copy only for other clients.
                if !name.iter().any(u8::is_ascii_uppercase) {
                    return set.contains(name);
                }
                let mut buf = [0u8; config::MAX_HEADER_NAME_LEN];
                let Some(dst) = buf.get_mut(..name.len()) else {
                    return false;
                };
                for (d, s) in dst.iter_mut().zip(name) {
                    *d = s.to_ascii_lowercase();
                }
                set.contains(&*dst)
            }
        }
    }
}

/// A bit for each method `http` names, so checking a requested method against a policy is a
/// match and a mask instead of byte comparisons. Byte for byte, as methods compare: `patch` is
/// not `PATCH` (only the six standard methods are normalized to uppercase).
fn standard_method_bit(m: &[u8]) -> Option<u16> {
    Some(match m {
        b"GET" => 1,
        b"HEAD" => 1 << 1,
        b"POST" => 1 << 2,
        b"PUT" => 1 << 3,
        b"DELETE" => 1 << 4,
        b"PATCH" => 1 << 5,
        b"OPTIONS" => 1 << 6,
        b"CONNECT" => 1 << 7,
        b"TRACE" => 1 << 8,
        _ => return None,
    })
}

/// `GET`, `HEAD` and `POST`: always allowed (Fetch "CORS-safelisted method").
const SAFELISTED_METHOD_BITS: u16 = 0b111;

#[derive(Debug, Clone)]
struct Compiled {
    origins: OriginRule,
    allow_null: bool,
    credentials: bool,
    any_method: bool,
    /// Allowed methods among those [`standard_method_bit`] knows, safelisted ones included.
    method_bits: u16,
    /// Other allowed methods (compared byte for byte).
    methods: Vec<Box<[u8]>>,
    any_header: bool,
    /// Lowercase names.
    headers: NameSet,
    private_network: bool,
    preflight_status: StatusCode,
    acam: Option<&'static StaticValue>,
    acah: Option<&'static StaticValue>,
    aceh: Option<&'static StaticValue>,
    acma: Option<&'static StaticValue>,
    /// Vary names on responses that are not preflights.
    vary_actual: VarySet,
    /// Vary names on preflight (and other OPTIONS) responses.
    vary_preflight: VarySet,
}

impl Compiled {
    fn new(c: Checked) -> Compiled {
        let origins = if c.any_origin {
            OriginRule::Any
        } else if c.reflect_any {
            OriginRule::ReflectAny
        } else {
            let mut set = OriginSet::default();
            for p in &c.patterns {
                match p {
                    OriginPattern::Exact(o) => {
                        // A serialized origin is visible ASCII, so interning cannot fail; if it
                        // ever did, reflecting the request's (byte-equal) value is the same.
                        let v = StaticValue::intern(o.as_str())
                            .map_or(PlanValue::RequestOrigin, PlanValue::Static);
                        set.exact.insert(o.as_str().as_bytes().into(), v);
                    }
                    OriginPattern::AnyPort { scheme, host } => set
                        .any_port
                        .entry(host.as_bytes().into())
                        .or_default()
                        .push(scheme.as_bytes().into()),
                    OriginPattern::Subdomains {
                        scheme,
                        suffix,
                        port,
                    } => set
                        .subdomains
                        .entry(suffix.as_bytes().into())
                        .or_default()
                        .push((scheme.as_bytes().into(), *port)),
                }
            }
            let dots = || {
                set.subdomains
                    .keys()
                    .map(|k| k.iter().filter(|&&b| b == b'.').count())
            };
            set.suffix_dots = (dots().min().unwrap_or(0), dots().max().unwrap_or(0));
            OriginRule::List(set)
        };
        let joined = |names: &[&str]| {
            (!names.is_empty())
                .then(|| StaticValue::intern(&names.join(", ")))
                .flatten()
        };
        let acam = if c.any_method {
            Some(&STAR)
        } else {
            let listed: Vec<&str> = c
                .methods
                .iter()
                .map(String::as_str)
                .filter(|m| !is_safelisted_method(m.as_bytes()))
                .collect();
            joined(&listed)
        };
        let acah = {
            let mut names: Vec<&str> = Vec::new();
            if c.any_header {
                names.push("*");
                // `*` never covers Authorization (Fetch "CORS non-wildcard request-header name").
                names.extend(
                    c.headers
                        .iter()
                        .map(String::as_str)
                        .filter(|h| *h == "authorization"),
                );
            } else {
                names.extend(c.headers.iter().map(String::as_str));
            }
            joined(&names)
        };
        let aceh = if c.any_expose {
            Some(&STAR)
        } else {
            let names: Vec<&str> = c.expose.iter().map(String::as_str).collect();
            joined(&names)
        };
        // With `*` the answer is the same for every origin; otherwise ACAO depends on Origin.
        let origin_dependent = !matches!(origins, OriginRule::Any);
        let mut vary_actual = VarySet::EMPTY;
        if origin_dependent {
            vary_actual = vary_actual.with(VarySet::ORIGIN);
        }
        let mut vary_preflight = vary_actual
            .with(VarySet::REQUEST_METHOD)
            .with(VarySet::REQUEST_HEADERS);
        if c.private_network {
            vary_preflight = vary_preflight.with(VarySet::REQUEST_PRIVATE_NETWORK);
        }
        Compiled {
            origins,
            allow_null: c.allow_null,
            credentials: c.credentials,
            any_method: c.any_method,
            method_bits: c
                .methods
                .iter()
                .filter_map(|m| standard_method_bit(m.as_bytes()))
                .fold(SAFELISTED_METHOD_BITS, |bits, b| bits | b),
            methods: c
                .methods
                .iter()
                .filter(|m| standard_method_bit(m.as_bytes()).is_none())
                .map(|m| m.as_bytes().into())
                .collect(),
            any_header: c.any_header,
            headers: NameSet::new(c.headers.iter().map(|h| h.as_bytes().into()).collect()),
            private_network: c.private_network,
            preflight_status: StatusCode::from_u16(c.preflight_status)
                .unwrap_or(StatusCode::NO_CONTENT),
            acam,
            acah,
            aceh,
            acma: c.max_age.and_then(|a| StaticValue::intern(&a.to_string())),
            vary_actual,
            vary_preflight,
        }
    }

    /// Fetch "CORS check", server side: which `Access-Control-Allow-Origin` to send, if any.
    fn allow_origin(&self, origin: &[u8]) -> Result<PlanValue, Reason> {
        if origin.len() > MAX_ORIGIN_LEN {
            return Err(Reason::InvalidOrigin);
        }
        if origin == b"null" {
            return match self.origins {
                OriginRule::Any => Ok(PlanValue::Static(&STAR)),
                _ if self.allow_null => Ok(PlanValue::RequestOrigin),
                _ => Err(Reason::NullOriginNotAllowed),
            };
        }
        match &self.origins {
            OriginRule::Any => Ok(PlanValue::Static(&STAR)),
            OriginRule::ReflectAny => {
                if RawOrigin::parse(origin).is_some() {
                    Ok(PlanValue::RequestOrigin)
                } else {
                    Err(Reason::InvalidOrigin)
                }
            }
            OriginRule::List(set) => set.lookup(origin),
        }
    }

    fn plan<H: RequestHeaders + ?Sized>(&self, is_options: bool, headers: &H) -> HeaderPlan {
        // Responses that are not preflight answers vary like actual responses, except OPTIONS
        // ones, which a cache could confuse with preflight answers.
        let vary_other = if is_options {
            self.vary_preflight
        } else {
            self.vary_actual
        };
        let mut origins = headers.values(CorsRequestHeader::Origin);
        let origin = origins.next();
        // A CORS-preflight request is an OPTIONS request with `Origin` and
        // `Access-Control-Request-Method` (Fetch §3.2.2); only OPTIONS requests look for the
        // latter.
        let mut acrm = is_options.then(|| headers.values(CorsRequestHeader::RequestMethod));
        let first_method = acrm.as_mut().and_then(Iterator::next);
        if matches!(self.origins, OriginRule::Any) && first_method.is_none() {
            // With `*` the answer does not depend on the request, so every response carries
            // the same headers, requests without `Origin` included: a shared cache keyed on the
            // URL alone can then never hand a browser a copy without them (Fetch §3.2.5,
            // "CORS protocol and HTTP caches"), and no `Vary: Origin` is needed.
            let kind = if origin.is_some() {
                DecisionKind::ActualAllow
            } else {
                DecisionKind::NotCors
            };
            let mut p = HeaderPlan::new(kind, vary_other);
            p.acao = Some(PlanValue::Static(&STAR));
            p.aceh = self.aceh;
            return p;
        }
        let Some(origin) = origin else {
            return HeaderPlan::new(DecisionKind::NotCors, vary_other);
        };
        let is_preflight = first_method.is_some();
        let deny = |reason| {
            let mut p = if is_preflight {
                let mut p = HeaderPlan::new(DecisionKind::PreflightDeny, self.vary_preflight);
                p.status = Some(StatusCode::FORBIDDEN);
                p
            } else {
                HeaderPlan::new(DecisionKind::ActualDeny, vary_other)
            };
            p.reason = Some(reason);
            p
        };
        if origins.next().is_some() {
            return deny(Reason::MultipleOrigins);
        }
        let acao = match self.allow_origin(origin) {
            Ok(v) => v,
            Err(r) => return deny(r),
        };
        let Some(m) = first_method else {
            let mut p = HeaderPlan::new(DecisionKind::ActualAllow, vary_other);
            p.acao = Some(acao);
            p.acac = self.credentials;
            p.aceh = self.aceh;
            return p;
        };

        // CORS-preflight request. Method first, then headers (the order browsers check in).
        if acrm.and_then(|mut more| more.next()).is_some() {
            return deny(Reason::InvalidRequestMethod);
        }
        // Safelisted methods never need Access-Control-Allow-Methods (Fetch "CORS-preflight
        // fetch" step 7.5; they are in `method_bits`), and methods compare byte for byte.
        let method_allowed = match standard_method_bit(m) {
            Some(bit) => self.any_method || self.method_bits & bit != 0,
            None if !is_token(m) => return deny(Reason::InvalidRequestMethod),
            None => self.any_method || self.methods.iter().any(|a| **a == *m),
        };
        if !method_allowed {
            return deny(Reason::MethodNotAllowed);
        }
        if let Err(r) = self.check_request_headers(headers) {
            return deny(r);
        }
        let mut acapn = false;
        if let Some(pn) = headers
            .values(CorsRequestHeader::RequestPrivateNetwork)
            .next()
        {
            if pn == b"true" {
                if !self.private_network {
                    return deny(Reason::PrivateNetworkNotAllowed);
                }
                acapn = true;
            }
        }
        let mut p = HeaderPlan::new(DecisionKind::PreflightAllow, self.vary_preflight);
        p.status = Some(self.preflight_status);
        p.acao = Some(acao);
        p.acac = self.credentials;
        p.acam = self.acam;
        p.acah = self.acah;
        p.acma = self.acma;
        p.acapn = acapn;
        p
    }

    /// Checks every name of every `Access-Control-Request-Headers` line, bounded. Each element
    /// is read in one pass: optional whitespace, a run of token bytes (the name), optional
    /// whitespace, then a comma or the end; anything else makes the element invalid. Same
    /// answers, in the same order, as splitting on commas, trimming and checking each name
    /// (`check_request_headers_reference` in the tests).
    fn check_request_headers<H: RequestHeaders + ?Sized>(&self, headers: &H) -> Result<(), Reason> {
        let mut total = 0usize;
        let mut elements = 0usize;
        let mut empties = 0usize;
        for bytes in headers.values(CorsRequestHeader::RequestHeaders) {
            total += bytes.len();
            if total > MAX_ACRH_BYTES {
                return Err(Reason::RequestHeadersTooLarge);
            }
            let mut rest = bytes;
            loop {
                rest = skip_ows(rest);
                let len = rest
                    .iter()
                    .position(|&b| !is_tchar(b))
                    .unwrap_or(rest.len());
                let (name, after) = rest.split_at(len);
                let after = skip_ows(after);
                // `after` now starts at the element's end (a comma, or nothing left) or at a byte
                // that cannot be in a name.
                let well_formed = matches!(after, [] | [b',', ..]);
                if name.is_empty() && well_formed {
                    empties += 1;
                    if empties > MAX_EMPTY_ELEMENTS {
                        return Err(Reason::InvalidRequestHeaders);
                    }
                } else {
                    elements += 1;
                    if elements > MAX_ACRH_ELEMENTS {
                        return Err(Reason::RequestHeadersTooLarge);
                    }
                    if !well_formed {
                        return Err(Reason::InvalidRequestHeaders);
                    }
                    if !self.header_allowed(name) {
                        return Err(Reason::HeaderNotAllowed);
                    }
                }
                match after {
                    [b',', tail @ ..] => rest = tail,
                    _ => break,
                }
            }
        }
        Ok(())
    }

    fn header_allowed(&self, name: &[u8]) -> bool {
        if self.any_header && !name.eq_ignore_ascii_case(b"authorization") {
            return true;
        }
        self.headers.contains_ignore_case(name)
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// What kind of answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// No `Origin` header: not a CORS request. The handler answers; `Vary` may still be added,
    /// and with `origins = "*"` the same `*` headers as on CORS responses (for shared caches).
    NotCors,
    /// A preflight the policy allows: answer it with [`Decision::status`] and the headers.
    PreflightAllow,
    /// A preflight the policy refuses: answer it with 403 and no CORS headers.
    PreflightDeny,
    /// A CORS request from an allowed origin: the handler answers, the headers are added.
    ActualAllow,
    /// A CORS request from an origin the policy refuses: the handler answers (CORS is not
    /// access control), but no CORS headers are added, so the browser hides the response.
    ActualDeny,
}

impl DecisionKind {
    /// Stable snake_case name: `not_cors`, `preflight_allowed`, `preflight_denied`,
    /// `actual_allowed`, `actual_denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::NotCors => "not_cors",
            DecisionKind::PreflightAllow => "preflight_allowed",
            DecisionKind::PreflightDeny => "preflight_denied",
            DecisionKind::ActualAllow => "actual_allowed",
            DecisionKind::ActualDeny => "actual_denied",
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was denied. Codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// More than one `Origin` header.
    MultipleOrigins,
    /// The `Origin` value is not a browser-serialized origin (or is too long).
    InvalidOrigin,
    /// The origin is not in the allowlist.
    OriginNotAllowed,
    /// `Origin: null` and the policy does not allow the opaque origin.
    NullOriginNotAllowed,
    /// `Access-Control-Request-Method` repeated or not a token.
    InvalidRequestMethod,
    /// The requested method is not allowed.
    MethodNotAllowed,
    /// `Access-Control-Request-Headers` is malformed (a name is not a token, too many empty
    /// elements).
    InvalidRequestHeaders,
    /// `Access-Control-Request-Headers` is larger than [`MAX_ACRH_BYTES`] or
    /// [`MAX_ACRH_ELEMENTS`].
    RequestHeadersTooLarge,
    /// A requested header is not allowed.
    HeaderNotAllowed,
    /// A Private Network Access preflight, and the policy does not enable it.
    PrivateNetworkNotAllowed,
}

impl Reason {
    /// Stable snake_case code, e.g. `origin_not_allowed`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MultipleOrigins => "multiple_origins",
            Reason::InvalidOrigin => "invalid_origin",
            Reason::OriginNotAllowed => "origin_not_allowed",
            Reason::NullOriginNotAllowed => "null_origin_not_allowed",
            Reason::InvalidRequestMethod => "invalid_request_method",
            Reason::MethodNotAllowed => "method_not_allowed",
            Reason::InvalidRequestHeaders => "invalid_request_headers",
            Reason::RequestHeadersTooLarge => "request_headers_too_large",
            Reason::HeaderNotAllowed => "header_not_allowed",
            Reason::PrivateNetworkNotAllowed => "private_network_not_allowed",
        }
    }

    /// What happened, in words.
    pub fn description(self) -> &'static str {
        match self {
            Reason::MultipleOrigins => "the request carries more than one Origin header",
            Reason::InvalidOrigin => "the Origin header is not an origin as browsers send it",
            Reason::OriginNotAllowed => "the origin is not in the policy's origins",
            Reason::NullOriginNotAllowed => {
                "the origin is `null` (sandboxed iframe, file: page or redirect), which the policy does not allow"
            }
            Reason::InvalidRequestMethod => "Access-Control-Request-Method is repeated or not a method",
            Reason::MethodNotAllowed => "the requested method is not in the policy's methods",
            Reason::InvalidRequestHeaders => "Access-Control-Request-Headers is malformed",
            Reason::RequestHeadersTooLarge => "Access-Control-Request-Headers is too large",
            Reason::HeaderNotAllowed => "a requested header is not in the policy's request_headers",
            Reason::PrivateNetworkNotAllowed => {
                "a Private Network Access preflight, and private_network is not enabled"
            }
        }
    }
}

impl Reason {
    /// What the server owner can change, in words.
    pub fn fix(self) -> &'static str {
        match self {
        Reason::MultipleOrigins => {
            "a browser sends one Origin header; something between it and the server (a proxy?) duplicated it"
        }
        Reason::InvalidOrigin => {
            "browsers send `scheme://host[:port]` in lowercase with no path or trailing slash; check the client"
        }
        Reason::OriginNotAllowed => "add the origin (or a `https://*.domain` pattern) to `origins` if it should be trusted",
        Reason::NullOriginNotAllowed => {
            "serve the page from a real origin; only if you must, set dangerously_allow_null_origin = true"
        }
        Reason::InvalidRequestMethod => "send exactly one Access-Control-Request-Method with a method name",
        Reason::MethodNotAllowed => "add the method to `methods` (case matters for methods other than the six standard ones)",
        Reason::InvalidRequestHeaders => "Access-Control-Request-Headers must be a comma-separated list of header names",
        Reason::RequestHeadersTooLarge => "the request asks for too many headers; browsers never send this many",
        Reason::HeaderNotAllowed => {
            "add the header to `request_headers` (note that \"*\" never covers authorization)"
        }
        Reason::PrivateNetworkNotAllowed => "set private_network = true to answer Private Network Access preflights",
    }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A set of `Vary` names, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VarySet(u8);

impl VarySet {
    /// No names.
    pub const EMPTY: VarySet = VarySet(0);
    /// `Origin`.
    pub const ORIGIN: VarySet = VarySet(1);
    /// `Access-Control-Request-Method`.
    pub const REQUEST_METHOD: VarySet = VarySet(2);
    /// `Access-Control-Request-Headers`.
    pub const REQUEST_HEADERS: VarySet = VarySet(4);
    /// `Access-Control-Request-Private-Network`.
    pub const REQUEST_PRIVATE_NETWORK: VarySet = VarySet(8);

    const NAMES: [(&'static str, VarySet); 4] = [
        ("origin", VarySet::ORIGIN),
        ("access-control-request-method", VarySet::REQUEST_METHOD),
        ("access-control-request-headers", VarySet::REQUEST_HEADERS),
        (
            "access-control-request-private-network",
            VarySet::REQUEST_PRIVATE_NETWORK,
        ),
    ];

    /// The union.
    #[must_use]
    pub const fn with(self, other: VarySet) -> VarySet {
        VarySet(self.0 | other.0)
    }

    /// Whether every name of `other` is in `self`.
    pub const fn contains(self, other: VarySet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether there is no name.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names as one `Vary` value (`Origin, Access-Control-Request-Method`), from a static
    /// table; `""` for the empty set. For adapters on other `http` versions.
    pub const fn as_str(self) -> &'static str {
        VARY_VALUES[(self.0 & 0xf) as usize]
    }

    /// The set with these bits (see the constants; bits above the four names are ignored).
    /// With [`VarySet::as_str`] it lets adapters build static tables of every `Vary` value.
    pub const fn from_bits(bits: u8) -> VarySet {
        VarySet(bits & 0xf)
    }

    /// The set's bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The header value listing these names, or `None` for the empty set.
    pub fn header_value(self) -> Option<HeaderValue> {
        // A copy from a static table: building the value with `from_static` at run time would
        // check each of its up to 104 bytes on every response.
        (!self.is_empty()).then(|| VARY_HEADER_VALUES[(self.0 & 0xf) as usize].clone())
    }

    /// The names of `self` that the given `Vary` lines do not list yet (case-insensitive), or
    /// `None` when a line says `*` (the response varies on everything already).
    pub fn missing_from<'a>(
        self,
        vary_lines: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<VarySet> {
        let mut present = VarySet::EMPTY;
        for line in vary_lines {
            for item in line.split(|&b| b == b',') {
                let item = trim_ows(item);
                if item == b"*" {
                    return None;
                }
                for (name, bit) in VarySet::NAMES {
                    if item.eq_ignore_ascii_case(name.as_bytes()) {
                        present = present.with(bit);
                    }
                }
            }
        }
        Some(VarySet(self.0 & !present.0))
    }
}

const VARY_VALUES: [&str; 16] = [
    "",
    "Origin",
    "Access-Control-Request-Method",
    "Origin, Access-Control-Request-Method",
    "Access-Control-Request-Headers",
    "Origin, Access-Control-Request-Headers",
    "Access-Control-Request-Method, Access-Control-Request-Headers",
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    "Access-Control-Request-Private-Network",
    "Origin, Access-Control-Request-Private-Network",
    "Access-Control-Request-Method, Access-Control-Request-Private-Network",
    "Origin, Access-Control-Request-Method, Access-Control-Request-Private-Network",
    "Access-Control-Request-Headers, Access-Control-Request-Private-Network",
    "Origin, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
    "Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
];

// ---------------------------------------------------------------------------------------------
// Interned header values

/// A header value a policy sends (an allowed origin, a method or header list, a max-age): its
/// text and an `http` [`HeaderValue`] over `'static` bytes.
///
/// Values are interned once per process when a policy is compiled: compiling the same policy
/// again (a hot reload, a second layer) reuses them, so memory grows only with the number of
/// *distinct* values ever compiled (their length plus ~80 bytes each). In exchange, writing one
/// to a response copies a pointer: no reference count is touched, so server threads never
/// contend on a shared counter and dropping the response frees nothing.
///
/// With the `http02` feature it also holds the value as an `http` 0.2 header value (the version
/// actix-web 4 uses), built once here rather than checked byte by byte on every response.
#[derive(Debug, PartialEq, Eq)]
pub struct StaticValue {
    text: &'static str,
    value: HeaderValue,
    #[cfg(feature = "http02")]
    value02: http02::HeaderValue,
}

/// `*`.
static STAR: StaticValue = StaticValue::from_static("*");
/// `true`.
static TRUE: StaticValue = StaticValue::from_static("true");

impl StaticValue {
    /// Builds the value at compile time or once at interning. Panics (at compile time for the
    /// statics above) unless `text` is visible ASCII, which [`StaticValue::intern`] checks first.
    const fn from_static(text: &'static str) -> StaticValue {
        StaticValue {
            text,
            value: HeaderValue::from_static(text),
            #[cfg(feature = "http02")]
            value02: http02::HeaderValue::from_static(text),
        }
    }

    /// The interned value for `text`, or `None` when `text` is not visible ASCII (the only
    /// values a policy builds are origins, tokens, comma-separated tokens and numbers).
    fn intern(text: &str) -> Option<&'static StaticValue> {
        type Table = Mutex<HashMap<&'static str, &'static StaticValue>>;
        static TABLE: OnceLock<Table> = OnceLock::new();
        match text {
            "*" => return Some(&STAR),
            "true" => return Some(&TRUE),
            _ => {}
        }
        if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return None;
        }
        let mut table = TABLE
            .get_or_init(Table::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = table.get(text) {
            return Some(v);
        }
        let text: &'static str = Box::leak(text.into());
        // Cannot panic: every byte was checked to be visible ASCII above.
        let v: &'static StaticValue = Box::leak(Box::new(StaticValue::from_static(text)));
        table.insert(text, v);
        Some(v)
    }

    /// The value as text.
    pub fn as_str(&self) -> &'static str {
        self.text
    }

    /// The value as an `http` header value (a pointer copy).
    #[inline]
    pub fn header_value(&self) -> HeaderValue {
        self.value.clone()
    }

    /// The value as an `http` 0.2 header value (a pointer copy), for actix-web 4. Feature
    /// `http02`.
    #[cfg(feature = "http02")]
    #[inline]
    pub fn header_value_http02(&self) -> http02::HeaderValue {
        self.value02.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Request headers, whatever library holds them

/// The request headers the server side of CORS reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsRequestHeader {
    /// `Origin`.
    Origin,
    /// `Access-Control-Request-Method`.
    RequestMethod,
    /// `Access-Control-Request-Headers`.
    RequestHeaders,
    /// `Access-Control-Request-Private-Network`.
    RequestPrivateNetwork,
}

impl CorsRequestHeader {
    /// The lowercase header name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CorsRequestHeader::Origin => "origin",
            CorsRequestHeader::RequestMethod => "access-control-request-method",
            CorsRequestHeader::RequestHeaders => "access-control-request-headers",
            CorsRequestHeader::RequestPrivateNetwork => "access-control-request-private-network",
        }
    }

    /// The `http` header name.
    pub const fn header_name(self) -> HeaderName {
        match self {
            CorsRequestHeader::Origin => header::ORIGIN,
            CorsRequestHeader::RequestMethod => header::ACCESS_CONTROL_REQUEST_METHOD,
            CorsRequestHeader::RequestHeaders => header::ACCESS_CONTROL_REQUEST_HEADERS,
            CorsRequestHeader::RequestPrivateNetwork => ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK,
        }
    }
}

/// Read access to a request's headers for [`Policy::plan`]: implemented for `http`'s
/// [`HeaderMap`]; an adapter on another HTTP library implements it on a wrapper of that
/// library's header map, so requests are evaluated where they are, without copying.
///
/// ```
/// use preflight::{CorsRequestHeader, RequestHeaders};
///
/// /// Headers as a list of pairs.
/// struct Pairs<'a>(&'a [(&'a str, &'a str)]);
///
/// impl RequestHeaders for Pairs<'_> {
///     type Values<'b> = Box<dyn Iterator<Item = &'b [u8]> + 'b> where Self: 'b;
///     fn values(&self, name: CorsRequestHeader) -> Self::Values<'_> {
///         Box::new(self.0.iter()
///             .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_str()))
///             .map(|(_, v)| v.as_bytes()))
///     }
/// }
///
/// let policy = preflight::Config::new().origins(["https://app.example"]).compile()?;
/// let plan = policy.plan(b"GET", "/", &Pairs(&[("Origin", "https://app.example")]));
/// assert_eq!(plan.kind(), preflight::DecisionKind::ActualAllow);
/// # Ok::<(), preflight::ConfigErrors>(())
/// ```
pub trait RequestHeaders {
    /// An iterator over one header's values.
    type Values<'a>: Iterator<Item = &'a [u8]>
    where
        Self: 'a;

    /// Every value of the header `name` (every line, in order; none when absent). Names
    /// compare case-insensitively, as HTTP header names do.
    fn values(&self, name: CorsRequestHeader) -> Self::Values<'_>;
}

/// The values of one header in an `http` [`HeaderMap`]: a hash lookup for the names `http`
/// knows (hashing them costs a table index), a scan of the entries for
/// `Access-Control-Request-Private-Network`, whose 38 bytes `http` would hash byte by byte on
/// every request (the scan compares lengths first and is bounded by the number of distinct
/// names, which the HTTP server limits).
#[derive(Debug)]
pub enum HeaderMapValues<'a> {
    /// Values found by lookup.
    Lookup(header::ValueIter<'a, HeaderValue>),
    /// Values found by scanning every header.
    Scan(header::Iter<'a, HeaderValue>),
    /// No such header.
    Absent,
}

impl<'a> Iterator for HeaderMapValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            HeaderMapValues::Lookup(it) => it.next().map(HeaderValue::as_bytes),
            HeaderMapValues::Scan(it) => it
                .find(|(n, _)| **n == ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK)
                .map(|(_, v)| v.as_bytes()),
            HeaderMapValues::Absent => None,
        }
    }
}

impl RequestHeaders for HeaderMap {
    type Values<'a> = HeaderMapValues<'a>;

    fn values(&self, name: CorsRequestHeader) -> HeaderMapValues<'_> {
        match name {
            // The names alone first (no walk through extra values); usually it is absent.
            CorsRequestHeader::RequestPrivateNetwork => {
                if self
                    .keys()
                    .any(|n| *n == ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK)
                {
                    HeaderMapValues::Scan(self.iter())
                } else {
                    HeaderMapValues::Absent
                }
            }
            _ => HeaderMapValues::Lookup(self.get_all(name.header_name()).iter()),
        }
    }
}

/// The CORS request headers of an OPTIONS request, gathered in one pass over an `http`
/// [`HeaderMap`]. An allowed preflight reads `Origin`, `Access-Control-Request-Method`,
/// `Access-Control-Request-Headers` and `Access-Control-Request-Private-Network`: three hash
/// lookups (~110 instructions each) plus the walk over the names that `HeaderMapValues` makes
/// for the private-network one. Comparing each name once costs less: with the 13 headers
/// Chromium sends on a preflight, ~180 instructions fewer per allowed preflight (callgrind,
/// `scripts/bench-instructions`); a preflight denied for its origin, which needed only two
/// lookups, pays ~80 more. The walk is bounded by the number of headers, which the HTTP server
/// limits (hyper: 100). A header sent on more than one line is read back from the map (rare:
/// browsers send each once).
struct OptionsHeaders<'a> {
    map: &'a HeaderMap,
    /// First value of each [`CorsRequestHeader`], in declaration order.
    first: [Option<&'a [u8]>; 4],
    /// Which of them appeared more than once (bit = discriminant).
    repeated: u8,
}

impl<'a> OptionsHeaders<'a> {
    fn scan(map: &'a HeaderMap) -> Self {
        let mut s = OptionsHeaders {
            map,
            first: [None; 4],
            repeated: 0,
        };
        for (name, value) in map {
            let which = if *name == header::ORIGIN {
                CorsRequestHeader::Origin
            } else if *name == header::ACCESS_CONTROL_REQUEST_METHOD {
                CorsRequestHeader::RequestMethod
            } else if *name == header::ACCESS_CONTROL_REQUEST_HEADERS {
                CorsRequestHeader::RequestHeaders
            } else if *name == ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK {
                CorsRequestHeader::RequestPrivateNetwork
            } else {
                continue;
            };
            let slot = &mut s.first[which as usize];
            if slot.is_some() {
                s.repeated |= 1 << which as u8;
            } else {
                *slot = Some(value.as_bytes());
            }
        }
        s
    }
}

/// Values read by [`OptionsHeaders`]: the one value scanned, or the map's own iterator for a
/// header sent more than once.
enum OptionsValues<'a> {
    One(Option<&'a [u8]>),
    Map(HeaderMapValues<'a>),
}

impl<'a> Iterator for OptionsValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            OptionsValues::One(v) => v.take(),
            OptionsValues::Map(it) => it.next(),
        }
    }
}

impl RequestHeaders for OptionsHeaders<'_> {
    type Values<'b>
        = OptionsValues<'b>
    where
        Self: 'b;

    fn values(&self, name: CorsRequestHeader) -> OptionsValues<'_> {
        if self.repeated & (1 << name as u8) != 0 {
            OptionsValues::Map(RequestHeaders::values(self.map, name))
        } else {
            OptionsValues::One(self.first[name as usize])
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// The CORS response headers a policy sets, in the order [`HeaderPlan::values`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsResponseHeader {
    /// `Access-Control-Allow-Origin`.
    AllowOrigin,
    /// `Access-Control-Allow-Credentials`.
    AllowCredentials,
    /// `Access-Control-Allow-Methods`.
    AllowMethods,
    /// `Access-Control-Allow-Headers`.
    AllowHeaders,
    /// `Access-Control-Max-Age`.
    MaxAge,
    /// `Access-Control-Allow-Private-Network`.
    AllowPrivateNetwork,
    /// `Access-Control-Expose-Headers`.
    ExposeHeaders,
}

impl CorsResponseHeader {
    /// The lowercase header name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CorsResponseHeader::AllowOrigin => "access-control-allow-origin",
            CorsResponseHeader::AllowCredentials => "access-control-allow-credentials",
            CorsResponseHeader::AllowMethods => "access-control-allow-methods",
            CorsResponseHeader::AllowHeaders => "access-control-allow-headers",
            CorsResponseHeader::MaxAge => "access-control-max-age",
            CorsResponseHeader::AllowPrivateNetwork => "access-control-allow-private-network",
            CorsResponseHeader::ExposeHeaders => "access-control-expose-headers",
        }
    }

    /// The `http` header name.
    pub const fn header_name(self) -> HeaderName {
        match self {
            CorsResponseHeader::AllowOrigin => header::ACCESS_CONTROL_ALLOW_ORIGIN,
            CorsResponseHeader::AllowCredentials => header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            CorsResponseHeader::AllowMethods => header::ACCESS_CONTROL_ALLOW_METHODS,
            CorsResponseHeader::AllowHeaders => header::ACCESS_CONTROL_ALLOW_HEADERS,
            CorsResponseHeader::MaxAge => header::ACCESS_CONTROL_MAX_AGE,
            CorsResponseHeader::AllowPrivateNetwork => ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
            CorsResponseHeader::ExposeHeaders => header::ACCESS_CONTROL_EXPOSE_HEADERS,
        }
    }
}

/// Where a planned header's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanValue {
    /// A value of the policy (interned, see [`StaticValue`]).
    Static(&'static StaticValue),
    /// The request's own `Origin` value, byte for byte (an origin allowed by a pattern, `null`
    /// when allowed, or any origin under `dangerously_reflect_any_origin`).
    RequestOrigin,
}

/// Every `Vary` value as an `http` header value, built at compile time.
static VARY_HEADER_VALUES: [HeaderValue; 16] = {
    macro_rules! values {
        ($($i:literal)*) => { [$(HeaderValue::from_static(VARY_VALUES[$i])),*] };
    }
    values!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
};

/// The policy's answer to one request, independent of any HTTP library: its kind, the status
/// (for preflights), which headers to set and where their values come from, and a reason for
/// denials. `Copy`, no lifetime, no allocation: what [`Policy::plan`] returns and adapters on
/// other HTTP libraries translate. [`Decision`] is the same plan for `http` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPlan {
    kind: DecisionKind,
    reason: Option<Reason>,
    status: Option<StatusCode>,
    acao: Option<PlanValue>,
    acac: bool,
    acam: Option<&'static StaticValue>,
    acah: Option<&'static StaticValue>,
    aceh: Option<&'static StaticValue>,
    acma: Option<&'static StaticValue>,
    acapn: bool,
    vary: VarySet,
}

impl HeaderPlan {
    fn new(kind: DecisionKind, vary: VarySet) -> Self {
        HeaderPlan {
            kind,
            reason: None,
            status: None,
            acao: None,
            acac: false,
            acam: None,
            acah: None,
            aceh: None,
            acma: None,
            acapn: false,
            vary,
        }
    }

    /// The kind of answer.
    pub fn kind(&self) -> DecisionKind {
        self.kind
    }

    /// Why the request was denied.
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// The status the policy answers with: `Some` for preflights (allowed or denied), `None`
    /// when the request goes on to the handler.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// Whether the policy answers the request itself (a preflight) instead of the handler.
    pub fn is_preflight(&self) -> bool {
        matches!(
            self.kind,
            DecisionKind::PreflightAllow | DecisionKind::PreflightDeny
        )
    }

    /// The `Vary` names this answer depends on.
    pub fn vary(&self) -> VarySet {
        self.vary
    }

    /// Whether a header's value is the request's `Origin` (then the adapter copies it).
    pub fn reflects_origin(&self) -> bool {
        self.acao == Some(PlanValue::RequestOrigin)
    }

    /// Calls `f` for each CORS header to set, in the order of [`HeaderPlan::values`]; written
    /// out rather than iterated, so adapters' hot paths build no intermediate array.
    #[inline]
    pub fn for_each_value(&self, mut f: impl FnMut(CorsResponseHeader, PlanValue)) {
        if let Some(v) = self.acao {
            f(CorsResponseHeader::AllowOrigin, v);
        }
        if self.acac {
            f(
                CorsResponseHeader::AllowCredentials,
                PlanValue::Static(&TRUE),
            );
        }
        if let Some(v) = self.acam {
            f(CorsResponseHeader::AllowMethods, PlanValue::Static(v));
        }
        if let Some(v) = self.acah {
            f(CorsResponseHeader::AllowHeaders, PlanValue::Static(v));
        }
        if let Some(v) = self.acma {
            f(CorsResponseHeader::MaxAge, PlanValue::Static(v));
        }
        if self.acapn {
            f(
                CorsResponseHeader::AllowPrivateNetwork,
                PlanValue::Static(&TRUE),
            );
        }
        if let Some(v) = self.aceh {
            f(CorsResponseHeader::ExposeHeaders, PlanValue::Static(v));
        }
    }

    /// The CORS headers to set, in a stable order (`Vary` not included: merge
    /// [`HeaderPlan::vary`] into the response's own).
    pub fn values(&self) -> impl Iterator<Item = (CorsResponseHeader, PlanValue)> {
        let stat = |v: Option<&'static StaticValue>| v.map(PlanValue::Static);
        [
            (CorsResponseHeader::AllowOrigin, self.acao),
            (
                CorsResponseHeader::AllowCredentials,
                self.acac.then_some(PlanValue::Static(&TRUE)),
            ),
            (CorsResponseHeader::AllowMethods, stat(self.acam)),
            (CorsResponseHeader::AllowHeaders, stat(self.acah)),
            (CorsResponseHeader::MaxAge, stat(self.acma)),
            (
                CorsResponseHeader::AllowPrivateNetwork,
                self.acapn.then_some(PlanValue::Static(&TRUE)),
            ),
            (CorsResponseHeader::ExposeHeaders, stat(self.aceh)),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
    }
}

/// The policy's answer to one request with `http` types: a [`HeaderPlan`] plus the request's
/// `Origin` value when the plan reflects it. Cheap to keep while the handler runs: the policy's
/// values are interned ([`StaticValue`]) and a reflected origin is the request's own value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    plan: HeaderPlan,
    origin: Option<HeaderValue>,
}

/// The CORS response headers a policy sets (and [`strip_cors_headers`] removes).
pub const CORS_RESPONSE_HEADERS: [HeaderName; 7] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
];

/// Removes every CORS response header (those in [`CORS_RESPONSE_HEADERS`]), e.g. the ones an
/// upstream set, so the policy alone decides.
pub fn strip_cors_headers(headers: &mut HeaderMap) {
    // Usually there is nothing to remove: one pass over the names (comparisons, no hashing;
    // `http` would hash the 38-byte private-network name byte by byte) says so.
    if !headers.keys().any(is_cors_response_header) {
        return;
    }
    for name in &CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
}

/// [`CORS_RESPONSE_HEADERS`] as a static, so looking through it builds no temporary array.
static CORS_RESPONSE_HEADER_NAMES: [HeaderName; 7] = CORS_RESPONSE_HEADERS;

fn is_cors_response_header(n: &HeaderName) -> bool {
    CORS_RESPONSE_HEADER_NAMES.contains(n)
}

impl Decision {
    /// The library-independent plan.
    pub fn plan(&self) -> &HeaderPlan {
        &self.plan
    }

    /// The kind of answer.
    pub fn kind(&self) -> DecisionKind {
        self.plan.kind
    }

    /// Why the request was denied.
    pub fn reason(&self) -> Option<Reason> {
        self.plan.reason
    }

    /// The status the policy answers with: `Some` for preflights (allowed or denied), `None`
    /// when the request goes on to the handler.
    pub fn status(&self) -> Option<StatusCode> {
        self.plan.status
    }

    /// Whether the policy answers the request itself (a preflight) instead of the handler.
    pub fn is_preflight(&self) -> bool {
        self.plan.is_preflight()
    }

    /// The `Vary` names this decision depends on.
    pub fn vary(&self) -> VarySet {
        self.plan.vary
    }

    /// The CORS headers to set, in a stable order (`Vary` not included; see
    /// [`Decision::apply`]).
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        self.plan.values().filter_map(|(name, value)| {
            let value = match value {
                PlanValue::Static(v) => v.header_value(),
                PlanValue::RequestOrigin => self.origin.clone()?,
            };
            Some((name.header_name(), value))
        })
    }

    /// Sets the CORS headers on a response (replacing any of the same name) and merges the
    /// `Vary` names into the response's `Vary` without duplicating any (`Vary: *` is left
    /// alone). Allocation-free unless the map must grow.
    pub fn apply(&self, headers: &mut HeaderMap) {
        self.write(|name, value| {
            headers.insert(name, value);
        });
        merge_vary(headers, self.plan.vary);
    }

    /// [`Decision::apply`] for a map that holds no header yet (a preflight's answer): the
    /// headers and `Vary` are appended without looking for values to replace or merge. On a
    /// map that does hold headers, use [`Decision::apply`].
    pub fn apply_to_empty(&self, headers: &mut HeaderMap) {
        debug_assert!(headers.is_empty());
        self.write(|name, value| {
            headers.append(name, value);
        });
        if let Some(vary) = self.plan.vary.header_value() {
            headers.append(header::VARY, vary);
        }
    }

    /// Hands each header to `put`, in the order of [`Decision::headers`].
    #[inline]
    fn write(&self, mut put: impl FnMut(HeaderName, HeaderValue)) {
        self.plan.for_each_value(|name, value| match value {
            PlanValue::Static(v) => put(name.header_name(), v.header_value()),
            PlanValue::RequestOrigin => {
                if let Some(v) = &self.origin {
                    put(name.header_name(), v.clone());
                }
            }
        });
    }

    /// All headers including `Vary` as it would be added to a response with no `Vary` of its
    /// own: what the CLI prints.
    pub fn all_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut v: Vec<_> = self.headers().collect();
        if let Some(vary) = self.plan.vary.header_value() {
            v.push((header::VARY, vary));
        }
        v
    }
}

/// Adds the names in `set` that the response's `Vary` does not list yet, as one more `Vary`
/// line (RFC 9110 §5.3: equivalent to one comma-joined line). Case-insensitive; respects `*`.
pub fn merge_vary(headers: &mut HeaderMap, set: VarySet) {
    if set.is_empty() {
        return;
    }
    let lines = headers
        .get_all(header::VARY)
        .iter()
        .map(HeaderValue::as_bytes);
    if let Some(v) = set.missing_from(lines).and_then(VarySet::header_value) {
        headers.append(header::VARY, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Runtime replacement

/// A policy that can be replaced atomically while requests are being served (the gateway's hot
/// reload). Readers never block and never allocate; a replacement is seen by every request that
/// starts after it.
///
/// ```
/// use preflight::{Config, SharedPolicy};
/// let shared = SharedPolicy::new(Config::new().origins(["https://a.example"]).compile()?);
/// let reader = shared.clone();
/// shared.store(Config::new().origins(["https://b.example"]).compile()?);
/// assert_eq!(reader.load().config().origins, ["https://b.example"]);
/// # Ok::<(), preflight::ConfigErrors>(())
/// ```
#[derive(Clone)]
pub struct SharedPolicy(Arc<arc_swap::ArcSwap<Policy>>);

impl SharedPolicy {
    /// Wraps a policy.
    pub fn new(policy: Policy) -> Self {
        SharedPolicy(Arc::new(arc_swap::ArcSwap::from_pointee(policy)))
    }

    /// The current policy.
    pub fn load(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.0.load()
    }

    /// Replaces the policy for every request that starts from now on.
    pub fn store(&self, policy: Policy) {
        self.0.store(Arc::new(policy));
    }
}

impl fmt::Debug for SharedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedPolicy").field(&**self.load()).finish()
    }
}

impl From<Policy> for SharedPolicy {
    fn from(p: Policy) -> Self {
        SharedPolicy::new(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// `Access-Control-Request-Headers` lines as raw bytes (any byte, unlike `HeaderValue`).
    struct Lines(Vec<Vec<u8>>);

    impl RequestHeaders for Lines {
        type Values<'a> = std::iter::Map<std::slice::Iter<'a, Vec<u8>>, fn(&Vec<u8>) -> &[u8]>;
        fn values(&self, name: CorsRequestHeader) -> Self::Values<'_> {
            let lines = match name {
                CorsRequestHeader::RequestHeaders => &self.0[..],
                _ => &[],
            };
            lines.iter().map(Vec::as_slice as fn(&Vec<u8>) -> &[u8])
        }
    }

    /// The implementation before the one-pass read: split on commas, trim, check each name.
    fn check_request_headers_reference(c: &Compiled, lines: &Lines) -> Result<(), Reason> {
        let mut total = 0usize;
        let mut elements = 0usize;
        let mut empties = 0usize;
        for bytes in lines.0.iter().map(Vec::as_slice) {
            total += bytes.len();
            if total > MAX_ACRH_BYTES {
                return Err(Reason::RequestHeadersTooLarge);
            }
            for raw in bytes.split(|&b| b == b',') {
                let name = trim_ows(raw);
                if name.is_empty() {
                    empties += 1;
                    if empties > MAX_EMPTY_ELEMENTS {
                        return Err(Reason::InvalidRequestHeaders);
                    }
                    continue;
                }
                elements += 1;
                if elements > MAX_ACRH_ELEMENTS {
                    return Err(Reason::RequestHeadersTooLarge);
                }
                if !is_token(name) {
                    return Err(Reason::InvalidRequestHeaders);
                }
                if !c.header_allowed(name) {
                    return Err(Reason::HeaderNotAllowed);
                }
            }
        }
        Ok(())
    }

    fn acrh_element() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just(b"content-type".to_vec()),
            Just(b"Content-Type".to_vec()),
            Just(b"authorization".to_vec()),
            Just(b"x-a".to_vec()),
            Just(Vec::new()),
            Just(b"content type".to_vec()),
            Just(vec![0x80]),
            Just(b"a\x01".to_vec()),
            Just(b"(x)".to_vec()),
            proptest::collection::vec(proptest::sample::select(&b"ab-_.!~"[..]), 1..4),
        ];
        let ows = proptest::collection::vec(proptest::sample::select(&b" \t"[..]), 0..3);
        (ows.clone(), piece, ows).prop_map(|(a, p, b)| [a, p, b].concat())
    }

    fn acrh_clean_element() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(b"content-type".to_vec()),
            Just(b" x-a".to_vec()),
            Just(Vec::new()),
            Just(b" \t".to_vec()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1024, failure_persistence: None, ..Default::default() })]

        /// The one-pass read answers as splitting, trimming and checking did, bounds included.
        #[test]
        fn acrh_one_pass_agrees_with_split_trim_check(
            lines in proptest::collection::vec(
                // Mostly short lists; some past the 256-element and 16-empty bounds.
                proptest::prop_oneof![
                    6 => proptest::collection::vec(acrh_element(), 0..24),
                    1 => proptest::collection::vec(acrh_element(), 250..300),
                    // Allowed names and empty elements only, so that the bounds are reached.
                    2 => proptest::collection::vec(acrh_clean_element(), 10..40),
                    1 => proptest::collection::vec(acrh_clean_element(), 250..300),
                    1 => proptest::collection::vec(
                        proptest::sample::select(vec![b"content-type".to_vec(), b"x-a".to_vec()]),
                        250..300,
                    ),
                ]
                .prop_map(|els| els.join(&b","[..])),
                0..3,
            ),
        ) {
            static POLICIES: OnceLock<[Policy; 2]> = OnceLock::new();
            let policies = POLICIES.get_or_init(|| {
                [&["content-type", "x-a"][..], &["*"][..]].map(|request_headers| {
                    Config::new()
                        .origins(["https://a.example"])
                        .request_headers(request_headers.iter().copied())
                        .compile()
                        .unwrap()
                })
            });
            let lines = Lines(lines);
            for p in policies {
                proptest::prop_assert_eq!(
                    p.default.check_request_headers(&lines),
                    check_request_headers_reference(&p.default, &lines)
                );
            }
        }
    }

    fn req(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    #[test]
    fn allowed_headers_match_case_insensitively_in_short_and_long_lists() {
        // Up to NameSet::FEW names are scanned, more are hashed: both must agree.
        for n in [1usize, NameSet::FEW, NameSet::FEW + 1, 40] {
            let names: Vec<String> = (0..n).map(|i| format!("x-custom-{i}")).collect();
            let p = Config::new()
                .origins(["https://app.example.com"])
                .methods(["PUT"])
                .request_headers(names.clone())
                .compile()
                .unwrap();
            let preflight = |acrh: &str| {
                p.evaluate(
                    &Method::OPTIONS,
                    "/",
                    &req(&[
                        ("origin", "https://app.example.com"),
                        ("access-control-request-method", "PUT"),
                        ("access-control-request-headers", acrh),
                    ]),
                )
                .kind()
            };
            let last = names.last().unwrap();
            assert_eq!(preflight(last), DecisionKind::PreflightAllow, "{n} names");
            assert_eq!(
                preflight(&last.to_uppercase()),
                DecisionKind::PreflightAllow,
                "{n} names, uppercase request"
            );
            assert_eq!(
                preflight(&format!("{last}, x-custom-0")),
                DecisionKind::PreflightAllow
            );
            // Same length, different bytes; a prefix; an extension.
            assert_eq!(
                preflight("x-custom-z"),
                DecisionKind::PreflightDeny,
                "{n} names"
            );
            assert_eq!(
                preflight("x-custom-"),
                DecisionKind::PreflightDeny,
                "{n} names"
            );
            assert_eq!(preflight(&format!("{last}0")), DecisionKind::PreflightDeny);
        }
    }

    #[test]
    fn ten_thousand_origins_and_a_thousand_patterns() {
        let mut origins: Vec<String> = (0..10_000)
            .map(|i| format!("https://app{i}.customer.example"))
            .collect();
        origins.extend((0..1_000).map(|i| format!("https://*.tenant{i}.example.net")));
        let p = Config::new().origins(origins).compile().unwrap();
        let allowed = |o: &str| {
            p.evaluate(&Method::GET, "/", &req(&[("origin", o)])).kind()
                == DecisionKind::ActualAllow
        };
        assert!(allowed("https://app9999.customer.example"));
        assert!(allowed("https://x.y.tenant999.example.net"));
        assert!(!allowed("https://tenant999.example.net"));
        assert!(!allowed("https://app10000.customer.example"));
        assert!(!allowed("https://x.tenant1000.example.net"));
    }

    #[test]
    fn pattern_matcher_agrees_with_naive_scan() {
        let patterns = [
            "https://a.example",
            "https://*.example.com",
            "https://*.example.com:8443",
            "http://localhost:*",
            "https://*.b.example.org:*",
        ];
        let p = Config::new().origins(patterns).compile().unwrap();
        let parsed: Vec<OriginPattern> = patterns.iter().map(|s| s.parse().unwrap()).collect();
        let probes = [
            "https://a.example",
            "https://b.a.example",
            "https://example.com",
            "https://x.example.com",
            "https://x.example.com:8443",
            "https://x.example.com:8444",
            "http://x.example.com",
            "http://localhost",
            "http://localhost:1",
            "https://localhost:1",
            "https://b.example.org",
            "https://c.b.example.org:7",
            "https://cb.example.org",
            "https://x.example.com.evil",
        ];
        for o in probes {
            let naive = parsed.iter().any(|pat| pat.matches(o.as_bytes()));
            let fast = p.evaluate(&Method::GET, "/", &req(&[("origin", o)])).kind()
                == DecisionKind::ActualAllow;
            assert_eq!(naive, fast, "{o}");
        }
    }

    #[test]
    fn config_round_trips_through_policy() {
        let cfg = Config::from_toml(include_str!("../../../examples/cors.toml")).unwrap();
        let p = cfg.compile().unwrap();
        assert_eq!(p.config(), &cfg);
        let again = Config::from_toml(&p.config().to_toml()).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn route_errors_are_reported_once_and_where_they_are() {
        let src = "origins = [\"https://a.example/\"]\n[[routes]]\npath = \"/x/\"\ncredentials = true\norigins = \"*\"\n[[routes]]\npath = \"x\"\n";
        let e = Policy::from_toml(src).unwrap_err();
        let got: Vec<_> = e.errors().map(|d| (d.code, d.field.as_str())).collect();
        assert_eq!(
            got,
            [
                ("invalid_origin", "origins[0]"),
                ("wildcard_with_credentials", "routes[0].origins"),
                ("invalid_route_path", "routes[1].path"),
            ]
        );
    }

    #[test]
    fn shared_policy_swaps_under_readers() {
        let a = Config::new()
            .origins(["https://a.example"])
            .compile()
            .unwrap();
        let b = Config::new()
            .origins(["https://b.example"])
            .compile()
            .unwrap();
        let shared = SharedPolicy::new(a);
        let headers = req(&[("origin", "https://b.example")]);
        let reader = shared.clone();
        let t = std::thread::spawn(move || {
            let mut seen_allow = false;
            for _ in 0..200_000 {
                let d = reader.load().evaluate(&Method::GET, "/", &headers);
                if d.kind() == DecisionKind::ActualAllow {
                    seen_allow = true;
                } else {
                    assert!(!seen_allow, "went back to the old policy");
                }
            }
            seen_allow
        });
        shared.store(b);
        assert!(t.join().unwrap());
    }

    #[test]
    fn merge_vary_cases() {
        let mut h = HeaderMap::new();
        merge_vary(&mut h, VarySet::ORIGIN.with(VarySet::REQUEST_METHOD));
        assert_eq!(h.get_all(header::VARY).iter().count(), 1);
        merge_vary(&mut h, VarySet::ORIGIN.with(VarySet::REQUEST_HEADERS));
        let lines: Vec<_> = h.get_all(header::VARY).iter().collect();
        assert_eq!(
            lines,
            [
                "Origin, Access-Control-Request-Method",
                "Access-Control-Request-Headers"
            ]
        );
        merge_vary(&mut h, VarySet::ORIGIN);
        assert_eq!(h.get_all(header::VARY).iter().count(), 2);
    }

    #[test]
    fn strip_removes_upstream_cors_headers() {
        let mut h = req(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-private-network", "true"),
            ("content-type", "text/plain"),
        ]);
        strip_cors_headers(&mut h);
        assert_eq!(h.len(), 1);
        // Each name alone (the fast path must recognise every one of them).
        for name in &CORS_RESPONSE_HEADERS {
            let mut h = req(&[("content-type", "text/plain")]);
            h.append(name.clone(), HeaderValue::from_static("x"));
            strip_cors_headers(&mut h);
            assert_eq!(h.len(), 1, "{name} not stripped");
        }
    }
}
