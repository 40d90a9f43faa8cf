//! The `netpol-debug` binary: parse arguments, send logs to stderr, run.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Loading a snapshot is millions of small allocations, made by the parsing threads and freed
/// by others; mimalloc does that faster than the system allocator (BENCHMARKS.md, Loading).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the same in its v2 and v3; libmimalloc-sys names no
/// constant for it): how long freed memory stays with the process before it is returned to the
/// system. mimalloc's 10 ms made a load spend a third of its time in the kernel, faulting in
/// again the pages it had just returned; one second keeps them through a load (BENCHMARKS.md).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // SAFETY: a plain setter of the allocator's options, called before any other thread exists
    // (it is not thread-safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    run()
}

fn run() -> ExitCode {
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
