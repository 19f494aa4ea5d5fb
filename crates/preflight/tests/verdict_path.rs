//! `evaluate_verdict` (the fast path) agrees with `evaluate` on every browser vector, under both
//! behaviours, on everything but the explanation text.

use preflight::browser::{evaluate, evaluate_verdict, Behavior, Scenario};

#[test]
fn verdict_path_agrees_with_the_explaining_path() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/browser");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let sc: Scenario = serde_json::from_str(line).unwrap();
            for b in [Behavior::Spec, Behavior::Chromium] {
                let full = evaluate(&sc, b);
                let fast = evaluate_verdict(&sc, b);
                let at = format!("{} / {} / {b:?}", path.display(), sc.id);
                assert_eq!(full.preflight, fast.preflight, "{at}");
                assert_eq!(
                    full.preflight_request_headers, fast.preflight_request_headers,
                    "{at}"
                );
                assert_eq!(full.outcome, fast.outcome, "{at}");
                assert_eq!(full.failure_stage, fast.failure_stage, "{at}");
                assert_eq!(full.exposed_headers, fast.exposed_headers, "{at}");
                assert_eq!(full.origin_header, fast.origin_header, "{at}");
                assert_eq!(full.reason, fast.reason, "{at}");
                assert!(fast.steps.is_empty() && fast.message.is_none() && fast.fix.is_none());
                n += 1;
            }
        }
    }
    assert!(n > 1000, "{n}");
}
