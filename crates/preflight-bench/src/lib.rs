//! Shared fixtures for the benchmarks and allocation counts: equivalent CORS configurations for
//! Preflight, tower-http and actix-cors, and the requests of every scenario.
//!
//! The configurations allow credentials, the methods GET, POST, PUT and DELETE, the request
//! headers `content-type` and `authorization`, expose `x-request-id` and set a max-age of 600 s.
//! Origins: [`Size::One`], [`Size::Ten`], or [`Size::Many`] (10,000 exact origins plus 1,000
//! `https://*.tenantN.example.net` patterns for Preflight; tower-http and actix-cors have no
//! safe patterns, so they get the 11,000 equivalent exact origins, which only favours them).

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use tower::Service;

/// How many origins the policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// One exact origin.
    One,
    /// Ten exact origins.
    Ten,
    /// 10,000 exact origins and 1,000 subdomain patterns.
    Many,
}

impl Size {
    /// Label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Size::One => "1-origin",
            Size::Ten => "10-origins",
            Size::Many => "10k-origins+1k-patterns",
        }
    }
}

/// The allowed origin every scenario uses (in every size's list).
pub const ALLOWED: &str = "https://app5.customer.example";
/// An origin no configuration allows.
pub const DENIED: &str = "https://evil.example";

fn exact(size: Size) -> Vec<String> {
    let n = match size {
        Size::One => 1,
        Size::Ten => 10,
        Size::Many => 10_000,
    };
    let mut v: Vec<String> = (0..n)
        .map(|i| format!("https://app{i}.customer.example"))
        .collect();
    if size == Size::One {
        v = vec![ALLOWED.to_owned()];
    }
    v
}

/// Preflight's configuration.
///
/// # Panics
/// Never for these fixed inputs.
#[allow(clippy::expect_used)]
pub fn preflight_policy(size: Size) -> preflight::Policy {
    let mut origins = exact(size);
    if size == Size::Many {
        origins.extend((0..1_000).map(|i| format!("https://*.tenant{i}.example.net")));
    }
    preflight::Config::new()
        .origins(origins)
        .credentials(true)
        .methods(["GET", "POST", "PUT", "DELETE"])
        .request_headers(["content-type", "authorization"])
        .expose_headers(["x-request-id"])
        .max_age(600)
        .compile()
        .expect("valid policy")
}

fn equivalent_exact(size: Size) -> Vec<String> {
    let mut origins = exact(size);
    if size == Size::Many {
        origins.extend((0..1_000).map(|i| format!("https://x.tenant{i}.example.net")));
    }
    origins
}

/// tower-http's equivalent `CorsLayer`.
pub fn tower_http_layer(size: Size) -> tower_http::cors::CorsLayer {
    use http::header::{AUTHORIZATION, CONTENT_TYPE};
    let origins: Vec<HeaderValue> = equivalent_exact(size)
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION])
        .expose_headers([http::header::HeaderName::from_static("x-request-id")])
        .max_age(std::time::Duration::from_secs(600))
}

/// actix-cors's equivalent `Cors`.
pub fn actix_cors(size: Size) -> actix_cors::Cors {
    let mut c = actix_cors::Cors::default()
        .supports_credentials()
        .allowed_methods(["GET", "POST", "PUT", "DELETE"])
        .allowed_headers(["content-type", "authorization"])
        .expose_headers(["x-request-id"])
        .max_age(600);
    for o in equivalent_exact(size) {
        c = c.allowed_origin(&o);
    }
    c
}

