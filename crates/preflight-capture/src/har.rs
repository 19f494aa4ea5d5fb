//! Rebuilding scenarios from a HAR (HTTP Archive) exported from Chrome or Firefox DevTools.
//!
//! Pairing: Chrome marks preflights with `_initiator.type == "preflight"`; otherwise an
//! `OPTIONS` with `Access-Control-Request-Method` is paired with the next same-URL request.
//! Redirect chains are followed through entries whose URL is the previous `Location`.
//! A preflight with no recorded request (Chrome does not always record the blocked request)
//! is explained on its own, the request being rebuilt from the preflight's
//! `Access-Control-Request-*` headers.

use anyhow::{anyhow, bail, Result};
use preflight::browser::{
    CredentialsMode, RequestMode, Scenario, ScenarioRequest, ScenarioResponse,
};
use serde_json::Value;

use crate::{origin_of, script_headers, Item};

struct Entry {
    index: usize,
    method: String,
    url: String,
    req_headers: Vec<(String, String)>,
    has_cookies: bool,
    status: u16,
    resp_headers: Vec<(String, String)>,
    is_preflight: bool,
    page: Option<String>,
}

fn headers(v: Option<&Value>, what: &str, index: usize) -> Result<Vec<(String, String)>> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let arr = v
        .as_array()
        .ok_or_else(|| anyhow!("entry {index}: {what}.headers is not an array"))?;
    arr.iter()
        .map(|h| {
            let n = h.get("name").and_then(Value::as_str);
            let val = h.get("value").and_then(Value::as_str);
            match (n, val) {
                (Some(n), Some(val)) => Ok((n.to_string(), val.to_string())),
                _ => Err(anyhow!("entry {index}: a {what} header lacks name/value")),
            }
        })
        .collect()
}

