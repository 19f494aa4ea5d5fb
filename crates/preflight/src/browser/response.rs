//! The response side: the CORS check (Fetch "CORS check"), preflight response validation
//! ("CORS-preflight fetch" step 7), `Access-Control-Max-Age`, and exposed headers ("main fetch",
//! CORS filtered response).

use super::headers::{eq_ci, get, token_list_into, Header, TokenList};
use super::reason::{Failure, Reason};
use super::request::PreparedRequest;
use super::safelist::{
    is_cors_safelisted_method, is_forbidden_response_header_name, SAFELISTED_RESPONSE_HEADERS,
};
use super::small::Small;
use super::{Behavior, CredentialsMode};

/// The CORS check (R38–R42), with the failure classified the way Chromium does (C14).
/// `origin` is the byte-serialized request origin (`null` after a tainting redirect).
///
/// ```
/// use preflight::browser::{cors_check, CredentialsMode, Reason};
/// let h = vec![("Access-Control-Allow-Origin".to_string(), "*".to_string())];
/// assert!(cors_check("https://a.test", CredentialsMode::SameOrigin, &h).is_ok());
/// let e = cors_check("https://a.test", CredentialsMode::Include, &h).unwrap_err();
/// assert_eq!(e.reason, Reason::WildcardOriginNotAllowed);
/// ```
///
/// # Errors
/// The failing check, with the offending value as the detail.
pub fn cors_check(
    origin: &str,
    credentials: CredentialsMode,
    headers: &[Header],
) -> Result<(), Failure> {
    let include = credentials == CredentialsMode::Include;
    // Step 1–2: origin = get ACAO; null → failure.
    let Some(acao) = get(headers, "access-control-allow-origin") else {
        return Err(Failure::new(Reason::MissingAllowOriginHeader, ""));
    };
    // Step 3: not include and `*` → success.
    if acao == "*" {
        if !include {
            return Ok(());
        }
        return Err(Failure::new(Reason::WildcardOriginNotAllowed, "*"));
    }
    // Step 4: byte-equal to the serialized origin, else failure.
    if acao != origin {
        let reason = if acao.contains([' ', ',']) {
            Reason::MultipleAllowOriginValues
        } else if acao == "null" {
            Reason::AllowOriginMismatch
        } else if !super::fast_url::is_valid_url(&acao) {
            Reason::InvalidAllowOriginValue
        } else {
            Reason::AllowOriginMismatch
        };
        return Err(Failure::new(reason, acao.into_owned()));
    }
    // Step 5: not include → success.
    if !include {
        return Ok(());
    }
    // Step 6–7: ACAC must be exactly `true`.
    match get(headers, "access-control-allow-credentials") {
        Some(v) if v == "true" => Ok(()),
        v => Err(Failure::new(
            Reason::InvalidAllowCredentials,
            v.map(|v| v.into_owned()).unwrap_or_default(),
        )),
    }
}

/// Is `status` an ok status (200–299, R8)?
pub fn is_ok_status(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// Is `status` a redirect status (301, 302, 303, 307, 308, R8)?
pub fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// What a successful preflight allows, for the preflight cache (R30, R31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreflightOk {
    /// `Access-Control-Allow-Methods` items, as received.
    pub methods: Vec<String>,
    /// `Access-Control-Allow-Headers` items, as received.
    pub header_names: Vec<String>,
    /// The max-age in seconds after the behaviour's default and cap (R30, C1).
    pub max_age: u64,
    /// Chromium only: `*` let `Authorization` through (C7; a deprecation warning in Chromium).
    pub authorization_covered_by_wildcard: bool,
}

/// The Private Network Access part of a preflight (legacy WICG draft, R58).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreflightKind {
    /// A CORS preflight only.
    Cors,
    /// A PNA-only preflight (no method/header checks).
    Pna,
    /// Both.
    CorsAndPna,
}

/// The max-age cap of Chromium, in seconds (C1).
pub const CHROMIUM_MAX_AGE_CAP: u64 = 7200;
/// The max-age cap of Firefox, in seconds (§2).
pub const FIREFOX_MAX_AGE_CAP: u64 = 86_400;
/// The max-age cap of WebKit, in seconds (§2).
pub const WEBKIT_MAX_AGE_CAP: u64 = 600;
/// The default max-age, in seconds (R30).
pub const DEFAULT_MAX_AGE: u64 = 5;

