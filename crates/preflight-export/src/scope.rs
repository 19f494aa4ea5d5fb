//! The normalized content of one scope (the top level or one `[[routes]]` entry), computed from
//! the policy's [`Config`] the same way the core compiles it, so every target emits the exact
//! header values [`preflight::Policy::evaluate`] would send.

use preflight::{Config, OriginPattern};

/// Which origins a scope allows.
#[derive(Debug, Clone)]
pub(crate) enum Origins {
    /// `origins = "*"` without credentials: literal `Access-Control-Allow-Origin: *`.
    Any,
    /// `origins = "*"` with credentials and the dangerous option: reflect every valid origin.
    ReflectAny,
    /// An allowlist of patterns.
    List(Vec<OriginPattern>),
}

/// One scope, normalized.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// `None` for the top level, else the route's path prefix.
    pub(crate) path: Option<String>,
    pub(crate) origins: Origins,
    pub(crate) allow_null: bool,
    pub(crate) credentials: bool,
    pub(crate) any_method: bool,
    /// Normalized, deduplicated, config order (safelisted ones included).
    pub(crate) methods: Vec<String>,
    pub(crate) any_header: bool,
    /// Lowercase, deduplicated, config order.
    pub(crate) headers: Vec<String>,
    /// `Access-Control-Allow-Methods` value of an allowed preflight.
    pub(crate) acam: Option<String>,
    /// `Access-Control-Allow-Headers` value of an allowed preflight.
    pub(crate) acah: Option<String>,
    /// `Access-Control-Expose-Headers` value of an allowed actual response.
    pub(crate) aceh: Option<String>,
    /// `Access-Control-Max-Age` value.
    pub(crate) acma: Option<String>,
    pub(crate) preflight_status: u16,
    pub(crate) private_network: bool,
}

/// Fetch "normalize a method".
fn normalize_method(m: &str) -> String {
    for std in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if std.eq_ignore_ascii_case(m) {
            return std.to_owned();
        }
    }
    m.to_owned()
}

