//! `preflight scan`: audit live URLs for CORS misconfigurations.
//!
//! The probe plan and the judgement are the library's (`preflight::scan`, sans-IO); this
//! module reads the targets, sends the probes with `preflight-http` (bounded concurrency,
//! `--rate` limit, timeouts, retries on network errors), and writes the report.
//!
//! Exit status: 0 no finding at or above `--fail-on` (default `low`), 1 some finding at or
//! above it, 2 usage error, 3 network error on some URL (3 wins over 1).
//!
//! ## `--json` schema (one document)
//!
//! ```text
//! {
//!   "schema": "preflight-scan/1",
//!   "tool": {"name": "preflight", "version": string},
//!   "fail_on": "info" | "low" | "medium" | "high",
//!   "exit_code": 0 | 1 | 3,
//!   "summary": {"targets": int, "requests": int, "network_errors": int,
//!               "findings": {"high": int, "medium": int, "low": int, "info": int}},
//!   "targets": [{
//!     "url": string, "origin": string,                 // the target and its own origin
//!     "status": "ok" | "network_error",
//!     "error": {"kind": "connect"|"tls"|"timeout"|"protocol"|..., "message": string} | null,
//!     "requests": int,                                 // probes sent (≤ 60)
//!     "trusted_origins": [string],                     // what round 2 mutated
//!     "findings": [{
//!       "class": string,                               // stable id, e.g. "prefix_match"
//!       "severity": "info" | "low" | "medium" | "high",
//!       "credentials": bool,                           // ACAC was exactly `true`
//!       "origin": string,                              // the Origin the server accepted
//!       "message": string, "fix": string,
//!       "policy_line": int | null,                     // with --policy
//!       "evidence": {"probe": string, "method": string, "url": string,
//!                    "request_headers": [[name, value]],    // secrets redacted
//!                    "status": int, "response_headers": [[name, value]]}
//!     }]
//!   }]
//! }
//! ```
//!
//! ## SARIF
//!
//! `--sarif FILE` writes SARIF 2.1.0: one rule per class (`id` = class id, `security-severity`
//! from the class's worst case), one result per finding (`level`: high → `error`, medium and
//! low → `warning`, info → `note`). GitHub code scanning needs a physical location in the
//! repository and rejects URLs, so:
//! * with `--policy FILE`, the location is the line of the policy field that fixes the class
//!   (`origins`, `credentials`, `private_network`, ...; line 1 when the field is absent);
//! * else with `--targets FILE`, the line of the URL in that file;
//! * else a placeholder relative path `preflight-scan/<host>[_<port>]/<path>` (GitHub shows
//!   it without source context).
//!
//! Every location also carries a logical location (`kind: "resource"`, the URL), and every
//! result a `partialFingerprints` entry (`class` + URL) so alerts stay stable across runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use preflight::scan::{Class, Finding, Observation, ObservedResponse, Plan, ScanOptions, Severity};
use preflight::Origin;
use preflight_http::{Client, ClientConfig, HttpVersion, Request, Resolve};
use serde_json::{json, Value};

use crate::output::{dim, green, red, yellow};

/// Arguments of `preflight scan`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScanArgs {
    /// URLs to scan.
    #[arg(value_name = "URL", required_unless_present = "targets")]
    pub urls: Vec<String>,
    /// Read URLs from FILE, one a line (`#` comments and blank lines ignored; `-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// An origin the server trusts (repeatable); mutated like discovered ones.
    #[arg(long = "trusted-origin", value_name = "ORIGIN")]
    pub trusted_origins: Vec<String>,
    /// Do not probe the common siblings (www., app., the bare site).
    #[arg(long)]
    pub no_siblings: bool,
    /// Print one JSON document (schema in the module docs) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a SARIF 2.1.0 report to FILE.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// The policy file the server is configured from: SARIF locations point at its lines.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Requests per second, over all URLs (0: unlimited).
    #[arg(long, default_value_t = 20.0, value_name = "N")]
    pub rate: f64,
    /// Requests in flight at once, over all URLs.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Seconds allowed for each request.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Retries of a request that got no answer (connect error, timeout), with backoff.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=5))]
    pub retries: u8,
    /// An extra request header, `Name: value` (repeatable), sent with every probe.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// A cookie (`a=b`, repeatable; joined with `; `), sent with every probe but preflights.
    #[arg(long, value_name = "COOKIE")]
    pub cookie: Vec<String>,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Send everything through this proxy (environment proxies are ignored).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connect to ADDR for HOST:PORT (curl-style `host:port:addr`, repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
}

