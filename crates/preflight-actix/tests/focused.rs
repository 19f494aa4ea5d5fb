//! Focused behaviours of the actix adapter, over real HTTP.

#[path = "../../preflight-tower/tests/support/mod.rs"]
mod support;
#[macro_use]
mod common;

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::{error, web, App, HttpResponse};
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
fn resource_without_options_route_gets_preflight_answered() {
    let cors = Cors::new(policy());
    let addr = serve!(move || {
        App::new()
            .route("/x", web::get().to(|| async { "get" }))
            .wrap(cors.clone())
    });
    for path in ["/x", "/nowhere"] {
        let res = support::send(addr, "OPTIONS", path, &preflight_headers()).unwrap();
        assert_eq!(res.status, 204, "{path}");
        assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
        assert_eq!(res.headers["access-control-allow-methods"], "PUT");
        assert!(res.body.is_empty());
    }
    // Denied: 403 and only Vary.
    let res = support::send(
        addr,
        "OPTIONS",
        "/x",
        &h(&[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "DELETE"),
        ]),
    )
    .unwrap();
    assert_eq!(res.status, 403);
    assert_eq!(support::cors_names(&res), ["vary"]);
}

#[test]
fn options_without_acrm_reaches_the_handler() {
    let cors = Cors::new(policy());
    let addr = serve!(move || {
        App::new()
            .route("/x", web::get().to(|| async { "get" }))
            .route(
                "/x",
                web::method(Method::OPTIONS).to(|| async { "options handler" }),
            )
            .wrap(cors.clone())
    });
    let res = support::send(addr, "OPTIONS", "/x", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"options handler");
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
    let res = support::send(addr, "OPTIONS", "/x", &preflight_headers()).unwrap();
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
}

#[test]
fn errors_are_decorated() {
    let cors = Cors::new(policy());
    let addr = serve!(move || {
        App::new()
            .route(
                "/500",
                web::get().to(|| async { HttpResponse::InternalServerError().body("boom") }),
            )
            .route(
                "/handler-err",
                web::get()
                    .to(|| async { Err::<HttpResponse, _>(error::ErrorBadRequest("bad input")) }),
            )
            // An inner middleware (think: auth) that fails with `Err` instead of a response.
            .wrap_fn(|req, srv| {
                let deny = req.path() == "/middleware-err";
                let fut = srv.call(req);
                async move {
                    if deny {
                        drop(fut);
                        Err(error::ErrorUnauthorized("denied by auth"))
                    } else {
                        fut.await
                    }
                }
            })
            .wrap(cors.clone())
    });
    for (path, status, body) in [
        ("/500", 500, &b"boom"[..]),
        ("/handler-err", 400, &b"bad input"[..]),
        ("/middleware-err", 401, &b"denied by auth"[..]),
        ("/missing", 404, &b""[..]),
    ] {
        let res = support::send(addr, "GET", path, &h(&[("Origin", ORIGIN)])).unwrap();
        assert_eq!(res.status, status, "{path}");
        assert_eq!(res.body, body, "{path}");
        assert_eq!(res.headers["access-control-allow-origin"], ORIGIN, "{path}");
        assert_eq!(res.headers["vary"], "Origin", "{path}");
    }
}

#[test]
fn strip_inner_cors_headers_removes_handler_acao() {
    fn app_with(strip: bool) -> std::net::SocketAddr {
        let cors = Cors::new(policy()).strip_inner_cors_headers(strip);
        serve!(move || {
            App::new()
                .route(
                    "/x",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .insert_header(("access-control-allow-origin", "*"))
                            .insert_header(("access-control-allow-credentials", "true"))
                            .body("x")
                    }),
                )
                .wrap(cors.clone())
        })
    }
    let addr = app_with(true);
    let evil = h(&[("Origin", "https://evil.example")]);
    let res = support::send(addr, "GET", "/x", &evil).unwrap();
    assert_eq!(support::cors_names(&res), ["vary"]);
    let res = support::send(addr, "GET", "/x", &h(&[("Origin", ORIGIN)])).unwrap();
    assert_eq!(
        support::cors_names(&res),
        ["access-control-allow-origin", "vary"]
    );
    assert_eq!(res.headers["access-control-allow-origin"], ORIGIN);
    let addr = app_with(false);
    let res = support::send(addr, "GET", "/x", &evil).unwrap();
    assert_eq!(res.headers["access-control-allow-origin"], "*");
}

#[test]
fn hot_swap_takes_effect_on_next_request() {
    let cors = Cors::new(policy());
    let handle = cors.clone();
    let addr = serve!(move || {
        App::new()
            .route("/x", web::get().to(|| async { "x" }))
            .wrap(cors.clone())
    });
    let other = h(&[("Origin", "https://other.example")]);
    let res = support::send(addr, "GET", "/x", &other).unwrap();
    assert!(!res.headers.contains_key("access-control-allow-origin"));
    handle.policy().store(
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
}
