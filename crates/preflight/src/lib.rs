//! # Preflight: CORS done exactly
//!
//! The sans-IO core of Preflight: no sockets, no async, no clock (time is an argument).
//!
//! - [`Origin`]: origins parsed and serialized exactly as browsers do, same-origin and
//!   same-site (public suffix list bundled).
//! - [`Config`] → [`Policy`] → [`Decision`]: the server's side. A configuration is validated
//!   once (every mistake reported at once) and compiled into an immutable policy that answers
//!   each request with a header plan, without failing and without allocating.
//!
//! ```
//! use http::{HeaderMap, Method};
//! use preflight::{Config, DecisionKind};
//!
//! let policy = Config::new()
//!     .origins(["https://app.example.com", "https://*.example.com"])
//!     .credentials(true)
//!     .methods(["GET", "POST", "PUT"])
//!     .request_headers(["content-type"])
//!     .compile()?;
//!
//! let mut req = HeaderMap::new();
//! req.insert("origin", "https://admin.example.com".parse().unwrap());
//! req.insert("access-control-request-method", "PUT".parse().unwrap());
//! req.insert("access-control-request-headers", "content-type".parse().unwrap());
//! let d = policy.evaluate(&Method::OPTIONS, "/items/1", &req);
//! assert_eq!(d.kind(), DecisionKind::PreflightAllow);
//! assert_eq!(d.status(), Some(http::StatusCode::NO_CONTENT));
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```
//!
//! ## Cargo features
//!
//! - `http02` (off by default): each interned policy value ([`StaticValue`]) also holds an
//!   `http` 0.2 header value (`StaticValue::header_value_http02`), for adapters to frameworks
//!   still on `http` 0.2 such as actix-web 4 (`preflight-actix` turns it on).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod browser;
pub mod config;
mod headers;
pub mod origin;
pub mod pattern;
pub mod policy;
pub mod scan;

pub use browser::Behavior;
pub use config::{Config, ConfigErrors, Diagnostic, RouteConfig, Severity};
pub use origin::{Origin, OriginError, OriginErrorKind};
pub use pattern::{OriginPattern, PatternError, PortSpec};
pub use policy::{
    merge_vary, strip_cors_headers, CorsRequestHeader, CorsResponseHeader, Decision, DecisionKind,
    HeaderMapValues, HeaderPlan, PlanValue, Policy, Reason, RequestHeaders, SharedPolicy,
    StaticValue, VarySet,
};
