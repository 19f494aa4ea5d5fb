//! The nginx export, verified against a real nginx.
//!
//! For every policy of `vectors/server/*.toml` and `examples/cors.toml`: export it, `nginx -t`
//! it, run nginx (in a temporary prefix, `master_process off`, on a free 127.0.0.1 port) in
//! front of a tiny upstream, send every vector request plus a matrix of our own through it with
//! a raw HTTP/1.1 client, and compare status and CORS headers with `Policy::evaluate`.
//! A difference is allowed only when the request belongs to a class an export warning names
//! (see `excuse`).
//!
//! The upstream answers 200 `upstream` (500 on paths containing `/fail`) and always sets its own
//! `Access-Control-Allow-Origin: *` and `Access-Control-Allow-Credentials: true`, which nginx must
//! hide: the policy alone decides.
//!
//! Needs Debian's nginx (`apt-get install -y nginx-light`). Without it the test is skipped with a
//! message, or fails when the `CI` environment variable is set.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use preflight::Policy;
use preflight_export::{to_nginx_with, Export, NginxOptions};

fn nginx_binary() -> Option<PathBuf> {
    for p in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    let out = Command::new("sh")
        .args(["-c", "command -v nginx"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// `Some(nginx)`, or `None` after printing why the test is skipped (panics under CI).
fn require_nginx() -> Option<PathBuf> {
    match nginx_binary() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "nginx is not installed but CI is set: install Debian's nginx \
             (`apt-get install -y nginx-light` or `nginx`) so the nginx export can be verified"
        ),
        None => {
            eprintln!(
                "SKIPPED: nginx is not installed (apt-get install -y nginx-light); \
                 the nginx export was not verified against a real nginx"
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Upstream

fn start_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&buf);
                let target = line.split(' ').nth(1).unwrap_or("/");
                let (status, body) = if target.contains("/fail") {
                    ("500 Internal Server Error", "upstream error")
                } else {
                    ("200 OK", "upstream")
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes());
                let _ = conn.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

// ---------------------------------------------------------------------------------------------
// nginx

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!(
        "preflight-export-nginx-{}-{n}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `nginx.conf` around the export and checks it with `nginx -t`.
fn write_conf(nginx: &Path, dir: &Path, export: &Export) {
    std::fs::write(dir.join("preflight.conf"), &export.config).unwrap();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/client_body;\n    \
         proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    \
         uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n    \
         include {d}/preflight.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nginx -t refused the export:\n{}\n--- config ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        export.config
    );
}

fn start_nginx(nginx: &Path, policy: &Policy, upstream: u16, tag: &str) -> (Nginx, Export) {
    let dir = temp_dir(tag);
    let port = free_port();
    let export = to_nginx_with(
        policy,
        &NginxOptions {
            listen: format!("127.0.0.1:{port}"),
            upstream: format!("http://127.0.0.1:{upstream}"),
        },
    );
    write_conf(nginx, &dir, &export);
    let child = Command::new(nginx)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let n = Nginx { child, port, dir };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx did not start listening; error.log:\n{}",
            std::fs::read_to_string(n.dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (n, export)
}

// ---------------------------------------------------------------------------------------------
// Requests

#[derive(Debug, Clone)]
struct Req {
    id: String,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, PartialEq, Eq)]
struct Resp {
    status: u16,
    cors: Vec<(String, String)>,
}

fn send(port: u16, r: &Req) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = format!("{} {} HTTP/1.1\r\nHost: localhost\r\n", r.method, r.path).into_bytes();
    for (n, v) in &r.headers {
        raw.extend_from_slice(n.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(v);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    s.write_all(&raw).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut cors: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .filter(|(n, _)| preflight_vectors::is_compared(n))
        .collect();
    cors.sort();
    Resp { status, cors }
}

/// What the core answers, as the test sees it through nginx and the upstream.
fn expected(policy: &Policy, r: &Req) -> Option<Resp> {
    let method = Method::from_bytes(r.method.as_bytes()).ok()?;
    let mut map = HeaderMap::new();
    for (n, v) in &r.headers {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).ok()?,
            HeaderValue::from_bytes(v).ok()?,
        );
    }
    let d = policy.evaluate(&method, &r.path, &map);
    let status = match d.status() {
        Some(s) => s.as_u16(),
        None if r.path.contains("/fail") => 500,
        None => 200,
    };
    let mut cors: Vec<(String, String)> = d
        .all_headers()
        .into_iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    cors.sort();
    Some(Resp { status, cors })
}

/// The export warning that excuses a difference on this request, if any: the encoding of
/// "differences allowed only where a warning said so".
fn excuse(export: &Export, r: &Req) -> Option<&'static str> {
    let named = |name: &str| {
        r.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .collect::<Vec<_>>()
    };
    let watched = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
        "access-control-request-private-network",
    ];
    let repeated_or_empty = watched.iter().any(|h| {
        let v = named(h);
        v.len() > 1 || v.iter().any(|(_, val)| val.is_empty())
    });
    let acrh: Vec<u8> = named("access-control-request-headers")
        .iter()
        .flat_map(|(_, v)| v.clone())
        .collect();
    let elements = acrh.split(|&b| b == b',');
    let empties = elements
        .clone()
        .filter(|e| e.iter().all(|b| *b == b' ' || *b == b'\t'))
        .count();
    let oversized = acrh.len() > 8000 || elements.count() > 256 || empties > 16;
    if export.has("nginx_unusual_requests") && (repeated_or_empty || oversized) {
        return Some("nginx_unusual_requests");
    }
    if export.has("nginx_route_uri_normalization")
        && (r.path.contains('%') || r.path.contains("/.") || r.path.contains("//"))
    {
        return Some("nginx_route_uri_normalization");
    }
    None
}

fn vector_requests(suite: &preflight_vectors::Suite) -> Vec<Req> {
    suite
        .case
        .iter()
        .filter(|c| c.handler_headers.is_empty())
        .map(|c| Req {
            id: format!("vector {}", c.id),
            method: c.method.clone(),
            path: c.path.clone(),
            headers: c.request_headers(),
        })
        .collect()
}

/// A request shape: name, method, headers besides Origin.
type Shape = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// Our own matrix: tricky origins × paths (routes, upstream errors) × request shapes.
fn matrix() -> Vec<Req> {
    let origins = [
        "https://app.example.com",
        "https://admin.example.com",
        "https://a.b.example.com",
        "https://example.com",
        "https://evilexample.com",
        "https://app.example.com.evil.com",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://app.example.com:8443",
        "http://app.example.com",
        "http://localhost",
        "http://localhost:3000",
        "http://localhost:65536",
        "http://localhost:080",
        "http://[::1]:3000",
        "null",
        "https://anyone.example",
        "*",
    ];
    let paths = [
        "/",
        "/fail",
        "/public/x",
        "/public/fail",
        "/public/admin/x",
        "/publicity",
        "/items?q=/public/",
    ];
    let b = |s: &str| s.as_bytes().to_vec();
    let shapes: Vec<Shape> = vec![
        ("get", "GET", vec![]),
        ("post", "POST", vec![("Content-Type", "text/plain")]),
        (
            "put-preflight",
            "OPTIONS",
            vec![("Access-Control-Request-Method", "PUT")],
        ),
        (
            "purge-preflight-x-trace",
            "OPTIONS",
            vec![
                ("Access-Control-Request-Method", "PURGE"),
                ("Access-Control-Request-Headers", "x-trace"),
            ],
        ),
        (
            "get-preflight-ct-auth",
            "OPTIONS",
            vec![
                ("Access-Control-Request-Method", "GET"),
                (
                    "Access-Control-Request-Headers",
                    "content-type,authorization",
                ),
            ],
        ),
        (
            "delete-preflight-spaces-empty",
            "OPTIONS",
            vec![
                ("Access-Control-Request-Method", "DELETE"),
                ("Access-Control-Request-Headers", " Content-Type ,, X-Other"),
            ],
        ),
        (
            "preflight-authorization-only",
            "OPTIONS",
            vec![
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        ),
        (
            "lowercase-put-preflight",
            "OPTIONS",
            vec![("Access-Control-Request-Method", "put")],
        ),
        ("options-without-acrm", "OPTIONS", vec![]),
        (
            "pna-preflight",
            "OPTIONS",
            vec![
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Private-Network", "true"),
            ],
        ),
    ];
    let mut out = Vec::new();
    for o in origins {
        for p in paths {
            for (name, method, hs) in &shapes {
                let mut headers = vec![("Origin".to_owned(), b(o))];
                headers.extend(hs.iter().map(|(n, v)| ((*n).to_owned(), b(v))));
                out.push(Req {
                    id: format!("{name} {o} {p}"),
                    method: (*method).to_owned(),
                    path: p.to_owned(),
                    headers,
                });
            }
        }
    }
    // Not CORS at all, on every path.
    for p in paths {
        for m in ["GET", "OPTIONS"] {
            out.push(Req {
                id: format!("no-origin {m} {p}"),
                method: m.to_owned(),
                path: p.to_owned(),
                headers: vec![],
            });
        }
    }
    out
}

struct Tally {
    sent: usize,
    excused: Vec<String>,
    failures: Vec<String>,
}

fn run_policy(
    nginx: &Path,
    upstream: u16,
    name: &str,
    policy: &Policy,
    reqs: &[Req],
    t: &mut Tally,
) {
    let (server, export) = start_nginx(nginx, policy, upstream, name);
    for r in reqs {
        let Some(want) = expected(policy, r) else {
            continue;
        };
        let got = send(server.port, r);
        t.sent += 1;
        if got == want {
            continue;
        }
        let line = format!(
            "[{name}] {}: {} {} {:?}\n    core:  {want:?}\n    nginx: {got:?}",
            r.id,
            r.method,
            r.path,
            r.headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(&v[..v.len().min(60)])))
                .collect::<Vec<_>>()
        );
        match excuse(&export, r) {
            Some(code) => t.excused.push(format!("{code}: {line}")),
            None => t.failures.push(line),
        }
    }
}

