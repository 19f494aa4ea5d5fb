//! `OriginPattern::parse`: never panics; a pattern's display parses back to the same pattern;
//! an exact pattern matches its own serialization and nothing else; wildcard patterns never
//! match the bare suffix or a non-label-aligned host. Input: `pattern\norigin`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::{Origin, OriginPattern};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (pat, probe) = s.split_once('\n').unwrap_or((s, ""));
    for allow_ps in [false, true] {
        let Ok(p) = OriginPattern::parse_with(pat, allow_ps) else {
            continue;
        };
        let shown = p.to_string();
        assert_eq!(
            OriginPattern::parse_with(&shown, allow_ps).as_ref(),
            Ok(&p),
            "display does not round-trip: {pat:?} -> {shown:?}"
        );
        if !pat.contains('*') {
            assert_eq!(shown, pat);
        }
        let m = p.matches(probe.as_bytes());
        match &p {
            OriginPattern::Exact(o) => {
                assert!(p.matches(o.as_str().as_bytes()));
                assert_eq!(m, probe == o.as_str());
            }
            OriginPattern::Subdomains { scheme, suffix, .. } => {
                assert!(!p.matches(format!("{scheme}://{suffix}").as_bytes()));
                if m {
                    // Whatever matches is a canonical origin strictly under the suffix, except
                    // that `xn--` labels are not decoded (documented on `OriginPattern::matches`):
                    // then only the label-aligned suffix is checked.
                    let o = match Origin::parse(probe) {
                        Ok(o) => o,
                        Err(e)
                            if probe.contains("xn--")
                                && e.to_string().contains("international") =>
                        {
                            assert!(
                                probe.ends_with(&format!(".{suffix}"))
                                    || probe.contains(&format!(".{suffix}:")),
                                "{probe} vs {suffix}"
                            );
                            continue;
                        }
                        Err(e) => panic!("a match is a canonical origin: {e:?}"),
                    };
                    let host = o.host().unwrap();
                    assert!(host.ends_with(&format!(".{suffix}")), "{host} vs {suffix}");
                    assert_eq!(o.scheme(), Some(scheme.as_str()));
                }
            }
            OriginPattern::AnyPort { scheme, host } => {
                if m {
                    let o = Origin::parse(probe).expect("a match is a canonical origin");
                    assert_eq!(o.host(), Some(host.as_str()));
                    assert_eq!(o.scheme(), Some(scheme.as_str()));
                }
            }
        }
    }
});
