//! # preflight-tower: Preflight CORS policies as a tower `Layer`
//!
//! [`CorsLayer`] wraps any [`tower_service::Service`] over [`http::Request`] /
//! [`http::Response`]: axum, hyper (via `hyper-util`'s `TowerToHyperService`), tonic, or any
//! other `http`-based tower stack. The adapter is thin: it asks the sans-IO
//! [`preflight::Policy`] for a [`Decision`] and translates it; it decides nothing itself.
//!
//! ```
//! use axum::{routing::get, Router};
//! use preflight_tower::CorsLayer;
//!
//! let cors = CorsLayer::from_toml(r#"
//!     origins = ["https://app.example.com"]
//!     methods = ["GET", "PUT"]
//!     request_headers = ["content-type"]
//! "#)?;
//! let app: Router = Router::new()
//!     .route("/items", get(|| async { "items" }).put(|| async { "stored" }))
//!     .layer(cors); // last: wraps every route, the 405 fallback and the 404 fallback
//! # let _ = app;
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```
//!
//! ## What the layer does
//!
//! - **CORS preflights** (`OPTIONS` with `Origin` *and* `Access-Control-Request-Method`) are
//!   answered by the layer itself; the inner service is never called for them, allowed or
//!   denied. Allowed: [`Decision::status`] (204 unless configured), the CORS headers, `Vary`,
//!   empty body. Denied: 403, only `Vary`, empty body. So a route needs no `OPTIONS` handler.
//! - **Every other request** (including `OPTIONS` without `Origin` or without
//!   `Access-Control-Request-Method`) goes to the inner service. Its response, whatever its
//!   status (4xx and 5xx included), gets the decision's headers; `Vary` is merged into the
//!   response's own `Vary` without duplicates, also for non-CORS requests and denied origins.
//! - With [`CorsLayer::strip_inner_cors_headers`], CORS headers the inner service set itself are
//!   removed first, so the policy alone decides.
//! - Denials are `tracing` events at `DEBUG` level, target `preflight`, with the stable fields
//!   `reason` ([`preflight::Reason::code`]), `kind`, `method` and `path`. When that level is
//!   disabled the cost is one relaxed atomic load (tracing's callsite cache).
//!
//! ## Where to put the layer: outermost
//!
//! The layer must see the preflight before anything that could answer or reject it:
//!
//! - **After the routes** (`Router::new().route(..).layer(cors)`): `Router::layer` wraps every
//!   route *including* the method router's 405 fallback, so a route with only a `GET` handler
//!   still gets its preflight answered.
//! - **Outside authentication** and other rejecting layers: browsers never send credentials on
//!   a preflight, so an auth layer outside CORS rejects every preflight. Add CORS *after* them
//!   (`.layer(auth).layer(cors)`; in a `ServiceBuilder`, list CORS *first*).
//!
//! Wrong placements (each verified by this crate's tests):
//!
//! ```
//! use axum::{routing::get, Router};
//! use preflight_tower::CorsLayer;
//! # let cors = CorsLayer::from_toml(r#"origins = ["https://app.example.com"]"#)?;
//!
//! // WRONG: a layer added before the routes wraps nothing added afterwards. A preflight to
//! // "/items" (no OPTIONS handler) never reaches the layer: 405 without CORS headers.
//! let wrong1: Router = Router::new()
//!     .layer(cors.clone())
//!     .route("/items", get(|| async { "items" }));
//!
//! // WRONG: `route_layer` wraps only matched routes. Known paths work, but the 404 fallback
//! // (and anything `.fallback(..)` serves) gets no CORS headers and no preflight answers.
//! let wrong2: Router = Router::new()
//!     .route("/items", get(|| async { "items" }))
//!     .route_layer(cors.clone());
//!
//! // WRONG: CORS inside authentication; preflights carry no credentials and are rejected
//! // (401) by the auth layer before CORS sees them. (`auth` stands for your auth layer.)
//! // let wrong3 = Router::new().route(..).layer(cors).layer(auth);
//! // RIGHT:      Router::new().route(..).layer(auth).layer(cors)
//! # let _ = (wrong1, wrong2);
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```
//!
//! ## Response body
//!
//! [`Cors<S>`] is generic over the inner response body `B` and requires `B: Default`: a
//! preflight response is `Response<B>` with `B::default()` as its (empty) body. This keeps the
//! response type unchanged (no `Either` body, no boxing), so the layer drops into axum (its
//! `Body` is `Default`), tonic (`tonic::body::Body` is `Default`) and hyper services whose body
//! is `Default` (`Full<Bytes>`, `Empty<Bytes>`, `BoxBody` from `http-body-util`, …). For a body
//! type without `Default` (e.g. proxying hyper's `Incoming`), map it first, e.g. with
//! `tower_http::map_response_body` or `http_body_util::Either`.
//!
//! ## Allocation
//!
//! Evaluation is allocation-free (see [`preflight::Policy::evaluate`]); the service's future is
//! a pinned enum, not a boxed future; the policy's header values are interned
//! ([`preflight::StaticValue`]: writing one copies a pointer, no reference count is touched) and
//! a reflected origin is the request's own value. A preflight's answer reuses the request's
//! header map. The only allocation is the response header map's growth when it lacks room.
//!
//! ## Hot reload
//!
//! The layer holds a [`SharedPolicy`]; every request evaluates `shared.load()`. Replace the
//! policy at runtime with `layer.policy().store(new_policy)` (or keep a clone of the
//! `SharedPolicy` you passed to [`CorsLayer::new`]).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use preflight::{Config, ConfigErrors, Decision, Policy, SharedPolicy};
use tower_layer::Layer;
use tower_service::Service;

pub use preflight;

/// A tower [`Layer`] that applies a Preflight CORS policy to the services it wraps.
///
/// Cheap to clone (the policy is shared, not copied). See the [crate docs](crate) for placement.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    policy: SharedPolicy,
    strip_inner: bool,
}

impl CorsLayer {
    /// A layer evaluating `policy` (a [`Policy`] or a [`SharedPolicy`] you keep a clone of for
    /// hot reload).
    pub fn new(policy: impl Into<SharedPolicy>) -> Self {
        CorsLayer {
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

    /// Whether to remove the CORS response headers (`Access-Control-Allow-*`,
    /// `Access-Control-Expose-Headers`, `Access-Control-Max-Age`) that the inner service set
    /// itself, before the policy's are added. Default `false` (the policy's headers still
    /// replace any of the same name). `Vary` is never removed, only merged.
    #[must_use]
    pub fn strip_inner_cors_headers(mut self, strip: bool) -> Self {
        self.strip_inner = strip;
        self
    }

    /// The shared policy: `layer.policy().store(new)` replaces it for every request that
    /// starts afterwards, in every service this layer built.
    pub fn policy(&self) -> &SharedPolicy {
        &self.policy
    }
}

impl From<Policy> for CorsLayer {
    fn from(p: Policy) -> Self {
        CorsLayer::new(p)
    }
}

impl From<SharedPolicy> for CorsLayer {
    fn from(p: SharedPolicy) -> Self {
        CorsLayer::new(p)
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors {
            inner,
            policy: self.policy.clone(),
            strip_inner: self.strip_inner,
        }
    }
}

/// The [`Service`] built by [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    policy: SharedPolicy,
    strip_inner: bool,
}

impl<S> Cors<S> {
    /// Wraps `inner` with `policy` (same as `CorsLayer::new(policy).layer(inner)`).
    pub fn new(inner: S, policy: impl Into<SharedPolicy>) -> Self {
        CorsLayer::new(policy).layer(inner)
    }

    /// The shared policy (see [`CorsLayer::policy`]).
    pub fn policy(&self) -> &SharedPolicy {
        &self.policy
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Emits the denial event (`DEBUG`, target `preflight`). Free when the level is disabled: the
/// macro checks the callsite's cached interest before evaluating any field.
#[inline]
fn trace_decision(decision: &Decision, method: &Method, path: &str) {
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let decision = self
            .policy
            .load()
            .evaluate(req.method(), req.uri().path(), req.headers());
        trace_decision(&decision, req.method(), req.uri().path());
        if decision.is_preflight() {
            // The answer reuses the request's header map: cleared (its values dropped, its
            // storage kept), it holds the CORS headers without a new allocation.
            let mut headers = req.into_parts().0.headers;
            headers.clear();
            decision.apply_to_empty(&mut headers);
            let mut res = Response::new(ResBody::default());
            *res.status_mut() = decision.status().unwrap_or(StatusCode::FORBIDDEN);
            *res.headers_mut() = headers;
            return ResponseFuture {
                kind: Kind::Preflight {
                    response: Some(res),
                },
            };
        }
        ResponseFuture {
            kind: Kind::Actual {
                future: self.inner.call(req),
                decision,
                strip_inner: self.strip_inner,
            },
        }
    }
}

pin_project! {
    /// The future of [`Cors`]: either the ready preflight answer or the inner service's future
    /// plus the decision to apply to its response. Not boxed.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Preflight { response: Option<Response<B>> },
        Actual {
            #[pin]
            future: F,
            decision: Decision,
            strip_inner: bool,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Preflight { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                // Polled after completion: a contract violation by the caller; stay pending
                // rather than panic on a network path.
                None => Poll::Pending,
            },
            KindProj::Actual {
                future,
                decision,
                strip_inner,
            } => {
                let mut res = ready!(future.poll(cx))?;
                if *strip_inner {
                    preflight::strip_cors_headers(res.headers_mut());
                }
                decision.apply(res.headers_mut());
                Poll::Ready(Ok(res))
            }
        }
    }
}
