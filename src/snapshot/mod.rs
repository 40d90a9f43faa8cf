//! A cluster's objects as plain k8s-openapi values, from files (and later a live API server).
//!
//! Invariant: nothing is dropped silently. Every object that could not be used is listed in
//! `warnings`, with the file, document and field where known.

pub mod error;
pub mod files;
mod split;
mod strict;
pub mod template;
mod value;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, PodTemplateSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

pub use files::{add_value, load_paths, load_paths_opts, load_paths_with, load_str};

/// Bounds on what a snapshot may hold, checked while it is read, so that a wrong path (a disk
/// image, a log directory) or a hostile file fails fast with an error naming the limit instead
/// of exhausting memory.
///
/// The defaults sit well above real inputs and below what a workstation holds:
/// - 512 MiB of input. The XL benchmark cluster (`bench --size XL`: 50,000 pods, 10,000
///   policies, 78,341 objects) is 31 MB of YAML and loads in about 490 MiB of memory; a real
///   `kubectl get -o yaml` export of a cluster that size is larger, about 4-5 KB per pod (without
///   managedFields), some 250 MB: the default leaves it twice that room, and XL sixteen times.
/// - 1,000,000 objects: 12 times XL, and above what Kubernetes is tested to hold (150,000 pods,
///   10,000 Services). Loading and indexing 1,000,000 tiny objects takes 1.3-2.9 GB of memory.
///
/// Raise them with `--max-snapshot-bytes` and `--max-objects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of input in total, over every file and stdin. A file's size is checked from its
    /// metadata before it is read; stdin is read up to the limit and no further.
    pub max_bytes: u64,
    /// Objects in total: every document, JSON array element and `List` item, skipped or not.
    pub max_objects: usize,
}

impl Limits {
    /// 512 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
    pub const DEFAULT_MAX_OBJECTS: usize = 1_000_000;
    /// No limit (for sources that are bounded already, such as the live API reader).
    pub const UNLIMITED: Limits = Limits {
        max_bytes: u64::MAX,
        max_objects: usize::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_objects: Self::DEFAULT_MAX_OBJECTS,
        }
    }
}

/// How a snapshot is read: the [`Limits`], and the namespace of objects that name none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    pub limits: Limits,
    /// The namespace a namespaced object without `metadata.namespace` is put in, as
    /// `kubectl apply -n NS` does (default `default`, as kubectl's). Manifests published for
    /// `kubectl apply -n` (argo-cd's `install.yaml`, most recipes) name none.
    pub default_namespace: String,
}

/// kubectl's namespace for objects that name none.
pub const DEFAULT_NAMESPACE: &str = "default";

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            limits: Limits::default(),
            default_namespace: DEFAULT_NAMESPACE.to_string(),
        }
    }
}

/// Objects that named no namespace and were put in one, as `kubectl apply -n` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceDefaulting {
    /// Where they were put.
    pub namespace: String,
    /// How many.
    pub objects: usize,
}

/// Kinds that live outside namespaces, by `(API group, kind)`: they never get a defaulted
/// namespace. Every other kind is taken as namespaced (kubectl asks discovery; a snapshot has no
/// discovery, and every cluster-scoped kind a policy analysis meets is here).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("networking.k8s.io", "IPAddress"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("policy.networking.k8s.io", "AdminNetworkPolicy"),
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"),
    ("policy.networking.k8s.io", "ClusterNetworkPolicy"),
    ("cilium.io", "CiliumClusterwideNetworkPolicy"),
    ("cilium.io", "CiliumNode"),
    ("cilium.io", "CiliumIdentity"),
    ("cilium.io", "CiliumCIDRGroup"),
    ("cilium.io", "CiliumLoadBalancerIPPool"),
    ("cilium.io", "CiliumEgressGatewayPolicy"),
    ("projectcalico.org", "GlobalNetworkPolicy"),
    ("projectcalico.org", "GlobalNetworkSet"),
    ("projectcalico.org", "HostEndpoint"),
    ("projectcalico.org", "Tier"),
    ("projectcalico.org", "IPPool"),
    ("projectcalico.org", "FelixConfiguration"),
    ("projectcalico.org", "BGPConfiguration"),
    ("projectcalico.org", "ClusterInformation"),
    ("crd.projectcalico.org", "GlobalNetworkPolicy"),
    ("crd.projectcalico.org", "GlobalNetworkSet"),
    ("crd.projectcalico.org", "HostEndpoint"),
    ("crd.projectcalico.org", "Tier"),
    ("crd.projectcalico.org", "IPPool"),
    ("crd.projectcalico.org", "FelixConfiguration"),
    ("crd.projectcalico.org", "BGPConfiguration"),
    ("crd.projectcalico.org", "ClusterInformation"),
    ("crd.antrea.io", "ClusterNetworkPolicy"),
    ("crd.antrea.io", "ClusterGroup"),
    ("crd.antrea.io", "Tier"),
    ("security.antrea.tanzu.vmware.com", "ClusterNetworkPolicy"),
    ("security.antrea.tanzu.vmware.com", "Tier"),
    ("core.antrea.tanzu.vmware.com", "ClusterGroup"),
];

