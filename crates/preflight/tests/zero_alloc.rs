//! `Policy::evaluate` and `Decision::apply` must not allocate (beyond response-map growth):
//! counted with a global allocator over every server vector (adversarial inputs included).

use http::header::HeaderMap;
use http::Method;
use preflight::Policy;
use preflight_vectors::alloc_count::{allocations, Counting};
use preflight_vectors::server_suites;

#[global_allocator]
static A: Counting = Counting;

#[test]
fn evaluate_and_apply_allocate_nothing() {
    let mut checked = 0;
    for (file, suite) in server_suites() {
        let policy = Policy::from_toml(&suite.policy).expect("policy");
        for case in &suite.case {
            let method = Method::from_bytes(case.method.as_bytes()).expect("method");
            // Request values as a server receives them: shared `Bytes`, so cloning one (to
            // reflect the Origin) is a reference count. One clone promotes a fresh value.
            let headers = case.header_map();
            for v in headers.values() {
                drop(v.clone());
            }
            // The response map is pre-sized, as a framework's would be.
            let mut resp = HeaderMap::with_capacity(32);
            let (n, d) = allocations(|| policy.evaluate(&method, &case.path, &headers));
            assert_eq!(
                n, 0,
                "{file} / {} / {}: evaluate allocated {n} times",
                suite.name, case.id
            );
            let (n, ()) = allocations(|| d.apply(&mut resp));
            assert_eq!(
                n, 0,
                "{file} / {} / {}: apply allocated {n} times",
                suite.name, case.id
            );
            let (n, ()) = allocations(|| drop(d));
            assert_eq!(n, 0);
            checked += 1;
        }
    }
    assert!(checked > 50);
}
