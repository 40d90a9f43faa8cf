//! Helpers shared by the integration tests.
#![allow(dead_code)]

use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::snapshot;

/// Builds an index from YAML text.
pub fn index(yaml: &str) -> ClusterIndex {
    let snap = snapshot::load_str("test.yaml", yaml).expect("test snapshot parses");
    ClusterIndex::build(&snap, Semantics::default())
}

/// The `netpol-debug` binary built for these tests.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
}

/// Runs the binary to the end.
pub fn run_bin(args: &[&str]) -> std::process::Output {
    bin().args(args).output().expect("binary runs")
}

/// Writes `text` to `name` in a directory of this test process and `suite`.
pub fn temp_file(suite: &str, name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netpol-debug-{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The objects of a multi-document YAML file (empty documents left out), or an error naming the
/// file and the document.
pub fn read_objects(path: &std::path::Path) -> Result<Vec<serde_json::Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, doc) in yaml_serde::Deserializer::from_str(&text).enumerate() {
        let v = <serde_json::Value as serde::Deserialize>::deserialize(doc)
            .map_err(|e| format!("{} document {}: {e}", path.display(), i + 1))?;
        if v.is_object() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Path of the shared conformance corpus, if present (CI always has it).
pub fn shared_dir() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    p.is_dir().then_some(p)
}

/// Namespaces `app` (team=app) and `other` (team=other); pods with IPs, ports and nodes.
pub const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: app}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: other}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web, tier: front}}
spec:
  nodeName: n1
  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}, {name: sig, containerPort: 9000, protocol: SCTP}]}]
status: {phase: Running, podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: other, labels: {app: db}}
spec:
  nodeName: n2
  containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]
status: {phase: Running, podIP: 10.0.2.2}
---
apiVersion: v1
kind: Pod
metadata: {name: hostagent, namespace: app, labels: {app: hostagent}}
spec: {nodeName: n2, hostNetwork: true, containers: [{name: c}]}
status: {phase: Running, podIP: 192.168.0.11}
"#;

/// The Python interpreter with the official MCP SDK: `NETPOL_DEBUG_MCP_PYTHON`, else
/// `<crate>/.venv-mcp/bin/python` (made by tests/run). `None`: the caller skips, loudly, except
/// under CI (env `CI` set), where it panics naming `what`.
pub fn mcp_python(what: &str) -> Option<std::path::PathBuf> {
    let found = match std::env::var_os("NETPOL_DEBUG_MCP_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => {
            let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-mcp/bin/python");
            venv.exists().then_some(venv)
        }
    };
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{what}: no interpreter (set NETPOL_DEBUG_MCP_PYTHON, or run bash tests/run --prepare, which creates .venv-mcp)"
            );
        }
        eprintln!("SKIPPED: {what} (set NETPOL_DEBUG_MCP_PYTHON or run bash tests/run --prepare)");
    }
    found
}

/// What a Python client script run against the real binary and example 01 produced.
pub struct ScriptRun {
    /// `None`: killed after the timeout.
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: std::time::Duration,
}

/// Runs `python script BINARY examples/01/cluster.yaml ARGS...`, draining both pipes on threads
/// (a full pipe never blocks the child) and killing it after `timeout`.
pub fn run_mcp_script(
    python: &std::path::Path,
    script: &str,
    args: &[String],
    timeout: std::time::Duration,
) -> ScriptRun {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let mut child = Command::new(python)
        .arg(root.join(script))
        .arg(env!("CARGO_BIN_EXE_netpol-debug"))
        .arg(root.join("examples/01-default-deny-ingress/cluster.yaml"))
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the python client") {
            break Some(status);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    ScriptRun {
        status,
        elapsed: start.elapsed(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// The shared base cluster (`BASE`) plus `docs`, indexed: what the semantics tables build.
pub fn build_on_base(suite: &str, docs: &[String], semantics: netpol_debug::index::Semantics) -> ClusterIndex {
    let yaml = format!("{}\n---\n{}", BASE, docs.join("\n---\n"));
    let snap = snapshot::load_str(&format!("{suite}.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("the {suite} cluster parses: {e}"));
    ClusterIndex::build(&snap, semantics)
}

/// `ns/pod` as that pod, an address as itself: how the semantics tables name endpoints.
pub fn endpoint(ix: &ClusterIndex, s: &str) -> netpol_debug::engine::Endpoint {
    use netpol_debug::engine::Endpoint;
    if let Ok(ip) = s.parse() {
        return Endpoint::Ip(ip);
    }
    let (ns, name) = s.split_once('/').expect("ns/name");
    Endpoint::Pod(ix.pod_by_name(ns, name).unwrap_or_else(|| panic!("no pod {s}")))
}

/// One semantics-table row's flow diagnosed: the diagnosis, with a failure in `out` when its
/// verdict or first root cause's code is not the row's.
#[allow(clippy::too_many_arguments)]
pub fn diagnose_row(
    ix: &ClusterIndex,
    what: &str,
    (from, to): (&str, &str),
    protocol: netpol_debug::policy::Protocol,
    port: u16,
    verdict: netpol_debug::report::Verdict,
    code: &str,
    out: &mut Vec<String>,
) -> netpol_debug::report::Diagnosis {
    use netpol_debug::diagnosis::{Query, diagnose, query::PortArg};
    let q = Query {
        from: from.into(),
        to: to.into(),
        protocol,
        port: Some(PortArg::Number(port)),
    };
    let d = diagnose(ix, &q).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    if d.verdict != verdict {
        out.push(format!(
            "{what}: verdict {:?}, expected {verdict:?}; causes {:#?}",
            d.verdict, d.root_causes
        ));
    }
    let first = d.root_causes.first().map(|c| serde_json::to_value(c.code).unwrap());
    if first.as_ref().and_then(|c| c.as_str()) != Some(code) {
        out.push(format!(
            "{what}: first cause {first:?}, expected {code}; causes {:#?}",
            d.root_causes
        ));
    }
    d
}

/// A failure in `out` when the connectivity map's set between the two ends disagrees with the
/// explained evaluation (`allowed`) on the row's port.
pub fn matrix_agrees(
    ix: &ClusterIndex,
    what: &str,
    (src, dst): (netpol_debug::engine::Endpoint, netpol_debug::engine::Endpoint),
    (protocol, port): (netpol_debug::policy::Protocol, u16),
    allowed: bool,
    out: &mut Vec<String>,
) {
    use netpol_debug::engine::{Selection, allowed_conns};
    let conns = allowed_conns(ix, &Selection::compute(ix), src, dst);
    if conns.contains(protocol, port) != allowed {
        out.push(format!(
            "{what}: evaluate says {allowed} but matrix's set {conns} disagrees"
        ));
    }
}