/// The request scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// GET from the allowed origin.
    ActualAllowed,
    /// GET from another origin.
    ActualDenied,
    /// GET without `Origin`.
    NoOrigin,
    /// Preflight for PUT with `content-type` from the allowed origin.
    PreflightAllowed,
    /// Preflight from another origin.
    PreflightDenied,
    /// Preflight whose `Access-Control-Request-Headers` is 1 MiB of commas.
    AcrhCommas,
    /// Preflight whose `Access-Control-Request-Headers` repeats one name to 1 MiB.
    AcrhRepeated,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 7] = [
        Scenario::ActualAllowed,
        Scenario::ActualDenied,
        Scenario::NoOrigin,
        Scenario::PreflightAllowed,
        Scenario::PreflightDenied,
        Scenario::AcrhCommas,
        Scenario::AcrhRepeated,
    ];

    /// Label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::ActualAllowed => "actual-allowed",
            Scenario::ActualDenied => "actual-denied",
            Scenario::NoOrigin => "no-origin",
            Scenario::PreflightAllowed => "preflight-allowed",
            Scenario::PreflightDenied => "preflight-denied",
            Scenario::AcrhCommas => "acrh-1MiB-commas",
            Scenario::AcrhRepeated => "acrh-1MiB-one-name",
        }
    }

    /// The request's method and headers: the headers headless Chromium 156 sends for a
    /// cross-origin `fetch()` (a GET) and for the preflight of a PUT with `content-type`,
    /// names, order and values as captured from the real browser on 2026-11-22 (only the
    /// origins, the host and the request headers are the scenario's). Realistic header counts
    /// matter: a server's header map holds them all, and a lookup, a scan or a clear of the
    /// map costs by the number of entries. Names are lowercase, as HTTP/2 and `http` store them.
    pub fn parts(self) -> (Method, Vec<(&'static str, String)>) {
        const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          HeadlessChrome/156.0.0.0 Safari/537.36";
        const CH_UA: &str = "\"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"";
        let tail = |h: &mut Vec<(&'static str, String)>| {
            h.push(("referer", "https://app5.customer.example/".to_owned()));
            h.push(("accept-encoding", "gzip, deflate, br, zstd".to_owned()));
            h.push(("accept-language", "en-US,en;q=0.9".to_owned()));
        };
        // Chromium's order for a CORS GET.
        let get = |origin: Option<&str>| {
            let mut h = vec![
                ("host", "api.example.net".to_owned()),
                ("connection", "keep-alive".to_owned()),
                ("sec-ch-ua-platform", "\"Linux\"".to_owned()),
                ("user-agent", UA.to_owned()),
                ("sec-ch-ua", CH_UA.to_owned()),
                ("sec-ch-ua-mobile", "?0".to_owned()),
                ("accept", "*/*".to_owned()),
            ];
            if let Some(o) = origin {
                h.push(("origin", o.to_owned()));
            }
            let site = if origin.is_some() {
                "cross-site"
            } else {
                "same-origin"
            };
            h.push(("sec-fetch-site", site.to_owned()));
            h.push(("sec-fetch-mode", "cors".to_owned()));
            h.push(("sec-fetch-dest", "empty".to_owned()));
            tail(&mut h);
            (Method::GET, h)
        };
        // Chromium's order for a preflight (no client hints).
        let pre = |origin: &str, acrh: String| {
            let mut h = vec![
                ("host", "api.example.net".to_owned()),
                ("connection", "keep-alive".to_owned()),
                ("accept", "*/*".to_owned()),
                ("access-control-request-method", "PUT".to_owned()),
                ("access-control-request-headers", acrh),
                ("origin", origin.to_owned()),
                ("user-agent", UA.to_owned()),
                ("sec-fetch-mode", "cors".to_owned()),
                ("sec-fetch-site", "cross-site".to_owned()),
                ("sec-fetch-dest", "empty".to_owned()),
            ];
            tail(&mut h);
            (Method::OPTIONS, h)
        };
        match self {
            Scenario::ActualAllowed => get(Some(ALLOWED)),
            Scenario::ActualDenied => get(Some(DENIED)),
            Scenario::NoOrigin => get(None),
            Scenario::PreflightAllowed => pre(ALLOWED, "content-type".into()),
            Scenario::PreflightDenied => pre(DENIED, "content-type".into()),
            Scenario::AcrhCommas => pre(ALLOWED, ",".repeat(1 << 20)),
            Scenario::AcrhRepeated => pre(ALLOWED, "content-type,".repeat((1 << 20) / 13)),
        }
    }

    /// An `http` request for tower services, built as hyper builds a parsed request: the path
    /// and every header value are slices of one reference-counted read buffer that outlives the
    /// request (hyper's connection buffer), so dropping the request decrements a count and
    /// frees no value.
    ///
    /// # Panics
    /// Never for these fixed inputs.
    #[allow(clippy::expect_used)]
    pub fn request(self) -> Request<()> {
        static BUFFERS: OnceLock<Vec<Bytes>> = OnceLock::new();
        let buffers = BUFFERS.get_or_init(|| {
            Scenario::ALL
                .iter()
                .map(|s| {
                    let mut text = String::from(PATH);
                    for (_, v) in s.parts().1 {
                        text.push_str(&v);
                    }
                    Bytes::from(text)
                })
                .collect()
        });
        let index = Scenario::ALL.iter().position(|s| *s == self).unwrap_or(0);
        let buf = &buffers[index];
        let (method, headers) = self.parts();
        let uri = http::Uri::from_maybe_shared(buf.slice(..PATH.len())).expect("valid path");
        let mut b = Request::builder().method(method).uri(uri);
        let mut at = PATH.len();
        for (n, v) in headers {
            let slice = buf.slice(at..at + v.len());
            at += v.len();
            b = b.header(
                n,
                HeaderValue::from_maybe_shared(slice).expect("valid value"),
            );
        }
        b.body(()).expect("valid request")
    }
}

