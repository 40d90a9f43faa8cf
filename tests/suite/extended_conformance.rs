//! The expectations of public Cilium and Calico material, transcribed as our own data:
//! tests/cilium_conformance/ (the cilium-cli connectivity tests: manifests and `WithExpectations`)
//! and tests/calico_conformance/ (the worked examples of the Calico docs). Schema, sources and
//! licences: the README.md of each directory and CONFORMANCE.md.
//!
//! On every build the data must be well formed: every file parses, every case's objects load
//! with `snapshot::load_str`, every probe names a pod of the model (or an IP literal for traffic
//! outside the cluster) and says what it expects. Then every probe runs through
//! `diagnosis::diagnose`, and each dialect prints one line
//! (`cargo test --test tests extended_conformance -- --show-output`):
//!
//! `cilium conformance: N cases, M probes, K matched, S skipped (why), E not evaluated yet, ...`
//!
//! A confident wrong verdict (allowed where upstream blocks, or the reverse) always fails. An
//! `inconclusive` verdict is counted, not failed, while the dialect's `*_EVALUATED` constant is
//! false: the engine for that dialect is not there yet. Set the constant to true once it is, and
//! every probe must then match (an `l7: true` probe may also answer `inconclusive` with
//! `DATAPLANE_DEPENDENT`), and every probe whose upstream result names a reason (a drop reason,
//! a Calico Pass to the profile) must carry the matching root-cause code.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netpol_debug::diagnosis::{Query, diagnose, query::PortArg};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::{Diagnosis, Verdict};
use netpol_debug::snapshot;
use serde_json::Value;

/// Flip to true when the Cilium engine lands: "not evaluated yet" becomes a failure.
const CILIUM_EVALUATED: bool = true;
/// Flip to true when the Calico engine lands: "not evaluated yet" becomes a failure.
const CALICO_EVALUATED: bool = true;

/// One dialect's data directory and what its upstream drop reasons map to.
struct Dialect {
    name: &'static str,
    dir: &'static str,
    evaluated: bool,
    /// (word in a probe's `upstream` text, root-cause code the matching verdict must carry).
    reason_codes: &'static [(&'static str, &'static str)],
    /// The figures the transcription must keep: (files, cases, probes).
    figures: (usize, usize, usize),
}

const DIALECTS: [Dialect; 2] = [
    Dialect {
        name: "cilium",
        dir: "tests/cilium_conformance",
        evaluated: CILIUM_EVALUATED,
        reason_codes: &[
            ("PolicyDeny", "CILIUM_POLICY_DENY"),
            ("DefaultDeny", "CILIUM_NO_MATCHING_RULE"),
        ],
        figures: (34, 34, 232),
    },
    Dialect {
        name: "calico",
        dir: "tests/calico_conformance",
        evaluated: CALICO_EVALUATED,
        reason_codes: &[
            ("Deny rule", "CALICO_POLICY_DENY"),
            ("end of tier", "CALICO_NO_MATCHING_RULE"),
            ("profile", "CALICO_PASS_TO_PROFILE"),
        ],
        figures: (16, 32, 64),
    },
];

fn dir(d: &Dialect) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(d.dir)
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

fn case_files(d: &Dialect) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir(d))
        .unwrap_or_else(|e| panic!("{}: {e}", d.dir))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !is_base(p))
        .collect();
    files.sort();
    files
}

/// A model file (`base.yaml`, `base-*.yaml`), not a case file.
fn is_base(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("base"))
}

/// The model a case file runs in: `base.yaml`, or the model its `base:` key names.
fn base_of(d: &Dialect, file: &Value) -> Value {
    let name = file.get("base").and_then(Value::as_str).unwrap_or("base.yaml");
    read_yaml(&dir(d).join(name))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`{key}` missing or not a string in {v}"))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A case of a file: its name, objects (the base model plus the policies) and probes.
struct Case<'a> {
    label: String,
    out_of_scope: Option<&'a str>,
    objects: Vec<Value>,
    probes: &'a [Value],
}

