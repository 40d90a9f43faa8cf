//! The command line: subcommands mirroring the tools, `--output text|json`.
//!
//! Invariant: parse raw arguments, validate them into a query, then call the engine; all I/O
//! (reading snapshots, printing) happens here, never in the engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use netpol_debug::diagnosis::map_stream::{JsonSink, TextSink};
use netpol_debug::diagnosis::matrix::{Graphic, stream_graph, stream_map};
use netpol_debug::diagnosis::query::{self, QueryError, Surface};
use netpol_debug::diagnosis::reach::{self, ReachQuery};
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::diagnosis::{diff, whatif};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::live::{self, LiveSource, ReadOnlyClient};
use netpol_debug::report::QueryErrorReport;
use netpol_debug::report::{reachability_text, render};
use netpol_debug::serve::http_safety::{self, BearerToken, HttpSafety};
use netpol_debug::serve::mcp;
use netpol_debug::serve::source::{self, Context as ToolContext, Scope};
use netpol_debug::serve::{text, tools};
use netpol_debug::snapshot;
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
    #[arg(
        long,
        short = 's',
        num_args = 1..,
        conflicts_with_all = ["live", "kubeconfig", "context"]
    )]
    pub snapshot: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: LiveArgs,

    /// Whether an ipBlock matches pod IPs (implementation-defined in Kubernetes; the upstream
    /// e2e conformance tests expect it to).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub ipblock_matches_pods: bool,

    /// Largest snapshot read, in bytes over all files and stdin (a file is checked from its size
    /// before it is read). Default: 512 MiB, about twice a `kubectl get -o yaml` of 50,000 pods.
    #[arg(long, value_name = "BYTES", default_value_t = snapshot::Limits::DEFAULT_MAX_BYTES)]
    pub max_snapshot_bytes: u64,

    /// Most objects read from a snapshot (documents, array elements, List items).
    #[arg(long, value_name = "N", default_value_t = snapshot::Limits::DEFAULT_MAX_OBJECTS)]
    pub max_objects: usize,

    /// The namespace of snapshot objects that name none, as `kubectl apply -n NS` (manifests
    /// such as argo-cd's install.yaml name none). Cluster-scoped kinds stay cluster-scoped.
    #[arg(
        long,
        short = 'n',
        value_name = "NS",
        default_value = snapshot::DEFAULT_NAMESPACE,
        value_parser = parse_namespace,
        conflicts_with_all = ["live", "kubeconfig", "context"]
    )]
    pub namespace: String,
}

/// A namespace name: a DNS-1123 label (lower-case letters, digits and `-`, at most 63), as the
/// API server's `ValidateNamespaceName` requires.
fn parse_namespace(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a namespace name (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)"
        ))
    }
}

/// How to read a live cluster (read-only: GET requests only, never Secrets or ConfigMaps).
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Read the live cluster of the kubeconfig (KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account) instead of a snapshot. Implied by --kubeconfig and --context.
    #[arg(long)]
    pub live: bool,
    /// The kubeconfig file to use (as kubectl --kubeconfig).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (as kubectl --context). Default: the current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Seconds to wait for a connection to the API server.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub connect_timeout: u64,
    /// Seconds to wait for each request (each page of a list).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub request_timeout: u64,
    /// In `serve`: seconds a read is reused, so a burst of tool calls reads the cluster once
    /// (0: never reuse).
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub cache_ttl: u64,
}

