//! The scenario format (`/work/shared/conformance/SCENARIO.md`): one cross-origin request, the
//! server's answers, and what a browser does with them. Serde types that round-trip: optional
//! fields are omitted when absent, and `null` stays `null`.
//!
//! Extensions beyond SCENARIO.md (all optional, omitted when absent; `docs/scenario-extensions.md`
//! has the long form):
//! * `request.mode` also accepts `same-origin`;
//! * `request.pna`: legacy Private Network Access inputs (`client_address_space`,
//!   `target_address_space`: `public`/`private`/`local`; `secure_context`);
//! * `expect.failure_stage` also takes `"request"` for the `TypeError`s `fetch()` throws
//!   before sending anything (forbidden method, ...);
//! * `preflight_request_headers` may name `access-control-request-private-network`;
//! * the preflight cache: `before`, a list of earlier fetches ([`EarlierFetch`]: `request`,
//!   `preflight_response`, `redirects`, `response`, optional `at`, `expect`,
//!   `expect_chromium`) that the same page makes first, in order, against one preflight cache
//!   the model owns; `at`, the time of a fetch in whole seconds (times never go back; a
//!   fetch without `at` happens at the time of the one before it, the first at 0);
//! * `request.cache`: the `fetch()` cache mode (`default`, `no-store`, `reload`, `no-cache`,
//!   `force-cache`, `only-if-cached`), which Chromium applies to the preflight cache (C4);
//! * `request.body`: `"stream"` for a `ReadableStream` body (`duplex: "half"`), which sets the
//!   use-CORS-preflight flag (R17, R18, R26);
//! * `protocol`: the HTTP version the server answers with, `http/1.1` or `h2` (default: `h2`
//!   over https, `http/1.1` over http, where browsers speak no HTTP/2). Chromium streams
//!   request bodies only over HTTP/2 or QUIC.
//!
//! One `preflight_response` answers every preflight of the scenario (or of one earlier
//! fetch), including the new preflight made after a redirect (R52).
//!
//! ```
//! use preflight::browser::Scenario;
//! let line = r#"{"id":"x","request":{"origin":"https://a.test","url":"https://b.test/","method":"GET","headers":[],"credentials":"omit","mode":"cors"},"preflight_response":null,"response":{"status":200,"headers":[["Access-Control-Allow-Origin","*"]]},"expect":{"preflight":false,"outcome":"ok","failure_stage":null,"exposed_headers":[]}}"#;
//! let s: Scenario = serde_json::from_str(line).unwrap();
//! assert_eq!(serde_json::to_string(&s).unwrap(), line);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::headers::Header;
use super::{CredentialsMode, RequestMode};

/// One scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// A stable identifier.
    pub id: String,
    /// What the page asked for.
    pub request: ScenarioRequest,
    /// The answer to the preflight: absent (`None`), `null` (`Some(None)`: the server gives
    /// none), or a response.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub preflight_response: Option<Option<ScenarioResponse>>,
    /// Redirect answers served before `response`, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects: Option<Vec<ScenarioResponse>>,
    /// The answer to the actual request.
    pub response: ScenarioResponse,
    /// What the Fetch standard says happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Where current Chromium differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_chromium: Option<ExpectPatch>,
    /// Earlier fetches the same page makes first, in order, sharing one preflight cache with
    /// this one (extension). `expect` describes this (the last) fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Vec<EarlierFetch>>,
    /// When this fetch starts, in seconds (extension; default: the time of the last earlier
    /// fetch, or 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// The HTTP version the server answers with (extension; default: `h2` over https,
    /// `http/1.1` over http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// An earlier fetch of a [`Scenario`] (extension): what the page asked for and the server's
/// answers, like the scenario's own, at time `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierFetch {
    /// What the page asked for.
    pub request: ScenarioRequest,
    /// The answer to its preflight (see [`Scenario::preflight_response`]).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub preflight_response: Option<Option<ScenarioResponse>>,
    /// Redirect answers served before `response`, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects: Option<Vec<ScenarioResponse>>,
    /// The answer to the actual request.
    pub response: ScenarioResponse,
    /// When it starts, in seconds (default: the time of the fetch before it, or 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// What the Fetch standard says happens to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Where current Chromium differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_chromium: Option<ExpectPatch>,
}

impl EarlierFetch {
    /// The expectation for `behavior`: `expect`, patched by `expect_chromium` for Chromium.
    pub fn expected(&self, behavior: super::Behavior) -> Option<Expect> {
        expected(
            self.expect.as_ref(),
            self.expect_chromium.as_ref(),
            behavior,
        )
    }
}

/// The HTTP version a server answers with (extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// HTTP/1.1.
    #[serde(rename = "http/1.1")]
    Http1,
    /// HTTP/2.
    #[serde(rename = "h2")]
    H2,
}

/// A request body kind (extension). Only the kind matters to CORS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestBody {
    /// A `ReadableStream` (with `duplex: "half"`): sets the use-CORS-preflight flag.
    Stream,
}

/// The `fetch()` cache mode (extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// `default`.
    #[default]
    Default,
    /// `no-store`: Chromium neither reads nor fills the preflight cache (C4).
    NoStore,
    /// `reload`: Chromium does not read the preflight cache, but fills it (C4).
    Reload,
    /// `no-cache`: Chromium does not read the preflight cache, but fills it (C4).
    NoCache,
    /// `force-cache`.
    ForceCache,
    /// `only-if-cached` (only with mode `same-origin`).
    OnlyIfCached,
}