/// The cases of one file. A case without `policies` uses the file's; `out_of_scope` on the file
/// holds for all its cases.
fn cases_of<'a>(base: &Value, file: &'a Value) -> Vec<Case<'a>> {
    let test = s(file, "test");
    let file_oos = file.get("out_of_scope").and_then(Value::as_str);
    list(file, "cases")
        .iter()
        .map(|case| {
            let mut objects = list(base, "objects").to_vec();
            let policies = case.get("policies").unwrap_or(&file["policies"]);
            let ns = base.get("apply_namespace").and_then(Value::as_str);
            objects.extend(policies.as_array().into_iter().flatten().map(|p| applied(p, ns)));
            Case {
                label: format!("{test} / {}", s(case, "name")),
                out_of_scope: case.get("out_of_scope").and_then(Value::as_str).or(file_oos),
                objects,
                probes: list(case, "probes"),
            }
        })
        .collect()
}

/// A policy as `kubectl apply -n NS` creates it: a namespaced object that names no namespace gets
/// `NS` (cilium-cli applies its manifests to the test namespace; the Calico cases name theirs).
fn applied(obj: &Value, ns: Option<&str>) -> Value {
    let mut obj = obj.clone();
    let group = s(&obj, "apiVersion")
        .rsplit_once('/')
        .map_or("", |(g, _)| g)
        .to_string();
    let kind = s(&obj, "kind").to_string();
    if let Some(ns) = ns.filter(|_| !snapshot::is_cluster_scoped(&group, &kind)) {
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        meta.entry("namespace").or_insert_with(|| Value::String(ns.to_string()));
    }
    obj
}

fn load(objects: &[Value]) -> Result<snapshot::ClusterSnapshot, String> {
    let text = serde_json::to_string(&Value::Array(objects.to_vec())).unwrap();
    snapshot::load_str("extended-model.json", &text).map_err(|e| format!("the objects do not load: {e}"))
}

fn probe_text(p: &Value) -> String {
    format!(
        "{} -> {} {} {}",
        s(p, "from"),
        s(p, "to"),
        s(p, "protocol"),
        p["port"].as_u64().unwrap_or(0)
    )
}

/// What became of one probe.
enum Outcome {
    Matched,
    /// The verdict matched but lacks the code of the reason upstream names.
    CodeMissing(String),
    /// `inconclusive` with `EXTENDED_POLICY_PRESENT`: the dialect is not evaluated yet.
    NotEvaluated,
    /// `inconclusive` for another reason.
    Inconclusive(String),
    /// Allowed where blocked is expected or the reverse (or any other verdict).
    Wrong(String),
}

fn codes(d: &Diagnosis) -> Vec<String> {
    d.root_causes.iter().map(|c| c.code_str()).collect()
}

fn judge(dialect: &Dialect, p: &Value, d: &Diagnosis) -> Outcome {
    let want_allowed = p["allowed"].as_bool().expect("probe has `allowed`");
    let l7 = p.get("l7").and_then(Value::as_bool).unwrap_or(false);
    let codes = codes(d);
    let has = |c: &str| codes.iter().any(|x| x == c);
    let upstream = p.get("upstream").and_then(Value::as_str).unwrap_or("");
    let reason = dialect.reason_codes.iter().find(|(word, _)| upstream.contains(word));
    match (d.verdict, want_allowed) {
        (Verdict::Allowed, true) | (Verdict::Blocked, false) => match reason {
            Some((_, code)) if !has(code) => Outcome::CodeMissing(format!("expected {code}, got {codes:?}")),
            _ => Outcome::Matched,
        },
        (Verdict::Inconclusive, true) if l7 && has("DATAPLANE_DEPENDENT") => Outcome::Matched,
        (Verdict::Inconclusive, _) if has("EXTENDED_POLICY_PRESENT") => Outcome::NotEvaluated,
        (Verdict::Inconclusive, _) => Outcome::Inconclusive(format!("inconclusive {codes:?}")),
        (got, _) => Outcome::Wrong(format!(
            "expected {}, got {got:?} {codes:?}",
            if want_allowed { "allowed" } else { "blocked" }
        )),
    }
}

fn run_probe(ix: &ClusterIndex, p: &Value) -> Result<Diagnosis, String> {
    let protocol = Protocol::parse(s(p, "protocol")).ok_or("bad protocol")?;
    let port = p["port"]
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .ok_or("bad port")?;
    let q = Query {
        from: s(p, "from").to_string(),
        to: s(p, "to").to_string(),
        protocol,
        port: Some(PortArg::Number(port)),
    };
    diagnose(ix, &q).map_err(|e| format!("query error: {}", e.arguments()))
}

