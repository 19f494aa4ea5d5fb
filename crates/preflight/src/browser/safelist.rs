//! Methods, forbidden request-headers and CORS-safelisted request-headers (Fetch §2.2.1–2.2.2).

use super::headers::{eq_ci, is_tchar, Header};
use super::small::Small;
use super::Behavior;

/// R1: CORS-safelisted method — `GET`, `HEAD` or `POST`, byte-exact.
pub fn is_cors_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// R3: forbidden method — `CONNECT`, `TRACE`, `TRACK`, byte-case-insensitive.
pub fn is_forbidden_method(method: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// R2: "normalize a method": uppercase `DELETE`, `GET`, `HEAD`, `OPTIONS`, `POST`, `PUT` when
/// they match byte-case-insensitively; every other method keeps its case.
///
/// ```
/// use preflight::browser::safelist::normalize_method;
/// assert_eq!(normalize_method("put"), "PUT");
/// assert_eq!(normalize_method("patch"), "patch");
/// ```
pub fn normalize_method(method: &str) -> std::borrow::Cow<'_, str> {
    for m in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if m.eq_ignore_ascii_case(method) {
            return std::borrow::Cow::Borrowed(m);
        }
    }
    std::borrow::Cow::Borrowed(method)
}

const FORBIDDEN_NAMES: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "access-control-request-private-network",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.as_bytes()
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// R4: forbidden request-header `(name, value)`.
///
/// ```
/// use preflight::browser::safelist::is_forbidden_request_header;
/// assert!(is_forbidden_request_header("Cookie", "a=b"));
/// assert!(is_forbidden_request_header("Sec-Foo", "1"));
/// assert!(is_forbidden_request_header("X-HTTP-Method-Override", "GET, trace"));
/// assert!(!is_forbidden_request_header("X-HTTP-Method-Override", "PATCH"));
/// ```
pub fn is_forbidden_request_header(name: &str, value: &str) -> bool {
    // Comparing lengths first keeps the common (allowed) name cheap.
    if FORBIDDEN_NAMES.iter().any(|f| eq_ci(f, name)) {
        return true;
    }
    if starts_with_ci(name, "proxy-") || starts_with_ci(name, "sec-") {
        return true;
    }
    if [
        "x-http-method",
        "x-http-method-override",
        "x-method-override",
    ]
    .iter()
    .any(|f| f.eq_ignore_ascii_case(name))
    {
        return super::headers::split_value(value)
            .iter()
            .any(|m| is_forbidden_method(m));
    }
    false
}

/// R10: CORS-unsafe request-header byte.
#[inline]
pub fn is_cors_unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != 0x09)
        || matches!(
            b,
            b'"' | b'('
                | b')'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'{'
                | b'}'
        )
        || b == 0x7F
}

fn language_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
}

/// The essence (`type/subtype`, lowercased) of "parse a MIME type", or `None` on failure.
/// Parameters never make parsing fail, so only the essence is computed.
pub fn mime_essence(value: &str) -> Option<String> {
    let v = value.trim_matches(|c: char| c.is_ascii() && super::headers::is_http_ws(c as u8));
    let (ty, rest) = v.split_once('/')?;
    if ty.is_empty() || !ty.bytes().all(is_tchar) {
        return None;
    }
    let sub = rest.split(';').next().unwrap_or("");
    let sub = sub.trim_end_matches(|c: char| c.is_ascii() && super::headers::is_http_ws(c as u8));
    if sub.is_empty() || !sub.bytes().all(is_tchar) {
        return None;
    }
    let mut e = String::with_capacity(ty.len() + sub.len() + 1);
    e.push_str(ty);
    e.push('/');
    e.push_str(sub);
    e.make_ascii_lowercase();
    Some(e)
}

/// "Parse a single range header value" with allowWhitespace = false; returns whether it
/// succeeded with a non-null start (R9, `range`).
pub fn is_safelisted_range(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("bytes=") else {
        return false;
    };
    let Some((start, end)) = rest.split_once('-') else {
        return false;
    };
    if start.is_empty() || !start.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if end.is_empty() {
        return true;
    }
    if !end.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // start <= end, compared as arbitrary-precision decimals.
    let s = start.trim_start_matches('0');
    let e = end.trim_start_matches('0');
    (s.len(), s) <= (e.len(), e)
}

