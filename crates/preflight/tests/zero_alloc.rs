//! `Policy::evaluate` and `Decision::apply` must not allocate (beyond response-map growth):
//! counted with a global allocator over every server vector (adversarial inputs included).
#![allow(unsafe_code)] // the counting allocator only

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use http::header::HeaderMap;
use http::Method;
use preflight::Policy;
use preflight_vectors::server_suites;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = COUNT.with(Cell::get);
    let r = f();
    (COUNT.with(Cell::get) - before, r)
}

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
