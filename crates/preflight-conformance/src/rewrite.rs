//! Mapping scenario URLs onto the local scenario server.
//!
//! Every distinct `(scheme, port)` pair of the scenarios (page origins, targets, redirect
//! Locations) gets its own listener on 127.0.0.1; a URL `scheme://host:port/path` becomes
//! `http://host:P/s/<run>/<idx>/<hop>` where `P` is that pair's listener. Host names are kept
//! (Chromium resolves every name to 127.0.0.1 through `--host-resolver-rules`), so two URLs are
//! same-origin after the rewrite exactly when they were before, and hosts keep their
//! registrable domains (same-site relations hold up to the scheme, which becomes `http` for
//! all). Userinfo in Locations is kept. `Access-Control-Allow-Origin` values have every known
//! origin replaced by its mapped origin; a `null` page origin is a page served with
//! `Content-Security-Policy: sandbox allow-scripts`. Observed text (console messages, the
//! `Origin` header, failed parameters) is mapped back to the scenario's URLs before comparing.
//!
//! A scenario with earlier fetches (`before`) runs as one sequence in the page: before each
//! fetch the page calls `/ctl/<run>/<idx>/<f>` (so the server answers with fetch `f`'s
//! answers), waits until the fetch's `at` (seconds after the first one), then fetches. Its
//! URLs map by identity instead of by hop, `http://host:P/s/<run>/<idx>/u<k>` for the `k`-th
//! distinct URL of the scenario, so that fetches of one URL share a preflight-cache key exactly
//! when they did before the rewrite.

use preflight::browser::{RequestBody, Scenario, ScenarioRequest, ScenarioResponse};
use serde_json::{json, Value};
use url::Url;

use crate::server::{Answer, Served, ServedFetch};

/// One case as the page runs it.
pub struct Case {
    /// `{url, init}` for `fetch()`.
    pub js: Value,
    /// The page URL the fetch runs in.
    pub page: String,
    /// The mapped target URL (for attributing events when it has no scenario path).
    pub target: String,
    /// How many fetches the case makes (1, or the earlier fetches plus the last).
    pub fetches: usize,
    /// mapped hop URL → original, longest first.
    back: Vec<(String, String)>,
}

/// The whole run, mapped.
pub struct Plan {
    /// The run id (a path segment).
    pub run: String,
    /// One per scenario.
    pub cases: Vec<Case>,
    /// What the server serves, one per scenario.
    pub served: Vec<Served>,
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" {
        443
    } else {
        80
    }
}

fn key(u: &Url) -> Option<(String, u16)> {
    matches!(u.scheme(), "http" | "https").then(|| {
        (
            u.scheme().to_string(),
            u.port().unwrap_or(default_port(u.scheme())),
        )
    })
}

fn location(a: &preflight::browser::ScenarioResponse) -> Option<&str> {
    a.headers
        .iter()
        .find(|h| h.0.eq_ignore_ascii_case("location"))
        .map(|h| h.1.as_str())
}

/// One fetch of a scenario, earlier ones first, with its start time in seconds.
pub struct FetchRef<'a> {
    /// What the page asks for.
    pub request: &'a ScenarioRequest,
    /// The preflight answer.
    pub preflight: Option<&'a ScenarioResponse>,
    /// Redirect answers.
    pub redirects: &'a [ScenarioResponse],
    /// The final answer.
    pub response: &'a ScenarioResponse,
    /// When it starts.
    pub at: u64,
}

/// The fetches of `s`: its earlier fetches, then its own, with the model's times (a fetch
/// without `at` starts with the one before it).
pub fn fetches(s: &Scenario) -> Vec<FetchRef<'_>> {
    let mut t = 0;
    let mut out = Vec::new();
    for e in s.before.iter().flatten() {
        t = e.at.unwrap_or(t);
        out.push(FetchRef {
            request: &e.request,
            preflight: e.preflight_response.as_ref().and_then(|p| p.as_ref()),
            redirects: e.redirects.as_deref().unwrap_or(&[]),
            response: &e.response,
            at: t,
        });
    }
    out.push(FetchRef {
        request: &s.request,
        preflight: s.preflight_response.as_ref().and_then(|p| p.as_ref()),
        redirects: s.redirects.as_deref().unwrap_or(&[]),
        response: &s.response,
        at: s.at.unwrap_or(t),
    });
    out
}

