//! # preflight-actix: Preflight CORS policies as actix-web middleware
//!
//! [`Cors`] is an actix-web [`Transform`]: `App::new().wrap(cors)`. The middleware is thin: it
//! asks the sans-IO [`preflight::Policy`] for a [`Decision`] and translates it; it decides
//! nothing itself.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use preflight_actix::Cors;
//!
//! let cors = Cors::from_toml(r#"
//!     origins = ["https://app.example.com"]
//!     methods = ["GET", "PUT"]
//!     request_headers = ["content-type"]
//! "#)?;
//! let app = App::new()
//!     .route("/items", web::get().to(|| async { HttpResponse::Ok().body("items") }))
//!     // .wrap(auth) — other middleware first …
//!     .wrap(cors); // … CORS last: the outermost middleware
//! # let _ = app;
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```
//!
//! ## What the middleware does
//!
//! - **CORS preflights** (`OPTIONS` with `Origin` *and* `Access-Control-Request-Method`) are
//!   answered by the middleware; the inner service (routing, handlers) is never called for
//!   them. Allowed: [`Decision::status`], the CORS headers, `Vary`, empty body. Denied: 403,
//!   only `Vary`, empty body. So a resource needs no `OPTIONS` route.
//! - **Every other request** (including `OPTIONS` without `Origin` or without
//!   `Access-Control-Request-Method`) goes to the inner service, and every response it produces
//!   gets the decision's headers: 2xx to 5xx, and also when the inner service returns `Err`
//!   (an inner middleware such as auth failing): the error's own response
//!   ([`actix_web::ResponseError::error_response`]) is decorated and the middleware returns
//!   `Err(InternalError::from_response(original_error, decorated_response))`, so the request
//!   still fails as an error for outer middleware (and `Logger`) with its original cause, and
//!   the client receives the decorated response. (Handler errors are already responses by the
//!   time they reach middleware and are decorated like any other response.) Caveat inherited
//!   from `InternalError`: the stored response can be taken once; an outer middleware that
//!   calls `error_response()` itself takes it, and actix then sends a bare 500.
//! - `Vary` is merged into the response's own `Vary` without duplicates (`Vary: *` respected).
//! - With [`Cors::strip_inner_cors_headers`], CORS headers set by the inner service are removed
//!   first.
//! - Denials are `tracing` events at `DEBUG`, target `preflight`, fields `reason`
//!   ([`preflight::Reason::code`]), `kind`, `method`, `path`; free when the level is disabled.
//!
//! ## Where to put it: outermost
//!
//! In actix-web the **last** `.wrap()` is the outermost middleware. Wrap CORS last at the `App`
//! level, after authentication (which would otherwise reject credential-less preflights), so it
//! sees every request, including those for paths and methods no route matches.
//!
//! ## Allocation
//!
//! actix-web 4 uses `http` 0.2 types while the core uses `http` 1, so the middleware copies
//! the (at most four) CORS request headers (`Origin`, `Access-Control-Request-*`) into a
//! reusable per-worker `HeaderMap`: one small copy per such header value, none for requests
//! without `Origin`. On the way back, the reflected `Access-Control-Allow-Origin` reuses the
//! request's own `Origin` value and the policy's constant values are converted once per worker
//! and cached. The future is a pinned enum, not a boxed future.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::cell::RefCell;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use actix_web::http::header::{self as ah, HeaderMap as ActixHeaderMap};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{Error, HttpResponse};
use pin_project_lite::pin_project;
use preflight::policy::ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK;
use preflight::{Config, ConfigErrors, Decision, Policy, SharedPolicy, VarySet};

pub use preflight;

type ActixName = ah::HeaderName;
type ActixValue = ah::HeaderValue;

/// actix-web middleware factory applying a Preflight CORS policy. Use with `App::wrap` (or
/// `Scope::wrap`). Cheap to clone: the policy is shared.
#[derive(Debug, Clone)]
pub struct Cors {
    policy: SharedPolicy,
    strip_inner: bool,
}

impl Cors {
    /// Middleware evaluating `policy` (a [`Policy`] or a [`SharedPolicy`] you keep a clone of
    /// for hot reload).
    pub fn new(policy: impl Into<SharedPolicy>) -> Self {
        Cors {
            policy: policy.into(),
            strip_inner: false,
        }
    }

    /// Parses, validates and compiles a TOML policy (see [`Policy::from_toml`]).
    ///
    /// # Errors
    /// Every configuration error at once.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigErrors> {
        Policy::from_toml(toml).map(Self::new)
    }

    /// Validates and compiles a [`Config`].
    ///
    /// # Errors
    /// Every configuration error at once.
    pub fn from_config(config: &Config) -> Result<Self, ConfigErrors> {
        Policy::new(config).map(Self::new)
    }

    /// Whether to remove the CORS response headers the inner service set itself before the
    /// policy's are added. Default `false`. `Vary` is never removed, only merged.
    #[must_use]
    pub fn strip_inner_cors_headers(mut self, strip: bool) -> Self {
        self.strip_inner = strip;
        self
    }

    /// The shared policy: `cors.policy().store(new)` replaces it for every request that starts
    /// afterwards, in every worker.
    pub fn policy(&self) -> &SharedPolicy {
        &self.policy
    }
}

impl From<Policy> for Cors {
    fn from(p: Policy) -> Self {
        Cors::new(p)
    }
}

impl From<SharedPolicy> for Cors {
    fn from(p: SharedPolicy) -> Self {
        Cors::new(p)
    }
}

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<CorsMiddleware<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CorsMiddleware {
            service,
            policy: self.policy.clone(),
            strip_inner: self.strip_inner,
            scratch: RefCell::new(http::HeaderMap::new()),
            cache: Rc::new(ValueCache::default()),
        }))
    }
}

/// The middleware service built by [`Cors`] (one per worker).
pub struct CorsMiddleware<S> {
    service: S,
    policy: SharedPolicy,
    strip_inner: bool,
    /// Reused request-header map (`clear` keeps its capacity).
    scratch: RefCell<http::HeaderMap>,
    cache: Rc<ValueCache>,
}

impl<S> std::fmt::Debug for CorsMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsMiddleware")
            .field("policy", &self.policy)
            .field("strip_inner", &self.strip_inner)
            .finish_non_exhaustive()
    }
}

/// The request headers the policy reads, in both `http` versions. Static names, so lookups in
/// actix's map never build (allocate) a custom `HeaderName`.
const CORS_REQUEST_HEADERS: [(http::HeaderName, ActixName); 4] = [
    (http::header::ORIGIN, ah::ORIGIN),
    (
        http::header::ACCESS_CONTROL_REQUEST_METHOD,
        ah::ACCESS_CONTROL_REQUEST_METHOD,
    ),
    (
        http::header::ACCESS_CONTROL_REQUEST_HEADERS,
        ah::ACCESS_CONTROL_REQUEST_HEADERS,
    ),
    (
        ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK,
        ActixName::from_static("access-control-request-private-network"),
    ),
];

/// `Access-Control-Allow-Private-Network` for actix.
const ACTIX_ALLOW_PRIVATE_NETWORK: ActixName =
    ActixName::from_static("access-control-allow-private-network");

/// The CORS response headers ([`preflight::policy::CORS_RESPONSE_HEADERS`]) for actix.
const ACTIX_CORS_RESPONSE_HEADERS: [ActixName; 7] = [
    ah::ACCESS_CONTROL_ALLOW_ORIGIN,
    ah::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ah::ACCESS_CONTROL_ALLOW_METHODS,
    ah::ACCESS_CONTROL_ALLOW_HEADERS,
    ah::ACCESS_CONTROL_EXPOSE_HEADERS,
    ah::ACCESS_CONTROL_MAX_AGE,
    ACTIX_ALLOW_PRIVATE_NETWORK,
];

/// Copies the CORS request headers into `dst` (http 0.2 → http 1). Nothing is copied without
/// `Origin`: the policy answers `NotCors` from its absence alone.
fn copy_cors_request_headers(src: &ActixHeaderMap, dst: &mut http::HeaderMap) {
    dst.clear();
    if !src.contains_key(ah::ORIGIN) {
        return;
    }
    for (name, actix) in &CORS_REQUEST_HEADERS {
        for v in src.get_all(actix) {
            // Both `http` versions accept exactly the same value bytes, so this cannot fail.
            if let Ok(v) = http::HeaderValue::from_bytes(v.as_bytes()) {
                dst.append(name.clone(), v);
            }
        }
    }
}

/// http 0.2 method → http 1. Cannot fail for a method actix parsed; should it, any non-OPTIONS
/// method gives the same decision as the real one (only `OPTIONS` is special), so `GET` stands in.
fn convert_method(m: &actix_web::http::Method) -> http::Method {
    http::Method::from_bytes(m.as_str().as_bytes()).unwrap_or(http::Method::GET)
}

#[inline]
fn trace_decision(decision: &Decision, method: &http::Method, path: &str) {
    if let Some(reason) = decision.reason() {
        tracing::debug!(
            target: "preflight",
            reason = reason.code(),
            kind = decision.kind().as_str(),
            method = method.as_str(),
            path,
            "CORS request denied"
        );
    }
}

/// Per-worker cache of converted header values (the policy's constant lists and `max-age`), so
/// steady-state responses do not allocate. Bounded; cleared when full (e.g. after reloads).
#[derive(Default)]
struct ValueCache(RefCell<Vec<(http::HeaderValue, ActixValue)>>);

const VALUE_CACHE_MAX: usize = 64;

impl ValueCache {
    fn convert(&self, v: &http::HeaderValue, origin: Option<&ActixValue>) -> Option<ActixValue> {
        let bytes = v.as_bytes();
        if let Some(o) = origin {
            if o.as_bytes() == bytes {
                return Some(o.clone());
            }
        }
        match bytes {
            b"*" => return Some(ActixValue::from_static("*")),
            b"true" => return Some(ActixValue::from_static("true")),
            _ => {}
        }
        let mut cache = self.0.borrow_mut();
        if let Some((_, a)) = cache.iter().find(|(h, _)| h == v) {
            return Some(a.clone());
        }
        let converted = ActixValue::from_bytes(bytes).ok()?;
        if cache.len() >= VALUE_CACHE_MAX {
            cache.clear();
        }
        cache.push((v.clone(), converted.clone()));
        Some(converted)
    }
}

fn actix_name(name: &http::HeaderName) -> Option<ActixName> {
    Some(match name.as_str() {
        "access-control-allow-origin" => ah::ACCESS_CONTROL_ALLOW_ORIGIN,
        "access-control-allow-credentials" => ah::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        "access-control-allow-methods" => ah::ACCESS_CONTROL_ALLOW_METHODS,
        "access-control-allow-headers" => ah::ACCESS_CONTROL_ALLOW_HEADERS,
        "access-control-expose-headers" => ah::ACCESS_CONTROL_EXPOSE_HEADERS,
        "access-control-max-age" => ah::ACCESS_CONTROL_MAX_AGE,
        "access-control-allow-private-network" => ACTIX_ALLOW_PRIVATE_NETWORK,
        other => ActixName::from_bytes(other.as_bytes()).ok()?,
    })
}

/// [`preflight::merge_vary`] for actix's header map.
fn merge_vary(headers: &mut ActixHeaderMap, set: VarySet) {
    if set.is_empty() {
        return;
    }
    let lines = headers.get_all(ah::VARY).map(|v| v.as_bytes());
    if let Some(missing) = set.missing_from(lines).filter(|m| !m.is_empty()) {
        headers.append(ah::VARY, ActixValue::from_static(missing.as_str()));
    }
}

/// Removes the CORS response headers (those of [`preflight::policy::CORS_RESPONSE_HEADERS`]).
fn strip_cors_headers(headers: &mut ActixHeaderMap) {
    for name in &ACTIX_CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
}

/// [`Decision::apply`] for actix's header map.
fn apply(
    decision: &Decision,
    origin: Option<&ActixValue>,
    cache: &ValueCache,
    strip_inner: bool,
    headers: &mut ActixHeaderMap,
) {
    if strip_inner {
        strip_cors_headers(headers);
    }
    for (name, value) in decision.headers() {
        if let (Some(n), Some(v)) = (actix_name(&name), cache.convert(&value, origin)) {
            headers.insert(n, v);
        }
    }
    merge_vary(headers, decision.vary());
}

impl<S, B> Service<ServiceRequest> for CorsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = CorsFuture<S::Future, B>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let method = convert_method(req.method());
        let decision = {
            let mut scratch = self.scratch.borrow_mut();
            copy_cors_request_headers(req.headers(), &mut scratch);
            self.policy.load().evaluate(&method, req.path(), &scratch)
        };
        trace_decision(&decision, &method, req.path());
        let origin = match decision.kind() {
            preflight::DecisionKind::ActualAllow | preflight::DecisionKind::PreflightAllow => {
                req.headers().get(ah::ORIGIN).cloned()
            }
            _ => None,
        };
        if decision.is_preflight() {
            let status = decision
                .status()
                .and_then(|s| ActixStatus::from_u16(s.as_u16()).ok())
                .unwrap_or(ActixStatus::FORBIDDEN);
            let mut res = HttpResponse::new(status);
            apply(
                &decision,
                origin.as_ref(),
                &self.cache,
                false,
                res.headers_mut(),
            );
            return CorsFuture {
                kind: Kind::Preflight {
                    response: Some(req.into_response(res.map_into_right_body())),
                },
            };
        }
        CorsFuture {
            kind: Kind::Actual {
                future: self.service.call(req),
                decision,
                origin,
                cache: Rc::clone(&self.cache),
                strip_inner: self.strip_inner,
            },
        }
    }
}

pin_project! {
    /// The future of [`CorsMiddleware`]: the ready preflight answer, or the inner service's
    /// future plus the decision to apply to its response (or to its error's response).
    pub struct CorsFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Preflight { response: Option<ServiceResponse<EitherBody<B>>> },
        Actual {
            #[pin]
            future: F,
            decision: Decision,
            origin: Option<ActixValue>,
            cache: Rc<ValueCache>,
            strip_inner: bool,
        },
    }
}

impl<F, B> Future for CorsFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Preflight { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                // Polled after completion (a caller bug): never panic on a network path.
                None => Poll::Pending,
            },
            KindProj::Actual {
                future,
                decision,
                origin,
                cache,
                strip_inner,
            } => {
                let mut res = match ready!(future.poll(cx)) {
                    Ok(res) => res.map_into_left_body(),
                    Err(err) => {
                        // The error's own response, decorated, travels on inside the error:
                        // the error stays an `Err` for outer middleware and keeps its cause.
                        let mut res = err.error_response();
                        apply(
                            decision,
                            origin.as_ref(),
                            cache,
                            *strip_inner,
                            res.headers_mut(),
                        );
                        return Poll::Ready(Err(InternalError::from_response(err, res).into()));
                    }
                };
                apply(
                    decision,
                    origin.as_ref(),
                    cache,
                    *strip_inner,
                    res.headers_mut(),
                );
                Poll::Ready(Ok(res))
            }
        }
    }
}
