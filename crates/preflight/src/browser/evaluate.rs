//! [`evaluate`]: the whole model on one [`Scenario`].
//!
//! The engine works on borrowed data: the page origin and the URL are recognized in place when
//! they are already canonical (`fast_url`), the request's header list and the response's token
//! lists live in inline arrays (`small`), recorded answers are borrowed from the scenario, and the
//! requests the model would send ([`Outgoing`]) are only built for a live [`Server`]. Text
//! (steps, console message, fix) is only produced on the explaining path.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::cache::{Core, Hit};
use super::fast_url::{canonical_origin, Loc, Tuple};
use super::headers::get;
use super::reason::{Failure, Reason};
use super::redirect::{redirect_step, Hop};
use super::request::{Prep, RequestInit};
use super::response::{
    basic_exposed, check_preflight, cors_check, exposed_headers, is_redirect_status, OkRef,
    PreflightKind, ReqView,
};
use super::safelist::is_cors_safelisted_method;
use super::scenario::{
    CacheMode, EarlierFetch, Outcome, PreflightRequestHeaders, Protocol, RequestBody, Scenario,
    ScenarioRequest, ScenarioResponse, Stage,
};
use super::text::{cat, joined_len, push_lower_joined, Num};
use super::{Behavior, CredentialsMode, RequestMode};
use crate::Origin;

/// One step of the explanation: what was checked, under which rule, and whether it passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The rule: a Fetch standard section and the research-notes rule number.
    pub rule: &'static str,
    /// What was checked, in plain words.
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Whether a preflight is sent.
    pub preflight: bool,
    /// The first preflight's `Access-Control-Request-*` headers (`None` without preflight).
    pub preflight_request_headers: Option<PreflightRequestHeaders>,
    /// `ok` or `network-error`.
    pub outcome: Outcome,
    /// Where it failed (`None` when ok).
    pub failure_stage: Option<Stage>,
    /// Sorted, lowercased names script can read (empty on failure or for opaque responses).
    pub exposed_headers: Vec<String>,
    /// The `Origin` header on the last actual request sent (`None` if none was sent).
    pub origin_header: Option<String>,
    /// The stable reason of a failure.
    pub reason: Option<Reason>,
    /// Chromium's console message for a failure.
    pub message: Option<String>,
    /// What the server owner should change.
    pub fix: Option<String>,
    /// The explanation, step by step (empty from [`evaluate_verdict`]).
    pub steps: Vec<Step>,
    /// The earlier fetches of the scenario ([`Scenario::before`]), in order (extension).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<Evaluation>,
    /// Whether steps, message and fix are built.
    #[serde(skip)]
    explain: bool,
}

impl Evaluation {
    fn new(explain: bool) -> Self {
        Evaluation {
            preflight: false,
            preflight_request_headers: None,
            outcome: Outcome::Ok,
            failure_stage: None,
            exposed_headers: Vec::new(),
            origin_header: None,
            reason: None,
            message: None,
            fix: None,
            steps: if explain {
                Vec::with_capacity(12)
            } else {
                Vec::new()
            },
            before: Vec::new(),
            explain,
        }
    }

    /// Records a step; the text is only built when the evaluation explains itself.
    fn step<S: Into<String>>(
        &mut self,
        rule: &'static str,
        check: impl FnOnce() -> S,
        passed: bool,
    ) {
        if self.explain {
            self.steps.push(Step {
                rule,
                check: check().into(),
                passed,
            });
        }
    }
}

/// What a failure's console message and fix need to know about the request.
struct Ctx<'a> {
    page_origin: &'a str,
    initial_url: &'a str,
    credentials: CredentialsMode,
}

impl Ctx<'_> {
    fn fail(
        &self,
        mut ev: Evaluation,
        stage: Stage,
        f: Failure,
        url: &str,
        check_origin: &str,
        method: &str,
    ) -> Evaluation {
        ev.outcome = Outcome::NetworkError;
        ev.failure_stage = Some(stage);
        ev.exposed_headers.clear();
        if ev.explain {
            ev.message = Some(f.console_message(url, self.initial_url, self.page_origin, method));
            ev.fix = Some(f.fix(
                check_origin,
                method,
                self.credentials == CredentialsMode::Include,
            ));
        }
        ev.reason = Some(f.reason);
        ev
    }
}

/// A request the model sends, exactly as a browser would put it on the wire (cookies aside).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outgoing {
    /// `true` for a CORS-preflight (`OPTIONS`), `false` for the actual request or a hop of it
    /// after a redirect.
    pub preflight: bool,
    /// The method on the wire (`OPTIONS` for a preflight).
    pub method: String,
    /// The URL.
    pub url: String,
    /// The header list in order, `Origin` included (absent when the browser sends none).
    pub headers: Vec<super::headers::Header>,
    /// Whether the browser attaches credentials (cookies, HTTP authentication) to this
    /// request: never on a preflight; on the actual request with credentials mode `include`,
    /// or `same-origin` while response tainting is still `basic`.
    pub credentials: bool,
}

/// A server's answer to an [`Outgoing`] request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The response.
    pub response: ScenarioResponse,
    /// Whether this is the final response even if it is a redirect (a recorded scenario ends
    /// here); a live server answers `false`, so redirects are followed.
    pub is_final: bool,
}

/// The server side of [`evaluate_with`]: answers the requests the model sends, in order.
/// [`evaluate`] answers from a recorded [`Scenario`]; a live client sends each request over
/// the network.
pub trait Server {
    /// Answers `request`, or `None` when no response arrives (connection refused, timeout, ...):
    /// on a preflight that is [`Reason::PreflightNoResponse`]; on the actual request the
    /// evaluation stops there (the caller knows why).
    fn respond(&mut self, request: &Outgoing) -> Option<Answer>;
}

/// A request about to be sent, borrowed; [`Wire::to_outgoing`] makes the owned [`Outgoing`]
/// (only a live server needs it).
pub(crate) struct Wire<'a> {
    /// `Some` for a preflight.
    pub preflight: Option<PreflightKind>,
    pub url: &'a str,
    /// The `Origin` header (always present on a preflight).
    pub origin: Option<&'a str>,
    pub prep: &'a Prep<'a>,
    pub credentials: bool,
}

