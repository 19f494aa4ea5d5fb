//! The scenario server: a small HTTP/1.1 server on 127.0.0.1 (std only, one thread per
//! connection, keep-alive, `TCP_NODELAY`) that answers every scenario's preflight, redirects
//! and final response exactly as written (header order and repeated names kept) and logs
//! every request it receives.
//!
//! Routes:
//! * `/page` — a blank HTML page (the page origin the fetches run in); `/page?sandbox` adds
//!   `Content-Security-Policy: sandbox allow-scripts` (an opaque `null` origin).
//! * `/s/<run>/<idx>/<hop>` — scenario `idx`: an `OPTIONS` request carrying
//!   `Access-Control-Request-Method` gets the preflight answer (or a closed connection when the
//!   scenario has none); any other request gets redirect `hop` or, past the redirects, the
//!   final response.
//! * `/ctl/<run>/<idx>/<f>` — a scenario with earlier fetches is about to make its fetch `f`
//!   (1-based): from now on `/s/<run>/<idx>/u<k>` (its `k`-th distinct URL) answers with that
//!   fetch's preflight answer, or with the next of its answers whose URL is `k`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One answer the server gives.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header lines, in order, as written.
    pub headers: Vec<(String, String)>,
}

/// What the server serves for one scenario.
#[derive(Clone, Debug)]
pub struct Served {
    /// The preflight answer; `None`: close the connection without answering.
    pub preflight: Option<Answer>,
    /// Redirect answers (Locations already rewritten), then the final response.
    pub hops: Vec<Answer>,
    /// For a scenario with earlier fetches: every fetch's answers, in order.
    pub seq: Vec<ServedFetch>,
}

/// The answers of one fetch of a sequence.
#[derive(Clone, Debug)]
pub struct ServedFetch {
    /// The preflight answer; `None`: close the connection without answering.
    pub preflight: Option<Answer>,
    /// Redirect answers then the final response, each with the URL id it answers at.
    pub hops: Vec<(Option<usize>, Answer)>,
}

/// One request the server received for a scenario.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The fetch of a sequence (1-based; 0 for a single fetch).
    pub fetch: usize,
    /// The hop index (in the path; in the fetch's answers for a sequence).
    pub hop: usize,
    /// The request method.
    pub method: String,
    /// Whether it was a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
    pub preflight: bool,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// `Access-Control-Request-*` headers (lowercased names), in order.
    pub acr: Vec<(String, String)>,
}

struct State {
    run: String,
    served: Vec<Served>,
    log: Mutex<Vec<Vec<Hit>>>,
    /// Per scenario with earlier fetches: the fetch being made (1-based) and the index of its
    /// next answer.
    active: Mutex<Vec<(usize, usize)>>,
}

/// A running server (its listeners live until the process ends).
pub struct Server {
    state: Arc<State>,
}

impl Server {
    /// Binds `n` listeners on 127.0.0.1 (ephemeral ports).
    pub fn bind(n: usize) -> std::io::Result<Vec<TcpListener>> {
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect()
    }

    /// Starts serving `served` under run id `run` on `listeners`.
    pub fn start(
        run: &str,
        served: Vec<Served>,
        listeners: Vec<TcpListener>,
    ) -> std::io::Result<Server> {
        let n = served.len();
        let state = Arc::new(State {
            run: run.to_string(),
            served,
            log: Mutex::new(vec![Vec::new(); n]),
            active: Mutex::new(vec![(0, 0); n]),
        });
        for l in listeners {
            let st = Arc::clone(&state);
            thread::spawn(move || {
                for conn in l.incoming().flatten() {
                    let st = Arc::clone(&st);
                    thread::spawn(move || {
                        let _ = handle(&st, conn);
                    });
                }
            });
        }
        Ok(Server { state })
    }

    /// Takes the request log of scenario `idx`.
    pub fn take_log(&self, idx: usize) -> Vec<Hit> {
        let mut log = self.state.log.lock().unwrap_or_else(|e| e.into_inner());
        log.get_mut(idx).map(std::mem::take).unwrap_or_default()
    }
}

fn handle(st: &State, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut rd = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        if let Some(len) = get("content-length").and_then(|v| v.parse::<u64>().ok()) {
            std::io::copy(&mut (&mut rd).take(len), &mut std::io::sink())?;
        }
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match route(st, &method, &target, &headers) {
            Some((bytes, close_after)) => {
                out.write_all(&bytes)?;
                if close || close_after {
                    out.flush()?;
                    let _ = out.shutdown(std::net::Shutdown::Both);
                    return Ok(());
                }
            }
            None => return Ok(()), // no answer: drop the connection
        }
    }
}

