//! The scenario generator: a systematic catalogue (every rule of the model, one dimension at a
//! time over a passing base) and seeded random combinations of the same dimensions.
//! Deterministic: the random part uses its own SplitMix64 generator seeded with `--seed`.

use preflight::browser::{CredentialsMode, RequestMode};
use preflight::browser::{Scenario, ScenarioRequest, ScenarioResponse};

const PAGE: &str = "https://app.example.test";
const API: &str = "https://api.example.test";
/// Same site, another origin.
const API2: &str = "https://api2.example.test";
/// Another site.
const OTHER: &str = "https://cdn.other.example";

type H = (String, String);

fn h(k: &str, v: &str) -> H {
    (k.to_string(), v.to_string())
}

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_cafe_f00d_d00d)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "patch", "put", "delete", "post", "OPTIONS",
    "FOO",
];

/// Request headers: safelisted at and past each boundary, unsafe, forbidden, client hints.
fn request_headers() -> Vec<H> {
    let long = "a".repeat(128);
    let longer = "a".repeat(129);
    vec![
        h("Accept", "application/json"),
        h("Accept", &long),
        h("Accept", &longer),
        h("Accept", "text/\"x\""),
        h("Accept-Language", "en-US,en;q=0.9"),
        h("Accept-Language", "en(US)"),
        h("Content-Language", "de"),
        h("Content-Language", "de DE"),
        h("Content-Type", "text/plain"),
        h("Content-Type", "application/x-www-form-urlencoded"),
        h("Content-Type", "multipart/form-data; boundary=x"),
        h("Content-Type", "Text/Plain;charset=utf-8"),
        h("Content-Type", "application/json"),
        h("Content-Type", "text/plain; x=\"{\""),
        h("Content-Type", "text/html"),
        h("Range", "bytes=0-99"),
        h("Range", "bytes=5-"),
        h("Range", "bytes=-5"),
        h("Range", "bytes=0-1,3-4"),
        h("Range", "bytes=9-1"),
        h("X-Request-Id", "7"),
        h("x-custom", "a"),
        h("X-B", "1"),
        h("x-a", "2"),
        h("Authorization", "Bearer t"),
        h("Cache-Control", "no-cache"),
        h("Cookie", "a=b"),
        h("Sec-Foo", "1"),
        h("Proxy-Foo", "1"),
        h("Device-Memory", "8"),
        h("DPR", "2"),
        h("Viewport-Width", "1.5"),
        h("Save-Data", "on"),
    ]
}

fn acao(shape: usize, origin: &str) -> Vec<H> {
    let o = origin;
    match shape {
        0 => vec![],
        1 => vec![h("Access-Control-Allow-Origin", "*")],
        2 => vec![h("Access-Control-Allow-Origin", o)],
        3 => vec![h("Access-Control-Allow-Origin", &format!("{o}/"))],
        4 => vec![h("Access-Control-Allow-Origin", &o.to_ascii_uppercase())],
        5 => vec![h("Access-Control-Allow-Origin", "null")],
        6 => vec![h("Access-Control-Allow-Origin", OTHER)],
        7 => vec![
            h("Access-Control-Allow-Origin", o),
            h("Access-Control-Allow-Origin", o),
        ],
        8 => vec![h("Access-Control-Allow-Origin", &format!("{o}, {o}"))],
        9 => vec![h("Access-Control-Allow-Origin", "")],
        10 => vec![h("Access-Control-Allow-Origin", "not a url")],
        11 => vec![h("Access-Control-Allow-Origin", &format!("{o}:443"))],
        _ => vec![
            h("Access-Control-Allow-Origin", "*"),
            h("Access-Control-Allow-Origin", o),
        ],
    }
}
const ACAO_SHAPES: usize = 13;

fn acac(shape: usize) -> Vec<H> {
    match shape {
        0 => vec![],
        1 => vec![h("Access-Control-Allow-Credentials", "true")],
        2 => vec![h("Access-Control-Allow-Credentials", "TRUE")],
        3 => vec![h("Access-Control-Allow-Credentials", "false")],
        _ => vec![
            h("Access-Control-Allow-Credentials", "true"),
            h("Access-Control-Allow-Credentials", "true"),
        ],
    }
}
const ACAC_SHAPES: usize = 5;