/// `--fail-on`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High only.
    High,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
        }
    }
}

/// A URL to scan and where it came from.
#[derive(Clone, Debug)]
struct Target {
    url: String,
    /// 1-based line in the `--targets` file.
    line: Option<usize>,
}

/// The result for one URL.
#[derive(Debug)]
struct UrlReport {
    url: String,
    origin: String,
    line: Option<usize>,
    requests: usize,
    trusted: Vec<String>,
    findings: Vec<Finding>,
    error: Option<preflight_http::Error>,
}

/// Spaces requests `interval` apart, over all tasks.
struct Limiter {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Limiter {
    async fn wait(&self) {
        let Some(iv) = self.interval else { return };
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + iv;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

struct Sender {
    client: Client,
    limiter: Limiter,
    slots: tokio::sync::Semaphore,
    retries: u8,
    bar: indicatif::ProgressBar,
}

impl Sender {
    async fn send(&self, req: &Request) -> Result<preflight_http::Response, preflight_http::Error> {
        let mut attempt = 0u8;
        loop {
            let result = {
                let _permit = self.slots.acquire().await;
                self.limiter.wait().await;
                self.client.send(req).await
            };
            match result {
                Err(e) if e.is_network() && attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                r => {
                    self.bar.inc(1);
                    return r;
                }
            }
        }
    }
}

/// Runs `preflight scan`.
pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    let targets = read_targets(args)?;
    let opts = scan_options(args)?;
    for t in &targets {
        Plan::new(&t.url, &opts).map_err(|e| anyhow::anyhow!("{}: {e}", t.url))?;
    }
    let policy_text = match &args.policy {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let client = build_client(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} requests {msg}")
        {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let sender = Arc::new(Sender {
        client,
        limiter: Limiter {
            interval: (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        },
        slots: tokio::sync::Semaphore::new(usize::from(args.concurrency)),
        retries: args.retries,
        bar: bar.clone(),
    });
    let reports = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in targets.iter().cloned().enumerate() {
            let sender = Arc::clone(&sender);
            let opts = opts.clone();
            set.spawn(async move { (i, scan_url(&t, &opts, &sender).await) });
        }
        let mut out: Vec<Option<UrlReport>> = (0..targets.len()).map(|_| None).collect();
        while let Some(r) = set.join_next().await {
            if let Ok((i, rep)) = r {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(rep);
                }
            }
        }
        out.into_iter().flatten().collect::<Vec<_>>()
    });
    bar.finish_and_clear();
    if reports.len() != targets.len() {
        bail!("internal error: a scan task failed");
    }
    let threshold: Severity = args.fail_on.into();
    let net_error = reports.iter().any(|r| r.error.is_some());
    let failing = reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(|f| f.severity >= threshold);
    let code: u8 = if net_error {
        3
    } else if failing {
        1
    } else {
        0
    };
    let text = if args.json {
        serde_json::to_string_pretty(&json_report(&reports, args, policy_text.as_deref(), code))?
            + "\n"
    } else {
        human(&reports, threshold)
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    if let Some(path) = &args.sarif {
        let doc = sarif(&reports, args, policy_text.as_deref());
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::from(code))
}

async fn scan_url(t: &Target, opts: &ScanOptions, sender: &Sender) -> UrlReport {
    let mut report = UrlReport {
        url: t.url.clone(),
        origin: String::new(),
        line: t.line,
        requests: 0,
        trusted: Vec::new(),
        findings: Vec::new(),
        error: None,
    };
    let mut plan = match Plan::new(&t.url, opts) {
        Ok(p) => p,
        Err(e) => {
            report.error = Some(preflight_http::Error::InvalidRequest(e.to_string()));
            return report;
        }
    };
    report.origin = plan.target_origin().to_string();
    let mut observed: Vec<Observation> = Vec::new();
    loop {
        let probes = plan.next_round(&observed);
        if probes.is_empty() {
            break;
        }
        if probes.first().is_some_and(|p| p.round == 2) {
            report.trusted = plan
                .trusted_origins(&observed)
                .iter()
                .map(Origin::to_string)
                .collect();
        }
        sender.bar.inc_length(probes.len() as u64);
        report.requests += probes.len();
        let sends = probes.iter().map(|p| {
            let req = Request {
                method: p.method.clone(),
                url: p.url.clone(),
                headers: p.headers.clone(),
            };
            async move { sender.send(&req).await }
        });
        let results = join_all(sends).await;
        for (probe, r) in probes.into_iter().zip(results) {
            match r {
                Ok(resp) => observed.push(Observation {
                    probe,
                    response: ObservedResponse {
                        status: resp.status,
                        headers: resp.headers,
                    },
                }),
                Err(e) => {
                    if report.error.is_none() {
                        report.error = Some(e);
                    }
                }
            }
        }
        if report.error.is_some() {
            break;
        }
    }
    report.findings = plan.judge(&observed);
    report
}

/// Polls every future concurrently (the sender bounds what is in flight); results in order.
async fn join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn read_targets(args: &ScanArgs) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = args
        .urls
        .iter()
        .map(|u| Target {
            url: u.clone(),
            line: None,
        })
        .collect();
    if let Some(path) = &args.targets {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading targets from stdin")?;
            s
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        };
        let from_file = path.as_os_str() != "-";
        for (i, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            out.push(Target {
                url: l.to_string(),
                line: from_file.then_some(i + 1),
            });
        }
    }
    if out.is_empty() {
        bail!("no URL to scan");
    }
    Ok(out)
}

fn scan_options(args: &ScanArgs) -> Result<ScanOptions> {
    let trusted_origins = args
        .trusted_origins
        .iter()
        .map(|o| Origin::parse(o).map_err(|e| anyhow::anyhow!("--trusted-origin: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let mut extra_headers = args
        .headers
        .iter()
        .map(|h| crate::check_cmd::parse_header(h))
        .collect::<Result<Vec<_>>>()?;
    if !args.cookie.is_empty() {
        extra_headers.push(("Cookie".into(), args.cookie.join("; ")));
    }
    Ok(ScanOptions {
        trusted_origins,
        siblings: !args.no_siblings,
        extra_headers,
    })
}

fn build_client(args: &ScanArgs) -> Result<Client> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout {}: must be positive", args.timeout);
    }
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        bail!("--rate {}: must be a number ≥ 0", args.rate);
    }
    let resolve = args
        .resolve
        .iter()
        .map(|r| r.parse::<Resolve>())
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = ClientConfig {
        timeout: Duration::from_secs_f64(args.timeout),
        connect_timeout: None,
        insecure: args.insecure,
        proxy: args.proxy.clone(),
        resolve,
        max_body: 4 * 1024,
        http: HttpVersion::Auto,
        user_agent: Some(concat!("preflight-scan/", env!("CARGO_PKG_VERSION")).to_string()),
    };
    Ok(Client::new(&cfg)?)
}

fn redacted(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            if crate::explain::is_secret(n) {
                (n.clone(), "[redacted]".to_string())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect()
}

fn finding_json(f: &Finding, policy: Option<&str>) -> Value {
    json!({
        "class": f.class.id(),
        "severity": f.severity.as_str(),
        "credentials": f.credentials,
        "origin": f.origin,
        "message": f.message,
        "fix": f.fix,
        "policy_line": policy.map(|p| preflight::scan::policy_line(p, f.class).unwrap_or(1)),
        "evidence": {
            "probe": f.evidence.probe,
            "method": f.evidence.method,
            "url": f.evidence.url,
            "request_headers": redacted(&f.evidence.request_headers),
            "status": f.evidence.status,
            "response_headers": redacted(&f.evidence.response_headers),
        },
    })
}

fn json_report(reports: &[UrlReport], args: &ScanArgs, policy: Option<&str>, code: u8) -> Value {
    let mut by_sev: BTreeMap<&str, usize> = ["high", "medium", "low", "info"]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
    for f in reports.iter().flat_map(|r| &r.findings) {
        *by_sev.entry(f.severity.as_str()).or_insert(0) += 1;
    }
    let targets: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "url": r.url,
                "origin": r.origin,
                "status": if r.error.is_some() { "network_error" } else { "ok" },
                "error": r.error.as_ref().map(|e| json!({"kind": e.kind(), "message": e.to_string()})),
                "requests": r.requests,
                "trusted_origins": r.trusted,
                "findings": r.findings.iter().map(|f| finding_json(f, policy)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "schema": "preflight-scan/1",
        "tool": {"name": "preflight", "version": env!("CARGO_PKG_VERSION")},
        "fail_on": Severity::from(args.fail_on).as_str(),
        "exit_code": code,
        "summary": {
            "targets": reports.len(),
            "requests": reports.iter().map(|r| r.requests).sum::<usize>(),
            "network_errors": reports.iter().filter(|r| r.error.is_some()).count(),
            "findings": by_sev,
        },
        "targets": targets,
    })
}

fn human(reports: &[UrlReport], threshold: Severity) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "{} ({} requests)", r.url, r.requests);
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {} {e}", red("network error:"));
        }
        if r.findings.is_empty() && r.error.is_none() {
            let _ = writeln!(out, "  {}", green("no finding"));
        }
        for f in &r.findings {
            let sev = format!("[{}]", f.severity.as_str().to_ascii_uppercase());
            let sev = match f.severity {
                Severity::High => red(&sev),
                Severity::Medium | Severity::Low => yellow(&sev),
                Severity::Info => dim(&sev),
            };
            let _ = writeln!(out, "  {sev} {}: {}", f.class.id(), f.message);
            let req: Vec<String> = redacted(&f.evidence.request_headers)
                .iter()
                .filter(|(n, _)| {
                    n.eq_ignore_ascii_case("origin")
                        || n.to_ascii_lowercase().starts_with("access-control-")
                })
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            let resp: Vec<String> = f
                .evidence
                .response_headers
                .iter()
                .filter(|(n, _)| {
                    let n = n.to_ascii_lowercase();
                    n.starts_with("access-control-") || n == "vary" || n == "cache-control"
                })
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            let _ = writeln!(
                out,
                "      {}",
                dim(&format!(
                    "{} [{}] → {} [{}]",
                    f.evidence.method,
                    req.join("; "),
                    f.evidence.status,
                    resp.join("; ")
                ))
            );
            let _ = writeln!(out, "      fix: {}", f.fix);
        }
    }
    let all: Vec<&Finding> = reports.iter().flat_map(|r| &r.findings).collect();
    let failing = all.iter().filter(|f| f.severity >= threshold).count();
    let _ = writeln!(
        out,
        "{} URL(s), {} finding(s), {} at or above {}",
        reports.len(),
        all.len(),
        failing,
        threshold
    );
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A path as a relative SARIF URI (forward slashes).
fn uri_of(p: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    let s = s.trim_start_matches("./").to_string();
    if rel.is_absolute() {
        format!("file://{s}")
    } else {
        s
    }
}

