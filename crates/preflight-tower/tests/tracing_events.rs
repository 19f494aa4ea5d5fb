//! The denial `tracing` event, in a test binary of its own: tracing caches each callsite's
//! interest globally, and a test on another thread hitting the same callsite with no subscriber
//! while this one installs its scoped subscriber can leave the cache at "never" (the event is
//! then silently dropped). Alone in its process, the test cannot race.

mod support;

use std::convert::Infallible;

use axum::http::StatusCode;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use preflight::{Config, Policy};
use preflight_tower::CorsLayer;
use tower::{ServiceBuilder, ServiceExt};

const ORIGIN: &str = "https://app.example.com";

fn policy() -> Policy {
    Config::new()
        .origins([ORIGIN])
        .methods(["GET", "PUT"])
        .compile()
        .unwrap()
}

#[tokio::test]
async fn denials_are_debug_events_with_reason_code() {
    let (captured, _guard) = support::capture_debug_events();
    let svc = ServiceBuilder::new()
        .layer(CorsLayer::new(policy()))
        .service_fn(|_r: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        });
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/items/1")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "DELETE")
        .body(Full::<Bytes>::default())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers().len(), 1, "only Vary: {:?}", res.headers());
    let log = captured.text();
    assert!(log.contains("DEBUG preflight"), "{log}");
    assert!(log.contains("reason=\"method_not_allowed\""), "{log}");
    assert!(log.contains("kind=\"preflight_denied\""), "{log}");
    assert!(log.contains("method=\"OPTIONS\""), "{log}");
    assert!(log.contains("path=\"/items/1\""), "{log}");
}
