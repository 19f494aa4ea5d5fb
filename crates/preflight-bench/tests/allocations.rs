//! Heap allocations per request, counted with a global allocator: Preflight's tower layer beside
//! tower-http's, for every benchmark scenario and size. The counts are printed (run with
//! `--nocapture` to see the table, recorded in BENCHMARKS.md) and Preflight's are asserted:
//!
//! - the core (`Policy::evaluate` + `Decision::apply` on a pre-sized map): 0, always;
//! - the layer on actual requests: 0 beyond the inner service's own;
//! - the layer on preflights: exactly what allocating the response's header map costs (a
//!   preflight response has to exist somewhere), whatever the input.
//!
//! Each layer serves one warm-up request first (arc-swap registers the thread once).
//!
//! The same for actix-web (`actix_allocations_per_request`): Preflight's middleware and
//! actix-cors wrapped around one app, against the app alone; Preflight's middleware may not add
//! any allocation to a request (a preflight it answers itself skips the app's routing and
//! handler, so it allocates less than the app alone would).

use preflight_bench::{call, inner, preflight_policy, tower_http_layer, Scenario, Size};
use preflight_vectors::alloc_count::{allocations, Counting};
use tower::Layer;

#[global_allocator]
static A: Counting = Counting;

/// Allocations made by `f` (its result is dropped afterwards, outside the count).
fn count<R>(f: impl FnOnce() -> R) -> usize {
    allocations(f).0
}

#[test]
fn allocations_per_request() {
    // Builds the shared request buffers (a one-time `OnceLock`) outside any counted region.
    drop(Scenario::ActualAllowed.request());
    let mut inner_svc = inner();
    let baseline_actual = count(|| {
        call(&mut inner_svc, Scenario::ActualAllowed.request())
            .headers()
            .len()
    }) - count(|| Scenario::ActualAllowed.request().headers().len());
    let header_map = count(|| {
        let mut m = http::HeaderMap::new();
        m.reserve(8);
        m
    });
    println!("inner service alone: {baseline_actual} allocation(s) per request");
    println!("a new header map for a preflight response would cost {header_map} allocation(s)");
    println!(
        "{:<26} {:<20} {:>10} {:>11} {:>10}",
        "size", "scenario", "core", "preflight", "tower-http"
    );
    let mut failures = Vec::new();
    for size in [Size::One, Size::Ten, Size::Many] {
        let policy = preflight_policy(size);
        let mut ours = preflight_tower::CorsLayer::new(preflight_policy(size)).layer(inner());
        let mut theirs = tower_http_layer(size).layer(inner());
        call(&mut ours, Scenario::ActualAllowed.request());
        call(&mut theirs, Scenario::ActualAllowed.request());
        for s in Scenario::ALL {
            let req = s.request();
            let mut map = http::HeaderMap::with_capacity(16);
            let core = count(|| {
                let d = policy.evaluate(req.method(), req.uri().path(), req.headers());
                d.apply(&mut map);
                d
            });
            // Each request is built outside the counted region.
            let r1 = s.request();
            let ours_n = count(|| call(&mut ours, r1));
            let r2 = s.request();
            let theirs_n = count(|| call(&mut theirs, r2));
            let preflight = s.request().method() == http::Method::OPTIONS;
            let ours_added = ours_n as isize
                - if preflight {
                    0
                } else {
                    baseline_actual as isize
                };
            let theirs_added = theirs_n as isize
                - if preflight {
                    0
                } else {
                    baseline_actual as isize
                };
            println!(
                "{:<26} {:<20} {:>10} {:>11} {:>10}",
                size.label(),
                s.label(),
                core,
                ours_added,
                theirs_added
            );
            if core != 0 {
                failures.push(format!(
                    "{} {}: core allocated {core}",
                    size.label(),
                    s.label()
                ));
            }
            // Preflights too: the answer reuses the request's header map.
            if ours_added != 0 {
                failures.push(format!(
                    "{} {}: layer added {ours_added} allocation(s)",
                    size.label(),
                    s.label()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn actix_allocations_per_request() {
    use actix_web::dev::Service as _;
    use actix_web::{web, App, HttpResponse};
    use preflight_bench::{actix_cors, actix_request};
    drop(Scenario::ActualAllowed.request());
    let sys = actix_rt::System::new();
    let handler = || web::to(|| async { HttpResponse::Ok().finish() });
    println!(
        "{:<26} {:<20} {:>9} {:>11} {:>10}",
        "size", "scenario", "app alone", "preflight", "actix-cors"
    );
    let mut failures = Vec::new();
    for size in [Size::One, Size::Ten, Size::Many] {
        let none = sys.block_on(actix_web::test::init_service(
            App::new().default_service(handler()),
        ));
        let ours = sys.block_on(actix_web::test::init_service(
            App::new()
                .wrap(preflight_actix::Cors::new(preflight_policy(size)))
                .default_service(handler()),
        ));
        let theirs = sys.block_on(actix_web::test::init_service(
            App::new().wrap(actix_cors(size)).default_service(handler()),
        ));
        for s in Scenario::ALL {
            // Warm-up (actix's pools, arc-swap's thread registration), then one counted call
            // each; every request is built outside the counted region.
            for _ in 0..2 {
                let _ = sys.block_on(none.call(actix_request(s).to_request()));
                let _ = sys.block_on(ours.call(actix_request(s).to_request()));
                let _ = sys.block_on(theirs.call(actix_request(s).to_request()));
            }
            let r = actix_request(s).to_request();
            let none_n = count(|| sys.block_on(none.call(r)).is_ok());
            let r = actix_request(s).to_request();
            let ours_n = count(|| sys.block_on(ours.call(r)).is_ok());
            let r = actix_request(s).to_request();
            let theirs_n = count(|| sys.block_on(theirs.call(r)).is_ok());
            let ours_added = ours_n as isize - none_n as isize;
            let theirs_added = theirs_n as isize - none_n as isize;
            println!(
                "{:<26} {:<20} {:>9} {:>+11} {:>+10}",
                size.label(),
                s.label(),
                none_n,
                ours_added,
                theirs_added
            );
            if ours_added > 0 {
                failures.push(format!(
                    "{} {}: the actix middleware added {ours_added} allocation(s)",
                    size.label(),
                    s.label()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
