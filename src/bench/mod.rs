//! The benchmark behind `netpol-debug bench`: generates (or reuses) a cluster of a given size,
//! then measures what users wait for: load+index (what `diagnose` does before answering) and
//! its peak memory, one `diagnose` over many random queries, and the connectivity map of one
//! namespace and of the whole cluster.
//!
//! Invariant: measures, never asserts; the only I/O is the cached snapshot file and
//! `/proc/self` (peak RSS). Printing is the caller's.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::diagnosis::{self, Query};
pub mod cluster_gen;

use crate::diagnosis::diff;
use crate::diagnosis::matrix;
use crate::diagnosis::query::PortArg;
use crate::diagnosis::reach::{self, ReachQuery};
use crate::diagnosis::whatif::{self, Edits, LabelEdit, Manifest};
use crate::index::{ClusterIndex, Semantics};
use crate::policy::Protocol;
pub use crate::report::bench::{
    BenchReport, ChangeStats, DiagnoseStats, FullMatrix, LoadStats, MatrixStats, ReachStats, Timing,
};
use crate::snapshot::ClusterSnapshot;
pub use cluster_gen::{GENERATOR_VERSION, Size, SplitMix64, generate, header_line};

pub const DEFAULT_QUERIES: usize = 200;
pub const DEFAULT_SEED: u64 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    pub size: Size,
    /// Random `diagnose` queries to time.
    pub queries: usize,
    /// Seed of the cluster and of the queries.
    pub seed: u64,
    /// Where the generated snapshot is cached (default: the system temporary directory).
    pub out_dir: Option<PathBuf>,
    /// Skip the whole-cluster map (it grows with the square of the workloads).
    pub skip_full_matrix: bool,
}

impl BenchArgs {
    pub fn new(size: Size) -> Self {
        BenchArgs {
            size,
            queries: DEFAULT_QUERIES,
            seed: DEFAULT_SEED,
            out_dir: None,
            skip_full_matrix: false,
        }
    }
}

/// The timing of repeated runs from their samples.
fn timing_of(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    Timing {
        runs: samples.len(),
        median_ms: ms(median(&samples)),
        min_ms: ms(samples.first().copied().unwrap_or_default()),
        max_ms: ms(samples.last().copied().unwrap_or_default()),
    }
}

/// A duration in milliseconds, rounded to 2 decimals.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// The median of sorted samples.
fn median(sorted: &[Duration]) -> Duration {
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The `p`th percentile (nearest rank) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// The cached snapshot's path: `<dir>/netpol-debug-bench-<size>-<seed>.yaml`.
pub fn snapshot_path(args: &BenchArgs) -> PathBuf {
    let dir = args.out_dir.clone().unwrap_or_else(std::env::temp_dir);
    dir.join(format!("netpol-debug-bench-{}-{}.yaml", args.size, args.seed))
}

/// Whether `path` holds a snapshot of this generator version, size and seed.
fn cached(path: &Path, size: Size, seed: u64) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    std::io::BufReader::new(f).read_line(&mut first).is_ok() && first.trim_end() == header_line(size, seed)
}

