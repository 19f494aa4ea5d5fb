//! `preflight policy lint` and `preflight policy eval`, run as a user would.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.env("NO_COLOR", "1");
    c
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    root().join("examples/cors.toml")
}

fn bad() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad.toml")
}

#[test]
fn lint_valid_exits_0() {
    let out = bin()
        .args(["policy", "lint"])
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 errors"));
}

#[test]
fn lint_reports_every_error_with_lines_and_exits_1() {
    let out = bin().args(["policy", "lint"]).arg(bad()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "bad.toml:8: error[unknown_key]: origin: unknown key; did you mean `origins`?",
        "error[invalid_origin]: origins[0] = \"https://app.example.com/\"",
        "write `https://app.example.com`",
        "error[null_origin]",
        "error[public_suffix_wildcard]",
        "bad.toml:3: error[forbidden_method]: methods[1] = \"TRACE\"",
        "bad.toml:4: error[wildcard_with_credentials]: request_headers",
        "error[forbidden_response_header]",
        "bad.toml:7: error[invalid_preflight_status]",
        "warning[max_age_above_cap]",
        "10 errors, 2 warnings",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn lint_json_schema() {
    let out = bin()
        .args(["policy", "lint", "--json"])
        .arg(bad())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 10);
    assert_eq!(v["warnings"], 2);
    let d = &v["diagnostics"][0];
    for key in ["severity", "code", "field", "value", "message", "line"] {
        assert!(d.get(key).is_some(), "diagnostic lacks {key}: {d}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = bin()
        .args(["policy", "lint", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = bin().args(["policy", "frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["policy", "eval"])
        .arg(example())
        .args(["-H", "no colon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["policy", "eval"]).arg(bad()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_preflight_json() {
    let out = bin()
        .args(["policy", "eval"])
        .arg(example())
        .args(["-X", "OPTIONS", "--path", "/items/1", "--json"])
        .args(["-H", "Origin: https://admin.example.com"])
        .args(["-H", "Access-Control-Request-Method: PUT"])
        .args([
            "-H",
            "Access-Control-Request-Headers: content-type,authorization",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "preflight_allowed");
    assert_eq!(v["status"], 204);
    assert_eq!(v["reason"], serde_json::Value::Null);
    let headers = v["headers"].as_array().unwrap();
    assert!(headers.contains(&serde_json::json!([
        "access-control-allow-origin",
        "https://admin.example.com"
    ])));
    assert!(headers.contains(&serde_json::json!([
        "access-control-allow-credentials",
        "true"
    ])));
    assert!(headers.contains(&serde_json::json!(["access-control-max-age", "600"])));
}

#[test]
fn eval_route_and_denial() {
    let out = bin()
        .args(["policy", "eval"])
        .arg(example())
        .args([
            "--path",
            "/public/logo.png",
            "--origin",
            "https://anyone.example",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "actual_allowed");
    assert_eq!(v["status"], serde_json::Value::Null);
    assert_eq!(
        v["headers"],
        serde_json::json!([
            ["access-control-allow-origin", "*"],
            ["access-control-expose-headers", "x-request-id"]
        ])
    );

    let out = bin()
        .args(["policy", "eval"])
        .arg(example())
        .args(["-X", "OPTIONS", "--origin", "https://evil.example"])
        .args(["-H", "Access-Control-Request-Method: DELETE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("preflight_denied"), "{text}");
    assert!(text.contains("403"), "{text}");
    assert!(text.contains("origin_not_allowed"), "{text}");
    assert!(text.contains("fix:"), "{text}");
}
