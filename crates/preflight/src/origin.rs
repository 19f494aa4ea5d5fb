//! Origins exactly as browsers serialize them.
//!
//! An origin is either *opaque* (serialized as `null`: sandboxed documents, `file:` pages,
//! requests tainted by a cross-origin redirect) or a *tuple* of scheme, host and port. Browsers
//! put the [ASCII serialization] of the page's origin in the `Origin` request header: lowercase
//! scheme and host, IDNs as punycode, IPv6 in brackets, default port omitted, no path, no
//! trailing slash. A server compares that header **byte for byte** (Fetch, "CORS check"), so an
//! allowlist entry such as `https://app.example.com/` can never match. [`Origin::parse`] refuses
//! every such spelling and says what to write instead.
//!
//! [ASCII serialization]: https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin
//!
//! ```
//! use preflight::Origin;
//!
//! let o: Origin = "https://app.example.com".parse()?;
//! assert_eq!(o.host(), Some("app.example.com"));
//! assert!(o.is_same_site(&"https://api.example.com".parse()?));
//!
//! let err = "https://App.Example.com/".parse::<Origin>().unwrap_err();
//! assert_eq!(err.suggestion(), Some("https://app.example.com"));
//! # Ok::<(), preflight::OriginError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest `Origin` value this crate will parse, in bytes.
///
/// A DNS name has at most 253 bytes; scheme, `://` and a port add at most 20 more. Anything
/// longer cannot be a browser's `Origin` header and is refused without further work.
pub const MAX_ORIGIN_LEN: usize = 512;

/// A web origin: opaque (`null`) or a (scheme, host, port) tuple.
///
/// Values are always in canonical (browser) form, so two `Origin`s are equal exactly when a
/// browser would consider them the same origin, and [`Origin::as_str`] is the exact byte string a
/// browser sends in the `Origin` header.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    serialized: Box<str>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Opaque,
    Tuple {
        /// End of the scheme in `serialized` (the `:` of `://`).
        scheme_end: u8,
        /// End of the host in `serialized`.
        host_end: u16,
        /// The port when it is not the scheme's default.
        port: Option<u16>,
    },
}

impl Origin {
    /// The opaque origin, serialized as `null`.
    pub fn null() -> Self {
        Origin {
            serialized: "null".into(),
            kind: Kind::Opaque,
        }
    }

