//! [`Small`]: a list kept in a fixed array on the stack, moved to the heap only past `N` items.
//! The model's per-request lists (header list, unsafe names, token lists) are almost always a
//! handful of borrowed `&str`s, so evaluating a scenario does not allocate for them. Safe code
//! only: the array is filled with `T::default()`.

use std::ops::Deref;

/// A list of `Copy` items, inline up to `N`.
#[derive(Clone, Debug)]
pub(crate) enum Small<T: Copy + Default, const N: usize> {
    /// Up to `N` items in place.
    Inline([T; N], usize),
    /// More than `N` items.
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> Default for Small<T, N> {
    fn default() -> Self {
        Small::Inline([T::default(); N], 0)
    }
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, item: T) {
        match self {
            Small::Inline(a, n) => {
                if let Some(slot) = a.get_mut(*n) {
                    *slot = item;
                    *n += 1;
                } else {
                    let mut v = Vec::with_capacity(N * 2 + 1);
                    v.extend_from_slice(a.as_slice());
                    v.push(item);
                    *self = Small::Heap(v);
                }
            }
            Small::Heap(v) => v.push(item),
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Small::Inline(a, n) => a.get_mut(..*n).unwrap_or_default(),
            Small::Heap(v) => v.as_mut_slice(),
        }
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        match self {
            Small::Inline(_, n) => *n = (*n).min(len),
            Small::Heap(v) => v.truncate(len),
        }
    }

    /// Keeps the items for which `keep` is true, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let items = self.as_mut_slice();
        let mut w = 0;
        for r in 0..items.len() {
            let Some(&item) = items.get(r) else { break };
            if keep(&item) {
                if let Some(slot) = items.get_mut(w) {
                    *slot = item;
                }
                w += 1;
            }
        }
        self.truncate(w);
    }

    /// Removes consecutive items that `same` says are equal (keeps the first).
    pub(crate) fn dedup_by(&mut self, mut same: impl FnMut(&T, &T) -> bool) {
        let items = self.as_mut_slice();
        if items.is_empty() {
            return;
        }
        let mut w = 1;
        for r in 1..items.len() {
            let (Some(&item), Some(&prev)) = (items.get(r), items.get(w - 1)) else {
                break;
            };
            if !same(&prev, &item) {
                if let Some(slot) = items.get_mut(w) {
                    *slot = item;
                }
                w += 1;
            }
        }
        self.truncate(w);
    }
}

impl<T: Copy + Default, const N: usize> Deref for Small<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Small::Inline(a, n) => a.get(..*n).unwrap_or_default(),
            Small::Heap(v) => v.as_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_edits() {
        let mut s: Small<u8, 2> = Small::new();
        for i in [3, 1, 1, 2, 2, 5] {
            s.push(i);
        }
        assert!(matches!(s, Small::Heap(_)));
        assert_eq!(&*s, &[3, 1, 1, 2, 2, 5]);
        s.as_mut_slice().sort_unstable();
        s.dedup_by(|a, b| a == b);
        assert_eq!(&*s, &[1, 2, 3, 5]);
        s.retain(|&x| x != 2);
        assert_eq!(&*s, &[1, 3, 5]);
        let mut t: Small<u8, 4> = Small::new();
        t.push(1);
        t.push(1);
        t.dedup_by(|a, b| a == b);
        t.retain(|_| true);
        assert_eq!(&*t, &[1]);
    }
}
