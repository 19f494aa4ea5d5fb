//! # preflight-actix: Preflight CORS policies as actix-web middleware
//!
//! [`Cors`] is an actix-web [`Transform`]: `App::new().wrap(cors)`. The middleware is thin: it
//! asks the sans-IO [`preflight::Policy`] for a [`HeaderPlan`] and translates it; it decides
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
//!   them. Allowed: [`HeaderPlan::status`], the CORS headers, `Vary`, empty body. Denied: 403,
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
//! None of its own. actix-web 4 is on `http` 0.2 and the core on `http` 1, so the middleware
//! does not convert maps: it lets the policy read actix's header map directly (through
//! [`preflight::RequestHeaders`]) and gets back a library-independent [`HeaderPlan`]. The
//! policy's values are interned ([`preflight::StaticValue`]) with their `http` 0.2 header value
//! built once (the core's `http02` feature), so writing one copies a pointer, with no reference
//! count and no re-validation; a reflected
//! `Access-Control-Allow-Origin` is the request's own `Origin` value. The future is a pinned
//! enum, not a boxed future.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::cell::Cell;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use actix_web::http::header::{self as ah, HeaderMap as ActixHeaderMap};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{Error, HttpRequest, HttpResponse};
use pin_project_lite::pin_project;
use preflight::{
    Config, ConfigErrors, CorsRequestHeader, CorsResponseHeader, HeaderPlan, PlanValue, Policy,
    RequestHeaders, SharedPolicy, VarySet,
};

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
        }))
    }
}

/// The middleware service built by [`Cors`] (one per worker).
pub struct CorsMiddleware<S> {
    service: S,
    policy: SharedPolicy,
    strip_inner: bool,
}

impl<S> std::fmt::Debug for CorsMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsMiddleware")
            .field("policy", &self.policy)
            .field("strip_inner", &self.strip_inner)
            .finish_non_exhaustive()
    }
}

/// `Access-Control-Request-Private-Network` for actix.
const ACTIX_REQUEST_PRIVATE_NETWORK: ActixName =
    ActixName::from_static("access-control-request-private-network");

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

/// actix's header map as the policy reads it: static names, so a lookup never builds (or
/// allocates) a `HeaderName`. Remembers the `Origin` value the policy read, so a reflected
/// `Access-Control-Allow-Origin` needs no second lookup.
struct ActixHeaders<'a> {
    map: &'a ActixHeaderMap,
    origin: Cell<Option<&'a ActixValue>>,
}

impl<'a> ActixHeaders<'a> {
    fn new(map: &'a ActixHeaderMap) -> Self {
        ActixHeaders {
            map,
            origin: Cell::new(None),
        }
    }
}

fn value_bytes(v: &ActixValue) -> &[u8] {
    v.as_bytes()
}

impl RequestHeaders for ActixHeaders<'_> {
    type Values<'b>
        = std::iter::Map<std::slice::Iter<'b, ActixValue>, fn(&'b ActixValue) -> &'b [u8]>
    where
        Self: 'b;

    fn values(&self, name: CorsRequestHeader) -> Self::Values<'_> {
        let name = match name {
            CorsRequestHeader::Origin => {
                let values = self.map.get_all(&ah::ORIGIN);
                // A plan reflecting the origin was made from its only value.
                self.origin.set(values.as_slice().first());
                return values.map(value_bytes as fn(&ActixValue) -> &[u8]);
            }
            CorsRequestHeader::RequestMethod => &ah::ACCESS_CONTROL_REQUEST_METHOD,
            CorsRequestHeader::RequestHeaders => &ah::ACCESS_CONTROL_REQUEST_HEADERS,
            CorsRequestHeader::RequestPrivateNetwork => &ACTIX_REQUEST_PRIVATE_NETWORK,
        };
        self.map
            .get_all(name)
            .map(value_bytes as fn(&ActixValue) -> &[u8])
    }
}

#[inline]
fn trace_plan(plan: &HeaderPlan, method: &str, path: &str) {
    if let Some(reason) = plan.reason() {
        tracing::debug!(
            target: "preflight",
            reason = reason.code(),
            kind = plan.kind().as_str(),
            method,
            path,
            "CORS request denied"
        );
    }
}

fn actix_name(name: CorsResponseHeader) -> ActixName {
    match name {
        CorsResponseHeader::AllowOrigin => ah::ACCESS_CONTROL_ALLOW_ORIGIN,
        CorsResponseHeader::AllowCredentials => ah::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        CorsResponseHeader::AllowMethods => ah::ACCESS_CONTROL_ALLOW_METHODS,
        CorsResponseHeader::AllowHeaders => ah::ACCESS_CONTROL_ALLOW_HEADERS,
        CorsResponseHeader::MaxAge => ah::ACCESS_CONTROL_MAX_AGE,
        CorsResponseHeader::AllowPrivateNetwork => ACTIX_ALLOW_PRIVATE_NETWORK,
        CorsResponseHeader::ExposeHeaders => ah::ACCESS_CONTROL_EXPOSE_HEADERS,
    }
}

