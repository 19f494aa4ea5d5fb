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
//! themselves, compare whole calls, and also whole calls minus the time to drop the request
//! (timed in its own block), which every server pays with or without CORS and which grows with
//! the request's headers (13 on a Chromium preflight).
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

/// Nanoseconds per request of `serve` over `n` fresh requests for `s`.
fn timed(s: Scenario, n: usize, mut serve: impl FnMut(http::Request<()>)) -> f64 {
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
        for r in reqs.iter_mut().take(k).filter_map(Option::take) {
            serve(r);
        }
        total += t.elapsed();
        done += k;
    }
    total.as_nanos() as f64 / n as f64
}

/// Nanoseconds per call of `svc` over `n` fresh requests for `s`. The response is dropped in
/// the timed part, as a server drops it once written: what a layer allocates is freed on its
/// own side of the ledger.
fn block<S>(svc: &mut S, s: Scenario, n: usize) -> f64
where
    S: tower::Service<
        http::Request<()>,
        Response = http::Response<()>,
        Error = std::convert::Infallible,
    >,
{
    timed(s, n, |r| drop(std::hint::black_box(call(svc, r))))
}

/// Nanoseconds to drop one request for `s`: what every server pays per request with or
/// without CORS, and what a preflight answered by a layer includes.
fn block_drop(s: Scenario, n: usize) -> f64 {
    timed(s, n, |r| drop(std::hint::black_box(r)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).map_or(101, |a| a.parse().unwrap());
    let n: usize = args.get(2).map_or(2000, |a| a.parse().unwrap());
    let filter = args.get(3).cloned().unwrap_or_default();
    steady_heap();
    println!("| size / scenario | inner | drop request | Preflight | tower-http | ratio (median of {rounds} rounds) | interquartile | preflights: ratio without the request's drop | interquartile |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut floors = Vec::new();
    for size in [Size::One, Size::Ten, Size::Many] {
        let mut ours = preflight_tower::CorsLayer::new(preflight_policy(size)).layer(inner());
        // The floor writes what Preflight's answer carries: same names, same values.
        let a = call(&mut ours, Scenario::PreflightAllowed.request());
        let b = floor_preflight(Scenario::PreflightAllowed.request());
        assert_eq!(a.status(), b.status());
        assert_eq!(
            a.headers(),
            b.headers(),
            "the floor must write Preflight's headers"
        );
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
            let (mut t_none, mut t_ours, mut t_theirs, mut ratios) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let (mut t_drop, mut ratios_net) = (Vec::new(), Vec::new());
            // Allowed preflights also time the floor (`floor_preflight`), in the same rotation.
            let with_floor = s == Scenario::PreflightAllowed;
            let (mut t_floor, mut floor_whole, mut floor_net) =
                (Vec::new(), Vec::new(), Vec::new());
            // Warm-up round, discarded.
            block(&mut ours, s, n);
            block(&mut theirs, s, n);
            block(&mut none, s, n);
            for r in 0..rounds {
                let mut t = [0.0f64; 5];
                let blocks = if with_floor { 5 } else { 4 };
                for k in 0..blocks {
                    match (r + k) % blocks {
                        0 => t[0] = block(&mut none, s, n),
                        1 => t[1] = block(&mut ours, s, n),
                        2 => t[2] = block(&mut theirs, s, n),
                        3 => t[3] = block_drop(s, n),
                        _ => {
                            t[4] = timed(s, n, |r| {
                                drop(std::hint::black_box(floor_preflight(r)));
                            })
                        }
                    }
                }
                if with_floor {
                    t_floor.push(t[4]);
                    floor_whole.push(t[2] / t[4]);
                    floor_net.push((t[2] - t[3]) / (t[4] - t[3]).max(0.1));
                }
                let ratio = if preflight {
                    t[2] / t[1]
                } else {
                    (t[2] - t[0]) / (t[1] - t[0]).max(0.1)
                };
                t_none.push(t[0]);
                t_ours.push(t[1]);
                t_theirs.push(t[2]);
                t_drop.push(t[3]);
                ratios.push(ratio);
                // A layer answering a preflight drops the request, as the inner service would
                // have: that part is not CORS work.
                ratios_net.push((t[2] - t[3]) / (t[1] - t[3]).max(0.1));
            }
            let (q1, q3) = quartiles(&mut ratios.clone());
            let net = if preflight {
                let (n1, n3) = quartiles(&mut ratios_net.clone());
                format!("**{:.2}×** | {n1:.2}–{n3:.2}", median(&mut ratios_net))
            } else {
                "— | —".to_owned()
            };
            if with_floor {
                floors.push(format!(
                    "| {label} | {:.0} ns | {:.2}× | {:.2}× |",
                    median(&mut t_floor),
                    median(&mut floor_whole),
                    median(&mut floor_net)
                ));
            }
            println!(
                "| {label} | {:.0} ns | {:.0} ns | {:.0} ns | {:.0} ns | **{:.2}×** | {:.2}–{:.2} | {net} |",
                median(&mut t_none),
                median(&mut t_drop),
                median(&mut t_ours),
                median(&mut t_theirs),
                median(&mut ratios),
                q1,
                q3
            );
        }
    }
    if !floors.is_empty() {
        println!();
        println!("The floor for an allowed preflight (`floor_preflight`: the six headers with fixed values, nothing evaluated), timed in the same rotation:");
        println!();
        println!("| size / scenario | floor | tower-http / floor, whole calls | net of the request's drop |");
        println!("|---|---|---|---|");
        for f in &floors {
            println!("{f}");
        }
    }
}