impl Wire<'_> {
    pub(crate) fn to_outgoing(&self) -> Outgoing {
        let s = |v: &str| v.to_string();
        let (method, headers) = match self.preflight {
            Some(kind) => {
                let mut h = Vec::with_capacity(5);
                h.push((s("Origin"), s(self.origin.unwrap_or("null"))));
                h.push((s("Accept"), s("*/*")));
                h.push((s("Access-Control-Request-Method"), s(self.prep.method)));
                if kind != PreflightKind::Pna {
                    if let Some(v) = self.prep.access_control_request_headers() {
                        h.push((s("Access-Control-Request-Headers"), v));
                    }
                }
                if kind != PreflightKind::Cors {
                    h.push((s("Access-Control-Request-Private-Network"), s("true")));
                }
                (s("OPTIONS"), h)
            }
            None => {
                let mut h: Vec<super::headers::Header> = self
                    .prep
                    .headers
                    .iter()
                    .map(|&(n, v)| (s(n), s(v)))
                    .collect();
                if let Some(o) = self.origin {
                    h.push((s("Origin"), s(o)));
                }
                (s(self.prep.method), h)
            }
        };
        Outgoing {
            preflight: self.preflight.is_some(),
            method,
            url: s(self.url),
            headers,
            credentials: self.credentials,
        }
    }
}

/// An answer, borrowed from a recorded scenario or owned from a live server.
pub(crate) struct Reply<'s> {
    pub response: Cow<'s, ScenarioResponse>,
    pub is_final: bool,
}

/// The model's side of the network: [`Recorded`] answers from a scenario without copying,
/// [`Live`] asks a [`Server`].
pub(crate) trait Net<'s> {
    fn send(&mut self, wire: &Wire<'_>) -> Option<Reply<'s>>;
}

/// Replays a [`Scenario`]'s recorded answers (borrowed).
pub(crate) struct Recorded<'s> {
    preflight: Option<&'s ScenarioResponse>,
    redirects: std::slice::Iter<'s, ScenarioResponse>,
    last: Option<&'s ScenarioResponse>,
}

impl<'s> Recorded<'s> {
    pub(crate) fn new(
        preflight: Option<&'s ScenarioResponse>,
        redirects: &'s [ScenarioResponse],
        last: &'s ScenarioResponse,
    ) -> Self {
        Recorded {
            preflight,
            redirects: redirects.iter(),
            last: Some(last),
        }
    }
}

impl<'s> Net<'s> for Recorded<'s> {
    fn send(&mut self, wire: &Wire<'_>) -> Option<Reply<'s>> {
        let (r, is_final) = if wire.preflight.is_some() {
            (self.preflight?, true)
        } else if let Some(r) = self.redirects.next() {
            (r, false)
        } else {
            (self.last.take()?, true)
        };
        Some(Reply {
            response: on_the_wire(r),
            is_final,
        })
    }
}

/// Asks a live [`Server`].
struct Live<'x, S>(&'x mut S);

impl<'s, S: Server> Net<'s> for Live<'_, S> {
    fn send(&mut self, wire: &Wire<'_>) -> Option<Reply<'s>> {
        self.0.respond(&wire.to_outgoing()).map(|a| Reply {
            response: Cow::Owned(a.response),
            is_final: a.is_final,
        })
    }
}

/// Runs the model on `scenario` under `behavior`. Never panics; an unusable scenario (bad
/// origin or URL) is a failure with [`Reason::InvalidScenario`] at [`Stage::Request`].
pub fn evaluate(scenario: &Scenario, behavior: Behavior) -> Evaluation {
    replay(scenario, behavior, true)
}

/// Like [`evaluate`], for bulk use (conformance runs, generators, benchmarks): the same verdict,
/// failure stage, reason, preflight headers, exposed headers and `Origin`, without the
/// step-by-step text, the console message and the fix.
pub fn evaluate_verdict(scenario: &Scenario, behavior: Behavior) -> Evaluation {
    replay(scenario, behavior, false)
}

/// The model's own preflight cache for `behavior`: Chromium's 7200 s cap (C1); for the
/// spec, whose limit is the UA's, the most generous engine's (Firefox, 86400 s).
fn model_cache<'s>(behavior: Behavior) -> Cache<'s> {
    let mut cache = Core::new(behavior);
    if behavior == Behavior::Spec {
        cache.set_cap(super::FIREFOX_MAX_AGE_CAP);
    }
    cache
}

/// Runs a recorded scenario: its earlier fetches, then its own, against one preflight cache;
/// answers with header values trimmed as the wire does.
fn replay(scenario: &Scenario, behavior: Behavior, explain: bool) -> Evaluation {
    let earlier: &[EarlierFetch] = scenario.before.as_deref().unwrap_or(&[]);
    let n = u16::try_from(earlier.len()).unwrap_or(u16::MAX);
    let timeline = !earlier.is_empty() || scenario.at.is_some();
    let mut cache = model_cache(behavior);
    let fetch = |req, now, number| Fetch {
        req,
        behavior,
        explain,
        now,
        number,
        protocol: scenario.protocol,
        timeline,
    };
    // Times never go back: a fetch without `at` starts when the one before it did.
    let mut t = 0u64;
    let mut times = Vec::with_capacity(earlier.len());
    let mut before = Vec::with_capacity(earlier.len());
    for (i, e) in earlier.iter().enumerate() {
        let at = e.at.unwrap_or(t);
        if at < t {
            return bad_time(scenario, i + 1, at, t, explain);
        }
        t = at;
        times.push(at);
        let mut net = Recorded::new(
            e.preflight_response.as_ref().and_then(|p| p.as_ref()),
            e.redirects.as_deref().unwrap_or(&[]),
            &e.response,
        );
        let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
        before.push(fetch(&e.request, Duration::from_secs(at), number).run(&mut net, &mut cache));
    }
    let at = scenario.at.unwrap_or(t);
    if at < t {
        return bad_time(scenario, earlier.len() + 1, at, t, explain);
    }
    let mut net = Recorded::new(
        scenario
            .preflight_response
            .as_ref()
            .and_then(|p| p.as_ref()),
        scenario.redirects.as_deref().unwrap_or(&[]),
        &scenario.response,
    );
    let mut ev = fetch(
        &scenario.request,
        Duration::from_secs(at),
        n.saturating_add(1),
    )
    .run(&mut net, &mut cache);
    if explain && timeline {
        let mut steps = Vec::with_capacity(before.len() + 1 + ev.steps.len());
        for (i, ((e, b), at)) in earlier.iter().zip(&before).zip(&times).enumerate() {
            steps.push(Step {
                rule: "Earlier fetch (preflight cache, R18)",
                check: describe_earlier(i + 1, *at, e, b),
                passed: b.outcome == Outcome::Ok,
            });
        }
        steps.push(Step {
            rule: "This fetch",
            check: cat([
                "fetch #",
                Num::new(earlier.len() as u64 + 1).as_str(),
                " at t=",
                Num::new(at).as_str(),
                " s: ",
                &scenario.request.method,
                " ",
                &scenario.request.url,
            ]),
            passed: true,
        });
        steps.append(&mut ev.steps);
        ev.steps = steps;
    }
    ev.before = before;
    ev
}

