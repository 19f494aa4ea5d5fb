//! The server vectors over real HTTP: one axum server (tokio, 127.0.0.1) per suite, with a
//! catch-all handler that answers 200 "handler" plus the case's `handler_headers`.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response};
use axum::Router;
use preflight::Policy;
use preflight_tower::CorsLayer;
use support::{CASE_HEADER, HANDLER_HEADER};

#[derive(Clone)]
struct AppState {
    calls: Arc<AtomicUsize>,
    handler_headers: Arc<HashMap<String, Vec<(String, String)>>>,
}

async fn handler(State(st): State<AppState>, headers: HeaderMap) -> Response<Body> {
    st.calls.fetch_add(1, Ordering::SeqCst);
    let mut res = Response::new(Body::from("handler"));
    res.headers_mut()
        .insert(HANDLER_HEADER, HeaderValue::from_static("called"));
    let list = headers
        .get(CASE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|id| st.handler_headers.get(id));
    for (n, v) in list.into_iter().flatten() {
        res.headers_mut().append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    res
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

#[test]
fn server_vectors_over_http_axum() {
    support::run_vectors("tower/axum", |suite| {
        let policy = Policy::from_toml(&suite.policy)
            .unwrap_or_else(|e| panic!("suite {}: policy: {e:?}", suite.name));
        let calls = Arc::new(AtomicUsize::new(0));
        let state = AppState {
            calls: calls.clone(),
            handler_headers: Arc::new(support::handler_headers(suite)),
        };
        let app = Router::new()
            .fallback(handler)
            .with_state(state)
            .layer(CorsLayer::new(policy));
        (serve(app), calls)
    });
}