fn acam(shape: usize, method: &str) -> Vec<H> {
    let v = match shape {
        0 => return vec![],
        1 => "*".to_string(),
        2 => method.to_string(),
        3 => method.to_ascii_lowercase(),
        4 => "GET, POST".to_string(),
        5 => format!("OPTIONS, {method} , HEAD"),
        6 => format!("{method}, {{bad}}"),
        7 => String::new(),
        _ => {
            return vec![
                h("Access-Control-Allow-Methods", "GET"),
                h("Access-Control-Allow-Methods", method),
            ]
        }
    };
    vec![h("Access-Control-Allow-Methods", &v)]
}
const ACAM_SHAPES: usize = 9;

fn acah(shape: usize, names: &[String]) -> Vec<H> {
    let list = names.join(", ");
    let v = match shape {
        0 => return vec![],
        1 => "*".to_string(),
        2 => list,
        3 => list.to_ascii_uppercase(),
        4 => "x-other".to_string(),
        5 => format!("{list}, (bad)"),
        6 => String::new(),
        7 => "*, authorization".to_string(),
        _ => {
            return names
                .iter()
                .map(|n| h("Access-Control-Allow-Headers", n))
                .collect()
        }
    };
    vec![h("Access-Control-Allow-Headers", &v)]
}
const ACAH_SHAPES: usize = 9;

fn aceh(shape: usize) -> Vec<H> {
    let v = match shape {
        0 => return vec![],
        1 => "*",
        2 => "x-a",
        3 => "X-A, x-b",
        4 => "x-a, (bad)",
        5 => "",
        6 => "x-a, *",
        _ => "set-cookie, content-length, x-b",
    };
    vec![h("Access-Control-Expose-Headers", v)]
}
const ACEH_SHAPES: usize = 8;

fn extra_headers() -> Vec<H> {
    vec![
        h("X-A", "1"),
        h("x-b", "2"),
        h("Content-Type", "text/plain"),
        h("Content-Language", "en"),
        h("Cache-Control", "no-cache"),
        h("ETag", "\"e\""),
        h("Set-Cookie", "a=b"),
        h("Expires", "0"),
        h("Pragma", "no-cache"),
        h("Content-Length", "0"),
    ]
}

const PREFLIGHT_STATUS: &[u16] = &[
    200, 204, 201, 206, 299, 301, 302, 304, 307, 400, 403, 404, 500, 503,
];
const REDIRECT_STATUS: &[u16] = &[301, 302, 303, 307, 308];
const FINAL_STATUS: &[u16] = &[200, 201, 204, 206, 404, 500];
const CREDS: &[CredentialsMode] = &[
    CredentialsMode::Omit,
    CredentialsMode::SameOrigin,
    CredentialsMode::Include,
];

/// A request plus answers, before it gets an id.
#[derive(Clone)]
struct Spec {
    method: String,
    headers: Vec<H>,
    creds: CredentialsMode,
    mode: RequestMode,
    url: String,
    pre: Option<ScenarioResponse>,
    redirects: Vec<ScenarioResponse>,
    response: ScenarioResponse,
}

impl Spec {
    fn into_scenario(self, id: String) -> Scenario {
        Scenario {
            id,
            request: ScenarioRequest {
                origin: PAGE.to_string(),
                url: self.url,
                method: self.method,
                headers: self.headers,
                credentials: self.creds,
                mode: self.mode,
                pna: None,
                body: None,
                cache: None,
            },
            preflight_response: Some(self.pre),
            redirects: (!self.redirects.is_empty()).then_some(self.redirects),
            response: self.response,
            expect: None,
            expect_chromium: None,
            before: None,
            at: None,
            protocol: None,
        }
    }
}

fn resp(status: u16, headers: Vec<H>) -> ScenarioResponse {
    ScenarioResponse { status, headers }
}

