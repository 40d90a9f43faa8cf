//! The upstream Kubernetes e2e NetworkPolicy cases (tests/e2e/*.yaml, schema in
//! tests/e2e/README.md), run against the fixed 3x3 model with the default semantics.
//!
//! For every file, every probe and every ordered pair of distinct pods, the verdict of
//! `engine::evaluate` must equal the file's expectation, and `engine::allowed_conns` must agree
//! with `evaluate` (a property we promise: the map and the diagnosis share their semantics).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netpol_debug::engine::{self, Endpoint, Flow, Selection};
use netpol_debug::index::{ClusterIndex, PodId, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::snapshot;
use serde_json::{Value, json};

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const PODS: [&str; 3] = ["a", "b", "c"];

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

fn str_map(v: Option<&Value>) -> Option<serde_json::Map<String, Value>> {
    v.and_then(Value::as_object).cloned()
}

/// The model cluster of one case file, as a JSON list of objects.
fn model_objects(case: &Value) -> Vec<Value> {
    let ns_overrides = str_map(case.get("namespace_labels")).unwrap_or_default();
    let pod_overrides = str_map(case.get("pod_labels")).unwrap_or_default();
    let mut objs = Vec::new();
    for (ni, ns) in NAMESPACES.iter().enumerate() {
        let labels = ns_overrides.get(*ns).cloned().unwrap_or_else(|| json!({ "ns": ns }));
        objs.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}));
        for (pi, pod) in PODS.iter().enumerate() {
            let labels = pod_overrides
                .get(&format!("{ns}/{pod}"))
                .cloned()
                .unwrap_or_else(|| json!({ "pod": pod }));
            let mut ports = Vec::new();
            for port in [80, 81] {
                for proto in ["TCP", "UDP", "SCTP"] {
                    ports.push(json!({
                        "name": format!("serve-{port}-{}", proto.to_ascii_lowercase()),
                        "containerPort": port,
                        "protocol": proto,
                    }));
                }
            }
            let ip = format!("10.{}.0.{}", ni + 1, pi + 1);
            objs.push(json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "labels": labels},
                "spec": {"containers": [{"name": "cont", "image": "agnhost", "ports": ports}]},
                "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
            }));
        }
    }
    if let Some(Value::Array(pols)) = case.get("policies") {
        objs.extend(pols.iter().cloned());
    }
    objs
}

/// `*`, `ns/*` or `ns/pod` against a pod key.
fn pattern_matches(pattern: &str, key: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (pns, ppod) = pattern.split_once('/').unwrap_or((pattern, "*"));
    let (kns, kpod) = key.split_once('/').unwrap();
    pns == kns && (ppod == "*" || ppod == kpod)
}

struct FileResult {
    pairs: usize,
    failures: Vec<String>,
}