/// The URLs of one scenario: page origin, then each hop (`None` once a hop is not http(s)).
fn urls(s: &Scenario) -> (Option<Url>, Vec<Url>) {
    urls_of(&s.request, s.redirects.as_deref().unwrap_or(&[]))
}

/// Every URL of every fetch of `s`.
fn all_urls(s: &Scenario) -> (Option<Url>, Vec<Url>) {
    let (o, mut hops) = urls(s);
    for f in fetches(s) {
        hops.extend(urls_of(f.request, f.redirects).1);
    }
    (o, hops)
}

/// The URLs of one fetch: page origin, then each hop.
fn urls_of(request: &ScenarioRequest, redirects: &[ScenarioResponse]) -> (Option<Url>, Vec<Url>) {
    let origin = (request.origin != "null")
        .then(|| Url::parse(&request.origin).ok())
        .flatten();
    let mut hops = Vec::new();
    if let Ok(u) = Url::parse(&request.url) {
        hops.push(u);
        for r in redirects {
            let Some(prev) = hops.last() else { break };
            let Some(next) = location(r).and_then(|l| prev.join(l).ok()) else {
                break;
            };
            if key(&next).is_none() {
                break;
            }
            hops.push(next);
        }
    }
    (origin, hops)
}

/// The `(scheme, port)` pairs `scenarios` need, in a fixed order. The first one also serves
/// sandboxed (`null`-origin) pages.
pub fn keys(scenarios: &[Scenario]) -> Vec<(String, u16)> {
    let mut ks: Vec<(String, u16)> = vec![("https".into(), 443)];
    for s in scenarios {
        let (o, hops) = all_urls(s);
        for u in o.iter().chain(&hops) {
            if let Some(k) = key(u) {
                if !ks.contains(&k) {
                    ks.push(k);
                }
            }
        }
    }
    ks
}

fn origin_of(u: &Url) -> String {
    u.origin().ascii_serialization()
}

