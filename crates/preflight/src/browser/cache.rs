//! The CORS-preflight cache (Fetch §4.8, R32–R37; Chromium C1–C6), as a value the caller
//! owns. Sans-IO: the current time is an argument (`now`, any monotonic clock as a
//! [`Duration`] since an epoch the caller picks).

use std::time::Duration;

use super::response::{PreflightOk, CHROMIUM_MAX_AGE_CAP};
use super::safelist::is_cors_safelisted_method;
use super::{Behavior, CredentialsMode};

/// One spec cache entry (R32): one method or one header name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SpecEntry {
    origin: String,
    url: String,
    expires: Duration,
    credentials: bool,
    method: Option<String>,
    header: Option<String>,
}

/// One Chromium entry (C2): the whole preflight result for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChromiumEntry {
    origin: String,
    url: String,
    expires: Duration,
    credentials: bool,
    methods: Vec<String>,
    headers: Vec<String>,
}

/// A preflight cache owned by the caller.
///
/// * [`Behavior::Spec`]: one entry per method and per header name; a new preflight adds to
///   (or refreshes) what is there (R31). No max-age cap unless set with
///   [`PreflightCache::with_max_age_cap`].
/// * [`Behavior::Chromium`]: one entry per (origin, URL) holding the whole result; a new
///   preflight **replaces** it (C2); max-age capped at 7200 s (C1); lookups never let `*`
///   cover `Authorization` (C7); an entry found stale or insufficient is removed (C3); URLs of
///   1024 bytes or more are never cached (C3).
///
/// The network partition key is not modelled: use one cache per partition.
///
/// ```
/// use std::time::Duration;
/// use preflight::browser::{Behavior, CredentialsMode, PreflightCache, PreflightOk};
/// let mut cache = PreflightCache::new(Behavior::Chromium);
/// let ok = PreflightOk { methods: vec!["PUT".into()], header_names: vec![], max_age: 600,
///                        authorization_covered_by_wildcard: false };
/// let t0 = Duration::from_secs(1000);
/// cache.store("https://a.test", "https://b.test/x", CredentialsMode::Omit, &ok, t0);
/// assert!(cache.lookup("https://a.test", "https://b.test/x", CredentialsMode::Omit, "PUT", &[], t0));
/// assert!(!cache.lookup("https://a.test", "https://b.test/x", CredentialsMode::Omit, "PUT", &[],
///                       t0 + Duration::from_secs(600)));
/// ```
#[derive(Clone, Debug)]
pub struct PreflightCache {
    behavior: Behavior,
    cap: u64,
    spec: Vec<SpecEntry>,
    chromium: Vec<ChromiumEntry>,
}

impl PreflightCache {
    /// An empty cache following `behavior`.
    pub fn new(behavior: Behavior) -> Self {
        PreflightCache {
            behavior,
            cap: match behavior {
                Behavior::Spec => u64::MAX,
                Behavior::Chromium => CHROMIUM_MAX_AGE_CAP,
            },
            spec: Vec::new(),
            chromium: Vec::new(),
        }
    }

    /// Sets the UA's max-age limit in seconds (e.g. [`super::FIREFOX_MAX_AGE_CAP`]).
    pub fn with_max_age_cap(mut self, seconds: u64) -> Self {
        self.cap = seconds;
        self
    }

    /// The max-age limit in seconds.
    pub fn max_age_cap(&self) -> u64 {
        self.cap
    }