    /// Parses an origin written the way a browser serializes it.
    ///
    /// Accepts `null` and `http`/`https` origins in canonical form. Anything a browser would
    /// never send in an `Origin` header is an error whose [`OriginError::suggestion`] says what
    /// to write instead: a trailing slash, a path, a query, userinfo, an explicit default port,
    /// uppercase letters, a Unicode host (write its punycode), a non-canonical IP address.
    ///
    /// # Errors
    /// An [`OriginError`] naming what is wrong.
    ///
    /// # Examples
    /// ```
    /// use preflight::{Origin, OriginErrorKind};
    /// assert!(Origin::parse("http://localhost:8080").is_ok());
    /// let e = Origin::parse("https://example.com:443").unwrap_err();
    /// assert_eq!(e.kind(), OriginErrorKind::DefaultPort);
    /// assert_eq!(e.suggestion(), Some("https://example.com"));
    /// ```
    pub fn parse(input: &str) -> Result<Self, OriginError> {
        let err = |kind, suggestion: Option<String>| OriginError {
            input: truncate(input),
            kind,
            suggestion,
        };
        if input.is_empty() {
            return Err(err(OriginErrorKind::Empty, None));
        }
        if input.len() > MAX_ORIGIN_LEN {
            return Err(err(OriginErrorKind::TooLong, None));
        }
        if input == "null" {
            return Ok(Origin::null());
        }
        if input.eq_ignore_ascii_case("null") {
            return Err(err(OriginErrorKind::NotCanonical, Some("null".into())));
        }
        if input.trim() != input || input.bytes().any(|b| b.is_ascii_control()) {
            return Err(err(
                OriginErrorKind::Whitespace,
                // Only a suggestion when trimming changes something: a control byte inside
                // the value is not fixed by trimming (found by the `origin` fuzz target).
                Some(input.trim().to_owned()).filter(|s| !s.is_empty() && s != input),
            ));
        }
        let url = match url::Url::parse(input) {
            Ok(u) => u,
            Err(e) => {
                let kind = if input.contains("://") {
                    OriginErrorKind::Invalid(e.to_string())
                } else {
                    OriginErrorKind::MissingScheme
                };
                let suggestion = (!input.contains("://") && !input.contains(' '))
                    .then(|| format!("https://{}", input.trim_end_matches('/')));
                return Err(err(kind, suggestion));
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(
                OriginErrorKind::UnsupportedScheme(url.scheme().to_owned()),
                None,
            ));
        }
        if url.host().is_none() {
            return Err(err(OriginErrorKind::Invalid("no host".into()), None));
        }
        let canonical = url.origin().ascii_serialization();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(OriginErrorKind::Userinfo, Some(canonical)));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(err(OriginErrorKind::QueryOrFragment, Some(canonical)));
        }
        if url.path() != "/" {
            return Err(err(OriginErrorKind::Path, Some(canonical)));
        }
        if input.ends_with('/') {
            return Err(err(OriginErrorKind::TrailingSlash, Some(canonical)));
        }
        if canonical != input {
            let kind = if !input.is_ascii() {
                OriginErrorKind::UnicodeHost
            } else if url.port().is_none() && has_explicit_port(input) {
                OriginErrorKind::DefaultPort
            } else if canonical.eq_ignore_ascii_case(input) {
                OriginErrorKind::Uppercase
            } else {
                OriginErrorKind::NotCanonical
            };
            return Err(err(kind, Some(canonical)));
        }
        Ok(Self::from_canonical(canonical, url.port()))
    }

    /// Parses the value of an `Origin` request header.
    ///
    /// The header must be exactly what a browser sends: valid ASCII in canonical form (see
    /// [`Origin::parse`]). Non-UTF-8 bytes are an error, never a panic.
    ///
    /// # Errors
    /// An [`OriginError`] naming what is wrong.
    pub fn from_header(value: &[u8]) -> Result<Self, OriginError> {
        if value.len() > MAX_ORIGIN_LEN {
            return Err(OriginError {
                input: truncate(&String::from_utf8_lossy(value)),
                kind: OriginErrorKind::TooLong,
                suggestion: None,
            });
        }
        match std::str::from_utf8(value) {
            Ok(s) if s.is_ascii() => Origin::parse(s),
            _ => Err(OriginError {
                input: String::from_utf8_lossy(value).into_owned(),
                kind: OriginErrorKind::NotAscii,
                suggestion: None,
            }),
        }
    }

    /// The origin of a URL, as a browser computes it (`file:` and other non-tuple schemes give
    /// the opaque origin).
    ///
    /// ```
    /// let url = url::Url::parse("https://Example.COM:443/a/b?c").unwrap();
    /// assert_eq!(preflight::Origin::from_url(&url).as_str(), "https://example.com");
    /// ```
    pub fn from_url(url: &url::Url) -> Self {
        match url.origin() {
            url::Origin::Opaque(_) => Origin::null(),
            url::Origin::Tuple(..) => {
                let s = url.origin().ascii_serialization();
                Self::from_canonical(s, url.port())
            }
        }
    }

    fn from_canonical(serialized: String, port: Option<u16>) -> Self {
        // Invariant: `serialized` is `scheme://host[:port]` produced by the URL parser, at most
        // MAX_ORIGIN_LEN (or a URL's origin, whose host the URL parser bounded).
        let scheme_end = serialized.find("://").unwrap_or(0);
        let after = scheme_end + 3;
        let host_end = match port {
            Some(_) => serialized.rfind(':').unwrap_or(serialized.len()),
            None => serialized.len(),
        };
        Origin {
            kind: Kind::Tuple {
                scheme_end: u8::try_from(scheme_end).unwrap_or(u8::MAX),
                host_end: u16::try_from(host_end.max(after)).unwrap_or(u16::MAX),
                port,
            },
            serialized: serialized.into_boxed_str(),
        }
    }

    /// The serialization: exactly the bytes a browser puts in the `Origin` header.
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// Whether this is the opaque origin (`null`).
    pub fn is_opaque(&self) -> bool {
        matches!(self.kind, Kind::Opaque)
    }

    /// The scheme (`http` or `https`), or `None` for the opaque origin.
    pub fn scheme(&self) -> Option<&str> {
        match self.kind {
            Kind::Opaque => None,
            Kind::Tuple { scheme_end, .. } => self.serialized.get(..usize::from(scheme_end)),
        }
    }

    /// The host as serialized (lowercase ASCII, punycode, IPv6 in brackets), or `None` for the
    /// opaque origin.
    pub fn host(&self) -> Option<&str> {
        match self.kind {
            Kind::Opaque => None,
            Kind::Tuple {
                scheme_end,
                host_end,
                ..
            } => self
                .serialized
                .get(usize::from(scheme_end) + 3..usize::from(host_end)),
        }
    }

    /// The port when it is not the scheme's default (that is, when it appears in the
    /// serialization).
    pub fn port(&self) -> Option<u16> {
        match self.kind {
            Kind::Opaque => None,
            Kind::Tuple { port, .. } => port,
        }
    }

    /// The effective port: the explicit one or the scheme's default.
    pub fn port_or_default(&self) -> Option<u16> {
        self.port().or(match self.scheme()? {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })
    }

    /// The tuple (scheme, host, non-default port), `None` for the opaque origin.
    pub(crate) fn tuple(&self) -> Option<crate::browser::fast_url::Tuple<'_>> {
        Some(crate::browser::fast_url::Tuple {
            scheme: self.scheme()?,
            host: self.host()?,
            port: self.port(),
        })
    }

    /// Same origin: identical tuples. The opaque origin is not same origin with anything here,
    /// since two `null` serializations may stand for two different opaque origins.
    pub fn is_same_origin(&self, other: &Origin) -> bool {
        !self.is_opaque() && self == other
    }

    /// The registrable domain of the host ("eTLD+1") from the bundled public suffix list, or
    /// `None` for IP addresses, the opaque origin, and hosts that are themselves public
    /// suffixes.
    ///
    /// ```
    /// let o: preflight::Origin = "https://a.b.example.co.uk".parse().unwrap();
    /// assert_eq!(o.registrable_domain(), Some("example.co.uk"));
    /// ```
    pub fn registrable_domain(&self) -> Option<&str> {
        let host = self.host()?;
        if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
            return None;
        }
        psl::domain_str(host)
    }

    /// Schemeful same site (HTML "same site"): same scheme, and the same registrable domain (or
    /// the same host when there is none).
    pub fn is_same_site(&self, other: &Origin) -> bool {
        if self.is_opaque() || other.is_opaque() {
            return false;
        }
        if self.scheme() != other.scheme() {
            return false;
        }
        match (self.registrable_domain(), other.registrable_domain()) {
            (Some(a), Some(b)) => a == b,
            _ => self.host() == other.host(),
        }
    }

    /// Whether a browser treats this origin as potentially trustworthy (a "secure context"):
    /// `https`, or `http` on a loopback address or a `localhost` name.
    pub fn is_potentially_trustworthy(&self) -> bool {
        match (self.scheme(), self.host()) {
            (Some("https"), _) => true,
            (Some("http"), Some(h)) => is_loopback_host(h),
            _ => false,
        }
    }
}

