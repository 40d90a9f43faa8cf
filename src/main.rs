//! The `netpol-debug` binary: parse arguments, send logs to stderr, run.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // stdout carries results (and, in server mode, the MCP transport): logs go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NETPOL_DEBUG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    cli::run(cli::Cli::parse())
}