impl LiveArgs {
    fn connect_options(&self) -> live::ConnectOptions {
        live::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
        }
    }

    fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl)
    }
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
        #[arg(long, value_name = "NS")]
        focus: Vec<String>,
        #[arg(long, short = 'o', value_enum, default_value_t = MapOutput::Text)]
        output: MapOutput,
    },
    /// Evaluate hypothetical edits on a copy of the snapshot (nothing is applied to any
    /// cluster): the flow before and after, and the connections gained and lost.
    ///
    /// Exit code: 0 answered, 2 bad input.
    WhatIf {
        #[command(flatten)]
        source: SourceArgs,
        /// Policies to add from FILE (YAML/JSON); an object with an existing kind/namespace/name
        /// replaces it. Repeatable.
        #[arg(long, value_name = "FILE")]
        add: Vec<PathBuf>,
        /// A policy to delete: NS/NAME (NetworkPolicy), NS/KIND/NAME, or KIND/NAME
        /// (cluster-scoped). Repeatable.
        #[arg(long, value_name = "NS/NAME")]
        delete: Vec<String>,
        /// Change a pod's labels as `kubectl label`: `--label NS/POD k=v,k2-`. Repeatable.
        #[arg(long, num_args = 2, value_names = ["NS/POD", "K=V"])]
        label: Vec<String>,
        /// Change a namespace's labels: `--ns-label NS k=v,k2-`. Repeatable.
        #[arg(long, num_args = 2, value_names = ["NS", "K=V"])]
        ns_label: Vec<String>,
        /// The flow to check before and after (as in diagnose).
        #[arg(long, requires = "to")]
        from: Option<String>,
        #[arg(long, requires = "from")]
        to: Option<String>,
        #[arg(long, requires = "from")]
        port: Option<String>,
        #[arg(long, requires = "from")]
        protocol: Option<String>,
        /// Most changed pairs to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// The connections two states of the cluster allow differently (lost and gained per
    /// workload pair), each explained by the object changes behind it.
    Diff {
        /// The earlier state: snapshot files or directories.
        #[arg(long, num_args = 1.., required = true, value_name = "PATH")]
        before: Vec<PathBuf>,
        /// The later state: snapshot files or directories. Absent: the live cluster (--live).
        #[arg(long, num_args = 1.., value_name = "PATH", conflicts_with = "live")]
        after: Vec<PathBuf>,
        #[command(flatten)]
        cluster: LiveArgs,
        /// Only pairs with an end in these namespaces (repeatable). Default: all.
        #[arg(long, value_name = "NS")]
        focus: Vec<String>,
        /// Most changed pairs to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Who can reach one endpoint (--to), or what it can reach (--from): workloads (one pod
    /// each) and external ranges, grouped by verdict and reason, same namespace first.
    ///
    /// Exit code: 0 answered, 2 bad input.
    Reach {
        #[command(flatten)]
        source: SourceArgs,
        /// Who can reach this: NS/POD or NS/KIND/NAME (deploy, sts, ds, rs, job, cronjob, rc, svc, pod).
        #[arg(long, conflicts_with = "from", required_unless_present = "from")]
        to: Option<String>,
        /// Instead of --to: what this endpoint can reach.
        #[arg(long)]
        from: Option<String>,
        /// Port: a number or (with --to) a port name. Absent: any port, with each group's connections.
        #[arg(long)]
        port: Option<String>,
        /// TCP, UDP or SCTP.
        #[arg(long, default_value = "TCP")]
        protocol: String,
        /// Groups per verdict and peers per group listed.
        #[arg(long, default_value_t = netpol_debug::diagnosis::reach::DEFAULT_LIMIT)]
        limit: usize,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Serve the MCP tools (read-only) over stdio, or over Streamable HTTP with --http.
    ///
    /// The snapshot is loaded and indexed once at start. Logs go to stderr.
    Serve {
        #[command(flatten)]
        source: SourceArgs,
        /// Serve Streamable HTTP at ADDR, endpoint /mcp, instead of stdio. ADDR: IP:PORT
        /// (e.g. 127.0.0.1:8080, 0.0.0.0:8080), or a bare PORT on 127.0.0.1; `--http` alone is
        /// 127.0.0.1:8080.
        #[arg(
            long,
            value_name = "ADDR",
            num_args = 0..=1,
            default_missing_value = "127.0.0.1:8080",
            value_parser = http_safety::parse_listen_addr
        )]
        http: Option<std::net::SocketAddr>,
        #[command(flatten)]
        safety: HttpSafetyArgs,
    },
    /// Benchmark on a generated cluster (deterministic for a seed): load+index time and peak
    /// memory, diagnose median/p90, matrix for one namespace and for the whole cluster.
    Bench {
        /// S (10 ns, 100 pods, 50 policies), M (50/1,000/500), L (200/10,000/3,000), XL (500/50,000/10,000).
        #[arg(long, value_enum)]
        size: netpol_debug::bench::cluster_gen::Size,
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
    /// Read a live cluster (read-only) and write what a diagnosis reads as one multi-document
    /// YAML file that --snapshot loads: for bug reports, offline work and evaluations.
    ///
    /// Secrets and ConfigMaps are never read; environment variable values are redacted.
    Snapshot {
        #[command(flatten)]
        cluster: LiveArgs,
        /// Namespaces to read whole (repeatable); kube-system, the namespaces of DaemonSets and
        /// the cluster-scoped kinds are always read. Default: every namespace.
        #[arg(long, short = 'n')]
        namespace: Vec<String>,
        /// Write to FILE instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Call one MCP tool without a client and print its structured result as JSON.
    ///
    /// Exit code: 0 result, 2 bad arguments (the tool's isError result), 4 unknown tool.
    Tool {
        #[command(flatten)]
        source: SourceArgs,
        /// Tool name: check_cni, list_policies, match_selectors, check_default_deny,
        /// check_policy_types, check_ingress, check_egress, check_cross_namespace, diagnose,
        /// connectivity_map, what_if, diff_snapshots, check_reachability.
        name: String,
        /// The tool's arguments as a JSON object, e.g. '{"from":"shop/a","to":"shop/b","port":80}'.
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

impl SourceArgs {
    fn is_live(&self) -> bool {
        self.snapshot.is_empty()
    }

    /// A source is named: files to read, or a cluster to read live.
    fn require(&self) -> anyhow::Result<()> {
        let c = &self.cluster;
        if self.snapshot.is_empty() && !c.live && c.kubeconfig.is_none() && c.context.is_none() {
            anyhow::bail!(
                "no source: give --snapshot PATH... (YAML/JSON files or directories, e.g. `kubectl get ... -o yaml`; - for stdin), \
                 or --live to read the cluster of your kubeconfig (read-only; --kubeconfig FILE and --context NAME imply it)"
            );
        }
        Ok(())
    }

    fn semantics(&self) -> Semantics {
        Semantics {
            ipblock_matches_pods: self.ipblock_matches_pods,
        }
    }
}

/// Connects to the live cluster (no request yet).
async fn live_source(cluster: &LiveArgs, semantics: Semantics, cache_ttl: Duration) -> anyhow::Result<LiveSource> {
    let client = ReadOnlyClient::connect(&cluster.connect_options()).await?;
    Ok(LiveSource::new(client, semantics, cache_ttl))
}

/// The context a question reads: the snapshot, or what `scope` needs of the live cluster.
fn load_scoped(source: &SourceArgs, scope: &Scope) -> anyhow::Result<Arc<ToolContext>> {
    if !source.is_live() {
        return Ok(kept_until_exit(Arc::new(load_context(source)?)));
    }
    runtime()?.block_on(async {
        let live = live_source(&source.cluster, source.semantics(), Duration::ZERO).await?;
        let ctx = live.context(scope).await?;
        tracing::info!(
            requests = live.client().request_count(),
            pods = ctx.index.pods.len(),
            policies = ctx.index.policies.len(),
            "read the live cluster"
        );
        for w in &ctx.index.warnings {
            tracing::warn!("{w}");
        }
        Ok(ctx)
    })
}

/// A one-shot command's context is never freed: the process exits right after the answer, and
/// the system takes the memory back at once, where dropping the objects of a 50,000-pod snapshot
/// one by one took a tenth of a second or more (a twentieth of the whole run).
fn kept_until_exit(ctx: Arc<ToolContext>) -> Arc<ToolContext> {
    std::mem::forget(ctx.clone());
    ctx
}

/// Loads and indexes the snapshot once: what every tool reads.
fn load_context(source: &SourceArgs) -> anyhow::Result<ToolContext> {
    let options = snapshot::LoadOptions {
        limits: snapshot::Limits {
            max_bytes: source.max_snapshot_bytes,
            max_objects: source.max_objects,
        },
        default_namespace: source.namespace.clone(),
    };
    let snap = snapshot::load_paths_opts(&source.snapshot, &options).context("cannot load the snapshot")?;
    if let Some(d) = &snap.defaulted {
        tracing::info!(objects = d.objects, namespace = %d.namespace, "objects without a namespace put in one");
    }
    let described: Vec<String> = source.snapshot.iter().map(|p| p.display().to_string()).collect();
    let ctx = ToolContext::owning(
        snap,
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

/// Writes to stdout and flushes. A reader that went away (`| head`) makes the write fail with
/// a broken pipe, which [`run`] takes as the end of the command, not as an error.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs a parsed command line and returns the process exit code. A closed stdout ends the
/// command quietly with exit 0, as a reader that stopped reading (`| head`) expects.
pub fn run(cli: Cli) -> ExitCode {
    match run_inner(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => {
            tracing::debug!("stdout closed: {e:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn print_query_error(e: &QueryError, output: Output) -> anyhow::Result<u8> {
    let report = e.report(Surface::Cli);
    match output {
        Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Output::Text => eprint!("{}", render::query_error_text(&report)),
    }
    Ok(2)
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
    // A live batch reads the whole cluster once: the queries may touch any namespace.
    let ctx = load_scoped(source, &Scope::everything())?;
    let ix = &ctx.index;
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
                        // A line's arguments are JSON keys, named as a tool names them.
                        diagnosis::diagnose(ix, &q).map_err(|e| {
                            let mut report = e.report(Surface::Tool);
                            report.error = format!("line {}: {}", i + 1, report.error);
                            report
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
                out.write_all(serde_json::to_string(d)?.as_bytes())?;
            }
            Err(e) => {
                failed += 1;
                out.write_all(serde_json::to_string(e)?.as_bytes())?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    tracing::info!(answered, failed, "batch done");
    Ok(0)
}

/// Runs one subcommand; an error is printed by [`run`].
fn run_inner(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Diagnose { source, .. }
        | Command::Matrix { source, .. }
        | Command::Reach { source, .. }
        | Command::WhatIf { source, .. }
        | Command::Serve { source, .. }
        | Command::Tool { source, .. } => source.require()?,
        Command::Bench { .. } | Command::Snapshot { .. } | Command::Diff { .. } => {}
    }
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
        } => run_diagnose(&source, from, to, port.as_deref(), &protocol, output),
        Command::Reach {
            source,
            to,
            from,
            port,
            protocol,
            limit,
            output,
        } => {
            let parsed = ReachQuery::parse(to.as_deref(), from.as_deref(), port.as_deref(), Some(&protocol), limit);
            run_reach(&source, parsed, output)
        }
        Command::Matrix { source, focus, output } => run_matrix(&source, &focus, output),
        Command::WhatIf {
            source,
            add,
            delete,
            label,
            ns_label,
            from,
            to,
            port,
            protocol,
            limit,
            output,
        } => {
            let flow = from.zip(to).map(|(from, to)| (from, to, port, protocol));
            let edits = EditArgs {
                add,
                delete,
                label,
                ns_label,
            };
            run_what_if(&source, &edits, flow, limit, output)
        }
        Command::Diff {
            before,
            after,
            cluster,
            focus,
            limit,
            output,
        } => run_diff(&before, &after, &cluster, &focus, limit, output),
        Command::Serve { source, http, safety } => run_serve(source, http, &safety),
        Command::Bench {
            size,
            queries,
            seed,
            out_dir,
            skip_full_matrix,
            output,
        } => {
            let args = netpol_debug::bench::BenchArgs {
                size,
                queries,
                seed,
                out_dir,
                skip_full_matrix,
            };
            run_bench(&args, output)
        }
        Command::Snapshot {
            cluster,
            namespace,
            output,
        } => run_snapshot(&cluster, &namespace, output.as_deref()),
        Command::Tool { source, name, args } => run_tool(&source, &name, &args),
    }
}

/// `diagnose`: validates the arguments before reading anything, then prints one diagnosis.
fn run_diagnose(
    source: &SourceArgs,
    from: Option<String>,
    to: Option<String>,
    port: Option<&str>,
    protocol: &str,
    output: Output,
) -> anyhow::Result<u8> {
    let parsed = Query::parse(
        from.as_deref().unwrap_or_default(),
        to.as_deref().unwrap_or_default(),
        port,
        Some(protocol),
    );
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return print_query_error(&e, output),
    };
    let mut scope = Scope::base();
    scope.add_endpoint_text(&q.from);
    scope.add_endpoint_text(&q.to);
    let ctx = load_scoped(source, &scope)?;
    match diagnosis::diagnose(&ctx.index, &q) {
        Ok(d) => {
            match output {
                Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&d)?))?,
                Output::Text => emit(&render::diagnosis_text(&d))?,
            }
            Ok(d.verdict.exit_code())
        }
        Err(e) => print_query_error(&e, output),
    }
}

/// `matrix`: the connectivity map of the cluster, or of some namespaces.
fn run_matrix(source: &SourceArgs, focus: &[String], output: MapOutput) -> anyhow::Result<u8> {
    // Peers may be anywhere: a live map reads the whole cluster.
    let ctx = load_scoped(source, &Scope::everything())?;
    let ix = &ctx.index;
    for ns in focus {
        if let Err(e) = query::check_namespace(ix, "focus", ns) {
            anyhow::bail!("{}", e.text(Surface::Cli));
        }
    }
    stream_matrix(ix, focus, output)?;
    Ok(0)
}

/// The edits of `what-if` as given on the command line.
struct EditArgs {
    add: Vec<PathBuf>,
    delete: Vec<String>,
    /// Pairs: target, changes.
    label: Vec<String>,
    ns_label: Vec<String>,
}

impl EditArgs {
    /// The edits, the files read; a file that cannot be read is an error naming it.
    fn edits(&self) -> Result<whatif::Edits, QueryError> {
        let add = self
            .add
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| QueryError::invalid("add", format!("{}: cannot read: {e}", path.display())))?;
                Ok(whatif::Manifest {
                    name: path.display().to_string(),
                    text,
                })
            })
            .collect::<Result<Vec<_>, QueryError>>()?;
        let pairs = |v: &[String]| -> Vec<whatif::LabelEdit> {
            v.chunks(2)
                .map(|c| whatif::LabelEdit {
                    target: c[0].clone(),
                    labels: c.get(1).cloned().unwrap_or_default(),
                })
                .collect()
        };
        Ok(whatif::Edits {
            add,
            delete: self.delete.clone(),
            label: pairs(&self.label),
            namespace_label: pairs(&self.ns_label),
        })
    }
}

/// `what-if`: the edits on a copy of the snapshot, the flow before and after, the diff.
fn run_what_if(
    source: &SourceArgs,
    edits: &EditArgs,
    flow: Option<(String, String, Option<String>, Option<String>)>,
    limit: usize,
    output: Output,
) -> anyhow::Result<u8> {
    let q = flow
        .map(|(from, to, port, protocol)| Query::parse(&from, &to, port.as_deref(), protocol.as_deref()))
        .transpose();
    let (q, edits) = match (q, edits.edits()) {
        (Ok(q), Ok(e)) => (q, e),
        (Err(e), _) | (_, Err(e)) => return print_query_error(&e, output),
    };
    let ctx = load_scoped(source, &Scope::everything())?;
    match whatif::what_if(&ctx.snapshot, &ctx.index, &edits, q.as_ref(), limit) {
        Ok(r) => {
            match output {
                Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&r)?))?,
                Output::Text => emit(&format!("{}\n", text::what_if(&r)))?,
            }
            Ok(0)
        }
        Err(e) => print_query_error(&e, output),
    }
}

