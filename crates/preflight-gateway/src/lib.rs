//! A CORS policy gateway: a reverse proxy on hyper that enforces a Preflight policy in front of
//! a backend that cannot (or should not) do CORS itself.
//!
//! - Preflights are answered by the gateway; everything else is forwarded to the upstream.
//! - The policy is applied to **every** response, errors included: a 502 from a dead upstream
//!   still carries the CORS headers a browser needs to show the real error to the page.
//! - CORS headers the upstream sets are stripped by default, so a backend cannot silently widen
//!   the policy or duplicate `Access-Control-Allow-Origin`.
//! - The policy lives in a [`SharedPolicy`]; [`reload`] swaps in a new valid policy without
//!   dropping connections and refuses an invalid one (the old one stays).
//! - Shadow mode evaluates and records, but changes nothing (the way to roll out a stricter
//!   policy).
//! - Decisions are `tracing` events (target `preflight::decision`) with a stable `reason` code,
//!   and counters for a Prometheus text endpoint ([`Metrics::render`]).
//! - Bounded: header bytes, header read time (slow clients), upstream time; graceful shutdown
//!   lets in-flight requests finish; HTTP/1.1 and HTTP/2 (prior knowledge) on the same port.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use preflight_gateway::{Gateway, GatewayConfig};
//! let policy = preflight::Policy::from_toml(r#"origins = ["https://app.example.com"]"#).unwrap();
//! let cfg = GatewayConfig::new("127.0.0.1:8443".parse().unwrap(), "http://127.0.0.1:8080".parse().unwrap());
//! let running = Gateway::new(cfg, policy.into()).start().await?;
//! println!("listening on {}", running.addr());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use preflight::{ConfigErrors, Decision, Policy, SharedPolicy};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The body of every gateway response: the upstream's, or one the gateway wrote.
pub type GatewayBody = Either<Incoming, Full<Bytes>>;

/// Gateway settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The upstream base URL (`http://host:port`).
    pub upstream: Uri,
    /// Evaluate and record only; change nothing.
    pub shadow: bool,
    /// Remove CORS headers the upstream set (default true).
    pub strip_upstream_cors: bool,
    /// Longest wait for the upstream's response head.
    pub upstream_timeout: Duration,
    /// Longest time a client may take to send its request head (slow-loris bound).
    pub header_read_timeout: Duration,
    /// Largest request head accepted, in bytes (HTTP/1.1 read buffer and HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics: Option<SocketAddr>,
}

impl GatewayConfig {
    /// Defaults: strip upstream CORS headers, 30 s upstream timeout, 10 s header read timeout,
    /// 96 KiB of request head, no metrics endpoint.
    pub fn new(listen: SocketAddr, upstream: Uri) -> Self {
        GatewayConfig {
            listen,
            upstream,
            shadow: false,
            strip_upstream_cors: true,
            upstream_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 96 * 1024,
            metrics: None,
        }
    }
}

/// Counters per decision and reason, and gateway events, in Prometheus text format.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    upstream_errors: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl Metrics {
    fn record(&self, d: &Decision) {
        let key = (d.kind().as_str(), d.reason().map_or("", |r| r.code()));
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// The count for a decision kind and reason code (`""` for none).
    pub fn decisions(&self, kind: &str, reason: &str) -> u64 {
        self.decisions.lock().map_or(0, |m| {
            m.iter()
                .filter(|((k, r), _)| *k == kind && *r == reason)
                .map(|(_, v)| *v)
                .sum()
        })
    }

    /// Number of failed upstream exchanges.
    pub fn upstream_errors(&self) -> u64 {
        self.upstream_errors.load(Ordering::Relaxed)
    }

    /// Successful and failed policy reloads.
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP preflight_decisions_total CORS decisions by kind and reason.\n");
        s.push_str("# TYPE preflight_decisions_total counter\n");
        if let Ok(m) = self.decisions.lock() {
            for ((kind, reason), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "preflight_decisions_total{{decision=\"{kind}\",reason=\"{reason}\"}} {n}"
                );
            }
        }
        s.push_str("# HELP preflight_upstream_errors_total Upstream exchanges that failed (unreachable, reset, timeout).\n");
        s.push_str("# TYPE preflight_upstream_errors_total counter\n");
        let _ = writeln!(
            s,
            "preflight_upstream_errors_total {}",
            self.upstream_errors()
        );
        s.push_str("# HELP preflight_policy_reloads_total Policy reloads by result.\n");
        s.push_str("# TYPE preflight_policy_reloads_total counter\n");
        let (ok, failed) = self.reloads();
        let _ = writeln!(s, "preflight_policy_reloads_total{{result=\"ok\"}} {ok}");
        let _ = writeln!(
            s,
            "preflight_policy_reloads_total{{result=\"error\"}} {failed}"
        );
        s
    }
}

