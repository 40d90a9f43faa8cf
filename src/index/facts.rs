//! Facts about the cluster around the policies, gathered once from a snapshot: the CNI, the
//! policy objects of other kinds, service-mesh objects, NodeLocal DNSCache.
//!
//! Invariant: pure; a fact the snapshot does not show is absent, never assumed.

use k8s_openapi::api::core::v1::PodSpec;

use crate::index::cni;
use crate::policy::{PolicyKind, kind};
use std::collections::BTreeMap;

use crate::snapshot::{ClusterSnapshot, LoadWarning, OtherObject, WorkloadKind};

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
    /// Policy objects of other kinds (Cilium, Calico, ANP/BANP, MultiNetworkPolicy, Antrea, and
    /// kinds of those groups we do not evaluate), for listing.
    pub other_policies: Vec<OtherPolicyObject>,
    /// The raw CNI-specific policy objects (not ANP/BANP), and objects of policy kinds we do not
    /// evaluate, to decide which select a pod.
    pub extended_objects: Vec<OtherObject>,
    pub mesh_objects: Vec<MeshObject>,
    pub node_local_dns: Option<NodeLocalDns>,
    /// kube-proxy runs (a DaemonSet or pods named kube-proxy): NodePort traffic under
    /// externalTrafficPolicy Cluster is SNATed to a node IP.
    pub kube_proxy: bool,
    /// Objects of kinds we do not model and that may create pods (`group/kind`, namespace), in
    /// snapshot order.
    pub unmodelled: Vec<(String, Option<String>)>,
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
            unmodelled: Vec::new(),
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
        .filter(|o| {
            PolicyKind::of(&o.api_version, &o.kind).is_some_and(|k| !k.is_admin())
                || kind::unevaluated_policy(&o.api_version, &o.kind)
        })
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
        unmodelled: unmodelled_objects(snap),
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
    /// `None`: a kind (or version) of a policy group that nothing here evaluates or reads.
    pub policy_kind: Option<PolicyKind>,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `apiVersion/kind`.
    pub kind: String,
    /// `ns/name`, or `name` for a cluster-scoped object.
    pub name: String,
    /// Where it was read (`file#document`).
    pub location: String,
}

/// The policy objects of other kinds in a snapshot, sorted by name then kind.
pub fn other_policies(snap: &ClusterSnapshot) -> Vec<OtherPolicyObject> {
    let mut out: Vec<OtherPolicyObject> = snap
        .others
        .iter()
        .filter_map(|o| {
            let policy_kind = if kind::unevaluated_policy(&o.api_version, &o.kind) {
                None
            } else {
                Some(PolicyKind::of(&o.api_version, &o.kind)?)
            };
            Some(OtherPolicyObject {
                policy_kind,
                namespace: o.namespace.clone(),
                kind: format!("{}/{}", o.api_version, o.kind),
                name: match &o.namespace {
                    Some(ns) => format!("{ns}/{}", o.name),
                    None => o.name.clone(),
                },
                location: o.location.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    out
}

/// One warning per policy kind (or version) that nothing here evaluates, naming its objects:
/// they may select any pod, so a verdict they could change is inconclusive.
pub fn unevaluated_policy_warnings(others: &[OtherPolicyObject]) -> Vec<LoadWarning> {
    let mut by_kind: BTreeMap<&str, Vec<&OtherPolicyObject>> = BTreeMap::new();
    for o in others.iter().filter(|o| o.policy_kind.is_none()) {
        by_kind.entry(o.kind.as_str()).or_default().push(o);
    }
    by_kind
        .into_iter()
        .map(|(kind, objects)| {
            let names: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
            let shown: Vec<&str> = names.iter().take(5).copied().collect();
            let more = names.len().saturating_sub(shown.len());
            LoadWarning {
                // One object's place (the least, for a stable answer); the message names up to five.
                location: objects.iter().map(|o| o.location.clone()).min(),
                object: Some(kind.to_string()),
                message: format!(
                    "{} object(s) of a policy kind or version netpol-debug does not evaluate ({}{}): each may select any pod of its namespace (without a namespace: any pod), so a verdict it could change is inconclusive (EXTENDED_POLICY_PRESENT)",
                    names.len(),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
            }
        })
        .collect()
}

/// Namespaced kinds outside the policy groups that create no pods and cannot change
/// connectivity: not worth a word. Cluster-scoped kinds (`snapshot::is_cluster_scoped`) create
/// none either. Every other kind we do not model may be an operator's resource whose pods are
/// missing from the snapshot (`monitoring.coreos.com` Prometheus), and is counted.
const NO_PODS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("", "LimitRange"),
    ("", "ResourceQuota"),
    ("", "Event"),
    ("", "PodTemplate"),
    ("events.k8s.io", "Event"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("coordination.k8s.io", "Lease"),
    ("apps", "ControllerRevision"),
];

/// Mesh groups whose objects the mesh check reads or that configure the mesh: not counted.
const MESH_GROUPS: &[&str] = &[
    "security.istio.io",
    "networking.istio.io",
    "telemetry.istio.io",
    "policy.linkerd.io",
    "linkerd.io",
];

/// Whether an object we keep as `OtherObject` is of a kind worth counting: not a policy group's
/// (those are listed as policies or known not to be), not a mesh object, not a kind that creates
/// no pods.
fn unmodelled(o: &OtherObject) -> bool {
    let g = kind::api_group(&o.api_version);
    !kind::in_policy_group(&o.api_version)
        && !MESH_GROUPS.contains(&g)
        && !NO_PODS.contains(&(g, o.kind.as_str()))
        && !crate::snapshot::is_cluster_scoped(g, &o.kind)
}

/// The objects of kinds worth counting, as `(group/kind, namespace)`.
fn unmodelled_objects(snap: &ClusterSnapshot) -> Vec<(String, Option<String>)> {
    snap.others
        .iter()
        .filter(|o| unmodelled(o))
        .map(|o| {
            let g = kind::api_group(&o.api_version);
            let key = if g.is_empty() {
                o.kind.clone()
            } else {
                format!("{g}/{}", o.kind)
            };
            (key, o.namespace.clone())
        })
        .collect()
}

/// `2 monitoring.coreos.com/Prometheus, 1 monitoring.coreos.com/Alertmanager`: the kinds of
/// `objects` with their counts, most first; `None` when there is none.
pub fn count_kinds<'a>(objects: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for k in objects {
        *counts.entry(k).or_default() += 1;
    }
    let mut list: Vec<(&str, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let words: Vec<String> = list.iter().map(|(k, n)| format!("{n} {k}")).collect();
    (!words.is_empty()).then(|| words.join(", "))
}

/// One warning counting the objects of kinds we do not model, by `group/kind` (most first):
/// the pods such an operator's resource creates are not in the snapshot, which is why a
/// Service may select no pod.
pub fn unmodelled_kinds_warning(facts: &ClusterFacts) -> Option<LoadWarning> {
    let words = count_kinds(facts.unmodelled.iter().map(|(k, _)| k.as_str()))?;
    Some(LoadWarning {
        location: None,
        object: None,
        message: format!("objects of kinds we do not model (pods they create are not in the snapshot): {words}"),
    })
}
