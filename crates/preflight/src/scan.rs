//! CORS misconfiguration audit, sans-IO: a [`Plan`] of probes out, observed responses in,
//! [`Finding`]s out.
//!
//! The caller (the `preflight scan` command) sends the probes; this module decides what to
//! send and what the answers mean, with the same semantics as the rest of the crate:
//! credentials count only when `Access-Control-Allow-Credentials` is exactly `true`, an
//! `Access-Control-Allow-Origin` grants access only when it equals the request's `Origin`
//! byte for byte (or is `*`), and a preflight passes only with an ok (2xx) status.
//!
//! ```
//! use preflight::scan::{Class, ObservedResponse, Observation, Plan, ScanOptions};
//!
//! let mut plan = Plan::new("https://api.example.com/v1/me", &ScanOptions::default())?;
//! let mut observed = Vec::new();
//! loop {
//!     let probes = plan.next_round(&observed);
//!     if probes.is_empty() {
//!         break;
//!     }
//!     for probe in probes {
//!         // A server that reflects every origin, with credentials.
//!         let response = ObservedResponse {
//!             status: 200,
//!             headers: vec![
//!                 ("access-control-allow-origin".into(), probe.origin.clone()),
//!                 ("access-control-allow-credentials".into(), "true".into()),
//!                 ("vary".into(), "Origin".into()),
//!             ],
//!         };
//!         observed.push(Observation { probe, response });
//!     }
//! }
//! assert!(observed.len() <= preflight::scan::MAX_PROBES);
//! let findings = plan.judge(&observed);
//! assert_eq!(findings[0].class, Class::ReflectAnyOrigin);
//! # Ok::<(), preflight::scan::ScanError>(())
//! ```
//!
//! # Probe plan
//!
//! Two rounds, at most [`MAX_PROBES`] (60) requests per URL, deterministic (no randomness:
//! the attacker domain is the reserved `preflight-scan.example`).
//!
//! **Round 1** (13 probes for an `https` URL, 12 for `http`; fewer when siblings coincide):
//!
//! | id | request | tests |
//! |---|---|---|
//! | `own` | GET, `Origin:` the target's own origin | whether the server echoes a trusted origin |
//! | `foreign` | GET, `Origin: https://preflight-scan.example` | `reflect_any_origin`; a fixed ACAO here reveals a trusted origin |
//! | `null` | GET, `Origin: null` | `null_origin` |
//! | `http_own` | GET, `Origin: http://<target host>` (https targets) | `https_trusts_http` |
//! | `third_party.N` | GET from `preflight-scan.github.io`, `codepen.io`, `jsfiddle.net`, `preflight-scan.s3.amazonaws.com` | `third_party_origin` |
//! | `sibling.N` | GET from `https://www.<site>`, `https://app.<site>`, `https://<site>` | trusted-origin discovery |
//! | `preflight_foreign` | OPTIONS, foreign origin, `Access-Control-Request-Method: PUT` | `preflight_reflects_any_origin` |
//! | `pna` | OPTIONS, foreign origin, `Access-Control-Request-Private-Network: true` | `pna_any_origin` |
//!
//! **Round 2** mutates each trusted origin (up to 4: `--trusted-origin`s, fixed ACAOs sent back
//! to a foreign origin, the target's own origin, siblings the server accepted): prefix
//! (`app.example.com.preflight-scan.example`), suffix (`preflight-scanexample.com`),
//! unescaped dot (`appxexample.com`), substring (`app.example.co`), subdomain
//! (`preflight-scan.example.com`), plain http (`http://app.example.com`) and five special
//! characters (`app.example.com_.preflight-scan.example`, `` ` ``, `%60`, `!`, `~`), 11 per
//! origin, duplicates dropped; plus one preflight with an unusual method (`PREFLIGHTSCAN`)
//! and header (`x-preflight-scan-probe`) from an origin the server accepts
//! (`preflight_reflects_methods_headers`). `missing_vary_origin` and
//! `wildcard_with_credentials` are judged on every answer.
//!
//! # Judgement
//!
//! One finding per class (the most severe instance). An origin-acceptance class is rated by
//! its [`Class::severity_with_credentials`] when the answer carries
//! `Access-Control-Allow-Credentials: true`, and [`Severity::Info`] otherwise (public-equivalent:
//! any site could read it anyway with a server-side fetch, no user data involved). Folding:
//! `reflect_any_origin` absorbs every other origin class; a host-parsing bypass (prefix,
//! suffix, unescaped dot, substring, special character, third party) absorbs the weaker
//! `https_trusts_http` and `subdomain_trust`; `suffix_match` absorbs `unescaped_dot` and
//! `prefix_match` absorbs `special_char_bypass` (their probes are accepted by the broader
//! check). A fixed `Access-Control-Allow-Origin` naming another origin is a trusted partner,
//! not a finding; trust in every subdomain of the target's own site is a deliberate same-site
//! choice, not a finding (`subdomain_trust` is trust in every subdomain of *another* site).
//!
//! # Measured on the test zoo
//!
//! `crates/preflight-cli/tests/scan.rs` runs the built binary against a local server with one
//! path per class and seven correctly configured paths (exact allowlist with `Vary`, public
//! `*`, anchored subdomains, reflection without credentials, `ACAC: false`, a fixed partner
//! ACAO, `preflight_tower::CorsLayer`): detection 15/15, class and severity accuracy 15/15,
//! false positives 0 (no finding ≥ low on any correct path; the two reflection paths without
//! credentials get their single expected `info` note), at most 52 requests per URL (23 to 52).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::Origin;

