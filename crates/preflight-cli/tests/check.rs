//! `preflight check` against real servers on 127.0.0.1: an axum app behind the project's own
//! `preflight_tower::CorsLayer`, and deliberately broken handlers, one per failure kind.

use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, Response, StatusCode};
use axum::routing::any;
use axum::Router;
use preflight_tower::CorsLayer;
use serde_json::Value;

const APP: &str = "https://app.test";

const POLICY: &str = r#"
origins = ["https://app.test", "https://*.example.com"]
credentials = true
methods = ["PUT", "DELETE"]
request_headers = ["x-api-key"]
expose_headers = ["x-total"]
"#;

/// Requests the broken server saw: "METHOD /path origin".
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let good = Router::new()
            .route("/good/{*rest}", any(good))
            .layer(CorsLayer::from_toml(POLICY).unwrap());
        let app = Router::new().route("/b/{case}", any(broken)).merge(good);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        port
    })
}

async fn good() -> Response<Body> {
    Response::builder()
        .header("x-total", "5")
        .header("x-secret", "s")
        .body(Body::from("ok"))
        .unwrap()
}

async fn broken(Path(case): Path<String>, method: Method, headers: HeaderMap) -> Response<Body> {
    let origin = headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    SEEN.lock()
        .unwrap()
        .push(format!("{method} /b/{case} {origin}"));
    let pre = method == Method::OPTIONS;
    let other = format!("http://other.test:{}", port());
    let mut b = Response::builder().status(StatusCode::OK);
    let h: Vec<(&str, String)> = match (case.as_str(), pre) {
        ("no-acao", _) => vec![],
        ("wildcard", _) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-credentials", "true".into()),
        ],
        ("multi", _) => vec![
            ("access-control-allow-origin", APP.into()),
            ("access-control-allow-origin", "https://b.test".into()),
        ],
        ("mismatch", _) => vec![("access-control-allow-origin", "https://other.test".into())],
        ("bad-acac", _) => vec![
            ("access-control-allow-origin", APP.into()),
            ("access-control-allow-credentials", "True".into()),
        ],
        ("pre-404", true) => {
            b = b.status(404);
            vec![("access-control-allow-origin", "*".into())]
        }
        ("pre-500", true) => {
            b = b.status(500);
            vec![("access-control-allow-origin", "*".into())]
        }
        ("pre-redirect", true) => {
            b = b.status(302);
            vec![
                ("access-control-allow-origin", "*".into()),
                ("location", "/b/no-acao".into()),
            ]
        }
        ("bad-acam", true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-methods", "Bad value".into()),
        ],
        ("bad-acah", true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-methods", "PUT".into()),
            ("access-control-allow-headers", "x y".into()),
        ],
        ("method-na", true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-methods", "GET, POST".into()),
        ],
        ("header-na", true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-headers", "x-other".into()),
        ],
        ("no-aceh", _) => vec![
            ("access-control-allow-origin", "*".into()),
            ("x-total", "5".into()),
        ],
        // A cross-origin redirect: the origin becomes tainted (Origin: null).
        ("redirect-cross", _) => {
            b = b.status(302);
            vec![
                ("access-control-allow-origin", APP.into()),
                ("location", format!("{other}/b/echo-app")),
            ]
        }
        ("echo-app", _) => vec![("access-control-allow-origin", APP.into())],
        ("redirect-star", _) => {
            b = b.status(302);
            vec![
                ("access-control-allow-origin", "*".into()),
                ("location", format!("{other}/b/star")),
            ]
        }
        ("star", _) => vec![("access-control-allow-origin", "*".into())],
        // PUT with x-api-key: preflight ok, then a 307 to another origin, which needs a
        // second preflight (from origin null).
        ("redirect-put", true) => vec![
            ("access-control-allow-origin", APP.into()),
            ("access-control-allow-methods", "PUT".into()),
            ("access-control-allow-headers", "x-api-key".into()),
        ],
        ("redirect-put", false) => {
            b = b.status(307);
            vec![
                ("access-control-allow-origin", APP.into()),
                ("location", format!("{other}/b/second")),
            ]
        }
        ("second", true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-methods", "PUT".into()),
            ("access-control-allow-headers", "x-api-key".into()),
        ],
        ("second", false) => vec![("access-control-allow-origin", "*".into())],
        ("loop", _) => {
            b = b.status(302);
            vec![
                ("access-control-allow-origin", "*".into()),
                ("location", "/b/loop".into()),
            ]
        }
        (_, true) => vec![
            ("access-control-allow-origin", "*".into()),
            ("access-control-allow-methods", "PUT".into()),
            ("access-control-allow-headers", "x-api-key".into()),
        ],
        _ => vec![("access-control-allow-origin", "*".into())],
    };
    for (n, v) in h {
        b = b.header(n, v);
    }
    b.body(Body::empty()).unwrap()
}

