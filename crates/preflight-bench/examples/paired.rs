//! Paired, interleaved timing of the tower scenarios: the inner service alone, Preflight's layer
//! and tower-http's layer take turns in short blocks (the order rotating every round), and each
//! round yields one ratio. On a shared machine whose speed drifts by 1.5× between seconds (what
//! made separate criterion runs disagree), both sides of a ratio see the same conditions; the
//! median of the per-round ratios is what `BENCHMARKS.md` quotes beside criterion's figures.
//!
//! `cargo run --release -p preflight-bench --example paired [ROUNDS] [BLOCK] [FILTER]`
//! (defaults 101 rounds of 2,000 requests per implementation; FILTER picks scenarios whose
//! `size/scenario` label contains it). For requests the inner service answers, the ratio compares
//! the time each layer adds to it (per round: layer − inner); preflights, which the layers answer
//! themselves, compare whole calls.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::time::Instant;

use preflight_bench::*;
use tower::Layer;

/// Requests built at once, then served in one timed run.
const CHUNK: usize = 16;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn quartiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 4], v[v.len() * 3 / 4])
}

/// Nanoseconds per call of `svc` over `n` fresh requests for `s`.
fn block<S>(svc: &mut S, s: Scenario, n: usize, out: &mut Vec<http::Response<()>>) -> f64
where
    S: tower::Service<
        http::Request<()>,
        Response = http::Response<()>,
        Error = std::convert::Infallible,
    >,
{
    out.clear();
    let mut total = std::time::Duration::ZERO;
    let mut done = 0;
    while done < n {
        // A few requests built just before they are served, as a server parses a request just
        // before handling it: hot in cache, so neither side is charged for cache misses on
        // requests built long before (a batch of thousands is larger than the caches).
        let k = CHUNK.min(n - done);
        let mut reqs: [Option<http::Request<()>>; CHUNK] = Default::default();
        for r in reqs.iter_mut().take(k) {
            *r = Some(s.request());
        }
        let t = Instant::now();
        for r in reqs.iter_mut().take(k) {
            if let Some(r) = r.take() {
                out.push(call(svc, r));
            }
        }
        total += t.elapsed();
        done += k;
    }
    std::hint::black_box(&out);
    total.as_nanos() as f64 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).map_or(101, |a| a.parse().unwrap());
    let n: usize = args.get(2).map_or(2000, |a| a.parse().unwrap());
    let filter = args.get(3).cloned().unwrap_or_default();
    steady_heap();
    println!("| size / scenario | inner | Preflight | tower-http | ratio (median of {rounds} rounds) | interquartile |");
    println!("|---|---|---|---|---|---|");
    for size in [Size::One, Size::Ten, Size::Many] {
        let mut ours = preflight_tower::CorsLayer::new(preflight_policy(size)).layer(inner());
        let mut theirs = tower_http_layer(size).layer(inner());
        let mut none = inner();
        for s in Scenario::ALL.iter().copied() {
            let label = format!("{}/{}", size.label(), s.label());
            if !label.contains(&filter) {
                continue;
            }
            let preflight = s.label().starts_with("preflight") || s.label().starts_with("acrh");
            // 1 MiB headers: fewer requests per block.
            let n = if s.label().starts_with("acrh") {
                (n / 200).max(5)
            } else {
                n
            };
            let mut out = Vec::with_capacity(n);
            let (mut t_none, mut t_ours, mut t_theirs, mut ratios) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Warm-up round, discarded.
            block(&mut ours, s, n, &mut out);
            block(&mut theirs, s, n, &mut out);
            block(&mut none, s, n, &mut out);
            for r in 0..rounds {
                let mut t = [0.0f64; 3];
                for k in 0..3 {
                    match (r + k) % 3 {
                        0 => t[0] = block(&mut none, s, n, &mut out),
                        1 => t[1] = block(&mut ours, s, n, &mut out),
                        _ => t[2] = block(&mut theirs, s, n, &mut out),
                    }
                }
                let ratio = if preflight {
                    t[2] / t[1]
                } else {
                    (t[2] - t[0]) / (t[1] - t[0]).max(0.1)
                };
                t_none.push(t[0]);
                t_ours.push(t[1]);
                t_theirs.push(t[2]);
                ratios.push(ratio);
            }
            let (q1, q3) = quartiles(&mut ratios.clone());
            println!(
                "| {label} | {:.0} ns | {:.0} ns | {:.0} ns | **{:.2}×** | {:.2}–{:.2} |",
                median(&mut t_none),
                median(&mut t_ours),
                median(&mut t_theirs),
                median(&mut ratios),
                q1,
                q3
            );
        }
    }
}
