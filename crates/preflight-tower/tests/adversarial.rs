//! The tower layer (under axum on hyper) against hostile clients over real sockets on
//! 127.0.0.1. Bounds: see `preflight-gateway/tests/hostile/mod.rs` (10 s per attack, < 64 MiB
//! peak-RSS growth, no ACAO for any hostile request, healthy afterwards).

#[path = "../../preflight-gateway/tests/hostile/mod.rs"]
mod hostile;

use preflight::Policy;
use preflight_tower::CorsLayer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_layer_survives_hostile_clients() {
    let app = axum::Router::new()
        .route("/items", axum::routing::any(|| async { "ok" }))
        .layer(CorsLayer::new(Policy::from_toml(hostile::POLICY).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::task::spawn_blocking(move || {
        hostile::run_attacks(addr);
        let held = hostile::slow_loris(addr, 100);
        drop(held);
        hostile::assert_healthy(addr);
    })
    .await
    .unwrap();
}
