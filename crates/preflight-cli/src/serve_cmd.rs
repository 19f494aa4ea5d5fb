//! `preflight serve`: the policy gateway in front of a backend.
//!
//! Logs go to stderr: human-readable by default, JSON lines with `--log-format json` (one object
//! per event with `timestamp`, `level`, `target`, `fields`; decision events have target
//! `preflight::decision` and fields `decision`, `reason`, `method`, `path`, `shadow`). `RUST_LOG`
//! overrides the level (default `info`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use preflight::Policy;
use preflight_gateway::{Gateway, GatewayConfig};

/// Log output format.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `preflight serve`
#[derive(Args)]
pub struct ServeArgs {
    /// The TOML policy file (watched; also reloaded on SIGHUP).
    #[arg(long)]
    policy: PathBuf,
    /// The upstream base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    upstream: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Evaluate and log only: forward everything, change no header.
    #[arg(long)]
    shadow: bool,
    /// Keep CORS headers the upstream sets (by default they are stripped).
    #[arg(long)]
    keep_upstream_cors: bool,
    /// Serve Prometheus metrics on this address (path /metrics).
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Seconds to wait for the upstream's response head.
    #[arg(long, default_value_t = 30)]
    upstream_timeout: u64,
    /// Seconds between checks of the policy file for changes (0 disables watching).
    #[arg(long, default_value_t = 1)]
    reload_interval: u64,
    /// Accept loops, each on a thread of its own with its own upstream connections (default:
    /// one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs the gateway until SIGTERM or Ctrl-C.
pub fn run(a: &ServeArgs) -> Result<ExitCode> {
    init_logging(a.log_format);
    let upstream: http::Uri = a
        .upstream
        .parse()
        .with_context(|| format!("invalid --upstream {:?}", a.upstream))?;
    if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
        bail!(
            "--upstream must be an http://host:port URL (got {:?})",
            a.upstream
        );
    }
    let text = std::fs::read_to_string(&a.policy)
        .with_context(|| format!("cannot read {}", a.policy.display()))?;
    let policy = match Policy::from_toml(&text) {
        Ok(p) => p,
        Err(e) => {
            for d in e.diagnostics() {
                eprintln!("{}: {d}", a.policy.display());
            }
            bail!("{} is not a valid policy", a.policy.display());
        }
    };
    for w in policy.warnings() {
        tracing::warn!("{}: {w}", a.policy.display());
    }
    let mut cfg = GatewayConfig::new(a.listen, upstream);
    cfg.shadow = a.shadow;
    cfg.strip_upstream_cors = !a.keep_upstream_cors;
    cfg.upstream_timeout = Duration::from_secs(a.upstream_timeout.max(1));
    cfg.metrics = a.metrics;
    cfg.threads = a.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    // This thread runs the first accept loop plus the signal handling and the file watcher; the
    // gateway starts the others on threads of their own (see `GatewayConfig::threads`).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let threads = cfg.threads;
    rt.block_on(async {
        let gateway = Gateway::new(cfg, policy.into());
        let running = gateway.start().await.context("cannot bind")?;
        tracing::info!(
            listen = %running.addr(),
            upstream = %a.upstream,
            shadow = a.shadow,
            metrics = ?running.metrics_addr(),
            threads,
            "preflight gateway listening"
        );
        let shared = running.policy().clone();
        let metrics = running.metrics().clone();
        if a.reload_interval > 0 {
            tokio::spawn(preflight_gateway::watch_file(
                a.policy.clone(),
                shared.clone(),
                metrics.clone(),
                Duration::from_secs(a.reload_interval),
                running.stop_signal(),
            ));
        }
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading {}", a.policy.display());
                    let _ = preflight_gateway::reload(&a.policy, &shared, &metrics);
                }
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        tracing::info!("shutting down: finishing in-flight requests");
        running.shutdown().await;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
