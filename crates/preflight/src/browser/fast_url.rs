//! Fast paths around the `url` crate for the browser model's hot loop.
//!
//! Almost every URL and origin a scenario holds is already written the way the WHATWG URL
//! parser serializes it (`https://api.example.test/items/1?x=y`). For such an input the parser's
//! result is the input itself, so a single pass over the bytes that **recognizes** the canonical
//! form can stand in for `Url::parse` / [`crate::Origin::parse`] without allocating. Anything
//! outside a deliberately narrow shape (uppercase, IDN or `xn--` labels, IP addresses,
//! userinfo, default or odd ports, dot segments, characters the parser would percent-encode, a
//! missing path, ...) is not recognized, and the caller falls back to the `url` crate.
//!
//! The claim "recognized ⇒ the `url` crate parses it to exactly this" is checked by the
//! property tests below and by the `browser` fuzz target (through [`fast_path_disagreement`]).

use std::borrow::Cow;

use url::Url;

use crate::origin::MAX_ORIGIN_LEN;

/// The parts of a recognized canonical `http`/`https` URL or origin, as offsets into the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    /// The input, which is also the serialization.
    pub s: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The host (lowercase ASCII domain).
    pub host: &'a str,
    /// The port when it is not the scheme's default.
    pub port: Option<u16>,
    /// Whether a fragment (`#...`) is present.
    pub has_fragment: bool,
}

/// An origin tuple: scheme, host as serialized, port when not the scheme's default. Two tuple
/// origins are the same origin exactly when their tuples are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tuple<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub port: Option<u16>,
}

impl<'a> Parts<'a> {
    pub(crate) fn tuple(&self) -> Tuple<'a> {
        Tuple {
            scheme: self.scheme,
            host: self.host,
            port: self.port,
        }
    }
}

/// Byte classes: a host byte (`a-z`, `0-9`, `-`), and what the URL parser keeps as it is in a
/// special URL's path, query and fragment.
const HOST: u8 = 1;
const PATH: u8 = 2;
const QUERY: u8 = 4;
const FRAGMENT: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let host = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
        let path = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'%'
            );
        let mut v = 0;
        if host {
            v |= HOST;
        }
        if path {
            v |= PATH | FRAGMENT;
            // The special-query percent-encode set adds `'`.
            if c != b'\'' {
                v |= QUERY;
            }
        }
        if c == b'?' {
            v |= QUERY | FRAGMENT;
        }
        t[i] = v;
        i += 1;
    }
    t
};

fn class(c: u8) -> u8 {
    CLASS[usize::from(c)]
}

/// How many leading bytes of `b` are in `class`.
fn span(b: &[u8], class_bits: u8) -> usize {
    b.iter()
        .position(|&c| class(c) & class_bits == 0)
        .unwrap_or(b.len())
}

/// Scheme, then the host and port; returns the parts and where the rest starts.
fn authority(s: &str) -> Option<(Parts<'_>, usize)> {
    let b = s.as_bytes();
    let (scheme, start) = if s.starts_with("https://") {
        ("https", 8)
    } else if s.starts_with("http://") {
        ("http", 7)
    } else {
        return None;
    };
    let default_port: u16 = if scheme == "https" { 443 } else { 80 };
    // Labels: not empty (no empty host, no `..`, no trailing dot), no `xn--`; the last starts
    // with a letter so that the host cannot "end in a number" (an IPv4 address to the URL
    // parser).
    let mut i = start;
    let mut label_start = start;
    loop {
        match b.get(i) {
            Some(&c) if class(c) & HOST != 0 => i += 1,
            Some(b'.') => {
                if i == label_start
                    || b.get(label_start..label_start + 4) == Some(b"xn--".as_slice())
                {
                    return None;
                }
                i += 1;
                label_start = i;
            }
            _ => break,
        }
    }
    if i == label_start
        || b.get(label_start..label_start + 4) == Some(b"xn--".as_slice())
        || !b.get(label_start).is_some_and(u8::is_ascii_lowercase)
    {
        return None;
    }
    let host = s.get(start..i)?;
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let p_start = i + 1;
        let digits = b.get(p_start..)?;
        let n = digits
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let digits = s.get(p_start..p_start + n)?;
        // 1 to 5 digits, no leading zero, at most 65535, not the default port.
        if digits.is_empty() || digits.len() > 5 || digits.starts_with('0') {
            return None;
        }
        let v: u32 = digits.parse().ok()?;
        let v = u16::try_from(v).ok()?;
        if v == default_port {
            return None;
        }
        port = Some(v);
        i = p_start + n;
    }
    Some((
        Parts {
            s,
            scheme,
            host,
            port,
            has_fragment: false,
        },
        i,
    ))
}

