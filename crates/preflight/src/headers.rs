//! Small, allocation-free helpers over header names, methods and comma-separated lists.

/// RFC 9110 `token`: one or more `tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| crate::browser::headers::is_tchar(b))
}

/// Fetch "forbidden method": `CONNECT`, `TRACE`, `TRACK`, case-insensitively.
pub(crate) fn is_forbidden_method(m: &[u8]) -> bool {
    [&b"CONNECT"[..], b"TRACE", b"TRACK"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(m))
}

/// Fetch "CORS-safelisted method": `GET`, `HEAD`, `POST`, byte for byte.
pub(crate) fn is_safelisted_method(m: &[u8]) -> bool {
    matches!(m, b"GET" | b"HEAD" | b"POST")
}

/// Fetch "normalize a method": the six standard methods are uppercased, others keep their case.
pub(crate) fn normalize_method(m: &str) -> String {
    for std in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if std.eq_ignore_ascii_case(m) {
            return std.to_owned();
        }
    }
    m.to_owned()
}

/// Fetch "forbidden request-header" names (scripts can never set them, so they never appear in
/// `Access-Control-Request-Headers`). One list, the browser model's.
pub(crate) fn is_forbidden_request_header(name: &str) -> bool {
    crate::browser::safelist::is_forbidden_request_header(name, "")
}

/// Request headers that are CORS-safelisted for ordinary values (Fetch "CORS-safelisted
/// request-header"), so listing them in `request_headers` only matters for unusual values.
/// `content-type` is deliberately absent: `application/json` is not safelisted.
pub(crate) fn is_usually_safelisted_request_header(name: &str) -> bool {
    ["accept", "accept-language", "content-language"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

/// Fetch "CORS-safelisted response-header name" (always readable by script).
pub(crate) fn is_safelisted_response_header(name: &str) -> bool {
    [
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(name))
}

/// Fetch "forbidden response-header name": never exposed to script.
pub(crate) fn is_forbidden_response_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") || name.eq_ignore_ascii_case("set-cookie2")
}

/// Skips RFC 9110 optional whitespace (SP, HTAB) at the start.
pub(crate) fn skip_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

/// Trims RFC 9110 optional whitespace (SP, HTAB) from both ends.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let mut s = skip_ows(s);
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"x-request-id"));
        assert!(is_token(b"*"));
        assert!(!is_token(b""));
        assert!(!is_token(b"bad value"));
        assert!(!is_token(b"a,b"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn methods() {
        assert!(is_forbidden_method(b"connect"));
        assert!(is_forbidden_method(b"TRACK"));
        assert!(!is_forbidden_method(b"PATCH"));
        assert!(is_safelisted_method(b"GET"));
        assert!(!is_safelisted_method(b"get"));
        assert_eq!(normalize_method("put"), "PUT");
        assert_eq!(normalize_method("patch"), "patch");
    }

    #[test]
    fn header_classes() {
        assert!(is_forbidden_request_header("Cookie"));
        assert!(is_forbidden_request_header("sec-fetch-mode"));
        assert!(is_forbidden_request_header("Proxy-Authorization"));
        assert!(!is_forbidden_request_header("authorization"));
        assert!(is_safelisted_response_header("Content-Type"));
        assert!(is_forbidden_response_header("Set-Cookie"));
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
    }
}