/// `diff`: two snapshots, or a snapshot and the live cluster.
fn run_diff(
    before: &[PathBuf],
    after: &[PathBuf],
    cluster: &LiveArgs,
    focus: &[String],
    limit: usize,
    output: Output,
) -> anyhow::Result<u8> {
    let load = |paths: &[PathBuf]| -> anyhow::Result<Arc<ToolContext>> {
        let snap = snapshot::load_paths(paths).context("cannot load the snapshot")?;
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        Ok(kept_until_exit(Arc::new(ToolContext::owning(
            snap,
            Semantics::default(),
            format!("snapshot {}", names.join(", ")),
        ))))
    };
    // `--after live` (no such file) is `--live`.
    let after_live = matches!(after, [p] if p.as_os_str() == "live" && !p.exists());
    let after: &[PathBuf] = if after_live { &[] } else { after };
    let live_named = after_live || cluster.live || cluster.kubeconfig.is_some() || cluster.context.is_some();
    if !after.is_empty() && live_named {
        anyhow::bail!(
            "--after PATH... and --kubeconfig/--context: give the later state as files, or read it live (--after live)"
        );
    }
    if after.is_empty() && !live_named {
        anyhow::bail!(
            "no later state: give --after PATH... (snapshot files or directories), or --live (also --after live) to compare with the live cluster (read-only)"
        );
    }
    let old = load(before)?;
    let new = match after.is_empty() {
        false => load(after)?,
        true => runtime()?.block_on(async {
            let live = live_source(cluster, Semantics::default(), Duration::ZERO).await?;
            live.context(&Scope::everything()).await
        })?,
    };
    for ns in focus {
        if let Err(e) = query::check_namespace(&new.index, "focus", ns) {
            anyhow::bail!("{}", e.text(Surface::Cli));
        }
    }
    let r = diff::diff(old.state(), new.state(), focus, limit);
    match output {
        Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&r)?))?,
        Output::Text => emit(&format!("{}\n", text::diff(&r)))?,
    }
    Ok(0)
}

