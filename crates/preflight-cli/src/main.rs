//! `preflight`: CORS done exactly, from the command line.
//!
//! The binary is glue over the `preflight` library: argument parsing, file and terminal I/O,
//! exit codes. Every decision is the library's.
//!
//! Exit codes (all commands): 0 success / allowed, 1 the answer is "no" (invalid policy, denied
//! or blocked request), 2 usage or input error, 3 network error (`check`: unreachable, TLS
//! failure, timeout; `scan`: any URL unreachable).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's allocator: the gateway (`preflight serve`) spends a measurable
/// share of its user-space time in glibc's `malloc`/`free` (bin consolidation under load); see
/// BENCHMARKS.md §4.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check_cmd;
mod check_drift;
mod check_live;
mod explain;
mod export_cmd;
mod output;
mod playground_cmd;
mod policy_cmd;
mod scan_cmd;
mod serve_cmd;

/// CORS done exactly: check policies, explain browser behaviour, run a gateway.
#[derive(Parser)]
#[command(name = "preflight", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain what a browser does with a request and the server's answers.
    Explain(explain::ExplainArgs),
    /// Lint a policy file, or ask what it answers to a request.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Run a CORS policy gateway (reverse proxy) in front of a backend.
    Serve(serve_cmd::ServeArgs),
    /// Compile a policy into nginx or Envoy configuration (exit 1: lossy with --strict).
    Export(export_cmd::ExportArgs),
    /// Act as a browser against a live server: preflight, request, redirects, verdict.
    Check(check_cmd::CheckArgs),
    /// Try CORS scenarios in your own browser, the model's prediction beside the real result.
    Playground(playground_cmd::PlaygroundArgs),
    /// Audit live URLs for CORS misconfigurations (exit 1: findings at or above --fail-on).
    Scan(scan_cmd::ScanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Playground(args) => playground_cmd::run(args),
        Command::Scan(args) => scan_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("preflight: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