/// Unsafe request header names as a preflight would list them (lowercased, sorted).
fn unsafe_names(headers: &[H]) -> Vec<String> {
    let mut v: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A passing base: PUT with `X-Request-Id`, credentials included, a full preflight.
fn base(creds: CredentialsMode) -> Spec {
    let o = PAGE;
    let mut pre = acao(2, o);
    pre.extend(acac(1));
    pre.extend(acam(2, "PUT"));
    pre.extend(acah(2, &["x-request-id".to_string()]));
    let mut res = acao(2, o);
    res.extend(acac(1));
    res.push(h("Content-Type", "text/plain"));
    Spec {
        method: "PUT".into(),
        headers: vec![h("X-Request-Id", "7")],
        creds,
        mode: RequestMode::Cors,
        url: format!("{API}/items/1"),
        pre: Some(resp(204, pre)),
        redirects: vec![],
        response: resp(200, res),
    }
}

fn good_preflight(method: &str, headers: &[H]) -> ScenarioResponse {
    let mut pre = acao(2, PAGE);
    pre.extend(acac(1));
    pre.extend(acam(2, method));
    pre.extend(acah(2, &unsafe_names(headers)));
    resp(204, pre)
}

/// The systematic catalogue.
pub fn systematic() -> Vec<Scenario> {
    let mut out: Vec<Scenario> = Vec::new();
    let mut add = |name: String, s: Spec| {
        let id = format!("sys-{:04}-{name}", out.len());
        out.push(s.into_scenario(id));
    };
    let cname = |c: CredentialsMode| c.as_str();
    // Methods, each with a preflight allowing it.
    for m in METHODS {
        for &c in CREDS {
            let mut s = base(c);
            s.method = m.to_string();
            s.headers.clear();
            s.pre = Some(good_preflight(m, &[]));
            add(format!("method-{m}-{}", cname(c)), s);
        }
    }
    // Each request header alone, on GET and POST, allowed by the preflight.
    for (i, hd) in request_headers().iter().enumerate() {
        for m in ["GET", "POST"] {
            let mut s = base(CredentialsMode::SameOrigin);
            s.method = m.into();
            s.headers = vec![hd.clone()];
            s.pre = Some(good_preflight(m, &s.headers));
            add(format!("header-{i}-{m}"), s.clone());
            // and not allowed (ACAH absent)
            let mut s2 = s.clone();
            let mut pre = acao(2, PAGE);
            pre.extend(acac(1));
            s2.pre = Some(resp(204, pre));
            add(format!("header-{i}-{m}-no-acah"), s2);
        }
    }
    // Duplicate and mixed-case request headers.
    for hs in [
        vec![h("X-C", "1"), h("x-a", "2"), h("X-B", "3"), h("X-A", "4")],
        vec![h("Accept", &"a".repeat(100)), h("Accept", &"b".repeat(30))],
        vec![
            h("Content-Type", "text/plain"),
            h("Content-Type", "text/html"),
        ],
        vec![
            h("Accept-Language", "en"),
            h("X-Y", "1"),
            h("Content-Language", "de"),
        ],
    ] {
        let mut s = base(CredentialsMode::Omit);
        s.method = "GET".into();
        s.pre = Some(good_preflight("GET", &hs));
        s.headers = hs;
        add("header-combination".into(), s);
    }
    // ACAO × ACAC × credentials on a simple GET, and on the preflight of the base.
    for a in 0..ACAO_SHAPES {
        for b in 0..ACAC_SHAPES {
            for &c in CREDS {
                let mut s = base(c);
                s.method = "GET".into();
                s.headers.clear();
                let mut r = acao(a, PAGE);
                r.extend(acac(b));
                s.response = resp(200, r);
                add(format!("acao{a}-acac{b}-{}", cname(c)), s);
                let mut s = base(c);
                let mut p = acao(a, PAGE);
                p.extend(acac(b));
                p.extend(acam(2, "PUT"));
                p.extend(acah(2, &["x-request-id".to_string()]));
                s.pre = Some(resp(204, p));
                add(format!("pre-acao{a}-acac{b}-{}", cname(c)), s);
            }
        }
    }
    // ACAM × method × credentials.
    for a in 0..ACAM_SHAPES {
        for m in ["PUT", "DELETE", "patch", "GET"] {
            for &c in &[CredentialsMode::Omit, CredentialsMode::Include] {
                let mut s = base(c);
                s.method = m.into();
                let mut p = acao(2, PAGE);
                p.extend(acac(1));
                p.extend(acam(a, m));
                p.extend(acah(2, &["x-request-id".to_string()]));
                s.pre = Some(resp(204, p));
                add(format!("acam{a}-{m}-{}", cname(c)), s);
            }
        }
    }
    // ACAH × header set × credentials.
    for a in 0..ACAH_SHAPES {
        for hs in [
            vec![h("X-Request-Id", "7")],
            vec![h("Authorization", "Bearer t")],
            vec![h("X-A", "1"), h("X-B", "2")],
            vec![h("Content-Type", "application/json")],
        ] {
            for &c in &[CredentialsMode::Omit, CredentialsMode::Include] {
                let mut s = base(c);
                let mut p = acao(2, PAGE);
                p.extend(acac(1));
                p.extend(acam(2, "PUT"));
                p.extend(acah(a, &unsafe_names(&hs)));
                s.pre = Some(resp(204, p));
                s.headers = hs.clone();
                add(format!("acah{a}-{}", cname(c)), s);
            }
        }
    }
    // Preflight status classes, and a missing answer.
    for &st in PREFLIGHT_STATUS {
        let mut s = base(CredentialsMode::Include);
        if let Some(p) = s.pre.as_mut() {
            p.status = st;
            if (300..400).contains(&st) {
                p.headers.push(h("Location", &format!("{API}/elsewhere")));
            }
        }
        add(format!("pre-status-{st}"), s);
    }
    let mut s = base(CredentialsMode::Omit);
    s.pre = None;
    add("pre-none".into(), s);
    // Max-age values (one fetch: no visible effect, but they must not break anything).
    for v in ["0", "600", "-1", "abc", "86400"] {
        let mut s = base(CredentialsMode::Omit);
        if let Some(p) = s.pre.as_mut() {
            p.headers.push(h("Access-Control-Max-Age", v));
        }
        add(format!("max-age-{v}"), s);
    }
    // ACEH × credentials over every extra header; final statuses.
    for a in 0..ACEH_SHAPES {
        for &c in CREDS {
            let mut s = base(c);
            s.method = "GET".into();
            s.headers.clear();
            let mut r = acao(if c == CredentialsMode::Include { 2 } else { 1 }, PAGE);
            r.extend(acac(1));
            r.extend(aceh(a));
            r.extend(extra_headers());
            s.response = resp(200, r);
            add(format!("aceh{a}-{}", cname(c)), s);
        }
    }
    for &st in FINAL_STATUS {
        let mut s = base(CredentialsMode::Include);
        s.response.status = st;
        add(format!("final-status-{st}"), s);
    }
    // Redirects: status × target × (simple GET, preflighted PUT) × redirect ACAO.
    for &st in REDIRECT_STATUS {
        for target in [API, API2, PAGE, OTHER] {
            for pre in [false, true] {
                for a in [0usize, 1, 2] {
                    let mut s = base(CredentialsMode::Omit);
                    if !pre {
                        s.method = "POST".into();
                        s.headers = vec![h("Content-Type", "text/plain")];
                    }
                    let mut rh = acao(a, PAGE);
                    rh.push(h("Location", &format!("{target}/next")));
                    s.redirects = vec![resp(st, rh)];
                    s.response = resp(200, vec![h("Access-Control-Allow-Origin", "*")]);
                    s.pre = Some({
                        let mut p = acao(1, PAGE);
                        p.extend(acam(2, &s.method));
                        p.extend(acah(1, &[]));
                        resp(204, p)
                    });
                    add(format!("redirect-{st}-{}-{pre}-acao{a}", host(target)), s);
                }
            }
        }
    }
    // Redirect chains, relative Locations, userinfo, other schemes.
    for loc in [
        "/relative",
        "https://user:pass@api2.example.test/u",
        "data:text/plain,hi",
        "https://api.example.test/same#frag",
    ] {
        for &c in &[CredentialsMode::Omit, CredentialsMode::Include] {
            let mut s = base(c);
            s.method = "GET".into();
            s.headers.clear();
            let mut rh = acao(2, PAGE);
            rh.extend(acac(1));
            rh.push(h("Location", loc));
            s.redirects = vec![resp(302, rh)];
            add(format!("redirect-location-{}", cname(c)), s);
        }
    }
    out
}

fn host(origin: &str) -> &str {
    origin.trim_start_matches("https://")
}

/// `n` random combinations for `seed`.
pub fn random(seed: u64, n: usize) -> Vec<Scenario> {
    let mut r = Rng::new(seed);
    let pool = request_headers();
    let extras = extra_headers();
    (0..n)
        .map(|i| {
            let method = if r.chance(50) {
                r.pick(&["GET", "POST", "HEAD"]).to_string()
            } else {
                r.pick(METHODS).to_string()
            };
            let mut headers = Vec::new();
            for _ in 0..r.below(4) {
                headers.push(r.pick(&pool).clone());
            }
            let creds = *r.pick(CREDS);
            let mode = if r.chance(5) {
                RequestMode::NoCors
            } else {
                RequestMode::Cors
            };
            let good_acao = |r: &mut Rng| {
                let good = if r.chance(50) { 1 } else { 2 };
                if r.chance(55) {
                    good
                } else {
                    r.below(ACAO_SHAPES)
                }
            };
            let shape = |r: &mut Rng, n: usize, good: usize| {
                if r.chance(55) {
                    good
                } else {
                    r.below(n)
                }
            };
            // Origin seen by the server: `null` after a cross-origin redirect.
            let n_redirects = if r.chance(25) { 1 + r.below(2) } else { 0 };
            let mut redirects = Vec::new();
            let mut tainted = false;
            let mut at = API;
            for _ in 0..n_redirects {
                let target = *r.pick(&[API, API2, PAGE, OTHER]);
                let o = if tainted { "null" } else { PAGE };
                let mut rh = acao(good_acao(&mut r), o);
                rh.extend(acac(shape(&mut r, ACAC_SHAPES, 1)));
                rh.push(h("Location", &format!("{target}/n{}", r.below(100))));
                redirects.push(resp(*r.pick(REDIRECT_STATUS), rh));
                if target != at && at != PAGE {
                    tainted = true;
                }
                at = target;
            }
            let o = if tainted { "null" } else { PAGE };
            let names = unsafe_names(&headers);
            let mut p = acao(good_acao(&mut r), o);
            p.extend(acac(shape(&mut r, ACAC_SHAPES, 1)));
            p.extend(acam(shape(&mut r, ACAM_SHAPES, 2), &method));
            p.extend(acah(shape(&mut r, ACAH_SHAPES, 2), &names));
            if r.chance(10) {
                const MAX_AGES: &[&str] = &["0", "600", "-5"];
                let v = MAX_AGES[r.below(MAX_AGES.len())];
                p.push(h("Access-Control-Max-Age", v));
            }
            let pst = if r.chance(80) {
                *r.pick(&[200, 204])
            } else {
                *r.pick(PREFLIGHT_STATUS)
            };
            if (300..400).contains(&pst) {
                p.push(h("Location", &format!("{API}/elsewhere")));
            }
            let pre = if r.chance(3) {
                None
            } else {
                Some(resp(pst, p))
            };
            let mut f = acao(good_acao(&mut r), o);
            f.extend(acac(shape(&mut r, ACAC_SHAPES, 1)));
            f.extend(aceh(r.below(ACEH_SHAPES)));
            for _ in 0..r.below(4) {
                f.push(r.pick(&extras).clone());
            }
            let fst = if r.chance(80) {
                200
            } else {
                *r.pick(FINAL_STATUS)
            };
            let spec = Spec {
                method,
                headers,
                creds,
                mode,
                url: format!("{API}/r{}", r.below(1000)),
                pre,
                redirects,
                response: resp(fst, f),
            };
            spec.into_scenario(format!("gen-{seed}-{i:05}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(random(7, 200), random(7, 200));
        assert_ne!(random(7, 50), random(8, 50));
        assert_eq!(systematic(), systematic());
    }

    #[test]
    fn ids_unique_and_scenarios_evaluate() {
        let all: Vec<Scenario> = systematic().into_iter().chain(random(1, 300)).collect();
        let mut ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for s in &all {
            let line = serde_json::to_string(s).expect("serializes");
            let back: Scenario = serde_json::from_str(&line).expect("round-trips");
            assert_eq!(&back, s);
            preflight::browser::evaluate(s, preflight::browser::Behavior::Chromium);
        }
    }
}
