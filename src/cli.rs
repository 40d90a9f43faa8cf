//! The command line: subcommands mirroring the tools, `--output text|json`.
//!
//! Invariant: parse raw arguments, validate them into a query, then call the engine; all I/O
//! (reading snapshots, printing) happens here, never in the engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use netpol_debug::diagnose::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::query::{self, PortArg, QueryError};
use netpol_debug::report::QueryErrorReport;
use netpol_debug::tools::{self, Context as ToolContext};
use netpol_debug::{matrix, mcp, render, snapshot};
use tokio_util::sync::CancellationToken;

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

/// Formats of the connectivity map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapOutput {
    /// `SRC => DST : CONNS` lines (the netpol-analyzer connlist format).
    Text,
    Json,
    /// Graphviz DOT, namespaces as clusters.
    Dot,
    /// A Mermaid flowchart, namespaces as subgraphs.
    Mermaid,
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
        #[arg(long, required_unless_present = "batch")]
        from: Option<String>,
        /// Destination: NS/POD, NS/KIND/NAME or an IP. A Service maps its port to the targetPort.
        #[arg(long, required_unless_present = "batch")]
        to: Option<String>,
        /// Destination port: a number or a port name. Absent: any port.
        #[arg(long)]
        port: Option<String>,
        /// TCP, UDP or SCTP.
        #[arg(long, default_value = "TCP")]
        protocol: String,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Many queries at once, for evaluation harnesses: JSON Lines of {from, to, port,
        /// protocol} from FILE (or - for stdin); writes one JSON diagnosis per line, in order
        /// (a line that cannot be answered gives {error, argument, suggestions}). The snapshot is
        /// loaded and indexed once.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "port"])]
        batch: Option<PathBuf>,
    },
    /// Every allowed connection between workloads and external ranges (`SRC => DST : CONNS`).
    Matrix {
        #[command(flatten)]
        source: SourceArgs,
        /// Only connections with an end in these namespaces (repeatable). Default: all.
        #[arg(long, short = 'n')]
        namespace: Vec<String>,
        #[arg(long, short = 'o', value_enum, default_value_t = MapOutput::Text)]
        output: MapOutput,
    },
    /// Serve the MCP tools (read-only) over stdio, or over Streamable HTTP with --http.
    ///
    /// The snapshot is loaded and indexed once at start. Logs go to stderr.
    Serve {
        #[command(flatten)]
        source: SourceArgs,
        /// Serve Streamable HTTP at ADDR (e.g. 127.0.0.1:8080), endpoint /mcp, instead of stdio.
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
    },
    /// Benchmark on a generated cluster (deterministic for a seed): load+index time and peak
    /// memory, diagnose median/p90, matrix for one namespace and for the whole cluster.
    Bench {
        /// S (10 ns, 100 pods, 50 policies), M (50/1,000/500), L (200/10,000/3,000), XL (500/50,000/10,000).
        #[arg(long, value_enum)]
        size: netpol_debug::r#gen::Size,
        /// Random diagnose queries to time.
        #[arg(long, default_value_t = netpol_debug::bench::DEFAULT_QUERIES)]
        queries: usize,
        /// Seed of the cluster and the queries.
        #[arg(long, default_value_t = netpol_debug::bench::DEFAULT_SEED)]
        seed: u64,
        /// Where to cache the generated snapshot (default: the system temporary directory).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Skip the whole-cluster map.
        #[arg(long)]
        skip_full_matrix: bool,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Call one MCP tool without a client and print its structured result as JSON.
    ///
    /// Exit code: 0 result, 2 bad arguments (the tool's isError result), 4 unknown tool.
    Tool {
        #[command(flatten)]
        source: SourceArgs,
        /// Tool name: check_cni, list_policies, match_selectors, check_default_deny,
        /// check_policy_types, check_ingress, check_egress, check_cross_namespace, diagnose,
        /// connectivity_map.
        name: String,
        /// The tool's arguments as a JSON object, e.g. '{"from":"shop/a","to":"shop/b","port":80}'.
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

fn load(source: &SourceArgs) -> anyhow::Result<ClusterIndex> {
    Ok(load_context(source)?.index)
}

/// Loads and indexes the snapshot once: what every tool reads.
fn load_context(source: &SourceArgs) -> anyhow::Result<ToolContext> {
    let snap = snapshot::load_paths(&source.snapshot).context("cannot load the snapshot")?;
    let described: Vec<String> = source.snapshot.iter().map(|p| p.display().to_string()).collect();
    let ctx = ToolContext::from_snapshot(
        &snap,
        Semantics {
            ipblock_matches_pods: source.ipblock_matches_pods,
        },
        format!("snapshot {}", described.join(", ")),
    );
    for w in &ctx.index.warnings {
        tracing::warn!("{w}");
    }
    tracing::debug!(
        pods = ctx.index.pods.len(),
        policies = ctx.index.policies.len(),
        "snapshot indexed"
    );
    Ok(ctx)
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

/// `diagnose --batch`: JSON Lines in, JSON Lines out, in order; the snapshot is loaded once.
fn run_batch(source: &SourceArgs, batch: &std::path::Path) -> anyhow::Result<u8> {
    use std::io::{BufRead, Write};
    let from_stdin = batch == std::path::Path::new("-");
    if from_stdin && source.snapshot.iter().any(|p| p == std::path::Path::new("-")) {
        anyhow::bail!("--batch - and --snapshot - cannot both read stdin");
    }
    let reader: Box<dyn BufRead> = if from_stdin {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(batch).with_context(|| format!("cannot open --batch {}", batch.display()))?,
        ))
    };
    let ix = load(source)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut answered, mut failed) = (0usize, 0usize);
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read --batch {} line {}", batch.display(), i + 1))?;
        let error = |argument: &str, message: String| QueryErrorReport {
            error: format!("line {}: {message}", i + 1),
            argument: argument.to_string(),
            suggestions: Vec::new(),
        };
        // One output line per input line, blank ones included, so line N answers line N.
        let answer: Result<netpol_debug::report::Diagnosis, QueryErrorReport> =
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(serde_json::Value::Object(o)) => tools::parse_args::<tools::FlowArgs>(o)
                    .and_then(|args| args.query())
                    .map_err(|e| error(&e.argument, e.message))
                    .and_then(|q| {
                        diagnose::diagnose(&ix, &q).map_err(|e| QueryErrorReport {
                            error: format!("line {}: {}", i + 1, e.message),
                            argument: e.argument,
                            suggestions: e.suggestions,
                        })
                    }),
                Ok(_) => Err(error(
                    "line",
                    "expected a JSON object {from, to, port, protocol}".into(),
                )),
                Err(e) => Err(error("line", format!("not JSON: {e}"))),
            };
        match &answer {
            Ok(d) => {
                answered += 1;
                serde_json::to_writer(&mut out, d)?;
            }
            Err(e) => {
                failed += 1;
                serde_json::to_writer(&mut out, e)?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    tracing::info!(answered, failed, "batch done");
    Ok(0)
}

fn run_inner(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Diagnose {
            source,
            batch: Some(batch),
            ..
        } => run_batch(&source, &batch),
        Command::Diagnose {
            source,
            from,
            to,
            port,
            protocol,
            output,
            batch: None,
        } => {
            let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
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
                MapOutput::Json => println!("{}", serde_json::to_string_pretty(&map)?),
                MapOutput::Text => print!("{}", matrix::render_text(&map)),
                MapOutput::Dot => print!("{}", matrix::render_dot(&map)),
                MapOutput::Mermaid => print!("{}", matrix::render_mermaid(&map)),
            }
            Ok(0)
        }
        Command::Serve { source, http } => {
            let ctx = Arc::new(load_context(&source)?);
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async move {
                match http {
                    None => mcp::serve_stdio(ctx).await,
                    Some(addr) => {
                        let shutdown = CancellationToken::new();
                        let on_signal = shutdown.clone();
                        tokio::spawn(async move {
                            let _ = tokio::signal::ctrl_c().await;
                            tracing::info!("interrupted: shutting down");
                            on_signal.cancel();
                        });
                        mcp::serve_http(ctx, addr, shutdown, None).await
                    }
                }
            })?;
            Ok(0)
        }
        Command::Bench {
            size,
            queries,
            seed,
            out_dir,
            skip_full_matrix,
            output,
        } => {
            let report = netpol_debug::bench::run(&netpol_debug::bench::BenchArgs {
                size,
                queries,
                seed,
                out_dir,
                skip_full_matrix,
            })?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Output::Text => println!("{report}"),
            }
            Ok(0)
        }
        Command::Tool { source, name, args } => {
            if !tools::TOOL_NAMES.contains(&name.as_str()) {
                eprintln!("error: unknown tool {name:?}; tools: {}", tools::TOOL_NAMES.join(", "));
                return Ok(4);
            }
            let args: serde_json::Value = match serde_json::from_str(&args) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: --args is not JSON: {e}");
                    return Ok(2);
                }
            };
            let ctx = load_context(&source)?;
            let Some(out) = tools::call_json(&ctx, &name, args) else {
                return Ok(4);
            };
            match out.structured {
                Some(v) if !out.is_error => {
                    println!("{}", serde_json::to_string_pretty(&v)?);
                    Ok(0)
                }
                _ => {
                    eprintln!("error: {}", out.text);
                    Ok(2)
                }
            }
        }
    }
}
