//! `preflight explain`: what a browser does with a request and the server's answers, step by
//! step, with Chromium's console message and a fix for the server owner.
//!
//! Inputs (never touches the network):
//! * `--scenario FILE` — scenarios in Preflight's scenario format (`.json`: one object or an
//!   array; `.jsonl`: one per line; `-`: stdin);
//! * `--har FILE` — a HAR exported from Chrome or Firefox DevTools: preflights are paired with
//!   their requests and every cross-origin request is explained;
//! * neither — raw HTTP/1.1 message heads pasted on stdin (DevTools "view source" or
//!   `curl -v`, `> `/`< ` prefixes tolerated), optionally a preflight exchange first.
//!
//! Exit status: 0 when every request succeeds, 1 when any is blocked, 2 on bad input.
//!
//! `--json` prints one JSON object per line and scenario:
//!
//! ```text
//! {
//!   "id": string,
//!   "preflight": bool,                       // a preflight is sent
//!   "preflight_request_headers": {name: string|null} | null,
//!   "outcome": "ok" | "network-error",
//!   "failure_stage": null | "request" | "preflight" | "actual",
//!   "exposed_headers": [string],             // readable response headers (sorted, lowercase)
//!   "origin_header": string | null,          // Origin on the final actual request
//!   "reason": string | null,                 // stable snake_case code
//!   "message": string | null,                // Chromium's console message
//!   "fix": string | null,                    // for the server owner
//!   "behavior": "spec" | "chromium",
//!   "request": {"method", "url", "origin", "credentials", "mode",
//!               "headers": [[name, value]],  // values of Cookie/Authorization/... redacted
//!               "body"?: "stream", "cache"?: string},
//!   "at"?: number,                           // seconds, with earlier fetches or `at`
//!   "before"?: [{"fetch": number, "at": number, "request": {...}, "preflight", // earlier
//!                "preflight_request_headers", "outcome", "failure_stage",      // fetches, in
//!                "exposed_headers", "origin_header", "reason", "message"}],    // order
//!   "steps": [{"rule": string, "check": string, "passed": bool}]
//! }
//! ```
//!
//! A scenario with earlier fetches (`before`, `docs/scenario-extensions.md`) is explained as
//! one page making them in order against one preflight cache: the steps start with one line
//! per earlier fetch (what it sent, how it ended, what it did to the cache), then the last
//! fetch's own steps, which say whether the cache spared its preflight and why.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use preflight::browser::{evaluate, Behavior, Evaluation, Outcome, Scenario};
use preflight_capture::Item;

/// Arguments of `preflight explain`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExplainArgs {
    /// Scenario file (.json or .jsonl; `-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "har")]
    pub scenario: Option<String>,
    /// HAR file exported from browser DevTools (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub har: Option<String>,
    /// One JSON object per line and scenario.
    #[arg(long)]
    pub json: bool,
    /// Whose behaviour to model.
    #[arg(long, value_enum, default_value_t = BrowserArg::Chromium)]
    pub browser: BrowserArg,
    /// The page's origin, when the pasted request has no Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// Show cookie, Authorization and Set-Cookie values instead of redacting them.
    #[arg(long)]
    pub no_redact: bool,
}

/// `--browser`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserArg {
    /// The WHATWG Fetch standard.
    Spec,
    /// Current Chromium.
    Chromium,
}

impl From<BrowserArg> for Behavior {
    fn from(b: BrowserArg) -> Self {
        match b {
            BrowserArg::Spec => Behavior::Spec,
            BrowserArg::Chromium => Behavior::Chromium,
        }
    }
}

/// Runs `preflight explain`. Bad input is reported on stderr with exit status 2.
pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    match load(args) {
        Ok(items) => Ok(report(args, items)),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn read_input(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
    }
}

fn load(args: &ExplainArgs) -> Result<Vec<Item>> {
    if let Some(path) = &args.scenario {
        let text = read_input(path)?;
        let scenarios = parse_scenarios(&text, path)?;
        Ok(scenarios
            .into_iter()
            .map(|scenario| Item {
                scenario,
                notes: Vec::new(),
            })
            .collect())
    } else if let Some(path) = &args.har {
        let text = read_input(path)?;
        preflight_capture::har::scenarios_from_har(&text).with_context(|| format!("in HAR {path}"))
    } else {
        let text = read_input("-")?;
        preflight_capture::paste::scenarios_from_paste(&text, args.origin.as_deref())
            .context("in the pasted HTTP messages")
    }
}

/// Parses `.json` (one object or an array) or `.jsonl` (one object per line).
fn parse_scenarios(text: &str, path: &str) -> Result<Vec<Scenario>> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        bail!("{path}: no scenarios");
    }
    if trimmed.starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| anyhow!("{path}: line {}, column {}: {e}", e.line(), e.column()));
    }
    // One object spanning lines (pretty .json)?
    if let Ok(s) = serde_json::from_str::<Scenario>(text) {
        return Ok(vec![s]);
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let s: Scenario =
            serde_json::from_str(line).map_err(|e| anyhow!("{path}: line {}: {e}", i + 1))?;
        out.push(s);
    }
    Ok(out)
}

const REDACTED_REQUEST: &[&str] = &["cookie", "authorization", "proxy-authorization"];

/// Whether a header's value is secret (redacted by default).
pub(crate) fn is_secret(name: &str) -> bool {
    REDACTED_REQUEST
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
        || name.eq_ignore_ascii_case("set-cookie")
        || name.eq_ignore_ascii_case("set-cookie2")
}

