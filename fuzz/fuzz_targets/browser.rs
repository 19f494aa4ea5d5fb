//! The browser model on arbitrary scenarios (JSON): never panics under either behaviour;
//! `evaluate_verdict` agrees with `evaluate`; a scenario survives JSON → Scenario → JSON →
//! Scenario; ok ⇔ no failure stage and no reason.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::browser::{evaluate, evaluate_verdict, Behavior, Outcome, Scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = serde_json::from_slice::<Scenario>(data) else {
        return;
    };
    let json = serde_json::to_string(&s).expect("serializes");
    let back: Scenario = serde_json::from_str(&json).expect("own JSON parses");
    assert_eq!(back, s, "JSON round trip changed the scenario");
    for b in [Behavior::Spec, Behavior::Chromium] {
        let ev = evaluate(&s, b);
        let v = evaluate_verdict(&s, b);
        assert_eq!(ev.outcome, v.outcome);
        assert_eq!(ev.reason, v.reason);
        assert_eq!(ev.failure_stage, v.failure_stage);
        assert_eq!(ev.preflight, v.preflight);
        assert_eq!(ev.exposed_headers, v.exposed_headers);
        assert_eq!(ev.origin_header, v.origin_header);
        match ev.outcome {
            Outcome::Ok => assert!(ev.reason.is_none() && ev.failure_stage.is_none()),
            Outcome::NetworkError => {
                assert!(ev.reason.is_some() && ev.failure_stage.is_some());
                assert!(ev.exposed_headers.is_empty());
                assert!(ev.message.is_some());
            }
        }
        let _ = s.expected(b);
    }
});
