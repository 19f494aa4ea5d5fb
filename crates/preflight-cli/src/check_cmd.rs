//! `preflight check`: act as a browser against a live server.
//!
//! The request is built as `fetch()` would build it (forbidden headers dropped, with a
//! warning); the browser model (`preflight::browser::evaluate_with`) decides whether a
//! preflight is needed, what it carries (`OPTIONS`, `Origin`, `Access-Control-Request-Method`,
//! sorted `Access-Control-Request-Headers`, `Accept: */*`, no credentials), whether it passes,
//! whether the actual request is sent, where redirects lead (tainted origin → `Origin: null`,
//! a new preflight where needed, at most 20 redirects) and what script can read. This module
//! only sends the requests the model asks for (`preflight-http`) and prints.
//!
//! Modes:
//! * single: `preflight check URL --origin ORIGIN [-X METHOD] [-H 'Name: value']...`;
//! * matrix: `preflight check --matrix FILE.toml` — every combination of the file's `urls`,
//!   `origins`, `methods` (default `["GET"]`), `headers` (a list of header sets, each a list
//!   of `"Name: value"`; default one empty set) and `credentials` (default
//!   `["same-origin"]`), run `--concurrency` at a time;
//! * drift: `preflight check URL --policy cors.toml` — see [`crate::check_drift`].
//!
//! Exit status: 0 every check allowed (drift: no drift), 1 some check blocked (drift: the
//! server differs from the policy), 2 usage error, 3 network error (unreachable, TLS failure,
//! timeout) — 3 wins over 1.
//!
//! ## `--json` schema
//! One JSON object per line and check:
//!
//! ```text
//! {
//!   "url": string, "origin": string, "method": string,     // as given
//!   "headers": [[name, value]],                           // as given (secrets redacted)
//!   "credentials": "omit" | "same-origin" | "include",
//!   "behavior": "spec" | "chromium",
//!   "verdict": "allowed" | "blocked" | "network-error",
//!   "preflight": bool,                                    // a preflight was sent
//!   "failure_stage": null | "request" | "preflight" | "actual",
//!   "reason": string | null,                              // stable snake_case code
//!   "message": string | null,                             // Chromium's console message
//!   "fix": string | null,                                 // for the server owner
//!   "dropped_headers": [string],                          // forbidden, dropped by fetch()
//!   "readable": {"status": int, "headers": [[name, value]]} | null,   // what script sees
//!   "network_error": {"kind": "connect"|"tls"|"timeout"|"protocol"|"invalid_request"|"config",
//!                     "message": string} | null,
//!   "exchanges": [{"kind": "preflight" | "actual", "method": string, "url": string,
//!                  "request_headers": [[name, value]], "status": int | null,
//!                  "version": string | null, "response_headers": [[name, value]],
//!                  "error": {"kind", "message"} | null}],
//!   "steps": [{"rule": string, "check": string, "passed": bool}]   // the model's reasoning
//! }
//! ```
//!
//! `--junit FILE` writes a JUnit XML report: one `<testcase>` per check, `<failure>` when
//! blocked (message: reason code; text: console message and fix), `<error>` on a network error.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use preflight::browser::{Behavior, CredentialsMode};
use preflight_http::{Client, ClientConfig, HttpVersion, Resolve};
use serde::Deserialize;
use serde_json::json;

use crate::check_live::{run_check, CheckResult, Spec, Verdict};
use crate::explain::BrowserArg;
use crate::output::{dim, green, red, yellow};

/// Arguments of `preflight check`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The URL to request.
    #[arg(required_unless_present = "matrix")]
    pub url: Option<String>,
    /// The page's origin (`https://app.example`).
    #[arg(long, required_unless_present_any = ["matrix", "policy"])]
    pub origin: Option<String>,
    /// The method, as script would write it.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The request's credentials mode.
    #[arg(long, value_enum, default_value_t = CredArg::SameOrigin)]
    pub credentials: CredArg,
    /// A cookie (`a=b`) sent with the actual request when the browser would send credentials
    /// to the target's host (repeatable; joined with `; `).
    #[arg(long, value_name = "COOKIE")]
    pub cookie: Vec<String>,
    /// Whose behaviour to model.
    #[arg(long, value_enum, default_value_t = BrowserArg::Chromium)]
    pub browser: BrowserArg,
    /// Print the model's steps too.
    #[arg(long)]
    pub steps: bool,
    /// One JSON object per line and check (schema in the module docs).
    #[arg(long)]
    pub json: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Run every combination in a TOML matrix file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "policy"])]
    pub matrix: Option<std::path::PathBuf>,
    /// Compare the live server with a policy file (drift mode).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
    /// How many checks run at once (matrix and drift modes).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Seconds allowed for each request.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Send everything through this proxy (environment proxies are ignored).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connect to ADDR for HOST:PORT (curl-style `host:port:addr`, repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// HTTP version: `auto` (HTTP/2 when TLS negotiates it), `1.1`, `2` (prior knowledge).
    #[arg(long, value_enum, default_value_t = HttpArg::Auto)]
    pub http: HttpArg,
}

