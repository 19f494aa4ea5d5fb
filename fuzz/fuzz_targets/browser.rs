//! The browser model on arbitrary scenarios (JSON): never panics under either behaviour;
//! `evaluate_verdict` agrees with `evaluate`; a scenario survives JSON → Scenario → JSON →
//! Scenario; ok ⇔ no failure stage and no reason. Cross-check: the model's fast URL/origin
//! recognition agrees with the `url` crate on the raw input and on every origin, URL,
//! `Location` and `Access-Control-Allow-Origin` of the scenario.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::browser::{
    evaluate, evaluate_verdict, fast_path_disagreement, Behavior, Outcome, Scenario,
};

fn cross_check(input: &str) {
    if let Some(d) = fast_path_disagreement(input) {
        panic!("{d}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        cross_check(text);
    }
    let Ok(s) = serde_json::from_slice::<Scenario>(data) else {
        return;
    };
    cross_check(&s.request.origin);
    cross_check(&s.request.url);
    let answers = s
        .preflight_response
        .iter()
        .flatten()
        .chain(s.redirects.iter().flatten())
        .chain(std::iter::once(&s.response));
    for r in answers {
        for (name, value) in &r.headers {
            if name.eq_ignore_ascii_case("location")
                || name.eq_ignore_ascii_case("access-control-allow-origin")
            {
                cross_check(value);
            }
        }
    }
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