#[test]
fn nginx_answers_exactly_like_the_core() {
    let Some(nginx) = require_nginx() else {
        return;
    };
    let started = Instant::now();
    let upstream = start_upstream();
    let mut t = Tally {
        sent: 0,
        excused: Vec::new(),
        failures: Vec::new(),
    };
    let own = matrix();

    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cors.toml"),
    )
    .unwrap();
    let policy = Policy::from_toml(&example).unwrap();
    run_policy(&nginx, upstream, "examples-cors", &policy, &own, &mut t);

    for (file, suite) in preflight_vectors::server_suites() {
        let policy = Policy::from_toml(&suite.policy)
            .unwrap_or_else(|e| panic!("{file} {}: {e}", suite.name));
        let mut reqs = vector_requests(&suite);
        reqs.extend(own.iter().cloned());
        run_policy(&nginx, upstream, &suite.name, &policy, &reqs, &mut t);
    }

    eprintln!(
        "nginx export: {} requests compared in {:.1?}, {} differences excused by export warnings, {} unexcused",
        t.sent,
        started.elapsed(),
        t.excused.len(),
        t.failures.len()
    );
    for f in &t.failures {
        eprintln!("FAIL {}", f.lines().next().unwrap_or_default());
    }
    for e in &t.excused {
        eprintln!("excused {e}");
    }
    assert!(t.sent > 1000, "too few requests compared: {}", t.sent);
    assert!(
        t.failures.is_empty(),
        "{} responses differ from Policy::evaluate without an export warning excusing them:\n{}",
        t.failures.len(),
        t.failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn upstream_errors_carry_the_cors_headers() {
    let Some(nginx) = require_nginx() else {
        return;
    };
    let upstream = start_upstream();
    let policy = Policy::from_toml(
        "origins = [\"https://app.example.com\"]\ncredentials = true\nexpose_headers = [\"x-request-id\"]\n",
    )
    .unwrap();
    let (server, _export) = start_nginx(&nginx, &policy, upstream, "errors");
    let r = Req {
        id: "error".into(),
        method: "GET".into(),
        path: "/fail".into(),
        headers: vec![("Origin".into(), b"https://app.example.com".to_vec())],
    };
    let got = send(server.port, &r);
    assert_eq!(got.status, 500);
    assert_eq!(
        got.cors,
        vec![
            ("access-control-allow-credentials".into(), "true".into()),
            (
                "access-control-allow-origin".into(),
                "https://app.example.com".into()
            ),
            ("access-control-expose-headers".into(), "x-request-id".into()),
            ("vary".into(), "Origin".into()),
        ],
        "the upstream's 500 must carry the policy's headers (add_header ... always) and not the upstream's own"
    );
}
