//! The denial `tracing` event, in a test binary of its own: tracing caches each callsite's
//! interest globally, and a test on another thread hitting the same callsite with no subscriber
//! while this one installs its scoped subscriber can leave the cache at "never" (the event is
//! then silently dropped). Alone in its process, the test cannot race.

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

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_rt::test]
async fn denials_are_debug_events_with_reason_code() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
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
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("DEBUG preflight"), "{log}");
    assert!(log.contains("reason=\"origin_not_allowed\""), "{log}");
    assert!(log.contains("kind=\"actual_denied\""), "{log}");
    assert!(log.contains("method=\"GET\""), "{log}");
    assert!(log.contains("path=\"/x\""), "{log}");
}
