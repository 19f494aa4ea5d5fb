//! The denial `tracing` event, in a test binary of its own: tracing caches each callsite's
//! interest globally, and a test on another thread hitting the same callsite with no subscriber
//! while this one installs its scoped subscriber can leave the cache at "never" (the event is
//! then silently dropped). Alone in its process, the test cannot race.

#[path = "../../preflight-tower/tests/support/mod.rs"]
mod support;

use actix_web::{web, App};
use preflight::{Config, Policy};
use preflight_actix::Cors;

const ORIGIN: &str = "https://app.example.com";

fn policy() -> Policy {
    Config::new()
        .origins([ORIGIN])
        .methods(["GET", "PUT"])
        .compile()
        .unwrap()
}

#[actix_rt::test]
async fn denials_are_debug_events_with_reason_code() {
    let (captured, _guard) = support::capture_debug_events();
    let app = actix_web::test::init_service(
        App::new()
            .route("/x", web::get().to(|| async { "x" }))
            .wrap(Cors::new(policy())),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri("/x")
        .insert_header(("origin", "https://evil.example"))
        .to_request();
    let res = actix_web::test::call_service(&app, req).await;
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let log = captured.text();
    assert!(log.contains("DEBUG preflight"), "{log}");
    assert!(log.contains("reason=\"origin_not_allowed\""), "{log}");
    assert!(log.contains("kind=\"actual_denied\""), "{log}");
    assert!(log.contains("method=\"GET\""), "{log}");
    assert!(log.contains("path=\"/x\""), "{log}");
}