/// The most requests a plan sends for one URL.
pub const MAX_PROBES: usize = 60;

/// The attacker-controlled domain used in probes (reserved: `.example` never resolves).
pub const ATTACKER_DOMAIN: &str = "preflight-scan.example";

/// The unusual method sent in the methods/headers preflight.
pub const PROBE_METHOD: &str = "PREFLIGHTSCAN";

/// The unusual header sent in the methods/headers preflight.
pub const PROBE_HEADER: &str = "x-preflight-scan-probe";

const FOREIGN: &str = "https://preflight-scan.example";
const THIRD_PARTIES: [&str; 4] = [
    "https://preflight-scan.github.io",
    "https://codepen.io",
    "https://jsfiddle.net",
    "https://preflight-scan.s3.amazonaws.com",
];
const SPECIAL_CHARS: [&str; 5] = ["_", "`", "%60", "!", "~"];
const MAX_TRUSTED: usize = 4;

/// A misconfiguration class. The [`Class::id`]s are stable (JSON, SARIF rule ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Any origin is echoed back.
    ReflectAnyOrigin,
    /// `trusted.host.attacker` is accepted (a `startsWith`/unanchored check).
    PrefixMatch,
    /// `attackertrusted.site` is accepted (an `endsWith` check without the dot).
    SuffixMatch,
    /// `appxexample.com` is accepted (a regex with an unescaped `.`).
    UnescapedDot,
    /// `app.example.co` is accepted (the trusted origin *contains* the request's).
    SubstringMatch,
    /// `app.example.com_.attacker` is accepted (a host parser stops at a special character).
    SpecialCharBypass,
    /// `Origin: null` is accepted (sandboxed iframes, `data:` documents).
    NullOrigin,
    /// The `http://` twin of a trusted `https://` origin is accepted.
    HttpsTrustsHttp,
    /// `Access-Control-Allow-Origin: *` with `Access-Control-Allow-Credentials: true`.
    WildcardWithCredentials,
    /// A shared-hosting origin anyone can publish on (github.io, codepen, ...) is accepted.
    ThirdPartyOrigin,
    /// Every subdomain of another site is accepted.
    SubdomainTrust,
    /// The ACAO depends on the `Origin` but `Vary: Origin` is missing.
    MissingVaryOrigin,
    /// Preflights are granted to any origin.
    PreflightReflectsAnyOrigin,
    /// Preflights echo whatever method and headers are asked for.
    PreflightReflectsMethodsHeaders,
    /// Private Network Access preflights are granted to any origin.
    PnaAnyOrigin,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 15] = [
        Class::ReflectAnyOrigin,
        Class::PrefixMatch,
        Class::SuffixMatch,
        Class::UnescapedDot,
        Class::SubstringMatch,
        Class::SpecialCharBypass,
        Class::NullOrigin,
        Class::HttpsTrustsHttp,
        Class::WildcardWithCredentials,
        Class::ThirdPartyOrigin,
        Class::SubdomainTrust,
        Class::MissingVaryOrigin,
        Class::PreflightReflectsAnyOrigin,
        Class::PreflightReflectsMethodsHeaders,
        Class::PnaAnyOrigin,
    ];

    /// The stable snake_case id.
    pub fn id(self) -> &'static str {
        match self {
            Class::ReflectAnyOrigin => "reflect_any_origin",
            Class::PrefixMatch => "prefix_match",
            Class::SuffixMatch => "suffix_match",
            Class::UnescapedDot => "unescaped_dot",
            Class::SubstringMatch => "substring_match",
            Class::SpecialCharBypass => "special_char_bypass",
            Class::NullOrigin => "null_origin",
            Class::HttpsTrustsHttp => "https_trusts_http",
            Class::WildcardWithCredentials => "wildcard_with_credentials",
            Class::ThirdPartyOrigin => "third_party_origin",
            Class::SubdomainTrust => "subdomain_trust",
            Class::MissingVaryOrigin => "missing_vary_origin",
            Class::PreflightReflectsAnyOrigin => "preflight_reflects_any_origin",
            Class::PreflightReflectsMethodsHeaders => "preflight_reflects_methods_headers",
            Class::PnaAnyOrigin => "pna_any_origin",
        }
    }

    /// The class with this id.
    pub fn from_id(id: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.id() == id)
    }

    /// A one-sentence description.
    pub fn title(self) -> &'static str {
        match self {
            Class::ReflectAnyOrigin => "The server echoes any Origin in Access-Control-Allow-Origin.",
            Class::PrefixMatch => "Origins that merely start with a trusted origin are accepted (trusted.host.attacker.example).",
            Class::SuffixMatch => "Origins that merely end with the trusted domain are accepted (attackerexample.com).",
            Class::UnescapedDot => "A dot in the trusted host matches any character (regex with an unescaped `.`).",
            Class::SubstringMatch => "Origins contained in a trusted origin are accepted (example.co for example.com).",
            Class::SpecialCharBypass => "A trusted host followed by a special character and an attacker domain is accepted.",
            Class::NullOrigin => "The opaque origin `null` is accepted (any sandboxed iframe or data: document sends it).",
            Class::HttpsTrustsHttp => "The plain-http twin of a trusted https origin is accepted (a network attacker can inject it).",
            Class::WildcardWithCredentials => "`Access-Control-Allow-Origin: *` together with `Access-Control-Allow-Credentials: true`: browsers refuse credentialed reads.",
            Class::ThirdPartyOrigin => "A shared-hosting origin anyone can publish on is accepted.",
            Class::SubdomainTrust => "Every subdomain of another site is accepted; any takeover or XSS there reaches this server.",
            Class::MissingVaryOrigin => "Access-Control-Allow-Origin depends on the request's Origin, but the response lacks `Vary: Origin`.",
            Class::PreflightReflectsAnyOrigin => "Preflights are granted to any origin.",
            Class::PreflightReflectsMethodsHeaders => "Preflights echo back any requested method and header.",
            Class::PnaAnyOrigin => "Private Network Access preflights are granted to any origin.",
        }
    }

    /// The one-line fix.
    pub fn fix(self) -> &'static str {
        match self {
            Class::ReflectAnyOrigin => "Compare the Origin against an exact allowlist and send Access-Control-Allow-Origin only for listed origins.",
            Class::PrefixMatch | Class::SuffixMatch | Class::UnescapedDot | Class::SubstringMatch | Class::SpecialCharBypass => {
                "Parse the Origin and compare scheme, host and port exactly (or `*.` patterns anchored at a dot), never with startsWith/endsWith/contains or unescaped regexes."
            }
            Class::NullOrigin => "Remove `null` from the allowlist; it is not an identity.",
            Class::HttpsTrustsHttp => "List only https origins; drop the http:// variants.",
            Class::WildcardWithCredentials => "Either drop Access-Control-Allow-Credentials (public data) or send the exact allowed origin instead of `*`.",
            Class::ThirdPartyOrigin => "Remove shared-hosting origins (github.io, codepen.io, jsfiddle.net, S3 buckets) from the allowlist.",
            Class::SubdomainTrust => "List the exact partner origins instead of every subdomain of their site.",
            Class::MissingVaryOrigin => "Send `Vary: Origin` on every response whose CORS headers depend on the Origin.",
            Class::PreflightReflectsAnyOrigin => "Answer preflights with the same exact allowlist as actual requests.",
            Class::PreflightReflectsMethodsHeaders => "Answer preflights with a fixed list of methods and headers, not an echo of the request.",
            Class::PnaAnyOrigin => "Send Access-Control-Allow-Private-Network only to listed origins (or not at all).",
        }
    }

    /// The severity when the answer allows credentials (or, for classes where credentials
    /// do not matter, the severity). The highest a finding of this class can get.
    pub fn severity_with_credentials(self) -> Severity {
        match self {
            Class::ReflectAnyOrigin
            | Class::PrefixMatch
            | Class::SuffixMatch
            | Class::UnescapedDot
            | Class::SubstringMatch
            | Class::NullOrigin
            | Class::ThirdPartyOrigin
            | Class::PreflightReflectsAnyOrigin
            | Class::PnaAnyOrigin => Severity::High,
            Class::SpecialCharBypass
            | Class::HttpsTrustsHttp
            | Class::SubdomainTrust
            | Class::MissingVaryOrigin => Severity::Medium,
            Class::WildcardWithCredentials | Class::PreflightReflectsMethodsHeaders => {
                Severity::Low
            }
        }
    }

    /// The policy-file fields ([`crate::Config`]) where this class is fixed, most specific
    /// first (used to point SARIF results at a line).
    pub fn policy_fields(self) -> &'static [&'static str] {
        match self {
            Class::ReflectAnyOrigin => {
                &["dangerously_reflect_any_origin_with_credentials", "origins"]
            }
            Class::NullOrigin => &["dangerously_allow_null_origin", "origins"],
            Class::HttpsTrustsHttp => &["dangerously_allow_insecure_origins", "origins"],
            Class::WildcardWithCredentials => &["credentials", "origins"],
            Class::ThirdPartyOrigin | Class::SubdomainTrust => {
                &["dangerously_allow_public_suffix_wildcards", "origins"]
            }
            Class::PreflightReflectsMethodsHeaders => &["methods", "request_headers"],
            Class::PnaAnyOrigin => &["private_network", "origins"],
            _ => &["origins"],
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// How bad a finding is. Ordered: `Info < Low < Medium < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Not a vulnerability (public-equivalent), worth knowing.
    Info,
    /// Broken or risky, hard to exploit.
    Low,
    /// Exploitable under conditions (network attacker, takeover, shared cache).
    Medium,
    /// Any website can read users' data.
    High,
}

impl Severity {
    /// `info`, `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ScanError;
    fn from_str(s: &str) -> Result<Self, ScanError> {
        match s {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(ScanError::BadSeverity(s.to_owned())),
        }
    }
}

/// Why a scan cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanError {
    /// The target is not an absolute URL.
    InvalidUrl(String),
    /// The target's scheme is not http or https.
    UnsupportedScheme(String),
    /// Not a severity name.
    BadSeverity(String),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::InvalidUrl(m) => write!(f, "not a URL: {m}"),
            ScanError::UnsupportedScheme(s) => {
                write!(f, "scheme `{s}` is not supported; use http or https")
            }
            ScanError::BadSeverity(s) => {
                write!(f, "`{s}` is not a severity (info, low, medium, high)")
            }
        }
    }
}

