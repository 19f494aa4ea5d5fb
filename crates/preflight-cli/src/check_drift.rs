//! `preflight check URL --policy cors.toml`: does the live server answer what the policy says?
//!
//! From the policy's effective configuration for the URL's path (the longest matching
//! `[[route]]`, else the top level) it derives the requests that matter:
//! * an origin instance for each allowed origin or pattern (`https://*.example.com` →
//!   `https://drift-probe.example.com`, `http://localhost:*` → `http://localhost:8123`,
//!   `*` → `https://drift-probe.example`), plus one origin no policy allows
//!   (`https://drift-probe.invalid`);
//! * for each origin: a preflight per listed method, a preflight per listed request header
//!   (with `Access-Control-Request-Method: GET`), and a `GET` actual request.
//!
//! Each is sent as a browser would (no credentials on preflights); the expected answer is
//! `Policy::evaluate` on the same request. Compared: `Access-Control-Allow-Origin` (exact),
//! `Access-Control-Allow-Credentials` (exact), `Access-Control-Allow-Methods`,
//! `-Allow-Headers` (preflights) and `-Expose-Headers` (actual) as token sets (header names
//! case-insensitively), and the preflight status when the policy allows it (must be 2xx).
//!
//! Exit status: 0 no drift, 1 drift, 2 usage error (bad policy), 3 network error.
//!
//! `--json` prints one object:
//! `{"url": string, "policy": string, "drift": bool, "probes": [{"kind": "preflight"|"actual",
//! "origin": string, "method": string, "request_headers": [[name, value]],
//! "expected": {"decision": string, "status": int|null, "headers": [[name, value]]},
//! "actual": {"status": int, "headers": [[name, value]]} | null,
//! "network_error": {"kind", "message"} | null,
//! "differences": [{"field": string, "expected": string|null, "actual": string|null}]}]}`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use preflight::browser::Behavior;
use preflight::{Config, Policy};
use preflight_http::{Client, Request};
use serde::Serialize;
use serde_json::json;

use crate::check_cmd::{junit_xml, CheckArgs, JunitCase};
use crate::check_live::NetError;
use crate::output::{green, red, yellow};

/// One probe and what came of it.
#[derive(Clone, Debug, Serialize)]
struct Probe {
    kind: &'static str,
    origin: String,
    method: String,
    request_headers: Vec<(String, String)>,
    expected: Expected,
    actual: Option<Actual>,
    network_error: Option<NetError>,
    differences: Vec<Difference>,
}

#[derive(Clone, Debug, Serialize)]
struct Expected {
    decision: &'static str,
    status: Option<u16>,
    headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize)]
struct Actual {
    status: u16,
    headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize)]
struct Difference {
    field: &'static str,
    expected: Option<String>,
    actual: Option<String>,
}

