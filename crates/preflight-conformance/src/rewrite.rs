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

use preflight::browser::Scenario;
use serde_json::{json, Value};
use url::Url;

use crate::server::{Answer, Served};

/// One case as the page runs it.
pub struct Case {
    /// `{url, init}` for `fetch()`.
    pub js: Value,
    /// The page URL the fetch runs in.
    pub page: String,
    /// The mapped target URL (for attributing events when it has no scenario path).
    pub target: String,
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

/// The URLs of one scenario: page origin, then each hop (`None` once a hop is not http(s)).
fn urls(s: &Scenario) -> (Option<Url>, Vec<Url>) {
    let origin = (s.request.origin != "null")
        .then(|| Url::parse(&s.request.origin).ok())
        .flatten();
    let mut hops = Vec::new();
    if let Ok(u) = Url::parse(&s.request.url) {
        hops.push(u);
        for r in s.redirects.as_deref().unwrap_or(&[]) {
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
        let (o, hops) = urls(s);
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
            let (o, hops) = urls(s);
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
            let (o, hops) = urls(s);
            let page = match &o {
                Some(u) => match map_origin(u) {
                    Some(m) => format!("{m}/page"),
                    None => format!("http://sandbox.test:{}/page?sandbox", ports[0]),
                },
                None => format!("http://sandbox.test:{}/page?sandbox", ports[0]),
            };
            let mapped_hop = |k: usize, u: &Url| -> Option<Url> {
                let mut m = u.clone();
                let p = port_of(u)?;
                m.set_scheme("http").ok()?;
                m.set_port(Some(p)).ok()?;
                m.set_path(&format!("/s/{run}/{idx}/{k}"));
                m.set_query(None);
                m.set_fragment(None);
                Some(m)
            };
            let mapped: Vec<Option<Url>> = hops
                .iter()
                .enumerate()
                .map(|(k, u)| mapped_hop(k, u))
                .collect();
            let target = match mapped.first() {
                Some(Some(m)) => m.as_str().to_string(),
                _ => s.request.url.clone(),
            };
            let acao_back = std::cell::RefCell::new(Vec::new());
            let rewrite = |a: &preflight::browser::ScenarioResponse, hop: Option<usize>| Answer {
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
            let mut hop_answers: Vec<Answer> = s
                .redirects
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .map(|(k, r)| rewrite(r, Some(k)))
                .collect();
            hop_answers.push(rewrite(&s.response, None));
            served.push(Served {
                preflight: s
                    .preflight_response
                    .clone()
                    .flatten()
                    .map(|p| rewrite(&p, None)),
                hops: hop_answers,
            });
            let mut hop_back: Vec<(String, String)> = acao_back.take();
            for (m, u) in mapped.iter().zip(&hops) {
                if let Some(m) = m {
                    hop_back.push((m.as_str().to_string(), u.as_str().to_string()));
                }
            }
            hop_back.extend(back.iter().cloned());
            hop_back.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
            let init = json!({
                "method": s.request.method,
                "headers": s.request.headers.iter().map(|h| [h.0.clone(), h.1.clone()]).collect::<Vec<_>>(),
                "credentials": s.request.credentials.as_str(),
                "mode": s.request.mode.as_str(),
                "redirect": "follow",
            });
            cases.push(Case {
                js: json!({"url": target, "init": init}),
                page,
                target,
                back: hop_back,
            });
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