/// A single- or double-dot path segment (`.`, `..`, `%2e`, `.%2E`, ...), which the parser
/// removes.
fn dot_segment(seg: &[u8]) -> bool {
    seg.len() <= 6
        && [b".".as_slice(), b"..", b"%2e", b".%2e", b"%2e.", b"%2e%2e"]
            .iter()
            .any(|d| seg.eq_ignore_ascii_case(d))
}

/// Recognizes an `http`/`https` URL that is already in the URL parser's serialized form.
pub(crate) fn canonical_url(s: &str) -> Option<Parts<'_>> {
    let (mut parts, i) = authority(s)?;
    let b = s.as_bytes();
    // A path is required: without one the serialization adds `/`.
    if b.get(i) != Some(&b'/') {
        return None;
    }
    let rest = b.get(i..)?;
    let path_len = span(rest, PATH);
    let path = rest.get(..path_len)?;
    // Segments that are dots only; `.` itself is rare in segments, so look for it first.
    if (path.contains(&b'.') || path.contains(&b'%')) && path.split(|&c| c == b'/').any(dot_segment)
    {
        return None;
    }
    let mut rest = rest.get(path_len..)?;
    if rest.first() == Some(&b'?') {
        let q = rest.get(1..)?;
        rest = q.get(span(q, QUERY)..)?;
    }
    if rest.first() == Some(&b'#') {
        parts.has_fragment = true;
        let f = rest.get(1..)?;
        rest = f.get(span(f, FRAGMENT)..)?;
    }
    rest.is_empty().then_some(parts)
}

/// Recognizes an `http`/`https` origin that [`crate::Origin::parse`] accepts as it is.
pub(crate) fn canonical_origin(s: &str) -> Option<Parts<'_>> {
    if s.len() > MAX_ORIGIN_LEN {
        return None;
    }
    let (parts, i) = authority(s)?;
    (i == s.len()).then_some(parts)
}

/// Whether `s` parses as a URL (the fast path first).
pub(crate) fn is_valid_url(s: &str) -> bool {
    canonical_url(s).is_some() || Url::parse(s).is_ok()
}

/// The origin tuple of a parsed URL, `None` for an opaque origin.
pub(crate) fn url_tuple(u: &Url) -> Option<Tuple<'_>> {
    match u.scheme() {
        "http" | "https" | "ws" | "wss" | "ftp" => Some(Tuple {
            scheme: u.scheme(),
            host: u.host_str()?,
            port: u.port(),
        }),
        _ => None,
    }
}

/// Whether `u`'s origin is the tuple origin `t` (same origin). `None` is an opaque origin,
/// same origin with nothing.
pub(crate) fn same_origin_url(t: Option<Tuple<'_>>, u: &Url) -> bool {
    let Some(t) = t else { return false };
    match u.scheme() {
        "http" | "https" | "ws" | "wss" | "ftp" if u.host_str().is_some() => {
            url_tuple(u) == Some(t)
        }
        // `blob:` and the like: the URL crate's own origin.
        _ => crate::Origin::from_url(u).tuple() == Some(t),
    }
}

/// A URL the model works on: the input itself when it is recognized as canonical (borrowed,
/// nothing parsed or allocated), else the `url` crate's result.
#[derive(Clone, Debug)]
pub(crate) enum Loc<'s> {
    Canon(Parts<'s>),
    Parsed(Url),
}

impl<'s> Loc<'s> {
    pub(crate) fn parse(s: &'s str) -> Result<Self, url::ParseError> {
        match canonical_url(s) {
            Some(p) => Ok(Loc::Canon(p)),
            None => Url::parse(s).map(Loc::Parsed),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Loc::Canon(p) => p.s,
            Loc::Parsed(u) => u.as_str(),
        }
    }

    pub(crate) fn scheme(&self) -> &str {
        match self {
            Loc::Canon(p) => p.scheme,
            Loc::Parsed(u) => u.scheme(),
        }
    }

