//! Header list parsing, both sides. The input is header lines (`Name: value`); the browser
//! model's list parsers (ACAM/ACAH/ACEH `#token` lists, "get, decode, and split", max-age, the
//! CORS-unsafe request-header names) and the server's ACRH and Vary handling run on them.
//! Cross-checks: extracted items are non-empty tokens found in the input; split never loses a
//! comma outside quotes; a server ACRH verdict is bounded by MAX_ACRH_* and agrees with a naive
//! split; `merge_vary` never duplicates a name and is idempotent.
#![no_main]
use http::header::{self, HeaderMap, HeaderValue};
use http::Method;
use libfuzzer_sys::fuzz_target;
use preflight::browser::{headers, safelist, Behavior};
use preflight::policy::MAX_ACRH_BYTES;
use preflight::{merge_vary, Config, DecisionKind, Reason, VarySet};
use preflight_fuzz::parse_request;

fuzz_target!(|data: &[u8]| {
    // Browser side: string header lists.
    let text = String::from_utf8_lossy(data);
    let list: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim_start().to_string()))
        .collect();
    for name in [
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "vary",
    ] {
        if let Some(Ok(items)) = headers::extract_token_list(&list, name) {
            for it in items {
                assert!(headers::is_token(it));
            }
        }
        if let Some(parts) = headers::get_decode_split(&list, name) {
            assert!(!parts.is_empty());
            let joined = headers::get(&list, name).unwrap();
            if !joined.contains('"') {
                assert_eq!(parts.len(), joined.matches(',').count() + 1);
            }
        }
    }
    for b in [Behavior::Spec, Behavior::Chromium] {
        let _ = preflight::browser::parse_max_age(&list, b);
        let names = safelist::cors_unsafe_request_header_names(&list, b);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, names, "unsafe names are sorted and distinct");
    }
    let _ =
        preflight::browser::exposed_headers(preflight::browser::CredentialsMode::Include, &list);
    let _ = preflight::browser::exposed_headers(preflight::browser::CredentialsMode::Omit, &list);

    // Server side: ACRH lines against a policy that allows a fixed set of names.
    let mut req = parse_request(data).headers;
    req.insert(
        header::ORIGIN,
        HeaderValue::from_static("https://a.example"),
    );
    req.insert(
        header::ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("PUT"),
    );
    let policy = Config::new()
        .origins(["https://a.example"])
        .methods(["PUT"])
        .request_headers(["content-type", "x-a", "x-b"])
        .compile()
        .unwrap();
    let d = policy.evaluate(&Method::OPTIONS, "/", &req);
    let acrh: Vec<&[u8]> = req
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let total: usize = acrh.iter().map(|v| v.len()).sum();
    let names: Vec<Vec<u8>> = acrh
        .iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|n| {
            let s = String::from_utf8_lossy(n);
            s.trim_matches([' ', '\t'])
                .to_ascii_lowercase()
                .into_bytes()
        })
        .filter(|n| !n.is_empty())
        .collect();
    let naive_ok = names
        .iter()
        .all(|n| [&b"content-type"[..], b"x-a", b"x-b"].contains(&n.as_slice()));
    if total > MAX_ACRH_BYTES {
        assert_eq!(d.reason(), Some(Reason::RequestHeadersTooLarge));
    }
    if d.kind() == DecisionKind::PreflightAllow {
        assert!(
            naive_ok,
            "allowed a preflight asking for unlisted headers: {names:?}"
        );
        assert!(total <= MAX_ACRH_BYTES);
    }

    // Vary merging on arbitrary existing Vary lines.
    let mut resp = HeaderMap::new();
    for v in req.get_all(header::VARY) {
        resp.append(header::VARY, v.clone());
    }
    let all = VarySet::ORIGIN
        .with(VarySet::REQUEST_METHOD)
        .with(VarySet::REQUEST_HEADERS);
    merge_vary(&mut resp, all);
    let once: Vec<HeaderValue> = resp.get_all(header::VARY).iter().cloned().collect();
    merge_vary(&mut resp, all);
    let twice: Vec<HeaderValue> = resp.get_all(header::VARY).iter().cloned().collect();
    assert_eq!(once, twice, "merge_vary is not idempotent");
});