impl Plan {
    /// Maps `scenarios` given the listener `ports` for [`keys`].
    pub fn build(run: &str, scenarios: &[Scenario], keys: &[(String, u16)], ports: &[u16]) -> Plan {
        let port_of = |u: &Url| -> Option<u16> {
            let k = key(u)?;
            keys.iter().position(|x| *x == k).map(|i| ports[i])
        };
        let map_origin = |u: &Url| -> Option<String> {
            Some(format!("http://{}:{}", u.host_str()?, port_of(u)?))
        };
        // Every origin of the run, original → mapped.
        let mut origins: Vec<(String, String)> = Vec::new();
        for s in scenarios {
            let (o, hops) = all_urls(s);
            for u in o.iter().chain(&hops) {
                if let Some(m) = map_origin(u) {
                    let orig = origin_of(u);
                    if !origins.iter().any(|(a, _)| *a == orig) {
                        origins.push((orig, m));
                    }
                }
            }
        }
        let mut fwd = origins.clone();
        fwd.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
        let back: Vec<(String, String)> = origins
            .iter()
            .map(|(a, b)| (b.clone(), a.clone()))
            .collect();

        let mut cases = Vec::new();
        let mut served = Vec::new();
        for (idx, s) in scenarios.iter().enumerate() {
            let (o, _) = urls(s);
            let page = match &o {
                Some(u) => match map_origin(u) {
                    Some(m) => format!("{m}/page"),
                    None => format!("http://sandbox.test:{}/page?sandbox", ports[0]),
                },
                None => format!("http://sandbox.test:{}/page?sandbox", ports[0]),
            };
            // A sequence (earlier fetches) maps URLs by identity, a single fetch by hop.
            let seq = s.before.is_some();
            let all = fetches(s);
            let mut ids: Vec<Url> = Vec::new();
            let acao_back = std::cell::RefCell::new(Vec::new());
            let mut hop_back: Vec<(String, String)> = Vec::new();
            let mut served_fetches: Vec<ServedFetch> = Vec::new();
            let mut steps: Vec<Value> = Vec::new();
            let mut target = s.request.url.clone();
            for (fi, f) in all.iter().enumerate() {
                let (_, hops) = urls_of(f.request, f.redirects);
                let hop_ids: Vec<usize> = hops
                    .iter()
                    .enumerate()
                    .map(|(k, u)| {
                        if !seq {
                            return k;
                        }
                        match ids.iter().position(|x| x == u) {
                            Some(i) => i,
                            None => {
                                ids.push(u.clone());
                                ids.len() - 1
                            }
                        }
                    })
                    .collect();
                let mapped: Vec<Option<Url>> = hops
                    .iter()
                    .zip(&hop_ids)
                    .map(|(u, &id)| {
                        let mut m = u.clone();
                        let p = port_of(u)?;
                        m.set_scheme("http").ok()?;
                        m.set_port(Some(p)).ok()?;
                        if seq {
                            m.set_path(&format!("/s/{run}/{idx}/u{id}"));
                        } else {
                            m.set_path(&format!("/s/{run}/{idx}/{id}"));
                        }
                        m.set_query(None);
                        m.set_fragment(None);
                        Some(m)
                    })
                    .collect();
                let url = match mapped.first() {
                    Some(Some(m)) => m.as_str().to_string(),
                    _ => f.request.url.clone(),
                };
                let rewrite = |a: &ScenarioResponse, hop: Option<usize>| Answer {
                    status: a.status,
                    headers: a
                        .headers
                        .iter()
                        .map(|h| {
                            let v = if h.0.eq_ignore_ascii_case("access-control-allow-origin") {
                                let v = map_acao(&h.1, &fwd);
                                if v != h.1 {
                                    acao_back.borrow_mut().push((v.clone(), h.1.clone()));
                                }
                                v
                            } else if h.0.eq_ignore_ascii_case("location") {
                                match hop.and_then(|k| mapped.get(k + 1)) {
                                    Some(Some(m)) => m.as_str().to_string(),
                                    _ => h.1.clone(),
                                }
                            } else {
                                h.1.clone()
                            };
                            (h.0.clone(), v)
                        })
                        .collect(),
                };
                let mut answers: Vec<Answer> = f
                    .redirects
                    .iter()
                    .enumerate()
                    .map(|(k, r)| rewrite(r, Some(k)))
                    .collect();
                answers.push(rewrite(f.response, None));
                let preflight = f.preflight.map(|p| rewrite(p, None));
                for (m, u) in mapped.iter().zip(&hops) {
                    if let Some(m) = m {
                        hop_back.push((m.as_str().to_string(), u.as_str().to_string()));
                    }
                }
                served_fetches.push(ServedFetch {
                    preflight,
                    hops: answers
                        .into_iter()
                        .enumerate()
                        .map(|(k, a)| (hop_ids.get(k).copied(), a))
                        .collect(),
                });
                let ctl = match page.find("/page") {
                    Some(p) => format!("{}/ctl/{run}/{idx}/{}", &page[..p], fi + 1),
                    None => String::new(),
                };
                steps.push(
                    json!({"url": url, "init": init_json(f.request), "at": f.at, "ctl": ctl}),
                );
                target = url;
            }
            hop_back.extend(acao_back.take());
            hop_back.extend(back.iter().cloned());
            hop_back.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
            hop_back.dedup();
            let n = served_fetches.len();
            if seq {
                served.push(Served {
                    preflight: None,
                    hops: Vec::new(),
                    seq: served_fetches,
                });
                cases.push(Case {
                    js: json!({ "seq": steps }),
                    page,
                    target,
                    fetches: n,
                    back: hop_back,
                });
            } else {
                let f = served_fetches.pop().unwrap_or(ServedFetch {
                    preflight: None,
                    hops: Vec::new(),
                });
                served.push(Served {
                    preflight: f.preflight,
                    hops: f.hops.into_iter().map(|(_, a)| a).collect(),
                    seq: Vec::new(),
                });
                let step = steps.pop().unwrap_or(Value::Null);
                cases.push(Case {
                    js: json!({"url": step["url"], "init": step["init"]}),
                    page,
                    target,
                    fetches: 1,
                    back: hop_back,
                });
            }
        }
        Plan {
            run: run.to_string(),
            cases,
            served,
        }
    }