/// Whether a serialized host is a loopback address or a `localhost` name.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn has_explicit_port(input: &str) -> bool {
    let Some((_, rest)) = input.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let after_host = match authority.rfind(']') {
        Some(i) => authority.get(i + 1..).unwrap_or(""),
        None => authority,
    };
    after_host.contains(':')
}

fn truncate(s: &str) -> String {
    const KEEP: usize = 80;
    if s.len() <= KEEP {
        return s.to_owned();
    }
    let mut end = KEEP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", s.get(..end).unwrap_or(""), s.len())
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serialized)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({})", self.serialized)
    }
}

impl FromStr for Origin {
    type Err = OriginError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::parse(s)
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.serialized)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Origin::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not an origin in browser form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginErrorKind {
    /// The value is empty.
    Empty,
    /// The value is longer than [`MAX_ORIGIN_LEN`].
    TooLong,
    /// Header bytes that are not ASCII.
    NotAscii,
    /// Leading or trailing whitespace, or control characters.
    Whitespace,
    /// No `scheme://`.
    MissingScheme,
    /// Not a URL at all (the URL parser's message).
    Invalid(String),
    /// A scheme other than `http` or `https`.
    UnsupportedScheme(String),
    /// `user:password@` in the authority.
    Userinfo,
    /// A path after the host.
    Path,
    /// A `?query` or `#fragment`.
    QueryOrFragment,
    /// A `/` after the host.
    TrailingSlash,
    /// `:443` on https or `:80` on http: browsers omit the default port.
    DefaultPort,
    /// Uppercase letters: browsers lowercase scheme and host.
    Uppercase,
    /// A Unicode host: browsers send its punycode (IDNA) form.
    UnicodeHost,
    /// Some other non-canonical spelling (e.g. an IP address written unusually).
    NotCanonical,
}

