//! Origin patterns for allowlists: exact origins, `*.` subdomain wildcards and `:*` ports.
//!
//! The only wildcards are deliberately narrow (the design of jub0bs/cors):
//! - `https://*.example.com` matches `https://a.example.com` and `https://a.b.example.com`
//!   (one or more whole DNS labels), never `https://example.com` nor `https://evilexample.com`;
//! - `http://localhost:*` matches any explicit port, and the default port too;
//! - both combine: `https://*.example.com:*`.
//!
//! A wildcard whose fixed part is a public suffix (`https://*.co.uk`, `https://*.github.io`)
//! would trust domains anyone can register, so it is refused unless the configuration says
//! `dangerously_allow_public_suffix_wildcards`.
//!
//! ```
//! use preflight::OriginPattern;
//! let p: OriginPattern = "https://*.example.com".parse()?;
//! assert!(p.matches(b"https://a.b.example.com"));
//! assert!(!p.matches(b"https://example.com"));
//! assert!(!p.matches(b"https://evilexample.com"));
//! assert!("https://*.co.uk".parse::<OriginPattern>().is_err());
//! # Ok::<(), preflight::PatternError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::origin::{Origin, OriginError, RawOrigin};

/// Which ports a pattern accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// Only the scheme's default port (no port in the serialization).
    Default,
    /// Exactly this (non-default) port.
    Exact(u16),
    /// Any port, default included (`:*`).
    Any,
}

impl PortSpec {
    pub(crate) fn accepts(self, port: Option<u16>) -> bool {
        match self {
            PortSpec::Default => port.is_none(),
            PortSpec::Exact(p) => port == Some(p),
            PortSpec::Any => true,
        }
    }
}

/// A validated entry of an origin allowlist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OriginPattern {
    /// One exact origin.
    Exact(Origin),
    /// A scheme and host with any port (`http://localhost:*`).
    AnyPort {
        /// `http` or `https`.
        scheme: String,
        /// The host, as serialized.
        host: String,
    },
    /// Every subdomain (one or more labels) of `suffix` (`https://*.example.com`).
    Subdomains {
        /// `http` or `https`.
        scheme: String,
        /// The fixed part after `*.`.
        suffix: String,
        /// Which ports.
        port: PortSpec,
    },
}

/// Why a string is not a valid origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// The origin part is not in browser form.
    Origin(OriginError),
    /// `*` somewhere other than a leading `*.` label or a `:*` port.
    MisplacedWildcard(String),
    /// `*.` in front of an IP address.
    WildcardIp(String),
    /// `*.` in front of a public suffix (`*.co.uk`, `*.github.io`, `*.com`).
    PublicSuffix {
        /// The pattern.
        pattern: String,
        /// The public suffix.
        suffix: String,
    },
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Origin(e) => e.fmt(f),
            PatternError::MisplacedWildcard(p) => write!(
                f,
                "`{p}` is not a valid pattern: `*` may only stand for leading subdomain labels \
                 (`https://*.example.com`) or for the port (`http://localhost:*`)"
            ),
            PatternError::WildcardIp(p) => write!(
                f,
                "`{p}` is not a valid pattern: an IP address has no subdomains"
            ),
            PatternError::PublicSuffix { pattern, suffix } => write!(
                f,
                "`{pattern}` would trust every site under the public suffix `{suffix}`, which \
                 anyone can register; list your own domains (or set \
                 dangerously_allow_public_suffix_wildcards)"
            ),
        }
    }
}

impl std::error::Error for PatternError {}

impl From<OriginError> for PatternError {
    fn from(e: OriginError) -> Self {
        PatternError::Origin(e)
    }
}

