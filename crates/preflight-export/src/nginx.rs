//! nginx export: `map` blocks that compute every CORS header from the request, and a `server`
//! whose `location`s answer preflights with `return` and add the headers with
//! `add_header … always`.
//!
//! ## Layout of the output
//!
//! One file for the **`http {}` context** (`include /etc/nginx/preflight-cors.conf;` inside
//! `http {}`), in two marked parts:
//!
//! 1. `# ==== part 1: maps (http context) ====` — `map` blocks. Variables are named
//!    `$preflight_<scope>_<what>` (`top` for the top level, `r1`, `r2`, … for routes, longest
//!    prefix first); nothing else is defined.
//! 2. `# ==== part 2: server ====` — an `upstream preflight_upstream` block with connection
//!    reuse (`keepalive 32`, HTTP/1.1 to the upstream, the upstream's own `Host` kept) and a
//!    complete `server { listen …; location … }` that proxies to it ([`NginxOptions::upstream`],
//!    default `http://127.0.0.1:8080`). To put the
//!    CORS handling into a `server` of your own instead, copy the `location` blocks (their
//!    `if`/`add_header`/`proxy_hide_header` lines, and your own `proxy_pass`) into it.
//!
//! Each `location` repeats every `add_header` because nginx inherits `add_header` by
//! replacement: a location with an `add_header` of its own drops the server's.
//!
//! ## How the headers are computed
//!
//! `add_header NAME $var always` is skipped when `$var` is empty, so each header is a `map` that
//! is empty whenever the core would not send it. `$preflight_<scope>_kind` is the core's
//! [`DecisionKind`](preflight::DecisionKind) (`preflight_allowed`, `preflight_denied`,
//! `actual_allowed`, or empty); the location answers `preflight_allowed` with
//! `return <preflight_status>` and `preflight_denied` with `return 403` (only `return` is used
//! inside `if`, the one safe use in a location).
//!
//! `map` string keys compare case-insensitively, so every key here is a case-sensitive regex
//! (`~`), except the `Access-Control-Request-Headers` check, which is case-insensitive (`~*`)
//! like the core's.

use std::fmt::Write as _;

use crate::scope::{origin_regex, regex_escape, scopes, Origins, Scope};
use crate::{comment_block, Export, Losses};

/// Every nginx loss code and what it means.
pub const LOSS_CODES: &[(&str, &str)] = &[
    (
        "nginx_unusual_requests",
        "requests no browser sends (repeated Origin/ACRM/ACRH lines, empty values, oversized ACRH) may be answered differently",
    ),
    (
        "nginx_route_uri_normalization",
        "locations match the decoded, normalized URI; the core matches the raw request path",
    ),
    (
        "nginx_dollar_in_value",
        "a method or header name contains `$`, which nginx would read as a variable",
    ),
];

/// Options of the nginx export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxOptions {
    /// The `listen` parameter of the emitted `server` (default `80`).
    pub listen: String,
    /// The `proxy_pass` URL (default `http://127.0.0.1:8080`): scheme, host and port only, so
    /// the request URI is passed unchanged.
    pub upstream: String,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            listen: "80".to_owned(),
            upstream: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

const CORS_HEADERS: [&str; 7] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Private-Network",
    "Access-Control-Expose-Headers",
];

/// Characters of an HTTP token, as a regex class body.
const TOKEN_CLASS: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]";

/// Exports with the default [`NginxOptions`].
pub fn to_nginx(policy: &preflight::Policy) -> Export {
    to_nginx_with(policy, &NginxOptions::default())
}

/// A double-quoted nginx string (the values here never contain `"` or `\`).
fn q(s: &str) -> String {
    format!("\"{s}\"")
}