impl std::error::Error for ScanError {}

/// What to scan with.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Origins the user says the server trusts; mutated like discovered ones.
    pub trusted_origins: Vec<Origin>,
    /// Probe the common siblings (`www.`, `app.`, the bare site) to discover trusted origins.
    pub siblings: bool,
    /// Extra request headers sent with every probe (`-H`, `Cookie`), before the CORS ones.
    /// An `Origin` or `Access-Control-Request-*` header here is ignored; `Cookie` and
    /// `Authorization` are left off preflights, as browsers never send credentials there.
    pub extra_headers: Vec<(String, String)>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            trusted_origins: Vec::new(),
            siblings: true,
            extra_headers: Vec::new(),
        }
    }
}

/// What a probe tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "class")]
pub enum Intent {
    /// The target's own origin (discovery).
    OwnOrigin,
    /// An unrelated origin.
    Foreign,
    /// `Origin: null`.
    Null,
    /// A shared-hosting origin.
    ThirdParty,
    /// A common sibling of the target (discovery).
    Sibling,
    /// A mutation of a trusted origin, for this class.
    Mutation(Class),
    /// A preflight from an unrelated origin.
    PreflightForeign,
    /// A preflight asking for an unusual method and header.
    PreflightMethodsHeaders,
    /// A Private Network Access preflight from an unrelated origin.
    PrivateNetwork,
}

