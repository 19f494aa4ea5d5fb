//! Scenarios the harness does not run, with a reason per skip, read from a TOML file
//! (`vectors/browser/SKIPS.toml`): `[rules]` names a built-in category with its reason, `[ids]`
//! maps a scenario id to its reason. A category only applies when the file lists it.

use std::collections::BTreeMap;
use std::path::Path;

use preflight::browser::{Protocol, RequestBody, Scenario, ScenarioRequest, ScenarioResponse};
use serde::Deserialize;
use url::{Host, Url};

/// The categories the harness can detect.
pub const CATEGORIES: &[&str] = &[
    "pna",
    "ipv6-literal",
    "non-loopback-ip",
    "non-http-origin",
    "mixed-scheme",
    "unservable-status",
    "unsendable-header",
    "stream-body-h2",
    "long-wait",
    "other-page-origin",
];

/// The longest sequence (seconds from the first fetch to the last) the harness waits out.
pub const MAX_WAIT_SECS: u64 = 8;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: BTreeMap<String, String>,
    #[serde(default)]
    ids: BTreeMap<String, String>,
}

/// The loaded skip list.
pub struct Skips(File);

fn answers(s: &Scenario) -> impl Iterator<Item = &ScenarioResponse> {
    s.preflight_response
        .iter()
        .flatten()
        .chain(s.redirects.iter().flatten())
        .chain(std::iter::once(&s.response))
}

fn hosts(s: &Scenario) -> Vec<Host<String>> {
    let mut out = Vec::new();
    let mut base = None;
    for u in [&s.request.origin, &s.request.url] {
        if let Ok(u) = Url::parse(u) {
            if let Some(h) = u.host() {
                out.push(h.to_owned());
            }
            base = Some(u);
        }
    }
    for r in s.redirects.iter().flatten() {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("location") {
                let u = match &base {
                    Some(b) => b.join(v),
                    None => Url::parse(v),
                };
                if let Some(h) = u.ok().as_ref().and_then(|u| u.host()) {
                    out.push(h.to_owned());
                }
            }
        }
    }
    out
}

fn schemes(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(mut cur) = Url::parse(&s.request.url) {
        out.push(cur.scheme().to_string());
        for r in s.redirects.iter().flatten() {
            for (k, v) in &r.headers {
                if k.eq_ignore_ascii_case("location") {
                    if let Ok(u) = cur.join(v) {
                        out.push(u.scheme().to_string());
                        cur = u;
                    }
                }
            }
        }
    }
    out
}

/// Every fetch's request of `s` (earlier ones first) with its start time.
fn crate_fetches(s: &Scenario) -> Vec<(&ScenarioRequest, u64)> {
    let mut t = 0;
    let mut out = Vec::new();
    for e in s.before.iter().flatten() {
        t = e.at.unwrap_or(t);
        out.push((&e.request, t));
    }
    out.push((&s.request, s.at.unwrap_or(t)));
    out
}

fn matches(category: &str, s: &Scenario) -> bool {
    match category {
        "pna" => s.request.pna.is_some(),
        "ipv6-literal" => hosts(s).iter().any(|h| matches!(h, Host::Ipv6(_))),
        "non-loopback-ip" => hosts(s)
            .iter()
            .any(|h| matches!(h, Host::Ipv4(a) if !a.is_loopback())),
        "non-http-origin" => {
            s.request.origin != "null"
                && !Url::parse(&s.request.origin)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        }
        "mixed-scheme" => {
            s.request.origin.starts_with("https:") && schemes(s).iter().any(|x| x == "http")
        }
        "unservable-status" => answers(s).any(|a| !(200..=599).contains(&a.status)),
        // The model assumes HTTP/2 (an https URL and no `protocol: http/1.1`) for a stream body,
        // which Chromium sends only over HTTP/2 or QUIC.
        "stream-body-h2" => crate_fetches(s).iter().any(|(r, _)| {
            r.body == Some(RequestBody::Stream)
                && r.url.starts_with("https:")
                && s.protocol != Some(Protocol::Http1)
        }),
        "long-wait" => crate_fetches(s)
            .last()
            .is_some_and(|(_, at)| *at > MAX_WAIT_SECS),
        "other-page-origin" => s
            .before
            .iter()
            .flatten()
            .any(|e| e.request.origin != s.request.origin),
        "unsendable-header" => answers(s).any(|a| {
            a.headers.iter().any(|(k, v)| {
                k.is_empty()
                    || k.bytes().any(|b| b <= b' ' || b == b':' || b >= 0x7f)
                    || v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
            })
        }),
        _ => false,
    }
}

impl Skips {
    /// Reads `path`; a missing file means no skips.
    pub fn load(path: &Path) -> Result<Skips, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Skips(File::default()))
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let f: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for k in f.rules.keys() {
            if !CATEGORIES.contains(&k.as_str()) {
                return Err(format!(
                    "{}: unknown rule '{k}' (known: {})",
                    path.display(),
                    CATEGORIES.join(", ")
                ));
            }
        }
        Ok(Skips(f))
    }

    /// Why `s` is skipped, if it is.
    pub fn reason(&self, s: &Scenario) -> Option<String> {
        if let Some(r) = self.0.ids.get(&s.id) {
            return Some(format!("id {}: {r}", s.id));
        }
        self.0
            .rules
            .iter()
            .find(|(k, _)| matches(k, s))
            .map(|(k, r)| format!("{k}: {r}"))
    }
}
