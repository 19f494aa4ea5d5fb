//! The live side of `preflight check`: a [`Server`] that sends each request the browser model
//! asks for over the network and records the exchange. No decision is taken here.

use preflight::browser::{
    evaluate_with, prepare, Answer, Behavior, CredentialsMode, Evaluation, Outcome, Outgoing,
    RequestInit, RequestMode, ScenarioRequest, ScenarioResponse, Server,
};
use preflight_http::{Client, Request};
use serde::Serialize;

/// What to check: the `fetch()` a page would make.
#[derive(Clone, Debug, Serialize)]
pub struct Spec {
    /// Target URL.
    pub url: String,
    /// The page's origin.
    pub origin: String,
    /// Method as written in script.
    pub method: String,
    /// Headers as written in script.
    pub headers: Vec<(String, String)>,
    /// Credentials mode.
    pub credentials: CredentialsMode,
    /// `Cookie` value sent when the browser attaches credentials to the target's host.
    #[serde(skip)]
    pub cookie: Option<String>,
}

/// One request sent and what came back.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// `preflight` or `actual`.
    pub kind: &'static str,
    /// Method on the wire.
    pub method: String,
    /// URL.
    pub url: String,
    /// Headers sent (cookie values redacted).
    pub request_headers: Vec<(String, String)>,
    /// Status, when a response arrived.
    pub status: Option<u16>,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: Option<String>,
    /// Response headers in order.
    pub response_headers: Vec<(String, String)>,
    /// The network error, when no response arrived.
    pub error: Option<NetError>,
}

/// A network failure (no HTTP answer at all).
#[derive(Clone, Debug, Serialize)]
pub struct NetError {
    /// `connect`, `tls`, `timeout`, `protocol`, `invalid_request`, `config`.
    pub kind: &'static str,
    /// The message.
    pub message: String,
}

impl From<&preflight_http::Error> for NetError {
    fn from(e: &preflight_http::Error) -> Self {
        NetError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// The final answer for one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Script can read the response.
    Allowed,
    /// The browser blocks it (a CORS failure, or `fetch()` throws).
    Blocked,
    /// No HTTP answer: the server is unreachable, TLS failed, timeout.
    NetworkError,
}

impl Verdict {
    /// The spelling in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::NetworkError => "network-error",
        }
    }
}

/// The result of one check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// What was checked.
    pub spec: Spec,
    /// Whose behaviour was modelled.
    pub behavior: Behavior,
    /// The verdict.
    pub verdict: Verdict,
    /// The model's evaluation.
    pub evaluation: Evaluation,
    /// Headers `fetch()` dropped silently (forbidden), as written.
    pub dropped_headers: Vec<String>,
    /// Every request sent, in order.
    pub exchanges: Vec<Exchange>,
    /// The network error that ended the check.
    pub network_error: Option<NetError>,
}

impl CheckResult {
    /// The status script sees (only when allowed).
    pub fn readable_status(&self) -> Option<u16> {
        if self.verdict != Verdict::Allowed {
            return None;
        }
        self.exchanges.last().and_then(|e| e.status)
    }

    /// The response headers script can read, with their values (only when allowed).
    pub fn readable_headers(&self) -> Vec<(String, String)> {
        if self.verdict != Verdict::Allowed {
            return Vec::new();
        }
        let Some(last) = self.exchanges.last() else {
            return Vec::new();
        };
        last.response_headers
            .iter()
            .filter(|(n, _)| {
                self.evaluation
                    .exposed_headers
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(n))
            })
            .cloned()
            .collect()
    }
}

struct Live<'a> {
    client: &'a Client,
    rt: &'a tokio::runtime::Handle,
    cookie: Option<&'a str>,
    cookie_host: Option<String>,
    exchanges: Vec<Exchange>,
    error: Option<NetError>,
}

impl Server for Live<'_> {
    fn respond(&mut self, out: &Outgoing) -> Option<Answer> {
        let mut headers = out.headers.clone();
        if out.credentials {
            let host = url::Url::parse(&out.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            if let (Some(c), true) = (self.cookie, host == self.cookie_host) {
                headers.push(("Cookie".to_string(), c.to_string()));
            }
        }
        let req = Request {
            method: out.method.clone(),
            url: out.url.clone(),
            headers,
        };
        let result = self.rt.block_on(self.client.send(&req));
        let mut ex = Exchange {
            kind: if out.preflight { "preflight" } else { "actual" },
            method: req.method,
            url: req.url,
            request_headers: req
                .headers
                .into_iter()
                .map(|(n, v)| {
                    if crate::explain::is_secret(&n) {
                        (n, "[redacted]".to_string())
                    } else {
                        (n, v)
                    }
                })
                .collect(),
            status: None,
            version: None,
            response_headers: Vec::new(),
            error: None,
        };
        match result {
            Ok(resp) => {
                ex.status = Some(resp.status);
                ex.version = Some(resp.version);
                ex.response_headers = resp.headers.clone();
                self.exchanges.push(ex);
                Some(Answer {
                    response: ScenarioResponse {
                        status: resp.status,
                        headers: resp.headers,
                    },
                    is_final: false,
                })
            }
            Err(e) => {
                let ne = NetError::from(&e);
                ex.error = Some(ne.clone());
                self.exchanges.push(ex);
                self.error = Some(ne);
                None
            }
        }
    }
}

/// Runs one check: the model drives, `client` sends. Call from a thread outside the runtime.
pub fn run_check(
    spec: &Spec,
    behavior: Behavior,
    client: &Client,
    rt: &tokio::runtime::Handle,
) -> CheckResult {
    let request = ScenarioRequest {
        origin: spec.origin.clone(),
        url: spec.url.clone(),
        method: spec.method.clone(),
        headers: spec.headers.clone(),
        credentials: spec.credentials,
        mode: RequestMode::Cors,
        pna: None,
        body: None,
        cache: None,
    };
    let dropped_headers = prepare(
        &RequestInit {
            method: &spec.method,
            headers: &spec.headers,
            credentials: spec.credentials,
            mode: RequestMode::Cors,
            body: None,
            cache: None,
        },
        behavior,
    )
    .map(|p| p.dropped_headers)
    .unwrap_or_default();
    let mut live = Live {
        client,
        rt,
        cookie: spec.cookie.as_deref(),
        cookie_host: url::Url::parse(&spec.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase)),
        exchanges: Vec::new(),
        error: None,
    };
    let evaluation = evaluate_with(&request, behavior, &mut live);
    let verdict = if live.error.is_some() {
        Verdict::NetworkError
    } else if evaluation.outcome == Outcome::Ok {
        Verdict::Allowed
    } else {
        Verdict::Blocked
    };
    CheckResult {
        spec: spec.clone(),
        behavior,
        verdict,
        evaluation,
        dropped_headers,
        exchanges: live.exchanges,
        network_error: live.error,
    }
}