/// Why a reload was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The policy is invalid (every error).
    Invalid(ConfigErrors),
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Io(e) => write!(f, "cannot read the policy file: {e}"),
            ReloadError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReloadError {}

/// Reads, validates and swaps in the policy file at `path`. On any error the current policy is
/// kept and the errors are logged (target `preflight::reload`) and returned.
///
/// # Errors
/// The file cannot be read, or the policy is invalid.
pub fn reload(path: &Path, shared: &SharedPolicy, metrics: &Metrics) -> Result<(), ReloadError> {
    let result = std::fs::read_to_string(path)
        .map_err(ReloadError::Io)
        .and_then(|text| Policy::from_toml(&text).map_err(ReloadError::Invalid));
    match result {
        Ok(p) => {
            for w in p.warnings() {
                tracing::warn!(target: "preflight::reload", "{w}");
            }
            shared.store(p);
            metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "preflight::reload", path = %path.display(), "policy reloaded");
            Ok(())
        }
        Err(e) => {
            metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
            match &e {
                ReloadError::Io(io) => {
                    tracing::error!(target: "preflight::reload", path = %path.display(), error = %io, "cannot read the policy file");
                }
                ReloadError::Invalid(errs) => {
                    for d in errs.diagnostics() {
                        tracing::error!(target: "preflight::reload", path = %path.display(), "{d}");
                    }
                }
            }
            tracing::error!(target: "preflight::reload", "policy refused; keeping the current policy");
            Err(e)
        }
    }
}

/// Polls `path` every `interval` and reloads it when its modification time or size changes.
/// Stops when `stop` changes.
pub async fn watch_file(
    path: std::path::PathBuf,
    shared: SharedPolicy,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut last = stamp(&path);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        let now = stamp(&path);
        if now != last && now.is_some() {
            last = now;
            let _ = reload(&path, &shared, &metrics);
        }
    }
}

struct Inner {
    cfg: GatewayConfig,
    policy: SharedPolicy,
    metrics: Arc<Metrics>,
    client: Client<HttpConnector, Incoming>,
}

/// The gateway: configuration, shared policy, metrics.
pub struct Gateway {
    inner: Arc<Inner>,
}