/// `reach`: validates the arguments before reading anything, then prints the grouped answer.
fn run_reach(source: &SourceArgs, parsed: Result<ReachQuery, QueryError>, output: Output) -> anyhow::Result<u8> {
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return print_query_error(&e, output),
    };
    // Peers may be anywhere: a live answer reads the whole cluster.
    let ctx = load_scoped(source, &Scope::everything())?;
    match reach::reach(&ctx.index, &q) {
        Ok(r) => {
            match output {
                Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&r)?))?,
                Output::Text => emit(&reachability_text(&r))?,
            }
            Ok(0)
        }
        Err(e) => print_query_error(&e, output),
    }
}

/// The map, written source by source as it is computed (the connections are never all held).
fn stream_matrix(ix: &ClusterIndex, focus: &[String], output: MapOutput) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match output {
        MapOutput::Text => stream_map(ix, focus, &mut TextSink(&mut out))?,
        MapOutput::Json => {
            let mut sink = JsonSink::new(&mut out)?;
            stream_map(ix, focus, &mut sink)?;
            let warnings: Vec<String> = ix.warnings.iter().map(|w| w.to_string()).collect();
            sink.finish(&warnings)?;
        }
        MapOutput::Dot => stream_graph(ix, focus, Graphic::Dot, &mut out)?,
        MapOutput::Mermaid => stream_graph(ix, focus, Graphic::Mermaid, &mut out)?,
    }
    out.flush()
}