/// `--credentials`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredArg {
    /// Never send credentials.
    Omit,
    /// Only to the page's own origin (fetch()'s default).
    SameOrigin,
    /// Always; the server must send `Access-Control-Allow-Credentials: true`.
    Include,
}

impl From<CredArg> for CredentialsMode {
    fn from(c: CredArg) -> Self {
        match c {
            CredArg::Omit => CredentialsMode::Omit,
            CredArg::SameOrigin => CredentialsMode::SameOrigin,
            CredArg::Include => CredentialsMode::Include,
        }
    }
}

/// `--http`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpArg {
    /// HTTP/2 when TLS negotiates it, else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    #[value(name = "1.1")]
    Http1,
    /// HTTP/2 with prior knowledge (h2c on http://).
    #[value(name = "2")]
    Http2,
}

/// Usage errors are reported as exit 2; this marks them.
#[derive(Debug)]
struct Usage(String);
impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

/// Runs `preflight check`.
pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let client = build_client(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let behavior: Behavior = args.browser.into();
    if let Some(policy) = &args.policy {
        let url = args.url.as_deref().unwrap_or_default();
        return crate::check_drift::run(args, policy, url, &client, rt.handle(), behavior);
    }
    let specs = if let Some(m) = &args.matrix {
        matrix_specs(m)?
    } else {
        vec![single_spec(args)?]
    };
    let matrix = args.matrix.is_some();
    for s in &specs {
        validate(s)?;
    }
    for s in &specs {
        if !matrix {
            warn_dropped(s, behavior);
        }
    }
    let results = run_all(
        &specs,
        behavior,
        &client,
        rt.handle(),
        args.concurrency,
        matrix,
    );
    let mut out = String::new();
    for r in &results {
        if args.json {
            out.push_str(&json_result(r).to_string());
            out.push('\n');
        } else if !matrix {
            human(&mut out, r, args.steps);
        }
    }
    if matrix && !args.json {
        summary_table(&mut out, &results);
    }
    print!("{out}");
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(exit_code(results.iter().map(|r| r.verdict)))
}

/// 3 if any network error, else 1 if any blocked, else 0.
pub(crate) fn exit_code(v: impl Iterator<Item = Verdict>) -> ExitCode {
    let mut code = 0;
    for v in v {
        code = code.max(match v {
            Verdict::Allowed => 0,
            Verdict::Blocked => 1,
            Verdict::NetworkError => 3,
        });
    }
    ExitCode::from(code)
}

pub(crate) fn build_client(args: &CheckArgs) -> Result<Client> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!(Usage(format!(
            "--timeout {}: must be positive",
            args.timeout
        )));
    }
    let resolve = args
        .resolve
        .iter()
        .map(|r| r.parse::<Resolve>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Usage(e.to_string()))?;
    let cfg = ClientConfig {
        timeout: Duration::from_secs_f64(args.timeout),
        connect_timeout: None,
        insecure: args.insecure,
        proxy: args.proxy.clone(),
        resolve,
        max_body: 64 * 1024,
        http: match args.http {
            HttpArg::Auto => HttpVersion::Auto,
            HttpArg::Http1 => HttpVersion::Http1Only,
            HttpArg::Http2 => HttpVersion::Http2PriorKnowledge,
        },
        user_agent: Some(concat!("preflight/", env!("CARGO_PKG_VERSION")).to_string()),
    };
    Client::new(&cfg).map_err(|e| Usage(e.to_string()).into())
}