/// An earlier fetch in one line: what it sent, how it ended and what it did to the cache.
fn describe_earlier(k: usize, at: u64, e: &EarlierFetch, ev: &Evaluation) -> String {
    let (end, code, close) = match (ev.outcome, ev.reason) {
        (Outcome::Ok, _) => ("ok", "", ""),
        (_, Some(r)) => ("network error (", r.code(), ")"),
        _ => ("network error", "", ""),
    };
    let notes = ev.steps.iter().filter(|st| {
        st.rule.starts_with("CORS-preflight cache")
            || st.rule.starts_with("Main fetch (R19)")
            || (st.rule.starts_with("HTTP fetch (R18)") && !st.check.ends_with("it is empty"))
    });
    let mut line = cat([
        "fetch #",
        Num::new(k as u64).as_str(),
        " at t=",
        Num::new(at).as_str(),
        " s: ",
        &e.request.method,
        " ",
        &e.request.url,
        if ev.preflight {
            " → preflight sent, "
        } else {
            " → no preflight, "
        },
        end,
        code,
        close,
    ]);
    line.reserve(notes.clone().map(|st| st.check.len() + 2).sum());
    for st in notes {
        line.push_str("; ");
        line.push_str(&st.check);
    }
    line
}

/// A scenario whose fetch `k` (1-based) starts at `at`, before the fetch before it (`prev`).
fn bad_time(scenario: &Scenario, k: usize, at: u64, prev: u64, explain: bool) -> Evaluation {
    let r = &scenario.request;
    let ctx = Ctx {
        page_origin: &r.origin,
        initial_url: &r.url,
        credentials: r.credentials,
    };
    let f = Failure::new(
        Reason::InvalidScenario,
        format!("at: fetch #{k} starts at t={at} s, before the fetch before it (t={prev} s); times never go back"),
    );
    ctx.fail(
        Evaluation::new(explain),
        Stage::Request,
        f,
        &r.url,
        &r.origin,
        &r.method,
    )
}

/// Runs the model on `req` under `behavior`, asking `server` for each answer: the preflight
/// (and the new preflight after a redirect, R52), the actual request and each redirect hop.
/// This is how a live client acts as a browser: every decision (what to send, whether to
/// preflight, what to check, where to go next) is the model's; `server` only does IO.
/// Never panics.
pub fn evaluate_with(
    req: &ScenarioRequest,
    behavior: Behavior,
    server: &mut impl Server,
) -> Evaluation {
    let mut cache = model_cache(behavior);
    Fetch {
        req,
        behavior,
        explain: true,
        now: Duration::ZERO,
        number: 1,
        protocol: None,
        timeline: false,
    }
    .run(&mut Live(server), &mut cache)
}

/// The page's origin, borrowed: its serialization (the input, which [`Origin::parse`] accepts
/// only in canonical form) and its tuple (`None`: opaque).
#[derive(Clone, Copy)]
struct Page<'s> {
    serialized: &'s str,
    tuple: Option<Tuple<'s>>,
}

impl<'s> Page<'s> {
    fn parse(s: &'s str) -> Result<Self, crate::OriginError> {
        if let Some(p) = canonical_origin(s) {
            return Ok(Page {
                serialized: s,
                tuple: Some(p.tuple()),
            });
        }
        let o = Origin::parse(s)?;
        // `Origin::parse` only accepts its own serialization, so `o.as_str() == s`: slice the
        // parts out of the input.
        let tuple = o.tuple().and_then(|t| {
            let scheme_end = t.scheme.len();
            let host_start = scheme_end + 3;
            Some(Tuple {
                scheme: s.get(..scheme_end)?,
                host: s.get(host_start..host_start + t.host.len())?,
                port: t.port,
            })
        });
        Ok(Page {
            serialized: if o.is_opaque() { "null" } else { s },
            tuple,
        })
    }
}

/// A URL as a preflight-cache key (borrowed when it is the input).
fn url_key<'s>(l: &Loc<'s>) -> Cow<'s, str> {
    match l {
        Loc::Canon(p) => Cow::Borrowed(p.s),
        Loc::Parsed(u) => Cow::Owned(u.as_str().to_string()),
    }
}

/// The model's own preflight cache, over strings borrowed from the scenario where possible.
pub(crate) type Cache<'s> = Core<Cow<'s, str>>;

/// One `fetch()`: the request, whose rules, and its place in a sequence of fetches sharing a
/// preflight cache.
struct Fetch<'s> {
    req: &'s ScenarioRequest,
    behavior: Behavior,
    explain: bool,
    /// The time of the fetch.
    now: Duration,
    /// Its number in the sequence (1-based).
    number: u16,

    /// The server's HTTP version (`None`: by scheme).
    protocol: Option<Protocol>,
    /// Whether the scenario has a timeline (earlier fetches or `at`): the explanation then
    /// tells what the preflight cache did.
    timeline: bool,
}

impl<'s> Fetch<'s> {
    fn run(&self, net: &mut impl Net<'s>, cache: &mut Cache<'s>) -> Evaluation {
        let req = self.req;
        let behavior = self.behavior;
        let mut ev = Evaluation::new(self.explain);
        let ctx = Ctx {
            page_origin: &req.origin,
            initial_url: &req.url,
            credentials: req.credentials,
        };
        let page = match Page::parse(&req.origin) {
            Ok(o) => o,
            Err(e) => {
                let f = Failure::new(Reason::InvalidScenario, format!("origin: {e}"));
                return ctx.fail(ev, Stage::Request, f, &req.url, &req.origin, &req.method);
            }
        };
        let mut current = match Loc::parse(&req.url) {
            Ok(u) => u,
            Err(e) => {
                let f = Failure::new(Reason::InvalidScenario, format!("url: {e}"));
                return ctx.fail(ev, Stage::Request, f, &req.url, &req.origin, &req.method);
            }
        };
        // The URL as the parser serializes it, for messages ("redirected from ...").
        let initial_url: Cow<'_, str> = match &current {
            Loc::Canon(p) => Cow::Borrowed(p.s),
            Loc::Parsed(u) => Cow::Owned(u.as_str().to_string()),
        };
        let ctx = Ctx {
            initial_url: &initial_url,
            ..ctx
        };

        // fetch(): the Request constructor and the Headers class.
        let init = RequestInit {
            method: &req.method,
            headers: &req.headers,
            credentials: req.credentials,
            mode: req.mode,
            body: req.body,
            cache: req.cache,
        };
        let mut prepared = Prep::new(&init, behavior);
        match prepared.fill(&init) {
            Ok(()) => {}
            Err(f) => {
                ev.step(
                    "Request constructor (R3, R5, R14)",
                    || cat(["fetch() throws a TypeError: ", f.reason.code()]),
                    false,
                );
                return ctx.fail(
                    ev,
                    Stage::Request,
                    f,
                    &initial_url,
                    page.serialized,
                    &req.method,
                );
            }
        };
        if ev.explain {
            describe_prepared(&mut ev, &req.method, &prepared);
        }