/// Every `Vary` value as an actix header value, built at compile time (`from_static` at run
/// time would check every byte of up to 104 on each response).
static ACTIX_VARY: [ActixValue; 16] = {
    macro_rules! values {
        ($($i:literal)*) => { [$(ActixValue::from_static(VarySet::from_bits($i).as_str())),*] };
    }
    values!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
};

/// [`preflight::merge_vary`] for actix's header map.
fn merge_vary(headers: &mut ActixHeaderMap, set: VarySet) {
    if set.is_empty() {
        return;
    }
    let lines = headers.get_all(ah::VARY).map(|v| v.as_bytes());
    if let Some(missing) = set.missing_from(lines).filter(|m| !m.is_empty()) {
        headers.append(ah::VARY, ACTIX_VARY[usize::from(missing.bits())].clone());
    }
}

/// Removes the CORS response headers (those of [`preflight::policy::CORS_RESPONSE_HEADERS`]).
fn strip_cors_headers(headers: &mut ActixHeaderMap) {
    for name in &ACTIX_CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
}

/// [`preflight::Decision::apply`] for actix's header map. `origin` is the request's `Origin`
/// value when the plan reflects it ([`HeaderPlan::reflects_origin`]). `fresh`: the headers are
/// those of a response the middleware just built (a preflight answer), with no `Vary` yet.
fn apply(
    plan: &HeaderPlan,
    origin: Option<&ActixValue>,
    strip_inner: bool,
    fresh: bool,
    headers: &mut ActixHeaderMap,
) {
    if strip_inner {
        strip_cors_headers(headers);
    }
    plan.for_each_value(|name, value| {
        let value = match value {
            // Prebuilt when the policy was compiled: a pointer copy.
            PlanValue::Static(v) => v.header_value_http02(),
            PlanValue::RequestOrigin => match origin {
                Some(o) => o.clone(),
                None => return,
            },
        };
        headers.insert(actix_name(name), value);
    });
    let vary = plan.vary();
    if !fresh {
        merge_vary(headers, vary);
    } else if !vary.is_empty() {
        // A response the middleware built itself has no `Vary` to merge with.
        headers.insert(ah::VARY, ACTIX_VARY[usize::from(vary.bits())].clone());
    }
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
        let headers = ActixHeaders::new(req.headers());
        let plan = self
            .policy
            .load()
            .plan(req.method().as_str().as_bytes(), req.path(), &headers);
        trace_plan(&plan, req.method().as_str(), req.path());
        let origin = if plan.reflects_origin() {
            headers.origin.get().cloned()
        } else {
            None
        };
        let state = if plan.is_preflight() {
            // The answer is built when the future is polled: the future then carries the
            // request (a pointer) instead of a whole prebuilt response, so it is smaller, and
            // the executor moves it several times (~80 fewer instructions of `memcpy` per
            // request, callgrind).
            let (req, _payload) = req.into_parts();
            State::Preflight { req: Some(req) }
        } else {
            State::Actual {
                future: self.service.call(req),
            }
        };
        CorsFuture {
            plan,
            origin,
            strip_inner: self.strip_inner,
            state,
            body: std::marker::PhantomData,
        }
    }
}

pin_project! {
    /// The future of [`CorsMiddleware`]: the preflight answer to build, or the inner service's
    /// future; with the decision to apply to the answer, the inner response or its error's
    /// response.
    pub struct CorsFuture<F, B> {
        plan: HeaderPlan,
        origin: Option<ActixValue>,
        strip_inner: bool,
        #[pin]
        state: State<F>,
        body: std::marker::PhantomData<fn() -> B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Preflight { req: Option<HttpRequest> },
        Actual {
            #[pin]
            future: F,
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
        let this = self.project();
        match this.state.project() {
            StateProj::Preflight { req } => match req.take() {
                Some(req) => {
                    let status = this
                        .plan
                        .status()
                        .and_then(|s| ActixStatus::from_u16(s.as_u16()).ok())
                        .unwrap_or(ActixStatus::FORBIDDEN);
                    let mut res = HttpResponse::new(status);
                    apply(
                        this.plan,
                        this.origin.as_ref(),
                        false,
                        true,
                        res.headers_mut(),
                    );
                    Poll::Ready(Ok(ServiceResponse::new(req, res.map_into_right_body())))
                }
                // Polled after completion (a caller bug): never panic on a network path.
                None => Poll::Pending,
            },
            StateProj::Actual { future } => {
                let mut res = match ready!(future.poll(cx)) {
                    Ok(res) => res.map_into_left_body(),
                    Err(err) => {
                        // The error's own response, decorated, travels on inside the error:
                        // the error stays an `Err` for outer middleware and keeps its cause.
                        let mut res = err.error_response();
                        apply(
                            this.plan,
                            this.origin.as_ref(),
                            *this.strip_inner,
                            false,
                            res.headers_mut(),
                        );
                        return Poll::Ready(Err(InternalError::from_response(err, res).into()));
                    }
                };
                apply(
                    this.plan,
                    this.origin.as_ref(),
                    *this.strip_inner,
                    false,
                    res.headers_mut(),
                );
                Poll::Ready(Ok(res))
            }
        }
    }
}
