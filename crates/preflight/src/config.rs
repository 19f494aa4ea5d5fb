//! The server policy as a person writes it: a Rust builder or a TOML file, one model.
//!
//! A [`Config`] is plain data, not yet checked. [`Config::compile`] validates **everything at
//! once** and either returns a compiled [`Policy`](crate::Policy) or every mistake, each naming
//! the field, the value and why ([`ConfigErrors`]). Choices that work but surprise come back as
//! warnings ([`Policy::warnings`](crate::Policy::warnings)).
//!
//! The TOML format:
//!
//! ```toml
//! origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*"]  # or "*"
//! credentials = true
//! methods = ["GET", "POST", "PUT", "DELETE"]           # or "*" (only without credentials)
//! request_headers = ["content-type", "authorization"]  # or "*" (never covers authorization)
//! expose_headers = ["x-request-id"]
//! max_age = 600
//! preflight_status = 204
//! private_network = false
//!
//! [[routes]]             # per-path overrides, longest prefix wins; unset keys are inherited
//! path = "/public/"
//! origins = "*"
//! credentials = false
//! ```
//!
//! ```
//! use preflight::Config;
//! let policy = Config::new()
//!     .origins(["https://app.example.com", "https://*.example.com"])
//!     .credentials(true)
//!     .methods(["GET", "POST", "PUT"])
//!     .request_headers(["content-type", "authorization"])
//!     .max_age(600)
//!     .compile()?;
//! assert!(policy.warnings().is_empty());
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::headers;
use crate::pattern::{OriginPattern, PatternError};

/// Chromium's cap on `Access-Control-Max-Age`, in seconds.
pub const CHROMIUM_MAX_AGE_CAP: u64 = 7200;
/// Firefox's cap on `Access-Control-Max-Age`, in seconds.
pub const FIREFOX_MAX_AGE_CAP: u64 = 86_400;
/// The longest request-header name a policy may list, in bytes.
pub const MAX_HEADER_NAME_LEN: usize = 256;

/// The server's CORS configuration (unvalidated). See the [module docs](self).
///
/// List fields accept the single element `"*"` as a wildcard (written `"*"` in TOML); for
/// `request_headers`, `["*", "authorization"]` is the wildcard plus Authorization, which `*`
/// never covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Allowed origins and patterns, or `["*"]`.
    #[serde(serialize_with = "ser_list")]
    pub origins: Vec<String>,
    /// Whether credentialed requests (cookies, HTTP auth) may read responses.
    pub credentials: bool,
    /// Methods a preflight may ask for (GET, HEAD and POST never need listing), or `["*"]`.
    #[serde(serialize_with = "ser_list")]
    pub methods: Vec<String>,
    /// Request headers a preflight may ask for, or `["*"]`.
    #[serde(serialize_with = "ser_list")]
    pub request_headers: Vec<String>,
    /// Response headers scripts may read beyond the safelisted ones, or `["*"]`.
    #[serde(serialize_with = "ser_list")]
    pub expose_headers: Vec<String>,
    /// `Access-Control-Max-Age` in seconds; `None` leaves the browser default (5 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Status of an allowed preflight (200–299).
    pub preflight_status: u16,
    /// Answer Private Network Access preflights (legacy; Chrome has PNA on hold).
    pub private_network: bool,
    /// Allow the opaque origin `null` (sandboxed iframes, `file:` pages, anyone who wants it).
    pub dangerously_allow_null_origin: bool,
    /// With `origins = "*"` and `credentials = true`: reflect **any** origin with credentials.
    pub dangerously_reflect_any_origin_with_credentials: bool,
    /// Allow plain-http (non-loopback) origins together with credentials.
    pub dangerously_allow_insecure_origins: bool,
    /// Allow `*.` wildcards over public suffixes (`https://*.github.io`).
    pub dangerously_allow_public_suffix_wildcards: bool,
    /// Per-path overrides; the longest matching prefix wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// A per-path override. Unset fields inherit the top level's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteConfig {
    /// Path prefix, starting with `/` (`/public/` matches `/public/a`, not `/public`).
    pub path: String,
    /// See [`Config::origins`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_list"
    )]
    pub origins: Option<Vec<String>>,
    /// See [`Config::credentials`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<bool>,
    /// See [`Config::methods`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_list"
    )]
    pub methods: Option<Vec<String>>,
    /// See [`Config::request_headers`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_list"
    )]
    pub request_headers: Option<Vec<String>>,
    /// See [`Config::expose_headers`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_list"
    )]
    pub expose_headers: Option<Vec<String>>,
    /// See [`Config::max_age`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// See [`Config::preflight_status`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight_status: Option<u16>,
    /// See [`Config::private_network`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network: Option<bool>,
    /// See [`Config::dangerously_allow_null_origin`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_allow_null_origin: Option<bool>,
    /// See [`Config::dangerously_reflect_any_origin_with_credentials`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_reflect_any_origin_with_credentials: Option<bool>,
    /// See [`Config::dangerously_allow_insecure_origins`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_allow_insecure_origins: Option<bool>,
    /// See [`Config::dangerously_allow_public_suffix_wildcards`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_allow_public_suffix_wildcards: Option<bool>,
}

