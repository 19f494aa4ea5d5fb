//! The Envoy export, checked structurally: Envoy cannot be installed on the build machines, so
//! the YAML is parsed and the v3 `CorsPolicy` / filter fields and their types are checked.

use preflight::Policy;
use preflight_export::to_envoy;
use serde_norway::Value;

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = v;
    for k in path {
        cur = match k.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[*k],
        };
        assert!(!cur.is_null(), "missing {k} in {path:?}");
    }
    cur
}

fn check(policy_toml: &str) -> (Value, preflight_export::Export) {
    let policy = Policy::from_toml(policy_toml).unwrap();
    let export = to_envoy(&policy);
    let doc: Value = serde_norway::from_str(&export.config)
        .unwrap_or_else(|e| panic!("not YAML: {e}\n{}", export.config));
    let hcm = get(
        &doc,
        &[
            "static_resources",
            "listeners",
            "0",
            "filter_chains",
            "0",
            "filters",
            "0",
        ],
    );
    assert_eq!(hcm["name"], "envoy.filters.network.http_connection_manager");
    let tc = &hcm["typed_config"];
    assert_eq!(
        tc["@type"],
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    );
    let filters = tc["http_filters"].as_sequence().unwrap();
    assert_eq!(filters[0]["name"], "envoy.filters.http.cors");
    assert_eq!(
        filters[0]["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
    );
    assert_eq!(filters.last().unwrap()["name"], "envoy.filters.http.router");
    let routes = get(tc, &["route_config", "virtual_hosts", "0", "routes"])
        .as_sequence()
        .unwrap();
    assert_eq!(policy.config().routes.len() + 1, routes.len());
    let mut last_len = usize::MAX;
    for r in routes {
        let prefix = r["match"]["prefix"].as_str().unwrap();
        assert!(
            prefix.len() <= last_len,
            "routes must be longest prefix first"
        );
        last_len = prefix.len();
        assert_eq!(r["route"]["cluster"], "upstream");
        let cors = get(r, &["typed_per_filter_config", "envoy.filters.http.cors"]);
        assert_eq!(
            cors["@type"],
            "type.googleapis.com/envoy.config.route.v3.CorsPolicy"
        );
        let m = cors["allow_origin_string_match"].as_sequence().unwrap();
        assert!(!m.is_empty());
        for sm in m {
            let map = sm.as_mapping().unwrap();
            assert_eq!(map.len(), 1, "one matcher kind per StringMatcher: {sm:?}");
            if let Some(e) = sm.get("exact") {
                assert!(e.is_string());
            } else {
                let re = sm["safe_regex"]["regex"].as_str().unwrap();
                assert!(
                    re == ".*" || (re.starts_with('^') && re.ends_with('$')),
                    "{re}"
                );
            }
        }
        for k in [
            "allow_methods",
            "allow_headers",
            "expose_headers",
            "max_age",
        ] {
            if let Some(v) = cors.get(k) {
                assert!(v.is_string(), "{k} must be a string: {v:?}");
            }
        }
        for k in [
            "allow_credentials",
            "allow_private_network_access",
            "forward_not_matching_preflights",
        ] {
            assert!(cors[k].is_bool(), "{k} must be a bool");
        }
        assert_eq!(cors["forward_not_matching_preflights"], false);
    }
    let cluster = get(&doc, &["static_resources", "clusters", "0"]);
    assert_eq!(cluster["name"], "upstream");
    (doc, export)
}

#[test]
fn example_policy_is_a_valid_bootstrap() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cors.toml"),
    )
    .unwrap();
    let (doc, export) = check(&text);
    let routes = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"][0]["routes"];
    let public = &routes[0]["typed_per_filter_config"]["envoy.filters.http.cors"];
    assert_eq!(routes[0]["match"]["prefix"], "/public/");
    assert_eq!(public["allow_credentials"], false);
    let top = &routes[1]["typed_per_filter_config"]["envoy.filters.http.cors"];
    assert_eq!(top["allow_credentials"], true);
    assert_eq!(top["allow_methods"], "PUT, DELETE");
    assert_eq!(top["allow_headers"], "content-type, authorization");
    assert_eq!(top["expose_headers"], "x-request-id");
    assert_eq!(top["max_age"], "600");
    let m = top["allow_origin_string_match"].as_sequence().unwrap();
    assert_eq!(m[0]["exact"], "https://app.example.com");
    assert_eq!(
        m[1]["safe_regex"]["regex"],
        r"^https://[a-z0-9-]+(\.[a-z0-9-]+)*\.example\.com$"
    );
    assert_eq!(
        m[2]["safe_regex"]["regex"],
        r"^http://localhost(:[1-9][0-9]{0,4})?$"
    );
    for code in [
        "envoy_no_vary",
        "envoy_no_literal_star",
        "envoy_preflight_status",
        "envoy_denied_preflight_status",
        "envoy_preflight_not_checked",
        "envoy_upstream_cors_headers",
    ] {
        assert!(export.has(code), "missing {code}");
        assert!(export.config.contains(code), "{code} not commented");
    }
    assert!(!export.has("envoy_star_headers_cover_authorization"));
}

#[test]
fn every_vector_policy_exports_to_a_valid_bootstrap() {
    for (file, suite) in preflight_vectors::server_suites() {
        let (_, export) = check(&suite.policy);
        for w in &export.warnings {
            assert!(
                preflight_export::envoy::LOSS_CODES
                    .iter()
                    .any(|(c, _)| *c == w.code),
                "{file} {}: undocumented code {}",
                suite.name,
                w.code
            );
        }
    }
}

#[test]
fn status_200_and_star_headers() {
    let (_, e) = check("origins = \"*\"\nrequest_headers = \"*\"\npreflight_status = 200\n");
    assert!(!e.has("envoy_preflight_status"));
    assert!(e.has("envoy_star_headers_cover_authorization"));
    let (_, e) = check("origins = \"*\"\nrequest_headers = [\"*\", \"authorization\"]\n");
    assert!(!e.has("envoy_star_headers_cover_authorization"));
}
