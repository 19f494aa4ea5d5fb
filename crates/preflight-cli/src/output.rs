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