/// A probe to send: kind, origin, method on the wire, extra headers.
type Planned = (&'static str, String, String, Vec<(String, String)>);

/// The effective configuration for `path`: the longest matching route's, else the top level.
fn effective(config: &Config, path: &str) -> Config {
    config
        .routes
        .iter()
        .filter(|r| path.starts_with(&r.path))
        .max_by_key(|r| r.path.len())
        .map_or_else(|| config.clone(), |r| config.effective(r))
}

/// A concrete origin matching an allowlist entry.
fn instance(entry: &str) -> String {
    if entry == "*" {
        return "https://drift-probe.example".to_string();
    }
    let mut s = entry.replace("://*.", "://drift-probe.");
    if let Some(stripped) = s.strip_suffix(":*") {
        s = format!("{stripped}:8123");
    }
    s
}

fn listed(v: &[String]) -> Vec<String> {
    v.iter().filter(|x| x.as_str() != "*").cloned().collect()
}

/// Runs drift mode.
pub fn run(
    args: &CheckArgs,
    policy_path: &Path,
    url: &str,
    client: &Client,
    rt: &tokio::runtime::Handle,
    _behavior: Behavior,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?;
    let policy = Policy::from_toml(&text)
        .map_err(|e| anyhow!("{}: invalid policy: {e}", policy_path.display()))?;
    let u = url::Url::parse(url).map_err(|e| anyhow!("URL {url:?}: {e}"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(anyhow!("URL {url:?}: only http and https"));
    }
    let path = u.path().to_string();
    let cfg = effective(policy.config(), &path);

    let mut origins: Vec<String> = cfg.origins.iter().map(|o| instance(o)).collect();
    if let Some(o) = &args.origin {
        origins.push(o.clone());
    }
    origins.push("https://drift-probe.invalid".to_string());
    origins.dedup();
    let mut methods = listed(&cfg.methods);
    if cfg.methods.iter().any(|m| m == "*") {
        methods.push("PUT".to_string());
    }
    let mut req_headers = listed(&cfg.request_headers);
    if cfg.request_headers.iter().any(|m| m == "*") {
        req_headers.push("x-drift-probe".to_string());
    }

    let mut plan: Vec<Planned> = Vec::new();
    for o in &origins {
        for m in &methods {
            plan.push((
                "preflight",
                o.clone(),
                "OPTIONS".into(),
                vec![("Access-Control-Request-Method".into(), m.clone())],
            ));
        }
        for h in &req_headers {
            plan.push((
                "preflight",
                o.clone(),
                "OPTIONS".into(),
                vec![
                    ("Access-Control-Request-Method".into(), "GET".into()),
                    (
                        "Access-Control-Request-Headers".into(),
                        h.to_ascii_lowercase(),
                    ),
                ],
            ));
        }
        plan.push(("actual", o.clone(), "GET".into(), Vec::new()));
    }

    let next = AtomicUsize::new(0);
    let probes: Mutex<Vec<Option<Probe>>> = Mutex::new(vec![None; plan.len()]);
    std::thread::scope(|s| {
        for _ in 0..usize::from(args.concurrency).min(plan.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((kind, origin, method, extra)) = plan.get(i) else {
                    break;
                };
                let p = probe(&policy, &path, url, kind, origin, method, extra, client, rt);
                if let Ok(mut v) = probes.lock() {
                    v[i] = Some(p);
                }
            });
        }
    });
    let probes: Vec<Probe> = probes
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();

    let net = probes.iter().any(|p| p.network_error.is_some());
    let drift = probes.iter().any(|p| !p.differences.is_empty());
    let mut out = String::new();
    if args.json {
        let v = json!({
            "url": url,
            "policy": policy_path.display().to_string(),
            "drift": drift,
            "probes": probes,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    } else {
        human(&mut out, url, policy_path, &probes);
    }
    print!("{out}");
    if let Some(j) = &args.junit {
        let cases: Vec<JunitCase> = probes
            .iter()
            .map(|p| {
                let outcome = if let Some(e) = &p.network_error {
                    Some(("error", e.kind.to_string(), e.message.clone()))
                } else if p.differences.is_empty() {
                    None
                } else {
                    Some((
                        "failure",
                        "drift".to_string(),
                        p.differences
                            .iter()
                            .map(diff_line)
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ))
                };
                (probe_name(p), outcome)
            })
            .collect();
        std::fs::write(j, junit_xml("preflight check --policy", &cases))
            .with_context(|| format!("writing {}", j.display()))?;
    }
    Ok(ExitCode::from(if net {
        3
    } else if drift {
        1
    } else {
        0
    }))
}

fn probe_name(p: &Probe) -> String {
    let h: Vec<String> = p
        .request_headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("origin"))
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    format!(
        "{} {} from {}{}{}",
        p.kind,
        p.method,
        p.origin,
        if h.is_empty() { "" } else { " with " },
        h.join(", ")
    )
}

fn diff_line(d: &Difference) -> String {
    format!(
        "{}: policy says {}, server sends {}",
        d.field,
        d.expected
            .as_deref()
            .map_or("(none)".into(), |v| format!("{v:?}")),
        d.actual
            .as_deref()
            .map_or("(none)".into(), |v| format!("{v:?}")),
    )
}

fn human(out: &mut String, url: &str, policy: &Path, probes: &[Probe]) {
    let _ = writeln!(out, "Drift check of {url} against {}", policy.display());
    for p in probes {
        let mark = if p.network_error.is_some() {
            yellow("ERROR")
        } else if p.differences.is_empty() {
            green("same ")
        } else {
            red("DRIFT")
        };
        let _ = writeln!(out, "{mark} {}", probe_name(p));
        if let Some(e) = &p.network_error {
            let _ = writeln!(out, "      {}", e.message);
        }
        for d in &p.differences {
            let _ = writeln!(out, "      {}", diff_line(d));
        }
    }
    let drifted = probes.iter().filter(|p| !p.differences.is_empty()).count();
    let errors = probes.iter().filter(|p| p.network_error.is_some()).count();
    let _ = writeln!(
        out,
        "{} probes: {} match the policy, {drifted} drifted, {errors} network errors",
        probes.len(),
        probes.len() - drifted - errors
    );
}

#[allow(clippy::too_many_arguments)]
fn probe(
    policy: &Policy,
    path: &str,
    url: &str,
    kind: &'static str,
    origin: &str,
    method: &str,
    extra: &[(String, String)],
    client: &Client,
    rt: &tokio::runtime::Handle,
) -> Probe {
    let mut sent = vec![("Origin".to_string(), origin.to_string())];
    if kind == "preflight" {
        sent.push(("Accept".into(), "*/*".into()));
    }
    sent.extend(extra.iter().cloned());
    // The policy's answer to the same request.
    let mut map = HeaderMap::new();
    for (n, v) in &sent {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            map.append(n, v);
        }
    }
    let m = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    let d = policy.evaluate(&m, path, &map);
    let expected = Expected {
        decision: d.kind().as_str(),
        status: d.status().map(|s| s.as_u16()),
        headers: d
            .headers()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    let result = rt.block_on(client.send(&Request {
        method: method.to_string(),
        url: url.to_string(),
        headers: sent.clone(),
    }));
    let mut p = Probe {
        kind,
        origin: origin.to_string(),
        method: method.to_string(),
        request_headers: sent,
        expected,
        actual: None,
        network_error: None,
        differences: Vec::new(),
    };
    match result {
        Ok(r) => {
            p.actual = Some(Actual {
                status: r.status,
                headers: r.headers,
            });
            p.differences = compare(&p);
        }
        Err(e) => p.network_error = Some(NetError::from(&e)),
    }
    p
}

fn get(h: &[(String, String)], name: &str) -> Option<String> {
    let v: Vec<&str> = h
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!v.is_empty()).then(|| v.join(", "))
}

