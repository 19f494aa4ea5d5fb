//! `examples/cors.toml` exported to nginx: key lines of the output, and the loss codes.

use preflight::Policy;
use preflight_export::{nginx, to_nginx};

#[test]
fn example_policy_key_lines() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cors.toml"),
    )
    .unwrap();
    let e = to_nginx(&Policy::from_toml(&text).unwrap());
    let c = &e.config;
    for line in [
        "# ==== part 1: maps (http context) ====",
        "# ==== part 2: server ====",
        "map $http_origin $preflight_top_acao {",
        r#"    "~^https://app\.example\.com$" $http_origin;  # https://app.example.com"#,
        r#"    "~^https://[a-z0-9-]+(\.[a-z0-9-]+)*\.example\.com$" $http_origin;  # https://*.example.com"#,
        r#"    "~^http://localhost(:[1-9][0-9]{0,4})?$" $http_origin;  # http://localhost:*"#,
        r#"    "~^(GET|HEAD|POST|PUT|DELETE)$" 1;"#,
        r#"    preflight_allowed "PUT, DELETE";"#,
        r#"    preflight_allowed "content-type, authorization";"#,
        r#"    actual_allowed "x-request-id";"#,
        r#"    "~^OPTIONS$" "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";"#,
        "    location ^~ /public/ {",
        "    location = /public {",
        "    location / {",
        "        if ($preflight_top_kind = preflight_allowed) { return 204; }",
        "        if ($preflight_top_kind = preflight_denied) { return 403; }",
        "        add_header Access-Control-Allow-Origin $preflight_top_out_acao always;",
        "        add_header Access-Control-Allow-Credentials $preflight_top_out_acac always;",
        "        add_header Vary $preflight_top_out_vary always;",
        "        proxy_hide_header Access-Control-Allow-Origin;",
        "upstream preflight_upstream {",
        "    server 127.0.0.1:8080;",
        "    keepalive 32;",
        "        proxy_http_version 1.1;",
        "        proxy_set_header Connection \"\";",
        "        proxy_set_header Host 127.0.0.1:8080;",
        "        proxy_pass http://preflight_upstream;",
        "    listen 80;",
    ] {
        assert!(
            c.lines().any(|l| l == line),
            "missing line {line:?} in:\n{c}"
        );
    }
    // The /public/ route allows any origin without credentials: literal `*`, no ACAC.
    assert!(c.contains("    default \"*\";"));
    assert!(!c.contains("$preflight_r1_out_acac"));
    // Never an unanchored wildcard.
    assert!(!c.contains(".*\\.example"));
    let codes: Vec<_> = e.warnings.iter().map(|w| w.code).collect();
    assert_eq!(
        codes,
        ["nginx_unusual_requests", "nginx_route_uri_normalization"]
    );
    for (code, _) in nginx::LOSS_CODES {
        if e.has(code) {
            assert!(c.contains(&format!("LOSS {code}")), "{code} not commented");
        }
    }
}
