//! The gateway under hostile clients and a hostile upstream, over real sockets on 127.0.0.1.
//! Bounds: see `hostile/mod.rs` (10 s per attack, < 64 MiB peak-RSS growth, no ACAO for any
//! hostile request); slow-loris connections are closed by the 1 s header-read timeout set
//! here; a hanging upstream gives 504 within the 1 s upstream timeout set here (bound 5 s), a
//! resetting one 502, both with the policy's CORS headers.

mod hostile;
use hostile as adversarial;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use preflight::Policy;
use preflight_gateway::{Gateway, GatewayConfig, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// `ok`: answers 200; `hang`: reads the request and never answers; `reset`: closes at once.
async fn upstream(kind: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    if kind == "reset" {
                        drop(s);
                        return;
                    }
                }
                match kind {
                    "hang" => tokio::time::sleep(Duration::from_secs(3600)).await,
                    _ => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nupstream")
                            .await;
                    }
                }
            });
        }
    });
    addr
}

async fn gateway(up: SocketAddr) -> Running {
    let mut cfg = GatewayConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        format!("http://{up}").parse().unwrap(),
    );
    cfg.header_read_timeout = Duration::from_secs(1);
    cfg.upstream_timeout = Duration::from_secs(1);
    Gateway::new(cfg, Policy::from_toml(adversarial::POLICY).unwrap().into())
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_survives_hostile_clients() {
    let gw = gateway(upstream("ok").await).await;
    let addr = gw.addr();
    tokio::task::spawn_blocking(move || {
        adversarial::run_attacks(addr);
        let mut held = adversarial::slow_loris(addr, 100);
        let start = Instant::now();
        for s in held.iter_mut().take(5) {
            assert!(
                adversarial::closed_within(s, Duration::from_secs(5)),
                "slow-loris connection kept open"
            );
        }
        eprintln!("slow-loris connections closed after {:?}", start.elapsed());
        drop(held);
        adversarial::assert_healthy(addr);
    })
    .await
    .unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_carry_cors_headers_when_upstream_hangs_or_resets() {
    for (kind, want) in [("hang", 504), ("reset", 502)] {
        let gw = gateway(upstream(kind).await).await;
        let addr = gw.addr();
        tokio::task::spawn_blocking(move || {
            for _ in 0..3 {
                let r = adversarial::send_raw(
                    addr,
                    b"GET /items HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://app.example.com\r\n\r\n",
                );
                assert_eq!(r.status, want, "{kind}: {}", r.head);
                assert!(r.elapsed < Duration::from_secs(5), "{kind}: took {:?}", r.elapsed);
                assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example.com"), "{kind}: {}", r.head);
                assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
                // A disallowed origin gets the error without a grant.
                let r = adversarial::send_raw(
                    addr,
                    b"GET /items HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://evil.example\r\n\r\n",
                );
                assert_eq!(r.status, want);
                assert!(r.header("access-control-allow-origin").is_none());
            }
            // Preflights never reach the upstream: still answered.
            let p = adversarial::send_raw(
                addr,
                b"OPTIONS /items HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://a.example.com\r\nAccess-Control-Request-Method: PUT\r\n\r\n",
            );
            assert!((200..300).contains(&p.status), "{kind}: {}", p.head);
        })
        .await
        .unwrap();
        gw.shutdown().await;
    }
}