/// The totals of one dialect.
#[derive(Default)]
struct Totals {
    cases: usize,
    probes: usize,
    matched: usize,
    skipped: BTreeMap<String, usize>,
    not_evaluated: usize,
    inconclusive: usize,
    code_missing: usize,
    wrong: Vec<String>,
    /// Failures only once the dialect is evaluated: inconclusive verdicts and missing codes.
    pending: Vec<String>,
}

fn run_dialect(d: &Dialect) -> Totals {
    let mut t = Totals::default();
    for path in case_files(d) {
        let file = read_yaml(&path);
        for case in cases_of(&base_of(d, &file), &file) {
            t.cases += 1;
            t.probes += case.probes.len();
            if let Some(why) = case.out_of_scope {
                *t.skipped.entry(why.to_string()).or_default() += case.probes.len();
                continue;
            }
            let snap = load(&case.objects).unwrap_or_else(|e| panic!("{}: {e}", case.label));
            let ix = ClusterIndex::build(&snap, Semantics::default());
            for p in case.probes {
                if let Some(why) = p.get("out_of_scope").and_then(Value::as_str) {
                    *t.skipped.entry(why.to_string()).or_default() += 1;
                    continue;
                }
                let where_ = format!("{}: {}", case.label, probe_text(p));
                let diag = match run_probe(&ix, p) {
                    Ok(diag) => diag,
                    Err(e) => {
                        t.wrong.push(format!("{where_}: {e}"));
                        continue;
                    }
                };
                match judge(d, p, &diag) {
                    Outcome::Matched => t.matched += 1,
                    Outcome::CodeMissing(why) => {
                        t.matched += 1;
                        t.code_missing += 1;
                        t.pending.push(format!("{where_}: {why}"));
                    }
                    Outcome::NotEvaluated => {
                        t.not_evaluated += 1;
                        t.pending
                            .push(format!("{where_}: not evaluated yet (EXTENDED_POLICY_PRESENT)"));
                    }
                    Outcome::Inconclusive(why) => {
                        t.inconclusive += 1;
                        t.pending.push(format!("{where_}: {why}"));
                    }
                    Outcome::Wrong(why) => t.wrong.push(format!("{where_}: {why}")),
                }
            }
        }
    }
    t
}