    /// Page URL → scenario indices, in first-seen order.
    pub fn groups(&self) -> Vec<(String, Vec<usize>)> {
        let mut g: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, c) in self.cases.iter().enumerate() {
            match g.iter_mut().find(|(p, _)| *p == c.page) {
                Some((_, v)) => v.push(i),
                None => g.push((c.page.clone(), vec![i])),
            }
        }
        g
    }

    /// `text` (observed for scenario `idx`) with mapped URLs and origins replaced by the
    /// scenario's own.
    pub fn back(&self, idx: usize, text: &str) -> String {
        match self.cases.get(idx) {
            Some(c) => replace_all(text, &c.back),
            None => text.to_string(),
        }
    }

    /// The scenario index a console text belongs to: its scenario path, or else the first case
    /// whose (unmapped) target it quotes.
    pub fn index_in_text(&self, text: &str) -> Option<usize> {
        let tag = format!("/s/{}/", self.run);
        if text.contains(&tag) {
            return self.index_of(text);
        }
        self.cases
            .iter()
            .position(|c| !c.target.contains(&tag) && text.contains(&c.target))
    }

    /// The scenario and fetch (1-based) a control URL (`/ctl/<run>/<idx>/<f>`) announces.
    pub fn ctl_of(&self, url: &str) -> Option<(usize, usize)> {
        let tag = format!("/ctl/{}/", self.run);
        let rest = &url[url.find(&tag)? + tag.len()..];
        let mut it = rest.split('/');
        let idx = it.next()?.parse().ok().filter(|&i| i < self.cases.len())?;
        let f = it.next()?.parse().ok()?;
        Some((idx, f))
    }

    /// The scenario index a (mapped) URL belongs to.
    pub fn index_of(&self, url: &str) -> Option<usize> {
        let tag = format!("/s/{}/", self.run);
        if let Some(p) = url.find(&tag) {
            let rest = &url[p + tag.len()..];
            let end = rest.find('/').unwrap_or(rest.len());
            return rest[..end].parse().ok().filter(|&i| i < self.cases.len());
        }
        self.cases.iter().position(|c| c.target == url)
    }
}

/// An `Access-Control-Allow-Origin` value with each known origin replaced by its mapped
/// origin. Where the origin is followed by more host or port characters (`…test.`,
/// `…test:443`) the mapped origin goes in without its port, so the value stays a valid URL
/// exactly when the original was, and names another origin exactly when the original did.
fn map_acao(text: &str, pats: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for (from, to) in pats {
            if text[i..].starts_with(from.as_str()) {
                let next = text[i + from.len()..].chars().next();
                let boundary = matches!(next, None | Some('/' | ',' | ' ' | '\t' | '?' | '#'));
                if boundary {
                    out.push_str(to);
                } else {
                    let portless = to.rsplit_once(':').map(|(a, _)| a).unwrap_or(to);
                    out.push_str(portless);
                }
                i += from.len();
                continue 'outer;
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

/// The `fetch()` init of a request. A `ReadableStream` body is the marker `"__stream__"`,
/// which the page turns into a stream (with `duplex: "half"`).
fn init_json(r: &ScenarioRequest) -> Value {
    let mut init = json!({
        "method": r.method,
        "headers": r.headers.iter().map(|h| [h.0.clone(), h.1.clone()]).collect::<Vec<_>>(),
        "credentials": r.credentials.as_str(),
        "mode": r.mode.as_str(),
        "redirect": "follow",
    });
    if let Some(c) = r.cache {
        init["cache"] = json!(c.as_str());
    }
    if r.body == Some(RequestBody::Stream) {
        init["body"] = json!("__stream__");
    }
    init
}

/// Single left-to-right pass: at each position the first (longest) matching pattern wins.
fn replace_all(text: &str, pats: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for (from, to) in pats {
            if !from.is_empty() && text[i..].starts_with(from.as_str()) {
                out.push_str(to);
                i += from.len();
                continue 'outer;
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}
