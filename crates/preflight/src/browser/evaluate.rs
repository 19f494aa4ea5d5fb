//! [`evaluate`]: the whole model on one [`Scenario`].

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::cache::PreflightCache;
use super::reason::{Failure, Reason};
use super::redirect::{follow_redirect, RedirectState};
use super::request::{prepare, PreparedRequest, RequestInit};
use super::response::{
    basic_exposed, check_preflight_response, cors_check, exposed_headers, is_redirect_status,
    PreflightKind,
};
use super::safelist::is_cors_safelisted_method;
use super::scenario::{Outcome, PreflightRequestHeaders, Scenario, ScenarioResponse, Stage};
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
    /// Whether steps, message and fix are built.
    #[serde(skip)]
    explain: bool,
}

impl Evaluation {
    fn new() -> Self {
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
            steps: Vec::new(),
            explain: true,
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

/// A [`Server`] replaying a [`Scenario`]'s recorded answers.
struct Recorded<'a> {
    preflight: Option<&'a ScenarioResponse>,
    answers: std::iter::Chain<
        std::slice::Iter<'a, ScenarioResponse>,
        std::iter::Once<&'a ScenarioResponse>,
    >,
    last: &'a ScenarioResponse,
}

impl Server for Recorded<'_> {
    fn respond(&mut self, request: &Outgoing) -> Option<Answer> {
        if request.preflight {
            return self.preflight.map(|r| Answer {
                response: r.clone(),
                is_final: true,
            });
        }
        let r = self.answers.next()?;
        Some(Answer {
            response: r.clone(),
            is_final: std::ptr::eq(r, self.last),
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

/// Runs a recorded scenario: its answers, header values trimmed as the wire does.
fn replay(scenario: &Scenario, behavior: Behavior, explain: bool) -> Evaluation {
    let scenario = &*on_the_wire(scenario);
    let redirects: &[ScenarioResponse] = scenario.redirects.as_deref().unwrap_or(&[]);
    let mut server = Recorded {
        preflight: scenario
            .preflight_response
            .as_ref()
            .and_then(|p| p.as_ref()),
        answers: redirects.iter().chain(std::iter::once(&scenario.response)),
        last: &scenario.response,
    };
    run(&scenario.request, behavior, &mut server, explain)
}

/// Runs the model on `req` under `behavior`, asking `server` for each answer: the preflight
/// (and the new preflight after a redirect, R52), the actual request and each redirect hop.
/// This is how a live client acts as a browser: every decision (what to send, whether to
/// preflight, what to check, where to go next) is the model's; `server` only does IO.
/// Never panics.
pub fn evaluate_with(
    req: &super::scenario::ScenarioRequest,
    behavior: Behavior,
    server: &mut impl Server,
) -> Evaluation {
    run(req, behavior, server, true)
}

fn run(
    req: &super::scenario::ScenarioRequest,
    behavior: Behavior,
    server: &mut impl Server,
    explain: bool,
) -> Evaluation {
    let mut ev = Evaluation::new();
    ev.explain = explain;
    let ctx = Ctx {
        page_origin: &req.origin,
        initial_url: &req.url,
        credentials: req.credentials,
    };
    let origin = match Origin::parse(&req.origin) {
        Ok(o) => o,
        Err(e) => {
            let f = Failure::new(Reason::InvalidScenario, format!("origin: {e}"));
            return ctx.fail(ev, Stage::Request, f, &req.url, &req.origin, &req.method);
        }
    };
    let url = match Url::parse(&req.url) {
        Ok(u) => u,
        Err(e) => {
            let f = Failure::new(Reason::InvalidScenario, format!("url: {e}"));
            return ctx.fail(ev, Stage::Request, f, &req.url, &req.origin, &req.method);
        }
    };
    let ctx = Ctx {
        initial_url: url.as_str(),
        ..ctx
    };

    // fetch(): the Request constructor and the Headers class.
    let init = RequestInit {
        method: &req.method,
        headers: &req.headers,
        credentials: req.credentials,
        mode: req.mode,
    };
    let mut prepared = match prepare(&init, behavior) {
        Ok(p) => p,
        Err(f) => {
            ev.step(
                "Request constructor (R3, R5, R14)",
                || format!("fetch() throws a TypeError: {}", f.reason.code()),
                false,
            );
            return ctx.fail(
                ev,
                Stage::Request,
                f,
                url.as_str(),
                origin.as_str(),
                &req.method,
            );
        }
    };
    describe_prepared(&mut ev, &req.method, &prepared);

    let mut cache = PreflightCache::new(behavior);
    let now = Duration::ZERO;
    let mut state = RedirectState::new(origin.clone(), url.clone(), req.mode);

    while let Some(current) = state.current_url().cloned() {
        let cur = current.as_str();
        // Main fetch (R16): which path?
        let same_origin = origin.is_same_origin(&Origin::from_url(&current));
        let mut preflight_kind: Option<PreflightKind> = None;
        if same_origin && !state.cors_tainting {
            ev.step(
                "Main fetch (R16)",
                || format!("{cur} is same-origin with the page: not a CORS request"),
                true,
            );
        } else if req.mode == RequestMode::SameOrigin {
            ev.step(
                "Main fetch (R16)",
                || "mode 'same-origin' to another origin",
                false,
            );
            let f = Failure::new(Reason::DisallowedByMode, "");
            return ctx.fail(
                ev,
                Stage::Request,
                f,
                cur,
                state.serialized_origin(),
                &prepared.method,
            );
        } else if req.mode == RequestMode::NoCors {
            ev.step(
                "Main fetch (R16)",
                || "mode 'no-cors': the response will be opaque (status 0, no headers, no body)",
                true,
            );
        } else if current.scheme() != "http" && current.scheme() != "https" {
            ev.step(
                "Main fetch (R16)",
                || {
                    format!(
                        "scheme '{}' cannot be fetched cross-origin",
                        current.scheme()
                    )
                },
                false,
            );
            let f = Failure::new(Reason::CorsDisabledScheme, current.scheme());
            return ctx.fail(
                ev,
                Stage::Request,
                f,
                cur,
                state.serialized_origin(),
                &prepared.method,
            );
        } else {
            state.cors_tainting = true;
            let needs_cors = prepared.needs_preflight();
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
                    return ctx.fail(
                        ev,
                        Stage::Request,
                        f,
                        cur,
                        state.serialized_origin(),
                        &prepared.method,
                    );
                }
                ev.step(
                    "PNA (R58, legacy)", ||
                    format!(
                        "private network request ({} → {}): a preflight with Access-Control-Request-Private-Network is required",
                        p.client_address_space.as_str(),
                        p.target_address_space.as_str()
                    ),
                    true,);
            }
            ev.step(
                "Main fetch (R17)",
                || {
                    if needs_cors {
                        format!(
                            "CORS-with-preflight: method {} {}safelisted, unsafe headers [{}]",
                            prepared.method,
                            if is_cors_safelisted_method(&prepared.method) {
                                "is "
                            } else {
                                "is not "
                            },
                            prepared.unsafe_header_names.join(", ")
                        )
                    } else {
                        "simple request: safelisted method and headers, no preflight needed"
                            .to_string()
                    }
                },
                true,
            );
            let cached = needs_cors
                && pna.is_none()
                && cache.lookup(
                    state.serialized_origin(),
                    cur,
                    req.credentials,
                    &prepared.method,
                    &prepared.unsafe_header_names,
                    now,
                );
            if cached {
                ev.step(
                    "HTTP fetch (R18)",
                    || "the preflight cache already allows this request",
                    true,
                );
            }
            preflight_kind = match (needs_cors && !cached, pna.is_some()) {
                (true, true) => Some(PreflightKind::CorsAndPna),
                (true, false) => Some(PreflightKind::Cors),
                (false, true) => Some(PreflightKind::Pna),
                (false, false) => None,
            };
        }

        if let Some(kind) = preflight_kind {
            let headers = preflight_request_headers(&prepared, kind);
            ev.step(
                "CORS-preflight fetch (R20, R21)",
                || {
                    format!(
                        "OPTIONS {cur} with Origin: {}, {} (no cookies)",
                        state.serialized_origin(),
                        headers
                            .iter()
                            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                true,
            );
            if !ev.preflight {
                ev.preflight = true;
                ev.preflight_request_headers = Some(headers);
            }
            let mut sent = vec![("Origin".to_string(), state.serialized_origin().to_string())];
            sent.extend(prepared.preflight_headers().into_iter().filter(|(n, _)| {
                kind != PreflightKind::Pna
                    || !n.eq_ignore_ascii_case("access-control-request-headers")
            }));
            if kind != PreflightKind::Cors {
                sent.push((
                    "Access-Control-Request-Private-Network".to_string(),
                    "true".to_string(),
                ));
            }
            let outgoing = Outgoing {
                preflight: true,
                method: "OPTIONS".to_string(),
                url: cur.to_string(),
                headers: sent,
                credentials: false,
            };
            let Some(Answer {
                response: answer, ..
            }) = server.respond(&outgoing)
            else {
                ev.step(
                    "CORS-preflight fetch",
                    || "the server gave no answer to the preflight",
                    false,
                );
                let f = Failure::new(Reason::PreflightNoResponse, "");
                return ctx.fail(
                    ev,
                    Stage::Preflight,
                    f,
                    cur,
                    state.serialized_origin(),
                    &prepared.method,
                );
            };
            match check_preflight_response(
                &prepared,
                state.serialized_origin(),
                answer.status,
                &answer.headers,
                kind,
                cache.max_age_cap(),
            ) {
                Ok(ok) => {
                    ev.step(
                        "CORS-preflight fetch step 7 (R23–R29)", ||
                        format!(
                            "preflight answered {} and passed: CORS check, ok status, method {} and headers [{}] allowed",
                            answer.status,
                            prepared.method,
                            prepared.unsafe_header_names.join(", ")
                        ),
                        true,);
                    if ok.authorization_covered_by_wildcard {
                        ev.step(
                            "C7 (Chromium)", ||
                            "Authorization was allowed only because Chromium lets `*` in Access-Control-Allow-Headers cover it; the Fetch standard (and Firefox, Safari) reject this",
                            true,);
                    }
                    ev.step(
                        "CORS-preflight cache (R30, R31)",
                        || format!("the result may be cached for {} s", ok.max_age),
                        true,
                    );
                    if kind != PreflightKind::Pna {
                        cache.store(state.serialized_origin(), cur, req.credentials, &ok, now);
                    }
                }
                Err(f) => {
                    ev.step(
                        "CORS-preflight fetch step 7 (R22–R29)",
                        || format!("preflight answered {}: {}", answer.status, f.reason.code()),
                        false,
                    );
                    return ctx.fail(
                        ev,
                        Stage::Preflight,
                        f,
                        cur,
                        state.serialized_origin(),
                        &prepared.method,
                    );
                }
            }
        }

        // The actual request.
        ev.origin_header = origin_header(&state, &prepared, &current);
        let mut sent = prepared.headers.clone();
        if let Some(o) = &ev.origin_header {
            sent.push(("Origin".to_string(), o.clone()));
        }
        let outgoing = Outgoing {
            preflight: false,
            method: prepared.method.clone(),
            url: cur.to_string(),
            headers: sent,
            credentials: req.credentials == CredentialsMode::Include
                || (req.credentials == CredentialsMode::SameOrigin && !state.cors_tainting),
        };
        let Some(Answer {
            response: answer,
            is_final,
        }) = server.respond(&outgoing)
        else {
            break;
        };
        let answer = &answer;
        if state.cors_tainting {
            // HTTP fetch step 4.x: every response, redirects included (R43, R46).
            match cors_check(state.serialized_origin(), req.credentials, &answer.headers) {
                Ok(()) => ev.step(
                    "CORS check (R38–R42)",
                    || {
                        format!(
                            "response {} from {cur} passes the CORS check for origin {}",
                            answer.status,
                            state.serialized_origin()
                        )
                    },
                    true,
                ),
                Err(f) => {
                    ev.step(
                        "CORS check (R38–R42)",
                        || format!("response {} from {cur}: {}", answer.status, f.reason.code()),
                        false,
                    );
                    if answer.status >= 400 {
                        ev.step(
                            "Hint", ||
                            format!("the response is an error ({}); error responses often lack CORS headers, which hides the real error from the page", answer.status),
                            false,);
                    }
                    let mut failed = ctx.fail(
                        ev,
                        Stage::Actual,
                        f,
                        cur,
                        state.serialized_origin(),
                        &prepared.method,
                    );
                    if answer.status >= 400 {
                        if let Some(fix) = failed.fix.as_mut() {
                            *fix = format!(
                                "The server answered {} (an error) without CORS headers, so the browser hides the error from the page. Fix the error, and make the error path send the CORS headers too. {fix}",
                                answer.status
                            );
                        }
                    }
                    return failed;
                }
            }
        }
        if !is_final && is_redirect_status(answer.status) {
            let method_before = prepared.method.clone();
            match follow_redirect(&mut state, &mut prepared, answer.status, &answer.headers) {
                Ok(Some(next)) => {
                    ev.step(
                        "HTTP-redirect fetch (R47–R51)",
                        || {
                            format!(
                                "{} redirect to {next}{}{}",
                                answer.status,
                                if prepared.method != method_before {
                                    format!("; method becomes {}", prepared.method)
                                } else {
                                    String::new()
                                },
                                if state.tainted {
                                    "; the origin is now tainted: Origin: null"
                                } else {
                                    ""
                                }
                            )
                        },
                        true,
                    );
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
                    let mut u = cur.to_string();
                    if behavior == Behavior::Chromium
                        && f.reason == Reason::UnsafeRedirect
                        && state.mode == RequestMode::Cors
                    {
                        let target = f.detail.clone();
                        f = chromium_redirect_scheme(f);
                        if f.reason == Reason::CorsDisabledScheme {
                            // The console names the refused URL, "redirected from" the first.
                            u = target;
                        }
                    }
                    ev.step(
                        "HTTP-redirect fetch (R47, R48)",
                        || format!("redirect refused: {}", f.reason.code()),
                        false,
                    );
                    return ctx.fail(
                        ev,
                        Stage::Actual,
                        f,
                        &u,
                        state.serialized_origin(),
                        &prepared.method,
                    );
                }
            }
        }
        // The final response.
        ev.exposed_headers = if state.cors_tainting {
            exposed_headers(req.credentials, &answer.headers)
        } else if req.mode == RequestMode::NoCors {
            Vec::new()
        } else {
            basic_exposed(&answer.headers)
        };
        let readable = if ev.explain {
            format!("script can read: [{}]", ev.exposed_headers.join(", "))
        } else {
            String::new()
        };
        ev.step("Main fetch: filtered response (R44)", || readable, true);
        return ev;
    }
    ev
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

/// Header values as they arrive: an HTTP parser strips leading and trailing whitespace (spaces
/// and tabs) from every field value, so a scenario's `" true"` is `"true"` to the browser
/// (observed with Chromium 156: `Access-Control-Allow-Credentials:  true2` is reported as
/// `'true2'`, an all-space `Access-Control-Allow-Origin` as the invalid value `''`).
fn on_the_wire(s: &Scenario) -> std::borrow::Cow<'_, Scenario> {
    let padded = |r: &ScenarioResponse| {
        r.headers
            .iter()
            .any(|h| h.1.starts_with([' ', '\t']) || h.1.ends_with([' ', '\t']))
    };
    let any = s.preflight_response.iter().flatten().any(padded)
        || s.redirects.iter().flatten().any(padded)
        || padded(&s.response);
    if !any {
        return std::borrow::Cow::Borrowed(s);
    }
    let trim = |r: &mut ScenarioResponse| {
        for h in &mut r.headers {
            let v = h.1.trim_matches([' ', '\t']);
            if v.len() != h.1.len() {
                h.1 = v.to_string();
            }
        }
    };
    let mut s = s.clone();
    if let Some(Some(p)) = s.preflight_response.as_mut() {
        trim(p);
    }
    for r in s.redirects.iter_mut().flatten() {
        trim(r);
    }
    trim(&mut s.response);
    std::borrow::Cow::Owned(s)
}

fn describe_prepared(ev: &mut Evaluation, written: &str, p: &PreparedRequest) {
    if written != p.method {
        ev.step(
            "Normalize method (R2)",
            || format!("{written} is sent as {}", p.method),
            true,
        );
    }
    for d in &p.dropped_headers {
        ev.step(
            "Forbidden request-header (R4)",
            || format!("{d} is forbidden: fetch() drops it silently"),
            true,
        );
    }
    for d in &p.dropped_no_cors {
        ev.step(
            "no-cors guard (R14)",
            || format!("{d} is dropped in no-cors mode"),
            true,
        );
    }
    if !p.unsafe_header_names.is_empty() {
        ev.step(
            "CORS-unsafe request-header names (R9–R11)",
            || format!("not safelisted: {}", p.unsafe_header_names.join(", ")),
            true,
        );
    }
}

fn preflight_request_headers(p: &PreparedRequest, kind: PreflightKind) -> PreflightRequestHeaders {
    let mut m = PreflightRequestHeaders::new();
    m.insert(
        "access-control-request-method".to_string(),
        Some(p.method.clone()),
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
fn origin_header(state: &RedirectState, p: &PreparedRequest, url: &Url) -> Option<String> {
    let serialized = state.serialized_origin();
    if state.cors_tainting {
        return Some(serialized.to_string());
    }
    if p.method == "GET" || p.method == "HEAD" {
        return None;
    }
    if p.mode != RequestMode::Cors {
        // Default referrer policy strict-origin-when-cross-origin: https → non-https is null.
        if state.origin.scheme() == Some("https") && url.scheme() != "https" {
            return Some("null".to_string());
        }
    }
    Some(serialized.to_string())
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