fn ser_list<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    if v.len() == 1 && v.first().is_some_and(|x| x == "*") {
        s.serialize_str("*")
    } else {
        v.serialize(s)
    }
}

fn ser_opt_list<S: serde::Serializer>(v: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => ser_list(v, s),
        None => s.serialize_none(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            origins: Vec::new(),
            credentials: false,
            methods: Vec::new(),
            request_headers: Vec::new(),
            expose_headers: Vec::new(),
            max_age: None,
            preflight_status: 204,
            private_network: false,
            dangerously_allow_null_origin: false,
            dangerously_reflect_any_origin_with_credentials: false,
            dangerously_allow_insecure_origins: false,
            dangerously_allow_public_suffix_wildcards: false,
            routes: Vec::new(),
        }
    }
}

fn strings<I, S>(v: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    v.into_iter().map(Into::into).collect()
}

impl Config {
    /// An empty configuration (no origin allowed yet; `compile` says so).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`Config::origins`].
    #[must_use]
    pub fn origins<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.origins = strings(v);
        self
    }

    /// Allows any origin (`Access-Control-Allow-Origin: *`).
    #[must_use]
    pub fn any_origin(self) -> Self {
        self.origins(["*"])
    }

    /// Sets [`Config::credentials`].
    #[must_use]
    pub fn credentials(mut self, v: bool) -> Self {
        self.credentials = v;
        self
    }

    /// Sets [`Config::methods`].
    #[must_use]
    pub fn methods<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.methods = strings(v);
        self
    }

    /// Sets [`Config::request_headers`].
    #[must_use]
    pub fn request_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.request_headers = strings(v);
        self
    }

    /// Sets [`Config::expose_headers`].
    #[must_use]
    pub fn expose_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.expose_headers = strings(v);
        self
    }

    /// Sets [`Config::max_age`].
    #[must_use]
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Sets [`Config::preflight_status`].
    #[must_use]
    pub fn preflight_status(mut self, status: u16) -> Self {
        self.preflight_status = status;
        self
    }

    /// Sets [`Config::private_network`].
    #[must_use]
    pub fn private_network(mut self, v: bool) -> Self {
        self.private_network = v;
        self
    }

    /// Sets [`Config::dangerously_allow_null_origin`].
    #[must_use]
    pub fn dangerously_allow_null_origin(mut self, v: bool) -> Self {
        self.dangerously_allow_null_origin = v;
        self
    }

    /// Sets [`Config::dangerously_reflect_any_origin_with_credentials`].
    #[must_use]
    pub fn dangerously_reflect_any_origin_with_credentials(mut self, v: bool) -> Self {
        self.dangerously_reflect_any_origin_with_credentials = v;
        self
    }

    /// Sets [`Config::dangerously_allow_insecure_origins`].
    #[must_use]
    pub fn dangerously_allow_insecure_origins(mut self, v: bool) -> Self {
        self.dangerously_allow_insecure_origins = v;
        self
    }

    /// Sets [`Config::dangerously_allow_public_suffix_wildcards`].
    #[must_use]
    pub fn dangerously_allow_public_suffix_wildcards(mut self, v: bool) -> Self {
        self.dangerously_allow_public_suffix_wildcards = v;
        self
    }

    /// Adds a per-path override.
    #[must_use]
    pub fn route(mut self, route: RouteConfig) -> Self {
        self.routes.push(route);
        self
    }

    /// Validates and compiles. See [`crate::Policy::new`].
    ///
    /// # Errors
    /// Every mistake at once, in [`ConfigErrors`].
    pub fn compile(&self) -> Result<crate::Policy, ConfigErrors> {
        crate::Policy::new(self)
    }

    /// Validates without compiling: all errors and warnings.
    pub fn lint(&self) -> Vec<Diagnostic> {
        match self.compile() {
            Ok(p) => p.warnings().to_vec(),
            Err(e) => e.diagnostics().to_vec(),
        }
    }

    /// Serializes to the TOML policy format.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Parses the TOML policy format. Unknown keys and wrong types are errors, all reported at
    /// once with their line numbers; the values themselves are checked by [`Config::compile`]
    /// (use [`crate::Policy::from_toml`] to do both and keep line numbers on every error).
    ///
    /// # Errors
    /// Every syntax, key and type error.
    pub fn from_toml(input: &str) -> Result<Config, ConfigErrors> {
        let (cfg, _spans, diags) = parse_toml(input);
        if diags.iter().any(|d| d.severity == Severity::Error) {
            Err(ConfigErrors { diagnostics: diags })
        } else {
            Ok(cfg)
        }
    }

    /// The effective configuration of a route: the route's values over the top level's.
    pub fn effective(&self, route: &RouteConfig) -> Config {
        Config {
            origins: route
                .origins
                .clone()
                .unwrap_or_else(|| self.origins.clone()),
            credentials: route.credentials.unwrap_or(self.credentials),
            methods: route
                .methods
                .clone()
                .unwrap_or_else(|| self.methods.clone()),
            request_headers: route
                .request_headers
                .clone()
                .unwrap_or_else(|| self.request_headers.clone()),
            expose_headers: route
                .expose_headers
                .clone()
                .unwrap_or_else(|| self.expose_headers.clone()),
            max_age: route.max_age.or(self.max_age),
            preflight_status: route.preflight_status.unwrap_or(self.preflight_status),
            private_network: route.private_network.unwrap_or(self.private_network),
            dangerously_allow_null_origin: route
                .dangerously_allow_null_origin
                .unwrap_or(self.dangerously_allow_null_origin),
            dangerously_reflect_any_origin_with_credentials: route
                .dangerously_reflect_any_origin_with_credentials
                .unwrap_or(self.dangerously_reflect_any_origin_with_credentials),
            dangerously_allow_insecure_origins: route
                .dangerously_allow_insecure_origins
                .unwrap_or(self.dangerously_allow_insecure_origins),
            dangerously_allow_public_suffix_wildcards: route
                .dangerously_allow_public_suffix_wildcards
                .unwrap_or(self.dangerously_allow_public_suffix_wildcards),
            routes: Vec::new(),
        }
    }
}

