//! Replays every server vector (`vectors/server/*.toml`) against the core policy engine.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use preflight::Policy;
use preflight_vectors::{cors_subset, server_suites};

#[test]
fn server_vectors() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, suite) in server_suites() {
        let policy = match Policy::from_toml(&suite.policy) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!(
                    "{file} / {}: policy does not compile: {e}",
                    suite.name
                ));
                continue;
            }
        };
        for case in &suite.case {
            count += 1;
            let at = format!("{file} / {} / {}", suite.name, case.id);
            let method = Method::from_bytes(case.method.as_bytes()).expect("method");
            let path = case.path.split('?').next().unwrap_or("/");
            let d = policy.evaluate(&method, path, &case.header_map());
            let mut problems = Vec::new();
            if d.kind().as_str() != case.decision {
                problems.push(format!("decision {} != {}", d.kind(), case.decision));
            }
            if d.status().map(|s| s.as_u16()) != case.status {
                problems.push(format!("status {:?} != {:?}", d.status(), case.status));
            }
            if d.reason().map(|r| r.code()) != case.reason.as_deref() {
                problems.push(format!("reason {:?} != {:?}", d.reason(), case.reason));
            }
            let mut resp = HeaderMap::new();
            if !d.is_preflight() {
                for (n, v) in &case.handler_headers {
                    resp.append(
                        HeaderName::from_bytes(n.as_bytes()).expect("name"),
                        HeaderValue::from_str(v).expect("value"),
                    );
                }
            }
            d.apply(&mut resp);
            let got = cors_subset(&resp);
            let want = case.expected_cors_headers();
            if got != want {
                problems.push(format!("headers\n    got  {got:?}\n    want {want:?}"));
            }
            if !problems.is_empty() {
                failures.push(format!("{at}: {}", problems.join("; ")));
            }
        }
    }
    assert!(count >= 50, "only {count} server vectors found");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
