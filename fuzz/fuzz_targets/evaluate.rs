//! `Policy::evaluate` on arbitrary requests (and arbitrary policies): never panics, and every
//! decision passes `preflight_fuzz::check_decision` (no ACAO for a disallowed origin, never ACAO
//! `*` with ACAC, reflected ACAO ⇒ `Vary: Origin`, headers only on allows, ...). Input: an
//! optional TOML policy, a line `%%`, then `METHOD /path` and header lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight_fuzz::{check_decision, parse_request, policy_for, split_input};

fuzz_target!(|data: &[u8]| {
    let (policy_text, req_bytes) = split_input(data);
    let policy = policy_for(policy_text, data);
    let req = parse_request(req_bytes);
    let d = policy.evaluate(&req.method, &req.path, &req.headers);
    check_decision(&policy, &req, &d);
    // Deterministic.
    assert_eq!(d, policy.evaluate(&req.method, &req.path, &req.headers));
});