        let now = self.now;
        let mut hop = Hop {
            redirect_count: 0,
            tainted: false,
            cors_tainting: false,
            mode: req.mode,
        };
        let serialized = |hop: &Hop| if hop.tainted { "null" } else { page.serialized };
        // C4: Chromium's cache modes `no-store`, `reload` and `no-cache` skip the preflight
        // cache lookup; `no-store` also keeps the result out of it. The spec's preflight cache
        // ignores the cache mode.
        let mode = req.cache.unwrap_or_default();
        let chromium = behavior == Behavior::Chromium;
        let read_cache = !(chromium
            && matches!(
                mode,
                CacheMode::NoStore | CacheMode::Reload | CacheMode::NoCache
            ));
        let write_cache = !(chromium && mode == CacheMode::NoStore);
        // Whether a hop took the CORS-with-preflight path (R19 clears the cache on failure).
        let mut preflight_path = false;

        loop {
            let cur = current.as_str();
            let origin_now = serialized(&hop);
            // Main fetch (R16): which path?
            let same_origin = current.same_origin_with(page.tuple);
            let mut preflight_kind: Option<PreflightKind> = None;
            if same_origin && !hop.cors_tainting {
                ev.step(
                    "Main fetch (R16)",
                    || cat([cur, " is same-origin with the page: not a CORS request"]),
                    true,
                );
            } else if req.mode == RequestMode::SameOrigin {
                ev.step(
                    "Main fetch (R16)",
                    || "mode 'same-origin' to another origin",
                    false,
                );
                let f = Failure::new(Reason::DisallowedByMode, "");
                return ctx.fail(ev, Stage::Request, f, cur, origin_now, prepared.method);
            } else if req.mode == RequestMode::NoCors {
                ev.step(
                    "Main fetch (R16)",
                    || "mode 'no-cors': the response will be opaque (status 0, no headers, no body)",
                    true,
                );
            } else if current.scheme() != "http" && current.scheme() != "https" {
                let scheme = current.scheme();
                ev.step(
                    "Main fetch (R16)",
                    || cat(["scheme '", scheme, "' cannot be fetched cross-origin"]),
                    false,
                );
                let f = Failure::new(Reason::CorsDisabledScheme, scheme);
                return ctx.fail(ev, Stage::Request, f, cur, origin_now, prepared.method);
            } else {
                hop.cors_tainting = true;
                let needs_cors = prepared.needs_preflight();
                preflight_path |= needs_cors;
                let pna = req
                    .pna
                    .as_ref()
                    .filter(|p| p.target_address_space > p.client_address_space);
                if let Some(p) = pna {
                    // R58: private network requests need a secure context and a preflight.
                    if !p.secure_context {
                        ev.step(
                            "PNA (R58)",
                            || "a private network request from a non-secure context",
                            false,
                        );
                        let f = Failure::new(
                            Reason::InsecurePrivateNetwork,
                            p.target_address_space.as_str(),
                        );
                        return ctx.fail(ev, Stage::Request, f, cur, origin_now, prepared.method);
                    }
                    ev.step(
                        "PNA (R58, legacy)", ||
                        cat([
                            "private network request (",
                            p.client_address_space.as_str(),
                            " → ",
                            p.target_address_space.as_str(),
                            "): a preflight with Access-Control-Request-Private-Network is required",
                        ]),
                        true,);
                }
                ev.step(
                    "Main fetch (R17)",
                    || {
                                                if needs_cors {
                            let names = &prepared.unsafe_names;
                            let mut t = String::with_capacity(
                                144 + prepared.method.len() + joined_len(names, ", "),
                            );
                            if prepared.use_cors_preflight {
                                t.push_str("the body is a ReadableStream: the use-CORS-preflight flag is set; ");
                            }
                            t.push_str("CORS-with-preflight: method ");
                            t.push_str(prepared.method);
                            t.push_str(if is_cors_safelisted_method(prepared.method) {
                                " is safelisted, unsafe headers ["
                            } else {
                                " is not safelisted, unsafe headers ["
                            });
                            push_lower_joined(&mut t, names, ", ");
                            t.push(']');
                            t
                        } else {
                            "simple request: safelisted method and headers, no preflight needed"
                                .to_string()
                        }
                    },
                    true,
                );
                // The cache key's origin: the request's serialized origin (`null` once tainted).
                // Chromium keys a tainted request by a new opaque origin, so its preflight
                // result serves no other request, tainted or not (observed with Chromium 156:
                // a second identical tainted fetch preflights again).
                let key_origin = origin_now;
                let tainted_chromium = chromium && hop.tainted;
                // R18: with the use-CORS-preflight flag even a safelisted method needs a
                // method cache match; Chromium's lookup has no such flag.
                let force_method = prepared.use_cors_preflight && !chromium;
                let lookup = needs_cors && pna.is_none();
                if lookup && self.explain && self.timeline {
                    let why = if tainted_chromium {
                        Some("Chromium keys a tainted request (Origin: null) by a new opaque origin, so no cached result applies".to_string())
                    } else if !read_cache {
                        Some(cat([
                            "cache mode '",
                            mode.as_str(),
                            "' skips the preflight cache in Chromium (C4)",
                        ]))
                    } else if cache.len() > 0 {
                        Some(cache.why_not(
                            key_origin,
                            cur,
                            req.credentials,
                            prepared.method,
                            &prepared.unsafe_names,
                            force_method,
                            now,
                        ))
                    } else {
                        Some("it is empty".to_string())
                    };
                    if let Some(why) = why.filter(|w| w != "it allows the request") {
                        ev.step(
                            "HTTP fetch (R18)",
                            || cat(["the preflight cache does not allow this request: ", &why]),
                            true,
                        );
                    }
                }
                let cached = if lookup && read_cache && !tainted_chromium {
                    cache.lookup(
                        key_origin,
                        cur,
                        req.credentials,
                        prepared.method,
                        &prepared.unsafe_names,
                        force_method,
                        now,
                    )
                } else {
                    None
                };
                if let Some(hit) = &cached {
                    ev.step("HTTP fetch (R18)", || self.describe_hit(hit), true);
                }
                preflight_kind = match (needs_cors && cached.is_none(), pna.is_some()) {
                    (true, true) => Some(PreflightKind::CorsAndPna),
                    (true, false) => Some(PreflightKind::Cors),
                    (false, true) => Some(PreflightKind::Pna),
                    (false, false) => None,
                };
            }

            if let Some(kind) = preflight_kind {
                if ev.explain || !ev.preflight {
                    let headers = preflight_request_headers(&prepared, kind);
                    ev.step(
                        "CORS-preflight fetch (R20, R21)",
                        || {
                            let mut t = String::with_capacity(192 + cur.len());
                            t.push_str("OPTIONS ");
                            t.push_str(cur);
                            t.push_str(" with Origin: ");
                            t.push_str(origin_now);
                            t.push_str(", ");
                            let mut first = true;
                            for (k, v) in &headers {
                                if let Some(v) = v {
                                    if !first {
                                        t.push_str(", ");
                                    }
                                    first = false;
                                    t.push_str(k);
                                    t.push_str(": ");
                                    t.push_str(v);
                                }
                            }
                            t.push_str(" (no cookies)");
                            t
                        },
                        true,
                    );
                    if !ev.preflight {
                        ev.preflight = true;
                        ev.preflight_request_headers = Some(headers);
                    }
                }
                let wire = Wire {
                    preflight: Some(kind),
                    url: cur,
                    origin: Some(origin_now),
                    prep: &prepared,
                    credentials: false,
                };
                let Some(reply) = net.send(&wire) else {
                    ev.step(
                        "CORS-preflight fetch",
                        || "the server gave no answer to the preflight",
                        false,
                    );
                    let f = Failure::new(Reason::PreflightNoResponse, "");
                    let ev = ctx.fail(ev, Stage::Preflight, f, cur, origin_now, prepared.method);
                    return self.r19(ev, cache, preflight_path, origin_now, cur);
                };
                let key_origin = origin_now;
                let not_kept: Option<&'static str> = if !write_cache {
                    Some("Chromium stores nothing for cache mode 'no-store' (C4)")
                } else if chromium && hop.tainted {
                    Some("Chromium keys a tainted request (Origin: null) by a new opaque origin, so no other request can use it")
                } else {
                    None
                };
                let stored = match reply.response {
                    Cow::Borrowed(r) => self.on_preflight_answer(
                        &mut ev,
                        r,
                        Cow::Borrowed,
                        &prepared,
                        kind,
                        (&current, origin_now, key_origin, not_kept),
                        cache,
                    ),
                    Cow::Owned(r) => self.on_preflight_answer(
                        &mut ev,
                        &r,
                        |v: &str| Cow::Owned(v.to_string()),
                        &prepared,
                        kind,
                        (&current, origin_now, key_origin, not_kept),
                        cache,
                    ),
                };
                if let Err(f) = stored {
                    let ev = ctx.fail(ev, Stage::Preflight, f, cur, origin_now, prepared.method);
                    return self.r19(ev, cache, preflight_path, origin_now, cur);
                }
            }