impl RouteConfig {
    /// A route for a path prefix with every field inherited.
    pub fn new(path: impl Into<String>) -> Self {
        RouteConfig {
            path: path.into(),
            ..RouteConfig::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is refused.
    Error,
    /// The configuration works but probably not as intended.
    Warning,
}

/// One finding about a configuration: field, value, why, and (from TOML) the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code, e.g. `wildcard_with_credentials`.
    pub code: &'static str,
    /// The field, e.g. `origins[2]` or `routes[0].methods`.
    pub field: String,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// Why, and what to do instead.
    pub message: String,
    /// 1-based line in the TOML file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: ", self.code)?;
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        write!(f, "{}", self.field)?;
        if let Some(v) = &self.value {
            write!(f, " = {v:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error (and warning) found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    diagnostics: Vec<Diagnostic>,
}

impl ConfigErrors {
    pub(crate) fn from_diags(diagnostics: Vec<Diagnostic>) -> Self {
        ConfigErrors { diagnostics }
    }

    /// Errors first, then warnings.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        write!(
            f,
            "invalid CORS policy ({n} error{})",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// Validation

/// Field name → line, for TOML-sourced configs.
pub(crate) type Spans = Vec<(String, usize)>;

pub(crate) struct Validator<'a> {
    pub(crate) diags: Vec<Diagnostic>,
    spans: &'a Spans,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(spans: &'a Spans) -> Self {
        Validator {
            diags: Vec::new(),
            spans,
        }
    }

    fn line(&self, field: &str) -> Option<usize> {
        // Exact field first, then its parent list (`origins[2]` → `origins`).
        let parent = field.rsplit_once('[').map(|(p, _)| p);
        let lookup = |f: &str| self.spans.iter().find(|(k, _)| k == f).map(|(_, l)| *l);
        lookup(field)
            .or_else(|| parent.and_then(lookup))
            .or_else(|| field.rsplit_once('.').and_then(|(p, _)| lookup(p)))
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        field: &str,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        self.diags.push(Diagnostic {
            severity,
            code,
            field: field.to_owned(),
            value: value.map(str::to_owned),
            message: message.into(),
            line: self.line(field),
        });
    }

    fn error(
        &mut self,
        code: &'static str,
        field: &str,
        value: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.push(Severity::Error, code, field, value, msg);
    }

    fn warn(
        &mut self,
        code: &'static str,
        field: &str,
        value: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.push(Severity::Warning, code, field, value, msg);
    }
}

/// The validated, normalized content of one (route's) configuration, ready to compile.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub(crate) any_origin: bool,
    pub(crate) reflect_any: bool,
    pub(crate) allow_null: bool,
    pub(crate) patterns: Vec<OriginPattern>,
    pub(crate) credentials: bool,
    pub(crate) any_method: bool,
    /// Normalized, deduplicated, in config order.
    pub(crate) methods: Vec<String>,
    pub(crate) any_header: bool,
    /// Lowercased, deduplicated, in config order.
    pub(crate) headers: Vec<String>,
    pub(crate) any_expose: bool,
    pub(crate) expose: Vec<String>,
    pub(crate) max_age: Option<u64>,
    pub(crate) preflight_status: u16,
    pub(crate) private_network: bool,
}

fn is_star_list(v: &[String]) -> bool {
    v.iter().any(|s| s == "*")
}

/// Whether a list field is the wildcard; `*` with credentials is an error (`why` says what
/// browsers do instead).
fn star_list(
    list: &[String],
    credentials: bool,
    field: &str,
    v: &mut Validator<'_>,
    why: &str,
) -> bool {
    let star = is_star_list(list);
    if star && credentials {
        v.error("wildcard_with_credentials", field, Some("*"), why);
    }
    star
}

/// A header name must be a token; reports it when it is not.
fn header_name_ok(h: &str, field: &str, v: &mut Validator<'_>) -> bool {
    let ok = headers::is_token(h.as_bytes());
    if !ok {
        v.error(
            "invalid_header_name",
            field,
            Some(h),
            "not a valid header name (a token)",
        );
    }
    ok
}

/// Checks one effective configuration. `prefix` is `""` or `routes[N].`.
pub(crate) fn check(cfg: &Config, prefix: &str, top_level: bool, v: &mut Validator<'_>) -> Checked {
    let f = |name: &str| format!("{prefix}{name}");
    let mut out = Checked {
        credentials: cfg.credentials,
        max_age: cfg.max_age,
        preflight_status: cfg.preflight_status,
        private_network: cfg.private_network,
        ..Checked::default()
    };

    // --- origins
    let field = f("origins");
    if cfg.origins.is_empty() && top_level {
        v.error(
            "missing_origins",
            &field,
            None,
            "no origin is allowed; list the origins of your front ends, e.g. origins = [\"https://app.example.com\"], or \"*\" for a public API",
        );
    }
    let star = is_star_list(&cfg.origins);
    if star && cfg.origins.len() > 1 {
        v.error(
            "wildcard_in_list",
            &field,
            Some("*"),
            "\"*\" allows every origin, so listing others beside it means nothing; write origins = \"*\" alone, or remove it",
        );
    }
    if star {
        if cfg.credentials {
            if cfg.dangerously_reflect_any_origin_with_credentials {
                out.reflect_any = true;
            } else {
                v.error(
                    "wildcard_with_credentials",
                    &field,
                    Some("*"),
                    "browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests, and reflecting every origin with credentials lets any website act as your logged-in users; list the trusted origins (patterns like https://*.example.com work), or set credentials = false",
                );
            }
        } else {
            out.any_origin = true;
        }
    }
    if cfg.dangerously_reflect_any_origin_with_credentials && !(star && cfg.credentials) {
        v.warn(
            "dangerous_option_unused",
            &f("dangerously_reflect_any_origin_with_credentials"),
            Some("true"),
            "has no effect: it only applies together with origins = \"*\" and credentials = true",
        );
    }
    out.allow_null = cfg.dangerously_allow_null_origin;
    let mut seen = HashSet::new();
    for (i, o) in cfg.origins.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if o == "*" {
            continue;
        }
        if !seen.insert(o.as_str()) {
            v.warn("duplicate", &field, Some(o), "listed more than once");
            continue;
        }
        if o == "null" {
            if !cfg.dangerously_allow_null_origin {
                v.error(
                    "null_origin",
                    &field,
                    Some(o),
                    "the `null` origin is shared by every sandboxed iframe and local file, so any website can send it; remove it, or if you really must, set dangerously_allow_null_origin = true",
                );
            }
            out.allow_null = true;
            continue;
        }
        match OriginPattern::parse_with(o, cfg.dangerously_allow_public_suffix_wildcards) {
            Ok(p) => {
                if cfg.credentials && !cfg.dangerously_allow_insecure_origins && p.is_insecure() {
                    v.error(
                        "insecure_origin_with_credentials",
                        &field,
                        Some(o),
                        "a plain-http origin can be impersonated by anyone on the network path, and credentials = true would let it act as your users; use https (loopback and localhost are fine), or set dangerously_allow_insecure_origins = true",
                    );
                }
                out.patterns.push(p);
            }
            Err(e) => {
                let code = match e {
                    PatternError::PublicSuffix { .. } => "public_suffix_wildcard",
                    PatternError::MisplacedWildcard(_) | PatternError::WildcardIp(_) => {
                        "invalid_pattern"
                    }
                    _ => "invalid_origin",
                };
                v.error(code, &field, Some(o), e.to_string());
            }
        }
    }

