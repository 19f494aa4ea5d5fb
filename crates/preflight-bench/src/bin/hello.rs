//! An axum hello-world for end-to-end load tests: `hello MODE PORT` where MODE is `none`,
//! `preflight` (Preflight's tower layer) or `tower-http` (tower-http's `CorsLayer`), both with
//! the benchmark configuration (`preflight_bench::Size::Ten`).

use axum::{routing::get, Router};
use preflight_bench::{preflight_policy, tower_http_layer, Size};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "none".into());
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let app = Router::new().route("/", get(|| async { "hello" }));
    let app = match mode.as_str() {
        "none" => app,
        "preflight" => app.layer(preflight_tower::CorsLayer::new(preflight_policy(Size::Ten))),
        "tower-http" => app.layer(tower_http_layer(Size::Ten)),
        other => {
            eprintln!("unknown mode {other:?}: none | preflight | tower-http");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app).await
    })
}