/// Chromium parses the range's positions as `int64_t` (`net::HttpUtil::ParseRangeHeader`): a
/// position of `i64::MAX` or more makes the header non-safelisted, so it needs a preflight
/// (observed with Chromium 156 by `scripts/browser-conformance`: `bytes=99999999999999999999-`
/// and `bytes=0-9223372036854775807` sent `Access-Control-Request-Headers: range`,
/// `bytes=0-9223372036854775806` did not).
fn range_fits_i64(value: &str) -> bool {
    let rest = value.strip_prefix("bytes=").unwrap_or(value);
    rest.split('-').all(|n| {
        let n = n.trim_start_matches('0');
        n.len() < 19 || (n.len() == 19 && n <= "9223372036854775806")
    })
}

/// Chromium's `1*DIGIT ["." 1*DIGIT]`.
fn similar_to_double(v: &str) -> bool {
    let (a, b) = match v.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    digits(a) && b.is_none_or(digits)
}

/// R9: CORS-safelisted request-header `(name, value)`. Under [`Behavior::Chromium`] the client
/// hints Chromium safelists are accepted too (C10).
///
/// ```
/// use preflight::browser::{safelist::is_cors_safelisted_request_header, Behavior};
/// assert!(is_cors_safelisted_request_header("Content-Type", "Text/Plain;charset=utf-8", Behavior::Spec));
/// assert!(!is_cors_safelisted_request_header("Content-Type", "application/json", Behavior::Spec));
/// assert!(is_cors_safelisted_request_header("Range", "bytes=500-", Behavior::Spec));
/// ```
pub fn is_cors_safelisted_request_header(name: &str, value: &str, behavior: Behavior) -> bool {
    if value.len() > 128 {
        return false;
    }
    let n = name.as_bytes();
    let eq = |s: &str| eq_ci(name, s);
    let chromium = behavior == Behavior::Chromium;
    // Dispatch on the length: one comparison for most names.
    match n.len() {
        6 if eq("accept") => !value.bytes().any(is_cors_unsafe_byte),
        15 if eq("accept-language") => value.bytes().all(language_byte_ok),
        16 if eq("content-language") => value.bytes().all(language_byte_ok),
        12 if eq("content-type") => {
            !value.bytes().any(is_cors_unsafe_byte) && safelisted_content_type(value)
        }
        5 if eq("range") => {
            is_safelisted_range(value) && (behavior == Behavior::Spec || range_fits_i64(value))
        }
        3 if chromium && eq("dpr") => similar_to_double(value),
        13 if chromium && eq("device-memory") => similar_to_double(value),
        5 if chromium && eq("width") => {
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
        }
        14 if chromium && eq("viewport-width") => {
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
        }
        9 if chromium && eq("save-data") => value.eq_ignore_ascii_case("on"),
        12 if chromium => eq("intervention"),
        _ => false,
    }
}

/// Whether the essence of `value` ([`mime_essence`]) is one of the three safelisted ones,
/// without building it.
fn safelisted_content_type(value: &str) -> bool {
    let v = value.trim_matches(|c: char| c.is_ascii() && super::headers::is_http_ws(c as u8));
    let Some((ty, rest)) = v.split_once('/') else {
        return false;
    };
    let sub = rest.split(';').next().unwrap_or("");
    let sub = sub.trim_end_matches(|c: char| c.is_ascii() && super::headers::is_http_ws(c as u8));
    // The candidates are tokens, so a match implies `mime_essence` would succeed too.
    let is = |t: &str, s: &str| ty.eq_ignore_ascii_case(t) && sub.eq_ignore_ascii_case(s);
    is("application", "x-www-form-urlencoded")
        || is("multipart", "form-data")
        || is("text", "plain")
}