    // --- methods
    let field = f("methods");
    out.any_method = star_list(&cfg.methods, cfg.credentials, &field, v, "browsers treat `Access-Control-Allow-Methods: *` as a literal method name on credentialed requests; list the methods");
    for (i, m) in cfg.methods.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if m == "*" {
            if cfg.methods.len() > 1 {
                v.warn(
                    "wildcard_in_list",
                    &field,
                    Some(m),
                    "\"*\" already allows every method",
                );
            }
            continue;
        }
        if !headers::is_token(m.as_bytes()) {
            v.error(
                "invalid_method",
                &field,
                Some(m),
                "not a valid HTTP method (a token: letters, digits and !#$%&'*+-.^_`|~)",
            );
            continue;
        }
        if headers::is_forbidden_method(m.as_bytes()) {
            v.error(
                "forbidden_method",
                &field,
                Some(m),
                "CONNECT, TRACE and TRACK are forbidden methods: fetch() refuses to send them, so allowing them only widens the attack surface",
            );
            continue;
        }
        let n = headers::normalize_method(m);
        if n != *m {
            v.warn(
                "method_normalized",
                &field,
                Some(m),
                format!("browsers normalize this method to `{n}`; write it that way"),
            );
        } else if m.bytes().any(|b| b.is_ascii_lowercase()) {
            v.warn(
                "method_case",
                &field,
                Some(m),
                format!("methods other than DELETE, GET, HEAD, OPTIONS, POST and PUT are case-sensitive: a script calling fetch(url, {{method: \"{}\"}}) sends `{}`, which this entry does not allow", m.to_ascii_uppercase(), m.to_ascii_uppercase()),
            );
        }
        if out.methods.contains(&n) {
            v.warn("duplicate", &field, Some(m), "listed more than once");
        } else {
            out.methods.push(n);
        }
    }

    // --- request headers
    let field = f("request_headers");
    out.any_header = star_list(&cfg.request_headers, cfg.credentials, &field, v, "browsers treat `Access-Control-Allow-Headers: *` as a literal header name on credentialed requests; list the headers");
    for (i, h) in cfg.request_headers.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if h == "*" {
            continue;
        }
        if !header_name_ok(h, &field, v) {
            continue;
        }
        if h.len() > MAX_HEADER_NAME_LEN {
            v.error(
                "invalid_header_name",
                &field,
                Some(h),
                format!("longer than {MAX_HEADER_NAME_LEN} bytes"),
            );
            continue;
        }
        if headers::is_forbidden_request_header(h) {
            v.error(
                "forbidden_request_header",
                &field,
                Some(h),
                "a forbidden request header: browsers never let scripts set it, so it never appears in a preflight; remove it",
            );
            continue;
        }
        let lower = h.to_ascii_lowercase();
        if headers::is_usually_safelisted_request_header(&lower) {
            v.warn(
                "safelisted_request_header",
                &field,
                Some(h),
                "CORS-safelisted for ordinary values, so browsers do not ask for it; listing it only matters for unusual values",
            );
        }
        if out.any_header && lower != "authorization" {
            v.warn(
                "wildcard_in_list",
                &field,
                Some(h),
                "\"*\" already covers it (it covers everything but authorization)",
            );
        }
        if out.headers.contains(&lower) {
            v.warn(
                "duplicate",
                &field,
                Some(h),
                "listed more than once (names are case-insensitive)",
            );
        } else {
            out.headers.push(lower);
        }
    }

    // --- expose headers
    let field = f("expose_headers");
    out.any_expose = star_list(&cfg.expose_headers, cfg.credentials, &field, v, "on credentialed requests browsers treat `Access-Control-Expose-Headers: *` as a literal header name; list the headers");
    for (i, h) in cfg.expose_headers.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if h == "*" {
            continue;
        }
        if !header_name_ok(h, &field, v) {
            continue;
        }
        if headers::is_forbidden_response_header(h) {
            v.error(
                "forbidden_response_header",
                &field,
                Some(h),
                "browsers never expose Set-Cookie to scripts, whatever the server says; remove it",
            );
            continue;
        }
        if headers::is_safelisted_response_header(h) {
            v.warn(
                "safelisted_response_header",
                &field,
                Some(h),
                "always readable by scripts; listing it changes nothing",
            );
            continue;
        }
        let lower = h.to_ascii_lowercase();
        if out.expose.contains(&lower) {
            v.warn(
                "duplicate",
                &field,
                Some(h),
                "listed more than once (names are case-insensitive)",
            );
        } else {
            out.expose.push(lower);
        }
    }

    // --- max_age, status, PNA
    if let Some(age) = cfg.max_age {
        let field = f("max_age");
        let val = age.to_string();
        if age > u64::from(u32::MAX) {
            v.error(
                "max_age_out_of_range",
                &field,
                Some(&val),
                "larger than any browser accepts; use at most 86400",
            );
        } else if age > FIREFOX_MAX_AGE_CAP {
            v.warn(
                "max_age_above_cap",
                &field,
                Some(&val),
                format!("browsers cap it: Chromium at {CHROMIUM_MAX_AGE_CAP} s, Firefox at {FIREFOX_MAX_AGE_CAP} s"),
            );
        } else if age > CHROMIUM_MAX_AGE_CAP {
            v.warn(
                "max_age_above_cap",
                &field,
                Some(&val),
                format!("Chromium caps it at {CHROMIUM_MAX_AGE_CAP} s (Firefox at {FIREFOX_MAX_AGE_CAP} s)"),
            );
        }
    }
    if !(200..=299).contains(&cfg.preflight_status) {
        v.error(
            "invalid_preflight_status",
            &f("preflight_status"),
            Some(&cfg.preflight_status.to_string()),
            "browsers fail a preflight whose status is not 200–299; use 204 or 200",
        );
    }
    if cfg.private_network && (out.any_origin || out.reflect_any) {
        v.warn(
            "private_network_any_origin",
            &f("private_network"),
            Some("true"),
            "with every origin allowed, any website on the internet may reach this private-network server from a visitor's browser",
        );
    }
    out
}