fn get<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses a HAR and returns one scenario per cross-origin request.
pub fn scenarios_from_har(text: &str) -> Result<Vec<Item>> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| anyhow!("not JSON: line {}, column {}: {e}", e.line(), e.column()))?;
    let log = root
        .get("log")
        .ok_or_else(|| anyhow!("not a HAR file: no top-level \"log\" object"))?;
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("not a HAR file: no log.entries array"))?;
    let pages: Vec<(String, String)> = log
        .get("pages")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    let id = p.get("id")?.as_str()?.to_string();
                    let title = p.get("title")?.as_str()?.to_string();
                    Some((id, title))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut list = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let index = i + 1;
        let req = e
            .get("request")
            .ok_or_else(|| anyhow!("entry {index}: no request"))?;
        let resp = e
            .get("response")
            .ok_or_else(|| anyhow!("entry {index}: no response"))?;
        let method = req
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("entry {index}: request.method missing"))?
            .to_string();
        let url = req
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("entry {index}: request.url missing"))?
            .to_string();
        let status = resp
            .get("status")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("entry {index}: response.status missing or not a number"))?;
        let status =
            u16::try_from(status).map_err(|_| anyhow!("entry {index}: bad status {status}"))?;
        let req_headers = headers(req.get("headers"), "request", index)?;
        let resp_headers = headers(resp.get("headers"), "response", index)?;
        let has_cookies = req
            .get("cookies")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty())
            || get(&req_headers, "cookie").is_some();
        let chrome_preflight = e
            .get("_initiator")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            == Some("preflight");
        let is_preflight = chrome_preflight
            || (method == "OPTIONS"
                && get(&req_headers, "access-control-request-method").is_some());
        let page = e
            .get("pageref")
            .and_then(Value::as_str)
            .and_then(|r| pages.iter().find(|(id, _)| id == r))
            .and_then(|(_, t)| origin_of(t));
        list.push(Entry {
            index,
            method,
            url,
            req_headers,
            has_cookies,
            status,
            resp_headers,
            is_preflight,
            page,
        });
    }

    let mut used = vec![false; list.len()];
    let mut items = Vec::new();
    for i in 0..list.len() {
        let Some(e) = list.get(i) else { continue };
        if used.get(i).copied().unwrap_or(true) || e.is_preflight {
            continue;
        }
        // Origin: the request's Origin header, else the page's.
        let origin = get(&e.req_headers, "origin")
            .map(str::to_string)
            .or_else(|| e.page.clone());
        let Some(origin) = origin else { continue };
        if Some(origin.as_str()) == origin_of(&e.url).as_deref() {
            continue; // same-origin: not CORS
        }
        // The nearest unused preflight before it for the same URL.
        let pre = (0..i).rev().find(|&j| {
            list.get(j).is_some_and(|p| {
                p.is_preflight && p.url == e.url && !used.get(j).copied().unwrap_or(true)
            })
        });
        if let Some(j) = pre {
            if let Some(u) = used.get_mut(j) {
                *u = true;
            }
        }
        // Redirect chain.
        let mut chain = vec![i];
        let mut last = i;
        while let Some(l) = list.get(last) {
            if !preflight::browser::is_redirect_status(l.status) {
                break;
            }
            let Some(loc) = get(&l.resp_headers, "location") else {
                break;
            };
            let next_url = url::Url::parse(&l.url)
                .and_then(|b| b.join(loc))
                .map(|u| u.to_string())
                .unwrap_or_default();
            let Some(n) = (last + 1..list.len()).find(|&k| {
                list.get(k)
                    .is_some_and(|x| !x.is_preflight && x.url == next_url)
            }) else {
                break;
            };
            chain.push(n);
            last = n;
        }
        for &c in &chain {
            if let Some(u) = used.get_mut(c) {
                *u = true;
            }
        }
        let pre_entry = pre.and_then(|j| list.get(j));
        items.push(build(e, &origin, pre_entry, &chain, &list));
    }
    // Preflights with no recorded request.
    for (j, p) in list.iter().enumerate() {
        if !p.is_preflight || used.get(j).copied().unwrap_or(true) {
            continue;
        }
        let Some(origin) = get(&p.req_headers, "origin")
            .map(str::to_string)
            .or_else(|| p.page.clone())
        else {
            continue;
        };
        let method = get(&p.req_headers, "access-control-request-method")
            .unwrap_or("GET")
            .to_string();
        let hs: Vec<(String, String)> = get(&p.req_headers, "access-control-request-headers")
            .map(|a| {
                a.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|n| (n.to_string(), "x".to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let scenario = Scenario {
            id: format!("har-entry-{}-{}-{}", p.index, method, p.url),
            request: ScenarioRequest {
                origin,
                url: p.url.clone(),
                method,
                headers: hs,
                credentials: CredentialsMode::SameOrigin,
                mode: RequestMode::Cors,
                pna: None,
                body: None,
                cache: None,
            },
            preflight_response: Some(Some(ScenarioResponse {
                status: p.status,
                headers: p.resp_headers.clone(),
            })),
            redirects: None,
            response: ScenarioResponse {
                status: 0,
                headers: Vec::new(),
            },
            expect: None,
            expect_chromium: None,
            before: None,
            at: None,
            protocol: None,
        };
        items.push(Item {
            scenario,
            notes: vec![format!(
                "entry {}: a preflight whose request was not recorded; the request was rebuilt from Access-Control-Request-Method/-Headers (header values are placeholders; credentials unknown, assumed same-origin)",
                p.index
            )],
        });
    }
    if items.is_empty() && list.is_empty() {
        bail!("the HAR has no entries");
    }
    Ok(items)
}

fn build(e: &Entry, origin: &str, pre: Option<&Entry>, chain: &[usize], list: &[Entry]) -> Item {
    let mut notes = Vec::new();
    let acrh = pre.and_then(|p| get(&p.req_headers, "access-control-request-headers"));
    let credentials = if e.has_cookies {
        notes.push("credentials inferred as 'include' (the request carried cookies)".to_string());
        CredentialsMode::Include
    } else {
        CredentialsMode::SameOrigin
    };
    if let Some(p) = pre {
        notes.push(format!(
            "entry {}: preflight paired with entry {}",
            p.index, e.index
        ));
    }
    let resp_of = |x: &Entry| ScenarioResponse {
        status: x.status,
        headers: x.resp_headers.clone(),
    };
    let final_entry = chain.last().and_then(|&k| list.get(k)).unwrap_or(e);
    let redirects: Vec<ScenarioResponse> = chain
        .iter()
        .take(chain.len().saturating_sub(1))
        .filter_map(|&k| list.get(k))
        .map(resp_of)
        .collect();
    if final_entry.status == 0 {
        notes.push("the browser recorded no response (status 0): it was blocked or failed; headers unknown".to_string());
    }
    let scenario = Scenario {
        id: format!("har-entry-{}-{}-{}", e.index, e.method, e.url),
        request: ScenarioRequest {
            origin: origin.to_string(),
            url: e.url.clone(),
            method: e.method.clone(),
            headers: script_headers(&e.req_headers, acrh),
            credentials,
            mode: RequestMode::Cors,
            pna: None,
            body: None,
            cache: None,
        },
        preflight_response: Some(pre.map(resp_of)),
        redirects: if redirects.is_empty() {
            None
        } else {
            Some(redirects)
        },
        response: resp_of(final_entry),
        expect: None,
        expect_chromium: None,
        before: None,
        at: None,
        protocol: None,
    };
    Item { scenario, notes }
}
