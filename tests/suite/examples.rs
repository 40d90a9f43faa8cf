//! Every broken-cluster scenario in `examples/NN-slug/` gives the verdict and root cause its
//! `case.yaml` names, and its whole diagnosis matches a reviewed golden file
//! (`tests/suite/snapshots/examples__NN-slug.snap`).
//!
//! A scenario is `cluster.yaml` (the objects, as `kubectl get -o yaml` trimmed) plus `case.yaml`:
//! `description`, `query: {from, to, port, protocol}` and
//! `expect: {verdict, blocked_direction, root_cause, policies, also}`, and either `fix` (the
//! suggested fix written as objects, checked by `example_fixes`) or `no_fix` (why there is none).
//! To refresh the golden files after an intended change: `INSTA_UPDATE=always cargo test`, then
//! read every changed `.snap` before keeping it.

use std::path::{Path, PathBuf};

use netpol_debug::diagnosis::query::{self, PortArg};
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::report::Diagnosis;
use netpol_debug::snapshot;
use serde::Deserialize;

use super::example_fixes::Fix;

/// Fewer scenarios than this means some were lost (a renamed file, a bad glob).
const MIN_EXAMPLES: usize = 12;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    description: String,
    pub(crate) query: CaseQuery,
    pub(crate) expect: Expect,
    /// The diagnosis's suggestion written as objects and label changes (see `example_fixes`).
    #[serde(default)]
    pub(crate) fix: Option<Fix>,
    /// Why the suggestion is not a policy change (CNI, secondary network, nothing to fix).
    #[serde(default)]
    pub(crate) no_fix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseQuery {
    pub(crate) from: String,
    pub(crate) to: String,
    #[serde(default)]
    port: Option<PortText>,
    #[serde(default)]
    protocol: Option<String>,
}

/// `port: "8080"`, `port: 8080` or `port: http`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PortText {
    Number(u64),
    Text(String),
}

