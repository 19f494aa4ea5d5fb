//! Property tests: the compiled policy against a deliberately naive reference written here,
//! straight from the Fetch standard's CORS protocol (§3.2) and the config's documented meaning,
//! sharing no code with the engine; plus the safety invariants and the round trips.
//!
//! Cases per run: `PROPTEST_CASES` (default 2048 per property). `cargo test -p preflight --test
//! properties`.

use http::header::{self, HeaderMap, HeaderValue};
use http::Method;
use preflight::browser::Scenario;
use preflight::{Config, DecisionKind, Policy};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Generators: small universes so that matches and near misses are both frequent.

const ORIGIN_ENTRIES: &[&str] = &[
    "https://a.example",
    "https://b.example:8443",
    "https://*.example.com",
    "https://*.example.com:*",
    "https://*.example.com:9",
    "http://localhost:*",
    "http://127.0.0.1:3000",
];
const REQUEST_ORIGINS: &[&str] = &[
    "https://a.example",
    "https://A.example",
    "https://a.example/",
    "https://a.example:443",
    "https://b.example",
    "https://b.example:8443",
    "https://x.example.com",
    "https://x.y.example.com",
    "https://x.example.com:9",
    "https://x.example.com:10",
    "https://example.com",
    "https://evilexample.com",
    "https://x.example.com.evil",
    "http://x.example.com",
    "http://localhost",
    "http://localhost:3000",
    "https://localhost:3000",
    "http://127.0.0.1:3000",
    "http://127.0.0.1",
    "null",
    "garbage",
    "",
];
const METHODS: &[&str] = &["PUT", "DELETE", "PATCH", "patch", "GET", "POST"];
const REQ_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "put", "DELETE", "PATCH", "patch", "X y",
];
const HEADERS: &[&str] = &["content-type", "x-a", "X-B", "authorization"];
const REQ_HEADERS: &[&str] = &[
    "content-type",
    "Content-Type",
    "x-a",
    "x-b",
    "authorization",
    "x-c",
    "bad name",
    "",
];

fn subset(universe: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(universe, 0..=universe.len())
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn list_or_star(universe: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        4 => subset(universe),
        1 => Just(vec!["*".to_string()]),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        list_or_star(ORIGIN_ENTRIES),
        any::<bool>(),
        any::<bool>(),
        list_or_star(METHODS),
        prop_oneof![
            4 => list_or_star(HEADERS),
            1 => Just(vec!["*".to_string(), "authorization".to_string()]),
        ],
        list_or_star(&["x-r", "X-S"]),
        proptest::option::of(0u64..100_000),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(origins, credentials, null, methods, rh, eh, max_age, pna, insecure)| {
                let mut c = Config::new()
                    .origins(origins)
                    .credentials(credentials)
                    .methods(methods)
                    .request_headers(rh)
                    .expose_headers(eh)
                    .private_network(pna)
                    .dangerously_allow_null_origin(null)
                    .dangerously_allow_insecure_origins(insecure);
                if let Some(a) = max_age {
                    c = c.max_age(a);
                }
                c
            },
        )
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    origins: Vec<String>,
    acrm: Option<String>,
    acrh: Option<Vec<String>>,
    pna: bool,
}

fn request() -> impl Strategy<Value = Req> {
    (
        proptest::sample::select(&["GET", "POST", "OPTIONS", "OPTIONS", "OPTIONS", "PUT"][..]),
        prop_oneof![
            1 => Just(vec![]),
            8 => proptest::sample::select(REQUEST_ORIGINS).prop_map(|o| vec![o.to_string()]),
            1 => proptest::collection::vec(proptest::sample::select(REQUEST_ORIGINS), 2..4)
                .prop_map(|v| v.into_iter().map(String::from).collect()),
        ],
        proptest::option::weighted(0.8, proptest::sample::select(REQ_METHODS)),
        proptest::option::weighted(
            0.7,
            proptest::collection::vec(proptest::sample::select(REQ_HEADERS), 0..4),
        ),
        any::<bool>(),
    )
        .prop_map(|(m, origins, acrm, acrh, pna)| Req {
            method: m.to_string(),
            origins,
            acrm: acrm.map(String::from),
            acrh: acrh.map(|v| v.into_iter().map(String::from).collect()),
            pna,
        })
}

