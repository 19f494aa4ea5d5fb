//! Every vector (the repository's and the adapters' own) checked against the core directly,
//! so a mismatch in the HTTP tests points at the adapter, not at the vector.

mod support;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use preflight::Policy;
use preflight_vectors::cors_subset;

#[test]
fn vectors_agree_with_core() {
    let mut failures = Vec::new();
    for (file, suite) in support::all_suites() {
        let policy = Policy::from_toml(&suite.policy)
            .unwrap_or_else(|e| panic!("{file} / {}: policy: {e:?}", suite.name));
        for case in &suite.case {
            let at = format!("{file} / {} / {}", suite.name, case.id);
            let method = Method::from_bytes(case.method.as_bytes()).unwrap();
            let d = policy.evaluate(&method, &case.path, &case.header_map());
            if d.kind().as_str() != case.decision {
                failures.push(format!(
                    "{at}: kind {} (expected {})",
                    d.kind(),
                    case.decision
                ));
            }
            if d.reason().map(|r| r.code()) != case.reason.as_deref() {
                failures.push(format!(
                    "{at}: reason {:?} (expected {:?})",
                    d.reason(),
                    case.reason
                ));
            }
            if d.status().map(|s| s.as_u16()) != case.status {
                failures.push(format!(
                    "{at}: status {:?} (expected {:?})",
                    d.status(),
                    case.status
                ));
            }
            let mut res = HeaderMap::new();
            if !d.is_preflight() {
                for (n, v) in &case.handler_headers {
                    res.append(
                        HeaderName::from_bytes(n.as_bytes()).unwrap(),
                        HeaderValue::from_str(v).unwrap(),
                    );
                }
            }
            d.apply(&mut res);
            let (got, want) = (cors_subset(&res), case.expected_cors_headers());
            if got != want {
                failures.push(format!(
                    "{at}: headers\n    got:      {got:?}\n    expected: {want:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