/// `serve`: the MCP tools over stdio, or over Streamable HTTP until interrupted.
fn run_serve(source: SourceArgs, http: Option<std::net::SocketAddr>, safety: &HttpSafetyArgs) -> anyhow::Result<u8> {
    // Before the data is loaded: a bad token file fails fast.
    let safety = safety.build()?;
    let runtime = runtime()?;
    runtime.block_on(async move {
        let ctx: Arc<dyn source::ContextSource> = if source.is_live() {
            let cache_ttl = source.cluster.cache_ttl();
            Arc::new(live_source(&source.cluster, source.semantics(), cache_ttl).await?)
        } else {
            Arc::new(Arc::new(load_context(&source)?))
        };
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
                // Where it listens, at the default log level: a server that starts in silence
                // looks stuck.
                let (ready, bound) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    if let Ok(addr) = bound.await {
                        eprintln!("netpol-debug: serving MCP (read-only) at http://{addr}/mcp; Ctrl-C stops");
                    }
                });
                mcp::serve_http(ctx, addr, safety, shutdown, Some(ready)).await
            }
        }
    })?;
    Ok(0)
}

/// `bench`: runs the benchmark for one size and prints the report.
fn run_bench(args: &netpol_debug::bench::BenchArgs, output: Output) -> anyhow::Result<u8> {
    let report = netpol_debug::bench::run(args)?;
    match output {
        Output::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Output::Text => emit(&format!("{report}\n"))?,
    }
    Ok(0)
}

