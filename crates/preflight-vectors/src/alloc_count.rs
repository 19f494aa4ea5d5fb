//! A global allocator that counts allocations per thread, for the tests asserting that a path
//! allocates nothing. Install it in the test binary:
//!
//! ```
//! use preflight_vectors::alloc_count::{allocations, Counting};
//!
//! #[global_allocator]
//! static A: Counting = Counting;
//!
//! fn main() {
//!     let (n, v) = allocations(|| vec![1, 2, 3]);
//!     assert_eq!((n, v.len()), (1, 3));
//!     let (n, sum) = allocations(|| v.iter().sum::<i32>());
//!     assert_eq!((n, sum), (0, 6));
//! }
//! ```
#![allow(unsafe_code)] // the counting allocator only: it forwards to `System`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting `alloc` and `realloc` calls on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only a thread-local
// `Cell` (`try_with`, so a thread being torn down is not counted rather than panicking).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation here does).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `dealloc`; the caller's contract is `System.realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns how many allocations it made on this thread (0 unless [`Counting`] is
/// the global allocator), with its result, which is not dropped inside the count.
pub fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = COUNT.with(Cell::get);
    let r = f();
    (COUNT.with(Cell::get) - before, r)
}
