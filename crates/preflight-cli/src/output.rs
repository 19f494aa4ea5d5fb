//! Terminal styling: colours only on a terminal, never with `NO_COLOR` or when piped.

use std::io::IsTerminal;

/// Whether stdout gets ANSI colours.
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Wraps `s` in an SGR code when colours are on.
pub fn paint(s: &str, code: &str) -> String {
    if color() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

/// Red and bold.
pub fn red(s: &str) -> String {
    paint(s, "1;31")
}

/// Yellow and bold.
pub fn yellow(s: &str) -> String {
    paint(s, "1;33")
}

/// Green and bold.
pub fn green(s: &str) -> String {
    paint(s, "1;32")
}

/// Dim.
pub fn dim(s: &str) -> String {
    paint(s, "2")
}

/// The verdict of an evaluation: `Verdict: OK …` with the readable headers, or
/// `Verdict: BLOCKED …` with the reason code, Chromium's console message and the fix.
/// `styled`: colour the verdict word (when colours are on).
pub fn write_verdict(out: &mut String, ev: &preflight::browser::Evaluation, styled: bool) {
    use preflight::browser::{Outcome, Stage};
    use std::fmt::Write;
    let style = |s: &str, f: fn(&str) -> String| if styled { f(s) } else { s.to_string() };
    match ev.outcome {
        Outcome::Ok => {
            let _ = writeln!(
                out,
                "Verdict: {} — script can read the response; readable headers: [{}]",
                style("OK", green),
                ev.exposed_headers.join(", ")
            );
        }
        Outcome::NetworkError => {
            let stage = match ev.failure_stage {
                Some(Stage::Request) => "before sending",
                Some(Stage::Preflight) => "at the preflight",
                _ => "on the actual response",
            };
            let _ = writeln!(
                out,
                "Verdict: {} {stage} ({}) — script gets a TypeError",
                style("BLOCKED", red),
                ev.reason.map(|r| r.code()).unwrap_or("unknown")
            );
            if let Some(m) = &ev.message {
                let _ = writeln!(out, "Console: {m}");
            }
            if let Some(f) = &ev.fix {
                let _ = writeln!(out, "Fix: {f}");
            }
        }
    }
}
