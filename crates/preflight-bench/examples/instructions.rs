//! Runs one tower scenario N times through one implementation, for instruction counts under
//! callgrind (deterministic where timings are noisy and no hardware counters exist):
//!
//! `scripts/bench-instructions` runs it for every scenario; by hand:
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/instructions
//! ours preflight-allowed 20000` minus the same with `setup` (builds and drops the requests only),
//! divided by 20000. Implementations: `none` (inner service alone), `ours`, `theirs` (tower-http).
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
        "setup" => drop(reqs),
        _ => panic!(),
    }
    std::hint::black_box(&out);
    std::mem::forget(out);
}