/// `snapshot`: reads a live cluster (every namespace, or these) and writes it as YAML.
fn run_snapshot(cluster: &LiveArgs, namespace: &[String], output: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let scope = if namespace.is_empty() {
        Scope::everything()
    } else {
        let mut scope = Scope::base();
        for ns in namespace {
            scope.add_namespace(ns);
        }
        scope
    };
    let (yaml, objects, requests, forbidden) = runtime()?.block_on(async {
        let live = live_source(cluster, Semantics::default(), Duration::ZERO).await?;
        let read = live.read(&scope).await?;
        for ns in namespace {
            if !read.namespaces.contains(ns) {
                anyhow::bail!(
                    "--namespace {ns}: no such namespace in the cluster ({})",
                    live.client().target()
                );
            }
        }
        let yaml = read.to_yaml(live.client().target())?;
        anyhow::Ok((yaml, read.objects.len(), live.client().request_count(), read.forbidden))
    })?;
    for f in &forbidden {
        tracing::warn!("forbidden: {f}");
    }
    match output {
        Some(path) => std::fs::write(path, &yaml).with_context(|| format!("cannot write {}", path.display()))?,
        None => emit(&yaml)?,
    }
    tracing::info!(objects, requests, "snapshot written");
    Ok(0)
}

/// `tool`: calls one MCP tool with JSON arguments and prints its structured result.
fn run_tool(source: &SourceArgs, name: &str, args: &str) -> anyhow::Result<u8> {
    let Some(tool) = tools::ToolName::parse(name) else {
        let names: Vec<&str> = tools::ToolName::ALL.iter().map(|t| t.as_str()).collect();
        eprintln!("error: unknown tool {name:?}; tools: {}", names.join(", "));
        return Ok(4);
    };
    let args: serde_json::Value = match serde_json::from_str(args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: --args is not JSON: {e}");
            return Ok(2);
        }
    };
    let scope = match &args {
        serde_json::Value::Object(o) => tools::scope_for(tool, o),
        _ => Scope::base(),
    };
    let ctx = load_scoped(source, &scope)?;
    let out = tools::call_json(&ctx, tool, args);
    match out.structured {
        Some(v) if !out.is_error => {
            emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
            Ok(0)
        }
        _ => {
            eprintln!("error: {}", out.text);
            Ok(2)
        }
    }
}