    pub(crate) fn has_fragment(&self) -> bool {
        match self {
            Loc::Canon(p) => p.has_fragment,
            Loc::Parsed(u) => u.fragment().is_some(),
        }
    }

    pub(crate) fn has_userinfo(&self) -> bool {
        match self {
            Loc::Canon(_) => false,
            Loc::Parsed(u) => !u.username().is_empty() || u.password().is_some(),
        }
    }

    /// Same origin with the tuple origin `page` (`None`: opaque, same origin with nothing).
    pub(crate) fn same_origin_with(&self, page: Option<Tuple<'_>>) -> bool {
        match self {
            Loc::Canon(p) => page.is_some_and(|t| t == p.tuple()),
            Loc::Parsed(u) => same_origin_url(page, u),
        }
    }

    /// Whether two URLs are same origin.
    pub(crate) fn same_origin(&self, other: &Loc<'_>) -> bool {
        match (self, other) {
            (Loc::Canon(a), b) => b.same_origin_with(Some(a.tuple())),
            (a, Loc::Canon(b)) => a.same_origin_with(Some(b.tuple())),
            (Loc::Parsed(a), Loc::Parsed(b)) => match (url_tuple(a), url_tuple(b)) {
                (Some(x), Some(y)) => x == y,
                // Opaque, or `blob:`-like: the URL crate's own origins.
                _ => crate::Origin::from_url(a).is_same_origin(&crate::Origin::from_url(b)),
            },
        }
    }

    /// The `url` crate's form (a recognized URL parses to exactly its input).
    pub(crate) fn to_url(&self) -> Result<Cow<'_, Url>, url::ParseError> {
        match self {
            Loc::Canon(p) => Url::parse(p.s).map(Cow::Owned),
            Loc::Parsed(u) => Ok(Cow::Borrowed(u)),
        }
    }

    /// "Location URL" (HTTP-redirect fetch step 3–5): `location` resolved against `self`,
    /// inheriting the fragment. An absolute canonical `location` is the result as it is
    /// (resolving an absolute URL ignores the base), unless a fragment must be inherited.
    pub(crate) fn join(&self, location: Cow<'s, str>) -> Result<Loc<'s>, url::ParseError> {
        if let Cow::Borrowed(l) = location {
            if let Some(p) = canonical_url(l) {
                if p.has_fragment || !self.has_fragment() {
                    return Ok(Loc::Canon(p));
                }
            }
        }
        let base = self.to_url()?;
        let mut next = base.join(&location)?;
        if next.fragment().is_none() && base.fragment().is_some() {
            next.set_fragment(base.fragment());
        }
        Ok(Loc::Parsed(next))
    }
}