/// Validates route paths. Returns them in config order.
pub(crate) fn check_routes(cfg: &Config, v: &mut Validator<'_>) {
    let mut seen = HashSet::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        let field = format!("routes[{i}].path");
        if !r.path.starts_with('/') {
            v.error(
                "invalid_route_path",
                &field,
                Some(&r.path),
                "a path prefix must start with `/`",
            );
        } else if !seen.insert(r.path.as_str()) {
            v.error(
                "duplicate_route",
                &field,
                Some(&r.path),
                "another route has the same path",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TOML

const TOP_KEYS: &[&str] = &[
    "origins",
    "credentials",
    "methods",
    "request_headers",
    "expose_headers",
    "max_age",
    "preflight_status",
    "private_network",
    "dangerously_allow_null_origin",
    "dangerously_reflect_any_origin_with_credentials",
    "dangerously_allow_insecure_origins",
    "dangerously_allow_public_suffix_wildcards",
    "routes",
];

fn line_of(input: &str, span: Range<usize>) -> usize {
    input
        .get(..span.start.min(input.len()))
        .map_or(0, |s| s.bytes().filter(|&b| b == b'\n').count())
        + 1
}

fn closest(key: &str, candidates: &[&str]) -> Option<&'static str> {
    fn dist(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
                let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
                let ins = cur.get(j).copied().unwrap_or(0) + 1;
                cur.push(sub.min(del).min(ins));
            }
            prev = cur;
        }
        prev.last().copied().unwrap_or(usize::MAX)
    }
    TOP_KEYS
        .iter()
        .filter(|k| candidates.contains(k))
        .map(|k| (dist(key, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

type DeTable<'i> = toml::de::DeTable<'i>;
type DeValue<'i> = toml::de::DeValue<'i>;

struct TomlReader<'a> {
    input: &'a str,
    spans: Spans,
    diags: Vec<Diagnostic>,
}

impl TomlReader<'_> {
    fn err(
        &mut self,
        code: &'static str,
        field: &str,
        value: Option<String>,
        msg: impl Into<String>,
        span: Range<usize>,
    ) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            code,
            field: field.to_owned(),
            value,
            message: msg.into(),
            line: Some(line_of(self.input, span)),
        });
    }

    fn list(&mut self, field: &str, v: &toml::Spanned<DeValue<'_>>) -> Option<Vec<String>> {
        match v.get_ref() {
            DeValue::String(s) => Some(vec![s.to_string()]),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    self.spans
                        .push((f.clone(), line_of(self.input, item.span())));
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => self.err(
                            "wrong_type",
                            &f,
                            Some(describe(other)),
                            "expected a string",
                            item.span(),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                self.err(
                    "wrong_type",
                    field,
                    Some(describe(other)),
                    "expected a list of strings, or \"*\"",
                    v.span(),
                );
                None
            }
        }
    }

    fn bool(&mut self, field: &str, v: &toml::Spanned<DeValue<'_>>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.err(
                    "wrong_type",
                    field,
                    Some(describe(other)),
                    "expected true or false",
                    v.span(),
                );
                None
            }
        }
    }

    fn int(&mut self, field: &str, v: &toml::Spanned<DeValue<'_>>, max: u64) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n >= 0 && n.unsigned_abs() <= max => Some(n.unsigned_abs()),
                _ => {
                    self.err(
                        "out_of_range",
                        field,
                        Some(i.to_string()),
                        format!("expected a whole number from 0 to {max}"),
                        v.span(),
                    );
                    None
                }
            },
            other => {
                self.err(
                    "wrong_type",
                    field,
                    Some(describe(other)),
                    "expected a whole number",
                    v.span(),
                );
                None
            }
        }
    }

    /// Reads the keys shared by the top level and routes into a RouteConfig.
    fn fields(&mut self, prefix: &str, table: &DeTable<'_>, allowed: &[&str]) -> RouteConfig {
        let mut r = RouteConfig::default();
        for (k, v) in table {
            let key: &str = k.get_ref();
            let field = format!("{prefix}{key}");
            self.spans
                .push((field.clone(), line_of(self.input, k.span())));
            if !allowed.contains(&key) {
                let hint = closest(key, allowed)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                self.err(
                    "unknown_key",
                    &field,
                    None,
                    format!("unknown key{hint} (known keys: {})", allowed.join(", ")),
                    k.span(),
                );
                continue;
            }
            match key {
                "path" => match v.get_ref() {
                    DeValue::String(s) => r.path = s.to_string(),
                    other => self.err(
                        "wrong_type",
                        &field,
                        Some(describe(other)),
                        "expected a string",
                        v.span(),
                    ),
                },
                "origins" => r.origins = self.list(&field, v),
                "methods" => r.methods = self.list(&field, v),
                "request_headers" => r.request_headers = self.list(&field, v),
                "expose_headers" => r.expose_headers = self.list(&field, v),
                "credentials" => r.credentials = self.bool(&field, v),
                "private_network" => r.private_network = self.bool(&field, v),
                "dangerously_allow_null_origin" => {
                    r.dangerously_allow_null_origin = self.bool(&field, v)
                }
                "dangerously_reflect_any_origin_with_credentials" => {
                    r.dangerously_reflect_any_origin_with_credentials = self.bool(&field, v)
                }
                "dangerously_allow_insecure_origins" => {
                    r.dangerously_allow_insecure_origins = self.bool(&field, v)
                }
                "dangerously_allow_public_suffix_wildcards" => {
                    r.dangerously_allow_public_suffix_wildcards = self.bool(&field, v)
                }
                "max_age" => r.max_age = self.int(&field, v, u64::from(u32::MAX)),
                "preflight_status" => {
                    r.preflight_status =
                        self.int(&field, v, 999).and_then(|n| u16::try_from(n).ok())
                }
                _ => {}
            }
        }
        r
    }
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(x) => x.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// Parses TOML into a Config plus field→line spans plus key/type diagnostics.
pub(crate) fn parse_toml(input: &str) -> (Config, Spans, Vec<Diagnostic>) {
    let mut reader = TomlReader {
        input,
        spans: Vec::new(),
        diags: Vec::new(),
    };
    let doc = match DeTable::parse(input) {
        Ok(d) => d,
        Err(e) => {
            let line = e.span().map(|s| line_of(input, s));
            reader.diags.push(Diagnostic {
                severity: Severity::Error,
                code: "toml_syntax",
                field: String::new(),
                value: None,
                message: e.message().to_owned(),
                line,
            });
            return (Config::default(), reader.spans, reader.diags);
        }
    };
    let top_allowed: Vec<&str> = TOP_KEYS.to_vec();
    let top = reader.fields("", doc.get_ref(), &top_allowed);
    let mut cfg = Config::default().merge(&top);
    if let Some((k, v)) = doc.get_ref().iter().find(|(k, _)| *k.get_ref() == "routes") {
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut route_allowed: Vec<&str> = TOP_KEYS
                    .iter()
                    .copied()
                    .filter(|k| *k != "routes")
                    .collect();
                route_allowed.push("path");
                for (i, item) in items.iter().enumerate() {
                    let prefix = format!("routes[{i}].");
                    reader
                        .spans
                        .push((format!("routes[{i}]"), line_of(input, item.span())));
                    match item.get_ref() {
                        DeValue::Table(t) => {
                            let r = reader.fields(&prefix, t, &route_allowed);
                            if !t.iter().any(|(k, _)| *k.get_ref() == "path") {
                                reader.err(
                                    "missing_key",
                                    &format!("{prefix}path"),
                                    None,
                                    "every route needs a path prefix, e.g. path = \"/public/\"",
                                    item.span(),
                                );
                            }
                            cfg.routes.push(r);
                        }
                        other => reader.err(
                            "wrong_type",
                            &format!("routes[{i}]"),
                            Some(describe(other)),
                            "expected a table ([[routes]])",
                            item.span(),
                        ),
                    }
                }
            }
            other => reader.err(
                "wrong_type",
                "routes",
                Some(describe(other)),
                "expected an array of tables ([[routes]])",
                k.span(),
            ),
        }
    }
    reader.diags.sort_by_key(|d| d.line);
    (cfg, reader.spans, reader.diags)
}

