//! Helpers shared by the capture parsers ([`crate::har`], [`crate::paste`]).

use preflight::browser::Scenario;

/// A scenario to explain plus notes about how it was rebuilt (HAR, paste).
#[derive(Debug, Clone)]
pub struct Item {
    /// The rebuilt scenario.
    pub scenario: Scenario,
    /// How it was rebuilt (guesses, pairings), for the report.
    pub notes: Vec<String>,
}

/// Headers a browser adds by itself (they were not written by the page's script); dropped
/// when rebuilding a scenario from a capture unless the preflight's
/// `Access-Control-Request-Headers` names them.
const UA_ADDED: &[&str] = &[
    "user-agent",
    "cache-control",
    "pragma",
    "accept-language",
    "if-none-match",
    "if-modified-since",
    "priority",
    "upgrade-insecure-requests",
];

/// The headers the page's script most likely wrote, from the headers captured on the wire.
/// With a preflight, its ACRH lists the unsafe ones exactly; safelisted names are kept.
/// Forbidden headers (browser-set: Host, Origin, Cookie, Sec-*, ...) are dropped.
pub fn script_headers(wire: &[(String, String)], acrh: Option<&str>) -> Vec<(String, String)> {
    let listed: Vec<String> = acrh
        .map(|a| {
            a.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    wire.iter()
        .filter(|(n, v)| {
            let l = n.to_ascii_lowercase();
            if l.starts_with(':') || preflight::browser::safelist::is_forbidden_request_header(n, v)
            {
                return false;
            }
            if listed.contains(&l) {
                return true;
            }
            if acrh.is_some() {
                // The ACRH names every unsafe header the script set; keep the safelisted ones.
                return ["accept", "content-language", "content-type", "range"]
                    .contains(&l.as_str());
            }
            !UA_ADDED.contains(&l.as_str())
        })
        .cloned()
        .collect()
}

/// Serialized origin of a URL string, if it has a tuple origin.
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let o = preflight::Origin::from_url(&u);
    if o.is_opaque() {
        None
    } else {
        Some(o.as_str().to_string())
    }
}
