//! # preflight-export: a Preflight CORS policy as nginx or Envoy configuration
//!
//! Sans-IO: [`to_nginx`] and [`to_envoy`] turn a compiled [`preflight::Policy`] into the text of
//! a configuration file plus the list of everything the target cannot express ([`Lossy`]).
//! Every loss is also written as a comment into the emitted configuration, next to the part it
//! concerns, so the file explains itself.
//!
//! ```
//! let policy = preflight::Policy::from_toml(r#"
//! origins = ["https://app.example.com", "https://*.example.com"]
//! credentials = true
//! methods = ["GET", "PUT"]
//! request_headers = ["content-type"]
//! "#)?;
//! let nginx = preflight_export::to_nginx(&policy);
//! assert!(nginx.config.contains(r"~^https://[a-z0-9-]+(\.[a-z0-9-]+)*\.example\.com$"));
//! let envoy = preflight_export::to_envoy(&policy);
//! assert!(envoy.warnings.iter().any(|w| w.code == "envoy_no_vary"));
//! # Ok::<(), preflight::ConfigErrors>(())
//! ```
//!
//! ## The mapping
//!
//! | Policy | nginx | Envoy (v3 `envoy.filters.http.cors`) |
//! |---|---|---|
//! | `origins` (exact, `*.` labels, `:*` ports) | `map $http_origin` with anchored, escaped, case-sensitive regexes (labels `[a-z0-9-]+`, never `.*`) | `allow_origin_string_match`: `exact`, or `safe_regex` for patterns |
//! | `origins = "*"` | literal `Access-Control-Allow-Origin: *` | a `safe_regex` that matches every origin; Envoy **reflects** the origin (loss `envoy_no_literal_star`) |
//! | `credentials` | `Access-Control-Allow-Credentials: true` when the origin is allowed | `allow_credentials` |
//! | `methods` | `map` on `Access-Control-Request-Method` (byte-exact), preflight refused with 403 otherwise | `allow_methods` (advertised only, loss `envoy_preflight_not_checked`) |
//! | `request_headers` | `map` regex over the whole `Access-Control-Request-Headers` list (every name must be listed; `*` excludes `authorization`) | `allow_headers` (advertised only) |
//! | `expose_headers`, `max_age` | `add_header … always` | `expose_headers`, `max_age` |
//! | `preflight_status` | `return 204;` (or the configured status) | always 200 (loss `envoy_preflight_status`) |
//! | denied preflight | `return 403;` without CORS headers | local 200 without CORS headers with `forward_not_matching_preflights: false` (loss `envoy_denied_preflight_status`) |
//! | `private_network` | `Access-Control-Allow-Private-Network: true`, PNA preflights refused when off | `allow_private_network_access` (never refused, part of `envoy_preflight_not_checked`) |
//! | `Vary` | `add_header Vary … always`, the core's exact names | not sent by the filter (loss `envoy_no_vary`); a route `response_headers_to_add` is emitted but unverified |
//! | `[[routes]]` | one `location ^~ PREFIX` per route | one route per prefix, longest first, each with `typed_per_filter_config` |
//! | CORS headers from the upstream | `proxy_hide_header` for each | overwritten only when the origin is allowed (loss `envoy_upstream_cors_headers`) |
//!
//! ## Verification
//!
//! The nginx output is tested against a real nginx (Debian's `nginx-light`): every request of
//! the server vectors and more is sent through nginx in front of a test upstream and the answer
//! compared with [`preflight::Policy::evaluate`]; any difference must be excused by one of the
//! export's warnings. Envoy cannot be installed on the build machines: its output is only
//! validated structurally (parsed as YAML, the v3 `CorsPolicy` and filter fields and their
//! types checked), not run.
//!
//! ## Losses
//!
//! See [`nginx::LOSS_CODES`] and [`envoy::LOSS_CODES`] for every code with its meaning.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fmt;

pub mod envoy;
pub mod nginx;
mod scope;

pub use envoy::{to_envoy, to_envoy_with, EnvoyOptions};
pub use nginx::{to_nginx, to_nginx_with, NginxOptions};

/// An exported configuration and what it cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The configuration file's text.
    pub config: String,
    /// Everything the target cannot express, in the order found (also written as comments into
    /// [`Export::config`]).
    pub warnings: Vec<Lossy>,
}

impl Export {
    /// Whether the target expresses the policy exactly.
    pub fn is_exact(&self) -> bool {
        self.warnings.is_empty()
    }

    /// Whether a warning with this code was emitted.
    pub fn has(&self, code: &str) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }
}

/// One thing the target cannot express: a stable code and a sentence saying what is lost and
/// what happens instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lossy {
    /// Stable snake_case code, prefixed with the target (`nginx_…`, `envoy_…`).
    pub code: &'static str,
    /// What the target cannot express and what it does instead.
    pub message: String,
}

impl fmt::Display for Lossy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Collects losses without repeating a (code, message) pair.
#[derive(Default)]
pub(crate) struct Losses(Vec<Lossy>);

impl Losses {
    pub(crate) fn push(&mut self, code: &'static str, message: impl Into<String>) -> String {
        let message = message.into();
        let l = Lossy { code, message };
        let comment = comment_block(&format!("LOSS {l}"), "");
        if !self.0.contains(&l) {
            self.0.push(l);
        }
        comment
    }
}

/// Wraps text into `# `-prefixed comment lines of at most ~100 columns, each indented.
pub(crate) fn comment_block(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() + 1 > 96 {
            out.push_str(&format!("{indent}# {line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}# {line}\n"));
    }
    out
}

/// Re-indents a (comment) block.
pub(crate) fn indent(block: &str, by: &str) -> String {
    block.lines().map(|l| format!("{by}{l}\n")).collect()
}
