//! `preflight policy lint` and `preflight policy eval`.
//!
//! ## `lint --json` schema
//! One object: `{"file": string, "valid": bool, "errors": int, "warnings": int,
//! "diagnostics": [{"severity": "error"|"warning", "code": string, "field": string,
//! "value": string|null, "message": string, "line": int|null}]}`.
//!
//! ## `eval --json` schema
//! One object: `{"decision": "not_cors"|"preflight_allowed"|"preflight_denied"|"actual_allowed"|
//! "actual_denied", "status": int|null, "headers": [[name, value], ...], "reason": string|null}`.
//! `status` is the status the policy answers with (preflights); `null` means the request goes on
//! to the handler, which adds `headers` to its own response.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use preflight::{ConfigErrors, DecisionKind, Diagnostic, Policy, Reason, Severity};
use serde_json::json;

use crate::output::{dim, green, red, yellow};

/// `preflight policy …`
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print every error and warning of a policy file (exit 0 valid, 1 invalid, 2 usage error).
    Lint(LintArgs),
    /// What the policy answers to one request, without running a server (exit 0 allowed or not
    /// CORS, 1 denied, 2 usage error or invalid policy).
    Eval(EvalArgs),
}

/// `preflight policy lint`
#[derive(Args)]
pub struct LintArgs {
    /// The TOML policy file.
    file: PathBuf,
    /// Print one JSON object (schema in the docs).
    #[arg(long)]
    json: bool,
}

/// `preflight policy eval`
#[derive(Args)]
pub struct EvalArgs {
    /// The TOML policy file.
    file: PathBuf,
    /// Request method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    method: String,
    /// Request path (selects the route).
    #[arg(long, default_value = "/")]
    path: String,
    /// A request header, `Name: value` (repeatable; repeated names are kept).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Shorthand for `-H 'Origin: ORIGIN'`.
    #[arg(long)]
    origin: Option<String>,
    /// Print one JSON object (schema in the docs).
    #[arg(long)]
    json: bool,
}

/// Runs a `policy` subcommand.
pub fn run(cmd: &PolicyCommand) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Lint(a) => lint(a),
        PolicyCommand::Eval(a) => eval(a),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn print_diag(file: &Path, d: &Diagnostic) {
    let loc = match d.line {
        Some(l) => format!("{}:{l}", file.display()),
        None => file.display().to_string(),
    };
    let sev = match d.severity {
        Severity::Error => red(&format!("error[{}]", d.code)),
        Severity::Warning => yellow(&format!("warning[{}]", d.code)),
    };
    let value = d
        .value
        .as_ref()
        .map(|v| format!(" = {v:?}"))
        .unwrap_or_default();
    let field = if d.field.is_empty() {
        String::new()
    } else {
        format!("{}{value}: ", d.field)
    };
    println!("{loc}: {sev}: {field}{}", d.message);
}

fn lint(a: &LintArgs) -> Result<ExitCode> {
    let text = read(&a.file)?;
    let diags: Vec<Diagnostic> = match Policy::from_toml(&text) {
        Ok(p) => p.warnings().to_vec(),
        Err(e) => e.diagnostics().to_vec(),
    };
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    if a.json {
        println!(
            "{}",
            json!({
                "file": a.file.display().to_string(),
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags,
            })
        );
    } else {
        for d in &diags {
            print_diag(&a.file, d);
        }
        let summary = format!(
            "{}: {errors} error{}, {warnings} warning{}",
            a.file.display(),
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
        if errors == 0 {
            println!("{} {summary}", green("valid"));
        } else {
            println!("{} {summary}", red("invalid"));
        }
    }
    Ok(ExitCode::from(u8::from(errors > 0)))
}

fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue)> {
    let Some((name, value)) = h.split_once(':') else {
        bail!("header {h:?} is not `Name: value`");
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .with_context(|| format!("invalid header name in {h:?}"))?;
    let value = HeaderValue::from_str(value.trim())
        .with_context(|| format!("invalid header value in {h:?}"))?;
    Ok((name, value))
}

fn eval(a: &EvalArgs) -> Result<ExitCode> {
    let text = read(&a.file)?;
    let policy = match Policy::from_toml(&text) {
        Ok(p) => p,
        Err(e) => {
            print_errors(&a.file, &e);
            bail!(
                "{} is not a valid policy (run `preflight policy lint`)",
                a.file.display()
            );
        }
    };
    let method = Method::from_bytes(a.method.as_bytes())
        .with_context(|| format!("invalid method {:?}", a.method))?;
    let mut headers = HeaderMap::new();
    if let Some(o) = &a.origin {
        headers.append(
            http::header::ORIGIN,
            HeaderValue::from_str(o).with_context(|| format!("invalid origin {o:?}"))?,
        );
    }
    for h in &a.headers {
        let (n, v) = parse_header(h)?;
        headers.append(n, v);
    }
    let path = a.path.split(['?', '#']).next().unwrap_or("/");
    let d = policy.evaluate(&method, path, &headers);
    let pairs: Vec<(String, String)> = d
        .all_headers()
        .into_iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let denied = matches!(
        d.kind(),
        DecisionKind::PreflightDeny | DecisionKind::ActualDeny
    );
    if a.json {
        println!(
            "{}",
            json!({
                "decision": d.kind().as_str(),
                "status": d.status().map(|s| s.as_u16()),
                "headers": pairs,
                "reason": d.reason().map(Reason::code),
            })
        );
    } else {
        let verdict = match d.kind() {
            DecisionKind::NotCors => dim("not a CORS request (no Origin header): the handler answers"),
            DecisionKind::PreflightAllow => green("preflight allowed: the policy answers it"),
            DecisionKind::PreflightDeny => red("preflight denied: the policy answers it"),
            DecisionKind::ActualAllow => green("allowed: the handler answers, the policy adds headers"),
            DecisionKind::ActualDeny => {
                red("denied: the handler answers, but without CORS headers the browser hides the response")
            }
        };
        println!("decision: {} ({verdict})", d.kind());
        match d.status() {
            Some(s) => println!("status:   {s}"),
            None => println!("status:   {}", dim("(from the handler)")),
        }
        if let Some(r) = d.reason() {
            println!("reason:   {} — {}", r.code(), r.description());
            println!("fix:      {}", r.fix());
        }
        if pairs.is_empty() {
            println!("headers:  {}", dim("(none)"));
        } else {
            println!("headers:");
            for (n, v) in &pairs {
                println!("  {n}: {v}");
            }
        }
    }
    Ok(ExitCode::from(u8::from(denied)))
}

fn print_errors(file: &Path, e: &ConfigErrors) {
    for d in e.diagnostics() {
        print_diag(file, d);
    }
}