impl CacheMode {
    /// The Fetch spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheMode::Default => "default",
            CacheMode::NoStore => "no-store",
            CacheMode::Reload => "reload",
            CacheMode::NoCache => "no-cache",
            CacheMode::ForceCache => "force-cache",
            CacheMode::OnlyIfCached => "only-if-cached",
        }
    }
}

/// Deserializes a field that is present (possibly `null`) as `Some(..)`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The request as the page's script makes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRequest {
    /// The page's serialized origin (`null` for opaque).
    pub origin: String,
    /// The target URL.
    pub url: String,
    /// The method as written in script.
    pub method: String,
    /// Headers as written, in order.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// The credentials mode (default `same-origin`).
    #[serde(default)]
    pub credentials: CredentialsMode,
    /// The request mode (default `cors`).
    #[serde(default)]
    pub mode: RequestMode,
    /// Legacy Private Network Access inputs (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pna: Option<PnaInput>,
    /// The body, when its kind matters (extension): `"stream"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<RequestBody>,
    /// The cache mode (extension; default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheMode>,
}

/// IP address spaces of the Private Network Access draft (R57), most public first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressSpace {
    /// The public internet.
    Public,
    /// A private network (RFC 1918, ...).
    Private,
    /// Loopback.
    Local,
}

impl AddressSpace {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressSpace::Public => "public",
            AddressSpace::Private => "private",
            AddressSpace::Local => "local",
        }
    }
}

/// PNA inputs: where the page and the target live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnaInput {
    /// The client's (page's) address space.
    pub client_address_space: AddressSpace,
    /// The resolved target's address space.
    pub target_address_space: AddressSpace,
    /// Whether the page is a secure context.
    pub secure_context: bool,
}

/// A server answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioResponse {
    /// The status code.
    pub status: u16,
    /// Headers in order, repeated names allowed.
    #[serde(default)]
    pub headers: Vec<Header>,
}

/// `ok` or `network-error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The script gets the response.
    #[serde(rename = "ok")]
    Ok,
    /// The script gets a `TypeError`.
    #[serde(rename = "network-error")]
    NetworkError,
}

/// Where a failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Before anything was sent (`fetch()` threw). Extension.
    Request,
    /// On the preflight.
    Preflight,
    /// On the actual request (including its redirects).
    Actual,
}

/// `preflight_request_headers`: lowercased `Access-Control-Request-*` names to values; `null`
/// means absent.
pub type PreflightRequestHeaders = BTreeMap<String, Option<String>>;

/// What the Fetch standard says happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// Whether a preflight is sent.
    pub preflight: bool,
    /// The first preflight's `Access-Control-Request-*` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_request_headers: Option<PreflightRequestHeaders>,
    /// The outcome.
    pub outcome: Outcome,
    /// The failure stage (`null` when ok).
    #[serde(default)]
    pub failure_stage: Option<Stage>,
    /// Sorted, lowercased readable response header names (only when ok).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_headers: Option<Vec<String>>,
    /// The `Origin` on the final actual request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_header: Option<String>,
}

/// `expect_chromium`: the fields where Chromium differs (absent = same as `expect`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectPatch {
    /// See [`Expect::preflight`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<bool>,
    /// See [`Expect::preflight_request_headers`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_request_headers: Option<PreflightRequestHeaders>,
    /// See [`Expect::outcome`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// See [`Expect::failure_stage`]; `null` is kept as `Some(None)`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_stage: Option<Option<Stage>>,
    /// See [`Expect::exposed_headers`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_headers: Option<Vec<String>>,
    /// See [`Expect::origin_header`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_header: Option<String>,
    /// Why Chromium differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Expect {
    /// `self` with `patch` applied.
    pub fn patched(&self, patch: &ExpectPatch) -> Expect {
        let preflight = patch.preflight.unwrap_or(self.preflight);
        Expect {
            preflight,
            // A patch that says "no preflight" also drops the inherited request headers.
            preflight_request_headers: patch
                .preflight_request_headers
                .clone()
                .or_else(|| self.preflight_request_headers.clone().filter(|_| preflight)),
            outcome: patch.outcome.unwrap_or(self.outcome),
            failure_stage: patch.failure_stage.unwrap_or(self.failure_stage),
            exposed_headers: patch
                .exposed_headers
                .clone()
                .or_else(|| self.exposed_headers.clone()),
            origin_header: patch
                .origin_header
                .clone()
                .or_else(|| self.origin_header.clone()),
        }
    }
}

impl Scenario {
    /// The expectation for `behavior`: `expect`, patched by `expect_chromium` for Chromium.
    pub fn expected(&self, behavior: super::Behavior) -> Option<Expect> {
        expected(
            self.expect.as_ref(),
            self.expect_chromium.as_ref(),
            behavior,
        )
    }
}

fn expected(
    e: Option<&Expect>,
    patch: Option<&ExpectPatch>,
    behavior: super::Behavior,
) -> Option<Expect> {
    let e = e?;
    Some(match (behavior, patch) {
        (super::Behavior::Chromium, Some(p)) => e.patched(p),
        _ => e.clone(),
    })
}
