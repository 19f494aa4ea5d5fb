//! The gateway's upstream connections over real sockets: keep-alive reuse, bodies read to the
//! end before reuse, an upstream that closes idle connections, several accept-loop threads.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Either, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use preflight::Policy;
use preflight_gateway::{Gateway, GatewayConfig, Running};
use tokio::net::{TcpListener, TcpStream};

const POLICY: &str = r#"origins = ["https://app.example.com"]"#;
const BIG: usize = 1 << 20;

/// A body that never ends (64 KiB chunks for as long as someone reads).
struct Endless;

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(
            &[b'y'; 65536],
        )))))
    }
}

/// A keep-alive upstream (hyper): `/big` answers 1 MiB, `/endless` a body that never ends,
/// everything else "ok". Counts the
/// connections it accepted and the requests it answered. With `close_after_each`, it ends every
/// connection after one response without saying so (no `Connection: close`): what an upstream
/// with a short keep-alive timeout does to an idle pooled connection.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn upstream(close_after_each: bool) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let r = r.clone();
            tokio::spawn(async move {
                let served = Arc::new(AtomicUsize::new(0));
                let svc = {
                    let served = served.clone();
                    service_fn(move |req: Request<Incoming>| {
                        r.fetch_add(1, Ordering::SeqCst);
                        served.fetch_add(1, Ordering::SeqCst);
                        let body = match req.uri().path() {
                            "/big" => Either::Left(Full::new(Bytes::from(vec![b'x'; BIG]))),
                            "/endless" => Either::Right(Endless),
                            _ => Either::Left(Full::new(Bytes::from_static(b"ok"))),
                        };
                        async move { Ok::<_, Infallible>(Response::new(body)) }
                    })
                };
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc);
                if close_after_each {
                    let mut conn = std::pin::pin!(conn);
                    // Serve until one response is out, then drop the socket.
                    loop {
                        tokio::select! {
                            _ = conn.as_mut() => return,
                            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                                if served.load(Ordering::SeqCst) > 0 {
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                    return;
                                }
                            }
                        }
                    }
                } else {
                    let _ = conn.await;
                }
            });
        }
    });
    Upstream {
        addr,
        connections,
        requests,
    }
}

async fn gateway(up: &Upstream, threads: usize) -> Running {
    let mut cfg = GatewayConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        format!("http://{}", up.addr).parse().unwrap(),
    );
    cfg.threads = threads;
    Gateway::new(cfg, Policy::from_toml(POLICY).unwrap().into())
        .start()
        .await
        .unwrap()
}

/// One GET over a new client connection; returns (status, ACAO, body length).
async fn get(addr: SocketAddr, path: &str) -> (u16, Option<String>, usize) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", "gateway.test")
        .header("origin", "https://app.example.com")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let acao = res
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, acao, body.len())
}

#[tokio::test]
async fn sequential_requests_reuse_one_upstream_connection() {
    let up = upstream(false).await;
    let gw = gateway(&up, 1).await;
    for i in 0..20 {
        let path = if i % 5 == 0 { "/big" } else { "/" };
        let (status, acao, len) = get(gw.addr(), path).await;
        assert_eq!(status, 200);
        assert_eq!(acao.as_deref(), Some("https://app.example.com"));
        assert_eq!(len, if path == "/big" { BIG } else { 2 });
    }
    assert_eq!(up.requests.load(Ordering::SeqCst), 20);
    assert_eq!(
        up.connections.load(Ordering::SeqCst),
        1,
        "every request after the first should reuse the idle upstream connection"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_body_dropped_early_costs_its_connection_not_the_next_request() {
    let up = upstream(false).await;
    let gw = gateway(&up, 1).await;
    // Read only the head of an answer that never ends, then drop the client connection.
    {
        let s = TcpStream::connect(gw.addr()).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        let req = Request::get("/endless")
            .header("host", "gateway.test")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let res = send.send_request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let mut body = res.into_body();
        let first = body.frame().await.unwrap().unwrap();
        assert!(first.is_data());
        let res = body;
        drop(res);
        drop(send);
        task.abort();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..5 {
        assert_eq!(
            get(gw.addr(), "/").await,
            (200, Some("https://app.example.com".into()), 2)
        );
    }
    // The half-read connection was closed; the second one is reused by all five.
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_upstream_closing_idle_connections_is_not_seen_by_clients() {
    let up = upstream(true).await;
    let gw = gateway(&up, 1).await;
    for _ in 0..10 {
        assert_eq!(
            get(gw.addr(), "/").await,
            (200, Some("https://app.example.com".into()), 2)
        );
        // Let the upstream close the idle connection (it does ~25 ms after answering) and the
        // gateway notice; generous for a loaded machine. A request sent on a connection the
        // upstream closes at that very moment can fail (as with any HTTP/1.1 pool), which is
        // why the test waits instead of racing.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 10);
    gw.shutdown().await;
}

#[tokio::test]
async fn several_accept_loops_serve_concurrent_clients_and_shut_down() {
    let up = upstream(false).await;
    let gw = gateway(&up, 3).await;
    let addr = gw.addr();
    let mut tasks = Vec::new();
    for i in 0..60 {
        tasks.push(tokio::spawn(async move {
            get(addr, if i % 10 == 0 { "/big" } else { "/" }).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, acao, len) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(acao.as_deref(), Some("https://app.example.com"));
        assert_eq!(len, if i % 10 == 0 { BIG } else { 2 });
    }
    assert_eq!(up.requests.load(Ordering::SeqCst), 60);
    // Every accept loop keeps its own connections, all bounded by the concurrency.
    assert!(up.connections.load(Ordering::SeqCst) <= 60);
    tokio::time::timeout(Duration::from_secs(10), gw.shutdown())
        .await
        .expect("shutdown of every accept loop");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}