/// The placeholder path for a URL: `preflight-scan/<host>[_<port>]/<path>`.
fn placeholder_uri(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return "preflight-scan/unknown".into();
    };
    let host: String = u
        .host_str()
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let port = u.port().map(|p| format!("_{p}")).unwrap_or_default();
    let path = u.path().trim_matches('/');
    if path.is_empty() {
        format!("preflight-scan/{host}{port}")
    } else {
        format!("preflight-scan/{host}{port}/{path}")
    }
}

fn sarif(reports: &[UrlReport], args: &ScanArgs, policy: Option<&str>) -> Value {
    let rules: Vec<Value> = Class::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.id(),
                "shortDescription": {"text": c.title()},
                "fullDescription": {"text": c.title()},
                "help": {"text": c.fix(), "markdown": c.fix()},
                "defaultConfiguration": {"level": sarif_level(c.severity_with_credentials())},
                "properties": {
                    "tags": ["security", "cors"],
                    "security-severity": security_severity(c.severity_with_credentials()),
                    "precision": "high",
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let (uri, line) = match (&args.policy, policy, &args.targets, r.line) {
                (Some(p), Some(text), _, _) => (
                    uri_of(p),
                    preflight::scan::policy_line(text, f.class).unwrap_or(1),
                ),
                (_, _, Some(t), Some(l)) => (uri_of(t), l),
                _ => (placeholder_uri(&r.url), 1),
            };
            let rule_index = Class::ALL.iter().position(|c| *c == f.class).unwrap_or(0);
            results.push(json!({
                "ruleId": f.class.id(),
                "ruleIndex": rule_index,
                "level": sarif_level(f.severity),
                "message": {"text": format!("{}: {} Fix: {}", r.url, f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line},
                    },
                    "logicalLocations": [{"fullyQualifiedName": r.url, "kind": "resource"}],
                }],
                "partialFingerprints": {"preflightScan/v1": format!("{}|{}", f.class.id(), r.url)},
                "properties": {
                    "severity": f.severity.as_str(),
                    "url": r.url,
                    "origin": f.origin,
                    "credentials": f.credentials,
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "preflight-scan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/preflight",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": reports.iter().all(|r| r.error.is_none()),
            }],
            "results": results,
        }],
    })
}
