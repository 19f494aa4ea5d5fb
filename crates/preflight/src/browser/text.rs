//! Building the explanation's text cheaply: one allocation of the exact size per string
//! ([`cat`]), numbers through a stack buffer ([`Num`]), no `format!` machinery on the
//! explaining path's hot steps.

/// The pieces concatenated, in one allocation of the exact length.
pub(crate) fn cat<const K: usize>(parts: [&str; K]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// A number in decimal, on the stack.
pub(crate) struct Num {
    buf: [u8; 20],
    start: usize,
}

impl Num {
    pub(crate) fn new(mut v: u64) -> Num {
        let mut buf = [b'0'; 20];
        let mut start = buf.len();
        loop {
            start -= 1;
            if let Some(b) = buf.get_mut(start) {
                // `v % 10` is below 10.
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || start == 0 {
                break;
            }
        }
        Num { buf, start }
    }

    pub(crate) fn as_str(&self) -> &str {
        self.buf
            .get(self.start..)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// Names lowercased and joined with `sep`, appended to `out`.
pub(crate) fn push_lower_joined(out: &mut String, names: &[&str], sep: &str) {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if n.bytes().any(|b| b.is_ascii_uppercase()) {
            out.extend(n.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            out.push_str(n);
        }
    }
}

/// Total length of `names` joined with `sep`.
pub(crate) fn joined_len<S: AsRef<str>>(names: &[S], sep: &str) -> usize {
    names.iter().map(|n| n.as_ref().len()).sum::<usize>()
        + sep.len() * names.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_joins() {
        for v in [0, 7, 10, 204, 7200, u64::MAX] {
            assert_eq!(Num::new(v).as_str(), v.to_string());
        }
        let mut s = String::new();
        push_lower_joined(&mut s, &["X-A", "b"], ", ");
        assert_eq!(s, "x-a, b");
        assert_eq!(joined_len(&["X-A", "b"], ", "), s.len());
        assert_eq!(cat(["a", "", "bc"]), "abc");
    }
}
