//! The CORS-preflight cache (Fetch §4.8, R32–R37; Chromium C1–C6), as a value the caller
//! owns. Sans-IO: the current time is an argument (`now`, any monotonic clock as a
//! [`Duration`] since an epoch the caller picks).

use std::time::Duration;

use super::response::{PreflightOk, CHROMIUM_MAX_AGE_CAP};
use super::safelist::is_cors_safelisted_method;
use super::small::Small;
use super::{Behavior, CredentialsMode};

/// One spec cache entry (R32): one method or one header name. `by` numbers the fetch whose
/// preflight stored it (for explanations).
#[derive(Clone, Debug, PartialEq, Eq)]
struct SpecEntry<S> {
    origin: S,
    url: S,
    expires: Duration,
    credentials: bool,
    method: Option<S>,
    header: Option<S>,
    by: u16,
}

/// One Chromium entry (C2): the whole preflight result for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChromiumEntry<S> {
    origin: S,
    url: S,
    expires: Duration,
    credentials: bool,
    methods: Vec<S>,
    headers: Vec<S>,
    by: u16,
}

/// What a cache hit rests on (for explanations): the fetches whose preflights stored the
/// entries used, and the earliest expiry among them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hit {
    pub by: Small<u16, 4>,
    pub until: Option<Duration>,
}

impl Hit {
    fn add(&mut self, by: u16, expires: Duration) {
        if !self.by.contains(&by) {
            self.by.push(by);
        }
        self.until = Some(self.until.map_or(expires, |u| u.min(expires)));
    }
}

/// The cache logic, over any string type: `String` for [`PreflightCache`], borrowed strings
/// for the model's own cache (no allocation while a scenario is evaluated).
#[derive(Clone, Debug)]
pub(crate) struct Core<S> {
    behavior: Behavior,
    cap: u64,
    spec: Vec<SpecEntry<S>>,
    chromium: Vec<ChromiumEntry<S>>,
}

impl<S: AsRef<str> + Clone> Core<S> {
    pub(crate) fn new(behavior: Behavior) -> Self {
        Core {
            behavior,
            cap: match behavior {
                Behavior::Spec => u64::MAX,
                Behavior::Chromium => CHROMIUM_MAX_AGE_CAP,
            },
            spec: Vec::new(),
            chromium: Vec::new(),
        }
    }

    pub(crate) fn set_cap(&mut self, seconds: u64) {
        self.cap = seconds;
    }

    pub(crate) fn cap(&self) -> u64 {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.spec.len() + self.chromium.len()
    }