            // Chromium sends a `ReadableStream` body only over HTTP/2 or QUIC; over HTTP/1.1
            // (always the case over plain http: no h2c) the request fails before it is sent
            // (observed with Chromium 156: the preflight goes out, then the actual request fails
            // with `net::ERR_ALPN_NEGOTIATION_FAILED`; `net/` names the rule
            // `ERR_H2_OR_QUIC_REQUIRED`).
            if chromium && prepared.body == Some(RequestBody::Stream) {
                let h1 = match self.protocol {
                    Some(p) => p == Protocol::Http1 || current.scheme() == "http",
                    None => current.scheme() != "https",
                };
                if h1 {
                    ev.step(
                        "Chromium: streaming upload",
                        || "a ReadableStream body needs HTTP/2 or QUIC; this server speaks HTTP/1.1",
                        false,
                    );
                    let f = Failure::new(Reason::H2OrQuicRequired, "");
                    let ev = ctx.fail(ev, Stage::Actual, f, cur, origin_now, prepared.method);
                    return self.r19(ev, cache, preflight_path, origin_now, cur);
                }
            }

            // The actual request.
            let origin_header = origin_header(&hop, page, &prepared, current.scheme());
            let credentials = req.credentials == CredentialsMode::Include
                || (req.credentials == CredentialsMode::SameOrigin && !hop.cors_tainting);
            let wire = Wire {
                preflight: None,
                url: cur,
                origin: origin_header,
                prep: &prepared,
                credentials,
            };
            let reply = net.send(&wire);
            set_origin_header(&mut ev, origin_header);
            let Some(reply) = reply else {
                break;
            };
            // The answer, and the same with the scenario's lifetime when it is recorded.
            let recorded: Option<&'s ScenarioResponse> = match &reply.response {
                Cow::Borrowed(r) => Some(*r),
                Cow::Owned(_) => None,
            };
            let answer: &ScenarioResponse = &reply.response;
            if hop.cors_tainting {
                // HTTP fetch step 4.x: every response, redirects included (R43, R46).
                match cors_check(origin_now, req.credentials, &answer.headers) {
                    Ok(()) => ev.step(
                        "CORS check (R38–R42)",
                        || {
                            cat([
                                "response ",
                                Num::new(answer.status.into()).as_str(),
                                " from ",
                                cur,
                                " passes the CORS check for origin ",
                                origin_now,
                            ])
                        },
                        true,
                    ),
                    Err(f) => {
                        ev.step(
                            "CORS check (R38–R42)",
                            || {
                                cat([
                                    "response ",
                                    Num::new(answer.status.into()).as_str(),
                                    " from ",
                                    cur,
                                    ": ",
                                    f.reason.code(),
                                ])
                            },
                            false,
                        );
                        if answer.status >= 400 {
                            ev.step(
                                "Hint", ||
                                cat(["the response is an error (", Num::new(answer.status.into()).as_str(), "); error responses often lack CORS headers, which hides the real error from the page"]),
                                false,);
                        }
                        let mut failed =
                            ctx.fail(ev, Stage::Actual, f, cur, origin_now, prepared.method);
                        if answer.status >= 400 {
                            if let Some(fix) = failed.fix.as_mut() {
                                *fix = cat([
                                    "The server answered ",
                                    Num::new(answer.status.into()).as_str(),
                                    " (an error) without CORS headers, so the browser hides the error from the page. Fix the error, and make the error path send the CORS headers too. ",
                                    fix,
                                ]);
                            }
                        }
                        return self.r19(failed, cache, preflight_path, origin_now, cur);
                    }
                }
            }
            if !reply.is_final && is_redirect_status(answer.status) {
                let method_before = prepared.method;
                let location: Option<Cow<'s, str>> = match recorded {
                    Some(r) => get(&r.headers, "location"),
                    None => get(&answer.headers, "location").map(|l| Cow::Owned(l.into_owned())),
                };
                let step = redirect_step(
                    page.tuple,
                    &current,
                    &mut hop,
                    &mut prepared,
                    answer.status,
                    location,
                );
                match step {
                    Ok(Some(next)) => {
                        ev.step(
                            "HTTP-redirect fetch (R47–R51)",
                            || {
                                let changed = prepared.method != method_before;
                                cat([
                                    Num::new(answer.status.into()).as_str(),
                                    " redirect to ",
                                    next.as_str(),
                                    if changed { "; method becomes " } else { "" },
                                    if changed { prepared.method } else { "" },
                                    if hop.tainted {
                                        "; the origin is now tainted: Origin: null"
                                    } else {
                                        ""
                                    },
                                ])
                            },
                            true,
                        );
                        current = next;
                        continue;
                    }
                    Ok(None) => {
                        ev.step(
                            "HTTP-redirect fetch (R47)",
                            || "redirect without Location: it is the response",
                            true,
                        );
                    }
                    Err(mut f) => {
                        let mut u = Cow::Borrowed(cur);
                        if behavior == Behavior::Chromium
                            && f.reason == Reason::UnsafeRedirect
                            && hop.mode == RequestMode::Cors
                        {
                            let target = f.detail.clone();
                            f = chromium_redirect_scheme(f);
                            if f.reason == Reason::CorsDisabledScheme {
                                // The console names the refused URL, "redirected from" the first.
                                u = Cow::Owned(target);
                            }
                        }
                        ev.step(
                            "HTTP-redirect fetch (R47, R48)",
                            || cat(["redirect refused: ", f.reason.code()]),
                            false,
                        );
                        let ev = ctx.fail(ev, Stage::Actual, f, &u, origin_now, prepared.method);
                        return self.r19(ev, cache, preflight_path, origin_now, cur);
                    }
                }
            }
            // The final response.
            ev.exposed_headers = if hop.cors_tainting {
                exposed_headers(req.credentials, &answer.headers)
            } else if req.mode == RequestMode::NoCors {
                Vec::new()
            } else {
                basic_exposed(&answer.headers)
            };
            if ev.explain {
                let names = &ev.exposed_headers;
                let mut readable = String::with_capacity(19 + joined_len(names, ", "));
                readable.push_str("script can read: [");
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        readable.push_str(", ");
                    }
                    readable.push_str(n);
                }
                readable.push(']');
                ev.step("Main fetch: filtered response (R44)", || readable, true);
            }
            return ev;
        }
        ev
    }

    /// Checks a preflight answer (R22–R30) and stores the result in the cache (R31), or
    /// returns the failure. `own` turns the answer's strings into cache strings (borrowed from
    /// a recorded scenario, copied from a live answer).
    #[allow(clippy::too_many_arguments)]
    fn on_preflight_answer<'r>(
        &self,
        ev: &mut Evaluation,
        answer: &'r ScenarioResponse,
        own: impl Fn(&'r str) -> Cow<'s, str>,
        prepared: &Prep<'s>,
        kind: PreflightKind,
        (current, origin_now, key_origin, not_kept): (&Loc<'s>, &str, &'s str, Option<&str>),
        cache: &mut Cache<'s>,
    ) -> Result<(), Failure>
    where
        's: 'r,
    {
        let view = ReqView {
            method: prepared.method,
            headers: &prepared.headers,
            unsafe_names: &prepared.unsafe_names,
            credentials: prepared.credentials,
            behavior: prepared.behavior,
            use_cors_preflight: prepared.use_cors_preflight,
        };
        let ok: OkRef<'_> = match check_preflight(
            &view,
            origin_now,
            answer.status,
            &answer.headers,
            kind,
            cache.cap(),
        ) {
            Ok(ok) => ok,
            Err(f) => {
                ev.step(
                    "CORS-preflight fetch step 7 (R22–R29)",
                    || {
                        cat([
                            "preflight answered ",
                            Num::new(answer.status.into()).as_str(),
                            ": ",
                            f.reason.code(),
                        ])
                    },
                    false,
                );
                return Err(f);
            }
        };
        ev.step(
            "CORS-preflight fetch step 7 (R23–R29)",
            || {
                let names = &prepared.unsafe_names;
                let mut t =
                    String::with_capacity(96 + prepared.method.len() + joined_len(names, ", "));
                t.push_str("preflight answered ");
                t.push_str(Num::new(answer.status.into()).as_str());
                t.push_str(" and passed: CORS check, ok status, method ");
                t.push_str(prepared.method);
                t.push_str(" and headers [");
                push_lower_joined(&mut t, names, ", ");
                t.push_str("] allowed");
                t
            },
            true,
        );
        if ok.authorization_covered_by_wildcard {
            ev.step(
                "C7 (Chromium)", ||
                "Authorization was allowed only because Chromium lets `*` in Access-Control-Allow-Headers cover it; the Fetch standard (and Firefox, Safari) reject this",
                true,);
        }
        let mut replaced = None;
        let store = kind != PreflightKind::Pna && not_kept.is_none();
        if store {
            replaced = cache.store(
                Cow::Borrowed(key_origin),
                url_key(current),
                self.req.credentials,
                ok.methods.iter().map(|m| own(m)),
                ok.header_names.iter().map(|h| own(h)),
                ok.max_age,
                self.now,
                self.number,
            );
        }
        ev.step(
            "CORS-preflight cache (R30, R31)",
            || {
                let secs = Num::new(ok.max_age);
                if !self.timeline {
                    return cat(["the result may be cached for ", secs.as_str(), " s"]);
                }
                                                if let Some(why) = not_kept.filter(|_| kind != PreflightKind::Pna) {
                    return cat(["the result is not kept: ", why, "; max-age ", secs.as_str(), " s"]);
                }
                if !store {
                    return cat(["the result may be cached for ", secs.as_str(), " s"]);
                }
                let until = Num::new(self.now.as_secs().saturating_add(ok.max_age));
                let mut t = cat([
                    "the result may be cached for ",
                    secs.as_str(),
                    " s, until t=",
                    until.as_str(),
                    " s",
                ]);
                if let Some(by) = replaced {
                    t.push_str(&format!(
                        "; it replaces the entry of {} (Chromium keeps one entry per origin and URL, C2)",
                        self.fetch_name(by)
                    ));
                }
                t
            },
            true,
        );
        Ok(())
    }

    /// "the preflight cache already allows this request", with where the entries came from.
    fn describe_hit(&self, hit: &Hit) -> String {
        if !self.timeline {
            return "the preflight cache already allows this request".to_string();
        }
        let mut t = String::with_capacity(96);
        t.push_str("preflight skipped: cached by ");
        for (i, &b) in hit.by.iter().enumerate() {
            if i > 0 {
                t.push_str(" and ");
            }
            t.push_str(&self.fetch_name(b));
        }
        if let Some(u) = hit.until {
            t.push_str(" until t=");
            t.push_str(Num::new(u.as_secs()).as_str());
            t.push_str(" s");
        }
        t
    }

    /// "earlier fetch #k", or this fetch.
    fn fetch_name(&self, by: u16) -> String {
        if by == self.number {
            "this fetch's own preflight (an earlier hop)".to_string()
        } else {
            cat(["earlier fetch #", Num::new(by.into()).as_str()])
        }
    }

    /// R19 / C5: what a network error of this fetch does to the preflight cache.
    fn r19(
        &self,
        mut ev: Evaluation,
        cache: &mut Cache<'s>,
        preflight_path: bool,
        origin: &str,
        url: &str,
    ) -> Evaluation {
        if !preflight_path {
            return ev;
        }
        let cleared = cache.on_network_error(origin, url);
        if self.timeline {
            let text = match self.behavior {
                Behavior::Spec => format!(
                    "the CORS-with-preflight fetch failed: the preflight cache entries for origin {origin} and {url} are cleared ({cleared})"
                ),
                Behavior::Chromium => "the fetch failed; Chromium keeps its preflight cache entries (C5)".to_string(),
            };
            ev.step("Main fetch (R19)", || text, true);
        }
        ev
    }
}