/// Whether objects of this API group and kind live outside namespaces.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED.iter().any(|(g, k)| *g == group && *k == kind)
}

/// Workload kinds that stand for their pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ReplicationController,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ReplicationController => "ReplicationController",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "Deployment" => WorkloadKind::Deployment,
            "ReplicaSet" => WorkloadKind::ReplicaSet,
            "StatefulSet" => WorkloadKind::StatefulSet,
            "DaemonSet" => WorkloadKind::DaemonSet,
            "Job" => WorkloadKind::Job,
            "CronJob" => WorkloadKind::CronJob,
            "ReplicationController" => WorkloadKind::ReplicationController,
            _ => return None,
        })
    }

    /// kubectl kinds and short names: `deploy`, `sts`, `ds`, `rs`, `job`, `cronjob`, `rc`.
    pub fn from_cli(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "deploy" | "deployment" | "deployments" => WorkloadKind::Deployment,
            "rs" | "replicaset" | "replicasets" => WorkloadKind::ReplicaSet,
            "sts" | "statefulset" | "statefulsets" => WorkloadKind::StatefulSet,
            "ds" | "daemonset" | "daemonsets" => WorkloadKind::DaemonSet,
            "job" | "jobs" => WorkloadKind::Job,
            "cj" | "cronjob" | "cronjobs" => WorkloadKind::CronJob,
            "rc" | "replicationcontroller" | "replicationcontrollers" => WorkloadKind::ReplicationController,
            _ => return None,
        })
    }
}

/// A workload manifest reduced to what policy analysis needs.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub metadata: ObjectMeta,
    /// The pod template (for a CronJob: `spec.jobTemplate.spec.template`).
    pub template: PodTemplateSpec,
}

/// An object of a kind we do not model, kept for later steps (CRDs, meshes, ...).
#[derive(Debug, Clone)]
pub struct OtherObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: serde_json::Value,
    /// Where it was read (`file#document`, or the live source's list).
    pub location: String,
    /// The object named no namespace and was put in the default one (as `kubectl apply` does
    /// for a namespaced kind): for a kind whose scope we do not know, it may be cluster-scoped.
    pub namespace_defaulted: bool,
}

impl OtherObject {
    /// `Kind ns/name` or `Kind name` (cluster-scoped): how reports name the object.
    pub fn cited(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Something in the input that was skipped or defaulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// `file#document` or `file`, when the warning comes from input.
    pub location: Option<String>,
    /// `Kind ns/name` when known.
    pub object: Option<String>,
    pub message: String,
}

impl std::fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        if let Some(o) = &self.object {
            write!(f, "{o}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a NetworkPolicy (or some of its directions) counts as unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnreadableReason {
    /// It does not parse, its copies differ, or it holds a value the API server rejects.
    #[default]
    Unreadable,
    /// A field the API server does not know (`spec.podSelector.matchLabel`): strict field
    /// validation rejects the object, older clients drop the field. The policy still loads as
    /// read for the directions the field cannot touch.
    UnknownField { field: String },
}

/// A NetworkPolicy that did not parse as a whole, with the parts that did: they narrow which
/// pods and directions it may affect.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadablePolicy {
    pub namespace: String,
    pub name: String,
    pub reason: UnreadableReason,
    /// `spec.podSelector` (absent = `{}`); `None` when it could not be read either.
    pub pod_selector: Option<LabelSelector>,
    /// Whether the policy may isolate ingress / egress (true when policyTypes could not be read).
    pub may_isolate_ingress: bool,
    pub may_isolate_egress: bool,
}

impl UnreadablePolicy {
    /// `ns/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Widens this one to cover `other` too (another copy of the same policy): a selector only
    /// when both copies have it, every direction either copy may isolate.
    pub fn merge(&mut self, other: &UnreadablePolicy) {
        if self.pod_selector != other.pod_selector {
            self.pod_selector = None;
        }
        if self.reason != other.reason {
            self.reason = UnreadableReason::Unreadable;
        }
        self.may_isolate_ingress |= other.may_isolate_ingress;
        self.may_isolate_egress |= other.may_isolate_egress;
    }