/// Replaces secret header values in a scenario with `[redacted]`. The CORS model never looks
/// at those values, so the verdict does not change.
fn redact(s: &mut Scenario) {
    fn r(h: &mut [(String, String)]) {
        for (n, v) in h.iter_mut() {
            if is_secret(n) {
                *v = "[redacted]".to_string();
            }
        }
    }
    r(&mut s.request.headers);
    if let Some(Some(p)) = s.preflight_response.as_mut() {
        r(&mut p.headers);
    }
    for x in s.redirects.iter_mut().flatten() {
        r(&mut x.headers);
    }
    r(&mut s.response.headers);
    for e in s.before.iter_mut().flatten() {
        r(&mut e.request.headers);
        if let Some(Some(p)) = e.preflight_response.as_mut() {
            r(&mut p.headers);
        }
        for x in e.redirects.iter_mut().flatten() {
            r(&mut x.headers);
        }
        r(&mut e.response.headers);
    }
}

/// The `request` object of the JSON output.
fn request_json(r: &preflight::browser::ScenarioRequest) -> serde_json::Value {
    let mut v = serde_json::json!({
        "method": r.method,
        "url": r.url,
        "origin": r.origin,
        "credentials": r.credentials,
        "mode": r.mode,
        "headers": r.headers,
    });
    if let Some(b) = r.body {
        v["body"] = serde_json::json!(b);
    }
    if let Some(c) = r.cache {
        v["cache"] = serde_json::json!(c);
    }
    v
}

fn report(args: &ExplainArgs, items: Vec<Item>) -> ExitCode {
    let behavior: Behavior = args.browser.into();
    let mut blocked = false;
    let mut out = String::new();
    if items.is_empty() && !args.json {
        out.push_str("No cross-origin requests found.\n");
    }
    for mut item in items {
        if !args.no_redact {
            redact(&mut item.scenario);
        }
        let ev = evaluate(&item.scenario, behavior);
        blocked |= ev.outcome != Outcome::Ok;
        if args.json {
            out.push_str(&json_line(&item, &ev, behavior));
            out.push('\n');
        } else {
            text_report(&mut out, &item, &ev, behavior);
        }
    }
    print!("{out}");
    if blocked {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn json_line(item: &Item, ev: &Evaluation, behavior: Behavior) -> String {
    let s = &item.scenario;
    let mut v = serde_json::json!({
        "id": s.id,
        "preflight": ev.preflight,
        "preflight_request_headers": ev.preflight_request_headers,
        "outcome": ev.outcome,
        "failure_stage": ev.failure_stage,
        "exposed_headers": ev.exposed_headers,
        "origin_header": ev.origin_header,
        "reason": ev.reason,
        "message": ev.message,
        "fix": ev.fix,
                "behavior": behavior,
        "request": request_json(&s.request),
        "notes": item.notes,
        "steps": ev.steps,
    });
    let earlier = s.before.as_deref().unwrap_or(&[]);
    if !earlier.is_empty() || s.at.is_some() {
        // Times as the model takes them: a fetch without `at` starts with the one before it.
        let mut t = 0;
        let mut before = Vec::new();
        for (i, (e, b)) in earlier.iter().zip(&ev.before).enumerate() {
            t = e.at.unwrap_or(t);
            before.push(serde_json::json!({
                "fetch": i + 1,
                "at": t,
                "request": request_json(&e.request),
                "preflight": b.preflight,
                "preflight_request_headers": b.preflight_request_headers,
                "outcome": b.outcome,
                "failure_stage": b.failure_stage,
                "exposed_headers": b.exposed_headers,
                "origin_header": b.origin_header,
                "reason": b.reason,
                "message": b.message,
            }));
        }
        v["at"] = serde_json::json!(s.at.unwrap_or(t));
        v["before"] = serde_json::json!(before);
    }
    if let Some(p) = s.protocol {
        v["protocol"] = serde_json::json!(p);
    }
    v.to_string()
}

fn text_report(out: &mut String, item: &Item, ev: &Evaluation, behavior: Behavior) {
    use std::fmt::Write;
    let s = &item.scenario;
    let r = &s.request;
    let _ = writeln!(out, "== {} ==", s.id);
    let _ = writeln!(
        out,
        "Request: {} {} from origin {} (credentials: {}, mode: {}{}{})",
        r.method,
        r.url,
        r.origin,
        r.credentials.as_str(),
        r.mode.as_str(),
        r.cache
            .map(|c| format!(", cache: {}", c.as_str()))
            .unwrap_or_default(),
        if r.body.is_some() {
            ", body: ReadableStream"
        } else {
            ""
        }
    );
    if let Some(b) = s.before.as_deref().filter(|b| !b.is_empty()) {
        let _ = writeln!(
            out,
            "  after {} earlier fetch{} from the same page (one preflight cache)",
            b.len(),
            if b.len() == 1 { "" } else { "es" }
        );
    }
    if !r.headers.is_empty() {
        let h: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        let _ = writeln!(out, "  headers: {}", h.join("; "));
    }
    for n in &item.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    let _ = writeln!(
        out,
        "Steps ({}):",
        match behavior {
            Behavior::Spec => "Fetch standard",
            Behavior::Chromium => "Chromium",
        }
    );
    for (i, st) in ev.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>2}. [{}] {} — {}",
            i + 1,
            if st.passed { "ok" } else { "FAIL" },
            st.check,
            st.rule
        );
    }
    crate::output::write_verdict(out, ev, false);
    out.push('\n');
}
