//! The browser model's speed on the in-memory path: every scenario of `vectors/browser/*.jsonl`
//! is deserialized once at start-up, then evaluated.
//!
//! * `browser-all/{verdict,explain}/{spec,chromium}`: one iteration evaluates **all** the
//!   vectors (`Throughput::Elements(n)`, so criterion reports scenarios/s);
//! * `browser-example/{verdict,explain}/{spec,chromium}/<id>`: the 6 `examples.jsonl` scenarios
//!   one at a time.
//!
//! `cargo bench -p preflight-bench --bench browser` (figures in BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use preflight::browser::{evaluate, evaluate_verdict, Behavior, Scenario};

const BEHAVIORS: [(Behavior, &str); 2] =
    [(Behavior::Spec, "spec"), (Behavior::Chromium, "chromium")];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/browser")
}

/// Every scenario of one `.jsonl` file, in file order.
fn load(path: &Path) -> Vec<Scenario> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// Every scenario of every `vectors/browser/*.jsonl`, files in name order.
fn all_vectors() -> Vec<Scenario> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("vectors/browser exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| load(f)).collect()
}

fn all(c: &mut Criterion) {
    let scenarios = all_vectors();
    let n = scenarios.len() as u64;
    let mut g = c.benchmark_group("browser-all");
    g.throughput(Throughput::Elements(n));
    for (behavior, name) in BEHAVIORS {
        g.bench_function(format!("verdict/{name}"), |b| {
            b.iter(|| {
                for s in &scenarios {
                    black_box(evaluate_verdict(black_box(s), behavior));
                }
            })
        });
        g.bench_function(format!("explain/{name}"), |b| {
            b.iter(|| {
                for s in &scenarios {
                    black_box(evaluate(black_box(s), behavior));
                }
            })
        });
    }
    g.finish();
}

fn examples(c: &mut Criterion) {
    let scenarios = load(&vectors_dir().join("examples.jsonl"));
    let mut g = c.benchmark_group("browser-example");
    g.throughput(Throughput::Elements(1));
    for (behavior, name) in BEHAVIORS {
        for s in &scenarios {
            g.bench_function(format!("verdict/{name}/{}", s.id), |b| {
                b.iter(|| black_box(evaluate_verdict(black_box(s), behavior)))
            });
            g.bench_function(format!("explain/{name}/{}", s.id), |b| {
                b.iter(|| black_box(evaluate(black_box(s), behavior)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, all, examples);
criterion_main!(benches);