/// R30 / C1: the preflight cache lifetime `Access-Control-Max-Age` asks for, before any cap.
/// Spec: `delta-seconds` on exactly one line, else 5. Chromium: one integer (lines joined by
/// `", "` first), negative → 0, unparsable → 5.
///
/// ```
/// use preflight::browser::{parse_max_age, Behavior};
/// let h = |v: &str| vec![("Access-Control-Max-Age".to_string(), v.to_string())];
/// assert_eq!(parse_max_age(&h("600"), Behavior::Spec), 600);
/// assert_eq!(parse_max_age(&h("abc"), Behavior::Spec), 5);
/// assert_eq!(parse_max_age(&h("-1"), Behavior::Spec), 5);
/// assert_eq!(parse_max_age(&h("-1"), Behavior::Chromium), 0);
/// ```
pub fn parse_max_age(headers: &[Header], behavior: Behavior) -> u64 {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let value = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    match behavior {
        Behavior::Spec => {
            if super::headers::count(headers, "access-control-max-age") != 1 {
                return DEFAULT_MAX_AGE;
            }
            match get(headers, "access-control-max-age") {
                Some(v) if digits(&v) => value(&v),
                _ => DEFAULT_MAX_AGE,
            }
        }
        Behavior::Chromium => match get(headers, "access-control-max-age") {
            Some(v) => {
                if digits(&v) {
                    value(&v)
                } else if v.strip_prefix('-').is_some_and(digits) {
                    0
                } else {
                    DEFAULT_MAX_AGE
                }
            }
            None => DEFAULT_MAX_AGE,
        },
    }
}

/// Validates a preflight response (CORS-preflight fetch step 7, R23–R30) with Chromium's
/// precedence (C15): CORS check, ok status, PNA header, ACAM parse, ACAH parse, method,
/// headers. `origin` is the byte-serialized request origin; `max_age_cap` the UA's limit.
///
/// # Errors
/// The first failing check; CORS-check reasons come back as their `Preflight*` variants.
///
/// ```
/// use preflight::browser::*;
/// let h: Vec<(String, String)> = vec![];
/// let req = prepare(&RequestInit { method: "PUT", headers: &h,
///     credentials: CredentialsMode::Omit, mode: RequestMode::Cors, body: None, cache: None },
///     Behavior::Spec).unwrap();
/// let resp = vec![("Access-Control-Allow-Origin".to_string(), "*".to_string()),
///                 ("Access-Control-Allow-Methods".to_string(), "put".to_string())];
/// let err = check_preflight_response(&req, "https://a.test", 204, &resp, PreflightKind::Cors, u64::MAX).unwrap_err();
/// assert_eq!(err.reason, Reason::MethodDisallowedByPreflightResponse);
/// ```
pub fn check_preflight_response(
    request: &PreparedRequest,
    origin: &str,
    status: u16,
    headers: &[Header],
    kind: PreflightKind,
    max_age_cap: u64,
) -> Result<PreflightOk, Failure> {
    let refs: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let names: Vec<&str> = request
        .unsafe_header_names
        .iter()
        .map(String::as_str)
        .collect();
    let view = ReqView {
        method: &request.method,
        headers: &refs,
        unsafe_names: &names,
        credentials: request.credentials,
        behavior: request.behavior,
        use_cors_preflight: request.use_cors_preflight,
    };
    let ok = check_preflight(&view, origin, status, headers, kind, max_age_cap)?;
    Ok(PreflightOk {
        methods: ok.methods.iter().map(|m| m.to_string()).collect(),
        header_names: ok.header_names.iter().map(|h| h.to_string()).collect(),
        max_age: ok.max_age,
        authorization_covered_by_wildcard: ok.authorization_covered_by_wildcard,
    })
}

/// The request as the preflight check sees it (borrowed).
pub(crate) struct ReqView<'r, 'x> {
    pub method: &'r str,
    pub headers: &'x [(&'x str, &'x str)],
    pub unsafe_names: &'x [&'x str],
    pub credentials: CredentialsMode,
    pub behavior: Behavior,
    pub use_cors_preflight: bool,
}

/// [`PreflightOk`] borrowing the response's lists.
pub(crate) struct OkRef<'r> {
    pub methods: TokenList<'r>,
    pub header_names: TokenList<'r>,
    pub max_age: u64,
    pub authorization_covered_by_wildcard: bool,
}