fn set_origin_header(ev: &mut Evaluation, origin: Option<&str>) {
    match (origin, ev.origin_header.as_mut()) {
        (Some(o), Some(s)) => {
            s.clear();
            s.push_str(o);
        }
        (Some(o), None) => ev.origin_header = Some(o.to_string()),
        (None, _) => ev.origin_header = None,
    }
}

/// Chromium's network service checks the scheme of a CORS-mode redirect against its
/// CORS-enabled schemes before the "unsafe redirect" check: `ftp:` fails as
/// `CorsDisabledScheme` (observed with Chromium 156: "Cross origin requests are only supported
/// for protocol schemes: ..."), while `data:` (CORS-enabled) stays `net::ERR_UNSAFE_REDIRECT`.
fn chromium_redirect_scheme(f: Failure) -> Failure {
    const CORS_ENABLED: &[&str] = &[
        "chrome",
        "chrome-experimental-site-token-provider",
        "chrome-extension",
        "chrome-untrusted",
        "data",
        "http",
        "https",
        "isolated-app",
    ];
    match Url::parse(&f.detail) {
        Ok(u) if !CORS_ENABLED.contains(&u.scheme()) => {
            Failure::new(Reason::CorsDisabledScheme, u.scheme())
        }
        _ => f,
    }
}

