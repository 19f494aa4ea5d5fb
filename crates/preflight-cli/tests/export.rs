//! `preflight export`, run as a user would.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.env("NO_COLOR", "1");
    c
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cors.toml")
}

#[test]
fn nginx_to_stdout_with_warnings_on_stderr() {
    let out = bin()
        .args([
            "export",
            "--to",
            "nginx",
            "--upstream",
            "http://10.0.0.1:9000",
        ])
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("    server 10.0.0.1:9000;"));
    assert!(stdout.contains("proxy_pass http://preflight_upstream;"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning nginx_unusual_requests"));
}

#[test]
fn strict_refuses_a_lossy_export() {
    let dir = std::env::temp_dir().join(format!("preflight-cli-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("envoy.yaml");
    let out = bin()
        .args(["export", "--to", "envoy", "--strict", "-o"])
        .arg(&target)
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("envoy_no_vary"), "{err}");
    assert!(!target.exists(), "nothing is written with --strict");
    let out = bin()
        .args(["export", "--to", "envoy", "-o"])
        .arg(&target)
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("envoy.config.route.v3.CorsPolicy"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_policy_and_usage_errors_exit_2() {
    let bad = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad.toml");
    let out = bin()
        .args(["export", "--to", "nginx"])
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["export", "--to", "caddy"])
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["export", "--to", "nginx", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