/// One request to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Stable id within the plan (`foreign`, `prefix_match.1`, ...).
    pub id: String,
    /// 1 or 2.
    pub round: u8,
    /// What it tests.
    pub intent: Intent,
    /// The trusted origin it mutates (round 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// `GET` or `OPTIONS`.
    pub method: String,
    /// The URL (the target).
    pub url: String,
    /// The `Origin` sent.
    pub origin: String,
    /// Every request header, in order (extra headers first, then `Origin` and the
    /// `Access-Control-Request-*` ones).
    pub headers: Vec<(String, String)>,
}

/// The part of a response the judgement reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObservedResponse {
    /// The status code.
    pub status: u16,
    /// The headers in order (names in any case; repeated lines kept).
    pub headers: Vec<(String, String)>,
}

/// A probe and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// What was sent.
    pub probe: Probe,
    /// What came back.
    pub response: ObservedResponse,
}

/// The exchange behind a finding: the exact request and response headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The probe's id.
    pub probe: String,
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Request headers as sent.
    pub request_headers: Vec<(String, String)>,
    /// Response status.
    pub status: u16,
    /// Response headers as received.
    pub response_headers: Vec<(String, String)>,
}

/// One misconfiguration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The class.
    pub class: Class,
    /// How bad, given the credentials answer.
    pub severity: Severity,
    /// Whether the answer carried `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// The origin the server accepted (or sent in the probe).
    pub origin: String,
    /// One line: what was seen.
    pub message: String,
    /// One line: what to change.
    pub fix: &'static str,
    /// The exchange.
    pub evidence: Evidence,
}

/// The probes for one URL and their judgement. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Plan {
    url: String,
    target: Origin,
    opts: ScanOptions,
    round: u8,
    sent: usize,
}

