//! The result of `netpol-debug bench`: what was measured for one size, as the JSON of
//! `bench --output json`, the text of `bench` and a row of the BENCHMARKS.md table.
//!
//! Invariant: plain values (no measuring here); field names and order are the JSON's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// Wall times of repeated runs, in milliseconds (2 decimals).
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

/// Load+index: the snapshot read and parsed, then indexed.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStats {
    /// `snapshot::load_paths` + `ClusterIndex::build`.
    pub total: Timing,
    /// Median of `snapshot::load_paths` alone.
    pub load_median_ms: f64,
    /// Median of `ClusterIndex::build` alone.
    pub index_median_ms: f64,
    /// Resident memory before loading, MiB (the generator's and the runtime's).
    pub rss_before_mib: Option<f64>,
    /// Peak resident memory (VmHWM) after loading and indexing, MiB. The peak of the process:
    /// reset just before loading when the kernel allows it (`peak_rss_reset`), else since start.
    pub peak_rss_mib: Option<f64>,
    pub peak_rss_reset: bool,
}

/// `diagnose` over random queries.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnoseStats {
    pub queries: usize,
    /// Queries that returned an error (an unknown name): a generator bug if not 0.
    pub errors: usize,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub max_ms: f64,
    /// `diagnose` plus the JSON the CLI and the tool print, median.
    pub with_json_median_ms: f64,
    /// How many queries of each kind (same-namespace, cross-namespace, service, external, dns).
    pub mix: BTreeMap<String, usize>,
    pub verdicts: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixStats {
    /// The namespace mapped; absent: the whole cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub time: Timing,
    pub connections: usize,
}

/// `what_if` or `diff`: the time, the objects changed and the pairs gained / lost.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeStats {
    pub time: Timing,
    pub changes: usize,
    pub gained_pairs: i64,
    pub lost_pairs: i64,
}

/// `reach` (who can reach one pod) over seeded destinations, after load.
#[derive(Debug, Clone, Serialize)]
pub struct ReachStats {
    /// Destinations asked (one pod each, of different workloads).
    pub destinations: usize,
    /// On the destination's first container port.
    pub port: Timing,
    /// Without a port (connection sets of the allowed groups computed too).
    pub any_port: Timing,
    /// Peers evaluated per question (workloads plus external ranges).
    pub peers: usize,
}

/// The whole-cluster map, or `skipped`.
#[derive(Debug, Clone)]
pub enum FullMatrix {
    Measured(MatrixStats),
    Skipped,
}

impl Serialize for FullMatrix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FullMatrix::Measured(m) => m.serialize(s),
            FullMatrix::Skipped => s.serialize_str("skipped"),
        }
    }
}

/// Everything measured for one size.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The size's name (`S`, `M`, `L`, `XL`).
    pub size: String,
    pub seed: u64,
    pub generator_version: u32,
    pub snapshot: PathBuf,
    /// Time to generate and write the snapshot; absent when a cached file was reused.
    pub generate_ms: Option<f64>,
    pub yaml_bytes: u64,
    /// Objects of the kinds we model, as loaded.
    pub objects: usize,
    pub namespaces: usize,
    pub pods: usize,
    pub policies: usize,
    pub services: usize,
    pub nodes: usize,
    /// Warnings while loading and indexing (0 for a generated cluster).
    pub warnings: usize,
    pub load_index: LoadStats,
    pub diagnose: DiagnoseStats,
    pub matrix_namespace: MatrixStats,
    pub matrix_full: FullMatrix,
    pub reach: ReachStats,
    /// One added policy in the busiest namespace: the flow before/after and that namespace's pairs.
    pub what_if: ChangeStats,
    /// Two states differing by a few policies and labels, every pair; absent with the full map skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<ChangeStats>,
}

/// A measure in 2 decimals, or `n/a` when it could not be taken.
fn opt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into())
}

impl BenchReport {
    /// The header of [`BenchReport::to_markdown_row`].
    pub fn markdown_header() -> &'static str {
        "| size | objects | YAML bytes | pods | policies | load+index ms (median, runs) | peak RSS MiB | diagnose median ms | diagnose p90 ms | matrix 1 ns ms (median of 3) | matrix all ms | reach median ms | what_if ms (median of 3) | diff all ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    }

