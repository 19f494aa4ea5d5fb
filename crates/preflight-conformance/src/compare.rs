//! What Chromium did (server log, `fetch()` result, CDP events, console) per scenario, and the
//! field-by-field comparison with the model.

use std::collections::{BTreeMap, HashMap};

use preflight::browser::{Evaluation, Outcome, PreflightRequestHeaders, Stage};
use serde::Serialize;
use serde_json::{json, Value};

use crate::rewrite::Plan;
use crate::server::Server;

/// Chromium's observed behaviour for one scenario (URLs mapped back to the scenario's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Observed {
    /// A preflight reached the server.
    pub preflight: bool,
    /// The first preflight's `Access-Control-Request-*` headers as the server saw them.
    pub preflight_request_headers: Option<PreflightRequestHeaders>,
    /// `ok` when `fetch()` resolved.
    pub outcome: Option<Outcome>,
    /// Derived from the CDP reason and the server log.
    pub failure_stage: Option<Stage>,
    /// `[...response.headers.keys()]`.
    pub exposed_headers: Vec<String>,
    /// `Origin` on the last non-preflight request the server saw.
    pub origin_header: Option<String>,
    /// CDP `Network.loadingFailed.corsErrorStatus.corsError`.
    pub cors_error: Option<String>,
    /// CDP `corsErrorStatus.failedParameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_parameter: Option<String>,
    /// CDP `errorText` (`net::ERR_...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_error: Option<String>,
    /// Chromium's console line for the failure.
    pub console: Option<String>,
    /// The status script saw, when ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u64>,
    /// The response type (`cors`, `basic`, `opaque`), when ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    /// What `fetch()` threw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub js_error: Option<String>,
    /// Requests the server saw: `METHOD hop [preflight] origin` (`fetch.hop` in a sequence).
    pub requests: Vec<String>,
    /// The earlier fetches of a sequence, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<EarlierObserved>,
}

/// What an earlier fetch of a sequence did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EarlierObserved {
    /// A preflight reached the server.
    pub preflight: bool,
    /// `ok` when its `fetch()` resolved.
    pub outcome: Option<Outcome>,
}

/// CorsError names that are preflight-stage failures.
fn preflight_class(e: &str) -> bool {
    e.starts_with("Preflight")
        || matches!(
            e,
            "InvalidAllowMethodsPreflightResponse"
                | "InvalidAllowHeadersPreflightResponse"
                | "MethodDisallowedByPreflightResponse"
                | "HeaderDisallowedByPreflightResponse"
        )
}

/// Chromium's `network::mojom::CorsError` names the model's codes can map to.
const CORS_ERRORS: &[&str] = &[
    "DisallowedByMode",
    "InvalidResponse",
    "WildcardOriginNotAllowed",
    "MissingAllowOriginHeader",
    "MultipleAllowOriginValues",
    "InvalidAllowOriginValue",
    "AllowOriginMismatch",
    "InvalidAllowCredentials",
    "CorsDisabledScheme",
    "PreflightInvalidStatus",
    "PreflightDisallowedRedirect",
    "PreflightWildcardOriginNotAllowed",
    "PreflightMissingAllowOriginHeader",
    "PreflightMultipleAllowOriginValues",
    "PreflightInvalidAllowOriginValue",
    "PreflightAllowOriginMismatch",
    "PreflightInvalidAllowCredentials",
    "PreflightMissingAllowPrivateNetwork",
    "PreflightInvalidAllowPrivateNetwork",
    "InvalidAllowMethodsPreflightResponse",
    "InvalidAllowHeadersPreflightResponse",
    "MethodDisallowedByPreflightResponse",
    "HeaderDisallowedByPreflightResponse",
    "RedirectContainsCredentials",
    "InsecurePrivateNetwork",
];