    /// R18 / C2–C7: `Some` when the cache satisfies the request (no preflight is sent).
    /// `force_method` is the use-CORS-preflight flag: the method needs a cache match even when
    /// it is safelisted (R18).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lookup<N: AsRef<str>>(
        &mut self,
        origin: &str,
        url: &str,
        credentials: CredentialsMode,
        method: &str,
        unsafe_names: &[N],
        force_method: bool,
        now: Duration,
    ) -> Option<Hit> {
        let include = credentials == CredentialsMode::Include;
        let mut hit = Hit::default();
        match self.behavior {
            Behavior::Spec => {
                self.spec.retain(|e| e.expires > now);
                // R34: entry match.
                let matching = |e: &&SpecEntry<S>| {
                    e.origin.as_ref() == origin
                        && e.url.as_ref() == url
                        && (e.credentials || !include)
                };
                // R35.
                if force_method || !is_cors_safelisted_method(method) {
                    let e = self.spec.iter().filter(matching).find(|e| {
                        e.method
                            .as_ref()
                            .is_some_and(|m| m.as_ref() == method || m.as_ref() == "*")
                    })?;
                    hit.add(e.by, e.expires);
                }
                // R36.
                for n in unsafe_names {
                    let n = n.as_ref();
                    let e = self.spec.iter().filter(matching).find(|e| {
                        e.header.as_ref().is_some_and(|h| {
                            let h = h.as_ref();
                            h.eq_ignore_ascii_case(n)
                                || (h == "*" && !n.eq_ignore_ascii_case("authorization"))
                        })
                    })?;
                    hit.add(e.by, e.expires);
                }
                Some(hit)
            }
            Behavior::Chromium => {
                let pos = self
                    .chromium
                    .iter()
                    .position(|e| e.origin.as_ref() == origin && e.url.as_ref() == url)?;
                let e = self.chromium.get(pos)?;
                let fresh = e.expires > now;
                // C6: a non-credentialed entry never serves `include`.
                let cred_ok = e.credentials || !include;
                let star_ok = !e.credentials;
                let method_ok = (!force_method && is_cors_safelisted_method(method))
                    || e.methods.iter().any(|m| m.as_ref() == method)
                    || (star_ok && e.methods.iter().any(|m| m.as_ref() == "*"));
                // C7: lookups use the strict variant: `*` never covers Authorization.
                let headers_ok = unsafe_names.iter().all(|n| {
                    let n = n.as_ref();
                    e.headers.iter().any(|h| h.as_ref().eq_ignore_ascii_case(n))
                        || (star_ok
                            && e.headers.iter().any(|h| h.as_ref() == "*")
                            && !n.eq_ignore_ascii_case("authorization"))
                });
                if fresh && cred_ok && method_ok && headers_ok {
                    hit.add(e.by, e.expires);
                    Some(hit)
                } else {
                    // C3: stale or insufficient entries are removed.
                    self.chromium.remove(pos);
                    None
                }
            }
        }
    }

    /// R31 / C2: records a successful preflight made with `credentials` at `now` by fetch
    /// number `by`. Returns the fetch whose entry it replaced (Chromium, C2).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn store(
        &mut self,
        origin: S,
        url: S,
        credentials: CredentialsMode,
        methods: impl Iterator<Item = S> + Clone,
        headers: impl Iterator<Item = S> + Clone,
        max_age: u64,
        now: Duration,
        by: u16,
    ) -> Option<u16> {
        let include = credentials == CredentialsMode::Include;
        let expires = now.saturating_add(Duration::from_secs(max_age.min(self.cap)));
        match self.behavior {
            Behavior::Spec => {
                let mut upsert = |method: Option<S>, header: Option<S>| {
                    let existing = self.spec.iter_mut().find(|e| {
                        e.origin.as_ref() == origin.as_ref()
                            && e.url.as_ref() == url.as_ref()
                            && e.credentials == include
                            && e.method.as_ref().map(AsRef::as_ref)
                                == method.as_ref().map(AsRef::as_ref)
                            && match (&e.header, &header) {
                                (Some(a), Some(b)) => a.as_ref().eq_ignore_ascii_case(b.as_ref()),
                                (None, None) => true,
                                _ => false,
                            }
                    });
                    match existing {
                        Some(e) => {
                            e.expires = expires;
                            e.by = by;
                        }
                        None => self.spec.push(SpecEntry {
                            origin: origin.clone(),
                            url: url.clone(),
                            expires,
                            credentials: include,
                            method,
                            header,
                            by,
                        }),
                    }
                };
                for m in methods {
                    upsert(Some(m), None);
                }
                for h in headers {
                    upsert(None, Some(h));
                }
                None
            }
            Behavior::Chromium => {
                let replaced = self
                    .chromium
                    .iter()
                    .find(|e| {
                        e.origin.as_ref() == origin.as_ref() && e.url.as_ref() == url.as_ref()
                    })
                    .map(|e| e.by);
                self.chromium.retain(|e| {
                    !(e.origin.as_ref() == origin.as_ref() && e.url.as_ref() == url.as_ref())
                });
                if url.as_ref().len() >= 1024 {
                    return replaced;
                }
                self.chromium.push(ChromiumEntry {
                    origin,
                    url,
                    expires,
                    credentials: include,
                    methods: methods.collect(),
                    headers: headers.collect(),
                    by,
                });
                replaced
            }
        }
    }

    /// R37: removes every entry for (origin, URL); returns how many.
    pub(crate) fn clear(&mut self, origin: &str, url: &str) -> usize {
        let before = self.len();
        self.spec
            .retain(|e| !(e.origin.as_ref() == origin && e.url.as_ref() == url));
        self.chromium
            .retain(|e| !(e.origin.as_ref() == origin && e.url.as_ref() == url));
        before - self.len()
    }

    /// R19 / C5: returns how many entries were cleared.
    pub(crate) fn on_network_error(&mut self, origin: &str, url: &str) -> usize {
        if self.behavior == Behavior::Spec {
            self.clear(origin, url)
        } else {
            0
        }
    }

    /// Why [`Core::lookup`] with the same arguments does not allow the request (for
    /// explanations; call it before the lookup, which may remove entries).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn why_not<N: AsRef<str>>(
        &self,
        origin: &str,
        url: &str,
        credentials: CredentialsMode,
        method: &str,
        unsafe_names: &[N],
        force_method: bool,
        now: Duration,
    ) -> String {
        let include = credentials == CredentialsMode::Include;
        let t = |d: Duration| d.as_secs();
        let auth = |n: &str| n.eq_ignore_ascii_case("authorization");
        match self.behavior {
            Behavior::Spec => {
                let keyed: Vec<&SpecEntry<S>> = self
                    .spec
                    .iter()
                    .filter(|e| e.origin.as_ref() == origin && e.url.as_ref() == url)
                    .collect();
                if keyed.is_empty() {
                    return format!("it holds no entry for origin {origin} and {url}");
                }
                let fresh: Vec<&&SpecEntry<S>> = keyed.iter().filter(|e| e.expires > now).collect();
                if fresh.is_empty() {
                    let last = keyed.iter().map(|e| t(e.expires)).max().unwrap_or(0);
                    return format!(
                        "its entries for origin {origin} and {url} expired (the last at t={last} s; R33)"
                    );
                }
                let usable: Vec<&&&SpecEntry<S>> =
                    fresh.iter().filter(|e| e.credentials || !include).collect();
                if usable.is_empty() {
                    return "its entries come from preflights without credentials, and this request includes credentials (R34)".to_string();
                }
                if force_method || !is_cors_safelisted_method(method) {
                    let has = usable.iter().any(|e| {
                        e.method
                            .as_ref()
                            .is_some_and(|m| m.as_ref() == method || m.as_ref() == "*")
                    });
                    if !has {
                        return if force_method && is_cors_safelisted_method(method) {
                            format!("it holds no entry for method {method}, which the use-CORS-preflight flag requires even for a safelisted method (R18)")
                        } else {
                            format!("it holds no entry for method {method} (R35)")
                        };
                    }
                }
                for n in unsafe_names {
                    let n = n.as_ref();
                    let exact = usable.iter().any(|e| {
                        e.header
                            .as_ref()
                            .is_some_and(|h| h.as_ref().eq_ignore_ascii_case(n))
                    });
                    let star = usable
                        .iter()
                        .any(|e| e.header.as_ref().is_some_and(|h| h.as_ref() == "*"));
                    let covered = exact || (star && !auth(n));
                    if !covered {
                        return if star {
                            "its `*` header entry does not cover Authorization (R36)".to_string()
                        } else {
                            format!(
                                "it holds no entry for header {} (R36)",
                                n.to_ascii_lowercase()
                            )
                        };
                    }
                }
                "it allows the request".to_string()
            }
            Behavior::Chromium => {
                let Some(e) = self
                    .chromium
                    .iter()
                    .find(|e| e.origin.as_ref() == origin && e.url.as_ref() == url)
                else {
                    return format!("it holds no entry for origin {origin} and {url}");
                };
                let from = e.by;
                // The same tests as `lookup`.
                let star_ok = !e.credentials;
                let method_ok = (!force_method && is_cors_safelisted_method(method))
                    || e.methods.iter().any(|m| m.as_ref() == method)
                    || (star_ok && e.methods.iter().any(|m| m.as_ref() == "*"));
                let header_ok = |n: &str| {
                    e.headers.iter().any(|h| h.as_ref().eq_ignore_ascii_case(n))
                        || (star_ok && e.headers.iter().any(|h| h.as_ref() == "*") && !auth(n))
                };
                let why = if e.expires <= now {
                    format!("expired at t={} s", t(e.expires))
                } else if !e.credentials && include {
                    "comes from a preflight without credentials, and this request includes credentials (C6)".to_string()
                } else if !method_ok {
                    format!("does not allow method {method}")
                } else if let Some(n) = unsafe_names
                    .iter()
                    .map(AsRef::as_ref)
                    .find(|n| !header_ok(n))
                {
                    if auth(n) && e.headers.iter().any(|h| h.as_ref() == "*") {
                        "has `*` for headers, which a cache lookup never lets cover Authorization (C7)".to_string()
                    } else {
                        format!("does not allow header {}", n.to_ascii_lowercase())
                    }
                } else {
                    return "it allows the request".to_string();
                };
                format!("its entry (from fetch #{from}) {why}, so it is removed (C3)")
            }
        }
    }
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
    core: Core<String>,
}

