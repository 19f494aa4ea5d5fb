//! `preflight`: CORS done exactly, from the command line.
//!
//! The binary is glue over the `preflight` library: argument parsing, file and terminal I/O,
//! exit codes. Every decision is the library's.
//!
//! Exit codes (all commands): 0 success / allowed, 1 the answer is "no" (invalid policy, denied
//! or blocked request), 2 usage or input error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod export_cmd;
mod output;
mod policy_cmd;

/// CORS done exactly: check policies, explain browser behaviour.
#[derive(Parser)]
#[command(name = "preflight", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint a policy file, or ask what it answers to a request.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Compile a policy into nginx or Envoy configuration (exit 1: lossy with --strict).
    Export(export_cmd::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Export(args) => export_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("preflight: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
