//! `preflight scan` against a zoo of CORS configurations on 127.0.0.1: one path per
//! misconfiguration class (`/v/<class id>`) and correctly configured paths (`/ok/...`, one of
//! them served by the project's own `preflight_tower::CorsLayer`) that must yield no finding
//! at or above `low`. The zoo models an API at `api.example.test` whose SPA is
//! `https://app.example.test` (reached with `--resolve`).

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, Response, StatusCode};
use axum::routing::any;
use axum::Router;
use preflight_tower::CorsLayer;
use serde_json::Value;

const APP: &str = "https://app.example.test";

const TOWER_POLICY: &str = r#"
origins = ["https://app.example.test"]
credentials = true
methods = ["PUT"]
request_headers = ["content-type"]
"#;

/// The vulnerable paths: class id = path, and the expected severity.
const VULNERABLE: [(&str, &str); 15] = [
    ("reflect_any_origin", "high"),
    ("prefix_match", "high"),
    ("suffix_match", "high"),
    ("unescaped_dot", "high"),
    ("substring_match", "high"),
    ("special_char_bypass", "medium"),
    ("null_origin", "high"),
    ("https_trusts_http", "medium"),
    ("wildcard_with_credentials", "low"),
    ("third_party_origin", "high"),
    ("subdomain_trust", "medium"),
    ("missing_vary_origin", "medium"),
    ("preflight_reflects_any_origin", "high"),
    ("preflight_reflects_methods_headers", "low"),
    ("pna_any_origin", "medium"),
];

/// The correct paths and the info notes they may carry (reflection without credentials is
/// public-equivalent: an `info` note, not a vulnerability).
const CORRECT: [(&str, Option<&str>); 7] = [
    ("allowlist", None),
    ("public", None),
    ("anchored", None),
    ("reflect_no_credentials", Some("reflect_any_origin")),
    ("acac_false", Some("reflect_any_origin")),
    ("partner", None),
    ("tower", None),
];

/// Requests seen, by `x-run` header value and path.
static SEEN: Mutex<Option<HashMap<(String, String), usize>>> = Mutex::new(None);

fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tower = Router::new()
            .route("/ok/tower", any(tower_ok))
            .layer(CorsLayer::from_toml(TOWER_POLICY).unwrap());
        let app = Router::new()
            .route("/v/{case}", any(vulnerable))
            .route("/ok/{case}", any(correct))
            .merge(tower)
            .layer(axum::middleware::from_fn(counter));
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

/// Counts every request the server receives, before any handler or layer answers it.
async fn counter(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    count(req.headers(), req.uri().path().to_string());
    next.run(req).await
}

fn count(headers: &HeaderMap, path: String) {
    let run = headers
        .get("x-run")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let mut g = SEEN.lock().unwrap();
    *g.get_or_insert_with(HashMap::new)
        .entry((run, path))
        .or_insert(0) += 1;
}

fn hdr<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn host_of(origin: &str) -> Option<(String, String)> {
    let o = preflight::Origin::parse(origin).ok()?;
    Some((o.scheme()?.to_string(), o.host()?.to_string()))
}

fn respond(status: u16, headers: Vec<(&str, String)>) -> Response<Body> {
    let mut b = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (n, v) in headers {
        b = b.header(n, v);
    }
    b.body(Body::from("zoo")).unwrap()
}

/// An allowlist-style answer: echo + credentials + Vary when `ok`.
fn allow(ok: bool, origin: &str, preflight: bool) -> Response<Body> {
    match (ok, preflight) {
        (true, false) => respond(
            200,
            vec![
                ("access-control-allow-origin", origin.into()),
                ("access-control-allow-credentials", "true".into()),
                ("vary", "Origin".into()),
            ],
        ),
        (true, true) => respond(
            204,
            vec![
                ("access-control-allow-origin", origin.into()),
                ("access-control-allow-credentials", "true".into()),
                ("access-control-allow-methods", "GET, POST, PUT".into()),
                ("access-control-allow-headers", "content-type".into()),
                ("vary", "Origin".into()),
            ],
        ),
        (false, false) => respond(200, vec![("vary", "Origin".into())]),
        (false, true) => respond(403, vec![("vary", "Origin".into())]),
    }
}