impl Config {
    fn merge(self, r: &RouteConfig) -> Config {
        let mut c = self.effective(r);
        c.routes = self.routes;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(cfg: &Config) -> Vec<(&'static str, String)> {
        cfg.lint()
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.code, d.field))
            .collect()
    }

    #[test]
    fn every_error_at_once() {
        let cfg = Config::new()
            .origins(["*"])
            .credentials(true)
            .methods(["GET", "TRACE", "bad method", "*"])
            .request_headers(["cookie", "x ok", "*"])
            .expose_headers(["set-cookie", "*"])
            .preflight_status(302);
        let c = codes(&cfg);
        for want in [
            ("wildcard_with_credentials", "origins"),
            ("forbidden_method", "methods[1]"),
            ("invalid_method", "methods[2]"),
            ("wildcard_with_credentials", "methods"),
            ("forbidden_request_header", "request_headers[0]"),
            ("invalid_header_name", "request_headers[1]"),
            ("wildcard_with_credentials", "request_headers"),
            ("forbidden_response_header", "expose_headers[0]"),
            ("wildcard_with_credentials", "expose_headers"),
            ("invalid_preflight_status", "preflight_status"),
        ] {
            assert!(
                c.contains(&(want.0, want.1.to_owned())),
                "missing {want:?} in {c:?}"
            );
        }
    }

    #[test]
    fn origin_mistakes_say_what_to_write() {
        let cfg = Config::new().origins([
            "https://a.com/",
            "https://a.com:443",
            "HTTPS://B.com",
            "https://bücher.example",
            "https://u@a.com",
            "https://a.com/path",
            "https://*.co.uk",
            "null",
        ]);
        let d = cfg.lint();
        let errs: Vec<_> = d.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errs.len(), 8, "{errs:#?}");
        assert!(errs[0].message.contains("write `https://a.com`"));
        assert!(errs[1].message.contains("write `https://a.com`"));
        assert!(errs[2].message.contains("write `https://b.com`"));
        assert!(errs[3].message.contains("xn--bcher-kva.example"));
        assert_eq!(errs[6].code, "public_suffix_wildcard");
        assert_eq!(errs[7].code, "null_origin");
    }

    #[test]
    fn insecure_with_credentials() {
        let c = codes(
            &Config::new()
                .origins([
                    "http://a.com",
                    "http://localhost:*",
                    "http://127.0.0.1:3000",
                ])
                .credentials(true),
        );
        assert_eq!(
            c,
            vec![("insecure_origin_with_credentials", "origins[0]".to_owned())]
        );
        assert!(codes(&Config::new().origins(["http://a.com"]).credentials(false)).is_empty());
        assert!(codes(
            &Config::new()
                .origins(["http://a.com"])
                .credentials(true)
                .dangerously_allow_insecure_origins(true)
        )
        .is_empty());
    }

    #[test]
    fn warnings() {
        let cfg = Config::new()
            .origins(["https://a.com"])
            .methods(["put", "patch"])
            .request_headers(["accept"])
            .expose_headers(["content-type"])
            .max_age(10_000);
        let w: Vec<_> = cfg
            .lint()
            .into_iter()
            .map(|d| (d.severity, d.code))
            .collect();
        assert!(w.iter().all(|(s, _)| *s == Severity::Warning), "{w:?}");
        let codes: Vec<_> = w.iter().map(|(_, c)| *c).collect();
        assert_eq!(
            codes,
            [
                "method_normalized",
                "method_case",
                "safelisted_request_header",
                "safelisted_response_header",
                "max_age_above_cap"
            ]
        );
    }

    #[test]
    fn toml_round_trip_and_unknown_keys() {
        let src = r#"
origins = ["https://app.example.com", "https://*.example.com", "http://localhost:*"]
credentials = true
methods = ["GET", "POST", "PUT", "DELETE"]
request_headers = ["content-type", "authorization"]
expose_headers = ["x-request-id"]
max_age = 600
preflight_status = 204
private_network = false

[[routes]]
path = "/public/"
origins = "*"
credentials = false
"#;
        let cfg = Config::from_toml(src).unwrap();
        assert_eq!(cfg.routes.len(), 1);
        assert_eq!(
            cfg.routes[0].origins.as_deref(),
            Some(&["*".to_owned()][..])
        );
        let again = Config::from_toml(&cfg.to_toml()).unwrap();
        assert_eq!(cfg, again);
        assert!(cfg.compile().is_ok());

        let bad = "origin = [\"https://a.com\"]\ncredentials = \"yes\"\nmax_age = -1\n[[routes]]\norigins = 5\n";
        let e = Config::from_toml(bad).unwrap_err();
        let got: Vec<_> = e
            .diagnostics()
            .iter()
            .map(|d| (d.code, d.field.as_str(), d.line))
            .collect();
        assert!(got.contains(&("unknown_key", "origin", Some(1))), "{got:?}");
        assert!(
            e.diagnostics()[0]
                .message
                .contains("did you mean `origins`"),
            "sorted by line"
        );
        assert!(
            got.contains(&("wrong_type", "credentials", Some(2))),
            "{got:?}"
        );
        assert!(
            got.contains(&("out_of_range", "max_age", Some(3))),
            "{got:?}"
        );
        assert!(
            got.contains(&("wrong_type", "routes[0].origins", Some(5))),
            "{got:?}"
        );
        assert!(
            got.contains(&("missing_key", "routes[0].path", Some(4))),
            "{got:?}"
        );

        let e = Config::from_toml("origins = [").unwrap_err();
        assert_eq!(e.diagnostics()[0].code, "toml_syntax");
    }
}