fn url(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", port())
}

fn check(args: &[&str]) -> Output {
    port();
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .arg("check")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Runs `check --json` and returns the exit code and the single JSON object.
fn json(path: &str, extra: &[&str]) -> (i32, Value) {
    let u = url(path);
    let resolve = format!("other.test:{}:127.0.0.1", port());
    let mut args = vec![u.as_str(), "--origin", APP, "--json", "--resolve", &resolve];
    args.extend_from_slice(extra);
    let out = check(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn reason(v: &Value) -> &str {
    v["reason"].as_str().unwrap_or("none")
}

#[test]
fn allowed_through_cors_layer_with_credentials_and_exposed_headers() {
    let (code, v) = json(
        "/good/x",
        &[
            "-X",
            "put",
            "-H",
            "X-Api-Key: k",
            "--credentials",
            "include",
            "--cookie",
            "s=1",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "allowed");
    assert_eq!(v["preflight"], true);
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 2);
    // The preflight exactly as a browser sends it, without credentials.
    assert_eq!(ex[0]["kind"], "preflight");
    assert_eq!(ex[0]["method"], "OPTIONS");
    let pre: Vec<(String, String)> =
        serde_json::from_value(ex[0]["request_headers"].clone()).unwrap();
    assert!(pre.contains(&("Origin".into(), APP.into())));
    assert!(pre.contains(&("Accept".into(), "*/*".into())));
    assert!(pre.contains(&("Access-Control-Request-Method".into(), "PUT".into())));
    assert!(pre.contains(&("Access-Control-Request-Headers".into(), "x-api-key".into())));
    assert!(!pre.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie")));
    // The actual request carries the cookie (redacted in the report).
    let act: Vec<(String, String)> =
        serde_json::from_value(ex[1]["request_headers"].clone()).unwrap();
    assert!(act.contains(&("Cookie".into(), "[redacted]".into())));
    assert_eq!(v["readable"]["status"], 200);
    let readable = v["readable"]["headers"].to_string();
    assert!(readable.contains("x-total"), "{readable}");
    assert!(!readable.contains("x-secret"), "{readable}");
}

#[test]
fn json_schema_fields() {
    let (_, v) = json("/b/star", &[]);
    for key in [
        "url",
        "origin",
        "method",
        "headers",
        "credentials",
        "behavior",
        "verdict",
        "preflight",
        "failure_stage",
        "reason",
        "message",
        "fix",
        "dropped_headers",
        "readable",
        "network_error",
        "exchanges",
        "steps",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["behavior"], "chromium");
    assert_eq!(v["preflight"], false);
    assert!(v["steps"].as_array().unwrap().len() >= 2);
}

#[test]
fn every_server_caused_failure_kind() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        ("/b/no-acao", &[], "missing_allow_origin_header", "actual"),
        (
            "/b/wildcard",
            &["--credentials", "include"],
            "wildcard_origin_not_allowed",
            "actual",
        ),
        ("/b/multi", &[], "multiple_allow_origin_values", "actual"),
        ("/b/mismatch", &[], "allow_origin_mismatch", "actual"),
        (
            "/b/bad-acac",
            &["--credentials", "include"],
            "invalid_allow_credentials",
            "actual",
        ),
        (
            "/b/pre-404",
            &["-X", "PUT"],
            "preflight_invalid_status",
            "preflight",
        ),
        (
            "/b/pre-500",
            &["-X", "PUT"],
            "preflight_invalid_status",
            "preflight",
        ),
        (
            "/b/pre-redirect",
            &["-X", "PUT"],
            "preflight_disallowed_redirect",
            "preflight",
        ),
        (
            "/b/bad-acam",
            &["-X", "PATCH"],
            "invalid_allow_methods_preflight_response",
            "preflight",
        ),
        (
            "/b/bad-acah",
            &["-X", "PUT", "-H", "X-A: 1"],
            "invalid_allow_headers_preflight_response",
            "preflight",
        ),
        (
            "/b/method-na",
            &["-X", "DELETE"],
            "method_disallowed_by_preflight_response",
            "preflight",
        ),
        (
            "/b/header-na",
            &["-H", "X-Api-Key: 1"],
            "header_disallowed_by_preflight_response",
            "preflight",
        ),
        ("/b/loop", &[], "too_many_redirects", "actual"),
    ];
    for (path, extra, want, stage) in cases {
        let (code, v) = json(path, extra);
        assert_eq!(code, 1, "{path}: {v}");
        assert_eq!(v["verdict"], "blocked", "{path}");
        assert_eq!(reason(&v), *want, "{path}: {v}");
        assert_eq!(v["failure_stage"], *stage, "{path}");
        let msg = v["message"].as_str().unwrap_or("");
        assert!(
            msg.contains("has been blocked by CORS policy") || *want == "too_many_redirects",
            "{path}: {msg}"
        );
        assert!(!v["fix"].as_str().unwrap_or("").is_empty(), "{path}");
    }
    // The loop really followed 20 redirects: 21 requests were sent.
    let (_, v) = json("/b/loop", &[]);
    assert_eq!(v["exchanges"].as_array().unwrap().len(), 21);
}

#[test]
fn missing_expose_headers_hides_the_header() {
    let (code, v) = json("/b/no-aceh", &[]);
    assert_eq!(code, 0);
    let readable = v["readable"]["headers"].to_string();
    assert!(!readable.contains("x-total"), "{readable}");
    let out = check(&[&url("/b/no-aceh"), "--origin", APP]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Script sees: status 200"), "{text}");
}

#[test]
fn redirect_taints_origin() {
    let (code, v) = json("/b/redirect-cross", &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v), "allow_origin_mismatch");
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 2);
    assert!(ex[1]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://other.test:"));
    assert!(ex[1]["request_headers"]
        .to_string()
        .contains(r#"["Origin","null"]"#));
    assert!(v["message"].as_str().unwrap().contains("(redirected from"));
    // The server really received Origin: null.
    assert!(SEEN
        .lock()
        .unwrap()
        .iter()
        .any(|s| s == "GET /b/echo-app null"));
    let (code, _) = json("/b/redirect-star", &[]);
    assert_eq!(code, 0);
}

#[test]
fn redirect_needs_second_preflight() {
    let (code, v) = json("/b/redirect-put", &["-X", "PUT", "-H", "X-Api-Key: 1"]);
    assert_eq!(code, 0, "{v}");
    let kinds: Vec<&str> = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["preflight", "actual", "preflight", "actual"]);
    let seen = SEEN.lock().unwrap();
    assert!(
        seen.iter().any(|s| s == "OPTIONS /b/second null"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s == "PUT /b/second null"), "{seen:?}");
}

#[test]
fn human_output_and_forbidden_header_warning() {
    let out = check(&[
        &url("/b/method-na"),
        "--origin",
        APP,
        "-X",
        "DELETE",
        "-H",
        "Cookie: a=b",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Cookie is forbidden"), "{err}");
    assert!(text.contains("→ OPTIONS"), "{text}");
    assert!(
        text.contains("Access-Control-Request-Method: DELETE"),
        "{text}"
    );
    assert!(
        text.contains("access-control-allow-methods: GET, POST"),
        "{text}"
    );
    assert!(text.contains("Verdict: BLOCKED at the preflight"), "{text}");
    assert!(text.contains("Console: Access to fetch at"), "{text}");
    assert!(text.contains("Fix: "), "{text}");
    assert!(!text.contains('\x1b'), "no colours when piped");
}

#[test]
fn exit_codes_usage_and_network() {
    // 2: usage errors.
    assert_eq!(check(&[&url("/b/star")]).status.code(), Some(2));
    assert_eq!(
        check(&[&url("/b/star"), "--origin", APP, "-H", "nocolon"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(check(&["ftp://x/", "--origin", APP]).status.code(), Some(2));
    // 3: a closed port.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = l.local_addr().unwrap().port();
    drop(l);
    let (code, v) = {
        let out = check(&[
            &format!("http://127.0.0.1:{closed}/"),
            "--origin",
            APP,
            "--json",
        ]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    assert_eq!(code, 3);
    assert_eq!(v["verdict"], "network-error");
    assert_eq!(v["network_error"]["kind"], "connect");
    // 3: TLS to a server that does not speak TLS.
    let out = check(&[
        &format!("https://127.0.0.1:{}/b/star", port()),
        "--origin",
        APP,
        "--json",
        "--timeout",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["network_error"]["kind"], "tls", "{v}");
}

#[test]
fn junit_report() {
    let dir = std::env::temp_dir().join(format!("preflight-check-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.xml");
    let out = check(&[
        &url("/b/no-acao"),
        "--origin",
        APP,
        "--junit",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains(r#"tests="1" failures="1" errors="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="missing_allow_origin_header">"#),
        "{xml}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn matrix_mode() {
    let dir = std::env::temp_dir().join(format!("preflight-check-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.toml");
    std::fs::write(
        &file,
        format!(
            r#"urls = ["{}", "{}"]
origins = ["{APP}", "https://evil.test"]
methods = ["GET", "PUT"]
headers = [[], ["X-Api-Key: 1"]]
credentials = ["include"]
"#,
            url("/good/a"),
            url("/b/star"),
        ),
    )
    .unwrap();
    let out = check(&[
        "--matrix",
        file.to_str().unwrap(),
        "--json",
        "--concurrency",
        "3",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2 * 2 * 2 * 2);
    assert_eq!(out.status.code(), Some(1));
    // Results come back in matrix order.
    assert_eq!(lines[0]["url"], url("/good/a"));
    assert_eq!(lines[0]["verdict"], "allowed");
    let evil_good = &lines[4];
    assert_eq!(evil_good["origin"], "https://evil.test");
    assert_eq!(evil_good["verdict"], "blocked");
    // /b/star sends ACAO * which fails with credentials.
    assert_eq!(lines[8]["reason"], "wildcard_origin_not_allowed");
    let out = check(&["--matrix", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VERDICT"), "{text}");
    assert!(
        text.contains("16 checks: 4 allowed, 12 blocked, 0 network errors"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn drift_mode() {
    let dir = std::env::temp_dir().join(format!("preflight-check-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let same = dir.join("same.toml");
    std::fs::write(&same, POLICY).unwrap();
    let out = check(&[&url("/good/x"), "--policy", same.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 drifted"), "{text}");

    // The deployed server has drifted from this policy: one more method, one more header,
    // no credentials, another expose list.
    let drifted = dir.join("drifted.toml");
    std::fs::write(
        &drifted,
        r#"origins = ["https://app.test", "https://*.example.com", "https://new.test"]
credentials = false
methods = ["PUT", "DELETE", "PATCH"]
request_headers = ["x-api-key", "x-trace"]
expose_headers = ["x-total", "x-page"]
"#,
    )
    .unwrap();
    let out = check(&[
        &url("/good/x"),
        "--policy",
        drifted.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["drift"], true);
    let fields: Vec<String> = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["differences"].as_array().unwrap().clone())
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Credentials",
        "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers",
        "Access-Control-Expose-Headers",
        "status",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
    }
    // A policy that does not parse is a usage error.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "origins = 3").unwrap();
    assert_eq!(
        check(&[&url("/good/x"), "--policy", bad.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