/// A started gateway.
pub struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    metrics: Arc<Metrics>,
    policy: SharedPolicy,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound metrics address, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The live policy (store a new one to reconfigure).
    pub fn policy(&self) -> &SharedPolicy {
        &self.policy
    }

    /// A receiver that changes when shutdown starts (for companion tasks such as a file
    /// watcher).
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops accepting, lets in-flight requests finish (at most 30 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the gateway stops (after [`Running::shutdown`] from a clone of the stop
    /// signal, or an accept error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// Starts a graceful shutdown without waiting.
    pub fn trigger_shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Gateway {
    /// A gateway for `cfg` enforcing `policy`.
    pub fn new(cfg: GatewayConfig, policy: SharedPolicy) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Gateway {
            inner: Arc::new(Inner {
                cfg,
                policy,
                metrics: Arc::new(Metrics::default()),
                client,
            }),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    /// Binds the listener (and the metrics endpoint) and starts serving in the background.
    ///
    /// # Errors
    /// When an address cannot be bound.
    pub async fn start(self) -> std::io::Result<Running> {
        let listener = TcpListener::bind(self.inner.cfg.listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let metrics_addr = match self.inner.cfg.metrics {
            Some(a) => {
                let l = TcpListener::bind(a).await?;
                let bound = l.local_addr()?;
                tokio::spawn(serve_metrics(
                    l,
                    self.inner.metrics.clone(),
                    stop.subscribe(),
                ));
                Some(bound)
            }
            None => None,
        };
        let inner = self.inner.clone();
        let task = tokio::spawn(accept_loop(listener, inner, stop_rx));
        Ok(Running {
            addr,
            metrics_addr,
            stop,
            task,
            metrics: self.inner.metrics.clone(),
            policy: self.inner.policy.clone(),
        })
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(inner.cfg.header_read_timeout)
        .max_buf_size(inner.cfg.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(inner.cfg.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(target: "preflight::gateway", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        let svc = service_fn(move |req| {
            let inner = inner.clone();
            async move { Ok::<_, Infallible>(handle(&inner, req, peer).await) }
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "preflight::gateway", error = %e, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!(target: "preflight::gateway", "graceful shutdown timed out");
        }
    }
}

async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.changed() => return,
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let metrics = metrics.clone();
                async move {
                    let resp = if req.uri().path() == "/metrics" {
                        let mut r = Response::new(Full::new(Bytes::from(metrics.render())));
                        r.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/plain; version=0.0.4"),
                        );
                        r
                    } else {
                        let mut r = Response::new(Full::new(Bytes::from_static(b"see /metrics\n")));
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    };
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    // Names listed in Connection are hop-by-hop too.
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in listed.iter().chain(HOP_BY_HOP.iter()) {
        h.remove(n);
    }
    h.remove(header::TRANSFER_ENCODING);
    h.remove(header::PROXY_AUTHENTICATE);
}

fn gateway_response(status: StatusCode, body: &'static str) -> Response<GatewayBody> {
    let mut r = Response::new(Either::Right(Full::new(Bytes::from_static(
        body.as_bytes(),
    ))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn log_decision(d: &Decision, method: &http::Method, path: &str, shadow: bool) {
    match d.reason() {
        Some(r) => tracing::info!(
            target: "preflight::decision",
            decision = d.kind().as_str(),
            reason = r.code(),
            method = %method,
            path = %path,
            shadow,
            "{}",
            r.description()
        ),
        None => tracing::debug!(
            target: "preflight::decision",
            decision = d.kind().as_str(),
            method = %method,
            path = %path,
            shadow,
        ),
    }
}

async fn handle(inner: &Inner, req: Request<Incoming>, peer: SocketAddr) -> Response<GatewayBody> {
    let decision = inner
        .policy
        .load()
        .evaluate(req.method(), req.uri().path(), req.headers());
    inner.metrics.record(&decision);
    log_decision(&decision, req.method(), req.uri().path(), inner.cfg.shadow);

    if !inner.cfg.shadow && decision.is_preflight() {
        // The gateway answers preflights itself: the upstream never sees them.
        let mut r = Response::new(Either::Right(Full::new(Bytes::new())));
        *r.status_mut() = decision.status().unwrap_or(StatusCode::FORBIDDEN);
        decision.apply(r.headers_mut());
        return r;
    }

    let mut resp = match forward(inner, req, peer).await {
        Ok(r) => r.map(Either::Left),
        Err(status) => {
            inner
                .metrics
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            let body = if status == StatusCode::GATEWAY_TIMEOUT {
                "preflight gateway: the upstream did not answer in time\n"
            } else {
                "preflight gateway: the upstream is unreachable or reset the connection\n"
            };
            gateway_response(status, body)
        }
    };
    if !inner.cfg.shadow {
        if inner.cfg.strip_upstream_cors {
            preflight::strip_cors_headers(resp.headers_mut());
        }
        decision.apply(resp.headers_mut());
    }
    resp
}

async fn forward(
    inner: &Inner,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Incoming>, StatusCode> {
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let up = &inner.cfg.upstream;
    let uri = Uri::builder()
        .scheme(up.scheme_str().unwrap_or("http"))
        .authority(up.authority().map_or("127.0.0.1", |a| a.as_str()))
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    let original_host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::HOST);
    if let Some(h) = original_host {
        parts
            .headers
            .insert(HeaderName::from_static("x-forwarded-host"), h);
    }
    if let Ok(v) = HeaderValue::from_str(&peer.ip().to_string()) {
        parts
            .headers
            .append(HeaderName::from_static("x-forwarded-for"), v);
    }
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, body);
    match tokio::time::timeout(
        inner.cfg.upstream_timeout,
        inner.client.request(upstream_req),
    )
    .await
    {
        Ok(Ok(mut r)) => {
            strip_hop_by_hop(r.headers_mut());
            Ok(r)
        }
        Ok(Err(e)) => {
            tracing::warn!(target: "preflight::gateway", error = %e, "upstream request failed");
            Err(StatusCode::BAD_GATEWAY)
        }
        Err(_) => {
            tracing::warn!(target: "preflight::gateway", "upstream timed out");
            Err(StatusCode::GATEWAY_TIMEOUT)
        }
    }
}

/// Collects a body (for tests and small responses).
///
/// # Errors
/// When the body fails.
pub async fn collect_body(
    body: GatewayBody,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    Ok(body.collect().await?.to_bytes())
}
