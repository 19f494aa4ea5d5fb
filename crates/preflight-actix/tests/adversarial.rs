//! The actix middleware against hostile clients over real sockets on 127.0.0.1. Bounds: see
//! `preflight-gateway/tests/hostile/mod.rs` (10 s per attack, < 64 MiB peak-RSS growth, no
//! ACAO for any hostile request, healthy afterwards).

mod common;
#[path = "../../preflight-gateway/tests/hostile/mod.rs"]
mod hostile;

use preflight::Policy;

#[test]
fn actix_middleware_survives_hostile_clients() {
    let addr = serve!(|| {
        actix_web::App::new()
            .wrap(preflight_actix::Cors::new(
                Policy::from_toml(hostile::POLICY).unwrap(),
            ))
            .default_service(actix_web::web::to(|| async { "ok" }))
    });
    hostile::run_attacks(addr);
    let held = hostile::slow_loris(addr, 100);
    drop(held);
    hostile::assert_healthy(addr);
}
