//! `preflight playground` starts, prints the URL to open, serves the page and stops with
//! `--exit-after`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn playground_starts_serves_and_exits() {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["playground", "--port", "0", "--exit-after", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run preflight playground");
    let out = child.stdout.take().expect("stdout");
    let mut url = None;
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(rest) = line.trim().strip_prefix("Open ") {
            url = rest.split_whitespace().next().map(String::from);
            break;
        }
    }
    let url = url.expect("the URL to open is printed");
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(host.starts_with("127.0.0.1:"), "{url}");
    let mut s = TcpStream::connect(&host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut page = String::new();
    s.read_to_string(&mut page).expect("read");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Preflight CORS playground"), "{page}");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    assert!(t0.elapsed() < Duration::from_secs(30));
}