/// A response as it arrives: an HTTP parser strips leading and trailing whitespace (spaces
/// and tabs) from every field value, so a scenario's `" true"` is `"true"` to the browser
/// (observed with Chromium 156: `Access-Control-Allow-Credentials:  true2` is reported as
/// `'true2'`, an all-space `Access-Control-Allow-Origin` as the invalid value `''`). Borrowed
/// unless some value is padded.
fn on_the_wire(r: &ScenarioResponse) -> Cow<'_, ScenarioResponse> {
    let ws = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    let padded = r
        .headers
        .iter()
        .any(|h| ws(h.1.as_bytes().first()) || ws(h.1.as_bytes().last()));
    if !padded {
        return Cow::Borrowed(r);
    }
    let mut r = r.clone();
    for h in &mut r.headers {
        let v = h.1.trim_matches([' ', '\t']);
        if v.len() != h.1.len() {
            h.1 = v.to_string();
        }
    }
    Cow::Owned(r)
}

fn describe_prepared(ev: &mut Evaluation, written: &str, p: &Prep<'_>) {
    if written != p.method {
        ev.step(
            "Normalize method (R2)",
            || cat([written, " is sent as ", p.method]),
            true,
        );
    }
    for d in p.dropped_headers.iter() {
        ev.step(
            "Forbidden request-header (R4)",
            || cat([d, " is forbidden: fetch() drops it silently"]),
            true,
        );
    }
    for d in p.dropped_no_cors.iter() {
        ev.step(
            "no-cors guard (R14)",
            || cat([d, " is dropped in no-cors mode"]),
            true,
        );
    }
    if !p.unsafe_names.is_empty() {
        ev.step(
            "CORS-unsafe request-header names (R9–R11)",
            || {
                let mut t = String::with_capacity(16 + joined_len(&p.unsafe_names, ", "));
                t.push_str("not safelisted: ");
                push_lower_joined(&mut t, &p.unsafe_names, ", ");
                t
            },
            true,
        );
    }
}

fn preflight_request_headers(p: &Prep<'_>, kind: PreflightKind) -> PreflightRequestHeaders {
    let mut m = PreflightRequestHeaders::new();
    m.insert(
        "access-control-request-method".to_string(),
        Some(p.method.to_string()),
    );
    let acrh = if kind == PreflightKind::Pna {
        None
    } else {
        p.access_control_request_headers()
    };
    m.insert("access-control-request-headers".to_string(), acrh);
    if kind != PreflightKind::Cors {
        m.insert(
            "access-control-request-private-network".to_string(),
            Some("true".to_string()),
        );
    }
    m
}