    /// What can still be read of a policy object that does not parse.
    pub fn from_value(value: &serde_json::Value) -> UnreadablePolicy {
        // A name or namespace written as a number (`namespace: 123`) is what the author meant.
        let meta = |k: &str| match value.get("metadata").and_then(|m| m.get(k)) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Some(v.to_string()),
            _ => None,
        };
        let spec = value.get("spec");
        let field = |k: &str| spec.and_then(|s| s.get(k)).filter(|v| !v.is_null());
        let pod_selector = match field("podSelector") {
            None => Some(LabelSelector::default()),
            Some(v) => serde_json::from_value(v.clone()).ok(),
        };
        // As the API server defaults policyTypes (`SetDefaults_NetworkPolicy`): Egress only when
        // the egress list is not empty; anything but an empty list may be rules.
        let egress_rules = field("egress").is_some_and(|e| e.as_array().is_none_or(|a| !a.is_empty()));
        let (may_isolate_ingress, may_isolate_egress) = match field("policyTypes") {
            None => (true, egress_rules),
            Some(v) => match serde_json::from_value::<Vec<String>>(v.clone()) {
                // An unknown type (`Ingres`) may stand for either direction.
                Ok(types) if types.iter().any(|t| t != "Ingress" && t != "Egress") => (true, true),
                Ok(types) if !types.is_empty() => (
                    types.iter().any(|t| t == "Ingress"),
                    types.iter().any(|t| t == "Egress"),
                ),
                Ok(_) => (true, egress_rules),
                Err(_) => (true, true),
            },
        };
        UnreadablePolicy {
            namespace: meta("namespace")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_string()),
            name: meta("name").unwrap_or_else(|| "<unnamed>".to_string()),
            reason: UnreadableReason::Unreadable,
            pod_selector,
            may_isolate_ingress,
            may_isolate_egress,
        }
    }
}

/// Everything read from a source.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    pub namespaces: Vec<Namespace>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub nodes: Vec<Node>,
    pub network_policies: Vec<NetworkPolicy>,
    pub workloads: Vec<Workload>,
    pub others: Vec<OtherObject>,
    /// NetworkPolicies that exist but could not be read: a verdict they may change is
    /// inconclusive.
    pub unreadable_policies: Vec<UnreadablePolicy>,
    /// Namespaces whose Namespace object exists but could not be read: their labels are
    /// unknown, so a namespaceSelector decision about them is not certain.
    pub unreadable_namespaces: Vec<String>,
    pub warnings: Vec<LoadWarning>,
    /// Where each NetworkPolicy was read (`ns/name` -> `file#document`), for warnings about
    /// its fields.
    pub policy_locations: std::collections::HashMap<String, String>,
    /// Objects that named no namespace and were put in the default one (files only).
    pub defaulted: Option<NamespaceDefaulting>,
    /// The namespaces whose Services (and their Endpoints) were read, when a read was scoped (a
    /// live read of a question's namespaces); `None`: every namespace's (a file snapshot).
    pub services_read_in: Option<std::collections::BTreeSet<String>>,
    /// When a live source read the objects (a live read, or the header of the snapshot it
    /// exported): ages are then "ago" from it.
    pub read_at: Option<k8s_openapi::jiff::Timestamp>,
    /// Each NetworkPolicy as read (`ns/name` -> the object, the first copy, readable or not):
    /// the typed value drops fields the API does not know, which a reader must still see.
    pub network_policy_values: std::collections::HashMap<String, serde_json::Value>,
}

impl ClusterSnapshot {
    /// Number of objects of the kinds we model.
    pub fn object_count(&self) -> usize {
        self.namespaces.len()
            + self.pods.len()
            + self.services.len()
            + self.endpoints.len()
            + self.endpoint_slices.len()
            + self.nodes.len()
            + self.network_policies.len()
            + self.workloads.len()
            + self.others.len()
    }
}

/// Cleans an object as the snapshot export writes it (and the MCP resources show it): drops
/// what no check reads and what must not be written out: managed fields, the last-applied
/// annotation (a copy of the object), and the values of environment variables (they may hold
/// credentials).
pub fn clean(o: &mut serde_json::Value) {
    if let Some(m) = o.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
        m.remove("managedFields");
        if let Some(serde_json::Value::Object(a)) = m.get_mut("annotations") {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    for pointer in ["/spec", "/spec/template/spec"] {
        let Some(spec) = o.pointer_mut(pointer) else { continue };
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for c in spec
                .get_mut(list)
                .and_then(serde_json::Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                for e in c
                    .get_mut("env")
                    .and_then(serde_json::Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(v) = e.get_mut("value") {
                        *v = serde_json::Value::String("(redacted)".into());
                    }
                }
            }
        }
    }
}
