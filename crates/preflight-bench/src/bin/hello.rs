//! An axum hello-world for end-to-end load tests: `hello MODE PORT` where MODE is `none`,
//! `preflight` (Preflight's tower layer) or `tower-http` (tower-http's `CorsLayer`), both with
//! the benchmark configuration (`preflight_bench::Size::Ten`), or `static-headers`: no CORS
//! logic, the handler itself returns the four headers a CORS layer adds to an allowed request
//! (the wire cost of CORS, which no implementation can avoid).

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
        "static-headers" => Router::new().route(
            "/",
            get(|| async {
                (
                    [
                        (
                            "access-control-allow-origin",
                            "https://app5.customer.example",
                        ),
                        ("access-control-allow-credentials", "true"),
                        ("access-control-expose-headers", "x-request-id"),
                        ("vary", "Origin"),
                    ],
                    "hello",
                )
            }),
        ),
        other => {
            eprintln!("unknown mode {other:?}: none | preflight | tower-http | static-headers");
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
