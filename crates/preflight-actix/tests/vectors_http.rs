//! The server vectors over real HTTP: one actix-web `HttpServer` (127.0.0.1) per suite, with a
//! catch-all handler that answers 200 "handler" plus the case's `handler_headers`.

#[path = "../../preflight-tower/tests/support/mod.rs"]
mod support;
#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse};
use preflight::Policy;
use preflight_actix::Cors;
use support::{CASE_HEADER, HANDLER_HEADER};

struct AppState {
    calls: Arc<AtomicUsize>,
    handler_headers: HashMap<String, Vec<(String, String)>>,
}

async fn handler(req: HttpRequest, st: web::Data<AppState>) -> HttpResponse {
    st.calls.fetch_add(1, Ordering::SeqCst);
    let mut res = HttpResponse::Ok();
    res.insert_header((HANDLER_HEADER, "called"));
    let list = req
        .headers()
        .get(CASE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|id| st.handler_headers.get(id));
    for (n, v) in list.into_iter().flatten() {
        res.append_header((n.as_str(), v.as_str()));
    }
    res.body("handler")
}

#[test]
fn server_vectors_over_http_actix() {
    support::run_vectors("actix", |suite| {
        let policy = Policy::from_toml(&suite.policy)
            .unwrap_or_else(|e| panic!("suite {}: policy: {e:?}", suite.name));
        let cors = Cors::new(policy);
        let calls = Arc::new(AtomicUsize::new(0));
        let state = web::Data::new(AppState {
            calls: calls.clone(),
            handler_headers: support::handler_headers(suite),
        });
        let addr = serve!(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(handler))
                .wrap(cors.clone())
        });
        (addr, calls)
    });
}