/// A string that is not an origin as browsers serialize it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginError {
    input: String,
    kind: OriginErrorKind,
    suggestion: Option<String>,
}

impl OriginError {
    /// What is wrong.
    pub fn kind(&self) -> OriginErrorKind {
        self.kind.clone()
    }

    /// The input (truncated when very long).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The canonical spelling to write instead, when there is one.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }

    /// Rewrites the reported input and the suggestion (used by patterns, which are validated
    /// through a concrete probe origin).
    pub(crate) fn map_back(&mut self, f: impl Fn(&str) -> String, input: &str) {
        self.input = truncate(input);
        self.suggestion = self.suggestion.as_deref().map(f);
    }

    /// Why, in words, without the input or the suggestion.
    pub fn reason(&self) -> String {
        match &self.kind {
            OriginErrorKind::Empty => "it is empty".into(),
            OriginErrorKind::TooLong => format!("it is longer than {MAX_ORIGIN_LEN} bytes"),
            OriginErrorKind::NotAscii => "it is not ASCII; browsers send origins as ASCII".into(),
            OriginErrorKind::Whitespace => "it contains whitespace or control characters".into(),
            OriginErrorKind::MissingScheme => "it has no scheme (`https://` or `http://`)".into(),
            OriginErrorKind::Invalid(e) => format!("it is not a valid URL ({e})"),
            OriginErrorKind::UnsupportedScheme(s) => {
                format!("scheme `{s}` is not supported; only http and https origins can be listed")
            }
            OriginErrorKind::Userinfo => {
                "it contains a user name or password; origins never do".into()
            }
            OriginErrorKind::Path => "it has a path; an origin is only scheme, host and port".into(),
            OriginErrorKind::QueryOrFragment => "it has a query or fragment".into(),
            OriginErrorKind::TrailingSlash => {
                "it ends with a slash; browsers send origins without one, so it would never match"
                    .into()
            }
            OriginErrorKind::DefaultPort => {
                "it names the scheme's default port; browsers omit it, so it would never match"
                    .into()
            }
            OriginErrorKind::Uppercase => {
                "it has uppercase letters; browsers send scheme and host in lowercase, so it would never match".into()
            }
            OriginErrorKind::UnicodeHost => {
                "it has a Unicode host; browsers send the punycode form, so it would never match"
                    .into()
            }
            OriginErrorKind::NotCanonical => {
                "it is not written the way browsers serialize origins, so it would never match"
                    .into()
            }
        }
    }
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an origin: {}", self.input, self.reason())?;
        if let Some(s) = &self.suggestion {
            write!(f, "; write `{s}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for OriginError {}

/// A borrowed view of an `Origin` header value that *looks* canonical, parsed without
/// allocating. Used on the request hot path for pattern matching; it never accepts anything a
/// browser would not send, but it does not run the full URL parser either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawOrigin<'a> {
    pub(crate) scheme: &'a [u8],
    pub(crate) host: &'a [u8],
    pub(crate) port: Option<u16>,
}

impl<'a> RawOrigin<'a> {
    /// Splits `scheme://host[:port]`. Returns `None` for anything that is not in the canonical
    /// shape: uppercase, characters outside `[a-z0-9.-]` (or an IPv6 literal), empty labels,
    /// an explicit default port, a port with leading zeros.
    pub(crate) fn parse(v: &'a [u8]) -> Option<Self> {
        if v.len() > MAX_ORIGIN_LEN {
            return None;
        }
        // One pass over the bytes: this runs for every origin a policy does not list exactly
        // (denials included), so it is written as a scanner rather than as several searches.
        let (scheme_len, default_port) = if v.starts_with(b"https://") {
            (5, 443)
        } else if v.starts_with(b"http://") {
            (4, 80)
        } else {
            return None;
        };
        let scheme = v.get(..scheme_len)?;
        let rest = v.get(scheme_len + 3..)?;
        let (host, port_bytes) = if rest.first() == Some(&b'[') {
            split_ipv6(rest)?
        } else {
            // Labels of `[a-z0-9-]`, separated by single dots, up to an optional `:port`: no
            // empty host, no leading, trailing or doubled dot. A tight loop over each label's
            // bytes (one table load each), then what ends it.
            let mut i = 0;
            let end = loop {
                let start = i;
                while rest.get(i).is_some_and(|&b| LABEL_BYTE[usize::from(b)]) {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                match rest.get(i) {
                    Some(b'.') => i += 1,
                    Some(b':') | None => break i,
                    Some(_) => return None,
                }
            };
            (rest.get(..end)?, rest.get(end..)?)
        };
        let port = parse_port(port_bytes, default_port)?;
        Some(RawOrigin { scheme, host, port })
    }
}

/// Whether each byte value may appear in a host's label (`[a-z0-9-]`), for
/// [`RawOrigin::parse`].
static LABEL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = matches!(b as u8, b'a'..=b'z' | b'0'..=b'9' | b'-');
        b += 1;
    }
    t
};

/// `[v6]` and what follows it: the bracketed literal (lowercase hex digits and colons, not
/// empty) and the rest.
fn split_ipv6(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let close = rest.iter().position(|&b| b == b']')?;
    let host = rest.get(..=close)?;
    let inner = host.get(1..close)?;
    if inner.is_empty()
        || !inner
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b) || *b == b':')
    {
        return None;
    }
    Some((host, rest.get(close + 1..)?))
}

