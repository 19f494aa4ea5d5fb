//! HAR parsing (`preflight explain --har`): never panics; every rebuilt scenario evaluates and
//! survives a JSON round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::browser::{evaluate, Behavior, Scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(items) = preflight_capture::har::scenarios_from_har(s) {
        for it in items.iter().take(8) {
            let _ = evaluate(&it.scenario, Behavior::Chromium);
            let json = serde_json::to_string(&it.scenario).unwrap();
            let back: Scenario = serde_json::from_str(&json).unwrap();
            assert_eq!(back, it.scenario);
        }
    }
});
