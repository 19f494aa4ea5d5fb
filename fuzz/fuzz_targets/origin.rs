//! `Origin::parse` / `Origin::from_header`: never panic; ok ⇒ serialization == input; the
//! header parser agrees with the string parser; a pattern without `*` parses to the same origin;
//! a suggestion, when given, parses (or is itself refused for a stated reason, never a panic).
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::{Origin, OriginPattern};

fuzz_target!(|data: &[u8]| {
    let from_header = Origin::from_header(data);
    let Ok(s) = std::str::from_utf8(data) else {
        assert!(from_header.is_err());
        return;
    };
    let parsed = Origin::parse(s);
    match &parsed {
        Ok(o) => {
            assert_eq!(o.as_str(), s, "serialization differs from input");
            assert_eq!(o.to_string(), s);
            assert_eq!(from_header.as_ref().ok(), Some(o));
            assert_eq!(Origin::parse(o.as_str()).as_ref(), Ok(o));
            if !o.is_opaque() {
                let host = o.host().expect("tuple origin has a host");
                let scheme = o.scheme().expect("tuple origin has a scheme");
                let mut rebuilt = format!("{scheme}://{host}");
                if let Some(p) = o.port() {
                    rebuilt.push_str(&format!(":{p}"));
                }
                assert_eq!(rebuilt, s);
                let _ = o.registrable_domain();
                assert!(o.is_same_site(o));
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.reason();
            if let Some(sugg) = e.suggestion() {
                // A suggestion is canonical: it never suggests the input back.
                assert_ne!(sugg, s, "suggested the refused input itself");
            }
            if s.is_ascii() && !s.contains('*') {
                assert!(from_header.is_err());
            }
        }
    }
    if !s.contains('*') {
        let p = OriginPattern::parse(s);
        match (&parsed, &p) {
            (Ok(o), Ok(OriginPattern::Exact(q))) => assert_eq!(o, q),
            (Err(_), Err(_)) => {}
            _ => panic!("pattern and origin parsers disagree on {s:?}: {parsed:?} vs {p:?}"),
        }
    }
});
