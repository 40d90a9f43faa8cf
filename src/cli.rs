//! The command line: subcommands mirroring the tools, `--output text|json`.
//!
//! Invariant: parse raw arguments, validate them into a query, then call the engine; all I/O
//! (reading snapshots, printing) happens here, never in the engine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use netpol_debug::diagnose::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::query::{self, PortArg, QueryError};
use netpol_debug::report::QueryErrorReport;
use netpol_debug::{matrix, render, snapshot};

/// Finds out why Kubernetes traffic is blocked by NetworkPolicy, with evidence.
/// Diagnosis only: it reads manifests and never changes a cluster.
#[derive(Debug, Parser)]
#[command(name = "netpol-debug", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// Snapshot files or directories (YAML/JSON, e.g. `kubectl get ... -o yaml`), or - for stdin.
    /// Repeatable; directories are read recursively.
    #[arg(long, short = 's', required = true, num_args = 1..)]
    pub snapshot: Vec<PathBuf>,

    /// Whether an ipBlock matches pod IPs (implementation-defined in Kubernetes; the upstream
    /// e2e conformance tests expect it to).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub ipblock_matches_pods: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Why is traffic from one endpoint to another allowed or blocked?
    ///
    /// Exit code: 0 allowed or not-enforced, 1 blocked, 2 bad input, 3 inconclusive.
    Diagnose {
        #[command(flatten)]
        source: SourceArgs,
        /// Source: NS/POD, NS/KIND/NAME (deploy, sts, ds, rs, job, cronjob, rc, svc, pod) or an IP.
        #[arg(long)]
        from: String,
        /// Destination: NS/POD, NS/KIND/NAME or an IP. A Service maps its port to the targetPort.
        #[arg(long)]
        to: String,
        /// Destination port: a number or a port name. Absent: any port.
        #[arg(long)]
        port: Option<String>,
        /// TCP, UDP or SCTP.
        #[arg(long, default_value = "TCP")]
        protocol: String,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Every allowed connection between workloads and external ranges (`SRC => DST : CONNS`).
    Matrix {
        #[command(flatten)]
        source: SourceArgs,
        /// Only connections with an end in these namespaces (repeatable). Default: all.
        #[arg(long, short = 'n')]
        namespace: Vec<String>,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

fn load(source: &SourceArgs) -> anyhow::Result<ClusterIndex> {
    let snap = snapshot::load_paths(&source.snapshot).context("cannot load the snapshot")?;
    let ix = ClusterIndex::build(
        &snap,
        Semantics {
            ipblock_matches_pods: source.ipblock_matches_pods,
        },
    );
    for w in &ix.warnings {
        tracing::warn!("{w}");
    }
    tracing::debug!(pods = ix.pods.len(), policies = ix.policies.len(), "snapshot indexed");
    Ok(ix)
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match run_inner(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn print_query_error(e: &QueryError, output: Output) -> u8 {
    let report = QueryErrorReport {
        error: e.message.clone(),
        argument: e.argument.clone(),
        suggestions: e.suggestions.clone(),
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        Output::Text => eprint!("{}", render::query_error_text(&report)),
    }
    2
}

fn run_inner(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Diagnose {
            source,
            from,
            to,
            port,
            protocol,
            output,
        } => {
            // Validate the arguments before reading anything.
            let parsed = (|| -> Result<Query, QueryError> {
                Ok(Query {
                    protocol: query::parse_protocol(&protocol)?,
                    port: port.as_deref().map(PortArg::parse).transpose()?,
                    from: from.clone(),
                    to: to.clone(),
                })
            })();
            let q = match parsed {
                Ok(q) => q,
                Err(e) => return Ok(print_query_error(&e, output)),
            };
            let ix = load(&source)?;
            match diagnose::diagnose(&ix, &q) {
                Ok(d) => {
                    match output {
                        Output::Json => println!("{}", serde_json::to_string_pretty(&d)?),
                        Output::Text => print!("{}", render::diagnosis_text(&d)),
                    }
                    Ok(d.verdict.exit_code())
                }
                Err(e) => Ok(print_query_error(&e, output)),
            }
        }
        Command::Matrix {
            source,
            namespace,
            output,
        } => {
            let ix = load(&source)?;
            for ns in &namespace {
                if ix.namespace(ns).is_none() {
                    anyhow::bail!("--namespace {ns}: no such namespace in the snapshot");
                }
            }
            let map = matrix::connectivity_map(&ix, &namespace);
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&map)?),
                Output::Text => print!("{}", matrix::render_text(&map)),
            }
            Ok(0)
        }
    }
}