/// `""` (no port) or `:digits`: a port without leading zeros, not the scheme's default.
/// `None` when invalid, `Some(None)` when absent.
fn parse_port(port_bytes: &[u8], default_port: u16) -> Option<Option<u16>> {
    if port_bytes.is_empty() {
        return Some(None);
    }
    let digits = port_bytes.get(1..)?;
    if digits.is_empty()
        || digits.len() > 5
        || digits.first() == Some(&b'0')
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let p = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let p = u16::try_from(p).ok()?;
    if p == default_port {
        return None;
    }
    Some(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> OriginErrorKind {
        Origin::parse(s).unwrap_err().kind()
    }

    #[test]
    fn canonical_forms_parse_and_round_trip() {
        for s in [
            "https://example.com",
            "http://localhost:8080",
            "https://xn--bcher-kva.example",
            "http://[::1]:3000",
            "http://127.0.0.1",
            "null",
        ] {
            assert_eq!(Origin::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn browser_never_sends_these() {
        assert_eq!(kind("https://a.com/"), OriginErrorKind::TrailingSlash);
        assert_eq!(kind("https://a.com/x"), OriginErrorKind::Path);
        assert_eq!(kind("https://a.com:443"), OriginErrorKind::DefaultPort);
        assert_eq!(kind("http://a.com:80"), OriginErrorKind::DefaultPort);
        assert_eq!(kind("HTTPS://A.com"), OriginErrorKind::Uppercase);
        assert_eq!(kind("https://u:p@a.com"), OriginErrorKind::Userinfo);
        assert_eq!(kind("https://bücher.example"), OriginErrorKind::UnicodeHost);
        assert_eq!(kind("https://a.com?x"), OriginErrorKind::QueryOrFragment);
        assert_eq!(kind("a.com"), OriginErrorKind::MissingScheme);
        assert_eq!(kind(""), OriginErrorKind::Empty);
        assert_eq!(kind(" https://a.com"), OriginErrorKind::Whitespace);
        assert_eq!(kind("http://[::0:1]"), OriginErrorKind::NotCanonical);
        assert_eq!(kind("NULL"), OriginErrorKind::NotCanonical);
        assert!(matches!(
            kind("ftp://a.com"),
            OriginErrorKind::UnsupportedScheme(_)
        ));
        let e = Origin::parse("https://bücher.example/").unwrap_err();
        assert_eq!(e.suggestion(), Some("https://xn--bcher-kva.example"));
        assert!(e
            .to_string()
            .contains("write `https://xn--bcher-kva.example`"));
    }

    #[test]
    fn control_bytes_inside_never_suggest_the_input_itself() {
        // Regression (fuzz target `origin`): the Whitespace error suggested the refused input.
        let input = concat!("https://APP.example.co\0\0\0\0\0\0\0", "2m");
        let e = Origin::parse(input).unwrap_err();
        assert_eq!(e.kind(), OriginErrorKind::Whitespace);
        assert_ne!(e.suggestion(), Some(input));
        assert_eq!(
            Origin::parse(" https://a.com").unwrap_err().suggestion(),
            Some("https://a.com")
        );
    }

    #[test]
    fn header_bytes() {
        assert!(Origin::from_header(b"https://a.com").is_ok());
        assert_eq!(
            Origin::from_header(b"https://\xff.com").unwrap_err().kind(),
            OriginErrorKind::NotAscii
        );
        let long = vec![b'a'; 10_000];
        assert_eq!(
            Origin::from_header(&long).unwrap_err().kind(),
            OriginErrorKind::TooLong
        );
    }

    #[test]
    fn accessors() {
        let o = Origin::parse("http://[::1]:3000").unwrap();
        assert_eq!(o.scheme(), Some("http"));
        assert_eq!(o.host(), Some("[::1]"));
        assert_eq!(o.port(), Some(3000));
        let o = Origin::parse("https://a.example.com").unwrap();
        assert_eq!(o.host(), Some("a.example.com"));
        assert_eq!(o.port(), None);
        assert_eq!(o.port_or_default(), Some(443));
        assert!(Origin::null().host().is_none());
    }

    #[test]
    fn same_origin_and_site() {
        let a: Origin = "https://a.example.com".parse().unwrap();
        let b: Origin = "https://b.example.com".parse().unwrap();
        let c: Origin = "http://a.example.com".parse().unwrap();
        let d: Origin = "https://x.github.io".parse().unwrap();
        let e: Origin = "https://y.github.io".parse().unwrap();
        assert!(a.is_same_site(&b));
        assert!(!a.is_same_origin(&b));
        assert!(!a.is_same_site(&c), "schemeful");
        assert!(!d.is_same_site(&e), "github.io is a public suffix");
        assert!(!Origin::null().is_same_origin(&Origin::null()));
        let l1: Origin = "http://localhost:1".parse().unwrap();
        let l2: Origin = "http://localhost:2".parse().unwrap();
        assert!(l1.is_same_site(&l2));
        assert!(l1.is_potentially_trustworthy());
        assert!(!c.is_potentially_trustworthy());
    }

    /// The scheme and host checks of the previous, multi-pass `RawOrigin::parse` (several
    /// searches), kept as the reference the one-pass scanner is checked against.
    fn reference_parse(v: &[u8]) -> Option<(&[u8], &[u8], Option<u16>)> {
        if v.len() > MAX_ORIGIN_LEN {
            return None;
        }
        let sep = v.windows(3).position(|w| w == b"://")?;
        let scheme = v.get(..sep)?;
        let rest = v.get(sep + 3..)?;
        let default_port = match scheme {
            b"http" => 80,
            b"https" => 443,
            _ => return None,
        };
        let (host, port_bytes) = if rest.first() == Some(&b'[') {
            split_ipv6(rest)?
        } else {
            match rest.iter().position(|&b| b == b':') {
                Some(i) => (rest.get(..i)?, rest.get(i..)?),
                None => (rest, &b""[..]),
            }
        };
        if host.first() != Some(&b'[')
            && (host.is_empty()
                || host.first() == Some(&b'.')
                || host.last() == Some(&b'.')
                || host.windows(2).any(|w| w == b"..")
                || !host.iter().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.'
                }))
        {
            return None;
        }
        Some((scheme, host, parse_port(port_bytes, default_port)?))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn raw_origin_scanner_agrees_with_the_reference(
            prefix in proptest::sample::select(vec!["https://", "http://", "http:/", "ftp://", "", "https://a", "HTTP://"]),
            body in "[a-c0-9.:\\-\\[\\]/A#]{0,14}",
        ) {
            let v = format!("{prefix}{body}");
            let ours = RawOrigin::parse(v.as_bytes()).map(|r| (r.scheme, r.host, r.port));
            proptest::prop_assert_eq!(ours, reference_parse(v.as_bytes()), "{:?}", v);
        }
    }

    #[test]
    fn raw_origin_is_strict() {
        let r = RawOrigin::parse(b"https://a.b.com:8443").unwrap();
        assert_eq!(r.host, b"a.b.com");
        assert_eq!(r.port, Some(8443));
        assert!(RawOrigin::parse(b"http://[::1]:80").is_none());
        assert!(RawOrigin::parse(b"http://[::1]:81").is_some());
        for bad in [
            &b"https://A.com"[..],
            b"https://a.com:443",
            b"https://a..com",
            b"https://a.com:08",
            b"https://a.com:99999",
            b"https://evil.com#.a.com",
            b"https://a.com/",
            b"ftp://a.com",
            b"https://",
        ] {
            assert!(
                RawOrigin::parse(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