/// [`check_preflight_response`] on borrowed inputs, without allocating on success.
pub(crate) fn check_preflight<'r>(
    request: &ReqView<'r, '_>,
    origin: &str,
    status: u16,
    headers: &'r [Header],
    kind: PreflightKind,
    max_age_cap: u64,
) -> Result<OkRef<'r>, Failure> {
    if is_redirect_status(status) && super::headers::contains(headers, "location") {
        // R22: never followed; Chromium reports it before anything else (C15).
        return Err(Failure::new(Reason::PreflightDisallowedRedirect, ""));
    }
    // R23: the CORS check uses the actual request's credentials mode.
    cors_check(origin, request.credentials, headers).map_err(|f| Failure {
        reason: f.reason.on_preflight(),
        detail: f.detail,
    })?;
    // R24.
    if !is_ok_status(status) {
        return Err(Failure::new(
            Reason::PreflightInvalidStatus,
            status.to_string(),
        ));
    }
    if kind != PreflightKind::Cors {
        // R58: extract header list values of ACAPN must be exactly `true`.
        match get(headers, "access-control-allow-private-network") {
            None => {
                return Err(Failure::new(
                    Reason::PreflightMissingAllowPrivateNetwork,
                    "",
                ))
            }
            Some(v) if v != "true" => {
                return Err(Failure::new(
                    Reason::PreflightInvalidAllowPrivateNetwork,
                    v.into_owned(),
                ))
            }
            Some(_) => {}
        }
    }
    let include = request.credentials == CredentialsMode::Include;
    // R25: both lists must parse, whether or not they are needed.
    let mut methods: TokenList<'r> = Small::new();
    match token_list_into(headers, "access-control-allow-methods", &mut methods) {
        Some(Err(bad)) => {
            return Err(Failure::new(
                Reason::InvalidAllowMethodsPreflightResponse,
                bad,
            ))
        }
        // R26: no `Access-Control-Allow-Methods` and the use-CORS-preflight flag: the
        // request's method. Chromium has no such step (its preflight result holds no method).
        None if request.use_cors_preflight && request.behavior == Behavior::Spec => {
            methods.push(request.method);
        }
        _ => {}
    }
    let mut header_names: TokenList<'r> = Small::new();
    if let Some(Err(bad)) =
        token_list_into(headers, "access-control-allow-headers", &mut header_names)
    {
        return Err(Failure::new(
            Reason::InvalidAllowHeadersPreflightResponse,
            bad,
        ));
    }
    let mut authorization_covered_by_wildcard = false;
    if kind != PreflightKind::Pna {
        // R27: byte-exact method match; `*` only without credentials.
        let m = request.method;
        if !methods.contains(&m)
            && !is_cors_safelisted_method(m)
            && (include || !methods.contains(&"*"))
        {
            return Err(Failure::new(Reason::MethodDisallowedByPreflightResponse, m));
        }
        let star = !include && header_names.contains(&"*");
        let listed = |n: &str| header_names.iter().any(|h| eq_ci(h, n));
        // R28 (spec): `*` never covers Authorization. C7: Chromium lets `*` cover it.
        // Unsafe names in request order (Chromium reports the first disallowed one, C15).
        for &(name, _) in request.headers {
            if !request.unsafe_names.iter().any(|u| eq_ci(u, name)) || listed(name) {
                continue;
            }
            if name.eq_ignore_ascii_case("authorization") {
                if request.behavior == Behavior::Chromium && star {
                    authorization_covered_by_wildcard = true;
                    continue;
                }
                return Err(Failure::new(
                    Reason::HeaderDisallowedByPreflightResponse,
                    name.to_ascii_lowercase(),
                ));
            }
            // R29.
            if !star {
                return Err(Failure::new(
                    Reason::HeaderDisallowedByPreflightResponse,
                    name.to_ascii_lowercase(),
                ));
            }
        }
    }
    let max_age = parse_max_age(headers, request.behavior).min(max_age_cap);
    Ok(OkRef {
        methods,
        header_names,
        max_age,
        authorization_covered_by_wildcard,
    })
}

/// R44: the response headers script can read on a CORS response: sorted, lowercased,
/// de-duplicated names. `Set-Cookie`/`Set-Cookie2` never; `*` in
/// `Access-Control-Expose-Headers` means "all" only without credentials.
///
/// ```
/// use preflight::browser::{exposed_headers, CredentialsMode};
/// let h: Vec<(String, String)> = [("Access-Control-Expose-Headers", "*"), ("X-A", "1"),
///     ("Set-Cookie", "a=b"), ("Content-Type", "text/plain")]
///     .iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
/// assert_eq!(exposed_headers(CredentialsMode::Omit, &h),
///     vec!["access-control-expose-headers", "content-type", "x-a"]);
/// assert_eq!(exposed_headers(CredentialsMode::Include, &h), vec!["content-type"]);
/// ```
pub fn exposed_headers(credentials: CredentialsMode, headers: &[Header]) -> Vec<String> {
    // A parse failure is treated as "no list" (research notes: open question).
    let mut list: TokenList<'_> = Small::new();
    if let Some(Err(_)) = token_list_into(headers, "access-control-expose-headers", &mut list) {
        list.truncate(0);
    }
    let all = credentials != CredentialsMode::Include && list.contains(&"*");
    let mut out: Vec<String> = Vec::new();
    for (name, _) in headers {
        if is_forbidden_response_header_name(name) {
            continue;
        }
        let ok = all
            || SAFELISTED_RESPONSE_HEADERS.iter().any(|s| eq_ci(s, name))
            || list.iter().any(|l| eq_ci(l, name));
        if ok {
            out.push(name.to_ascii_lowercase());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Headers exposed on a basic (same-origin) response: all but `Set-Cookie`/`Set-Cookie2`.
pub(crate) fn basic_exposed(headers: &[Header]) -> Vec<String> {
    let mut out: Vec<String> = headers
        .iter()
        .filter(|(n, _)| !is_forbidden_response_header_name(n))
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