fn header_map(r: &Req) -> HeaderMap {
    let mut h = HeaderMap::new();
    for o in &r.origins {
        h.append(header::ORIGIN, HeaderValue::from_str(o).unwrap());
    }
    if let Some(m) = &r.acrm {
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(m).unwrap(),
        );
    }
    if let Some(list) = &r.acrh {
        h.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(&list.join(", ")).unwrap(),
        );
    }
    if r.pna {
        h.insert(
            "access-control-request-private-network",
            HeaderValue::from_static("true"),
        );
    }
    h
}

// ---------------------------------------------------------------------------------------------
// The reference: what the config means, written out longhand.

#[derive(Debug, PartialEq, Eq)]
struct Expected {
    kind: DecisionKind,
    acao: Option<String>,
    acac: bool,
}

/// `scheme://host[:port]` split by hand; `None` unless it looks like a browser's serialization
/// (lowercase host of letters, digits, dots and hyphens, decimal port without leading zero).
fn split_origin(o: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = o.split_once("://")?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit())
    });
    (host_ok && port_ok && (scheme == "http" || scheme == "https")).then_some((scheme, host, port))
}

fn default_port(scheme: &str) -> &'static str {
    if scheme == "https" {
        "443"
    } else {
        "80"
    }
}

fn entry_matches(entry: &str, origin: &str) -> bool {
    if !entry.contains('*') {
        return entry == origin;
    }
    let Some((scheme, host, port)) = split_origin(origin) else {
        return false;
    };
    if port == Some(default_port(scheme)) {
        return false; // a browser never sends the default port
    }
    let (escheme, erest) = entry.split_once("://").unwrap();
    if escheme != scheme {
        return false;
    }
    // Entry forms: `*.suffix`, `*.suffix:*`, `*.suffix:N`, `host:*`.
    let (ehost, eport) = match erest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (erest, None),
    };
    let port_ok = match eport {
        None => port.is_none(),
        Some("*") => true,
        Some(n) => port == Some(n),
    };
    let host_ok = match ehost.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                && !host.starts_with('.')
                && !host.contains("..")
        }
        None => host == ehost,
    };
    port_ok && host_ok
}

