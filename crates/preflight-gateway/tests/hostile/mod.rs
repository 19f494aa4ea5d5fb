//! Hostile clients over real sockets, shared by the tower, actix and gateway adversarial tests
//! (`#[path]`-included). Blocking std sockets with timeouts; every attack is followed by a
//! healthy request that must still be answered correctly.
//!
//! Bounds asserted for every server: each attack is answered (or the connection closed) within
//! [`ATTACK_DEADLINE`]; no ACAO is ever granted to a hostile request; after the whole suite the
//! process's peak RSS (VmHWM) grew by less than [`RSS_GROWTH_LIMIT`]; the server then answers
//! a normal CORS request correctly.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The policy every adversarial server runs.
pub const POLICY: &str = r#"
origins = ["https://app.example.com", "https://*.example.com"]
credentials = true
methods = ["GET", "POST", "PUT"]
request_headers = ["content-type", "x-a"]
"#;

/// Longest time any single attack may take to be answered or refused.
pub const ATTACK_DEADLINE: Duration = Duration::from_secs(10);
/// Largest peak-RSS growth tolerated over the whole suite.
pub const RSS_GROWTH_LIMIT: u64 = 64 * 1024 * 1024;

/// Peak resident set size of this process, bytes (Linux `/proc/self/status` VmHWM).
pub fn vm_hwm() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// What came back: status (0 = connection closed without a response) and the raw head.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub head: String,
    pub elapsed: Duration,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends raw bytes (the server may close early: write errors are tolerated) and reads the
/// response head.
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Raw {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(ATTACK_DEADLINE)).unwrap();
    s.set_write_timeout(Some(ATTACK_DEADLINE)).unwrap();
    for chunk in bytes.chunks(64 * 1024) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Raw {
        status,
        head,
        elapsed: start.elapsed(),
    }
}

fn request(method: &str, extra: &[u8]) -> Vec<u8> {
    let mut r =
        format!("{method} /items HTTP/1.1\r\nHost: t\r\nConnection: close\r\n").into_bytes();
    r.extend_from_slice(extra);
    r.extend_from_slice(b"\r\n");
    r
}

/// A normal allowed CORS request: must get its origin back.
pub fn assert_healthy(addr: SocketAddr) {
    let r = send_raw(
        addr,
        &request("GET", b"Origin: https://app.example.com\r\n"),
    );
    assert_eq!(r.status, 200, "healthy request failed: {}", r.head);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com"),
        "{}",
        r.head
    );
    let p = send_raw(
        addr,
        &request(
            "OPTIONS",
            b"Origin: https://a.example.com\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-a\r\n",
        ),
    );
    assert!(
        (200..300).contains(&p.status),
        "healthy preflight: {}",
        p.head
    );
    assert_eq!(
        p.header("access-control-allow-origin"),
        Some("https://a.example.com")
    );
}

fn refused(name: &str, r: &Raw) {
    assert!(r.elapsed < ATTACK_DEADLINE, "{name}: took {:?}", r.elapsed);
    assert!(
        r.header("access-control-allow-origin").is_none(),
        "{name}: granted ACAO: {}",
        r.head
    );
    eprintln!("{name}: status {} in {:?}", r.status, r.elapsed);
}

fn acrh_preflight(value: &[u8]) -> Vec<u8> {
    let mut h = b"Origin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: ".to_vec();
    h.extend_from_slice(value);
    h.extend_from_slice(b"\r\n");
    request("OPTIONS", &h)
}

/// Runs every request-level attack against `addr`; returns the peak-RSS growth in bytes.
pub fn run_attacks(addr: SocketAddr) -> u64 {
    assert_healthy(addr);
    let before = vm_hwm();

    // Many Origin headers: never a grant (the allowed one is among them).
    let mut many = Vec::new();
    for i in 0..200 {
        many.extend_from_slice(format!("Origin: https://o{i}.example.com\r\n").as_bytes());
    }
    many.extend_from_slice(b"Origin: https://app.example.com\r\n");
    refused(
        "200 Origin headers",
        &send_raw(addr, &request("GET", &many)),
    );

    // Non-UTF-8 and control bytes in Origin.
    refused(
        "non-UTF-8 Origin",
        &send_raw(
            addr,
            &request("GET", b"Origin: https://app.example.com\xff\xfe\r\n"),
        ),
    );
    refused(
        "obs-text Origin",
        &send_raw(addr, &request("GET", b"Origin: \x80\x81\x82\r\n")),
    );

    // Oversized Access-Control-Request-Headers.
    let big = |n: usize| {
        let mut v = b"x-a".to_vec();
        while v.len() < n {
            v.extend_from_slice(b",x-a");
        }
        v
    };
    refused(
        "64 KiB ACRH",
        &send_raw(addr, &acrh_preflight(&big(64 * 1024))),
    );
    refused(
        "1 MiB ACRH",
        &send_raw(addr, &acrh_preflight(&big(1024 * 1024))),
    );
    let ten_k: Vec<u8> = vec!["x-a"; 10_000].join(",").into_bytes();
    refused(
        "10,000 ACRH elements",
        &send_raw(addr, &acrh_preflight(&ten_k)),
    );
    let empties = vec![b','; 10_000];
    refused(
        "10,000 empty ACRH elements",
        &send_raw(addr, &acrh_preflight(&empties)),
    );
    let mut lines = Vec::new();
    for _ in 0..2_000 {
        lines.extend_from_slice(b"Access-Control-Request-Headers: x-a\r\n");
    }
    let mut req =
        b"Origin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n".to_vec();
    req.extend_from_slice(&lines);
    refused(
        "2,000 ACRH lines",
        &send_raw(addr, &request("OPTIONS", &req)),
    );

    // Header flood.
    let mut flood = b"Origin: https://evil.example\r\n".to_vec();
    for i in 0..5_000 {
        flood.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    refused("5,000 headers", &send_raw(addr, &request("GET", &flood)));

    // Hundreds of bad requests in a row.
    for i in 0..300 {
        let o = format!("Origin: https://evil{i}.example\r\n");
        let r = send_raw(addr, &request("GET", o.as_bytes()));
        assert!(r.header("access-control-allow-origin").is_none());
    }

    assert_healthy(addr);
    let growth = vm_hwm().saturating_sub(before);
    eprintln!("peak RSS growth over the attacks: {} KiB", growth / 1024);
    assert!(growth < RSS_GROWTH_LIMIT, "peak RSS grew by {growth} bytes");
    growth
}

/// Slow-loris: `n` clients each send a partial head and then nothing. While they hang the
/// server still answers others; returns the idle connections (drop them to release).
pub fn slow_loris(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).expect("connect");
        let _ = s.write_all(b"GET /items HTTP/1.1\r\nHost: t\r\nOrigin: https://app.exa");
        held.push(s);
    }
    assert_healthy(addr);
    held
}

/// Whether the server closed a slow-loris connection within `within`.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 1024];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue, // e.g. a 408 response, then close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}