fn route(
    st: &State,
    method: &str,
    target: &str,
    headers: &[(String, String)],
) -> Option<(Vec<u8>, bool)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/page" {
        let mut h = vec![("Content-Type".to_string(), "text/html".to_string())];
        if query == "sandbox" {
            h.push((
                "Content-Security-Policy".into(),
                "sandbox allow-scripts".into(),
            ));
        }
        let body = "<!doctype html><title>preflight-conformance</title>";
        h.push(("Content-Length".into(), body.len().to_string()));
        return Some((encode(200, &h, body.as_bytes(), method), false));
    }
    if let Some(r) = path
        .strip_prefix("/ctl/")
        .and_then(|r| r.strip_prefix(&*st.run))
    {
        let mut it = r.trim_start_matches('/').split('/');
        let idx: Option<usize> = it.next().and_then(|x| x.parse().ok());
        let f: Option<usize> = it.next().and_then(|x| x.parse().ok());
        if let (Some(idx), Some(f)) = (idx, f) {
            if let Some(a) = st
                .active
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(idx)
            {
                *a = (f, 0);
            }
        }
        let h = [("Access-Control-Allow-Origin".to_string(), "*".to_string())];
        return Some((encode(204, &h, b"", method), false));
    }
    let rest = path
        .strip_prefix("/s/")
        .and_then(|r| r.strip_prefix(&*st.run));
    // `<idx>/<hop>`, or `<idx>/u<k>` for a sequence.
    let parsed = rest.and_then(|r| {
        let mut it = r.trim_start_matches('/').split('/');
        let idx: usize = it.next()?.parse().ok()?;
        let seg = it.next()?;
        match seg.strip_prefix('u') {
            Some(k) => Some((idx, k.parse().ok()?, true)),
            None => Some((idx, seg.parse().ok()?, false)),
        }
    });
    let Some((idx, hop, seq)) = parsed.filter(|(i, _, _)| *i < st.served.len()) else {
        return Some((encode(404, &[], b"", method), false));
    };
    if seq {
        return route_seq(st, idx, hop, method, headers);
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let preflight = method == "OPTIONS" && get("access-control-request-method").is_some();
    let hit = Hit {
        fetch: 0,
        hop,
        method: method.to_string(),
        preflight,
        origin: get("origin"),
        acr: headers
            .iter()
            .filter(|(k, _)| k.starts_with("access-control-request-"))
            .cloned()
            .collect(),
    };
    st.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(idx)?
        .push(hit);
    let served = &st.served[idx];
    let answer = if preflight {
        served.preflight.as_ref()?
    } else {
        served.hops.get(hop).or(served.hops.last())?
    };
    Some(answer_bytes(answer, method))
}

/// A request at URL `id` of sequence scenario `idx`, answered from the active fetch.
fn route_seq(
    st: &State,
    idx: usize,
    id: usize,
    method: &str,
    headers: &[(String, String)],
) -> Option<(Vec<u8>, bool)> {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let preflight = method == "OPTIONS" && get("access-control-request-method").is_some();
    let served = st.served.get(idx)?;
    let (f, hop) = {
        let mut active = st.active.lock().unwrap_or_else(|e| e.into_inner());
        let a = active.get_mut(idx)?;
        let fetch = served.seq.get(a.0.checked_sub(1)?)?;
        let hop = if preflight {
            a.1
        } else {
            // The next answer at this URL (a fetch may visit a URL twice), else the last.
            let j = (a.1..fetch.hops.len())
                .find(|&j| fetch.hops[j].0 == Some(id))
                .or_else(|| fetch.hops.iter().position(|h| h.0 == Some(id)))
                .unwrap_or(fetch.hops.len().saturating_sub(1));
            a.1 = j + 1;
            j
        };
        (a.0, hop)
    };
    st.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(idx)?
        .push(Hit {
            fetch: f,
            hop,
            method: method.to_string(),
            preflight,
            origin: get("origin"),
            acr: headers
                .iter()
                .filter(|(k, _)| k.starts_with("access-control-request-"))
                .cloned()
                .collect(),
        });
    let fetch = served.seq.get(f - 1)?;
    let answer = if preflight {
        fetch.preflight.as_ref()?
    } else {
        &fetch.hops.get(hop)?.1
    };
    Some(answer_bytes(answer, method))
}

/// The bytes of an answer, and whether the connection must close after it (a body delimited
/// by the end of the connection).
fn answer_bytes(a: &Answer, method: &str) -> (Vec<u8>, bool) {
    let len = a
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let no_body = method == "HEAD" || a.status == 204 || a.status == 304;
    match len {
        Some(n) if !no_body => (
            encode(a.status, &a.headers, &vec![b'x'; n.min(1 << 20)], "GET"),
            false,
        ),
        _ if no_body => (head(a.status, &a.headers), false),
        // No framing header at all: Content-Length is a CORS-safelisted response header and
        // Transfer-Encoding is readable under `Access-Control-Expose-Headers: *`, either would
        // add a name the scenario does not have. The empty body ends with the connection.
        _ => (head(a.status, &a.headers), true),
    }
}

fn head(status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let mut b = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).into_bytes();
    for (k, v) in headers {
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(v.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"\r\n");
    b
}

fn encode(status: u16, headers: &[(String, String)], body: &[u8], method: &str) -> Vec<u8> {
    let mut h = headers.to_vec();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        && status != 204
        && status != 304
    {
        h.push(("Content-Length".into(), body.len().to_string()));
    }
    let mut b = head(status, &h);
    if method != "HEAD" {
        b.extend_from_slice(body);
    }
    b
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        _ => "Status",
    }
}