impl OriginPattern {
    /// Parses a pattern, refusing wildcards over public suffixes.
    ///
    /// # Errors
    /// A [`PatternError`] saying what is wrong and what to write instead.
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        Self::parse_with(input, false)
    }

    /// Parses a pattern; `allow_public_suffix` tolerates `*.co.uk`-style wildcards.
    ///
    /// # Errors
    /// A [`PatternError`] saying what is wrong and what to write instead.
    pub fn parse_with(input: &str, allow_public_suffix: bool) -> Result<Self, PatternError> {
        if !input.contains('*') {
            return Ok(OriginPattern::Exact(Origin::parse(input)?));
        }
        let misplaced = || PatternError::MisplacedWildcard(input.to_owned());
        let (scheme, rest) = input.split_once("://").ok_or_else(misplaced)?;
        let (subdomains, rest) = match rest.strip_prefix("*.") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (any_port, host_port) = match rest.strip_suffix(":*") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if scheme.contains('*') || host_port.contains('*') {
            return Err(misplaced());
        }
        // Validate the fixed part as a concrete origin, then map any suggestion back.
        let probe_host = if subdomains { "x." } else { "" };
        let probe = format!("{scheme}://{probe_host}{host_port}");
        let origin = Origin::parse(&probe).map_err(|e| {
            let mut e = e;
            e.map_back(
                |s| {
                    let s = if subdomains {
                        s.replacen("://x.", "://*.", 1)
                    } else {
                        s.to_owned()
                    };
                    if any_port {
                        format!("{s}:*")
                    } else {
                        s
                    }
                },
                input,
            );
            PatternError::Origin(e)
        })?;
        let scheme = origin.scheme().unwrap_or_default().to_owned();
        let host = origin.host().unwrap_or_default();
        if !subdomains {
            // `scheme://host:*`
            if any_port && origin.port().is_some() {
                return Err(misplaced());
            }
            return Ok(OriginPattern::AnyPort {
                scheme,
                host: host.to_owned(),
            });
        }
        let suffix = host.strip_prefix("x.").unwrap_or(host).to_owned();
        if suffix.starts_with('[')
            || suffix.parse::<std::net::Ipv4Addr>().is_ok()
            || suffix.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            return Err(PatternError::WildcardIp(input.to_owned()));
        }
        if !allow_public_suffix && is_public_suffix(&suffix) {
            return Err(PatternError::PublicSuffix {
                pattern: input.to_owned(),
                suffix,
            });
        }
        let port = match (any_port, origin.port()) {
            (true, _) => PortSpec::Any,
            (false, Some(p)) => PortSpec::Exact(p),
            (false, None) => PortSpec::Default,
        };
        Ok(OriginPattern::Subdomains {
            scheme,
            suffix,
            port,
        })
    }

    /// Whether an `Origin` header value matches this pattern (byte-exact for exact origins).
    ///
    /// Wildcard matching is syntactic and allocation-free: the value must be a lowercase
    /// `scheme://host[:port]` whose host is label-aligned under the suffix, but `xn--` labels are
    /// not decoded, so a host with invalid Punycode (which no browser can have as its origin, and
    /// [`crate::Origin::parse`] refuses) still matches `*.suffix`. That grants nothing a browser
    /// could use: only non-browser clients can send such a value, and CORS does not restrict them.
    pub fn matches(&self, origin: &[u8]) -> bool {
        match self {
            OriginPattern::Exact(o) => o.as_str().as_bytes() == origin,
            OriginPattern::AnyPort { scheme, host } => RawOrigin::parse(origin)
                .is_some_and(|r| r.scheme == scheme.as_bytes() && r.host == host.as_bytes()),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => RawOrigin::parse(origin).is_some_and(|r| {
                r.scheme == scheme.as_bytes()
                    && port.accepts(r.port)
                    && is_strict_subdomain(r.host, suffix.as_bytes())
            }),
        }
    }

    /// Whether the pattern trusts a plain-`http` origin that is not a loopback name or address
    /// (traffic anyone on the path can read and forge).
    pub fn is_insecure(&self) -> bool {
        match self {
            OriginPattern::Exact(o) => !o.is_potentially_trustworthy(),
            OriginPattern::AnyPort { scheme, host } => {
                scheme == "http" && !crate::origin::is_loopback_host(host)
            }
            OriginPattern::Subdomains { scheme, suffix, .. } => {
                scheme == "http" && suffix != "localhost"
            }
        }
    }
}

/// `host` is `<one or more labels>.suffix`.
pub(crate) fn is_strict_subdomain(host: &[u8], suffix: &[u8]) -> bool {
    host.len() > suffix.len() + 1
        && host.ends_with(suffix)
        && host.get(host.len() - suffix.len() - 1) == Some(&b'.')
}

