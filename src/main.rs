//! The `netpol-debug` binary: parse arguments, send logs to stderr, run.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Loading a snapshot is millions of small allocations, made by the parsing threads and freed
/// by others; mimalloc does that faster than the system allocator (BENCHMARKS.md, Loading).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // stdout carries results (and, in server mode, the MCP transport): logs go to stderr.
    // kube's own error lines repeat what our error says (with the context and server), so they
    // are off unless NETPOL_DEBUG_LOG asks for them.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NETPOL_DEBUG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kube_client=off")),
        )
        .init();
    cli::run(cli::Cli::parse())
}
