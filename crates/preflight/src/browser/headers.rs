//! Header-list primitives from Fetch §2.2.2 ("Headers"): get, extract header list values,
//! token checks. Header lists are ordered `(name, value)` pairs; repeated names are kept.

use std::borrow::Cow;

use super::small::Small;

/// A header as a `(name, value)` pair. Header lists are slices of these, in wire order.
pub type Header = (String, String);

/// HTTP whitespace (TAB, LF, CR, SP), Fetch "HTTP whitespace".
#[inline]
pub(crate) fn is_http_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | b' ')
}

#[inline]
/// "Normalize" a header value: strip leading and trailing HTTP whitespace (Fetch §2.2.2).
pub fn normalize_value(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_ascii() && is_http_ws(c as u8))
}

/// ASCII case-insensitive equality (lengths first).
#[inline]
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

/// RFC 9110 `tchar`, as a 256-entry table.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// RFC 9110 `token`: one or more `tchar`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether any header in `list` has `name` (byte-case-insensitive).
pub fn contains(list: &[Header], name: &str) -> bool {
    list.iter().any(|(n, _)| eq_ci(n, name))
}

/// Fetch "get": all values for `name` joined by `", "`, or `None` when absent (R6).
///
/// ```
/// use preflight::browser::headers::get;
/// let h = vec![("A".to_string(), "1".to_string()), ("a".to_string(), "2".to_string())];
/// assert_eq!(get(&h, "a").as_deref(), Some("1, 2"));
/// assert_eq!(get(&h, "b"), None);
/// ```
pub fn get<'a>(list: &'a [Header], name: &str) -> Option<Cow<'a, str>> {
    let mut it = list.iter().filter(|(n, _)| eq_ci(n, name));
    let first = it.next()?;
    let mut out: Option<String> = None;
    for (_, v) in it {
        let s = out.get_or_insert_with(|| first.1.clone());
        s.push_str(", ");
        s.push_str(v);
    }
    Some(match out {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(first.1.as_str()),
    })
}

/// [`get`] over a borrowed header list (the model's request-side lists).
pub(crate) fn get_ref<'a>(list: &[(&'a str, &'a str)], name: &str) -> Option<Cow<'a, str>> {
    let mut it = list.iter().filter(|(n, _)| eq_ci(n, name));
    let &(_, first) = it.next()?;
    let mut out: Option<String> = None;
    for (_, v) in it {
        let s = out.get_or_insert_with(|| first.to_string());
        s.push_str(", ");
        s.push_str(v);
    }
    Some(match out {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(first),
    })
}

/// [`contains`] over a borrowed header list.
pub(crate) fn contains_ref(list: &[(&str, &str)], name: &str) -> bool {
    list.iter().any(|(n, _)| eq_ci(n, name))
}

/// Number of header lines named `name`.
pub(crate) fn count(list: &[Header], name: &str) -> usize {
    list.iter().filter(|(n, _)| eq_ci(n, name)).count()
}

/// Fetch "extract header list values" for a `#token` list header such as
/// `Access-Control-Allow-Methods` (`#method`) or `Access-Control-Allow-Headers`
/// (`#field-name`): `None` when absent, `Err(item)` when an item is not a token (the first bad
/// item), otherwise every non-empty item of every line, in order (R25).
pub fn extract_token_list<'a>(
    list: &'a [Header],
    name: &str,
) -> Option<Result<Vec<&'a str>, &'a str>> {
    let mut items: TokenList<'a> = Small::new();
    token_list_into(list, name, &mut items).map(|r| r.map(|()| items.to_vec()))
}

/// The items of a `#token` list header, inline.
pub(crate) type TokenList<'a> = Small<&'a str, 8>;

/// [`extract_token_list`] into `items` (cleared first): `None` when absent, `Err(item)` for
/// the first item that is not a token.
pub(crate) fn token_list_into<'a>(
    list: &'a [Header],
    name: &str,
    items: &mut TokenList<'a>,
) -> Option<Result<(), &'a str>> {
    items.truncate(0);
    let mut found = false;
    for (_, v) in list.iter().filter(|(n, _)| eq_ci(n, name)) {
        found = true;
        for item in v.split(',') {
            let item = item.trim_matches(|c: char| c == ' ' || c == '\t');
            if item.is_empty() {
                // RFC 9110 §5.6.1: recipients accept and ignore empty list elements.
                continue;
            }
            if !is_token(item) {
                return Some(Err(item));
            }
            items.push(item);
        }
    }
    found.then_some(Ok(()))
}

/// Fetch "get, decode, and split" (R7): split on commas outside quoted strings, strip tabs and
/// spaces, keep empty values; `None` when absent.
pub fn get_decode_split(list: &[Header], name: &str) -> Option<Vec<String>> {
    let value = get(list, name)?;
    Some(split_value(&value))
}

/// The splitting half of "get, decode, and split".
pub(crate) fn split_value(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c == '"' {
            in_quotes = true;
            cur.push(c);
        } else if c == ',' {
            out.push(cur.trim_matches([' ', '\t']).to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    out.push(cur.trim_matches([' ', '\t']).to_string());
    out
}

/// Prints a hint the way Chromium's console does: non-printable and non-ASCII characters as
/// `\uXXXX` (borrowed when there are none).
pub(crate) fn escape_hint(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            for u in c.encode_utf16(&mut [0u16; 2]) {
                out.push_str(&format!("\\u{:04X}", u));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn token_lists() {
        let l = h(&[("ACAM", "PUT, ,DELETE"), ("acam", "patch")]);
        assert_eq!(
            extract_token_list(&l, "acam"),
            Some(Ok(vec!["PUT", "DELETE", "patch"]))
        );
        let l = h(&[("ACAM", "Bad value")]);
        assert_eq!(extract_token_list(&l, "acam"), Some(Err("Bad value")));
        assert_eq!(extract_token_list(&l, "x"), None);
    }

    #[test]
    fn split() {
        assert_eq!(split_value("a, \"b,c\" ,,d"), vec!["a", "\"b,c\"", "", "d"]);
    }

    #[test]
    fn hint() {
        assert_eq!(escape_hint("a\u{1}é"), "a\\u0001\\u00E9");
    }
}
