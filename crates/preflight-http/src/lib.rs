//! A small HTTP client for Preflight's live tools (`preflight check`, `scan`): send one request
//! (method, URL, ordered headers with repeats), get the status, the ordered response headers
//! and a bounded prefix of the body. Redirects are **never** followed: the browser model
//! decides what happens next.
//!
//! HTTP/1.1 and HTTP/2 (ALPN, or prior knowledge for `http://`), TLS with rustls and the
//! system's root certificates, an optional proxy, curl-style `--resolve` overrides and
//! timeouts. Errors are typed so a caller can tell "unreachable" from "TLS failure" from
//! "timeout" — none of which is a CORS answer.
//!
//! ```no_run
//! # async fn f() -> Result<(), preflight_http::Error> {
//! use preflight_http::{Client, ClientConfig, Request};
//! let client = Client::new(&ClientConfig::default())?;
//! let resp = client
//!     .send(&Request {
//!         method: "OPTIONS".into(),
//!         url: "https://api.example/x".into(),
//!         headers: vec![("Origin".into(), "https://app.example".into())],
//!     })
//!     .await?;
//! println!("{} {:?}", resp.status, resp.headers);
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A header: name and value, as sent or received.
pub type Header = (String, String);

/// Which HTTP versions to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 when the TLS server offers it (ALPN), else HTTP/1.1.
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1Only,
    /// HTTP/2 without negotiation (h2c for `http://`).
    Http2PriorKnowledge,
}

/// A `--resolve` override: connect to `addr` for `host` (on the port of the URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolve {
    /// The host name as written in URLs.
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The address to connect to.
    pub addr: IpAddr,
}

impl std::str::FromStr for Resolve {
    type Err = Error;

    /// Parses curl's `host:port:addr` (`addr` may be a bracketed IPv6 address).
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Config(format!("--resolve {s:?}: expected host:port:address"));
        let (host, rest) = s.split_once(':').ok_or_else(bad)?;
        let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Resolve {
            host: host.to_ascii_lowercase(),
            port: port.parse().map_err(|_| bad())?,
            addr: addr.parse().map_err(|_| bad())?,
        })
    }
}

/// How to build a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Total time for one request (connect, send, headers and the bounded body).
    pub timeout: Duration,
    /// Time to establish the connection (TCP and TLS); `None`: bounded by `timeout` only.
    pub connect_timeout: Option<Duration>,
    /// Accept any TLS certificate (self-signed, wrong host, expired).
    pub insecure: bool,
    /// Send everything through this proxy (`http://`, `https://`, `socks5://` if supported).
    /// Without it no proxy is used, whatever the environment says.
    pub proxy: Option<String>,
    /// Address overrides.
    pub resolve: Vec<Resolve>,
    /// Read at most this many body bytes.
    pub max_body: usize,
    /// HTTP versions.
    pub http: HttpVersion,
    /// The `User-Agent` to send (`None`: none).
    pub user_agent: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(10),
            connect_timeout: None,
            insecure: false,
            proxy: None,
            resolve: Vec::new(),
            max_body: 64 * 1024,
            http: HttpVersion::Auto,
            user_agent: None,
        }
    }
}

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method, sent as written (case preserved).
    pub method: String,
    /// An absolute `http`/`https` URL.
    pub url: String,
    /// Headers in order; repeated names are sent as repeated lines.
    pub headers: Vec<Header>,
}

/// One response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/2`, ...
    pub version: String,
    /// Headers in order, names lowercased, repeated lines kept (lines of one name are grouped
    /// together, in the order received).
    pub headers: Vec<Header>,
    /// The first [`ClientConfig::max_body`] bytes of the body.
    pub body: Vec<u8>,
    /// Whether the body was longer than what was read.
    pub body_truncated: bool,
}

/// Why no response arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The configuration is unusable (bad proxy URL, bad `--resolve`).
    Config(String),
    /// The request cannot be sent (bad URL, method, header name or value).
    InvalidRequest(String),
    /// The connection could not be made: DNS failure, refused, unreachable.
    Connect(String),
    /// The TLS handshake failed (untrusted certificate, wrong host, not TLS at all).
    Tls(String),
    /// No answer within the timeout.
    Timeout(String),
    /// The connection broke or the server spoke something that is not HTTP.
    Protocol(String),
}