fn run_file(path: &Path) -> Result<FileResult, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = yaml_serde::from_str(&text).map_err(|e| format!("does not parse: {e}"))?;
    let name = case.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
    let json_text = serde_json::to_string(&Value::Array(model_objects(&case))).unwrap();
    let snap = snapshot::load_str("model.json", &json_text).map_err(|e| format!("model does not load: {e}"))?;
    if !snap.warnings.is_empty() {
        return Err(format!("model loads with warnings: {:?}", snap.warnings));
    }
    let ix = ClusterIndex::build(&snap, Semantics::default());
    let sel = Selection::compute(&ix);

    let keys: Vec<String> = NAMESPACES
        .iter()
        .flat_map(|n| PODS.iter().map(move |p| format!("{n}/{p}")))
        .collect();
    let ids: Vec<PodId> = keys
        .iter()
        .map(|k| {
            let (n, p) = k.split_once('/').unwrap();
            ix.pod_by_name(n, p)
                .ok_or_else(|| format!("pod {k} missing from the index"))
        })
        .collect::<Result<_, _>>()?;

    let mut out = FileResult {
        pairs: 0,
        failures: Vec::new(),
    };
    let probes = case.get("probes").and_then(Value::as_array).ok_or("no probes")?;
    for probe in probes {
        let proto_s = probe.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        let protocol = Protocol::parse(proto_s).ok_or_else(|| format!("bad protocol {proto_s}"))?;
        let port = probe.get("port").and_then(Value::as_u64).ok_or("probe without port")? as u16;
        let default = probe.get("default").and_then(Value::as_bool).unwrap_or(true);
        let mut want: BTreeMap<(usize, usize), bool> = BTreeMap::new();
        for (i, from) in keys.iter().enumerate() {
            for (j, to) in keys.iter().enumerate() {
                let mut v = default;
                for e in probe.get("expect").and_then(Value::as_array).into_iter().flatten() {
                    let f = e["from"].as_str().unwrap_or("");
                    let t = e["to"].as_str().unwrap_or("");
                    if pattern_matches(f, from) && pattern_matches(t, to) {
                        v = e["allowed"].as_bool().unwrap_or(v);
                    }
                }
                want.insert((i, j), v);
            }
        }
        let mut mismatch = false;
        let mut table = format!(
            "  probe {proto_s} {port}: rows = from, columns = to; `.` ok, `X` blocked, `!` = wrong (we said the opposite)\n        "
        );
        for k in &keys {
            table.push_str(&format!("{k:>5}"));
        }
        table.push('\n');
        let mut disagreements = Vec::new();
        for (i, from) in keys.iter().enumerate() {
            table.push_str(&format!("  {from:>5} "));
            for (j, to) in keys.iter().enumerate() {
                if i == j {
                    table.push_str("    -");
                    continue;
                }
                out.pairs += 1;
                let (s, d) = (Endpoint::Pod(ids[i]), Endpoint::Pod(ids[j]));
                let got = engine::evaluate(
                    &ix,
                    Flow {
                        src: s,
                        dst: d,
                        protocol,
                        port: Some(port),
                    },
                )
                .allowed();
                let conns = engine::allowed_conns(&ix, &sel, s, d).contains(protocol, port);
                if conns != got {
                    disagreements.push(format!(
                        "  evaluate says {got} but allowed_conns says {conns} for {from} -> {to} {proto_s} {port}"
                    ));
                }
                let w = want[&(i, j)];
                let cell = if got != w {
                    mismatch = true;
                    if w { "   !." } else { "   !X" }
                } else if w {
                    "    ."
                } else {
                    "    X"
                };
                table.push_str(cell);
            }
            table.push('\n');
        }
        if mismatch {
            out.failures.push(format!(
                "{name:?}: wrong verdicts (cells show the expectation)\n{table}"
            ));
        }
        if !disagreements.is_empty() {
            out.failures.push(format!(
                "{name:?}: evaluate and allowed_conns disagree\n{}",
                disagreements.join("\n")
            ));
        }
    }
    Ok(out)
}

#[test]
fn e2e_conformance_all_files() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(e2e_dir())
        .expect("tests/e2e exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests/e2e/*.yaml");
    let mut pairs = 0;
    let mut failed = Vec::new();
    for f in &files {
        let fname = f.file_name().unwrap().to_string_lossy().to_string();
        match run_file(f) {
            Ok(r) => {
                pairs += r.pairs;
                if !r.failures.is_empty() {
                    failed.push(format!("{fname}:\n{}", r.failures.join("\n")));
                }
            }
            Err(e) => failed.push(format!("{fname}: {e}")),
        }
    }
    eprintln!(
        "e2e conformance: {} files, {pairs} pairs checked, {} files failing",
        files.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} e2e files fail:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

#[test]
fn e2e_conformance_patterns() {
    assert!(pattern_matches("*", "x/a"));
    assert!(pattern_matches("x/*", "x/a"));
    assert!(!pattern_matches("y/*", "x/a"));
    assert!(pattern_matches("x/a", "x/a"));
    assert!(!pattern_matches("x/b", "x/a"));
}