/// `missing_allow_origin_header` → `MissingAllowOriginHeader`.
pub fn camel(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Builds the observations from the page results, the server log and the CDP events.
pub fn collect(plan: &Plan, srv: &Server, results: Vec<Value>, events: &[Value]) -> Vec<Observed> {
    let n = plan.cases.len();
    // Sequences: the fetch being made per case (announced by its control request), and the
    // fetch each request belongs to. Only the last fetch's events describe the scenario.
    let mut current: Vec<usize> = vec![0; n];
    let mut request_fetch: HashMap<String, usize> = HashMap::new();
    let last = |i: usize| plan.cases.get(i).map_or(1, |c| c.fetches);
    let seq = |i: usize| plan.cases.get(i).is_some_and(|c| c.js.get("seq").is_some());
    let mut first_url: HashMap<String, String> = HashMap::new();
    let mut seen_request = vec![false; n];
    let mut failures: Vec<Vec<Value>> = vec![Vec::new(); n];
    let mut console: Vec<Vec<String>> = vec![Vec::new(); n];
    for e in events {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or("") {
            "Network.requestWillBeSent" => {
                let id = p["requestId"].as_str().unwrap_or("").to_string();
                let url = p["request"]["url"].as_str().unwrap_or("").to_string();
                if let Some((i, f)) = plan.ctl_of(&url) {
                    current[i] = f;
                    continue;
                }
                if let Some(i) = plan.index_of(&url) {
                    let f = *request_fetch.entry(id.clone()).or_insert(current[i]);
                    if !seq(i) || f == last(i) {
                        seen_request[i] = true;
                    }
                }
                first_url.entry(id).or_insert(url);
            }
            "Network.loadingFailed" => {
                let id = p["requestId"].as_str().unwrap_or("");
                if let Some(i) = first_url.get(id).and_then(|u| plan.index_of(u)) {
                    if !seq(i) || request_fetch.get(id) == Some(&last(i)) {
                        failures[i].push(p.clone());
                    }
                }
            }
            "Log.entryAdded" => {
                let entry = &p["entry"];
                let text = entry["text"].as_str().unwrap_or("");
                let url = entry["url"].as_str().unwrap_or("");
                let i = plan.index_of(url).or_else(|| plan.index_in_text(text));
                if let Some(i) = i.filter(|&i| !seq(i) || current[i] == last(i)) {
                    if !text.starts_with("Failed to load resource") {
                        console[i].push(text.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, r) in results.into_iter().enumerate() {
        let all_hits = srv.take_log(i);
        let before: Vec<EarlierObserved> = if seq(i) {
            (1..last(i))
                .map(|f| EarlierObserved {
                    preflight: all_hits.iter().any(|h| h.fetch == f && h.preflight),
                    outcome: r["before"]
                        .get(f - 1)
                        .and_then(|b| b["ok"].as_bool())
                        .map(|ok| {
                            if ok {
                                Outcome::Ok
                            } else {
                                Outcome::NetworkError
                            }
                        }),
                })
                .collect()
        } else {
            Vec::new()
        };
        let requests = all_hits
            .iter()
            .map(|h| {
                format!(
                    "{} #{}{}{} origin={}",
                    h.method,
                    if h.fetch > 0 {
                        format!("{}.", h.fetch)
                    } else {
                        String::new()
                    },
                    h.hop,
                    if h.preflight { " preflight" } else { "" },
                    h.origin
                        .as_deref()
                        .map(|x| plan.back(i, x))
                        .unwrap_or("-".into())
                )
            })
            .collect();
        let hits: Vec<_> = all_hits
            .into_iter()
            .filter(|h| !seq(i) || h.fetch == last(i))
            .collect();
        let mut o = Observed {
            requests,
            before,
            ..Observed::default()
        };
        if let Some(h) = hits.iter().find(|h| h.preflight) {
            o.preflight = true;
            let mut m: BTreeMap<String, Option<String>> = BTreeMap::new();
            m.insert("access-control-request-method".into(), None);
            m.insert("access-control-request-headers".into(), None);
            for (k, v) in &h.acr {
                m.insert(k.clone(), Some(v.clone()));
            }
            o.preflight_request_headers = Some(m);
        }
        o.origin_header = hits
            .iter()
            .rev()
            .find(|h| !h.preflight)
            .and_then(|h| h.origin.as_deref().map(|x| plan.back(i, x)));
        // Prefer the failure that carries a CORS reason, and the actual request's over the
        // preflight's.
        let fail = failures[i]
            .iter()
            .find(|f| f["corsErrorStatus"].is_object())
            .or(failures[i].first());
        if let Some(f) = fail {
            o.cors_error = f["corsErrorStatus"]["corsError"].as_str().map(String::from);
            o.failed_parameter = f["corsErrorStatus"]["failedParameter"]
                .as_str()
                .map(|x| plan.back(i, x));
            o.net_error = f["errorText"].as_str().map(String::from);
        }
        o.console = console[i]
            .iter()
            .find(|t| t.contains("CORS policy") || t.contains("Redirect location"))
            .or(console[i].first())
            .map(|t| plan.back(i, t));
        if r["ok"].as_bool() == Some(true) {
            o.outcome = Some(Outcome::Ok);
            o.status = r["status"].as_u64();
            o.response_type = r["type"].as_str().map(String::from);
            let mut hs: Vec<String> = r["headers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            hs.sort();
            o.exposed_headers = hs;
        } else {
            o.outcome = r["ok"].as_bool().map(|_| Outcome::NetworkError);
            o.js_error = r["error"].as_str().map(String::from);
            // A stream body over HTTP/1.1 fails on the actual request, before it reaches the
            // server (after a preflight that passed).
            let stream_h1 = o.net_error.as_deref().is_some_and(|e| {
                e == "net::ERR_ALPN_NEGOTIATION_FAILED" || e == "net::ERR_H2_OR_QUIC_REQUIRED"
            });
            o.failure_stage = Some(match o.cors_error.as_deref() {
                None if stream_h1 => Stage::Actual,
                _ if hits.is_empty() && !seen_request[i] => Stage::Request,
                Some(e) if preflight_class(e) => Stage::Preflight,
                Some(_) => Stage::Actual,
                None if hits.is_empty() && !seen_request[i] => Stage::Request,
                None if hits.is_empty() => Stage::Actual,
                None if hits.last().is_some_and(|h| h.preflight) => Stage::Preflight,
                None => Stage::Actual,
            });
        }
        out.push(o);
    }
    out
}

/// The model's fields, as printed next to a disagreement.
pub fn model_json(ev: &Evaluation) -> Value {
    json!({
        "preflight": ev.preflight,
        "preflight_request_headers": ev.preflight_request_headers,
        "outcome": ev.outcome,
        "failure_stage": ev.failure_stage,
        "exposed_headers": ev.exposed_headers,
        "origin_header": ev.origin_header,
                "reason": ev.reason.map(|r| r.code()),
        "message": ev.message,
        "before": ev.before.iter().map(|b| json!({
            "preflight": b.preflight,
            "outcome": b.outcome,
            "reason": b.reason.map(|r| r.code()),
        })).collect::<Vec<_>>(),
    })
}

/// The names of the fields where `model` and `obs` disagree.
pub fn compare(model: &Evaluation, obs: &Observed, request_names: &[String]) -> Vec<&'static str> {
    let mut m = Vec::new();
    if obs.outcome.is_none() {
        m.push("no_result");
        return m;
    }
    if model.preflight != obs.preflight {
        m.push("preflight");
    } else if model.preflight {
        let norm = |h: &Option<PreflightRequestHeaders>| -> BTreeMap<String, String> {
            h.iter()
                .flatten()
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                .collect()
        };
        if norm(&model.preflight_request_headers) != norm(&obs.preflight_request_headers) {
            m.push("preflight_request_headers");
        }
    }
    if Some(model.outcome) != obs.outcome {
        m.push("outcome");
    }
    if model.failure_stage != obs.failure_stage {
        m.push("failure_stage");
    }
    if model.outcome == Outcome::Ok && model.exposed_headers != obs.exposed_headers {
        m.push("exposed_headers");
    }
    if model.origin_header != obs.origin_header {
        m.push("origin_header");
    }
    // The earlier fetches of a sequence: whether each preflighted, and how it ended.
    if model.before.len() != obs.before.len() {
        m.push("before");
    }
    for (e, o) in model.before.iter().zip(&obs.before) {
        if e.preflight != o.preflight {
            m.push("before.preflight");
        }
        if Some(e.outcome) != o.outcome {
            m.push("before.outcome");
        }
    }
    // Failures before anything is sent are thrown by fetch() in the renderer (Blink), which
    // reports no CDP corsError (observed: mode 'same-origin' cross-origin, an ftp: URL).
    let want = model
        .reason
        .map(|r| camel(r.code()))
        .filter(|c| CORS_ERRORS.contains(&c.as_str()))
        .filter(|_| model.failure_stage != Some(Stage::Request));
    if model.outcome == Outcome::NetworkError && want != obs.cors_error {
        m.push("reason");
    }
    if obs.cors_error.is_some()
        && model.message != obs.console
        && !same_but_header_order(model, obs, request_names)
    {
        m.push("message");
    }
    m
}

/// With several disallowed request headers, which one Chromium names follows the iteration
/// order of Blink's request header map (a hash table: observed with Chromium 156, `X-B, X-A`
/// names `x-a`, `zz, Range: bytes=-5` names `zz`, `Content-Type: text/html, Accept: <129 bytes>`
/// names `accept`), which is neither request order nor sorted order and which the model does
/// not reproduce. The message agrees when it differs only in naming another of the request's
/// headers.
fn same_but_header_order(model: &Evaluation, obs: &Observed, request_names: &[String]) -> bool {
    const A: &str = "Request header field ";
    const B: &str = " is not allowed by Access-Control-Allow-Headers";
    let name = |t: &str| -> Option<String> {
        let start = t.find(A)? + A.len();
        let end = t[start..].find(B)? + start;
        Some(t[start..end].to_string())
    };
    let (Some(mm), Some(oo)) = (model.message.as_deref(), obs.console.as_deref()) else {
        return false;
    };
    match (name(mm), name(oo)) {
        (Some(a), Some(b)) => {
            request_names.contains(&b)
                && mm.replace(&format!("{A}{a}{B}"), &format!("{A}{b}{B}")) == oo
        }
        _ => false,
    }
}
