//! The browser's side of CORS, as the WHATWG Fetch standard defines it, sans-IO.
//!
//! Two levels:
//! * [`evaluate`] runs the whole model on a [`Scenario`] (request, server answers) and returns
//!   an [`Evaluation`]: whether a preflight is sent and with which `Access-Control-Request-*`
//!   headers, the outcome, the stage and stable [`Reason`] of a failure, Chromium's console
//!   message, a fix for the server owner, the readable response headers, and a step-by-step
//!   explanation. A scenario may hold earlier fetches of the same page ([`Scenario::before`],
//!   at times [`Scenario::at`]): they run first, against one preflight cache the evaluation
//!   owns, and the explanation says what the cache did (`docs/scenario-extensions.md`).
//! * The building blocks, for a client that sends real requests: [`prepare`],
//!   [`check_preflight_response`], [`cors_check`], [`exposed_headers`], [`follow_redirect`],
//!   [`PreflightCache`].
//!
//! Nothing here reads a clock or does IO; time is an argument where it matters.
//!
//! Rule numbers (R1–R60, C1–C20) refer to the project's research notes on the Fetch standard
//! and Chromium (`browser-model.md`).
//!
//! ```
//! use preflight::browser::{evaluate, Behavior, Outcome, Scenario};
//! let s: Scenario = serde_json::from_str(r#"{
//!   "id": "delete-no-methods",
//!   "request": {"origin": "https://app.test", "url": "https://api.test/x/1", "method": "delete",
//!               "headers": [], "credentials": "same-origin", "mode": "cors"},
//!   "preflight_response": {"status": 204, "headers": [["Access-Control-Allow-Origin", "*"]]},
//!   "response": {"status": 204, "headers": [["Access-Control-Allow-Origin", "*"]]}
//! }"#).unwrap();
//! let ev = evaluate(&s, Behavior::Chromium);
//! assert!(ev.preflight);
//! assert_eq!(ev.outcome, Outcome::NetworkError);
//! assert_eq!(ev.reason.map(|r| r.code()), Some("method_disallowed_by_preflight_response"));
//! assert_eq!(ev.message.as_deref(), Some("Access to fetch at 'https://api.test/x/1' from origin 'https://app.test' has been blocked by CORS policy: Method DELETE is not allowed by Access-Control-Allow-Methods in preflight response."));
//! ```

use serde::{Deserialize, Serialize};

mod cache;
mod evaluate;
pub(crate) mod fast_url;
pub mod headers;
mod reason;
mod redirect;
mod request;
mod response;
pub mod safelist;
mod scenario;
mod small;
mod text;

pub use cache::PreflightCache;
pub use evaluate::{
    evaluate, evaluate_verdict, evaluate_with, Answer, Evaluation, Outgoing, Server, Step,
};
/// Where the model's fast URL/origin recognition disagrees with the `url` crate on an input
/// (`None`: nowhere). For the fuzz target's cross-check; not a stable API.
#[doc(hidden)]
pub use fast_url::fast_path_disagreement;
pub use reason::{Failure, Reason};
pub use redirect::{follow_redirect, RedirectState};
pub use request::{prepare, PreparedRequest, RequestInit};
pub use response::{
    check_preflight_response, cors_check, exposed_headers, is_ok_status, is_redirect_status,
    parse_max_age, PreflightKind, PreflightOk, CHROMIUM_MAX_AGE_CAP, DEFAULT_MAX_AGE,
    FIREFOX_MAX_AGE_CAP, WEBKIT_MAX_AGE_CAP,
};
pub use scenario::{
    AddressSpace, CacheMode, EarlierFetch, Expect, ExpectPatch, Outcome, PnaInput,
    PreflightRequestHeaders, Protocol, RequestBody, Scenario, ScenarioRequest, ScenarioResponse,
    Stage,
};

/// Whose behaviour to model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// The WHATWG Fetch standard.
    Spec,
    /// Current Chromium (156): `*` in `Access-Control-Allow-Headers` covers `Authorization`
    /// (C7), client hints safelisted (C10), duplicate request headers merged before the
    /// 128-byte check (C11), max-age capped at 7200 s and negative → 0 (C1), a cache that
    /// replaces rather than merges (C2).
    #[default]
    Chromium,
}

/// The request's credentials mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialsMode {
    /// Never send credentials.
    Omit,
    /// Send credentials to the same origin only (`fetch()`'s default).
    #[default]
    SameOrigin,
    /// Always send credentials; the server must opt in with `Access-Control-Allow-Credentials`.
    Include,
}

impl CredentialsMode {
    /// The Fetch spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialsMode::Omit => "omit",
            CredentialsMode::SameOrigin => "same-origin",
            CredentialsMode::Include => "include",
        }
    }
}

/// The request's mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestMode {
    /// CORS (`fetch()`'s default).
    #[default]
    Cors,
    /// No CORS: an opaque response script cannot read.
    NoCors,
    /// Same origin only.
    SameOrigin,
}

impl RequestMode {
    /// The Fetch spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestMode::Cors => "cors",
            RequestMode::NoCors => "no-cors",
            RequestMode::SameOrigin => "same-origin",
        }
    }
}