/// Where the fast paths disagree with the `url` crate on `input`, if anywhere (for the fuzz
/// target and the property tests).
pub fn fast_path_disagreement(input: &str) -> Option<String> {
    if let Some(p) = canonical_url(input) {
        let Ok(u) = Url::parse(input) else {
            return Some(format!("url fast path accepted {input:?}, url refuses it"));
        };
        let ok = u.as_str() == input
            && u.scheme() == p.scheme
            && u.host_str() == Some(p.host)
            && u.port() == p.port
            && u.username().is_empty()
            && u.password().is_none()
            && u.fragment().is_some() == p.has_fragment
            && url_tuple(&u) == Some(p.tuple())
            && crate::Origin::from_url(&u).tuple() == Some(p.tuple());
        if !ok {
            return Some(format!("url fast path {p:?} differs from url's {u:?}"));
        }
        // Resolving a recognized absolute URL against any base gives the URL itself.
        for base in [
            "https://base.test/a/b?q",
            "http://b.test:8080/",
            "https://b.test/x#f",
        ] {
            let Ok(b) = Url::parse(base) else { continue };
            if b.join(input).ok().as_ref() != Some(&u) {
                return Some(format!(
                    "{base} joined with {input:?} differs from parsing it"
                ));
            }
        }
    }
    if let Some(p) = canonical_origin(input) {
        let Ok(o) = crate::Origin::parse(input) else {
            return Some(format!(
                "origin fast path accepted {input:?}, Origin::parse refuses it"
            ));
        };
        if o.as_str() != input || o.tuple() != Some(p.tuple()) {
            return Some(format!("origin fast path {p:?} differs from {o:?}"));
        }
    }
    // Same-origin through tuples agrees with `Origin::from_url`.
    if let Ok(u) = Url::parse(input) {
        let o = crate::Origin::from_url(&u);
        if !o.is_opaque() && !same_origin_url(o.tuple(), &u) {
            return Some(format!("{input:?} is not same origin with its own origin"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn recognizes_the_common_shapes() {
        for s in [
            "https://api.example.test/items/1",
            "http://localhost:8080/",
            "https://b.test/x?y=1&z=%20#frag",
            "https://a-b.c1.test/a/b.c/",
            "https://b.test/x?",
            "https://b.test/#",
        ] {
            assert!(canonical_url(s).is_some(), "{s}");
            assert_eq!(fast_path_disagreement(s), None, "{s}");
        }
        for s in [
            "https://B.test/",
            "https://b.test",
            "https://b.test:443/",
            "https://b.test:0443/",
            "https://b.test:/",
            "https://b.test:65536/",
            "https://127.0.0.1/",
            "https://b.1/",
            "https://b.0x1f/",
            "https://xn--nxasmq6b.test/",
            "https://b.test./",
            "https://b..test/",
            "https://u@b.test/",
            "https://b.test/a/../b",
            "https://b.test/a/%2E/b",
            "https://b.test/a b",
            "https://b.test/a\\b",
            "https://b.test/?a'b",
            "https://b.test/a{b}",
            "https://[::1]/",
            "ftp://b.test/",
            "https:/b.test/",
        ] {
            assert!(canonical_url(s).is_none(), "{s}");
            assert_eq!(fast_path_disagreement(s), None, "{s}");
        }
        assert!(canonical_origin("https://a.test").is_some());
        assert!(canonical_origin("http://a.test:8080").is_some());
        assert!(canonical_origin("https://a.test/").is_none());
        assert!(canonical_origin("https://a.test:443").is_none());
        assert!(canonical_origin("null").is_none());
    }

    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![
            Just("https://"),
            Just("http://"),
            Just("HTTP://"),
            Just("ftp://"),
            Just("http:/"),
            Just("ws://")
        ];
        let label = "[a-z0-9-]{0,6}|xn--[a-z0-9]{1,6}|[A-Za-z0-9]{1,3}|0x[0-9a-f]{1,2}|[0-9]{1,3}";
        let host = proptest::collection::vec(label, 1..4).prop_map(|v| v.join("."));
        let port = prop_oneof![
            Just(String::new()),
            Just(":".to_string()),
            (0u32..70_000).prop_map(|p| format!(":{p}")),
            Just(":80".to_string()),
            Just(":443".to_string()),
            Just(":0080".to_string()),
        ];
        let path = proptest::option::of("(/[a-zA-Z0-9._~!$&'()*+,;=:@%^`{}|<> \\\\\"-]{0,5}){0,3}");
        let query = proptest::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@%/?#\" <>-]{0,6}");
        let fragment = proptest::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@%/?#`\" <>-]{0,6}");
        (
            scheme,
            proptest::option::of("[a-z:]{1,3}@"),
            host,
            port,
            path,
            query,
            fragment,
        )
            .prop_map(|(s, userinfo, h, p, path, q, f)| {
                let mut out = format!("{s}{}{h}{p}", userinfo.unwrap_or_default());
                if let Some(path) = path {
                    out.push_str(&path);
                }
                if let Some(q) = q {
                    out.push('?');
                    out.push_str(&q);
                }
                if let Some(f) = f {
                    out.push('#');
                    out.push_str(&f);
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

        /// Recognized ⇒ exactly what the `url` crate and `Origin::parse` make of it.
        #[test]
        fn fast_paths_agree_with_the_url_crate(s in url_like()) {
            prop_assert_eq!(fast_path_disagreement(&s), None);
            // The origin fast path on the authority alone.
            let authority: String = s.split('/').take(3).collect::<Vec<_>>().join("/");
            prop_assert_eq!(fast_path_disagreement(&authority), None);
        }

        #[test]
        fn fast_paths_agree_on_any_string(s in "\\PC{0,40}") {
            prop_assert_eq!(fast_path_disagreement(&s), None);
        }
    }
}
