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
use http::uri::{Authority, PathAndQuery};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use preflight::{ConfigErrors, Decision, DecisionKind, Policy, Reason, SharedPolicy};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The body of every gateway response: the upstream's, or one the gateway wrote.
pub type GatewayBody = Either<UpstreamBody, Full<Bytes>>;

mod upstream;
use upstream::Pool;
pub use upstream::UpstreamBody;

/// Gateway settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The upstream base URL (`http://host:port`; plain HTTP/1.1, its path is not used).
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
    /// Accept loops. 1 (the default) serves on the runtime that calls [`Gateway::start`]; each
    /// further one runs on a thread of its own with a single-threaded runtime and its own pool
    /// of upstream connections, accepting from the same listening socket (the model of nginx's
    /// worker processes: no task or connection ever moves between threads). `preflight serve`
    /// runs one per CPU.
    pub threads: usize,
}

impl GatewayConfig {
    /// Defaults: strip upstream CORS headers, 30 s upstream timeout, 10 s header read timeout,
    /// 96 KiB of request head, no metrics endpoint, one accept loop.
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
            threads: 1,
        }
    }
}

/// Counters per decision and reason, and gateway events, in Prometheus text format.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per (decision kind, reason) counters: lock-free, so the accept loops' threads never wait
    /// for one another on the request path.
    table: [[AtomicU64; REASON_SLOTS]; KIND_SLOTS],
    /// Reasons a newer core may add that `table` has no slot for.
    other: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    upstream_errors: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

const KIND_SLOTS: usize = 5;
const REASON_SLOTS: usize = 11;
const KINDS: [DecisionKind; KIND_SLOTS] = [
    DecisionKind::NotCors,
    DecisionKind::PreflightAllow,
    DecisionKind::PreflightDeny,
    DecisionKind::ActualAllow,
    DecisionKind::ActualDeny,
];
/// Slot 0 is "no reason".
const REASONS: [Reason; REASON_SLOTS - 1] = [
    Reason::MultipleOrigins,
    Reason::InvalidOrigin,
    Reason::OriginNotAllowed,
    Reason::NullOriginNotAllowed,
    Reason::InvalidRequestMethod,
    Reason::MethodNotAllowed,
    Reason::InvalidRequestHeaders,
    Reason::RequestHeadersTooLarge,
    Reason::HeaderNotAllowed,
    Reason::PrivateNetworkNotAllowed,
];

fn kind_slot(k: DecisionKind) -> Option<usize> {
    KINDS.iter().position(|x| *x == k)
}

fn reason_slot(r: Option<Reason>) -> Option<usize> {
    match r {
        None => Some(0),
        Some(r) => REASONS.iter().position(|x| *x == r).map(|i| i + 1),
    }
}

impl Metrics {
    fn record(&self, d: &Decision) {
        match reason_slot(d.reason()) {
            Some(r) => {
                if let Some(c) = self
                    .table
                    .get(kind_slot(d.kind()).unwrap_or(KIND_SLOTS))
                    .and_then(|row| row.get(r))
                {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                let key = (d.kind().as_str(), d.reason().map_or("", |r| r.code()));
                if let Ok(mut m) = self.other.lock() {
                    *m.entry(key).or_default() += 1;
                }
            }
        }
    }

    /// Every non-zero counter, sorted by (decision, reason).
    fn decision_counts(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        let mut out = self.other.lock().map(|m| m.clone()).unwrap_or_default();
        for (kind, row) in KINDS.iter().zip(&self.table) {
            for (slot, c) in row.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n == 0 {
                    continue;
                }
                let reason = match slot.checked_sub(1).and_then(|i| REASONS.get(i)) {
                    Some(r) => r.code(),
                    None => "",
                };
                *out.entry((kind.as_str(), reason)).or_default() += n;
            }
        }
        out
    }