impl PortText {
    fn as_text(&self) -> String {
        match self {
            PortText::Number(n) => n.to_string(),
            PortText::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Expect {
    pub(crate) verdict: String,
    /// `ingress`, `egress`, `both`, or null.
    blocked_direction: Option<String>,
    /// The code of `root_causes[0]`.
    root_cause: String,
    /// `root_causes[0].policies` must contain these.
    #[serde(default)]
    policies: Vec<String>,
    /// Codes that must appear somewhere in `root_causes`.
    #[serde(default)]
    also: Vec<String>,
}

pub(crate) struct Example {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every `examples/*/case.yaml`, sorted by directory name.
pub(crate) fn examples() -> Vec<Example> {
    let mut out: Vec<Example> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("case.yaml").is_file())
        .map(|dir| Example {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub(crate) fn load_case(ex: &Example) -> Result<Case, String> {
    let path = ex.dir.join("case.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let case: Case = yaml_serde::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if case.description.trim().is_empty() {
        return Err(format!("{}: description is empty", path.display()));
    }
    Ok(case)
}

/// Loads the example's cluster (only `cluster.yaml`: `case.yaml` is not a Kubernetes object)
/// and runs the diagnosis its case names.
fn run(ex: &Example) -> Result<(Case, Diagnosis), String> {
    let case = load_case(ex)?;
    let cluster = ex.dir.join("cluster.yaml");
    let snap = snapshot::load_paths(std::slice::from_ref(&cluster))
        .map_err(|e| format!("cannot load {}: {e}", cluster.display()))?;
    let ix = ClusterIndex::build(&snap, Semantics::default());
    let d = diagnosis::diagnose(&ix, &query_of(&case)?)
        .map_err(|e| format!("the query fails: {e} (argument {})", e.argument))?;
    Ok((case, d))
}

impl CaseQuery {
    /// The port as written (`"8080"`, `8080` or a name).
    pub(crate) fn port_text(&self) -> Option<String> {
        self.port.as_ref().map(PortText::as_text)
    }

    pub(crate) fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }
}

/// The flow a case asks about.
pub(crate) fn query_of(case: &Case) -> Result<Query, String> {
    Ok(Query {
        from: case.query.from.clone(),
        to: case.query.to.clone(),
        protocol: query::parse_protocol(case.query.protocol.as_deref().unwrap_or("TCP"))
            .map_err(|e| format!("query.protocol: {e}"))?,
        port: case
            .query
            .port
            .as_ref()
            .map(|p| PortArg::parse(&p.as_text()))
            .transpose()
            .map_err(|e| format!("query.port: {e}"))?,
    })
}

/// A serialized enum as its wire text (`"DEFAULT_DENY_INGRESS"` -> `DEFAULT_DENY_INGRESS`).
pub(crate) fn wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v).expect("serializes") {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// What differs between the diagnosis and the case's expectations, one line each.
fn mismatches(case: &Case, d: &Diagnosis) -> Vec<String> {
    let e = &case.expect;
    let mut out = Vec::new();
    let verdict = wire(&d.verdict);
    if verdict != e.verdict {
        out.push(format!("verdict: expected {}, got {verdict}", e.verdict));
    }
    let direction = d.blocked_direction.as_ref().map(wire);
    if direction != e.blocked_direction {
        out.push(format!(
            "blocked_direction: expected {}, got {}",
            e.blocked_direction.as_deref().unwrap_or("null"),
            direction.as_deref().unwrap_or("null")
        ));
    }
    let codes: Vec<String> = d.root_causes.iter().map(|rc| wire(&rc.code)).collect();
    match d.root_causes.first() {
        None => out.push(format!("root_causes is empty; expected {} first", e.root_cause)),
        Some(first) => {
            if codes[0] != e.root_cause {
                out.push(format!(
                    "root_causes[0].code: expected {}, got {} (all: {})",
                    e.root_cause,
                    codes[0],
                    codes.join(", ")
                ));
            }
            for p in &e.policies {
                if !first.policies.contains(p) {
                    out.push(format!(
                        "root_causes[0].policies: expected to contain {p}, got [{}]",
                        first.policies.join(", ")
                    ));
                }
            }
        }
    }
    for code in &e.also {
        if !codes.contains(code) {
            out.push(format!(
                "root_causes: expected {code} somewhere, got [{}]",
                codes.join(", ")
            ));
        }
    }
    out
}

#[test]
fn every_example_gives_the_diagnosis_its_case_names() {
    let all = examples();
    assert!(
        all.len() >= MIN_EXAMPLES,
        "expected at least {MIN_EXAMPLES} examples in {}, found {}: {:?}",
        examples_dir().display(),
        all.len(),
        all.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    let mut failures = Vec::new();
    for ex in &all {
        match run(ex) {
            Err(e) => failures.push(format!("{}: {e}", ex.name)),
            Ok((case, d)) => failures.extend(mismatches(&case, &d).into_iter().map(|m| format!("{}: {m}", ex.name))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) in examples/:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_example_matches_its_golden_diagnosis() {
    let mut settings = insta::Settings::clone_current();
    // One file name whichever test binary includes this module.
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    let mut failures = Vec::new();
    for ex in examples() {
        let (case, d) = match run(&ex) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{}: {e}", ex.name));
                continue;
            }
        };
        let mut s = settings.clone();
        s.set_description(format!(
            "{} -> {} ({})\n{}",
            case.query.from,
            case.query.to,
            ex.name,
            case.description.trim()
        ));
        s.set_omit_expression(true);
        let name = format!("examples__{}", ex.name);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.bind(|| insta::assert_json_snapshot!(name.as_str(), d));
        }));
        if outcome.is_err() {
            failures.push(format!(
                "{}: diagnosis differs from tests/suite/snapshots/{name}.snap",
                ex.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// examples/README.md's table names, for every example, the first root cause its case expects
/// (a newcomer reads the table before any case file).
#[test]
fn the_readme_table_names_each_case_first_root_cause() {
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).expect("examples/README.md");
    let mut wrong = Vec::new();
    for ex in examples() {
        let case = load_case(&ex).unwrap();
        let row = readme.lines().find(|l| l.starts_with(&format!("| `{}` |", ex.name)));
        // The last cell begins with the first root cause: `| blocked (ingress) | `CODE` (+ …) |`.
        let first = row
            .and_then(|r| r.trim_end_matches('|').rsplit('|').next())
            .and_then(|cell| cell.split('`').nth(1));
        if first != Some(case.expect.root_cause.as_str()) {
            wrong.push(format!(
                "{}: table says {first:?}, case.yaml {}",
                ex.name, case.expect.root_cause
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "examples/README.md disagrees:\n  {}",
        wrong.join("\n  ")
    );
}