/// "Append a request Origin header" (R45).
fn origin_header<'o>(hop: &Hop, page: Page<'o>, p: &Prep<'_>, url_scheme: &str) -> Option<&'o str> {
    let serialized = if hop.tainted { "null" } else { page.serialized };
    if hop.cors_tainting {
        return Some(serialized);
    }
    if p.method == "GET" || p.method == "HEAD" {
        return None;
    }
    if p.mode != RequestMode::Cors {
        // Default referrer policy strict-origin-when-cross-origin: https → non-https is null.
        if page.tuple.map(|t| t.scheme) == Some("https") && url_scheme != "https" {
            return Some("null");
        }
    }
    Some(serialized)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str, behavior: Behavior) -> Evaluation {
        let s: Scenario = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        evaluate(&s, behavior)
    }

    fn sc(
        method: &str,
        headers: &str,
        cred: &str,
        pre: &str,
        redirects: &str,
        resp: &str,
    ) -> String {
        format!(
            r#"{{"id":"t","request":{{"origin":"https://a.test","url":"https://b.test/x","method":"{method}","headers":{headers},"credentials":"{cred}","mode":"cors"}},"preflight_response":{pre},"redirects":{redirects},"response":{resp}}}"#
        )
    }

    fn reason(ev: &Evaluation) -> &'static str {
        ev.reason.map(|r| r.code()).unwrap_or("none")
    }

    #[test]
    fn reasons_and_messages() {
        let acao = |v: &str| {
            format!(r#"{{"status":200,"headers":[["Access-Control-Allow-Origin","{v}"]]}}"#)
        };
        let cases = [
            (
                acao("https://a.test, https://c.test"),
                "multiple_allow_origin_values",
            ),
            (acao(""), "invalid_allow_origin_value"),
            (acao("null"), "allow_origin_mismatch"),
            (acao("https://a.test/"), "allow_origin_mismatch"),
            (
                r#"{"status":200,"headers":[]}"#.to_string(),
                "missing_allow_origin_header",
            ),
        ];
        for (resp, code) in cases {
            let ev = run(
                &sc("GET", "[]", "omit", "null", "[]", &resp),
                Behavior::Chromium,
            );
            assert_eq!(reason(&ev), code, "{resp}");
        }
        let ev = run(
            &sc(
                "GET",
                "[]",
                "include",
                "null",
                "[]",
                &acao("https://a.test"),
            ),
            Behavior::Spec,
        );
        assert_eq!(reason(&ev), "invalid_allow_credentials");
        assert!(ev.message.as_deref().unwrap_or("").ends_with(
            "is '' which must be 'true' when the request's credentials mode is 'include'."
        ));
    }

    #[test]
    fn preflight_reasons_and_prefix() {
        let pre404 = r#"{"status":404,"headers":[["Access-Control-Allow-Origin","*"]]}"#;
        let ev = run(
            &sc("PUT", "[]", "omit", pre404, "[]", r#"{"status":200}"#),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "preflight_invalid_status");
        assert!(ev.message.as_deref().unwrap_or("").contains("Response to preflight request doesn't pass access control check: It does not have HTTP ok status."));
        let pre = r#"{"status":404,"headers":[]}"#;
        let ev = run(
            &sc("PUT", "[]", "omit", pre, "[]", r#"{"status":200}"#),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "preflight_missing_allow_origin_header");
        let pre =
            r#"{"status":302,"headers":[["Location","/y"],["Access-Control-Allow-Origin","*"]]}"#;
        let ev = run(
            &sc("PUT", "[]", "omit", pre, "[]", r#"{"status":200}"#),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "preflight_disallowed_redirect");
        let pre = r#"{"status":204,"headers":[["Access-Control-Allow-Origin","*"],["Access-Control-Allow-Methods","Bad value"]]}"#;
        let ev = run(
            &sc("patch", "[]", "omit", pre, "[]", r#"{"status":200}"#),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "invalid_allow_methods_preflight_response");
        assert!(!ev
            .message
            .as_deref()
            .unwrap_or("")
            .contains("Response to preflight"));
        let pre = r#"{"status":204,"headers":[["Access-Control-Allow-Origin","*"],["Access-Control-Allow-Methods","PATCH"]]}"#;
        let ev = run(
            &sc("patch", "[]", "omit", pre, "[]", r#"{"status":200}"#),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "method_disallowed_by_preflight_response");
        assert!(ev.message.as_deref().unwrap_or("").ends_with(
            "Method patch is not allowed by Access-Control-Allow-Methods in preflight response."
        ));
        let pre = r#"{"status":204,"headers":[["Access-Control-Allow-Origin","*"],["Access-Control-Allow-Headers","x-b"]]}"#;
        let ev = run(
            &sc(
                "GET",
                r#"[["X-Z","1"],["X-A","1"]]"#,
                "omit",
                pre,
                "[]",
                r#"{"status":200}"#,
            ),
            Behavior::Chromium,
        );
        assert!(ev
            .message
            .as_deref()
            .unwrap_or("")
            .contains("Request header field x-z is not allowed"));
    }

    #[test]
    fn redirect_messages() {
        let redirect = r#"[{"status":302,"headers":[["Access-Control-Allow-Origin","*"],["Location","https://c.test/y"]]}]"#;
        let resp = r#"{"status":200,"headers":[["Access-Control-Allow-Origin","https://a.test"]]}"#;
        let ev = run(
            &sc("GET", "[]", "omit", "null", redirect, resp),
            Behavior::Chromium,
        );
        assert_eq!(ev.origin_header.as_deref(), Some("null"));
        assert_eq!(ev.message.as_deref(), Some("Access to fetch at 'https://c.test/y' (redirected from 'https://b.test/x') from origin 'https://a.test' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'https://a.test' that is not equal to the supplied origin. Have the server send the header with a valid value."));
        let redirect = r#"[{"status":302,"headers":[["Access-Control-Allow-Origin","*"],["Location","https://u:p@c.test/y"]]}]"#;
        let ev = run(
            &sc("GET", "[]", "omit", "null", redirect, resp),
            Behavior::Chromium,
        );
        assert_eq!(reason(&ev), "redirect_contains_credentials");
    }

    /// A live-style server: each preflight gets its own answer and redirects are followed.
    struct Script(Vec<(bool, ScenarioResponse)>, Vec<Outgoing>);
    impl Server for Script {
        fn respond(&mut self, request: &Outgoing) -> Option<Answer> {
            self.1.push(request.clone());
            let i = self.0.iter().position(|(p, _)| *p == request.preflight)?;
            let (_, response) = self.0.remove(i);
            Some(Answer {
                response,
                is_final: false,
            })
        }
    }

    #[test]
    fn evaluate_with_sends_second_preflight_and_judges_its_own_answer() {
        let h = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let r = |status, headers| ScenarioResponse { status, headers };
        let mut server = Script(
            vec![
                (
                    true,
                    r(
                        204,
                        h(&[
                            ("Access-Control-Allow-Origin", "https://a.test"),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Allow-Methods", "PUT"),
                        ]),
                    ),
                ),
                (
                    false,
                    r(
                        307,
                        h(&[
                            ("Access-Control-Allow-Origin", "https://a.test"),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Location", "https://c.test/y"),
                        ]),
                    ),
                ),
                // The second preflight comes from origin null and is refused.
                (
                    true,
                    r(
                        204,
                        h(&[
                            ("Access-Control-Allow-Origin", "https://a.test"),
                            ("Access-Control-Allow-Credentials", "true"),
                            ("Access-Control-Allow-Methods", "PUT"),
                        ]),
                    ),
                ),
            ],
            Vec::new(),
        );
        let req = super::super::scenario::ScenarioRequest {
            origin: "https://a.test".into(),
            url: "https://b.test/x".into(),
            method: "PUT".into(),
            headers: vec![],
            credentials: CredentialsMode::Include,
            mode: RequestMode::Cors,
            pna: None,
            body: None,
            cache: None,
        };
        let ev = evaluate_with(&req, Behavior::Chromium, &mut server);
        let sent = &server.1;
        assert_eq!(sent.len(), 3);
        assert!(sent[0].preflight && !sent[0].credentials);
        assert!(sent[1].credentials && !sent[1].preflight);
        assert!(sent[2].preflight);
        assert_eq!(sent[2].url, "https://c.test/y");
        assert!(sent[2].headers.contains(&("Origin".into(), "null".into())));
        assert_eq!(reason(&ev), "preflight_allow_origin_mismatch");
    }

    #[test]
    fn forbidden_method_thrown() {
        let ev = run(
            &sc("TRACE", "[]", "omit", "null", "[]", r#"{"status":200}"#),
            Behavior::Spec,
        );
        assert_eq!(reason(&ev), "forbidden_method");
        assert_eq!(ev.failure_stage, Some(Stage::Request));
        assert!(!ev.preflight);
    }
}