async fn vulnerable(Path(case): Path<String>, method: Method, h: HeaderMap) -> Response<Body> {
    let o = hdr(&h, "origin").to_string();
    let pre = method == Method::OPTIONS && !hdr(&h, "access-control-request-method").is_empty();
    let ok = match case.as_str() {
        "reflect_any_origin" => !o.is_empty(),
        "prefix_match" => o.starts_with(APP),
        "suffix_match" => o.ends_with("example.test"),
        "unescaped_dot" => {
            // `^https://app.example.test$` with the dots unescaped.
            o.len() == APP.len() && o.bytes().zip(APP.bytes()).all(|(a, b)| a == b || b == b'.')
        }
        "substring_match" => !o.is_empty() && APP.contains(o.as_str()),
        "special_char_bypass" => o.strip_prefix("https://").is_some_and(|rest| {
            // A host "parser" that stops at the first unusual character.
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .next()
                == Some("app.example.test")
        }),
        "null_origin" => o == APP || o == "null",
        "https_trusts_http" => o == APP || o == "http://app.example.test",
        "third_party_origin" => {
            o == APP || host_of(&o).is_some_and(|(s, h)| s == "https" && h.ends_with(".github.io"))
        }
        "wildcard_with_credentials" => {
            return respond(
                200,
                vec![
                    ("access-control-allow-origin", "*".into()),
                    ("access-control-allow-credentials", "true".into()),
                ],
            )
        }
        "subdomain_trust" => {
            // Trusts every subdomain of the partner's site; anyone else gets the default.
            let ok = host_of(&o).is_some_and(|(s, h)| s == "https" && h.ends_with(".partner.test"));
            let acao = if ok {
                o.clone()
            } else {
                "https://app.partner.test".into()
            };
            return respond(
                if pre { 204 } else { 200 },
                vec![
                    ("access-control-allow-origin", acao),
                    ("access-control-allow-credentials", "true".into()),
                    ("vary", "Origin".into()),
                ],
            );
        }
        "missing_vary_origin" => {
            let mut v = vec![("cache-control", "public, max-age=600".to_string())];
            if o == APP {
                v.push(("access-control-allow-origin", o.clone()));
                v.push(("access-control-allow-credentials", "true".into()));
            }
            return respond(if pre && o != APP { 403 } else { 200 }, v);
        }
        "preflight_reflects_any_origin" => {
            if pre {
                return allow(true, &o, true);
            }
            o == APP
        }
        "preflight_reflects_methods_headers" => {
            if pre && o == APP {
                return respond(
                    204,
                    vec![
                        ("access-control-allow-origin", o.clone()),
                        ("access-control-allow-credentials", "true".into()),
                        (
                            "access-control-allow-methods",
                            hdr(&h, "access-control-request-method").into(),
                        ),
                        (
                            "access-control-allow-headers",
                            hdr(&h, "access-control-request-headers").into(),
                        ),
                        ("vary", "Origin".into()),
                    ],
                );
            }
            o == APP
        }
        "pna_any_origin" => {
            if pre && hdr(&h, "access-control-request-private-network") == "true" {
                return respond(
                    204,
                    vec![
                        ("access-control-allow-origin", "*".into()),
                        ("access-control-allow-methods", "GET".into()),
                        ("access-control-allow-private-network", "true".into()),
                    ],
                );
            }
            o == APP
        }
        _ => return respond(404, vec![]),
    };
    allow(ok, &o, pre)
}

async fn correct(Path(case): Path<String>, method: Method, h: HeaderMap) -> Response<Body> {
    let o = hdr(&h, "origin").to_string();
    let pre = method == Method::OPTIONS && !hdr(&h, "access-control-request-method").is_empty();
    match case.as_str() {
        "allowlist" => allow(o == APP, &o, pre),
        "public" => respond(
            if pre { 204 } else { 200 },
            vec![
                ("access-control-allow-origin", "*".into()),
                ("access-control-allow-methods", "GET, POST".into()),
            ],
        ),
        "anchored" => {
            let ok = host_of(&o).is_some_and(|(s, h)| s == "https" && h.ends_with(".example.test"));
            allow(ok, &o, pre)
        }
        "reflect_no_credentials" | "acac_false" => {
            let mut v = vec![
                ("access-control-allow-origin", o.clone()),
                ("vary", "Origin".to_string()),
            ];
            if case == "acac_false" {
                v.push(("access-control-allow-credentials", "false".into()));
            }
            if pre {
                v.push(("access-control-allow-methods", "GET, POST".into()));
            }
            respond(if pre { 204 } else { 200 }, v)
        }
        "partner" => respond(
            if pre { 204 } else { 200 },
            vec![
                ("access-control-allow-origin", "https://partner.test".into()),
                ("access-control-allow-credentials", "true".into()),
                ("access-control-allow-methods", "GET, PUT".into()),
            ],
        ),
        _ => respond(404, vec![]),
    }
}

async fn tower_ok() -> Response<Body> {
    respond(200, vec![])
}

fn url(path: &str) -> String {
    format!("http://api.example.test:{}{path}", port())
}

fn bin(run: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.env("NO_COLOR", "1").args([
        "scan",
        "--rate",
        "0",
        "--concurrency",
        "8",
        "--resolve",
        &format!("api.example.test:{}:127.0.0.1", port()),
        "-H",
        &format!("x-run: {run}"),
    ]);
    c
}