    /// Number of entries (spec: per method/header; Chromium: per key).
    pub fn len(&self) -> usize {
        self.spec.len() + self.chromium.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// R18: whether the cache satisfies a request, so that **no** preflight is sent.
    /// `method` is the normalized method, `unsafe_names` the CORS-unsafe header names.
    /// Expired entries are purged first (R33).
    pub fn lookup(
        &mut self,
        origin: &str,
        url: &str,
        credentials: CredentialsMode,
        method: &str,
        unsafe_names: &[String],
        now: Duration,
    ) -> bool {
        let include = credentials == CredentialsMode::Include;
        match self.behavior {
            Behavior::Spec => {
                self.spec.retain(|e| e.expires > now);
                // R34: entry match.
                let matching = |e: &&SpecEntry| {
                    e.origin == origin && e.url == url && (e.credentials || !include)
                };
                // R35.
                let method_ok = is_cors_safelisted_method(method)
                    || self
                        .spec
                        .iter()
                        .filter(matching)
                        .any(|e| e.method.as_deref().is_some_and(|m| m == method || m == "*"));
                // R36.
                let headers_ok = unsafe_names.iter().all(|n| {
                    self.spec.iter().filter(matching).any(|e| {
                        e.header.as_deref().is_some_and(|h| {
                            h.eq_ignore_ascii_case(n)
                                || (h == "*" && !n.eq_ignore_ascii_case("authorization"))
                        })
                    })
                });
                method_ok && headers_ok
            }
            Behavior::Chromium => {
                let Some(pos) = self
                    .chromium
                    .iter()
                    .position(|e| e.origin == origin && e.url == url)
                else {
                    return false;
                };
                let Some(e) = self.chromium.get(pos) else {
                    return false;
                };
                let fresh = e.expires > now;
                // C6: a non-credentialed entry never serves `include`.
                let cred_ok = e.credentials || !include;
                let star_ok = !e.credentials;
                let method_ok = is_cors_safelisted_method(method)
                    || e.methods.iter().any(|m| m == method)
                    || (star_ok && e.methods.iter().any(|m| m == "*"));
                // C7: lookups use the strict variant: `*` never covers Authorization.
                let headers_ok = unsafe_names.iter().all(|n| {
                    e.headers.iter().any(|h| h.eq_ignore_ascii_case(n))
                        || (star_ok
                            && e.headers.iter().any(|h| h == "*")
                            && !n.eq_ignore_ascii_case("authorization"))
                });
                let hit = fresh && cred_ok && method_ok && headers_ok;
                if !hit {
                    // C3: stale or insufficient entries are removed.
                    self.chromium.remove(pos);
                }
                hit
            }
        }
    }

    /// R31 / C2: records a successful preflight made with `credentials` at `now`.
    pub fn store(
        &mut self,
        origin: &str,
        url: &str,
        credentials: CredentialsMode,
        result: &PreflightOk,
        now: Duration,
    ) {
        let include = credentials == CredentialsMode::Include;
        let expires = now.saturating_add(Duration::from_secs(result.max_age.min(self.cap)));
        match self.behavior {
            Behavior::Spec => {
                let mut upsert = |method: Option<&str>, header: Option<&str>| {
                    let existing = self.spec.iter_mut().find(|e| {
                        e.origin == origin
                            && e.url == url
                            && e.credentials == include
                            && e.method.as_deref() == method
                            && match (&e.header, header) {
                                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                                (None, None) => true,
                                _ => false,
                            }
                    });
                    match existing {
                        Some(e) => e.expires = expires,
                        None => self.spec.push(SpecEntry {
                            origin: origin.to_string(),
                            url: url.to_string(),
                            expires,
                            credentials: include,
                            method: method.map(str::to_string),
                            header: header.map(str::to_string),
                        }),
                    }
                };
                for m in &result.methods {
                    upsert(Some(m), None);
                }
                for h in &result.header_names {
                    upsert(None, Some(h));
                }
            }
            Behavior::Chromium => {
                self.chromium
                    .retain(|e| !(e.origin == origin && e.url == url));
                if url.len() >= 1024 {
                    return;
                }
                self.chromium.push(ChromiumEntry {
                    origin: origin.to_string(),
                    url: url.to_string(),
                    expires,
                    credentials: include,
                    methods: result.methods.clone(),
                    headers: result
                        .header_names
                        .iter()
                        .map(|h| h.to_ascii_lowercase())
                        .collect(),
                });
            }
        }
    }

    /// R37: removes every entry for (origin, URL).
    pub fn clear(&mut self, origin: &str, url: &str) {
        self.spec.retain(|e| !(e.origin == origin && e.url == url));
        self.chromium
            .retain(|e| !(e.origin == origin && e.url == url));
    }

    /// R19 / C5: what the browser does to the cache after a CORS-with-preflight fetch ended in
    /// a network error: the spec clears the entries for (origin, URL); Chromium keeps them.
    pub fn on_network_error(&mut self, origin: &str, url: &str) {
        if self.behavior == Behavior::Spec {
            self.clear(origin, url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: &str = "https://a.test";
    const U: &str = "https://b.test/r";

    fn ok(methods: &[&str], headers: &[&str], max_age: u64) -> PreflightOk {
        PreflightOk {
            methods: methods.iter().map(|s| s.to_string()).collect(),
            header_names: headers.iter().map(|s| s.to_string()).collect(),
            max_age,
            authorization_covered_by_wildcard: false,
        }
    }
    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_merges_chromium_replaces() {
        // C2: PUT, DELETE, PUT on one URL → spec 2 preflights, Chromium 3.
        for (behavior, expected) in [(Behavior::Spec, 2), (Behavior::Chromium, 3)] {
            let mut c = PreflightCache::new(behavior);
            let mut preflights = 0;
            for m in ["PUT", "DELETE", "PUT"] {
                if !c.lookup(O, U, CredentialsMode::Omit, m, &[], s(10)) {
                    preflights += 1;
                    c.store(O, U, CredentialsMode::Omit, &ok(&[m], &[], 600), s(10));
                }
            }
            assert_eq!(preflights, expected, "{behavior:?}");
        }
    }

    #[test]
    fn expiry_and_caps() {
        let mut c = PreflightCache::new(Behavior::Chromium);
        c.store(
            O,
            U,
            CredentialsMode::Omit,
            &ok(&["PUT"], &[], 86_400),
            s(0),
        );
        assert!(c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(7199)));
        assert!(!c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(7200)));
        let mut c =
            PreflightCache::new(Behavior::Spec).with_max_age_cap(super::super::FIREFOX_MAX_AGE_CAP);
        c.store(
            O,
            U,
            CredentialsMode::Omit,
            &ok(&["PUT"], &[], 100_000),
            s(0),
        );
        assert!(c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(86_399)));
        assert!(!c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(86_400)));
        // max-age 0: never served.
        let mut c = PreflightCache::new(Behavior::Spec);
        c.store(O, U, CredentialsMode::Omit, &ok(&["PUT"], &[], 0), s(5));
        assert!(!c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(5)));
    }

    #[test]
    fn credentials_direction() {
        for b in [Behavior::Spec, Behavior::Chromium] {
            let mut c = PreflightCache::new(b);
            c.store(
                O,
                U,
                CredentialsMode::Include,
                &ok(&["PUT"], &["x-a"], 60),
                s(0),
            );
            assert!(c.lookup(O, U, CredentialsMode::Omit, "PUT", &names(&["x-a"]), s(1)));
            let mut c = PreflightCache::new(b);
            c.store(
                O,
                U,
                CredentialsMode::Omit,
                &ok(&["PUT"], &["x-a"], 60),
                s(0),
            );
            assert!(!c.lookup(
                O,
                U,
                CredentialsMode::Include,
                "PUT",
                &names(&["x-a"]),
                s(1)
            ));
        }
    }

    #[test]
    fn keys_origin_and_url() {
        for b in [Behavior::Spec, Behavior::Chromium] {
            let mut c = PreflightCache::new(b);
            c.store(O, U, CredentialsMode::Omit, &ok(&["PUT"], &[], 60), s(0));
            // Tainted origin (`null`) and untainted do not share (WPT cache-tainted).
            assert!(!c.lookup("null", U, CredentialsMode::Omit, "PUT", &[], s(1)));
            assert!(!c.lookup(
                O,
                "https://b.test/r?q",
                CredentialsMode::Omit,
                "PUT",
                &[],
                s(1)
            ));
            assert!(c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(1)));
            c.on_network_error(O, U);
            assert_eq!(
                c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(1)),
                b == Behavior::Chromium
            );
        }
    }

    #[test]
    fn wildcard_and_authorization() {
        for b in [Behavior::Spec, Behavior::Chromium] {
            let mut c = PreflightCache::new(b);
            c.store(O, U, CredentialsMode::Omit, &ok(&["*"], &["*"], 60), s(0));
            assert!(c.lookup(
                O,
                U,
                CredentialsMode::Omit,
                "DELETE",
                &names(&["x-a", "x-b"]),
                s(1)
            ));
            assert!(!c.lookup(
                O,
                U,
                CredentialsMode::Omit,
                "DELETE",
                &names(&["authorization"]),
                s(1)
            ));
        }
        // Chromium: a credentialed entry's `*` is not a wildcard.
        let mut c = PreflightCache::new(Behavior::Chromium);
        c.store(
            O,
            U,
            CredentialsMode::Include,
            &ok(&["*", "PUT"], &[], 60),
            s(0),
        );
        assert!(!c.lookup(O, U, CredentialsMode::Include, "DELETE", &[], s(1)));
        // Spec (R35 caveat): the same entry serves a credentialed DELETE.
        let mut c = PreflightCache::new(Behavior::Spec);
        c.store(
            O,
            U,
            CredentialsMode::Include,
            &ok(&["*", "PUT"], &[], 60),
            s(0),
        );
        assert!(c.lookup(O, U, CredentialsMode::Include, "DELETE", &[], s(1)));
    }

    #[test]
    fn spec_headers_accumulate() {
        let mut c = PreflightCache::new(Behavior::Spec);
        c.store(O, U, CredentialsMode::Omit, &ok(&[], &["X-A"], 60), s(0));
        c.store(O, U, CredentialsMode::Omit, &ok(&[], &["x-b"], 60), s(0));
        assert!(c.lookup(
            O,
            U,
            CredentialsMode::Omit,
            "GET",
            &names(&["x-a", "x-b"]),
            s(1)
        ));
        let mut c = PreflightCache::new(Behavior::Chromium);
        c.store(O, U, CredentialsMode::Omit, &ok(&[], &["X-A"], 60), s(0));
        c.store(O, U, CredentialsMode::Omit, &ok(&[], &["x-b"], 60), s(0));
        assert!(!c.lookup(
            O,
            U,
            CredentialsMode::Omit,
            "GET",
            &names(&["x-a", "x-b"]),
            s(1)
        ));
        // Insufficient entry was removed (C3).
        assert!(c.is_empty());
    }

    #[test]
    fn refresh_extends() {
        let mut c = PreflightCache::new(Behavior::Spec);
        c.store(O, U, CredentialsMode::Omit, &ok(&["PUT"], &[], 10), s(0));
        c.store(O, U, CredentialsMode::Omit, &ok(&["PUT"], &[], 10), s(8));
        assert_eq!(c.len(), 1);
        assert!(c.lookup(O, U, CredentialsMode::Omit, "PUT", &[], s(15)));
    }
}