const SAFELISTED_RESPONSE: [&str; 7] = [
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

fn star(v: &[String]) -> bool {
    v.iter().any(|s| s == "*")
}

impl Scope {
    /// Normalizes one effective configuration (already validated by the core).
    pub(crate) fn new(cfg: &Config, path: Option<String>) -> Scope {
        let any_origin = star(&cfg.origins);
        let origins = if any_origin && !cfg.credentials {
            Origins::Any
        } else if any_origin {
            Origins::ReflectAny
        } else {
            let mut list = Vec::new();
            for o in &cfg.origins {
                if o == "null" {
                    continue;
                }
                if let Ok(p) =
                    OriginPattern::parse_with(o, cfg.dangerously_allow_public_suffix_wildcards)
                {
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
            }
            Origins::List(list)
        };
        let allow_null =
            cfg.dangerously_allow_null_origin || cfg.origins.iter().any(|o| o == "null");

        let any_method = star(&cfg.methods);
        let mut methods: Vec<String> = Vec::new();
        for m in cfg.methods.iter().filter(|m| *m != "*") {
            let n = normalize_method(m);
            if !methods.contains(&n) {
                methods.push(n);
            }
        }
        let acam = if any_method {
            Some("*".to_owned())
        } else {
            let listed: Vec<&str> = methods
                .iter()
                .map(String::as_str)
                .filter(|m| !matches!(*m, "GET" | "HEAD" | "POST"))
                .collect();
            (!listed.is_empty()).then(|| listed.join(", "))
        };

        let any_header = star(&cfg.request_headers);
        let mut headers: Vec<String> = Vec::new();
        for h in cfg.request_headers.iter().filter(|h| *h != "*") {
            let l = h.to_ascii_lowercase();
            if !headers.contains(&l) {
                headers.push(l);
            }
        }
        let acah = {
            let names: Vec<&str> = if any_header {
                std::iter::once("*")
                    .chain(
                        headers
                            .iter()
                            .map(String::as_str)
                            .filter(|h| *h == "authorization"),
                    )
                    .collect()
            } else {
                headers.iter().map(String::as_str).collect()
            };
            (!names.is_empty()).then(|| names.join(", "))
        };

        let aceh = if star(&cfg.expose_headers) {
            Some("*".to_owned())
        } else {
            let mut v: Vec<String> = Vec::new();
            for h in &cfg.expose_headers {
                let l = h.to_ascii_lowercase();
                if !SAFELISTED_RESPONSE.contains(&l.as_str()) && !v.contains(&l) {
                    v.push(l);
                }
            }
            (!v.is_empty()).then(|| v.join(", "))
        };

        Scope {
            path,
            origins,
            allow_null,
            credentials: cfg.credentials,
            any_method,
            methods,
            any_header,
            headers,
            acam,
            acah,
            aceh,
            acma: cfg.max_age.map(|a| a.to_string()),
            preflight_status: cfg.preflight_status,
            private_network: cfg.private_network,
        }
    }

    /// Whether `Access-Control-Allow-Origin` depends on the request's `Origin`.
    pub(crate) fn origin_dependent(&self) -> bool {
        !matches!(self.origins, Origins::Any)
    }

    /// `Vary` on responses to non-`OPTIONS` requests, as the core computes it.
    pub(crate) fn vary_actual(&self) -> Option<String> {
        self.origin_dependent().then(|| "Origin".to_owned())
    }

    /// `Vary` on responses to `OPTIONS` requests (preflights or not), as the core computes it.
    pub(crate) fn vary_preflight(&self) -> String {
        let mut v = Vec::new();
        if self.origin_dependent() {
            v.push("Origin");
        }
        v.push("Access-Control-Request-Method");
        v.push("Access-Control-Request-Headers");
        if self.private_network {
            v.push("Access-Control-Request-Private-Network");
        }
        v.join(", ")
    }

    /// A short label for comments: `top level` or `route /public/`.
    pub(crate) fn label(&self) -> String {
        match &self.path {
            None => "top level".to_owned(),
            Some(p) => format!("route {p}"),
        }
    }
}

/// Every scope of a policy: routes first, longest prefix first (the core's matching order),
/// then the top level.
pub(crate) fn scopes(cfg: &Config) -> Vec<Scope> {
    let mut routes: Vec<Scope> = cfg
        .routes
        .iter()
        .map(|r| Scope::new(&cfg.effective(r), Some(r.path.clone())))
        .collect();
    routes.sort_by_key(|s| std::cmp::Reverse(s.path.as_ref().map_or(0, String::len)));
    routes.push(Scope::new(cfg, None));
    routes
}

/// Escapes a literal for a regex (PCRE and RE2 alike).
pub(crate) fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~'`!%".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The anchored regex body (without `^`/`$`) of one origin pattern.
///
/// Hosts are matched with the core's alphabet (`[a-z0-9-]` labels separated by single dots), so
/// a `*.` pattern stands for one or more whole labels and never for `.*`.
pub(crate) fn origin_regex(p: &OriginPattern) -> String {
    const LABELS: &str = "[a-z0-9-]+(\\.[a-z0-9-]+)*";
    const ANY_PORT: &str = "(:[1-9][0-9]{0,4})?";
    match p {
        OriginPattern::Exact(o) => regex_escape(o.as_str()),
        OriginPattern::AnyPort { scheme, host } => {
            format!(
                "{}://{}{ANY_PORT}",
                regex_escape(scheme),
                regex_escape(host)
            )
        }
        OriginPattern::Subdomains {
            scheme,
            suffix,
            port,
        } => {
            let port = match port {
                preflight::PortSpec::Default => String::new(),
                preflight::PortSpec::Exact(n) => format!(":{n}"),
                preflight::PortSpec::Any => ANY_PORT.to_owned(),
            };
            format!(
                "{}://{LABELS}\\.{}{port}",
                regex_escape(scheme),
                regex_escape(suffix)
            )
        }
    }
}