/// A host that is itself a public suffix in the bundled list, or a single label other than
/// `localhost` (an unknown top-level domain).
pub(crate) fn is_public_suffix(host: &str) -> bool {
    if !host.contains('.') {
        return host != "localhost";
    }
    match psl::suffix(host.as_bytes()) {
        Some(s) => s.is_known() && s.as_bytes() == host.as_bytes(),
        None => false,
    }
}

impl FromStr for OriginPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OriginPattern::parse(s)
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPattern::Exact(o) => o.fmt(f),
            OriginPattern::AnyPort { scheme, host } => write!(f, "{scheme}://{host}:*"),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => {
                write!(f, "{scheme}://*.{suffix}")?;
                match port {
                    PortSpec::Default => Ok(()),
                    PortSpec::Exact(p) => write!(f, ":{p}"),
                    PortSpec::Any => f.write_str(":*"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `pattern` fuzz target: wildcard matching does not decode `xn--` labels, so
    /// a host no browser can have still matches (documented on `OriginPattern::matches`).
    #[test]
    fn wildcard_matching_does_not_decode_punycode() {
        let p = OriginPattern::parse_with("https://*.om", true).unwrap();
        let odd = "https://aba.jphddi.xn--4d00dd.om";
        assert!(p.matches(odd.as_bytes()));
        assert!(crate::Origin::parse(odd).is_err());
        assert!(!p.matches(b"https://om"));
    }

    #[test]
    fn subdomain_patterns_are_label_anchored() {
        let p = OriginPattern::parse("https://*.example.com").unwrap();
        assert!(p.matches(b"https://a.example.com"));
        assert!(p.matches(b"https://a.b.example.com"));
        assert!(!p.matches(b"https://example.com"));
        assert!(!p.matches(b"https://evilexample.com"));
        assert!(!p.matches(b"https://.example.com"));
        assert!(!p.matches(b"http://a.example.com"));
        assert!(!p.matches(b"https://a.example.com:8443"));
        assert!(!p.matches(b"https://a.example.com.evil.com"));
        assert!(!p.matches(b"https://A.example.com"));
        assert_eq!(p.to_string(), "https://*.example.com");
    }

    #[test]
    fn port_wildcards() {
        let p = OriginPattern::parse("http://localhost:*").unwrap();
        assert!(p.matches(b"http://localhost"));
        assert!(p.matches(b"http://localhost:3000"));
        assert!(!p.matches(b"http://localhost.evil.com:3000"));
        assert!(!p.matches(b"https://localhost:3000"));
        let p = OriginPattern::parse("https://*.example.com:*").unwrap();
        assert!(p.matches(b"https://a.example.com:1"));
        assert!(p.matches(b"https://a.example.com"));
        let p = OriginPattern::parse("https://*.example.com:8443").unwrap();
        assert!(p.matches(b"https://a.example.com:8443"));
        assert!(!p.matches(b"https://a.example.com"));
    }

    #[test]
    fn refused_patterns() {
        for bad in [
            "https://*.co.uk",
            "https://*.github.io",
            "https://*.com",
            "https://*example.com",
            "https://a.*.com",
            "*://a.com",
            "https://*.127.0.0.1",
            "https://*.[::1]",
            "https://*.example.com/",
            "https://**.example.com",
            "*",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(OriginPattern::parse_with("https://*.github.io", true).is_ok());
        let e = OriginPattern::parse("https://*.Example.com:*").unwrap_err();
        assert!(e.to_string().contains("https://*.example.com:*"), "{e}");
        let e = OriginPattern::parse("https://*.example.com:443").unwrap_err();
        assert!(
            e.to_string().contains("write `https://*.example.com`"),
            "{e}"
        );
    }

    #[test]
    fn insecure() {
        assert!(OriginPattern::parse("http://a.com").unwrap().is_insecure());
        assert!(!OriginPattern::parse("http://localhost:*")
            .unwrap()
            .is_insecure());
        assert!(!OriginPattern::parse("http://127.0.0.1:8080")
            .unwrap()
            .is_insecure());
        assert!(!OriginPattern::parse("https://*.a.com")
            .unwrap()
            .is_insecure());
    }
}