impl PreflightCache {
    /// An empty cache following `behavior`.
    pub fn new(behavior: Behavior) -> Self {
        PreflightCache {
            core: Core::new(behavior),
        }
    }

    /// Sets the UA's max-age limit in seconds (e.g. [`super::FIREFOX_MAX_AGE_CAP`]).
    pub fn with_max_age_cap(mut self, seconds: u64) -> Self {
        self.core.set_cap(seconds);
        self
    }

    /// The max-age limit in seconds.
    pub fn max_age_cap(&self) -> u64 {
        self.core.cap()
    }

    /// Number of entries (spec: per method/header; Chromium: per key).
    pub fn len(&self) -> usize {
        self.core.len()
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
        self.core
            .lookup(origin, url, credentials, method, unsafe_names, false, now)
            .is_some()
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
        self.core.store(
            origin.to_string(),
            url.to_string(),
            credentials,
            result.methods.iter().cloned(),
            result.header_names.iter().cloned(),
            result.max_age,
            now,
            0,
        );
    }

    /// R37: removes every entry for (origin, URL).
    pub fn clear(&mut self, origin: &str, url: &str) {
        self.core.clear(origin, url);
    }

    /// R19 / C5: what the browser does to the cache after a CORS-with-preflight fetch ended in
    /// a network error: the spec clears the entries for (origin, URL); Chromium keeps them.
    pub fn on_network_error(&mut self, origin: &str, url: &str) {
        self.core.on_network_error(origin, url);
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
