//! Rebuilding a scenario from raw HTTP/1.1 message heads pasted on stdin: request line and
//! headers, a blank line, status line and headers; `> ` / `< ` prefixes (from `curl -v`) and
//! curl's `* ` info lines are tolerated. An `OPTIONS` exchange with
//! `Access-Control-Request-Method` before the actual one is the preflight.

use anyhow::{anyhow, bail, Result};
use preflight::browser::{
    CredentialsMode, RequestMode, Scenario, ScenarioRequest, ScenarioResponse,
};

use crate::{script_headers, Item};

#[derive(Default)]
struct Head {
    start: String,
    line: usize,
    headers: Vec<(String, String)>,
}

struct Exchange {
    method: String,
    target: String,
    req: Head,
    status: u16,
    resp: Head,
}

fn get<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_request_line(l: &str) -> bool {
    let mut parts = l.split_whitespace();
    let (Some(m), Some(_), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    preflight::browser::headers::is_token(m) && v.starts_with("HTTP/")
}

fn split_heads(text: &str) -> Result<Vec<Head>> {
    let mut heads: Vec<Head> = Vec::new();
    let mut cur: Option<Head> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let mut l = raw.trim_end_matches('\r');
        if l.starts_with("* ") || l.starts_with("{ ") || l.starts_with("} ") || l == "*" {
            continue;
        }
        if let Some(rest) = l.strip_prefix("> ").or_else(|| l.strip_prefix("< ")) {
            l = rest;
        } else if l == ">" || l == "<" {
            l = "";
        }
        if l.trim().is_empty() {
            if let Some(h) = cur.take() {
                heads.push(h);
            }
            continue;
        }
        if is_request_line(l) || l.starts_with("HTTP/") {
            if let Some(h) = cur.take() {
                heads.push(h);
            }
            cur = Some(Head {
                start: l.to_string(),
                line: n,
                headers: Vec::new(),
            });
            continue;
        }
        let Some(h) = cur.as_mut() else {
            bail!("line {n}: expected a request line (`GET /path HTTP/1.1`) or a status line (`HTTP/1.1 200 OK`), found `{}`", l.chars().take(60).collect::<String>());
        };
        let Some((name, value)) = l.split_once(':') else {
            bail!(
                "line {n}: not a header line (`Name: value`): `{}`",
                l.chars().take(60).collect::<String>()
            );
        };
        if !preflight::browser::headers::is_token(name) {
            bail!("line {n}: `{name}` is not a header name");
        }
        h.headers.push((name.to_string(), value.trim().to_string()));
    }
    if let Some(h) = cur.take() {
        heads.push(h);
    }
    Ok(heads)
}

fn exchanges(heads: Vec<Head>) -> Result<Vec<Exchange>> {
    let mut out = Vec::new();
    let mut it = heads.into_iter();
    while let Some(req) = it.next() {
        if req.start.starts_with("HTTP/") {
            bail!("line {}: a response without a request before it", req.line);
        }
        let mut parts = req.start.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let Some(resp) = it.next() else {
            bail!("line {}: the request has no response after it", req.line);
        };
        if !resp.start.starts_with("HTTP/") {
            bail!(
                "line {}: expected a status line (`HTTP/1.1 200 OK`)",
                resp.line
            );
        }
        let status = resp
            .start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                anyhow!(
                    "line {}: no valid status code in `{}`",
                    resp.line,
                    resp.start
                )
            })?;
        out.push(Exchange {
            method,
            target,
            req,
            status,
            resp,
        });
    }
    Ok(out)
}

fn url_of(x: &Exchange) -> Result<String> {
    if x.target.starts_with("http://") || x.target.starts_with("https://") {
        return Ok(x.target.clone());
    }
    let host = get(&x.req.headers, "host")
        .or_else(|| get(&x.req.headers, ":authority"))
        .ok_or_else(|| {
            anyhow!(
                "line {}: the request has no Host header and no absolute URL",
                x.req.line
            )
        })?;
    let u = format!("https://{host}{}", x.target);
    url::Url::parse(&u).map(|u| u.to_string()).map_err(|e| {
        anyhow!(
            "line {}: cannot build a URL from Host `{host}` and `{}`: {e}",
            x.req.line,
            x.target
        )
    })
}

/// Parses pasted heads into one scenario.
pub fn scenarios_from_paste(text: &str, origin: Option<&str>) -> Result<Vec<Item>> {
    let heads = split_heads(text)?;
    if heads.is_empty() {
        bail!("nothing pasted: expected a request head and a response head");
    }
    let mut xs = exchanges(heads)?;
    if xs.len() > 2 {
        bail!(
            "expected one exchange, or a preflight and an actual exchange; found {}",
            xs.len()
        );
    }
    let mut notes = vec![
        "the URL scheme is assumed to be https unless the request line has an absolute URL"
            .to_string(),
    ];
    let first_is_preflight = xs.first().is_some_and(|x| {
        x.method == "OPTIONS" && get(&x.req.headers, "access-control-request-method").is_some()
    });
    let (pre, actual) = if xs.len() == 2 {
        if !first_is_preflight {
            bail!("with two exchanges the first must be the preflight (OPTIONS with Access-Control-Request-Method)");
        }
        let a = xs.pop();
        (xs.pop(), a)
    } else if first_is_preflight {
        (xs.pop(), None)
    } else {
        (None, xs.pop())
    };
    let base = actual
        .as_ref()
        .or(pre.as_ref())
        .ok_or_else(|| anyhow!("no exchange"))?;
    let url = url_of(base)?;
    let origin = get(&base.req.headers, "origin")
        .map(str::to_string)
        .or_else(|| origin.map(str::to_string))
        .ok_or_else(|| anyhow!("the request has no Origin header; pass --origin <page origin>"))?;
    let acrh = pre
        .as_ref()
        .and_then(|p| get(&p.req.headers, "access-control-request-headers"));
    let (method, headers, cookies) = match &actual {
        Some(a) => (
            a.method.clone(),
            script_headers(&a.req.headers, acrh),
            get(&a.req.headers, "cookie").is_some(),
        ),
        None => {
            notes.push("only the preflight was pasted: the request is rebuilt from its Access-Control-Request-* headers; the actual response is unknown".to_string());
            let p = pre.as_ref().ok_or_else(|| anyhow!("no exchange"))?;
            let m = get(&p.req.headers, "access-control-request-method").unwrap_or("GET");
            let hs = acrh
                .map(|a| {
                    a.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|n| (n.to_string(), "x".to_string()))
                        .collect()
                })
                .unwrap_or_default();
            (m.to_string(), hs, false)
        }
    };
    let credentials = if cookies {
        notes.push("credentials inferred as 'include' (the request carried cookies)".to_string());
        CredentialsMode::Include
    } else {
        CredentialsMode::SameOrigin
    };
    let scenario = Scenario {
        id: format!("pasted-{method}-{url}"),
        request: ScenarioRequest {
            origin,
            url,
            method,
            headers,
            credentials,
            mode: RequestMode::Cors,
            pna: None,
            body: None,
            cache: None,
        },
        preflight_response: Some(pre.as_ref().map(|p| ScenarioResponse {
            status: p.status,
            headers: p.resp.headers.clone(),
        })),
        redirects: None,
        response: match &actual {
            Some(a) => ScenarioResponse {
                status: a.status,
                headers: a.resp.headers.clone(),
            },
            None => ScenarioResponse {
                status: 0,
                headers: Vec::new(),
            },
        },
        expect: None,
        expect_chromium: None,
        before: None,
        at: None,
        protocol: None,
    };
    Ok(vec![Item { scenario, notes }])
}