/// R14: no-CORS-safelisted request-header name.
pub fn is_no_cors_safelisted_name(name: &str) -> bool {
    [
        "accept",
        "accept-language",
        "content-language",
        "content-type",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// R11: CORS-unsafe request-header names of a header list: lowercased, de-duplicated, sorted.
///
/// Spec: entries are checked one by one and safelisted values count towards a 1024-byte total.
/// Chromium (C11): same-name entries are first combined with `", "`, so the 128-byte limit
/// applies to the combined value and each name counts once towards 1024.
///
/// ```
/// use preflight::browser::{safelist::cors_unsafe_request_header_names, Behavior};
/// let h = vec![("X-B".to_string(), "1".to_string()), ("Accept".to_string(), "*/*".to_string()),
///              ("x-a".to_string(), "2".to_string()), ("X-B".to_string(), "3".to_string())];
/// assert_eq!(cors_unsafe_request_header_names(&h, Behavior::Spec), vec!["x-a", "x-b"]);
/// ```
pub fn cors_unsafe_request_header_names(list: &[Header], behavior: Behavior) -> Vec<String> {
    let refs: Vec<(&str, &str)> = list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut names = Names::new();
    unsafe_names_into(&refs, behavior, &mut names);
    names.iter().map(|n| n.to_ascii_lowercase()).collect()
}

/// Header names as written, inline.
pub(crate) type Names<'a> = Small<&'a str, 8>;

/// Byte order of the lowercased names.
pub(crate) fn cmp_lowercase(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// [`cors_unsafe_request_header_names`] without allocating: the names as written (first
/// spelling), sorted by their lowercase form and de-duplicated case-insensitively, into `out`.
pub(crate) fn unsafe_names_into<'a>(
    list: &[(&'a str, &'a str)],
    behavior: Behavior,
    out: &mut Names<'a>,
) {
    out.truncate(0);
    let mut potentially: Names<'a> = Small::new();
    let mut total = 0usize;
    match behavior {
        Behavior::Spec => {
            for &(name, value) in list {
                if is_cors_safelisted_request_header(name, value, behavior) {
                    total += value.len();
                    potentially.push(name);
                } else {
                    out.push(name);
                }
            }
        }
        Behavior::Chromium => {
            for (i, &(name, value)) in list.iter().enumerate() {
                if list.iter().take(i).any(|(n, _)| eq_ci(n, name)) {
                    continue;
                }
                let repeated = list.iter().skip(i + 1).any(|(n, _)| eq_ci(n, name));
                let combined = if repeated {
                    super::headers::get_ref(list, name).unwrap_or_default()
                } else {
                    std::borrow::Cow::Borrowed(value)
                };
                if is_cors_safelisted_request_header(name, &combined, behavior) {
                    total += combined.len();
                    potentially.push(name);
                } else {
                    out.push(name);
                }
            }
        }
    }
    if total > 1024 {
        for n in potentially.iter() {
            out.push(n);
        }
    }
    // A stable sort keeps the first spelling first among equal names.
    out.as_mut_slice().sort_by(|a, b| cmp_lowercase(a, b));
    out.dedup_by(|a, b| eq_ci(a, b));
}

/// R44: CORS-safelisted response-header names that are always exposed.
pub const SAFELISTED_RESPONSE_HEADERS: &[&str] = &[
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

/// Forbidden response-header names: never exposed to script.
pub fn is_forbidden_response_header_name(name: &str) -> bool {
    eq_ci(name, "set-cookie") || eq_ci(name, "set-cookie2")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime() {
        assert_eq!(
            mime_essence("Text/Plain;charset=utf-8").as_deref(),
            Some("text/plain")
        );
        assert_eq!(mime_essence("text/plain, application/json"), None);
        assert_eq!(mime_essence(" text/plain ").as_deref(), Some("text/plain"));
        assert_eq!(mime_essence("text/"), None);
        assert_eq!(mime_essence("/plain"), None);
    }

    #[test]
    fn content_type_without_allocating_agrees() {
        for v in [
            "text/plain",
            " Text/Plain ;charset=utf-8",
            "text/plain, application/json",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "text/plain2",
            "text /plain",
            "text/ plain",
            "text/plain\t;",
            "/plain",
            "text/",
            "",
        ] {
            let by_essence = matches!(
                mime_essence(v).as_deref(),
                Some("application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain")
            );
            assert_eq!(safelisted_content_type(v), by_essence, "{v:?}");
        }
    }

    #[test]
    fn range() {
        for ok in ["bytes=0-499", "bytes=500-", "bytes=0-0", "bytes=007-8"] {
            assert!(is_safelisted_range(ok), "{ok}");
        }
        for bad in [
            "bytes=-500",
            "bytes=0-1,5-6",
            "bytes = 0-10",
            "bytes 0-",
            "Bytes=0-1",
            "bytes=10-5",
            "bytes=",
            "bytes=-",
        ] {
            assert!(!is_safelisted_range(bad), "{bad}");
        }
    }

    #[test]
    fn chromium_merges_duplicates() {
        let v = "a".repeat(100);
        let h: Vec<Header> = (0..3)
            .map(|_| ("content-language".to_string(), v.clone()))
            .collect();
        assert!(cors_unsafe_request_header_names(&h, Behavior::Spec).is_empty());
        assert_eq!(
            cors_unsafe_request_header_names(&h, Behavior::Chromium),
            vec!["content-language"]
        );
    }
}
