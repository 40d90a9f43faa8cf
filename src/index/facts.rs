//! Facts about the cluster around the policies, gathered once from a snapshot: the CNI, the
//! policy objects of other kinds, service-mesh objects, NodeLocal DNSCache.
//!
//! Invariant: pure; a fact the snapshot does not show is absent, never assumed.

use k8s_openapi::api::core::v1::PodSpec;

use crate::index::cni;
use crate::policy::PolicyKind;
use crate::snapshot::{ClusterSnapshot, OtherObject, WorkloadKind};

/// The default listen address of NodeLocal DNSCache.
pub const NODE_LOCAL_DNS_IP: &str = "169.254.20.10";

/// NodeLocal DNSCache, when its DaemonSet is in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLocalDns {
    /// `ns/name` of the DaemonSet.
    pub daemonset: String,
    /// The link-local address it listens on (from `-localip`, else the default).
    pub ip: std::net::IpAddr,
}

/// A service-mesh object (Istio or Linkerd policy, mesh config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshObject {
    /// `istio` or `linkerd`.
    pub mesh: &'static str,
    /// `apiVersion/kind`.
    pub kind: String,
    /// `ns/name` or `name`.
    pub name: String,
    pub namespace: Option<String>,
}

/// Everything gathered.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    pub cni: cni::CniDetection,
    /// Policy objects of other kinds (Cilium, Calico, ANP/BANP, MultiNetworkPolicy, Antrea), for listing.
    pub other_policies: Vec<OtherPolicyObject>,
    /// The raw CNI-specific policy objects (not ANP/BANP), to decide which select a pod.
    pub extended_objects: Vec<OtherObject>,
    pub mesh_objects: Vec<MeshObject>,
    pub node_local_dns: Option<NodeLocalDns>,
    /// kube-proxy runs (a DaemonSet or pods named kube-proxy): NodePort traffic under
    /// externalTrafficPolicy Cluster is SNATed to a node IP.
    pub kube_proxy: bool,
}

impl Default for ClusterFacts {
    fn default() -> Self {
        ClusterFacts {
            cni: cni::detect(&ClusterSnapshot::default()),
            other_policies: Vec::new(),
            extended_objects: Vec::new(),
            mesh_objects: Vec::new(),
            node_local_dns: None,
            kube_proxy: false,
        }
    }
}

const MESH_KINDS: &[(&str, &str, &str)] = &[
    ("security.istio.io", "AuthorizationPolicy", "istio"),
    ("security.istio.io", "PeerAuthentication", "istio"),
    ("networking.istio.io", "Sidecar", "istio"),
    ("policy.linkerd.io", "Server", "linkerd"),
    ("policy.linkerd.io", "AuthorizationPolicy", "linkerd"),
    ("policy.linkerd.io", "ServerAuthorization", "linkerd"),
    ("policy.linkerd.io", "MeshTLSAuthentication", "linkerd"),
];

fn group(api_version: &str) -> &str {
    api_version.split('/').next().unwrap_or_default()
}

fn node_local_ip(spec: &PodSpec) -> Option<std::net::IpAddr> {
    let args = spec.containers.iter().flat_map(|c| c.args.iter().flatten());
    let mut take_next = false;
    for a in args {
        let value = if take_next {
            Some(a.as_str())
        } else {
            a.strip_prefix("-localip=").or_else(|| a.strip_prefix("--localip="))
        };
        take_next = a == "-localip" || a == "--localip";
        if let Some(v) = value
            && let Some(ip) = v.split(',').next().and_then(|s| s.trim().parse().ok())
        {
            return Some(ip);
        }
    }
    None
}

/// Gathers the facts of a snapshot.
pub fn gather(snap: &ClusterSnapshot) -> ClusterFacts {
    let extended_objects = snap
        .others
        .iter()
        .filter(|o| PolicyKind::of(&o.api_version, &o.kind).is_some_and(|k| !k.is_admin()))
        .cloned()
        .collect();
    let mut mesh_objects: Vec<MeshObject> = snap
        .others
        .iter()
        .filter_map(|o| {
            let (_, _, mesh) = MESH_KINDS
                .iter()
                .find(|(g, k, _)| *g == group(&o.api_version) && *k == o.kind)?;
            Some(MeshObject {
                mesh,
                kind: format!("{}/{}", o.api_version, o.kind),
                name: match &o.namespace {
                    Some(ns) => format!("{ns}/{}", o.name),
                    None => o.name.clone(),
                },
                namespace: o.namespace.clone(),
            })
        })
        .collect();
    mesh_objects.sort_by(|a, b| a.name.cmp(&b.name));
    let node_local_dns = snap
        .workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::DaemonSet)
        .find(|w| {
            w.metadata.name.as_deref() == Some("node-local-dns")
                || w.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("k8s-app"))
                    .is_some_and(|v| v == "node-local-dns")
        })
        .map(|w| NodeLocalDns {
            daemonset: format!(
                "{}/{}",
                w.metadata.namespace.as_deref().unwrap_or("default"),
                w.metadata.name.as_deref().unwrap_or_default()
            ),
            ip: w
                .template
                .spec
                .as_ref()
                .and_then(node_local_ip)
                .unwrap_or_else(|| NODE_LOCAL_DNS_IP.parse().expect("a valid IP literal")),
        });
    let kube_proxy = snap
        .workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::DaemonSet)
        .map(|w| &w.metadata)
        .chain(snap.pods.iter().map(|p| &p.metadata))
        .any(|m| {
            m.name
                .as_deref()
                .is_some_and(|n| n == "kube-proxy" || n.starts_with("kube-proxy-"))
        });
    ClusterFacts {
        kube_proxy,
        cni: cni::detect(snap),
        other_policies: other_policies(snap),
        extended_objects,
        mesh_objects,
        node_local_dns,
    }
}

/// A policy object of another kind (Cilium, Calico, ANP/BANP/CNP, MultiNetworkPolicy, Antrea), as
/// kept for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherPolicyObject {
    pub policy_kind: PolicyKind,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `apiVersion/kind`.
    pub kind: String,
    /// `ns/name`, or `name` for a cluster-scoped object.
    pub name: String,
}

/// The policy objects of other kinds in a snapshot, sorted by name then kind.
pub fn other_policies(snap: &ClusterSnapshot) -> Vec<OtherPolicyObject> {
    let mut out: Vec<OtherPolicyObject> = snap
        .others
        .iter()
        .filter_map(|o| {
            Some(OtherPolicyObject {
                policy_kind: PolicyKind::of(&o.api_version, &o.kind)?,
                namespace: o.namespace.clone(),
                kind: format!("{}/{}", o.api_version, o.kind),
                name: match &o.namespace {
                    Some(ns) => format!("{ns}/{}", o.name),
                    None => o.name.clone(),
                },
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    out
}
