//! The gateway's upstream connections: HTTP/1.1 keep-alive connections, one pool per accept
//! loop.
//!
//! Each accept loop runs on one thread, so its pool is only ever touched by that thread (the
//! mutex is never contended). A connection goes back to the pool when its response body has been
//! read to the end, which is when HTTP/1.1 lets it carry the next request; a body dropped early
//! closes its connection (hyper cannot reuse it). Nothing is spawned per request: hyper's pooled
//! client (`hyper_util`'s legacy `Client`) spawned a task per HTTP/1 exchange to watch for the
//! connection becoming idle, hashed a pool key per checkout, and raced every checkout against a
//! new connection; on the gateway benchmark (BENCHMARKS.md §4) that was several percent of its
//! CPU per proxied request.
//!
//! Like the pooled client, a request that could not be written on an idle connection (closed
//! by the upstream meanwhile) is retried once on a new connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HeaderValue;
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections kept per accept loop (as nginx's `keepalive`, per worker).
const MAX_IDLE: usize = 128;
/// Idle connections older than this are closed instead of reused.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an exchange with the upstream failed.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be made.
    Connect(std::io::Error),
    /// The connection failed during the exchange.
    Http(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "cannot connect: {e}"),
            UpstreamError::Http(e) => e.fmt(f),
        }
    }
}

type Sender = SendRequest<Incoming>;

/// One accept loop's upstream connections.
pub(crate) struct Pool {
    authority: Authority,
    /// `Host` for upstream requests (the upstream's authority).
    host: HeaderValue,
    /// Most recently used last.
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl Pool {
    pub(crate) fn new(authority: Authority) -> Arc<Pool> {
        let host = HeaderValue::from_str(authority.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Arc::new(Pool {
            authority,
            host,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The `Host` value upstream requests carry.
    pub(crate) fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// Sends `req` (origin-form URI, `Host` set) and returns the response; its body hands the
    /// connection back to the pool once read to the end.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut req: Request<Incoming>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        // An idle connection first; if the upstream closed it before the request could be
        // written, hyper hands the request back and a new connection gets it.
        while let Some(mut sender) = self.checkout() {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(res) => return Ok(self.wrap(res, sender)),
                Err(mut e) => match e.take_message() {
                    Some(back) => req = back,
                    None => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
        // Boxed: a new connection is the rare path, and its state (resolving, connecting, the
        // handshake) would otherwise make every request's future larger, which every move of
        // that future copies.
        let mut sender = Box::pin(self.connect()).await?;
        match sender.send_request(req).await {
            Ok(res) => Ok(self.wrap(res, sender)),
            Err(e) => Err(UpstreamError::Http(e)),
        }
    }

    fn checkout(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    /// Closes idle connections unused for `max_idle` or more (called every second by the accept
    /// loop, so idle upstream connections do not outlive [`IDLE_TIMEOUT`] by more than that).
    pub(crate) fn evict_idle(&self, max_idle: Duration) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|(sender, since)| !sender.is_closed() && since.elapsed() < max_idle);
        }
    }

    /// Idle connections held.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().map_or(0, |i| i.len())
    }

    fn checkin(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push((sender, Instant::now()));
            }
        }
    }

    fn wrap(self: &Arc<Self>, res: Response<Incoming>, sender: Sender) -> Response<UpstreamBody> {
        res.map(|body| {
            let mut b = UpstreamBody {
                body,
                release: Some((sender, self.clone())),
            };
            if b.body.is_end_stream() {
                b.release();
            }
            b
        })
    }

    async fn connect(&self) -> Result<Sender, UpstreamError> {
        let port = self.authority.port_u16().unwrap_or(80);
        let host = self.authority.host();
        // `[::1]` in a URI is `::1` to the resolver.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut last = None;
            for addr in tokio::net::lookup_host((host, port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the upstream")
            }))
        })
        .await
        .map_err(|_| {
            UpstreamError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))
        })?
        .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "preflight::gateway", error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// An upstream response body that returns its connection to the pool when read to the end.
pub struct UpstreamBody {
    body: Incoming,
    release: Option<(Sender, Arc<Pool>)>,
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody").finish_non_exhaustive()
    }
}

impl UpstreamBody {
    fn release(&mut self) {
        if let Some((sender, pool)) = self.release.take() {
            pool.checkin(sender);
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.body).poll_frame(cx);
        match &r {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => this.release(),
            // A failed body leaves the connection unusable: drop it.
            Poll::Ready(Some(Err(_))) => this.release = None,
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A keep-alive upstream answering "ok" to everything.
    async fn upstream() -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                    TokioIo::new(s),
                    hyper::service::service_fn(|_req: Request<Incoming>| async {
                        Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }),
                ));
            }
        });
        addr
    }

    /// A request to send through the pool: `Incoming` bodies only come from hyper, so take one
    /// from a loopback exchange with a server that hands its request to the test.
    async fn incoming_request(host: &HeaderValue) -> Request<Incoming> {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let tx = std::sync::Mutex::new(Some(tx));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(
                    TokioIo::new(s),
                    hyper::service::service_fn(move |req: Request<Incoming>| {
                        if let Some(tx) = tx.lock().unwrap().take() {
                            let _ = tx.send(req);
                        }
                        std::future::pending::<
                            Result<
                                Response<http_body_util::Empty<Bytes>>,
                                std::convert::Infallible,
                            >,
                        >()
                    }),
                )
                .await;
        });
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) = http1::handshake::<_, http_body_util::Empty<Bytes>>(TokioIo::new(s))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/")
            .header("host", host)
            .body(http_body_util::Empty::new())
            .unwrap();
        tokio::spawn(async move {
            let _ = send.send_request(req).await;
        });
        let mut req = rx.await.unwrap();
        *req.uri_mut() = "/".parse().unwrap();
        req
    }

    #[tokio::test]
    async fn idle_connections_are_kept_then_evicted() {
        let addr = upstream().await;
        let pool = Pool::new(addr.to_string().parse().unwrap());
        assert_eq!(&exchange(&pool).await[..], b"ok");
        assert_eq!(pool.idle_count(), 1, "read to the end: back in the pool");
        pool.evict_idle(IDLE_TIMEOUT);
        assert_eq!(pool.idle_count(), 1, "not idle long enough to be evicted");
        pool.evict_idle(Duration::ZERO);
        assert_eq!(pool.idle_count(), 0);
    }

    /// An upstream that answers one request per connection with keep-alive, then closes the
    /// connection without saying so (as servers do with idle keep-alive connections).
    async fn closing_upstream() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                });
            }
        });
        addr
    }

    /// One exchange through the pool; the upstream's body.
    async fn exchange(pool: &Arc<Pool>) -> Bytes {
        let res = pool
            .send(incoming_request(pool.host()).await)
            .await
            .unwrap();
        res.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn idle_connections_closed_by_the_upstream_are_dropped_and_replaced() {
        let addr = closing_upstream().await;
        let pool = Pool::new(addr.to_string().parse().unwrap());
        assert_eq!(&exchange(&pool).await[..], b"ok");
        assert_eq!(pool.idle_count(), 1);
        // The upstream closes it while it is idle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        pool.evict_idle(IDLE_TIMEOUT);
        assert_eq!(pool.idle_count(), 0, "the close was noticed while idle");

        // A new connection, closed while idle again and this time not evicted: the next
        // request still goes out on a new one (the closed one is skipped at checkout, or hyper
        // hands the request back if the close has not been read yet).
        assert_eq!(&exchange(&pool).await[..], b"ok");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(&exchange(&pool).await[..], b"ok");
    }
}