fn scan_json(run: &str, paths: &[String], extra: &[&str]) -> (Output, Value) {
    let out = bin(run)
        .arg("--json")
        .args(extra)
        .args(paths.iter().map(|p| url(p)))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, v)
}

fn findings(target: &Value) -> Vec<(String, String)> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["class"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The measurement: detection, class accuracy, false positives, requests per URL.
#[test]
fn zoo_detection_accuracy_false_positives() {
    let mut paths: Vec<String> = VULNERABLE.iter().map(|(c, _)| format!("/v/{c}")).collect();
    paths.extend(CORRECT.iter().map(|(c, _)| format!("/ok/{c}")));
    let (out, v) = scan_json("zoo", &paths, &["--fail-on", "high"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), paths.len());
    let seen = SEEN.lock().unwrap().clone().unwrap_or_default();
    let mut table = String::from(
        "| path | expected | findings | requests (server) | ok |\n|---|---|---|---|---|\n",
    );
    let (mut detected, mut accurate, mut fp, mut info_notes, mut max_req) = (0, 0, 0, 0, 0);
    for (i, path) in paths.iter().enumerate() {
        let t = &targets[i];
        assert_eq!(t["status"], "ok", "{path}: {t}");
        let got = findings(t);
        let at_server = seen
            .get(&("zoo".to_string(), path.clone()))
            .copied()
            .unwrap_or(0);
        assert_eq!(at_server as u64, t["requests"].as_u64().unwrap(), "{path}");
        max_req = max_req.max(at_server);
        let vulns: Vec<&(String, String)> = got.iter().filter(|(_, s)| s != "info").collect();
        let (expected, ok) = if let Some((class, sev)) = VULNERABLE.get(i) {
            let hit = got.iter().any(|(c, _)| c == class);
            let exact = vulns.len() == 1 && vulns[0].0 == *class && vulns[0].1 == *sev;
            detected += usize::from(hit);
            accurate += usize::from(exact);
            (format!("{class} ({sev})"), exact)
        } else {
            let (_, note) = CORRECT[i - VULNERABLE.len()];
            fp += vulns.len();
            let infos: Vec<_> = got.iter().filter(|(_, s)| s == "info").collect();
            info_notes += infos.len();
            let notes_ok = infos.iter().all(|(c, _)| Some(c.as_str()) == note)
                && infos.len() == usize::from(note.is_some());
            (
                note.map_or("none".to_string(), |n| format!("none (info: {n})")),
                vulns.is_empty() && notes_ok,
            )
        };
        let got_s: Vec<String> = got.iter().map(|(c, s)| format!("{c} ({s})")).collect();
        table.push_str(&format!(
            "| {path} | {expected} | {} | {at_server} | {} |\n",
            if got_s.is_empty() {
                "none".into()
            } else {
                got_s.join(", ")
            },
            if ok { "yes" } else { "NO" }
        ));
    }
    println!("{table}");
    println!(
        "detection {detected}/{n}, class+severity accuracy {accurate}/{n}, false positives {fp} \
         on {c} correct paths (info notes: {info_notes}), max requests per URL {max_req}",
        n = VULNERABLE.len(),
        c = CORRECT.len()
    );
    assert_eq!(detected, VULNERABLE.len(), "{table}");
    assert_eq!(accurate, VULNERABLE.len(), "{table}");
    assert_eq!(fp, 0, "{table}");
    assert_eq!(info_notes, 2, "{table}");
    assert!(max_req <= 60, "{max_req}");
}

#[test]
fn json_schema() {
    let (out, v) = scan_json(
        "schema",
        &["/v/prefix_match".into()],
        &["--cookie", "sid=secret"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["schema"], "preflight-scan/1");
    assert_eq!(v["fail_on"], "low");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["summary"]["findings"]["high"], 1);
    let t = &v["targets"][0];
    assert_eq!(t["origin"], format!("http://api.example.test:{}", port()));
    assert!(t["trusted_origins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == APP));
    let f = &t["findings"][0];
    for key in [
        "class",
        "severity",
        "credentials",
        "origin",
        "message",
        "fix",
        "evidence",
    ] {
        assert!(!f[key].is_null(), "{key}");
    }
    assert_eq!(f["class"], "prefix_match");
    assert_eq!(
        f["origin"],
        "https://app.example.test.preflight-scan.example"
    );
    assert_eq!(f["credentials"], true);
    assert!(f["policy_line"].is_null());
    let ev = &f["evidence"];
    assert_eq!(ev["method"], "GET");
    let req = ev["request_headers"].as_array().unwrap();
    assert!(req.contains(&serde_json::json!([
        "Origin",
        "https://app.example.test.preflight-scan.example"
    ])));
    assert!(
        req.contains(&serde_json::json!(["Cookie", "[redacted]"])),
        "{req:?}"
    );
    let resp = ev["response_headers"].as_array().unwrap();
    assert!(resp.contains(&serde_json::json!([
        "access-control-allow-credentials",
        "true"
    ])));
}

#[test]
fn sarif_with_policy_and_without() {
    let dir = std::env::temp_dir().join(format!("preflight-scan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("cors.toml");
    std::fs::write(
        &policy,
        "# policy\ncredentials = true\norigins = [\"https://app.example.test\"]\n",
    )
    .unwrap();
    let sarif = dir.join("out.sarif");
    let out = bin("sarif")
        .arg("--sarif")
        .arg(&sarif)
        .arg("--policy")
        .arg(&policy)
        .arg(url("/v/suffix_match"))
        .arg(url("/v/wildcard_with_credentials"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 15);
    for (c, _) in VULNERABLE {
        assert!(rules.contains(&c), "{c}");
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let by_rule = |id: &str| results.iter().find(|r| r["ruleId"] == id).unwrap();
    let suffix = by_rule("suffix_match");
    assert_eq!(suffix["level"], "error");
    assert!(suffix["message"]["text"]
        .as_str()
        .unwrap()
        .contains("/v/suffix_match"));
    let loc = &suffix["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("cors.toml"));
    assert_eq!(loc["region"]["startLine"], 3, "origins is on line 3");
    let wild = by_rule("wildcard_with_credentials");
    assert_eq!(wild["level"], "warning");
    assert_eq!(
        wild["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert!(rules[wild["ruleIndex"].as_u64().unwrap() as usize] == "wildcard_with_credentials");

    // Without --policy: --targets file lines, or a placeholder path; never a URL.
    let targets = dir.join("targets.txt");
    std::fs::write(&targets, format!("# zoo\n\n{}\n", url("/v/null_origin"))).unwrap();
    let out = bin("sarif2")
        .arg("--sarif")
        .arg(&sarif)
        .arg("--targets")
        .arg(&targets)
        .arg(url("/v/third_party_origin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let pl = &r["locations"][0]["physicalLocation"];
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.contains("://") || uri.starts_with("file://"), "{uri}");
        assert!(pl["region"]["startLine"].as_u64().unwrap() >= 1);
        if r["ruleId"] == "null_origin" {
            assert!(uri.ends_with("targets.txt"));
            assert_eq!(pl["region"]["startLine"], 3);
        } else {
            assert_eq!(r["ruleId"], "third_party_origin");
            assert!(uri.starts_with("preflight-scan/api.example.test_"), "{uri}");
        }
        assert!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .unwrap()
                .starts_with("http://api.example.test")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fail_on_exit_codes() {
    let code = |path: &str, fail_on: &str| {
        bin("exit")
            .args(["--fail-on", fail_on])
            .arg(url(path))
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(code("/ok/allowlist", "info"), Some(0));
    assert_eq!(code("/ok/tower", "info"), Some(0));
    assert_eq!(code("/v/prefix_match", "high"), Some(1));
    assert_eq!(code("/v/wildcard_with_credentials", "low"), Some(1));
    assert_eq!(code("/v/wildcard_with_credentials", "medium"), Some(0));
    assert_eq!(code("/ok/reflect_no_credentials", "low"), Some(0));
    assert_eq!(code("/ok/reflect_no_credentials", "info"), Some(1));
}

#[test]
fn usage_and_network_errors() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["scan", "--json", "--retries", "0"])
        .arg(format!("http://127.0.0.1:{closed}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["targets"][0]["status"], "network_error");
    assert_eq!(v["targets"][0]["error"]["kind"], "connect");
    for bad in [
        vec!["scan", "ftp://x/"],
        vec!["scan"],
        vec![
            "scan",
            "--trusted-origin",
            "https://a.test/",
            "http://a.test/",
        ],
        vec!["scan", "--fail-on", "critical", "http://a.test/"],
        vec!["scan", "-H", "nocolon", "http://a.test/"],
        vec!["scan", "--targets", "/nonexistent/file", "http://a.test/"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn targets_from_stdin_and_human_output() {
    let mut child = bin("stdin")
        .args(["--targets", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(
            stdin,
            "# comment\n{}\n\n{}",
            url("/v/null_origin"),
            url("/ok/partner")
        )
        .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[HIGH] null_origin"), "{text}");
    assert!(text.contains("fix: Remove `null`"), "{text}");
    assert!(text.contains("no finding"), "{text}");
    assert!(
        text.contains("2 URL(s), 1 finding(s), 1 at or above low"),
        "{text}"
    );
}