    /// One row of the BENCHMARKS.md table.
    pub fn to_markdown_row(&self) -> String {
        let full = match &self.matrix_full {
            FullMatrix::Measured(m) => format!("{:.2}", m.time.median_ms),
            FullMatrix::Skipped => "skipped".into(),
        };
        let diff = self
            .diff
            .as_ref()
            .map_or_else(|| "skipped".into(), |d| format!("{:.2}", d.time.median_ms));
        format!(
            "| {} | {} | {} | {} | {} | {:.2} ({}) | {} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} |",
            self.size,
            self.objects,
            self.yaml_bytes,
            self.pods,
            self.policies,
            self.load_index.total.median_ms,
            self.load_index.total.runs,
            opt_ms(self.load_index.peak_rss_mib),
            self.diagnose.median_ms,
            self.diagnose.p90_ms,
            self.matrix_namespace.time.median_ms,
            full,
            self.reach.port.median_ms,
            self.what_if.time.median_ms,
            diff
        )
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.load_index;
        let d = &self.diagnose;
        writeln!(
            f,
            "size {} (seed {}): {} objects, {} YAML bytes, {} namespaces, {} pods, {} policies, {} services, {} nodes, {} warnings",
            self.size,
            self.seed,
            self.objects,
            self.yaml_bytes,
            self.namespaces,
            self.pods,
            self.policies,
            self.services,
            self.nodes,
            self.warnings
        )?;
        match self.generate_ms {
            Some(g) => writeln!(f, "snapshot {} (generated in {g:.2} ms)", self.snapshot.display())?,
            None => writeln!(f, "snapshot {} (cached)", self.snapshot.display())?,
        }
        writeln!(
            f,
            "load+index: median {:.2} ms over {} run(s) (min {:.2}, max {:.2}; load {:.2}, index {:.2}); peak RSS {} MiB ({}; before loading {} MiB)",
            l.total.median_ms,
            l.total.runs,
            l.total.min_ms,
            l.total.max_ms,
            l.load_median_ms,
            l.index_median_ms,
            opt_ms(l.peak_rss_mib),
            if l.peak_rss_reset {
                "reset before loading"
            } else {
                "process peak"
            },
            opt_ms(l.rss_before_mib)
        )?;
        let mix: Vec<String> = d.mix.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let verdicts: Vec<String> = d.verdicts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            f,
            "diagnose: {} queries ({}), {} errors: median {:.2} ms, p90 {:.2} ms, max {:.2} ms; with JSON median {:.2} ms; verdicts: {}",
            d.queries,
            mix.join(", "),
            d.errors,
            d.median_ms,
            d.p90_ms,
            d.max_ms,
            d.with_json_median_ms,
            verdicts.join(", ")
        )?;
        let m = &self.matrix_namespace;
        writeln!(
            f,
            "matrix -n {}: median {:.2} ms over {} runs, {} connections",
            m.namespace.as_deref().unwrap_or_default(),
            m.time.median_ms,
            m.time.runs,
            m.connections
        )?;
        match &self.matrix_full {
            FullMatrix::Measured(m) => writeln!(
                f,
                "matrix (whole cluster): {:.2} ms, {} connections",
                m.time.median_ms, m.connections
            )?,
            FullMatrix::Skipped => writeln!(f, "matrix (whole cluster): skipped")?,
        }
        let r = &self.reach;
        writeln!(
            f,
            "reach (who can reach a pod, {} peers): {} destinations, median {:.2} ms (max {:.2}) on a port, median {:.2} ms (max {:.2}) on any port",
            r.peers, r.destinations, r.port.median_ms, r.port.max_ms, r.any_port.median_ms, r.any_port.max_ms
        )?;
        let w = &self.what_if;
        writeln!(
            f,
            "what_if (one added policy, flow + namespace diff): median {:.2} ms over {} runs, {} change(s), {} pair(s) gained, {} lost",
            w.time.median_ms, w.time.runs, w.changes, w.gained_pairs, w.lost_pairs
        )?;
        match &self.diff {
            Some(d) => writeln!(
                f,
                "diff (whole cluster): {:.2} ms, {} change(s), {} pair(s) gained, {} lost",
                d.time.median_ms, d.changes, d.gained_pairs, d.lost_pairs
            ),
            None => writeln!(f, "diff (whole cluster): skipped"),
        }
    }
}
