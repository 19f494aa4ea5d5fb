//! Replays every vector in `vectors/browser/*.jsonl` under both behaviours: `expect` for the
//! spec, `expect_chromium` (falling back to `expect`) for Chromium. Every mismatch is reported
//! with its file, line and id.

use std::path::PathBuf;

use preflight::browser::{evaluate, Behavior, Scenario};
use support::{compare, vectors_dir};

mod support;

#[test]
fn all_vectors_pass_under_both_behaviours() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("vectors/browser exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut ids = std::collections::HashSet::new();
    for file in &files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(file).expect("readable");
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let sc: Scenario = match serde_json::from_str(line) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{name}:{}: does not parse: {e}", i + 1));
                    continue;
                }
            };
            count += 1;
            if !ids.insert(sc.id.clone()) {
                failures.push(format!("{name}:{}: duplicate id {}", i + 1, sc.id));
            }
            // Round trip: serializing and parsing again gives the same scenario.
            let again: Scenario =
                serde_json::from_str(&serde_json::to_string(&sc).expect("serializes"))
                    .expect("reparses");
            if again != sc {
                failures.push(format!("{name}:{} {}: does not round-trip", i + 1, sc.id));
            }
            for behavior in [Behavior::Spec, Behavior::Chromium] {
                let Some(exp) = sc.expected(behavior) else {
                    failures.push(format!("{name}:{} {}: no expect", i + 1, sc.id));
                    continue;
                };
                let ev = evaluate(&sc, behavior);
                for m in compare(&exp, &ev) {
                    failures.push(format!("{name}:{} {} [{behavior:?}]: {m}", i + 1, sc.id));
                }
            }
        }
    }
    assert!(count >= 6, "only {count} vectors");
    assert!(
        failures.is_empty(),
        "{} mismatches in {count} vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count} vectors passed under both behaviours");
}

#[test]
fn examples_round_trip_byte_for_byte() {
    let text = std::fs::read_to_string(vectors_dir().join("examples.jsonl")).expect("examples");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let sc: Scenario = serde_json::from_str(line).expect("parses");
        let a: serde_json::Value = serde_json::from_str(line).expect("json");
        let b = serde_json::to_value(&sc).expect("serializes");
        assert_eq!(a, b, "{}", sc.id);
    }
}
