//! Pasted HTTP message heads (`preflight explain` on stdin): never panics, with and without
//! `--origin`; every rebuilt scenario evaluates and survives a JSON round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::browser::{evaluate, Behavior, Scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for origin in [None, Some("https://app.example.com")] {
        if let Ok(items) = preflight_capture::paste::scenarios_from_paste(s, origin) {
            for it in &items {
                let _ = evaluate(&it.scenario, Behavior::Spec);
                let json = serde_json::to_string(&it.scenario).unwrap();
                let back: Scenario = serde_json::from_str(&json).unwrap();
                assert_eq!(back, it.scenario);
            }
        }
    }
});