fn reference(cfg: &Config, method: &str, r: &Req) -> Expected {
    let none = |kind| Expected {
        kind,
        acao: None,
        acac: false,
    };
    let preflight = method == "OPTIONS" && r.acrm.is_some();
    let deny = if preflight {
        DecisionKind::PreflightDeny
    } else {
        DecisionKind::ActualDeny
    };
    // `*`: every non-preflight response carries `*`, whatever the request (for shared caches).
    if cfg.origins.iter().any(|o| o == "*") && !preflight {
        return Expected {
            kind: if r.origins.is_empty() {
                DecisionKind::NotCors
            } else {
                DecisionKind::ActualAllow
            },
            acao: Some("*".to_string()),
            acac: false,
        };
    }
    let origin = match r.origins.as_slice() {
        [] => return none(DecisionKind::NotCors),
        [o] => o.as_str(),
        _ => return none(deny),
    };
    let any = cfg.origins.iter().any(|o| o == "*");
    let acao = if any {
        "*".to_string()
    } else if origin == "null" {
        if !cfg.dangerously_allow_null_origin {
            return none(deny);
        }
        origin.to_string()
    } else if cfg.origins.iter().any(|e| entry_matches(e, origin)) {
        origin.to_string()
    } else {
        return none(deny);
    };
    let allow = |kind| Expected {
        kind,
        acao: Some(acao.clone()),
        acac: cfg.credentials,
    };
    if !preflight {
        return allow(DecisionKind::ActualAllow);
    }
    let m = r.acrm.as_deref().unwrap();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(m) {
        return none(deny);
    }
    let normalized: Vec<String> = cfg
        .methods
        .iter()
        .map(|x| {
            let up = x.to_ascii_uppercase();
            if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&up.as_str()) {
                up
            } else {
                x.clone()
            }
        })
        .collect();
    let method_ok = ["GET", "HEAD", "POST"].contains(&m)
        || cfg.methods.iter().any(|x| x == "*")
        || normalized.iter().any(|x| x == m);
    if !method_ok {
        return none(deny);
    }
    for name in r.acrh.iter().flatten() {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if !token(name) {
            return none(deny);
        }
        let lower = name.to_ascii_lowercase();
        let star = cfg.request_headers.iter().any(|h| h == "*");
        let listed = cfg
            .request_headers
            .iter()
            .any(|h| h.to_ascii_lowercase() == lower);
        if !(listed || (star && lower != "authorization")) {
            return none(deny);
        }
    }
    if r.pna && !cfg.private_network {
        return none(deny);
    }
    allow(DecisionKind::PreflightAllow)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// The compiled policy agrees with the reference on kind, ACAO and ACAC; and the safety
    /// invariants hold on every answer.
    #[test]
    fn policy_agrees_with_reference(cfg in config(), r in request()) {
        let Ok(policy) = cfg.compile() else { return Ok(()); };
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let d = policy.evaluate(&method, "/x", &header_map(&r));
        let mut resp = HeaderMap::new();
        d.apply(&mut resp);
        let got = Expected {
            kind: d.kind(),
            acao: resp.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap().to_string()),
            acac: resp.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        };
        let want = reference(&cfg, &r.method, &r);
        prop_assert_eq!(&got, &want, "config:\n{}", cfg.to_toml());

        // Never `*` with credentials.
        prop_assert!(!(got.acao.as_deref() == Some("*") && got.acac));
        // A preflight is never allowed for a disallowed origin.
        if d.kind() == DecisionKind::PreflightAllow {
            let o = &r.origins[0];
            let any = cfg.origins.iter().any(|e| e == "*");
            prop_assert!(any || cfg.origins.iter().any(|e| entry_matches(e, o))
                || (o == "null" && cfg.dangerously_allow_null_origin));
        }
        // Vary: Origin whenever the ACAO value depends on the request: an allowlist (not `*`)
        // answers differently per origin, so every response, allowed or not, says so.
        let vary: String = resp.get_all(header::VARY).iter()
            .map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>().join(",");
        let origin_dependent = !cfg.origins.iter().any(|o| o == "*");
        if origin_dependent {
            prop_assert!(vary.contains("Origin") && !vary.contains("Origin,Origin"), "vary: {}", vary);
        }
        if let Some(a) = &got.acao {
            if a != "*" { prop_assert!(vary.split(", ").any(|v| v == "Origin")); }
        }
    }

    /// config → TOML → config is the identity, and the reloaded config compiles to a policy
    /// answering the same.
    #[test]
    fn config_toml_round_trip(cfg in config(), r in request()) {
        let toml = cfg.to_toml();
        let back = Config::from_toml(&toml).expect("to_toml output loads");
        prop_assert_eq!(&back, &cfg);
        if let Ok(p) = cfg.compile() {
            let q = Policy::from_toml(&toml).expect("same config compiles from TOML");
            let method = Method::from_bytes(r.method.as_bytes()).unwrap();
            let h = header_map(&r);
            prop_assert_eq!(p.evaluate(&method, "/", &h), q.evaluate(&method, "/", &h));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `Policy::evaluate` reads an OPTIONS request's CORS headers in one pass over the map; the
// generic `Policy::plan` looks each up. Both must answer the same for any header map, repeated
// and interleaved CORS headers included.

/// A header map in any order: the four CORS request headers (some repeated, split over lines,
/// with odd values) among the headers browsers send.
fn shuffled_headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = proptest::sample::select(
        &[
            "origin",
            "access-control-request-method",
            "access-control-request-headers",
            "access-control-request-private-network",
            "host",
            "user-agent",
            "accept",
            "sec-fetch-mode",
            "x-origin",
            "access-control-request-private-networks",
        ][..],
    );
    let value = prop_oneof![
        proptest::sample::select(REQUEST_ORIGINS).prop_map(String::from),
        proptest::sample::select(REQ_METHODS).prop_map(String::from),
        proptest::collection::vec(proptest::sample::select(REQ_HEADERS), 0..3)
            .prop_map(|v| v.join(",")),
        Just("true".to_string()),
        "[ -~]{0,12}",
    ];
    proptest::collection::vec((name, value), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn options_scan_agrees_with_lookups(cfg in config(), headers in shuffled_headers()) {
        let Ok(policy) = cfg.compile() else { return Ok(()); };
        let mut map = HeaderMap::new();
        for (n, v) in &headers {
            map.append(*n, HeaderValue::from_str(v).unwrap());
        }
        let scanned = policy.evaluate(&Method::OPTIONS, "/x", &map);
        let looked_up = policy.plan(b"OPTIONS", "/x", &map);
        prop_assert_eq!(scanned.plan(), &looked_up, "headers: {:?}", headers);
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario JSON round trip, over random scenarios.

fn header_list() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (
            proptest::sample::select(
                &[
                    "Access-Control-Allow-Origin",
                    "Access-Control-Allow-Methods",
                    "Access-Control-Allow-Headers",
                    "Access-Control-Allow-Credentials",
                    "Access-Control-Expose-Headers",
                    "Access-Control-Max-Age",
                    "Vary",
                    "Location",
                    "X-Custom",
                    "Content-Type",
                ][..],
            )
            .prop_map(String::from),
            "[ -~]{0,24}",
        ),
        0..5,
    )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        "[a-z0-9-]{1,12}",
        proptest::sample::select(REQUEST_ORIGINS),
        proptest::sample::select(&["https://api.test/x", "http://a.example/y?z", "https://a.example"][..]),
        proptest::sample::select(REQ_METHODS),
        header_list(),
        0u8..3,
        0u8..3,
        proptest::option::of(proptest::option::of((100u16..600, header_list()))),
        proptest::option::of(proptest::collection::vec((300u16..310, header_list()), 0..2)),
        (100u16..600, header_list()),
    )
        .prop_map(|(id, origin, url, method, rh, cred, mode, pre, redirects, resp)| {
            let cred = ["omit", "same-origin", "include"][usize::from(cred)];
            let mode = ["cors", "no-cors", "same-origin"][usize::from(mode)];
            let r = |(status, headers): (u16, Vec<(String, String)>)| {
                serde_json::json!({"status": status, "headers": headers})
            };
            let mut v = serde_json::json!({
                "id": id,
                "request": {"origin": origin, "url": url, "method": method, "headers": rh,
                            "credentials": cred, "mode": mode},
                "response": r(resp),
            });
            if let Some(p) = pre {
                v["preflight_response"] = p.map_or(serde_json::Value::Null, r);
            }
            if let Some(rs) = redirects {
                v["redirects"] = rs.into_iter().map(r).collect();
            }
            serde_json::from_value(v).expect("generated scenario deserializes")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Scenario → JSON → Scenario → JSON is stable, and the model gives the same verdict on the
    /// reloaded scenario.
    #[test]
    fn scenario_json_round_trip(s in scenario()) {
        let json = serde_json::to_string(&s).unwrap();
        let back: Scenario = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        for b in [preflight::Behavior::Spec, preflight::Behavior::Chromium] {
            let e1 = preflight::browser::evaluate_verdict(&s, b);
            let e2 = preflight::browser::evaluate_verdict(&back, b);
            prop_assert_eq!(e1, e2);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Differential: the engine's answers, fed to the browser model, do what the policy intends.

use preflight::browser::{
    evaluate, evaluate_with, Answer, CredentialsMode, Outcome, Outgoing, RequestMode,
    ScenarioRequest, ScenarioResponse, Server,
};

/// A server answering from a policy: preflights by the policy alone, actual requests by a
/// handler (200 with a few headers) plus the policy's headers, as the adapters do.
struct PolicyServer<'a> {
    policy: &'a Policy,
    preflight: Option<ScenarioResponse>,
    actual: Option<ScenarioResponse>,
}

impl Server for PolicyServer<'_> {
    fn respond(&mut self, req: &Outgoing) -> Option<Answer> {
        let mut h = HeaderMap::new();
        for (n, v) in &req.headers {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let method = Method::from_bytes(req.method.as_bytes()).unwrap();
        let path = url::Url::parse(&req.url).unwrap().path().to_string();
        let d = self.policy.evaluate(&method, &path, &h);
        let mut resp = HeaderMap::new();
        let status = if d.is_preflight() {
            d.status().unwrap().as_u16()
        } else {
            for (n, v) in [
                ("content-type", "text/plain"),
                ("x-r", "1"),
                ("x-s", "2"),
                ("x-other", "3"),
            ] {
                resp.insert(n, HeaderValue::from_static(v));
            }
            200
        };
        d.apply(&mut resp);
        let headers = resp
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let r = ScenarioResponse { status, headers };
        if req.preflight {
            self.preflight = Some(r.clone());
        } else {
            self.actual = Some(r.clone());
        }
        Some(Answer {
            response: r,
            is_final: true,
        })
    }
}

const PAGE_ORIGINS: &[&str] = &[
    "https://a.example",
    "https://b.example",
    "https://b.example:8443",
    "https://x.example.com",
    "https://x.y.example.com:9",
    "https://example.com",
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://x.example.com",
    "null",
];
const SCRIPT_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "text/plain"),
    ("Content-Type", "application/json"),
    ("X-A", "1"),
    ("x-b", "2"),
    ("Authorization", "Bearer t"),
    ("Accept", "*/*"),
    ("X-C", "3"),
];

fn browser_request() -> impl Strategy<Value = ScenarioRequest> {
    (
        proptest::sample::select(PAGE_ORIGINS),
        proptest::sample::select(
            &[
                "GET", "POST", "PUT", "put", "DELETE", "PATCH", "patch", "HEAD",
            ][..],
        ),
        proptest::sample::subsequence(SCRIPT_HEADERS, 0..=3),
        0u8..3,
    )
        .prop_map(|(origin, method, headers, cred)| ScenarioRequest {
            origin: origin.to_string(),
            url: "https://api.test/items/1".to_string(),
            method: method.to_string(),
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            credentials: [
                CredentialsMode::Omit,
                CredentialsMode::SameOrigin,
                CredentialsMode::Include,
            ][usize::from(cred)],
            mode: RequestMode::Cors,
            pna: None,
            body: None,
            cache: None,
        })
}

/// What the policy intends for this browser request, from the config alone.
fn intended(cfg: &Config, r: &ScenarioRequest) -> bool {
    let o = r.origin.as_str();
    let any = cfg.origins.iter().any(|e| e == "*");
    let origin_ok = any
        || (o == "null" && cfg.dangerously_allow_null_origin)
        || cfg.origins.iter().any(|e| entry_matches(e, o));
    let include = r.credentials == CredentialsMode::Include;
    let creds_ok = !include || cfg.credentials;
    // fetch() uppercases the six standard methods.
    let m = if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]
        .contains(&r.method.to_ascii_uppercase().as_str())
    {
        r.method.to_ascii_uppercase()
    } else {
        r.method.clone()
    };
    let unsafe_headers: Vec<String> = r
        .headers
        .iter()
        .filter(|(n, v)| {
            let n = n.to_ascii_lowercase();
            !(n == "accept" || (n == "content-type" && v == "text/plain"))
        })
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let safelisted_method = ["GET", "HEAD", "POST"].contains(&m.as_str());
    let needs_preflight = !safelisted_method || !unsafe_headers.is_empty();
    let method_ok = safelisted_method
        || cfg.methods.iter().any(|x| x == "*")
        || cfg.methods.iter().any(|x| {
            let up = x.to_ascii_uppercase();
            let n = if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&up.as_str()) {
                up
            } else {
                x.clone()
            };
            n == m
        });
    let star = cfg.request_headers.iter().any(|h| h == "*");
    let headers_ok = unsafe_headers.iter().all(|h| {
        cfg.request_headers
            .iter()
            .any(|x| x.eq_ignore_ascii_case(h))
            || (star && h != "authorization")
    });
    origin_ok && creds_ok && (!needs_preflight || (method_ok && headers_ok))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// For random policies and browser requests: the browser model, talking to the engine,
    /// succeeds exactly when the policy intends it to, exposes what the policy exposes, and
    /// the recorded exchange replayed through `evaluate(&Scenario)` gives the same verdict.
    #[test]
    fn browser_does_what_the_policy_intends(cfg in config(), r in browser_request()) {
        let Ok(policy) = cfg.compile() else { return Ok(()); };
        let want = intended(&cfg, &r);
        for behavior in [preflight::Behavior::Spec, preflight::Behavior::Chromium] {
            let mut server = PolicyServer { policy: &policy, preflight: None, actual: None };
            let ev = evaluate_with(&r, behavior, &mut server);
            prop_assert_eq!(ev.outcome == Outcome::Ok, want,
                "{:?}: reason {:?}\nrequest {:?}\npolicy:\n{}", behavior, ev.reason, r, cfg.to_toml());
            if ev.outcome == Outcome::Ok {
                let include = r.credentials == CredentialsMode::Include;
                let star = cfg.expose_headers.iter().any(|e| e == "*");
                let exposed = |n: &str| ev.exposed_headers.iter().any(|e| e == n);
                prop_assert!(exposed("content-type"));
                prop_assert_eq!(exposed("x-r"), cfg.expose_headers.iter().any(|e| e == "x-r") || (star && !include));
                prop_assert_eq!(exposed("x-other"), star && !include);
            }
            // Replay the recorded answers as a Scenario through `evaluate`.
            let s = Scenario {
                id: "differential".into(),
                request: r.clone(),
                preflight_response: server.preflight.clone().map(Some),
                redirects: None,
                response: server.actual.clone().unwrap_or(ScenarioResponse { status: 200, headers: vec![] }),
                expect: None,
                expect_chromium: None,
                before: None,
                at: None,
                protocol: None,
            };
            let replay = evaluate(&s, behavior);
            prop_assert_eq!(replay.outcome, ev.outcome);
            prop_assert_eq!(replay.reason, ev.reason);
            prop_assert_eq!(&replay.exposed_headers, &ev.exposed_headers);
        }
    }
}
