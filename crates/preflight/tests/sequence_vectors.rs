//! The earlier fetches of the vectors (`before`, the preflight-cache scenarios of
//! `vectors/browser/cache.jsonl` and `stream-body.jsonl`): each one's own `expect` (patched by
//! its `expect_chromium`) under both behaviours, the verdict path agreeing with the explaining
//! one on them, and the explanation saying what the cache did. (`browser_vectors.rs` checks
//! every vector's last fetch.)

use std::path::PathBuf;

use preflight::browser::{evaluate, evaluate_verdict, Behavior, Scenario};
use support::compare;

mod support;

fn vectors() -> Vec<(String, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(support::vectors_dir())
        .expect("vectors/browser exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for (i, line) in std::fs::read_to_string(&f)
            .expect("readable")
            .lines()
            .enumerate()
        {
            if line.trim().is_empty() {
                continue;
            }
            let s: Scenario =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            out.push((format!("{name}:{}", i + 1), s));
        }
    }
    out
}

#[test]
fn earlier_fetches_meet_their_expectations_under_both_behaviours() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut sequences = 0;
    for (at, s) in vectors() {
        let Some(before) = &s.before else { continue };
        sequences += 1;
        for b in [Behavior::Spec, Behavior::Chromium] {
            let ev = evaluate(&s, b);
            if ev.before.len() != before.len() {
                failures.push(format!(
                    "{at} {} [{b:?}]: {} earlier evaluations",
                    s.id,
                    ev.before.len()
                ));
                continue;
            }
            let fast = evaluate_verdict(&s, b);
            for (k, (e, got)) in before.iter().zip(&ev.before).enumerate() {
                let quick = &fast.before[k];
                if (
                    quick.preflight,
                    quick.outcome,
                    quick.reason,
                    &quick.exposed_headers,
                ) != (got.preflight, got.outcome, got.reason, &got.exposed_headers)
                {
                    failures.push(format!(
                        "{at} {} #{} [{b:?}]: verdict path differs",
                        s.id,
                        k + 1
                    ));
                }
                if let Some(exp) = e.expected(b) {
                    checked += 1;
                    for m in compare(&exp, got) {
                        failures.push(format!("{at} {} earlier #{} [{b:?}]: {m}", s.id, k + 1));
                    }
                }
            }
        }
    }
    assert!(
        sequences >= 40,
        "only {sequences} scenarios with earlier fetches"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches ({checked} earlier fetches checked):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn steps(s: &Scenario, b: Behavior) -> String {
    evaluate(s, b)
        .steps
        .iter()
        .map(|st| format!("{} | {}", st.rule, st.check))
        .collect::<Vec<_>>()
        .join("\n")
}

fn find(id: &str) -> Scenario {
    vectors()
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
}

#[test]
fn the_explanation_says_what_the_cache_did() {
    let hit = steps(&find("cache-put-again"), Behavior::Chromium);
    assert!(
        hit.contains("fetch #1 at t=0 s: PUT https://api.example.test/r → preflight sent, ok"),
        "{hit}"
    );
    assert!(hit.contains("until t=600 s"), "{hit}");
    assert!(
        hit.contains("preflight skipped: cached by earlier fetch #1 until t=600 s"),
        "{hit}"
    );

    let replaced = steps(&find("cache-merge-vs-replace-methods"), Behavior::Chromium);
    assert!(replaced.contains("fetch #2 at t=1 s: DELETE https://api.example.test/r → preflight sent, ok; the preflight cache does not allow this request: its entry (from fetch #1) does not allow method DELETE, so it is removed (C3)"), "{replaced}");
    assert!(
        replaced
            .contains("its entry (from fetch #2) does not allow method PUT, so it is removed (C3)"),
        "{replaced}"
    );
    let merged = steps(&find("cache-merge-vs-replace-methods"), Behavior::Spec);
    assert!(
        merged.contains("preflight skipped: cached by earlier fetch #1 until t=600 s"),
        "{merged}"
    );

    let expired = steps(&find("cache-default-max-age-expired"), Behavior::Spec);
    assert!(
        expired.contains("expired (the last at t=5 s; R33)"),
        "{expired}"
    );

    let cleared = steps(&find("cache-cleared-after-failed-actual"), Behavior::Spec);
    assert!(cleared.contains("no preflight, network error (missing_allow_origin_header); preflight skipped: cached by earlier fetch #1 until t=600 s; the CORS-with-preflight fetch failed: the preflight cache entries for origin https://app.example.test and https://api.example.test/r are cleared (1)"), "{cleared}");
    assert!(
        cleared.contains("the preflight cache does not allow this request: it is empty"),
        "{cleared}"
    );
    let kept = steps(
        &find("cache-cleared-after-failed-actual"),
        Behavior::Chromium,
    );
    assert!(
        kept.contains("Chromium keeps its preflight cache entries (C5)"),
        "{kept}"
    );

    let mode = steps(
        &find("cache-mode-no-store-skips-lookup"),
        Behavior::Chromium,
    );
    assert!(
        mode.contains("cache mode 'no-store' skips the preflight cache in Chromium (C4)"),
        "{mode}"
    );

    let stream = steps(&find("stream-cache-needs-method-entry"), Behavior::Spec);
    assert!(
        stream.contains(
            "which the use-CORS-preflight flag requires even for a safelisted method (R18)"
        ),
        "{stream}"
    );
}

#[test]
fn times_never_go_back() {
    let mut s = find("cache-put-again");
    s.at = Some(0);
    if let Some(b) = s.before.as_mut() {
        b[0].at = Some(5);
    }
    let ev = evaluate(&s, Behavior::Spec);
    assert_eq!(ev.reason.map(|r| r.code()), Some("invalid_scenario"));
    assert!(ev
        .fix
        .unwrap_or_default()
        .contains("fetch #2 starts at t=0 s, before the fetch before it (t=5 s)"));
}
