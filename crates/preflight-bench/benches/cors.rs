//! One criterion run, the same scenarios through every implementation:
//! `core/*` (Preflight's `Policy::evaluate`), `browser/*` (the browser model),
//! `tower/{none,preflight,tower-http}/*` and `actix/{none,preflight,actix-cors}/*`.
//!
//! `cargo bench -p preflight-bench` (figures in BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use actix_web::dev::Service as _;
use actix_web::{web, App, HttpResponse};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use preflight_bench::{
    actix_request, call, inner, preflight_policy, tower_http_layer, Scenario, Size,
};
use tower::Layer;

const SIZES: [Size; 3] = [Size::One, Size::Ten, Size::Many];

fn core(c: &mut Criterion) {
    preflight_bench::steady_heap();
    let mut g = c.benchmark_group("core");
    for size in SIZES {
        let policy = preflight_policy(size);
        for s in Scenario::ALL {
            let req = s.request();
            g.bench_function(format!("{}/{}", size.label(), s.label()), |b| {
                b.iter(|| black_box(policy.evaluate(req.method(), req.uri().path(), req.headers())))
            });
        }
    }
    g.finish();
}

fn browser(c: &mut Criterion) {
    let text = include_str!("../../../vectors/browser/examples.jsonl");
    let scenarios: Vec<preflight::browser::Scenario> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut g = c.benchmark_group("browser");
    for sc in &scenarios {
        g.bench_function(format!("explain/{}", sc.id), |b| {
            b.iter(|| {
                black_box(preflight::browser::evaluate(
                    sc,
                    preflight::browser::Behavior::Chromium,
                ))
            })
        });
        g.bench_function(format!("verdict/{}", sc.id), |b| {
            b.iter(|| {
                black_box(preflight::browser::evaluate_verdict(
                    sc,
                    preflight::browser::Behavior::Chromium,
                ))
            })
        });
    }
    g.finish();
}

fn tower(c: &mut Criterion) {
    let mut g = c.benchmark_group("tower");
    for s in [Scenario::ActualAllowed, Scenario::NoOrigin] {
        let mut svc = inner();
        g.bench_function(format!("none/{}", s.label()), |b| {
            b.iter_batched(
                || s.request(),
                |r| black_box(call(&mut svc, r)),
                BatchSize::SmallInput,
            )
        });
    }
    for size in SIZES {
        let mut ours = preflight_tower::CorsLayer::new(preflight_policy(size)).layer(inner());
        let mut theirs = tower_http_layer(size).layer(inner());
        for s in Scenario::ALL {
            g.bench_function(format!("preflight/{}/{}", size.label(), s.label()), |b| {
                b.iter_batched(
                    || s.request(),
                    |r| black_box(call(&mut ours, r)),
                    BatchSize::SmallInput,
                )
            });
            g.bench_function(format!("tower-http/{}/{}", size.label(), s.label()), |b| {
                b.iter_batched(
                    || s.request(),
                    |r| black_box(call(&mut theirs, r)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

fn actix(c: &mut Criterion) {
    let sys = actix_rt::System::new();
    let mut g = c.benchmark_group("actix");
    let handler = || web::to(|| async { HttpResponse::Ok().finish() });
    {
        let app = sys.block_on(actix_web::test::init_service(
            App::new().default_service(handler()),
        ));
        g.bench_function("none/actual-allowed", |b| {
            b.iter_batched(
                || actix_request(Scenario::ActualAllowed).to_request(),
                |r| black_box(sys.block_on(app.call(r)).is_ok()),
                BatchSize::SmallInput,
            )
        });
    }
    for size in [Size::One, Size::Many] {
        let ours = sys.block_on(actix_web::test::init_service(
            App::new()
                .wrap(preflight_actix::Cors::new(preflight_policy(size)))
                .default_service(handler()),
        ));
        let theirs = sys.block_on(actix_web::test::init_service(
            App::new()
                .wrap(preflight_bench::actix_cors(size))
                .default_service(handler()),
        ));
        for s in Scenario::ALL {
            g.bench_function(format!("preflight/{}/{}", size.label(), s.label()), |b| {
                b.iter_batched(
                    || actix_request(s).to_request(),
                    |r| black_box(sys.block_on(ours.call(r)).is_ok()),
                    BatchSize::SmallInput,
                )
            });
            g.bench_function(format!("actix-cors/{}/{}", size.label(), s.label()), |b| {
                b.iter_batched(
                    || actix_request(s).to_request(),
                    |r| black_box(sys.block_on(theirs.call(r)).is_ok()),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, core, browser, tower, actix);
criterion_main!(benches);
