//! `preflight export`: compile a policy file into nginx or Envoy configuration.
//!
//! Exit codes: 0 exported (losses, if any, are printed to stderr as warnings), 1 `--strict` and
//! the target cannot express the policy exactly (nothing is written; every loss is listed),
//! 2 usage error or invalid policy.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use preflight::Policy;

use crate::output::{red, yellow};

/// The configuration format to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// nginx: `map` blocks and a `server` with one `location` per route (include in `http {}`).
    Nginx,
    /// Envoy: a v3 static bootstrap (YAML) with the `envoy.filters.http.cors` filter.
    Envoy,
}

/// `preflight export`
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Target format.
    #[arg(long = "to", value_enum)]
    pub to: Target,
    /// The TOML policy file.
    pub file: PathBuf,
    /// Refuse a lossy export: exit 1 and list what the target cannot express.
    #[arg(long)]
    pub strict: bool,
    /// Write the configuration to this file instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Upstream URL (nginx `proxy_pass`, e.g. `http://127.0.0.1:8080`; Envoy cluster host:port).
    #[arg(long)]
    pub upstream: Option<String>,
    /// nginx `listen` parameter (e.g. `127.0.0.1:8000`) or Envoy listener port.
    #[arg(long)]
    pub listen: Option<String>,
}

/// Runs `preflight export`.
pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let policy = match Policy::from_toml(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {}", args.file.display(), red(&e.to_string()));
            return Ok(ExitCode::from(2));
        }
    };
    let export = match args.to {
        Target::Nginx => {
            let mut o = preflight_export::NginxOptions::default();
            if let Some(u) = &args.upstream {
                o.upstream.clone_from(u);
            }
            if let Some(l) = &args.listen {
                o.listen.clone_from(l);
            }
            preflight_export::to_nginx_with(&policy, &o)
        }
        Target::Envoy => {
            let mut o = preflight_export::EnvoyOptions::default();
            if let Some(u) = &args.upstream {
                let (host, port) = parse_host_port(u)?;
                o.upstream_host = host;
                o.upstream_port = port;
            }
            if let Some(l) = &args.listen {
                let port = l.rsplit(':').next().unwrap_or(l);
                o.listen_port = port
                    .parse()
                    .with_context(|| format!("--listen {l}: expected a port"))?;
            }
            preflight_export::to_envoy_with(&policy, &o)
        }
    };
    let target = match args.to {
        Target::Nginx => "nginx",
        Target::Envoy => "Envoy",
    };
    if args.strict && !export.warnings.is_empty() {
        eprintln!(
            "{}",
            red(&format!(
                "preflight: {target} cannot express this policy exactly ({} loss{}); nothing written (--strict):",
                export.warnings.len(),
                if export.warnings.len() == 1 { "" } else { "es" }
            ))
        );
        for w in &export.warnings {
            eprintln!("  {}: {}", w.code, w.message);
        }
        return Ok(ExitCode::from(1));
    }
    for w in &export.warnings {
        eprintln!("{} {}: {}", yellow("warning"), w.code, w.message);
    }
    match &args.output {
        Some(path) => std::fs::write(path, &export.config)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(export.config.as_bytes())
                .context("cannot write to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `http://host:port[/…]` or `host:port` → (host, port).
fn parse_host_port(u: &str) -> Result<(String, u16)> {
    let rest = u.split_once("://").map_or(u, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = authority
        .rsplit_once(':')
        .with_context(|| format!("--upstream {u}: expected host:port"))?;
    let port = port
        .parse()
        .with_context(|| format!("--upstream {u}: bad port"))?;
    Ok((host.to_owned(), port))
}
