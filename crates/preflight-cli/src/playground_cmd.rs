//! `preflight playground`: the local CORS playground (see the `preflight-playground` crate).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

/// Arguments of `preflight playground`.
#[derive(clap::Args, Debug)]
pub struct PlaygroundArgs {
    /// Port of the page origin on 127.0.0.1 (the API origin takes the next one); 0 picks free
    /// ports.
    #[arg(long, default_value_t = 8470)]
    pub port: u16,
    /// Port of the API origin (default: --port + 1).
    #[arg(long)]
    pub api_port: Option<u16>,
    /// Stop after this many seconds (for scripts and tests); default: run until Ctrl-C.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
}

/// Runs the playground until Ctrl-C (or `--exit-after`).
pub fn run(args: &PlaygroundArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let running = preflight_playground::run(preflight_playground::Options {
            port: args.port,
            api_port: args.api_port,
        })
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} (and the next port); try --port 0 for free ports",
                args.port
            )
        })?;
        println!("Preflight CORS playground");
        println!("  page origin: {}", running.page_origin);
        println!(
            "  API origin:  {} (also {} as a third origin)",
            running.api_origin, running.alt_origin
        );
        println!();
        println!("  Open {} in your browser. Ctrl-C stops.", running.url());
        match args.exit_after {
            Some(secs) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                tokio::signal::ctrl_c()
                    .await
                    .context("cannot wait for Ctrl-C")?;
            }
        }
        running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
