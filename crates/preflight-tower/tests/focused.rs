//! Focused behaviours of the tower adapter (real HTTP where routing matters, `oneshot`
//! elsewhere).

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use preflight::{Config, Policy, SharedPolicy};
use preflight_tower::{Cors, CorsLayer};
use tower::{ServiceBuilder, ServiceExt};

const ORIGIN: &str = "https://app.example.com";

fn policy() -> Policy {
    Config::new()
        .origins([ORIGIN])
        .methods(["GET", "PUT"])
        .compile()
        .unwrap()
}

fn serve(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn preflight_headers() -> Vec<(String, Vec<u8>)> {
    h(&[("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT")])
}

#[test]
fn route_without_options_handler_gets_preflight_answered() {
    let app = Router::new()
        .route("/x", get(|| async { "get" }))
        .layer(CorsLayer::new(policy()));
    let addr = serve(app);
    let res = support::send(addr, "OPTIONS", "/x", &preflight_headers()).unwrap();
    assert_eq!(res.status, 204);
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(res.headers["access-control-allow-methods"], "PUT");
    assert!(res.body.is_empty());
    // Also for a path no route matches (the router's 404 fallback is wrapped too).
    let res = support::send(addr, "OPTIONS", "/nowhere", &preflight_headers()).unwrap();
    assert_eq!(res.status, 204);
}

#[test]
fn wrong_placement_layer_before_routes_gives_405() {
    // Documents the pitfall the crate docs warn about: a layer added before the routes wraps
    // nothing added afterwards, so the preflight never reaches it.
    let app = Router::new()
        .layer(CorsLayer::new(policy()))
        .route("/x", get(|| async { "get" }));
    let addr = serve(app);
    let res = support::send(addr, "OPTIONS", "/x", &preflight_headers()).unwrap();
    assert_eq!(res.status, 405);
    assert!(!res.headers.contains_key("access-control-allow-origin"));
}

#[test]
fn route_layer_wraps_only_matched_routes() {
    // `route_layer` in axum 0.8 does reach a known path's preflight (the method router's 405
    // fallback is wrapped), but not paths no route matches: those get a plain 404.
    let app = Router::new()
        .route("/x", get(|| async { "get" }))
        .route_layer(CorsLayer::new(policy()));
    let addr = serve(app);
    let res = support::send(addr, "OPTIONS", "/x", &preflight_headers()).unwrap();
    assert_eq!(res.status, 204);
    let res = support::send(addr, "OPTIONS", "/nowhere", &preflight_headers()).unwrap();
    assert_eq!(res.status, 404);
    assert!(!res.headers.contains_key("access-control-allow-origin"));
}

#[test]
fn options_without_acrm_reaches_the_handler() {
    let app = Router::new()
        .route(
            "/x",
            get(|| async { "get" }).options(|| async { "options handler" }),
        )
        .layer(CorsLayer::new(policy()));
    let addr = serve(app);
    let res = support::send(addr, "OPTIONS", "/x", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"options handler");
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
    // A real preflight to the same route is answered by the layer, not the OPTIONS handler.
    let res = support::send(addr, "OPTIONS", "/x", &preflight_headers()).unwrap();
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
}

#[test]
fn inner_error_responses_are_decorated() {
    let app = Router::new()
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .layer(CorsLayer::new(policy()));
    let addr = serve(app);
    let res = support::send(addr, "GET", "/boom", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(res.status, 500);
    assert_eq!(res.body, b"boom");
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(res.headers["vary"], "Origin");
    // The 404 fallback too.
    let res = support::send(addr, "GET", "/missing", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(res.status, 404);
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
}

fn acao_star_app(strip: bool) -> Router {
    Router::new()
        .route(
            "/x",
            get(|| async {
                Response::builder()
                    .header("access-control-allow-origin", "*")
                    .header("access-control-allow-credentials", "true")
                    .body(Body::from("x"))
                    .unwrap()
            }),
        )
        .layer(CorsLayer::new(policy()).strip_inner_cors_headers(strip))
}

#[test]
fn strip_inner_cors_headers_removes_handler_acao() {
    let addr = serve(acao_star_app(true));
    // Denied origin: nothing of the handler's survives.
    let res = support::send(addr, "GET", "/x", &h(&[("Origin", "https://evil.example")])).unwrap();
    assert_eq!(res.status, 200);
    assert!(!res.headers.contains_key("access-control-allow-origin"));
    assert!(!res.headers.contains_key("access-control-allow-credentials"));
    assert_eq!(res.headers["vary"], "Origin");
    // Allowed origin: the policy's value replaces the handler's.
    let res = support::send(addr, "GET", "/x", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(
        res.headers
            .get_all("access-control-allow-origin")
            .iter()
            .collect::<Vec<_>>(),
        [ORIGIN]
    );
    assert!(!res.headers.contains_key("access-control-allow-credentials"));
    // Default (false): the handler's own headers stay when the policy sets none.
    let addr = serve(acao_star_app(false));
    let res = support::send(addr, "GET", "/x", &h(&[("Origin", "https://evil.example")])).unwrap();
    assert_eq!(res.headers["access-control-allow-origin"], "*");
}

#[test]
fn hot_swap_takes_effect_on_next_request() {
    let layer = CorsLayer::new(policy());
    let app = Router::new()
        .route("/x", get(|| async { "x" }))
        .layer(layer.clone());
    let addr = serve(app);
    let other = h(&[("Origin", "https://other.example")]);
    let res = support::send(addr, "GET", "/x", &other).unwrap();
    assert!(!res.headers.contains_key("access-control-allow-origin"));
    layer.policy().store(
        Config::new()
            .origins(["https://other.example"])
            .compile()
            .unwrap(),
    );
    let res = support::send(addr, "GET", "/x", &other).unwrap();
    assert_eq!(
        res.headers["access-control-allow-origin"],
        "https://other.example"
    );
    let res = support::send(addr, "GET", "/x", &h(&[("Origin", ORIGIN)])).unwrap();
    assert!(!res.headers.contains_key("access-control-allow-origin"));
}

/// A service with a hyper/tonic-style body (`Full<Bytes>`, `Default`) in a `ServiceBuilder`:
/// any `http`-based tower stack works, not only axum.
#[tokio::test]
async fn service_builder_with_generic_body() {
    let shared = SharedPolicy::new(policy());
    let svc = ServiceBuilder::new()
        .layer(CorsLayer::new(shared.clone()))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
        });
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/x")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PUT")
        .body(Full::default())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);

    let req = Request::builder()
        .uri("/x")
        .header("origin", ORIGIN)
        .body(Full::default())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["vary"], HeaderValue::from_static("Origin"));

    // `Cors::new` without a layer.
    let _direct: Cors<_> = Cors::new(
        tower::service_fn(|_r: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }),
        shared,
    );
}
