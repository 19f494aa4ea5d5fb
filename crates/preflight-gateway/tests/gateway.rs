//! The gateway over real sockets on 127.0.0.1: policy correctness (every server vector),
//! upstream down and back, reload under traffic, shadow mode, stripping, metrics, HTTP/2,
//! graceful shutdown, slow clients.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use preflight::Policy;
use preflight_gateway::{Gateway, GatewayConfig, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A minimal upstream: answers every request with 200 "upstream", echoing each
/// `x-handler-header: Name: value` request header as a response header; `/slow` waits 1 s;
/// `/error` answers 500; `/cors` sets its own `Access-Control-Allow-Origin: *`. Counts requests.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

async fn upstream_on(listener: TcpListener) -> Upstream {
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let h = h.clone();
            tokio::spawn(async move {
                let _ = s.set_nodelay(true);
                let head = read_head(&mut s).await;
                h.fetch_add(1, Ordering::SeqCst);
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let mut extra = String::new();
                for line in head.lines().skip(1) {
                    if let Some((n, v)) = line.split_once(':') {
                        if n.eq_ignore_ascii_case("x-handler-header") {
                            extra.push_str(v.trim());
                            extra.push_str("\r\n");
                        }
                    }
                }
                if path == "/slow" {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let status = if path == "/error" {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                if path == "/cors" {
                    extra.push_str("Access-Control-Allow-Origin: *\r\n");
                }
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: 8\r\nconnection: close\r\n{extra}\r\nupstream"
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Upstream { addr, hits, task }
}

async fn upstream() -> Upstream {
    upstream_on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

async fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

async fn gateway(
    policy: &str,
    upstream: SocketAddr,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> Running {
    let policy = Policy::from_toml(policy).unwrap();
    let mut cfg = GatewayConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        format!("http://{upstream}").parse().unwrap(),
    );
    tweak(&mut cfg);
    Gateway::new(cfg, policy.into()).start().await.unwrap()
}

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Sends one raw HTTP/1.1 request (headers as raw bytes, repeats kept) and reads the response
/// until the connection closes.
async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(String, Vec<u8>)]) -> Resp {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nhost: gateway.test\r\nconnection: close\r\n")
            .into_bytes();
    for (n, v) in headers {
        req.extend_from_slice(n.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    s.write_all(&req).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for l in lines {
        let (n, v) = l.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(n.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(i) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n =
            usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 4 + n..];
    }
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect()
}

const POLICY: &str = r#"
origins = ["https://app.example.com"]
credentials = true
methods = ["PUT"]
request_headers = ["content-type"]
"#;

#[tokio::test]
async fn every_server_vector_through_the_gateway() {
    let up = upstream().await;
    let mut failures = Vec::new();
    let mut n = 0;
    for (file, suite) in preflight_vectors::server_suites() {
        let gw = gateway(&suite.policy, up.addr, |_| {}).await;
        for case in &suite.case {
            n += 1;
            let mut headers = case.request_headers();
            for (hn, hv) in &case.handler_headers {
                headers.push((
                    "x-handler-header".into(),
                    format!("{hn}: {hv}").into_bytes(),
                ));
            }
            let before = up.hits.load(Ordering::SeqCst);
            let r = send(gw.addr(), &case.method, &case.path, &headers).await;
            let reached = up.hits.load(Ordering::SeqCst) > before;
            let at = format!("{file} / {} / {}", suite.name, case.id);
            let want_status = case.status.unwrap_or(200);
            if r.status != want_status {
                failures.push(format!("{at}: status {} != {want_status}", r.status));
            }
            if reached == case.status.is_some() {
                failures.push(format!("{at}: upstream reached = {reached}"));
            }
            let got = preflight_vectors::cors_subset(&r.headers);
            let want = case.expected_cors_headers();
            if got != want {
                failures.push(format!("{at}:\n    got  {got:?}\n    want {want:?}"));
            }
        }
        gw.shutdown().await;
    }
    assert!(n > 50);
    assert!(
        failures.is_empty(),
        "{} of {n} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn upstream_down_then_back() {
    // Reserve a port, then free it: the upstream is down.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let gw = gateway(POLICY, addr, |_| {}).await;
    let origin = h(&[("origin", "https://app.example.com")]);
    let r = send(gw.addr(), "GET", "/", &origin).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    assert!(String::from_utf8_lossy(&r.body).contains("unreachable"));
    assert_eq!(gw.metrics().upstream_errors(), 1);
    // Preflights do not need the upstream at all.
    let r = send(
        gw.addr(),
        "OPTIONS",
        "/",
        &h(&[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
        ]),
    )
    .await;
    assert_eq!(r.status, 204);
    // The upstream comes back on the same port.
    let up = upstream_on(TcpListener::bind(addr).await.unwrap()).await;
    let r = send(gw.addr(), "GET", "/", &origin).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"upstream");
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    // An upstream error response is decorated too.
    let r = send(gw.addr(), "GET", "/error", &origin).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    up.task.abort();
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_timeout_is_504_with_cors_headers() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |c| {
        c.upstream_timeout = Duration::from_millis(200)
    })
    .await;
    let r = send(
        gw.addr(),
        "GET",
        "/slow",
        &h(&[("origin", "https://app.example.com")]),
    )
    .await;
    assert_eq!(r.status, 504);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_cors_headers_are_stripped_unless_kept() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |_| {}).await;
    let r = send(
        gw.addr(),
        "GET",
        "/cors",
        &h(&[("origin", "https://evil.example")]),
    )
    .await;
    assert!(
        r.headers.get("access-control-allow-origin").is_none(),
        "the upstream's * must not leak"
    );
    let r = send(
        gw.addr(),
        "GET",
        "/cors",
        &h(&[("origin", "https://app.example.com")]),
    )
    .await;
    assert_eq!(
        r.headers
            .get_all("access-control-allow-origin")
            .iter()
            .count(),
        1
    );
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    gw.shutdown().await;

    let gw = gateway(POLICY, up.addr, |c| c.strip_upstream_cors = false).await;
    let r = send(
        gw.addr(),
        "GET",
        "/cors",
        &h(&[("origin", "https://evil.example")]),
    )
    .await;
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    gw.shutdown().await;
}

#[tokio::test]
async fn shadow_mode_changes_nothing_but_counts() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |c| c.shadow = true).await;
    let before = up.hits.load(Ordering::SeqCst);
    let r = send(
        gw.addr(),
        "OPTIONS",
        "/",
        &h(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "PUT"),
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "the upstream answered the preflight");
    assert_eq!(up.hits.load(Ordering::SeqCst), before + 1);
    assert!(preflight_vectors::cors_subset(&r.headers).is_empty());
    let r = send(
        gw.addr(),
        "GET",
        "/cors",
        &h(&[("origin", "https://evil.example")]),
    )
    .await;
    assert_eq!(
        r.headers["access-control-allow-origin"], "*",
        "upstream headers untouched"
    );
    assert_eq!(
        gw.metrics()
            .decisions("preflight_denied", "origin_not_allowed"),
        1
    );
    assert_eq!(
        gw.metrics()
            .decisions("actual_denied", "origin_not_allowed"),
        1
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn reload_under_traffic() {
    let up = upstream().await;
    let dir = std::env::temp_dir().join(format!("preflight-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cors.toml");
    std::fs::write(&file, r#"origins = ["https://old.example"]"#).unwrap();
    let gw = gateway(r#"origins = ["https://old.example"]"#, up.addr, |_| {}).await;
    let addr = gw.addr();
    // Clients keep sending while the policy changes; every answer must be one of the two
    // policies' answers, never an error.
    let traffic = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..150 {
            let r = send(addr, "GET", "/", &h(&[("origin", "https://new.example")])).await;
            assert_eq!(r.status, 200);
            seen.push(r.headers.get("access-control-allow-origin").cloned());
        }
        seen
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    // An invalid policy is refused and the old one kept.
    std::fs::write(&file, "origins = [\"https://new.example/\"]").unwrap();
    let err = preflight_gateway::reload(&file, gw.policy(), gw.metrics()).unwrap_err();
    assert!(
        err.to_string().contains("write `https://new.example`"),
        "{err}"
    );
    assert_eq!(gw.policy().load().config().origins, ["https://old.example"]);
    // A valid one takes effect.
    std::fs::write(&file, r#"origins = ["https://new.example"]"#).unwrap();
    preflight_gateway::reload(&file, gw.policy(), gw.metrics()).unwrap();
    let seen = traffic.await.unwrap();
    let first_new = seen
        .iter()
        .position(Option::is_some)
        .expect("the new policy took effect");
    assert!(seen[first_new..]
        .iter()
        .all(|v| v.as_ref().is_some_and(|v| v == "https://new.example")));
    assert_eq!(gw.metrics().reloads(), (1, 1));
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn file_watcher_reloads() {
    let up = upstream().await;
    let dir = std::env::temp_dir().join(format!("preflight-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cors.toml");
    std::fs::write(&file, r#"origins = ["https://old.example"]"#).unwrap();
    let gw = gateway(r#"origins = ["https://old.example"]"#, up.addr, |_| {}).await;
    tokio::spawn(preflight_gateway::watch_file(
        file.clone(),
        gw.policy().clone(),
        gw.metrics().clone(),
        Duration::from_millis(50),
        gw.stop_signal(),
    ));
    tokio::time::sleep(Duration::from_millis(120)).await;
    std::fs::write(
        &file,
        r#"origins = ["https://newer.example", "https://x.example"]"#,
    )
    .unwrap();
    let mut ok = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = send(
            gw.addr(),
            "GET",
            "/",
            &h(&[("origin", "https://newer.example")]),
        )
        .await;
        if r.headers.get("access-control-allow-origin").is_some() {
            ok = true;
            break;
        }
    }
    assert!(ok, "the watcher never reloaded");
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn metrics_endpoint() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |c| {
        c.metrics = Some("127.0.0.1:0".parse().unwrap())
    })
    .await;
    send(
        gw.addr(),
        "GET",
        "/",
        &h(&[("origin", "https://evil.example")]),
    )
    .await;
    let r = send(gw.metrics_addr().unwrap(), "GET", "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.contains(
            "preflight_decisions_total{decision=\"actual_denied\",reason=\"origin_not_allowed\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("# TYPE preflight_upstream_errors_total counter"));
    gw.shutdown().await;
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |_| {}).await;
    let stream = TcpStream::connect(gw.addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{}/items", gw.addr()))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let r = sender.send_request(req).await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-methods"], "PUT");
    gw.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |_| {}).await;
    let addr = gw.addr();
    let slow = tokio::spawn(async move {
        send(
            addr,
            "GET",
            "/slow",
            &h(&[("origin", "https://app.example.com")]),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.shutdown().await;
    let r = slow.await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"upstream");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn slow_client_is_cut_off_and_others_are_served() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |c| {
        c.header_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut loris = TcpStream::connect(gw.addr()).await.unwrap();
    loris
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Meanwhile another client is served.
    let r = send(
        gw.addr(),
        "GET",
        "/",
        &h(&[("origin", "https://app.example.com")]),
    )
    .await;
    assert_eq!(r.status, 200);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), loris.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the slow client was not disconnected");
    gw.shutdown().await;
}

#[tokio::test]
async fn hostile_heads_are_bounded() {
    let up = upstream().await;
    let gw = gateway(POLICY, up.addr, |_| {}).await;
    // 64 KiB of Access-Control-Request-Headers: evaluated and denied with a reason.
    let big = "x-a,".repeat(16 * 1024);
    let r = send(
        gw.addr(),
        "OPTIONS",
        "/",
        &h(&[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", &big),
        ]),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        gw.metrics()
            .decisions("preflight_denied", "request_headers_too_large"),
        1
    );
    // 1 MiB: refused by the head limit (431), the gateway keeps serving.
    let huge = "x".repeat(1024 * 1024);
    let mut s = TcpStream::connect(gw.addr()).await.unwrap();
    let req = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw)).await;
    if !raw.is_empty() {
        assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 431"));
    }
    // Non-UTF-8 Origin bytes: a denial, not a crash.
    let r = send(
        gw.addr(),
        "GET",
        "/",
        &[("origin".into(), b"https://\xff.example".to_vec())],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let r = send(
        gw.addr(),
        "GET",
        "/",
        &h(&[("origin", "https://app.example.com")]),
    )
    .await;
    assert_eq!(r.status, 200);
    gw.shutdown().await;
}