/// Exports a policy as nginx configuration. See the [module docs](self) for the layout.
pub fn to_nginx_with(policy: &preflight::Policy, opts: &NginxOptions) -> Export {
    let cfg = policy.config();
    let scopes = scopes(cfg);
    let mut losses = Losses::default();
    let mut maps = String::new();
    let mut server = String::new();
    let (upstream_block, proxy) = proxy_lines(&opts.upstream);

    let unusual = losses.push(
        "nginx_unusual_requests",
        "nginx reads only the first of repeated Origin, Access-Control-Request-Method and \
         Access-Control-Request-Headers lines (nginx 1.23 and later join them with commas, which \
         the maps below then refuse), treats an empty header like a missing one, and does not \
         apply the core's bounds on Access-Control-Request-Headers (8 KiB, 256 names, 16 empty \
         elements; nginx's own header buffers answer 400 to very large headers); such requests, \
         which browsers never send, may be answered differently than by the core",
    );
    let route_note = (!cfg.routes.is_empty()).then(|| {
        losses.push(
            "nginx_route_uri_normalization",
            "nginx matches `location` prefixes against the decoded, normalized URI \
             (percent-decoding, `..` and `//` resolved), the core against the raw request path, \
             so a request such as `/x/../public/a` or `/%70ublic/a` may get another route's \
             policy",
        )
    });

    // ---- global maps
    maps.push_str(&unusual);
    maps.push_str(
        "# A CORS preflight: OPTIONS with non-empty Origin and Access-Control-Request-Method.\n",
    );
    maps.push_str(
        "map \"$request_method:$http_access_control_request_method\" $preflight_acrm_sent {\n    \"~^OPTIONS:.\" 1;\n    default \"\";\n}\n",
    );
    maps.push_str(
        "map \"$preflight_acrm_sent:$http_origin\" $preflight_is_preflight {\n    \"~^1:.\" 1;\n    default \"\";\n}\n",
    );
    maps.push_str("# A Private Network Access preflight asks with `Access-Control-Request-Private-Network: true`.\n");
    maps.push_str(
        "map $http_access_control_request_private_network $preflight_pna_requested {\n    \"~^true$\" true;\n    default \"\";\n}\n",
    );

    // Variable prefix of each scope, in `scopes` order.
    let mut route_index = 0;
    let prefixes: Vec<String> = scopes
        .iter()
        .map(|s| match &s.path {
            None => "preflight_top".to_owned(),
            Some(_) => {
                route_index += 1;
                format!("preflight_r{route_index}")
            }
        })
        .collect();
    let root_route = scopes.iter().any(|s| s.path.as_deref() == Some("/"));
    // The scope the core picks for a path: the longest route prefix, else the top level.
    let scope_for = |path: &str| -> usize {
        scopes
            .iter()
            .position(|s| s.path.as_deref().is_some_and(|p| path.starts_with(p)))
            .unwrap_or(scopes.len() - 1)
    };
    for (s, p) in scopes.iter().zip(&prefixes) {
        maps.push('\n');
        maps.push_str(&format!("# ---- {} (variables ${p}_*)\n", s.label()));
        scope_maps(&mut maps, s, p, &mut losses);

        if s.path.is_none() && root_route {
            server.push_str(
                "\n    # The top level has no location: a route with path \"/\" covers every request.\n",
            );
            continue;
        }
        server.push('\n');
        server.push_str(&format!("    # {}\n", s.label()));
        if s.path.is_some() {
            if let Some(n) = &route_note {
                server.push_str(&crate::indent(n, "    "));
            }
        }
        let loc = match &s.path {
            Some(path) => format!("^~ {}", location_path(path)),
            None => "/".to_owned(),
        };
        location(&mut server, &loc, s, p, &proxy);
        // nginx answers `/public` with a 301 to `/public/` when a proxied prefix location ends
        // with a slash; the core applies another scope to `/public`, so give it its own location.
        if let Some(bare) = s
            .path
            .as_deref()
            .and_then(|p| p.strip_suffix('/'))
            .filter(|b| !b.is_empty())
        {
            let i = scope_for(bare);
            if let (Some(target), Some(tp)) = (scopes.get(i), prefixes.get(i)) {
                if !(target.path.is_none() && root_route) {
                    let _ = writeln!(
                        server,
                        "    # `{bare}` without the slash is not {}: {} applies (and nginx must not redirect it).",
                        s.label(),
                        target.label()
                    );
                    location(
                        &mut server,
                        &format!("= {}", location_path(bare)),
                        target,
                        tp,
                        &proxy,
                    );
                }
            }
        }
    }

    let mut out = String::new();
    out.push_str(
        "# Generated by `preflight export --to nginx`. Include this file in the http {} context.\n",
    );
    out.push_str("# Part 1 defines only `map`s ($preflight_* variables); part 2 is a complete server in front of\n");
    out.push_str(
        "# the upstream. To use your own server instead, copy part 2's location blocks into it.\n",
    );
    out.push_str("#\n# `add_header ... always` puts the headers on error responses too; an add_header whose value\n");
    out.push_str("# is empty is not sent, which is how each map below switches its header off.\n");
    if !losses.0.is_empty() {
        out.push_str("#\n# What nginx cannot express (each also noted where it applies):\n");
        for l in &losses.0 {
            out.push_str(&comment_block(&format!("- {l}"), ""));
        }
    }
    out.push_str("\n# ==== part 1: maps (http context) ====\n\n");
    out.push_str(&maps);
    out.push_str("\n# ==== part 2: server ====\n\n");
    out.push_str(&upstream_block);
    out.push_str("server {\n");
    let _ = writeln!(out, "    listen {};", opts.listen);
    out.push_str(&server);
    out.push_str("}\n");
    Export {
        config: out,
        warnings: losses.0,
    }
}