impl Plan {
    /// Plans a scan of `url` (absolute http or https).
    ///
    /// # Errors
    /// [`ScanError::InvalidUrl`] or [`ScanError::UnsupportedScheme`].
    pub fn new(url: &str, opts: &ScanOptions) -> Result<Plan, ScanError> {
        let u = url::Url::parse(url).map_err(|e| ScanError::InvalidUrl(format!("{url}: {e}")))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(ScanError::UnsupportedScheme(u.scheme().to_owned()));
        }
        if u.host().is_none() {
            return Err(ScanError::InvalidUrl(format!("{url}: no host")));
        }
        Ok(Plan {
            url: u.to_string(),
            target: Origin::from_url(&u),
            opts: opts.clone(),
            round: 0,
            sent: 0,
        })
    }

    /// The target URL (normalized).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The target's own origin.
    pub fn target_origin(&self) -> &Origin {
        &self.target
    }

    /// The next round of probes given everything observed so far; empty when the plan is
    /// done. Round 2 depends on round 1's answers (trusted-origin discovery).
    pub fn next_round(&mut self, observed: &[Observation]) -> Vec<Probe> {
        let probes = match self.round {
            0 => self.round1(),
            1 => self.round2(observed),
            _ => Vec::new(),
        };
        self.round = self.round.saturating_add(1);
        let room = MAX_PROBES.saturating_sub(self.sent);
        let probes: Vec<Probe> = probes.into_iter().take(room).collect();
        self.sent += probes.len();
        probes
    }

    fn probe(&self, round: u8, id: String, intent: Intent, origin: &str) -> Probe {
        self.probe_full(round, id, intent, None, "GET", origin, &[])
    }

    #[allow(clippy::too_many_arguments)]
    fn probe_full(
        &self,
        round: u8,
        id: String,
        intent: Intent,
        base: Option<String>,
        method: &str,
        origin: &str,
        cors: &[(&str, &str)],
    ) -> Probe {
        let mut headers: Vec<(String, String)> = self
            .opts
            .extra_headers
            .iter()
            .filter(|(n, _)| {
                let n = n.to_ascii_lowercase();
                let credential = n == "cookie" || n == "authorization";
                n != "origin"
                    && !n.starts_with("access-control-request-")
                    && !(method == "OPTIONS" && credential)
            })
            .cloned()
            .collect();
        headers.push(("Origin".into(), origin.into()));
        headers.extend(cors.iter().map(|(n, v)| ((*n).into(), (*v).into())));
        Probe {
            id,
            round,
            intent,
            base,
            method: method.into(),
            url: self.url.clone(),
            origin: origin.into(),
            headers,
        }
    }

    fn round1(&self) -> Vec<Probe> {
        let own = self.target.as_str().to_owned();
        let mut v = vec![
            self.probe(1, "own".into(), Intent::OwnOrigin, &own),
            self.probe(1, "foreign".into(), Intent::Foreign, FOREIGN),
            self.probe(1, "null".into(), Intent::Null, "null"),
        ];
        if self.target.scheme() == Some("https") {
            if let Some(h) = http_twin(&self.target) {
                v.push(self.probe_full(
                    1,
                    "http_own".into(),
                    Intent::Mutation(Class::HttpsTrustsHttp),
                    Some(own.clone()),
                    "GET",
                    &h,
                    &[],
                ));
            }
        }
        for (i, tp) in THIRD_PARTIES.iter().enumerate() {
            v.push(self.probe(1, format!("third_party.{}", i + 1), Intent::ThirdParty, tp));
        }
        if self.opts.siblings {
            if let Some(site) = self.target.registrable_domain() {
                let mut n = 0;
                for s in [
                    format!("https://www.{site}"),
                    format!("https://app.{site}"),
                    format!("https://{site}"),
                ] {
                    if s != own {
                        n += 1;
                        v.push(self.probe(1, format!("sibling.{n}"), Intent::Sibling, &s));
                    }
                }
            }
        }
        v.push(self.probe_full(
            1,
            "preflight_foreign".into(),
            Intent::PreflightForeign,
            None,
            "OPTIONS",
            FOREIGN,
            &[("Access-Control-Request-Method", "PUT")],
        ));
        v.push(self.probe_full(
            1,
            "pna".into(),
            Intent::PrivateNetwork,
            None,
            "OPTIONS",
            FOREIGN,
            &[
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Private-Network", "true"),
            ],
        ));
        v
    }

    /// The trusted origins round 2 mutates, in order: user-given, fixed ACAOs sent to other
    /// origins, the target's own origin, siblings the server accepted. At most 4.
    pub fn trusted_origins(&self, observed: &[Observation]) -> Vec<Origin> {
        let mut out: Vec<Origin> = Vec::new();
        let mut add = |o: Origin| {
            if !o.is_opaque() && !out.contains(&o) {
                out.push(o);
            }
        };
        for o in &self.opts.trusted_origins {
            add(o.clone());
        }
        for ob in observed.iter().filter(|o| o.probe.method == "GET") {
            if let Some(a) = acao(&ob.response) {
                if a != ob.probe.origin && a != "*" {
                    if let Ok(o) = Origin::parse(a) {
                        add(o);
                    }
                }
            }
        }
        add(self.target.clone());
        for ob in observed {
            if ob.probe.intent == Intent::Sibling && accepted(ob) {
                if let Ok(o) = Origin::parse(&ob.probe.origin) {
                    add(o);
                }
            }
        }
        out.truncate(MAX_TRUSTED);
        out
    }

    fn round2(&self, observed: &[Observation]) -> Vec<Probe> {
        let mut v: Vec<Probe> = Vec::new();
        let mut seen: Vec<String> = observed
            .iter()
            .filter(|o| o.probe.method == "GET")
            .map(|o| o.probe.origin.clone())
            .collect();
        let trusted = self.trusted_origins(observed);
        let mut counter = std::collections::HashMap::<Class, usize>::new();
        for t in &trusted {
            for (class, origin) in mutations(t) {
                if seen.contains(&origin) {
                    continue;
                }
                seen.push(origin.clone());
                let n = counter.entry(class).or_insert(0);
                *n += 1;
                let id = format!("{}.{}", class.id(), n);
                v.push(self.probe_full(
                    2,
                    id,
                    Intent::Mutation(class),
                    Some(t.as_str().to_owned()),
                    "GET",
                    &origin,
                    &[],
                ));
            }
        }
        // The methods/headers preflight from an origin the server accepts.
        let accepted_origin = observed
            .iter()
            .filter(|o| {
                o.probe.method == "GET"
                    && matches!(o.probe.intent, Intent::OwnOrigin | Intent::Sibling)
                    && accepted(o)
            })
            .map(|o| o.probe.origin.clone())
            .next()
            .or_else(|| {
                trusted
                    .iter()
                    .find(|t| {
                        observed
                            .iter()
                            .any(|o| o.probe.origin == t.as_str() && accepted(o))
                    })
                    .map(|t| t.as_str().to_owned())
            })
            .or_else(|| {
                observed
                    .iter()
                    .find(|o| o.probe.intent == Intent::PreflightForeign && preflight_ok(o))
                    .map(|o| o.probe.origin.clone())
            })
            .or_else(|| trusted.first().map(|t| t.as_str().to_owned()))
            .unwrap_or_else(|| self.target.as_str().to_owned());
        let mh = self.probe_full(
            2,
            "preflight_methods_headers".into(),
            Intent::PreflightMethodsHeaders,
            None,
            "OPTIONS",
            &accepted_origin,
            &[
                ("Access-Control-Request-Method", PROBE_METHOD),
                ("Access-Control-Request-Headers", PROBE_HEADER),
            ],
        );
        let room = MAX_PROBES.saturating_sub(self.sent).saturating_sub(1);
        v.truncate(room);
        v.insert(0, mh);
        v
    }

    /// Judges the observed answers: one finding per class, most severe first.
    pub fn judge(&self, observed: &[Observation]) -> Vec<Finding> {
        let mut found: Vec<Finding> = Vec::new();
        for ob in observed {
            for f in self.judge_one(ob) {
                match found.iter_mut().find(|x| x.class == f.class) {
                    Some(x) if f.severity > x.severity => *x = f,
                    Some(_) => {}
                    None => found.push(f),
                }
            }
        }
        let has = |found: &[Finding], c: Class| found.iter().any(|f| f.class == c);
        if has(&found, Class::ReflectAnyOrigin) {
            found.retain(|f| {
                !matches!(
                    f.class,
                    Class::PrefixMatch
                        | Class::SuffixMatch
                        | Class::UnescapedDot
                        | Class::SubstringMatch
                        | Class::SpecialCharBypass
                        | Class::NullOrigin
                        | Class::HttpsTrustsHttp
                        | Class::ThirdPartyOrigin
                        | Class::SubdomainTrust
                        | Class::PreflightReflectsAnyOrigin
                )
            });
        }
        if has(&found, Class::SuffixMatch) {
            found.retain(|f| f.class != Class::UnescapedDot);
        }
        if has(&found, Class::PrefixMatch) {
            found.retain(|f| f.class != Class::SpecialCharBypass);
        }
        let bypass = found.iter().any(|f| {
            matches!(
                f.class,
                Class::PrefixMatch
                    | Class::SuffixMatch
                    | Class::UnescapedDot
                    | Class::SubstringMatch
                    | Class::SpecialCharBypass
                    | Class::ThirdPartyOrigin
            )
        });
        if bypass {
            found.retain(|f| !matches!(f.class, Class::HttpsTrustsHttp | Class::SubdomainTrust));
        }
        found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.class.cmp(&b.class)));
        found
    }

    fn judge_one(&self, ob: &Observation) -> Vec<Finding> {
        let r = &ob.response;
        let p = &ob.probe;
        let creds = credentials(r);
        let mut out = Vec::new();
        let rate = |class: Class| {
            if creds {
                class.severity_with_credentials()
            } else {
                Severity::Info
            }
        };
        let mut push = |class: Class, severity: Severity, message: String| {
            out.push(Finding {
                class,
                severity,
                credentials: creds,
                origin: p.origin.clone(),
                message,
                fix: class.fix(),
                evidence: evidence(ob),
            });
        };
        let cred_note = if creds {
            "with credentials"
        } else {
            "without credentials (public-equivalent)"
        };
        if p.method == "GET" {
            if acao(r) == Some("*") && creds {
                push(
                    Class::WildcardWithCredentials,
                    Severity::Low,
                    "`Access-Control-Allow-Origin: *` with `Access-Control-Allow-Credentials: true`: credentialed requests fail, uncredentialed ones are public".into(),
                );
            }
            if accepted(ob) {
                let class = match &p.intent {
                    Intent::Foreign => Some(Class::ReflectAnyOrigin),
                    Intent::Null => Some(Class::NullOrigin),
                    Intent::ThirdParty => Some(Class::ThirdPartyOrigin),
                    Intent::Mutation(Class::SubdomainTrust) => {
                        (!self.same_site_loose(&p.origin)).then_some(Class::SubdomainTrust)
                    }
                    Intent::Mutation(c) => Some(*c),
                    _ => None,
                };
                if let Some(c) = class {
                    push(
                        c,
                        rate(c),
                        format!(
                            "`Origin: {}` is accepted {cred_note}{}",
                            p.origin,
                            p.base
                                .as_deref()
                                .map(|b| format!(" (mutation of trusted {b})"))
                                .unwrap_or_default()
                        ),
                    );
                }
                if !varies_on_origin(r) {
                    let cacheable = cacheable(r);
                    push(
                        Class::MissingVaryOrigin,
                        if cacheable {
                            Severity::Medium
                        } else {
                            Severity::Low
                        },
                        format!(
                            "`Access-Control-Allow-Origin: {}` echoes the request's Origin without `Vary: Origin`{}",
                            p.origin,
                            if cacheable {
                                "; the response is cacheable, so a shared cache can serve one origin's answer to another"
                            } else {
                                ""
                            }
                        ),
                    );
                }
            }
        } else if preflight_ok(ob) {
            let a = acao(r);
            let echoed = a == Some(p.origin.as_str());
            let granted = echoed || a == Some("*");
            match p.intent {
                Intent::PreflightForeign if echoed => push(
                    Class::PreflightReflectsAnyOrigin,
                    rate(Class::PreflightReflectsAnyOrigin),
                    format!(
                        "a preflight from `{}` for PUT is granted {cred_note}",
                        p.origin
                    ),
                ),
                Intent::PreflightMethodsHeaders if granted => {
                    let m = list_has(r, "access-control-allow-methods", PROBE_METHOD, false);
                    let h = list_has(r, "access-control-allow-headers", PROBE_HEADER, true);
                    if m || h {
                        let what = match (m, h) {
                            (true, true) => "method and header",
                            (true, false) => "method",
                            _ => "header",
                        };
                        push(
                            Class::PreflightReflectsMethodsHeaders,
                            rate(Class::PreflightReflectsMethodsHeaders),
                            format!(
                                "the preflight echoes the made-up {what} (`{PROBE_METHOD}`, `{PROBE_HEADER}`) {cred_note}"
                            ),
                        );
                    }
                }
                Intent::PrivateNetwork
                    if granted
                        && single(r, "access-control-allow-private-network") == Some("true") =>
                {
                    push(
                        Class::PnaAnyOrigin,
                        if echoed && creds {
                            Severity::High
                        } else {
                            Severity::Medium
                        },
                        format!(
                            "a Private Network Access preflight from `{}` is granted (`Access-Control-Allow-Origin: {}`)",
                            p.origin,
                            a.unwrap_or_default()
                        ),
                    );
                }
                _ => {}
            }
        }
        out
    }

    /// Same site ignoring the scheme: the same registrable domain, or the same host.
    fn same_site_loose(&self, origin: &str) -> bool {
        let Ok(o) = Origin::parse(origin) else {
            return false;
        };
        match (o.registrable_domain(), self.target.registrable_domain()) {
            (Some(a), Some(b)) => a == b,
            _ => o.host() == self.target.host(),
        }
    }
}