/// The request path of every scenario.
const PATH: &str = "/items/1";

/// The inner service of every tower benchmark: 200 with an empty body, a header map with room
/// for the CORS headers (so map growth is not counted against any layer).
pub fn inner() -> impl Service<
    Request<()>,
    Response = Response<()>,
    Error = Infallible,
    Future = Ready<Result<Response<()>, Infallible>>,
> + Clone {
    tower::service_fn(|_req: Request<()>| {
        let mut r = Response::new(());
        r.headers_mut().reserve(16);
        ready(Ok(r))
    })
}

/// Drives a tower service whose futures complete without waking (all of ours do).
///
/// # Panics
/// When the service is not ready or its future is pending (not the case for these services).
#[allow(clippy::panic)]
pub fn call<S, R>(svc: &mut S, req: R) -> S::Response
where
    S: Service<R>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let mut fut = pin!(svc.call(req));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(r)) => r,
        _ => panic!("future not ready or failed"),
    }
}

/// Builds an actix-web test request for a scenario.
pub fn actix_request(s: Scenario) -> actix_web::test::TestRequest {
    let (method, headers) = s.parts();
    let m = actix_web::http::Method::from_bytes(method.as_str().as_bytes())
        .unwrap_or(actix_web::http::Method::GET);
    let mut r = actix_web::test::TestRequest::default()
        .method(m)
        .uri("/items/1");
    for (n, v) in headers {
        r = r.insert_header((n, v));
    }
    r
}

/// Keeps glibc's heap steady during a benchmark, as it is in a long-running server.
///
/// Criterion's batched benchmarks keep thousands of outputs (responses) alive and then free them
/// all at once; with glibc's defaults every batch then trims the top of the heap back to the
/// system (`brk`) and the next batch grows it again, page faults included. That churn, which no
/// steady-state server sees, made single measurements vary by 2× between runs and charged
/// whichever implementation allocated the most. With trimming off and a 64 MiB top pad, the
/// heap stays mapped and every implementation pays what `malloc` costs in a server. No effect
/// on other allocators or platforms.
pub fn steady_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)] // one libc call, no pointers
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_TOP_PAD: i32 = -2;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt takes two integers and only changes allocator tunables.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
            mallopt(M_TOP_PAD, 64 << 20);
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
        }
    }
}

/// The least any tower layer can do to answer the allowed preflight with `http`'s types: the
/// request's header map cleared and reused (no allocation), the six headers Preflight's answer
/// carries appended with fixed values (nothing evaluated, nothing reflected), a response built
/// and dropped. What is left between this and Preflight is the evaluation. Only meaningful for
/// [`Scenario::PreflightAllowed`] with [`Size`]'s policies (the `paired` example checks that it
/// writes exactly Preflight's answer).
///
/// Written out header by header on purpose: a loop over a `const` array of the six pairs
/// measured 855 instructions against this form's 812 (callgrind), and a floor should be the
/// cheapest form (its profile shows no run-time cost for the `from_static` checks).
pub fn floor_preflight(req: http::Request<()>) -> http::Response<()> {
    use http::header::{self, HeaderValue};
    let mut headers = req.into_parts().0.headers;
    headers.clear();
    headers.append(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(ALLOWED),
    );
    headers.append(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("PUT, DELETE"),
    );
    headers.append(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    headers.append(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    headers.append(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    let mut res = http::Response::new(());
    *res.status_mut() = http::StatusCode::NO_CONTENT;
    *res.headers_mut() = headers;
    res
}