/// Parses `Name: value` (the value trimmed).
pub(crate) fn parse_header(h: &str) -> Result<(String, String)> {
    let Some((n, v)) = h.split_once(':') else {
        bail!(Usage(format!("-H {h:?}: expected 'Name: value'")));
    };
    let n = n.trim();
    if n.is_empty() {
        bail!(Usage(format!("-H {h:?}: empty header name")));
    }
    Ok((n.to_string(), v.trim().to_string()))
}

fn single_spec(args: &CheckArgs) -> Result<Spec> {
    Ok(Spec {
        url: args.url.clone().unwrap_or_default(),
        origin: args.origin.clone().unwrap_or_default(),
        method: args.method.clone(),
        headers: args
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<_>>()?,
        credentials: args.credentials.into(),
        cookie: (!args.cookie.is_empty()).then(|| args.cookie.join("; ")),
    })
}

pub(crate) fn validate(s: &Spec) -> Result<()> {
    let u = url::Url::parse(&s.url).map_err(|e| Usage(format!("URL {:?}: {e}", s.url)))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        bail!(Usage(format!("URL {:?}: only http and https", s.url)));
    }
    if s.origin != "null" {
        preflight::Origin::parse(&s.origin)
            .map_err(|e| Usage(format!("--origin {:?}: {e}", s.origin)))?;
    }
    Ok(())
}