/// The safety flags of `serve --http` (see `netpol_debug::serve::http_safety`).
#[derive(Debug, clap::Args)]
pub struct HttpSafetyArgs {
    /// Also accept this Host header, e.g. the Service name clients use in the cluster
    /// (`netpol-debug.tools.svc`, `netpol-debug.tools.svc.cluster.local:8080`), and the browser
    /// origins http(s)://HOST. Without a port, any port. Repeatable; `*` accepts any Host.
    /// Default: localhost, 127.0.0.1 and [::1] only (DNS-rebinding protection).
    #[arg(long, value_name = "HOST", requires = "http")]
    pub allow_host: Vec<String>,
    /// Also accept this browser Origin: scheme://host[:port] (no port: 80/443), or
    /// scheme://host:* for any port. Repeatable. A request without Origin is always accepted;
    /// by default only loopback origins are.
    #[arg(long, value_name = "ORIGIN", requires = "http")]
    pub allow_origin: Vec<String>,
    /// Require `Authorization: Bearer TOKEN`, TOKEN read once from FILE (trimmed) at start.
    #[arg(long, value_name = "FILE", requires = "http")]
    pub auth_token_file: Option<PathBuf>,
    /// Refuse request bodies over N bytes (413).
    #[arg(long, value_name = "N", requires = "http", default_value_t = http_safety::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

impl HttpSafetyArgs {
    fn build(&self) -> anyhow::Result<HttpSafety> {
        let mut safety = HttpSafety::loopback();
        for host in &self.allow_host {
            safety.allow_host(host)?;
        }
        for origin in &self.allow_origin {
            safety.allow_origin(origin)?;
        }
        if let Some(path) = &self.auth_token_file {
            safety.set_token(BearerToken::from_file(path)?);
        }
        safety.set_max_body_bytes(self.max_body_bytes)?;
        Ok(safety)
    }
}