/// Generates the snapshot unless a cached one fits; returns the generation time if generated.
fn ensure_snapshot(args: &BenchArgs, path: &Path) -> anyhow::Result<Option<Duration>> {
    if cached(path, args.size, args.seed) {
        return Ok(None);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let t = Instant::now();
    let text = generate(args.size, args.seed);
    let tmp = path.with_extension(format!("yaml.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(Some(t.elapsed()))
}

/// A field of `/proc/self/status` in MiB (`VmHWM`, `VmRSS`); None off Linux.
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kb: f64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0 * 100.0).round() / 100.0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0: `echo 5 > /proc/self/clear_refs`).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Load+index as `netpol-debug diagnose` does it, `runs` times; the last snapshot and index are kept.
fn load_and_index(path: &Path, runs: usize) -> anyhow::Result<(ClusterSnapshot, ClusterIndex, LoadStats)> {
    let rss_before_mib = proc_status_mib("VmRSS");
    let peak_rss_reset = reset_peak_rss();
    let (mut totals, mut loads, mut indexes) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = None;
    for i in 0..runs {
        let t0 = Instant::now();
        let snap = crate::snapshot::load_paths(&[path.to_path_buf()])
            .with_context(|| format!("cannot load {}", path.display()))?;
        let t1 = Instant::now();
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let t2 = Instant::now();
        loads.push(t1 - t0);
        indexes.push(t2 - t1);
        totals.push(t2 - t0);
        if i + 1 == runs {
            kept = Some((snap, ix));
        }
    }
    let peak_rss_mib = proc_status_mib("VmHWM");
    let (snap, ix) = kept.context("no load run")?;
    loads.sort();
    indexes.sort();
    Ok((
        snap,
        ix,
        LoadStats {
            total: timing_of(totals),
            load_median_ms: ms(median(&loads)),
            index_median_ms: ms(median(&indexes)),
            rss_before_mib,
            peak_rss_mib,
            peak_rss_reset,
        },
    ))
}

/// Addresses outside the cluster: public, inside a corporate ipBlock, inside its `except`.
const EXTERNAL: &[(&str, u16)] = &[
    ("8.8.8.8", 443),
    ("52.94.236.248", 443),
    ("151.101.1.69", 80),
    ("172.17.3.4", 8443),
    ("172.16.5.20", 8445),
    ("192.168.1.10", 8443),
    ("100.64.12.7", 8444),
    ("203.0.113.7", 443),
];

/// `n` seeded queries: same-namespace and cross-namespace pod pairs (no port, a port number, a
/// port name), Services (`ns/svc/name`), external IPs and the cluster DNS.
pub fn random_queries(ix: &ClusterIndex, n: usize, seed: u64) -> Vec<(&'static str, Query)> {
    let mut rng = SplitMix64::new(seed ^ 0x7175_6572_6965_7321);
    let pods: Vec<usize> = (0..ix.pods.len())
        .filter(|&i| !ix.pods[i].host_network && ix.pods[i].namespace != "kube-system")
        .collect();
    let services: Vec<&crate::index::ServiceInfo> = ix
        .services
        .iter()
        .filter(|s| s.selector.is_some() && s.namespace != "kube-system" && !s.ports.is_empty())
        .collect();
    let mut out = Vec::with_capacity(n);
    if pods.is_empty() {
        return out;
    }
    for _ in 0..n {
        let src = *rng.pick(&pods);
        let from = ix.pods[src].key();
        let q = match rng.weighted(&[30, 30, 20, 15, 5]) {
            0 => ("same-namespace", pod_pair_query(ix, &mut rng, &pods, src, true, from)),
            1 => ("cross-namespace", pod_pair_query(ix, &mut rng, &pods, src, false, from)),
            2 if !services.is_empty() => {
                let s = *rng.pick(&services);
                let port = rng.pick(&s.ports).port;
                let to = format!("{}/svc/{}", s.namespace, s.name);
                ("service", tcp_query(from, to, Some(PortArg::Number(port))))
            }
            4 => (
                "dns",
                Query {
                    from,
                    to: "kube-system/svc/kube-dns".into(),
                    protocol: Protocol::Udp,
                    port: Some(PortArg::Number(53)),
                },
            ),
            _ => {
                let (ip, port) = *rng.pick(EXTERNAL);
                ("external", tcp_query(from, ip.into(), Some(PortArg::Number(port))))
            }
        };
        out.push(q);
    }
    out
}

/// A TCP query from `from` to `to`.
fn tcp_query(from: String, to: String, port: Option<PortArg>) -> Query {
    Query {
        from,
        to,
        protocol: Protocol::Tcp,
        port,
    }
}

/// A TCP query from pod `src` (`from`) to another pod of its namespace (`same`) or of another one.
fn pod_pair_query(
    ix: &ClusterIndex,
    rng: &mut SplitMix64,
    pods: &[usize],
    src: usize,
    same: bool,
    from: String,
) -> Query {
    let dst = pick_destination(ix, rng, pods, src, same);
    let port = random_port(rng, &ix.pods[dst].ports);
    tcp_query(from, ix.pods[dst].key(), port)
}

/// A destination pod: another pod of `src`'s namespace when `same` and there is one, else (a
/// few draws) a pod of another namespace.
fn pick_destination(ix: &ClusterIndex, rng: &mut SplitMix64, pods: &[usize], src: usize, same: bool) -> usize {
    let ns = &ix.pods[src].namespace;
    let candidates: Vec<usize> = if same {
        ix.pods_in(ns).iter().copied().filter(|&d| d != src).collect()
    } else {
        Vec::new()
    };
    if same && !candidates.is_empty() {
        return *rng.pick(&candidates);
    }
    // Another namespace (retry a few times; pods are spread evenly).
    let mut d = *rng.pick(pods);
    for _ in 0..8 {
        if ix.pods[d].namespace != *ns {
            break;
        }
        d = *rng.pick(pods);
    }
    d
}

/// No port, one of the pod's port numbers, or one of its port names (a third of the time each,
/// when it has one).
fn random_port(rng: &mut SplitMix64, ports: &[crate::index::ContainerPortInfo]) -> Option<PortArg> {
    match rng.below(3) {
        0 if !ports.is_empty() => Some(PortArg::Number(rng.pick(ports).port)),
        1 if ports.iter().any(|p| p.name.is_some()) => {
            let named: Vec<&str> = ports.iter().filter_map(|p| p.name.as_deref()).collect();
            Some(PortArg::Name(rng.pick(&named).to_string()))
        }
        _ => None,
    }
}

fn time_diagnose(ix: &ClusterIndex, queries: &[(&'static str, Query)]) -> DiagnoseStats {
    let mut times = Vec::with_capacity(queries.len());
    let mut with_json = Vec::with_capacity(queries.len());
    let mut mix = BTreeMap::new();
    let mut verdicts = BTreeMap::new();
    let mut errors = 0;
    for (kind, q) in queries {
        *mix.entry(kind.to_string()).or_insert(0) += 1;
        let t = Instant::now();
        let r = diagnosis::diagnose(ix, q);
        let d = t.elapsed();
        times.push(d);
        match r {
            Ok(diag) => {
                let t = Instant::now();
                let json = serde_json::to_string(&diag).unwrap_or_default();
                with_json.push(d + t.elapsed());
                std::hint::black_box(json);
                let v = serde_json::to_value(diag.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                *verdicts.entry(v).or_insert(0) += 1;
            }
            Err(_) => {
                errors += 1;
                with_json.push(d);
            }
        }
    }
    times.sort();
    with_json.sort();
    DiagnoseStats {
        queries: queries.len(),
        errors,
        median_ms: ms(median(&times)),
        p90_ms: ms(percentile(&times, 90)),
        max_ms: ms(times.last().copied().unwrap_or_default()),
        with_json_median_ms: ms(median(&with_json)),
        mix,
        verdicts,
    }
}

fn time_matrix(ix: &ClusterIndex, namespace: Option<&str>, runs: usize) -> MatrixStats {
    let scope: Vec<String> = namespace.into_iter().map(str::to_string).collect();
    let mut times = Vec::new();
    let mut connections = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let map = matrix::connectivity_map(ix, &scope);
        times.push(t.elapsed());
        connections = map.connections.len();
        std::hint::black_box(map);
    }
    MatrixStats {
        namespace: namespace.map(str::to_string),
        time: timing_of(times),
        connections,
    }
}

/// How many destinations `reach` is timed on.
const REACH_DESTINATIONS: usize = 9;

/// `reach` toward seeded pods of different workloads, on their first container port and on any
/// port: what `check_reachability` costs after load.
fn time_reach(ix: &ClusterIndex, seed: u64) -> ReachStats {
    let mut rng = SplitMix64::new(seed ^ 0x7265_6163_6821);
    let mut seen = std::collections::BTreeSet::new();
    let candidates: Vec<usize> = (0..ix.pods.len())
        .filter(|&i| !ix.pods[i].host_network && !ix.pods[i].ports.is_empty() && ix.pods[i].namespace != "kube-system")
        .collect();
    let (mut port, mut any_port, mut peers) = (Vec::new(), Vec::new(), 0);
    for _ in 0..REACH_DESTINATIONS * 20 {
        if port.len() == REACH_DESTINATIONS || candidates.is_empty() {
            break;
        }
        let p = &ix.pods[candidates[(rng.next_u64() % candidates.len() as u64) as usize]];
        if !seen.insert(p.workload_name()) {
            continue;
        }
        for (samples, asked) in [(&mut port, Some(p.ports[0].port.to_string())), (&mut any_port, None)] {
            let Ok(q) = ReachQuery::parse(Some(&p.key()), None, asked.as_deref(), None, reach::DEFAULT_LIMIT) else {
                continue;
            };
            let t = Instant::now();
            let r = reach::reach(ix, &q);
            samples.push(t.elapsed());
            if let Ok(r) = std::hint::black_box(r) {
                peers = r.verdicts.iter().map(|v| v.peers_total as usize).sum();
            }
        }
    }
    ReachStats {
        destinations: port.len(),
        port: timing_of(port),
        any_port: timing_of(any_port),
        peers,
    }
}

/// The application namespace with the most policies (ties: the first by name).
fn busiest_namespace(ix: &ClusterIndex) -> String {
    let mut names: Vec<&str> = ix.namespaces.iter().map(|n| n.name.as_str()).collect();
    names.sort();
    names
        .into_iter()
        .filter(|n| !ix.pods_in(n).is_empty())
        .max_by(|a, b| {
            ix.policies_in(a)
                .len()
                .cmp(&ix.policies_in(b).len())
                .then_with(|| b.cmp(a))
        })
        .unwrap_or("default")
        .to_string()
}

/// Runs the benchmark for one size.
pub fn run(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let path = snapshot_path(args);
    let generated = ensure_snapshot(args, &path)?;
    let yaml_bytes = std::fs::metadata(&path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let runs = if args.size == Size::XL { 1 } else { 3 };
    let (snap, ix, load_index) = load_and_index(&path, runs)?;
    let objects = snap.object_count();

    let queries = random_queries(&ix, args.queries, args.seed);
    let diagnose = time_diagnose(&ix, &queries);

    let ns = busiest_namespace(&ix);
    let matrix_namespace = time_matrix(&ix, Some(&ns), 3);
    let matrix_full = if args.skip_full_matrix {
        FullMatrix::Skipped
    } else {
        FullMatrix::Measured(time_matrix(&ix, None, 1))
    };
    let what_if = time_what_if(&snap, &ix, &ns)?;
    let diff = match args.skip_full_matrix {
        true => None,
        false => Some(time_diff(&snap, &ix, &ns)?),
    };
    let reach = time_reach(&ix, args.seed);

    Ok(BenchReport {
        size: args.size.as_str().to_string(),
        seed: args.seed,
        generator_version: GENERATOR_VERSION,
        snapshot: path,
        generate_ms: generated.map(ms),
        yaml_bytes,
        objects,
        namespaces: ix.namespaces.len(),
        pods: ix.pods.len(),
        policies: ix.policies.len(),
        services: ix.services.len(),
        nodes: ix.nodes.len(),
        warnings: ix.warnings.len(),
        load_index,
        diagnose,
        matrix_namespace,
        matrix_full,
        reach,
        what_if,
        diff,
    })
}

/// A NetworkPolicy in `ns` that lets every pod of the cluster reach `app` on TCP 8080.
fn bench_policy(ns: &str, name: &str, app: &str) -> Manifest {
    Manifest {
        name: format!("{name}.yaml"),
        text: format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{podSelector: {{matchLabels: {{app: {app}}}}}, ingress: [{{from: [{{namespaceSelector: {{}}}}], ports: [{{port: 8080}}]}}]}}\n"
        ),
    }
}

/// The `app` label of the first pod of `ns` that has one, and two pods of `ns` (`ns/name`).
fn namespace_pods(ix: &ClusterIndex, ns: &str) -> (String, Vec<String>) {
    let pods = ix.pods_in(ns);
    let app = pods
        .iter()
        .find_map(|&id| ix.pod(id).labels.get("app").cloned())
        .unwrap_or_else(|| "app".into());
    (app, pods.iter().take(2).map(|&id| ix.pod(id).key()).collect())
}

fn change_stats(times: Vec<Duration>, d: &crate::report::DiffReport) -> ChangeStats {
    ChangeStats {
        time: timing_of(times),
        changes: d.changes.len(),
        gained_pairs: d.gained_pairs,
        lost_pairs: d.lost_pairs,
    }
}

/// `what_if` with one added policy in `ns` (copy, index, the flow between two of its pods before
/// and after, the diff of the pairs with an end in `ns`), 3 runs.
fn time_what_if(snap: &ClusterSnapshot, ix: &ClusterIndex, ns: &str) -> anyhow::Result<ChangeStats> {
    let (app, pods) = namespace_pods(ix, ns);
    let edits = Edits {
        add: vec![bench_policy(ns, "bench-what-if", &app)],
        ..Edits::default()
    };
    let q = match &pods[..] {
        [a, b] => Some(tcp_query(a.clone(), b.clone(), Some(PortArg::Number(8080)))),
        _ => None,
    };
    let (mut times, mut last) = (Vec::new(), None);
    for _ in 0..3 {
        let t = Instant::now();
        let r = whatif::what_if(snap, ix, &edits, q.as_ref(), 50).map_err(|e| anyhow::anyhow!("what_if: {e}"))?;
        times.push(t.elapsed());
        last = Some(r);
    }
    let r = last.context("no what_if run")?;
    Ok(change_stats(times, &r.diff))
}

/// `diff` of the whole cluster against a state with two policies of `ns` deleted, one added, a
/// pod relabelled and a namespace label added (the second state is built, not timed).
fn time_diff(snap: &ClusterSnapshot, ix: &ClusterIndex, ns: &str) -> anyhow::Result<ChangeStats> {
    let (app, pods) = namespace_pods(ix, ns);
    let edits = Edits {
        add: vec![bench_policy(ns, "bench-diff", &app)],
        delete: ix
            .policies_in(ns)
            .iter()
            .take(2)
            .map(|&p| ix.policies[p].key())
            .collect(),
        label: pods
            .first()
            .map(|p| LabelEdit {
                target: p.clone(),
                labels: "bench=changed".into(),
            })
            .into_iter()
            .collect(),
        namespace_label: vec![LabelEdit {
            target: ns.to_string(),
            labels: "bench=changed".into(),
        }],
    };
    let (after, _) = whatif::apply(snap, &edits).map_err(|e| anyhow::anyhow!("diff edits: {e}"))?;
    let aix = ClusterIndex::build(&after, ix.semantics);
    let state = |snapshot, index| diff::State {
        snapshot,
        index,
        name: "bench",
    };
    let t = Instant::now();
    let d = diff::diff(state(snap, ix), state(&after, &aix), &[], 50);
    Ok(change_stats(vec![t.elapsed()], &d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_runs_on_a_small_cluster_and_reports_every_measure() {
        let dir = std::env::temp_dir().join(format!("netpol-debug-bench-test-{}", std::process::id()));
        let args = BenchArgs {
            queries: 40,
            out_dir: Some(dir.clone()),
            ..BenchArgs::new(Size::S)
        };
        let r = run(&args).unwrap();
        assert_eq!(r.warnings, 0);
        assert_eq!(
            r.diagnose.errors, 0,
            "every generated query names something that exists"
        );
        assert_eq!(r.diagnose.queries, 40);
        assert!(r.generate_ms.is_some());
        assert!(r.matrix_namespace.connections > 0);
        assert!(matches!(r.matrix_full, FullMatrix::Measured(_)));
        assert!(
            r.what_if.gained_pairs > 0,
            "the added policy opens pairs: {:?}",
            r.what_if
        );
        let d = r.diff.as_ref().expect("the diff runs with the full map");
        assert!(d.changes >= 4 && d.gained_pairs + d.lost_pairs > 0, "{d:?}");
        assert!(r.reach.destinations > 0 && r.reach.peers > 0, "{:?}", r.reach);
        let again = run(&BenchArgs {
            skip_full_matrix: true,
            ..args
        })
        .unwrap();
        assert!(again.generate_ms.is_none(), "the cached snapshot is reused");
        assert!(again.to_markdown_row().contains("| skipped |"));
        assert!(again.diff.is_none());
        let json = serde_json::to_value(&again).unwrap();
        assert_eq!(json["matrix_full"], "skipped");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The measurement behind BENCHMARKS.md (run in release, one size per process):
    /// `NETPOL_BENCH_SIZE=L cargo test --release --lib bench::tests::bench_report -- --ignored --nocapture`
    /// (also `NETPOL_BENCH_QUERIES`, `NETPOL_BENCH_SEED`, `NETPOL_BENCH_SKIP_FULL_MATRIX=1`).
    #[test]
    #[ignore = "a benchmark: run in release by hand"]
    fn bench_report() {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let size = match env("NETPOL_BENCH_SIZE")
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("S") => Size::S,
            Some("M") => Size::M,
            Some("L") => Size::L,
            Some("XL") => Size::XL,
            Some(other) => panic!("NETPOL_BENCH_SIZE={other}: S, M, L or XL"),
        };
        let args = BenchArgs {
            queries: env("NETPOL_BENCH_QUERIES").map_or(DEFAULT_QUERIES, |v| v.parse().unwrap()),
            seed: env("NETPOL_BENCH_SEED").map_or(DEFAULT_SEED, |v| v.parse().unwrap()),
            skip_full_matrix: env("NETPOL_BENCH_SKIP_FULL_MATRIX").is_some(),
            out_dir: env("NETPOL_BENCH_OUT_DIR").map(PathBuf::from),
            ..BenchArgs::new(size)
        };
        let r = run(&args).unwrap();
        println!("{r}");
        println!("{}\n{}", BenchReport::markdown_header(), r.to_markdown_row());
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
    }
}