/// One `location` block answering for scope `s` (variables `$<p>_*`).
/// The `upstream` block (connections to the upstream are reused, as a production config would
/// have them) and the proxy lines of every location, for an upstream URL of the form
/// `scheme://host[:port]`; anything else is proxied to as written, without reuse.
fn proxy_lines(upstream: &str) -> (String, String) {
    let parsed = upstream.split_once("://").filter(|(scheme, authority)| {
        matches!(*scheme, "http" | "https")
            && !authority.is_empty()
            && !authority
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b"/?#{};\"'$\\".contains(&b))
    });
    match parsed {
        Some((scheme, authority)) => (
            format!(
                "upstream preflight_upstream {{\n    server {authority};\n    keepalive 32;\n}}\n\n"
            ),
            format!(
                "        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        \
                 proxy_set_header Host {authority};\n        proxy_pass {scheme}://preflight_upstream;\n"
            ),
        ),
        None => (String::new(), format!("        proxy_pass {upstream};\n")),
    }
}

fn location(server: &mut String, loc: &str, s: &Scope, p: &str, proxy: &str) {
    let _ = writeln!(server, "    location {loc} {{");
    let _ = writeln!(
        server,
        "        if (${p}_kind = preflight_allowed) {{ return {}; }}",
        s.preflight_status
    );
    let _ = writeln!(
        server,
        "        if (${p}_kind = preflight_denied) {{ return 403; }}"
    );
    for (header, var) in [
        ("Access-Control-Allow-Origin", Some("acao")),
        (
            "Access-Control-Allow-Credentials",
            s.credentials.then_some("acac"),
        ),
        (
            "Access-Control-Allow-Methods",
            s.acam.as_ref().map(|_| "acam"),
        ),
        (
            "Access-Control-Allow-Headers",
            s.acah.as_ref().map(|_| "acah"),
        ),
        ("Access-Control-Max-Age", s.acma.as_ref().map(|_| "acma")),
        (
            "Access-Control-Allow-Private-Network",
            s.private_network.then_some("acapn"),
        ),
        (
            "Access-Control-Expose-Headers",
            s.aceh.as_ref().map(|_| "aceh"),
        ),
        ("Vary", Some("vary")),
    ] {
        if let Some(var) = var {
            let _ = writeln!(server, "        add_header {header} ${p}_out_{var} always;");
        }
    }
    server
        .push_str("        # The policy alone decides: drop any CORS header the upstream sets.\n");
    for h in CORS_HEADERS {
        let _ = writeln!(server, "        proxy_hide_header {h};");
    }
    server.push_str(proxy);
    server.push_str("    }\n");
}