fn summary(d: &Dialect, t: &Totals) -> String {
    let skip_total: usize = t.skipped.values().sum();
    let why = if t.skipped.is_empty() {
        "none".to_string()
    } else {
        t.skipped
            .iter()
            .map(|(r, n)| format!("{n}: {r}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "{} conformance: {} cases, {} probes, {} matched, {skip_total} skipped ({why}), {} not evaluated yet, {} inconclusive for another reason, {} confidently wrong; {} lack the code of upstream's reason",
        d.name,
        t.cases,
        t.probes,
        t.matched,
        t.not_evaluated,
        t.inconclusive,
        t.wrong.len(),
        t.code_missing,
    )
}

fn check_dialect(d: &Dialect) {
    let t = run_dialect(d);
    println!("{}", summary(d, &t));
    for w in &t.wrong {
        println!("  WRONG {w}");
    }
    for p in t.pending.iter().filter(|_| d.evaluated) {
        println!("  PENDING {p}");
    }
    assert!(
        t.wrong.is_empty(),
        "{} conformance: {} confident verdicts contradict upstream:\n{}",
        d.name,
        t.wrong.len(),
        t.wrong.join("\n")
    );
    if d.evaluated {
        assert!(
            t.pending.is_empty(),
            "{} conformance: the dialect is marked evaluated, but {} probes are not decided as upstream decides them:\n{}",
            d.name,
            t.pending.len(),
            t.pending.join("\n")
        );
    }
}

#[test]
fn cilium_extended_conformance() {
    check_dialect(&DIALECTS[0]);
}

#[test]
fn calico_extended_conformance() {
    check_dialect(&DIALECTS[1]);
}

/// Pods of a loaded model as `namespace/name`.
fn pods_of(snap: &snapshot::ClusterSnapshot) -> Vec<String> {
    let ix = ClusterIndex::build(snap, Semantics::default());
    ix.pods.iter().map(|p| format!("{}/{}", p.namespace, p.name)).collect()
}

fn check_probe(label: &str, p: &Value, pods: &[String]) {
    for key in ["from", "to"] {
        let v = s(p, key);
        assert!(
            pods.iter().any(|x| x == v) || v.parse::<IpAddr>().is_ok(),
            "{label}: `{key}: {v}` names no pod of the model and is no IP literal"
        );
    }
    assert!(Protocol::parse(s(p, "protocol")).is_some(), "{label}: protocol");
    assert!(p["port"].as_u64().is_some_and(|n| n > 0 && n < 65536), "{label}: port");
    assert!(p["allowed"].is_boolean(), "{label}: {} has no `allowed`", probe_text(p));
    assert!(
        p.get("upstream").and_then(Value::as_str).is_some_and(|u| !u.is_empty()),
        "{label}: {} does not say what upstream expects (`upstream`)",
        probe_text(p)
    );
    for key in ["out_of_scope"] {
        if let Some(r) = p.get(key) {
            assert!(
                r.as_str().is_some_and(|r| !r.is_empty()),
                "{label}: `{key}` has a reason"
            );
        }
    }
}

/// The data, on every build: files parse, name their source, objects load, probes are complete
/// and name pods of the model, and the figures of CONFORMANCE.md hold.
#[test]
fn extended_conformance_data_is_well_formed() {
    for d in &DIALECTS {
        let bases = std::fs::read_dir(dir(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| is_base(p));
        for path in bases {
            let base = read_yaml(&path);
            let model = load(list(&base, "objects")).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                model.warnings.is_empty(),
                "{} loads with warnings: {:?}",
                path.display(),
                model.warnings
            );
        }
        let files = case_files(d);
        let (mut cases, mut probes) = (0, 0);
        for path in &files {
            let file = read_yaml(path);
            let test = s(&file, "test");
            assert!(file.get("source").is_some(), "{}: {test} names no source", d.name);
            for case in cases_of(&base_of(d, &file), &file) {
                cases += 1;
                assert!(!case.probes.is_empty(), "{}: no probes", case.label);
                let snap = load(&case.objects).unwrap_or_else(|e| panic!("{}: {e}", case.label));
                let pods = pods_of(&snap);
                for p in case.probes {
                    probes += 1;
                    check_probe(&case.label, p, &pods);
                }
            }
        }
        assert_eq!(
            (files.len(), cases, probes),
            d.figures,
            "{}: (files, cases, probes) transcribed; update CONFORMANCE.md with the figures",
            d.name
        );
    }
}

/// The runner's judgement on real diagnoses: a confident verdict against the expectation is
/// `Wrong` (the failure that never waits), a CNI kind not evaluated is `NotEvaluated`, and an
/// agreeing verdict is `Matched`.
#[test]
fn extended_conformance_judges_as_documented() {
    let d = &DIALECTS[0];
    let base = read_yaml(&dir(d).join("base.yaml"));
    let deny_all = serde_json::json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny-all", "namespace": "cilium-test"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    });
    let cnp = serde_json::json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "echo", "namespace": "cilium-test"},
        "spec": {"endpointSelector": {"matchLabels": {"kind": "echo"}}, "ingress": [{}]},
    });
    let probe = |allowed: bool| {
        serde_json::json!({"from": "cilium-test/client", "to": "cilium-test/echo-same-node",
            "protocol": "TCP", "port": 8080, "allowed": allowed, "upstream": "test"})
    };
    let judged = |policy: &Value, allowed: bool| {
        let mut objects = list(&base, "objects").to_vec();
        objects.push(policy.clone());
        let ix = ClusterIndex::build(&load(&objects).unwrap(), Semantics::default());
        let p = probe(allowed);
        judge(d, &p, &run_probe(&ix, &p).unwrap())
    };
    assert!(matches!(judged(&deny_all, false), Outcome::Matched));
    assert!(matches!(judged(&deny_all, true), Outcome::Wrong(_)));
    // Before the Cilium engine: not evaluated yet; after it: the ingress default deny.
    assert!(matches!(judged(&cnp, false), Outcome::NotEvaluated | Outcome::Matched));
}