fn warn_dropped(s: &Spec, behavior: Behavior) {
    let p = preflight::browser::prepare(
        &preflight::browser::RequestInit {
            method: &s.method,
            headers: &s.headers,
            credentials: s.credentials,
            mode: preflight::browser::RequestMode::Cors,
            body: None,
            cache: None,
        },
        behavior,
    );
    if let Ok(p) = p {
        for d in &p.dropped_headers {
            let hint = if d.eq_ignore_ascii_case("cookie") {
                " (use --cookie with --credentials include)"
            } else {
                ""
            };
            eprintln!(
                "{} header {d} is forbidden: fetch() drops it silently, so it is not sent{hint}",
                yellow("warning:")
            );
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    urls: Vec<String>,
    origins: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    headers: Vec<Vec<String>>,
    #[serde(default)]
    credentials: Vec<CredArg>,
    #[serde(default)]
    cookie: Option<String>,
}

fn matrix_specs(path: &std::path::Path) -> Result<Vec<Spec>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Usage(format!("reading {}: {e}", path.display())))?;
    let m: MatrixFile =
        toml::from_str(&text).map_err(|e| Usage(format!("{}: {e}", path.display())))?;
    if m.urls.is_empty() || m.origins.is_empty() {
        bail!(Usage(format!(
            "{}: `urls` and `origins` must not be empty",
            path.display()
        )));
    }
    let methods = if m.methods.is_empty() {
        vec!["GET".to_string()]
    } else {
        m.methods
    };
    let header_sets: Vec<Vec<(String, String)>> = if m.headers.is_empty() {
        vec![Vec::new()]
    } else {
        m.headers
            .iter()
            .map(|set| set.iter().map(|h| parse_header(h)).collect())
            .collect::<Result<_>>()?
    };
    let creds = if m.credentials.is_empty() {
        vec![CredArg::SameOrigin]
    } else {
        m.credentials
    };
    let mut specs = Vec::new();
    for url in &m.urls {
        for origin in &m.origins {
            for method in &methods {
                for headers in &header_sets {
                    for c in &creds {
                        specs.push(Spec {
                            url: url.clone(),
                            origin: origin.clone(),
                            method: method.clone(),
                            headers: headers.clone(),
                            credentials: (*c).into(),
                            cookie: m.cookie.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(specs)
}

/// Runs the checks on `concurrency` threads (each blocks on the shared runtime), in order.
fn run_all(
    specs: &[Spec],
    behavior: Behavior,
    client: &Client,
    rt: &tokio::runtime::Handle,
    concurrency: u16,
    progress: bool,
) -> Vec<CheckResult> {
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(specs.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} checks {msg}")
        {
            b.set_style(style);
        }
        b
    });
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CheckResult>>> = Mutex::new(vec![None; specs.len()]);
    std::thread::scope(|s| {
        for _ in 0..usize::from(concurrency).min(specs.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { break };
                let r = run_check(spec, behavior, client, rt);
                if let Some(b) = &bar {
                    b.inc(1);
                }
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Response headers worth showing in the transcript.
fn matters(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("access-control-") || n == "location" || n == "vary"
}

fn human(out: &mut String, r: &CheckResult, steps: bool) {
    let s = &r.spec;
    let _ = writeln!(
        out,
        "{} {} from origin {} (credentials: {}, {})",
        s.method,
        s.url,
        s.origin,
        s.credentials.as_str(),
        match r.behavior {
            Behavior::Spec => "Fetch standard",
            Behavior::Chromium => "Chromium",
        }
    );
    for ex in &r.exchanges {
        let _ = writeln!(
            out,
            "{} {} {}{}",
            dim("→"),
            ex.method,
            ex.url,
            if ex.kind == "preflight" {
                dim(" (preflight)")
            } else {
                String::new()
            }
        );
        for (n, v) in &ex.request_headers {
            let _ = writeln!(out, "    {n}: {v}");
        }
        match (&ex.status, &ex.error) {
            (Some(st), _) => {
                let _ = writeln!(
                    out,
                    "{} {st} {}",
                    dim("←"),
                    dim(ex.version.as_deref().unwrap_or(""))
                );
                let shown: Vec<_> = ex
                    .response_headers
                    .iter()
                    .filter(|(n, _)| matters(n))
                    .collect();
                if shown.is_empty() {
                    let _ = writeln!(out, "    {}", dim("(no CORS headers)"));
                }
                for (n, v) in shown {
                    let _ = writeln!(out, "    {n}: {v}");
                }
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "{} {}", red("✗"), e.message);
            }
            (None, None) => {}
        }
    }
    if steps {
        let _ = writeln!(out, "Steps:");
        for (i, st) in r.evaluation.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>2}. [{}] {} — {}",
                i + 1,
                if st.passed { "ok" } else { "FAIL" },
                st.check,
                st.rule
            );
        }
    }
    match r.verdict {
        Verdict::NetworkError => {
            let e = r.network_error.as_ref();
            let _ = writeln!(
                out,
                "Verdict: {} ({}) — no HTTP answer; this is not a CORS verdict",
                red("NETWORK ERROR"),
                e.map(|e| e.kind).unwrap_or("unknown")
            );
        }
        _ => {
            crate::output::write_verdict(out, &r.evaluation, true);
            if r.verdict == Verdict::Allowed {
                let h: Vec<String> = r
                    .readable_headers()
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "Script sees: status {}{}{}",
                    r.readable_status()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "?".into()),
                    if h.is_empty() { "" } else { "; " },
                    h.join("; ")
                );
            }
        }
    }
}

fn summary_table(out: &mut String, results: &[CheckResult]) {
    let rows: Vec<[String; 7]> = results
        .iter()
        .map(|r| {
            let s = &r.spec;
            let h: Vec<&str> = s.headers.iter().map(|(n, _)| n.as_str()).collect();
            [
                r.verdict.as_str().to_string(),
                s.method.clone(),
                s.url.clone(),
                s.origin.clone(),
                s.credentials.as_str().to_string(),
                if h.is_empty() {
                    "-".into()
                } else {
                    h.join(",")
                },
                match r.verdict {
                    Verdict::NetworkError => r
                        .network_error
                        .as_ref()
                        .map(|e| e.kind.to_string())
                        .unwrap_or_default(),
                    _ => r
                        .evaluation
                        .reason
                        .map(|x| x.code().to_string())
                        .unwrap_or_else(|| "-".into()),
                },
            ]
        })
        .collect();
    let head = [
        "VERDICT",
        "METHOD",
        "URL",
        "ORIGIN",
        "CREDENTIALS",
        "HEADERS",
        "REASON",
    ];
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>, out: &mut String| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = w[i].saturating_sub(c.chars().count());
            let _ = write!(l, "{c}{}  ", " ".repeat(pad));
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(head.iter().map(|s| s.to_string()).collect(), out);
    for r in rows {
        let mut cells = r.to_vec();
        let pad = w[0].saturating_sub(cells[0].len());
        cells[0] = match cells[0].as_str() {
            "allowed" => green("allowed"),
            "blocked" => red("blocked"),
            other => yellow(other),
        } + &" ".repeat(pad);
        // The colour codes would skew padding: pad manually above.
        let mut l = cells[0].clone() + "  ";
        for (i, c) in cells.iter().enumerate().skip(1) {
            let pad = w[i].saturating_sub(c.chars().count());
            let _ = write!(l, "{c}{}  ", " ".repeat(pad));
        }
        let _ = writeln!(out, "{}", l.trim_end());
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        out,
        "{} checks: {} allowed, {} blocked, {} network errors",
        results.len(),
        count(Verdict::Allowed),
        count(Verdict::Blocked),
        count(Verdict::NetworkError)
    );
}

fn json_result(r: &CheckResult) -> serde_json::Value {
    let s = &r.spec;
    let ev = &r.evaluation;
    let headers: Vec<(String, String)> = s
        .headers
        .iter()
        .map(|(n, v)| {
            if crate::explain::is_secret(n) {
                (n.clone(), "[redacted]".to_string())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    let blocked = r.verdict == Verdict::Blocked;
    json!({
        "url": s.url,
        "origin": s.origin,
        "method": s.method,
        "headers": headers,
        "credentials": s.credentials,
        "behavior": r.behavior,
        "verdict": r.verdict.as_str(),
        "preflight": ev.preflight,
        "failure_stage": if blocked { serde_json::to_value(ev.failure_stage).unwrap_or_default() } else { serde_json::Value::Null },
        "reason": if blocked { ev.reason.map(|x| x.code()) } else { None },
        "message": if blocked { ev.message.clone() } else { None },
        "fix": if blocked { ev.fix.clone() } else { None },
        "dropped_headers": r.dropped_headers,
        "readable": r.readable_status().map(|st| json!({"status": st, "headers": r.readable_headers()})),
        "network_error": r.network_error,
        "exchanges": r.exchanges,
        "steps": ev.steps,
    })
}

/// Escapes text for XML.
pub(crate) fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => o.push(c),
        }
    }
    o
}

/// A JUnit test case: name, and an optional `(element, message, text)` outcome.
pub(crate) type JunitCase = (String, Option<(&'static str, String, String)>);

/// JUnit XML for a list of cases.
pub(crate) fn junit_xml(suite: &str, cases: &[JunitCase]) -> String {
    let failures = cases
        .iter()
        .filter(|(_, o)| matches!(o, Some(("failure", _, _))))
        .count();
    let errors = cases
        .iter()
        .filter(|(_, o)| matches!(o, Some(("error", _, _))))
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        xml(suite),
        cases.len()
    );
    for (name, outcome) in cases {
        let _ = write!(
            x,
            "  <testcase classname=\"{}\" name=\"{}\"",
            xml(suite),
            xml(name)
        );
        match outcome {
            None => x.push_str("/>\n"),
            Some((el, msg, text)) => {
                let _ = writeln!(
                    x,
                    "><{el} message=\"{}\">{}</{el}></testcase>",
                    xml(msg),
                    xml(text)
                );
            }
        }
    }
    x.push_str("</testsuite></testsuites>\n");
    x
}

fn junit(results: &[CheckResult]) -> String {
    let cases: Vec<JunitCase> = results
        .iter()
        .map(|r| {
            let s = &r.spec;
            let h: Vec<&str> = s.headers.iter().map(|(n, _)| n.as_str()).collect();
            let name = format!(
                "{} {} from {} (credentials {}{}{})",
                s.method,
                s.url,
                s.origin,
                s.credentials.as_str(),
                if h.is_empty() { "" } else { ", headers " },
                h.join(",")
            );
            let outcome = match r.verdict {
                Verdict::Allowed => None,
                Verdict::Blocked => Some((
                    "failure",
                    r.evaluation
                        .reason
                        .map(|x| x.code().to_string())
                        .unwrap_or_default(),
                    format!(
                        "{}\nFix: {}",
                        r.evaluation.message.clone().unwrap_or_default(),
                        r.evaluation.fix.clone().unwrap_or_default()
                    ),
                )),
                Verdict::NetworkError => {
                    let e = r.network_error.as_ref();
                    Some((
                        "error",
                        e.map(|e| e.kind.to_string()).unwrap_or_default(),
                        e.map(|e| e.message.clone()).unwrap_or_default(),
                    ))
                }
            };
            (name, outcome)
        })
        .collect();
    junit_xml("preflight check", &cases)
}