/// A route path as an nginx location prefix (quoted when it needs to be).
fn location_path(path: &str) -> String {
    if path
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b"{};\"'#$\\".contains(&b))
    {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        path.to_owned()
    }
}

fn scope_maps(out: &mut String, s: &Scope, p: &str, losses: &mut Losses) {
    // -- origin → allowed ACAO value
    let _ = writeln!(out, "map $http_origin ${p}_acao {{");
    if !matches!(s.origins, Origins::Any) {
        out.push_str(
            "    # Longer than the core's 512-byte limit: refused.\n    \"~^.{513,}$\" \"\";\n",
        );
    }
    match &s.origins {
        Origins::Any => {
            out.push_str(
                "    # origins = \"*\": the literal `*` on every response, requests without an\n    # Origin included, so a shared cache never serves a copy without it.\n",
            );
            out.push_str("    default \"*\";\n");
        }
        Origins::ReflectAny | Origins::List(_) => {
            out.push_str(
                "    # Not in browser form (explicit default port, port above 65535): refused.\n",
            );
            out.push_str("    \"~^http://[^/]*:80$\" \"\";\n    \"~^https://[^/]*:443$\" \"\";\n");
            out.push_str(
                "    \"~:(6553[6-9]|655[4-9][0-9]|65[6-9][0-9][0-9]|6[6-9][0-9]{3}|[7-9][0-9]{4})$\" \"\";\n",
            );
            if s.allow_null {
                out.push_str(
                    "    # dangerously_allow_null_origin\n    \"~^null$\" $http_origin;\n",
                );
            }
            match &s.origins {
                Origins::List(list) => {
                    out.push_str("    # Anchored, escaped and case-sensitive: `*.` stands for whole DNS labels.\n");
                    for pat in list {
                        let _ = writeln!(
                            out,
                            "    {} $http_origin;  # {pat}",
                            q(&format!("~^{}$", origin_regex(pat)))
                        );
                    }
                }
                _ => {
                    out.push_str("    # dangerously_reflect_any_origin_with_credentials: every origin in browser form.\n");
                    out.push_str("    \"~^https?://(\\[[0-9a-f:]+\\]|[a-z0-9-]+(\\.[a-z0-9-]+)*)(:[1-9][0-9]{0,4})?$\" $http_origin;\n");
                }
            }
            out.push_str("    default \"\";\n");
        }
    }
    out.push_str("}\n");
    let _ = writeln!(
        out,
        "map ${p}_acao ${p}_origin_ok {{\n    \"\" \"\";\n    default 1;\n}}"
    );

    // -- requested method
    let _ = writeln!(
        out,
        "# Access-Control-Request-Method, byte for byte (GET, HEAD and POST need no listing)."
    );
    let _ = writeln!(
        out,
        "map $http_access_control_request_method ${p}_method_ok {{"
    );
    if s.any_method {
        let _ = writeln!(out, "    {} 1;", q(&format!("~^{TOKEN_CLASS}+$")));
    } else {
        let mut names: Vec<String> = vec!["GET".into(), "HEAD".into(), "POST".into()];
        for m in &s.methods {
            if !names.contains(m) {
                names.push(m.clone());
            }
        }
        let alts: Vec<String> = names.iter().map(|m| regex_escape(m)).collect();
        let _ = writeln!(out, "    {} 1;", q(&format!("~^({})$", alts.join("|"))));
    }
    out.push_str("    default \"\";\n}\n");

    // -- requested headers
    out.push_str("# Access-Control-Request-Headers: every name of the comma-separated list must be allowed\n");
    out.push_str("# (case-insensitive, optional whitespace, empty elements tolerated; absent = nothing asked).\n");
    let item = if s.any_header {
        TOKEN_CLASS.to_owned() + "+"
    } else if s.headers.is_empty() {
        "(?!)".to_owned()
    } else {
        let alts: Vec<String> = s.headers.iter().map(|h| regex_escape(h)).collect();
        format!("(?:{})", alts.join("|"))
    };
    let guard = if s.any_header && !s.headers.iter().any(|h| h == "authorization") {
        out.push_str("# `*` covers every name but authorization.\n");
        "(?!(?:.*,)?[ \\t]*authorization[ \\t]*(?:,|$))"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "map $http_access_control_request_headers ${p}_headers_ok {{\n    \"\" 1;  # nothing asked (nginx never tries regexes on an empty value)\n    {} 1;\n    default \"\";\n}}",
        q(&format!(
            "~*^{guard}[ \\t]*(?:{item}[ \\t]*)?(?:,[ \\t]*(?:{item}[ \\t]*)?)*$"
        ))
    );

    // -- private network
    if s.private_network {
        let _ = writeln!(
            out,
            "map $preflight_pna_requested ${p}_pna_ok {{\n    default 1;\n}}"
        );
    } else {
        out.push_str("# private_network = false: a Private Network Access preflight is refused.\n");
        let _ = writeln!(
            out,
            "map $preflight_pna_requested ${p}_pna_ok {{\n    true \"\";\n    default 1;\n}}"
        );
    }

    // -- the decision
    out.push_str("# The core's decision: preflight_allowed | preflight_denied | actual_allowed | \"\" (no CORS headers).\n");
    let _ = writeln!(
        out,
        "map \"$preflight_is_preflight:${p}_origin_ok:${p}_method_ok:${p}_headers_ok:${p}_pna_ok\" ${p}_kind {{\n    \"1:1:1:1:1\" preflight_allowed;\n    \"~^1:\" preflight_denied;\n    \"~^:1:\" actual_allowed;\n    default \"\";\n}}"
    );

    // -- header values
    let _ = writeln!(
        out,
        "map ${p}_kind ${p}_out_acao {{\n    preflight_allowed ${p}_acao;\n    actual_allowed ${p}_acao;\n    default \"\";\n}}"
    );
    if s.credentials {
        let _ = writeln!(
            out,
            "map ${p}_kind ${p}_out_acac {{\n    preflight_allowed true;\n    actual_allowed true;\n    default \"\";\n}}"
        );
    }
    for (var, val) in [("acam", &s.acam), ("acah", &s.acah), ("acma", &s.acma)] {
        if let Some(v) = val {
            check_dollar(out, v, losses);
            let _ = writeln!(
                out,
                "map ${p}_kind ${p}_out_{var} {{\n    preflight_allowed {};\n    default \"\";\n}}",
                q(v)
            );
        }
    }
    if s.private_network {
        let _ = writeln!(
            out,
            "map \"${p}_kind:$preflight_pna_requested\" ${p}_out_acapn {{\n    \"preflight_allowed:true\" true;\n    default \"\";\n}}"
        );
    }
    if let Some(v) = &s.aceh {
        check_dollar(out, v, losses);
        let _ = writeln!(
            out,
            "map ${p}_kind ${p}_out_aceh {{\n    actual_allowed {};\n    default \"\";\n}}",
            q(v)
        );
    }
    out.push_str(
        "# Vary on every response whose answer depends on the request (even without Origin);\n",
    );
    out.push_str(
        "# nginx adds its own Vary line after the upstream's (equivalent to one merged list).\n",
    );
    let _ = writeln!(
        out,
        "map $request_method ${p}_out_vary {{\n    \"~^OPTIONS$\" {};\n    default {};\n}}",
        q(&s.vary_preflight()),
        q(s.vary_actual().as_deref().unwrap_or(""))
    );
}

fn check_dollar(out: &mut String, v: &str, losses: &mut Losses) {
    if v.contains('$') {
        out.push_str(&losses.push(
            "nginx_dollar_in_value",
            format!(
                "the value `{v}` contains `$`, which nginx reads as the start of a variable name; \
                 nginx sends a different value (or refuses the configuration)"
            ),
        ));
    }
}