/// The 1-based line of the policy-file field where `class` is fixed: the first of
/// [`Class::policy_fields`] present in `toml`, or `None` (no such field, or not TOML).
pub fn policy_line(toml: &str, class: Class) -> Option<usize> {
    let (_, spans, _) = crate::config::parse_toml(toml);
    class
        .policy_fields()
        .iter()
        .find_map(|f| spans.iter().find(|(k, _)| k == f).map(|(_, l)| *l))
}

fn http_twin(o: &Origin) -> Option<String> {
    let host = o.host()?;
    Some(match o.port() {
        Some(p) => format!("http://{host}:{p}"),
        None => format!("http://{host}"),
    })
}

/// The mutations of a trusted origin, in order.
fn mutations(t: &Origin) -> Vec<(Class, String)> {
    let (Some(scheme), Some(host)) = (t.scheme(), t.host()) else {
        return Vec::new();
    };
    let port = t.port().map(|p| format!(":{p}")).unwrap_or_default();
    let mut v = Vec::new();
    let ip = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
    v.push((
        Class::PrefixMatch,
        format!("{scheme}://{host}.{ATTACKER_DOMAIN}{port}"),
    ));
    if !ip {
        let site = t.registrable_domain().unwrap_or(host);
        v.push((
            Class::SuffixMatch,
            format!("{scheme}://preflight-scan{site}{port}"),
        ));
        // The dot just before the registrable domain (registrable by an attacker), else the
        // first one.
        let dotted = match host.strip_suffix(site).and_then(|s| s.strip_suffix('.')) {
            Some(sub) if !sub.is_empty() => Some(format!("{sub}x{site}")),
            _ => host
                .find('.')
                .and_then(|i| Some(format!("{}x{}", host.get(..i)?, host.get(i + 1..)?))),
        };
        if let Some(d) = dotted {
            v.push((Class::UnescapedDot, format!("{scheme}://{d}{port}")));
        }
        v.push((
            Class::SubdomainTrust,
            format!("{scheme}://preflight-scan.{site}{port}"),
        ));
    }
    let s = t.as_str();
    if let Some(short) = s.get(..s.len().saturating_sub(1)) {
        if short.len() > scheme.len() + 4 {
            v.push((Class::SubstringMatch, short.to_owned()));
        }
    }
    if scheme == "https" {
        if let Some(h) = http_twin(t) {
            v.push((Class::HttpsTrustsHttp, h));
        }
    }
    for c in SPECIAL_CHARS {
        v.push((
            Class::SpecialCharBypass,
            format!("{scheme}://{host}{c}.{ATTACKER_DOMAIN}{port}"),
        ));
    }
    v
}