fn tokens(v: &Option<String>, fold: bool) -> Vec<String> {
    let mut t: Vec<String> = v
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if fold {
                s.to_ascii_lowercase()
            } else {
                s.to_string()
            }
        })
        .collect();
    t.sort();
    t.dedup();
    t
}

fn compare(p: &Probe) -> Vec<Difference> {
    let Some(actual) = &p.actual else {
        return Vec::new();
    };
    let mut diffs = Vec::new();
    let e = &p.expected.headers;
    let a = &actual.headers;
    for (field, name) in [
        ("Access-Control-Allow-Origin", "access-control-allow-origin"),
        (
            "Access-Control-Allow-Credentials",
            "access-control-allow-credentials",
        ),
    ] {
        let (ev, av) = (get(e, name), get(a, name));
        if ev != av {
            diffs.push(Difference {
                field,
                expected: ev,
                actual: av,
            });
        }
    }
    let sets: &[(&'static str, &str, bool)] = if p.kind == "preflight" {
        &[
            (
                "Access-Control-Allow-Methods",
                "access-control-allow-methods",
                false,
            ),
            (
                "Access-Control-Allow-Headers",
                "access-control-allow-headers",
                true,
            ),
        ]
    } else {
        &[(
            "Access-Control-Expose-Headers",
            "access-control-expose-headers",
            true,
        )]
    };
    for &(field, name, fold) in sets {
        let (ev, av) = (get(e, name), get(a, name));
        if tokens(&ev, fold) != tokens(&av, fold) {
            diffs.push(Difference {
                field,
                expected: ev,
                actual: av,
            });
        }
    }
    if let Some(st) = p.expected.status {
        if (200..300).contains(&st) && !(200..300).contains(&actual.status) {
            diffs.push(Difference {
                field: "status",
                expected: Some(st.to_string()),
                actual: Some(actual.status.to_string()),
            });
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances() {
        assert_eq!(
            instance("https://*.example.com"),
            "https://drift-probe.example.com"
        );
        assert_eq!(instance("http://localhost:*"), "http://localhost:8123");
        assert_eq!(instance("https://a.test"), "https://a.test");
    }

    #[test]
    fn token_sets() {
        assert_eq!(
            tokens(&Some("GET, PUT,GET".into()), false),
            tokens(&Some("PUT,GET".into()), false)
        );
        assert_ne!(
            tokens(&Some("put".into()), false),
            tokens(&Some("PUT".into()), false)
        );
    }
}
