//! Runs one tower scenario N times through one implementation, for instruction counts under
//! callgrind (deterministic where timings are noisy and no hardware counters exist):
//!
//! `scripts/bench-instructions` runs it for every scenario; by hand:
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/instructions
//! ours preflight-allowed 20000` minus the same with `setup` (builds and drops the requests only),
//! divided by 20000. Implementations: `none` (inner service alone), `ours`, `theirs` (tower-http),
//! `floor` ([`floor_preflight`]: the allowed preflight's six headers, nothing evaluated); for
//! actix-web `actix-none`, `actix-ours`, `actix-theirs` (actix-cors) and `actix-floor` (a
//! `wrap_fn` middleware writing the four headers of an allowed actual request, nothing evaluated).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use preflight_bench::*;
use tower::Layer;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args[1].as_str();
    let s = Scenario::ALL
        .iter()
        .copied()
        .find(|s| s.label() == args[2])
        .unwrap();
    let n: usize = args[3].parse().unwrap();
    steady_heap();
    let reqs: Vec<_> = (0..n).map(|_| s.request()).collect();
    let mut out = Vec::with_capacity(n);
    match which {
        "ours" => {
            let mut svc =
                preflight_tower::CorsLayer::new(preflight_policy(Size::One)).layer(inner());
            for r in reqs {
                out.push(call(&mut svc, r));
            }
        }
        "theirs" => {
            let mut svc = tower_http_layer(Size::One).layer(inner());
            for r in reqs {
                out.push(call(&mut svc, r));
            }
        }
        "none" => {
            let mut svc = inner();
            for r in reqs {
                out.push(call(&mut svc, r));
            }
        }
        "floor" => {
            for r in reqs {
                out.push(floor_preflight(r));
            }
        }
        "setup" => drop(reqs),
        "actix-setup" | "actix-none" | "actix-ours" | "actix-theirs" | "actix-floor" => {
            drop(reqs);
            actix(which, s, n);
        }
        _ => panic!("unknown implementation {which}"),
    }
    std::hint::black_box(&out);
    std::mem::forget(out);
}

fn actix(which: &str, s: Scenario, n: usize) {
    use actix_web::dev::Service as _;
    use actix_web::{web, App, HttpResponse};
    let sys = actix_rt::System::new();
    let handler = || web::to(|| async { HttpResponse::Ok().finish() });
    let reqs: Vec<_> = (0..n).map(|_| actix_request(s).to_request()).collect();
    let mut out = Vec::with_capacity(n);
    match which {
        "actix-setup" => {
            let app = sys.block_on(actix_web::test::init_service(
                App::new().default_service(handler()),
            ));
            for _ in reqs {
                out.push(sys.block_on(async { 0 }) == 0);
            }
            drop(app);
        }
        "actix-none" => {
            let app = sys.block_on(actix_web::test::init_service(
                App::new().default_service(handler()),
            ));
            for r in reqs {
                out.push(sys.block_on(app.call(r)).is_ok());
            }
        }
        "actix-floor" => {
            // The least an actix middleware can do for an allowed actual request: the four
            // headers Preflight writes (ACAO, ACAC, ACEH, `Vary`), as prebuilt values, into the
            // inner response, nothing evaluated.
            use actix_web::http::header::{self as ah, HeaderValue as AV};
            const ACAO: AV = AV::from_static(ALLOWED);
            const TRUE: AV = AV::from_static("true");
            const ACEH: AV = AV::from_static("x-request-id");
            const VARY: AV = AV::from_static("Origin");
            let app = sys.block_on(actix_web::test::init_service(
                App::new()
                    .wrap_fn(|req, srv| {
                        let fut = srv.call(req);
                        async move {
                            let mut res = fut.await?;
                            let h = res.headers_mut();
                            h.insert(ah::ACCESS_CONTROL_ALLOW_ORIGIN, ACAO);
                            h.insert(ah::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
                            h.insert(ah::ACCESS_CONTROL_EXPOSE_HEADERS, ACEH);
                            h.append(ah::VARY, VARY);
                            Ok(res)
                        }
                    })
                    .default_service(handler()),
            ));
            for r in reqs {
                out.push(sys.block_on(app.call(r)).is_ok());
            }
        }
        "actix-ours" => {
            let app = sys.block_on(actix_web::test::init_service(
                App::new()
                    .wrap(preflight_actix::Cors::new(preflight_policy(Size::One)))
                    .default_service(handler()),
            ));
            for r in reqs {
                out.push(sys.block_on(app.call(r)).is_ok());
            }
        }
        _ => {
            let app = sys.block_on(actix_web::test::init_service(
                App::new()
                    .wrap(actix_cors(Size::One))
                    .default_service(handler()),
            ));
            for r in reqs {
                out.push(sys.block_on(app.call(r)).is_ok());
            }
        }
    }
    std::hint::black_box(&out);
}