fn values<'a>(r: &'a ObservedResponse, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

/// The value of a header that must appear once (`None` when absent or repeated).
fn single<'a>(r: &'a ObservedResponse, name: &str) -> Option<&'a str> {
    match values(r, name).as_slice() {
        [v] => Some(v),
        _ => None,
    }
}

fn acao(r: &ObservedResponse) -> Option<&str> {
    single(r, "access-control-allow-origin")
}

/// `Access-Control-Allow-Credentials` is exactly `true` (Fetch: byte-case-sensitive).
fn credentials(r: &ObservedResponse) -> bool {
    single(r, "access-control-allow-credentials") == Some("true")
}

/// The ACAO equals the probe's Origin byte for byte.
fn accepted(o: &Observation) -> bool {
    acao(&o.response) == Some(o.probe.origin.as_str())
}

fn preflight_ok(o: &Observation) -> bool {
    (200..=299).contains(&o.response.status)
}

fn list_has(r: &ObservedResponse, name: &str, token: &str, ci: bool) -> bool {
    values(r, name).iter().any(|v| {
        v.split(',').map(str::trim).any(|t| {
            if ci {
                t.eq_ignore_ascii_case(token)
            } else {
                t == token
            }
        })
    })
}

fn varies_on_origin(r: &ObservedResponse) -> bool {
    list_has(r, "vary", "origin", true) || list_has(r, "vary", "*", false)
}

/// Whether a shared cache may store the response: explicit freshness (`public`, `max-age`,
/// `s-maxage`, or `Expires`) and no `no-store`/`private`/`no-cache`.
fn cacheable(r: &ObservedResponse) -> bool {
    let directives: Vec<String> = values(r, "cache-control")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|d| d == "no-store" || d == "private" || d == "no-cache" || d.starts_with("private="))
    {
        return false;
    }
    let fresh = |prefix: &str| {
        directives.iter().any(|d| {
            d.strip_prefix(prefix)
                .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
    };
    directives.iter().any(|d| d == "public")
        || fresh("max-age=")
        || fresh("s-maxage=")
        || (directives.is_empty() && !values(r, "expires").is_empty())
}

fn evidence(o: &Observation) -> Evidence {
    Evidence {
        probe: o.probe.id.clone(),
        method: o.probe.method.clone(),
        url: o.probe.url.clone(),
        request_headers: o.probe.headers.clone(),
        status: o.response.status,
        response_headers: o.response.headers.clone(),
    }
}

#[cfg(test)]
mod tests;
