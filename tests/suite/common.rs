//! Helpers shared by the integration tests.
#![allow(dead_code)]

use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::snapshot;

/// Builds an index from YAML text.
pub fn index(yaml: &str) -> ClusterIndex {
    let snap = snapshot::load_str("test.yaml", yaml).expect("test snapshot parses");
    ClusterIndex::build(&snap, Semantics::default())
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