impl Error {
    /// A stable snake_case name: `config`, `invalid_request`, `connect`, `tls`, `timeout`,
    /// `protocol`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Connect(_) => "connect",
            Error::Tls(_) => "tls",
            Error::Timeout(_) => "timeout",
            Error::Protocol(_) => "protocol",
        }
    }

    /// Whether this is a network failure (as opposed to a usage error).
    pub fn is_network(&self) -> bool {
        !matches!(self, Error::Config(_) | Error::InvalidRequest(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "configuration: {m}"),
            Error::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Error::Connect(m) => write!(f, "cannot connect: {m}"),
            Error::Tls(m) => write!(f, "TLS failure: {m}"),
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::Protocol(m) => write!(f, "HTTP failure: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The client. Cheap to clone; share one across concurrent requests.
#[derive(Clone, Debug)]
pub struct Client {
    inner: reqwest::Client,
    max_body: usize,
}

impl Client {
    /// Builds a client.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable proxy or TLS setup.
    pub fn new(cfg: &ClientConfig) -> Result<Client, Error> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout)
            .danger_accept_invalid_certs(cfg.insecure)
            .pool_max_idle_per_host(4);
        if let Some(ct) = cfg.connect_timeout {
            b = b.connect_timeout(ct);
        }
        b = match &cfg.proxy {
            Some(p) => b.proxy(
                reqwest::Proxy::all(p).map_err(|e| Error::Config(format!("proxy {p:?}: {e}")))?,
            ),
            None => b.no_proxy(),
        };
        for r in &cfg.resolve {
            b = b.resolve(&r.host, SocketAddr::new(r.addr, r.port));
        }
        b = match cfg.http {
            HttpVersion::Auto => b,
            HttpVersion::Http1Only => b.http1_only().http1_title_case_headers(),
            HttpVersion::Http2PriorKnowledge => b.http2_prior_knowledge(),
        };
        if let Some(ua) = &cfg.user_agent {
            b = b.user_agent(ua.clone());
        }
        let inner = b.build().map_err(|e| Error::Config(chain(&e)))?;
        Ok(Client {
            inner,
            max_body: cfg.max_body,
        })
    }

    /// Sends `req` and reads the status, the headers and at most `max_body` body bytes.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] before sending; [`Error::Connect`], [`Error::Tls`],
    /// [`Error::Timeout`] or [`Error::Protocol`] when no (complete) response head arrives.
    /// A body that breaks off after the head is returned truncated, not as an error.
    pub async fn send(&self, req: &Request) -> Result<Response, Error> {
        let url = url::Url::parse(&req.url)
            .map_err(|e| Error::InvalidRequest(format!("URL {:?}: {e}", req.url)))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::InvalidRequest(format!(
                "URL {:?}: only http and https",
                req.url
            )));
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| Error::InvalidRequest(format!("method {:?}", req.method)))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (n, v) in &req.headers {
            let name = reqwest::header::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| Error::InvalidRequest(format!("header name {n:?}")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| Error::InvalidRequest(format!("value of header {n}: {v:?}")))?;
            headers.append(name, value);
        }
        let mut resp = self
            .inner
            .request(method, url)
            .headers(headers)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status().as_u16();
        let version = format!("{:?}", resp.version());
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut body_truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    let room = self.max_body - body.len();
                    if c.len() > room {
                        body.extend_from_slice(&c[..room]);
                        body_truncated = true;
                        break;
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(_) => {
                    body_truncated = true;
                    break;
                }
            }
        }
        Ok(Response {
            status,
            version,
            headers,
            body,
            body_truncated,
        })
    }
}

/// The error and its sources, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn is_tls(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        cur = c.source();
    }
    // The connector boxes its errors in ways that can hide the type from downcasting; fall
    // back to rustls' wording on connect errors to https URLs.
    let https = e.url().is_some_and(|u| u.scheme() == "https");
    let msg = chain(e).to_ascii_lowercase();
    https
        && e.is_connect()
        && [
            "certificate",
            "corrupt message",
            "handshake",
            "tls",
            "alert",
            "peer",
        ]
        .iter()
        .any(|w| msg.contains(w))
}

fn classify(e: reqwest::Error) -> Error {
    let msg = chain(&e);
    if e.is_timeout() {
        Error::Timeout(msg)
    } else if is_tls(&e) {
        Error::Tls(msg)
    } else if e.is_connect() {
        Error::Connect(msg)
    } else if e.is_builder() {
        Error::InvalidRequest(msg)
    } else {
        Error::Protocol(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_resolve() {
        let r: Resolve = "API.test:443:127.0.0.1".parse().unwrap();
        assert_eq!(r.host, "api.test");
        assert_eq!(r.port, 443);
        let r: Resolve = "a:80:[::1]".parse().unwrap();
        assert_eq!(r.addr, "::1".parse::<IpAddr>().unwrap());
        assert!("a:80".parse::<Resolve>().is_err());
        assert!("a:x:127.0.0.1".parse::<Resolve>().is_err());
    }

    #[tokio::test]
    async fn closed_port_is_connect_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let c = Client::new(&ClientConfig::default()).unwrap();
        let e = c
            .send(&Request {
                method: "GET".into(),
                url: format!("http://127.0.0.1:{port}/"),
                headers: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "connect", "{e}");
        assert!(e.is_network());
    }

    #[tokio::test]
    async fn invalid_request() {
        let c = Client::new(&ClientConfig::default()).unwrap();
        let r = Request {
            method: "GET".into(),
            url: "ftp://x/".into(),
            headers: vec![],
        };
        assert_eq!(c.send(&r).await.unwrap_err().kind(), "invalid_request");
        let r = Request {
            method: "GET".into(),
            url: "http://127.0.0.1:1/".into(),
            headers: vec![("X".into(), "a\nb".into())],
        };
        assert_eq!(c.send(&r).await.unwrap_err().kind(), "invalid_request");
    }
}