    /// The count for a decision kind and reason code (`""` for none).
    pub fn decisions(&self, kind: &str, reason: &str) -> u64 {
        self.decision_counts()
            .iter()
            .filter(|((k, r), _)| *k == kind && *r == reason)
            .map(|(_, v)| *v)
            .sum()
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
        for ((kind, reason), n) in self.decision_counts() {
            let _ = writeln!(
                s,
                "preflight_decisions_total{{decision=\"{kind}\",reason=\"{reason}\"}} {n}"
            );
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

/// What every accept loop shares.
struct Shared {
    cfg: GatewayConfig,
    policy: SharedPolicy,
    metrics: Arc<Metrics>,
    /// The upstream's authority, parsed once.
    up_authority: Authority,
}

/// One accept loop's state: the shared part plus its own pool of upstream connections (a pool
/// belongs to the runtime, and so the thread, that created its connections).
struct Inner {
    shared: Arc<Shared>,
    pool: Arc<Pool>,
}

impl Inner {
    fn new(shared: Arc<Shared>) -> Arc<Inner> {
        let pool = Pool::new(shared.up_authority.clone());
        Arc::new(Inner { shared, pool })
    }
}

/// The gateway: configuration, shared policy, metrics.
pub struct Gateway {
    shared: Arc<Shared>,
}

/// A started gateway.
pub struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// One per extra accept-loop thread; completes when that thread's loop has drained.
    threads: Vec<tokio::sync::oneshot::Receiver<()>>,
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
        for t in self.threads {
            let _ = t.await;
        }
    }

    /// Waits until the gateway stops (after [`Running::shutdown`] from a clone of the stop
    /// signal, or an accept error).
    pub async fn wait(self) {
        let _ = self.task.await;
        for t in self.threads {
            let _ = t.await;
        }
    }

    /// Starts a graceful shutdown without waiting.
    pub fn trigger_shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Gateway {
    /// A gateway for `cfg` enforcing `policy`.
    pub fn new(cfg: GatewayConfig, policy: SharedPolicy) -> Self {
        let up_authority = cfg
            .upstream
            .authority()
            .cloned()
            .unwrap_or_else(|| Authority::from_static("127.0.0.1"));
        Gateway {
            shared: Arc::new(Shared {
                cfg,
                policy,
                metrics: Arc::new(Metrics::default()),
                up_authority,
            }),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Binds the listener (and the metrics endpoint) and starts serving in the background.
    ///
    /// # Errors
    /// When an address cannot be bound.
    ///
    /// With [`GatewayConfig::threads`] > 1 the extra accept loops start on threads of their
    /// own; one listening socket serves them all.
    pub async fn start(self) -> std::io::Result<Running> {
        let shared = self.shared;
        let std_listener = std::net::TcpListener::bind(shared.cfg.listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let metrics_addr = match shared.cfg.metrics {
            Some(a) => {
                let l = TcpListener::bind(a).await?;
                let bound = l.local_addr()?;
                tokio::spawn(serve_metrics(l, shared.metrics.clone(), stop.subscribe()));
                Some(bound)
            }
            None => None,
        };
        let mut threads = Vec::new();
        for i in 1..shared.cfg.threads.max(1) {
            let listener = std_listener.try_clone()?;
            let shared = shared.clone();
            let stop_rx = stop.subscribe();
            let (done, done_rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name(format!("preflight-gateway-{i}"))
                .spawn(move || {
                    run_thread(listener, shared, stop_rx);
                    let _ = done.send(());
                })?;
            threads.push(done_rx);
        }
        let listener = TcpListener::from_std(std_listener)?;
        let task = tokio::spawn(accept_loop(listener, Inner::new(shared.clone()), stop_rx));
        Ok(Running {
            addr,
            metrics_addr,
            stop,
            task,
            threads,
            metrics: shared.metrics.clone(),
            policy: shared.policy.clone(),
        })
    }
}

/// An extra accept loop: a single-threaded runtime on this thread, until the stop signal.
fn run_thread(listener: std::net::TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(target: "preflight::gateway", error = %e, "cannot start an accept loop's runtime");
            return;
        }
    };
    rt.block_on(async move {
        match TcpListener::from_std(listener) {
            Ok(l) => accept_loop(l, Inner::new(shared), stop).await,
            Err(e) => {
                tracing::error!(target: "preflight::gateway", error = %e, "cannot register the listener");
            }
        }
    });
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(inner.shared.cfg.header_read_timeout)
        .max_buf_size(inner.shared.cfg.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(inner.shared.cfg.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::spawn(timer_heartbeat(stop.clone(), inner.pool.clone()));
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
        // `X-Forwarded-For` is the connection's peer: formatted once per connection.
        let forwarded_for = HeaderValue::try_from(peer.ip().to_string()).ok();
        let svc = service_fn(move |req| {
            let inner = inner.clone();
            let forwarded_for = forwarded_for.clone();
            async move { Ok::<_, Infallible>(handle(&inner, req, forwarded_for).await) }
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

/// Keeps a timer at most a second away on this accept loop's runtime, until the stop signal.
///
/// Every request arms a header-read timer (10 s). tokio interrupts its event loop (a write to
/// its eventfd, plus the extra wake-up) whenever a timer is armed that is earlier than the time
/// driver's next planned wake-up; with only 30 s upstream timers pending, that was every new
/// request (measured: ~0.6 extra syscalls per proxied request, ~7 % of the gateway's CPU). With
/// a wake-up planned at most 1 s ahead, no per-request timer is ever earlier. Cost: one wake-up
/// per second, at which this loop's idle upstream connections older than 30 s are closed.
async fn timer_heartbeat(mut stop: watch::Receiver<bool>, pool: Arc<Pool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => pool.evict_idle(upstream::IDLE_TIMEOUT),
            _ = stop.changed() => return,
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
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::TRANSFER_ENCODING,
    header::PROXY_AUTHENTICATE,
];

/// Whether `n` is one of [`HOP_BY_HOP`]: one string match (a jump on the length, then at most
/// two comparisons) instead of eight `HeaderName` comparisons, for every header of every
/// request and response.
fn is_hop_by_hop(n: &HeaderName) -> bool {
    matches!(
        n.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "upgrade"
            | "transfer-encoding"
            | "proxy-authenticate"
    )
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    // Usually there is none: one pass over the names (no hashing) instead of eight removals.
    if !h.keys().any(is_hop_by_hop) {
        return;
    }
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

async fn handle(
    inner: &Inner,
    req: Request<Incoming>,
    forwarded_for: Option<HeaderValue>,
) -> Response<GatewayBody> {
    let shared = &*inner.shared;
    let decision = shared
        .policy
        .load()
        .evaluate(req.method(), req.uri().path(), req.headers());
    shared.metrics.record(&decision);
    log_decision(&decision, req.method(), req.uri().path(), shared.cfg.shadow);

    if !shared.cfg.shadow && decision.is_preflight() {
        // The gateway answers preflights itself: the upstream never sees them.
        let mut r = Response::new(Either::Right(Full::new(Bytes::new())));
        *r.status_mut() = decision.status().unwrap_or(StatusCode::FORBIDDEN);
        decision.apply(r.headers_mut());
        return r;
    }

    let mut resp = match forward(inner, req, forwarded_for).await {
        Ok(r) => r.map(Either::Left),
        Err(status) => {
            shared
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
    if !shared.cfg.shadow {
        if shared.cfg.strip_upstream_cors {
            preflight::strip_cors_headers(resp.headers_mut());
        }
        decision.apply(resp.headers_mut());
    }
    resp
}

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The request to send upstream: origin-form URI, hop-by-hop headers stripped, `Host` the
/// upstream's, `X-Forwarded-Host` and `X-Forwarded-For` added. Not an `async fn`: what it
/// computes would otherwise sit in the request's future, which every poll and move of it copies.
fn upstream_request(
    inner: &Inner,
    req: Request<Incoming>,
    forwarded_for: Option<HeaderValue>,
) -> Request<Incoming> {
    let (mut parts, body) = req.into_parts();
    // Origin-form (the request's path and query; a shared buffer, nothing is copied) with the
    // upstream's authority as `Host`.
    let uri = Uri::from(
        parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    strip_hop_by_hop(&mut parts.headers);
    let original_host = parts.headers.remove(header::HOST).or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    if let Some(h) = original_host {
        parts.headers.insert(X_FORWARDED_HOST, h);
    }
    if let Some(v) = forwarded_for {
        parts.headers.append(X_FORWARDED_FOR, v);
    }
    parts
        .headers
        .insert(header::HOST, inner.pool.host().clone());
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
    Request::from_parts(parts, body)
}

async fn forward(
    inner: &Inner,
    req: Request<Incoming>,
    forwarded_for: Option<HeaderValue>,
) -> Result<Response<UpstreamBody>, StatusCode> {
    let upstream_req = upstream_request(inner, req, forwarded_for);
    match tokio::time::timeout(
        inner.shared.cfg.upstream_timeout,
        inner.pool.send(upstream_req),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names_are_recognised_and_no_others() {
        for n in &HOP_BY_HOP {
            assert!(is_hop_by_hop(n), "{n}");
        }
        for n in [
            header::HOST,
            header::CONTENT_LENGTH,
            header::USER_AGENT,
            header::ORIGIN,
            header::PROXY_AUTHORIZATION,
            HeaderName::from_static("connection-x"),
            HeaderName::from_static("tee"),
            HeaderName::from_static("x-upgrade"),
        ] {
            assert_eq!(is_hop_by_hop(&n), HOP_BY_HOP.contains(&n), "{n}");
        }
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_lists_are_stripped() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://a.example"),
        );
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::ORIGIN));
    }
}
