//! Lookups built once per snapshot: namespaces with their labels, pods (real ones and those a
//! workload stands for), policies lowered once and indexed by namespace, nodes and services.
//!
//! Invariant: built once, read many times; nothing here is recomputed per query. Queries touch
//! only the policies of the namespaces involved.

mod admin;
mod cilium;
pub mod cni;
pub use cilium::CiliumSelected;
pub mod facts;
pub mod times;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodStatus, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::policy::{Direction, Labels, Policy, Protocol, Selector};
use crate::snapshot::{ClusterSnapshot, LoadWarning, UnreadableReason};

/// The label every namespace carries, declared or not.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The labels of what has none (an address, a namespace missing from the index).
pub static NO_LABELS: Labels = Labels::new();

/// Options that change semantics where the Kubernetes API leaves them open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    /// Whether an ipBlock matches a pod's IP. Implementation-defined upstream; the Kubernetes
    /// e2e conformance tests expect it to (a pod IP inside the CIDR matches), so that is the default.
    pub ipblock_matches_pods: bool,
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics {
            ipblock_matches_pods: true,
        }
    }
}

pub type PodId = usize;
pub type PolicyId = usize;

#[derive(Debug, Clone)]
pub struct NamespaceInfo {
    pub name: String,
    pub labels: Labels,
    /// A Namespace object was in the snapshot (false: inferred from objects that use it).
    pub declared: bool,
}

/// A container port a named port can resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPortInfo {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

impl std::fmt::Display for ContainerPortInfo {
    /// `http=TCP 8080`, or `TCP 8080` for an unnamed port.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(n) = &self.name {
            write!(f, "{n}=")?;
        }
        write!(f, "{} {}", self.protocol, self.port)
    }
}

/// The workload a pod belongs to (its top owner known from the snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub labels: Labels,
    pub ips: Vec<IpAddr>,
    pub host_network: bool,
    pub node: Option<String>,
    pub phase: Option<String>,
    pub ports: Vec<ContainerPortInfo>,
    pub owner: Option<Owner>,
    /// Stands for a workload that had no pods in the snapshot (built from its template).
    pub from_template: bool,
    /// Names of the containers and init containers (mesh sidecars show here).
    pub containers: Vec<String>,
    pub service_account: Option<String>,
    /// The annotations that matter to a diagnosis (Multus networks, mesh injection), sorted.
    pub annotations: Vec<(String, String)>,
    /// The secondary (Multus) interfaces from `k8s.v1.cni.cncf.io/network-status`, parsed once.
    pub secondary_networks: Vec<SecondaryNetwork>,
}

/// A secondary interface of a pod: a non-default entry of `k8s.v1.cni.cncf.io/network-status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryNetwork {
    /// The network (NetworkAttachmentDefinition) name, e.g. `default/sriov-a`.
    pub network: String,
    /// The interface in the pod, e.g. `net1`.
    pub interface: String,
    /// The addresses as written in the annotation.
    pub ips: Vec<String>,
}

/// The annotation Multus writes with every interface of a pod.
pub const NETWORK_STATUS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/network-status";

/// The secondary networks in a pod's kept annotations (none when the status is absent or not a
/// JSON list).
fn secondary_networks(annotations: &[(String, String)]) -> Vec<SecondaryNetwork> {
    let Some((_, status)) = annotations.iter().find(|(k, _)| k == NETWORK_STATUS_ANNOTATION) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_str::<serde_json::Value>(status) else {
        return Vec::new();
    };
    let text = |e: &serde_json::Value, k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    entries
        .iter()
        .filter(|e| !e.get("default").and_then(|v| v.as_bool()).unwrap_or(false))
        .map(|e| SecondaryNetwork {
            network: text(e, "name"),
            interface: text(e, "interface"),
            ips: e
                .get("ips")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
        .collect()
}

/// Annotation prefixes kept on pods: Multus, Istio and Linkerd.
const KEPT_ANNOTATIONS: &[&str] = &[
    "k8s.v1.cni.cncf.io/",
    "sidecar.istio.io/",
    "istio.io/",
    "ambient.istio.io/",
    "linkerd.io/",
    "config.linkerd.io/",
];

fn kept_annotations(
    meta: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
) -> Vec<(String, String)> {
    meta.and_then(|m| m.annotations.as_ref())
        .into_iter()
        .flatten()
        .filter(|(k, _)| KEPT_ANNOTATIONS.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn container_names(spec: &PodSpec) -> Vec<String> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| c.name.clone())
        .collect()
}

impl PodInfo {
    /// The pod as the CNI-specific selectors read it, with its namespace's labels.
    pub fn pod_ref<'a>(
        &'a self,
        namespace_labels: &'a std::collections::BTreeMap<String, String>,
    ) -> crate::policy::extended::PodRef<'a> {
        crate::policy::extended::PodRef {
            namespace: &self.namespace,
            labels: &self.labels,
            namespace_labels,
            service_account: self.service_account.as_deref(),
        }
    }

    /// `ns/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `ns/owner[Kind]` for a pod with an owner, `ns/name[Pod]` otherwise.
    pub fn workload_name(&self) -> String {
        match &self.owner {
            Some(o) => format!("{}/{}[{}]", self.namespace, o.name, o.kind),
            None => format!("{}/{}[Pod]", self.namespace, self.name),
        }
    }

    /// The Deployment a pod most likely belongs to: its owner is a ReplicaSet named
    /// `<deployment>-<pod-template-hash>` and the pod carries that `pod-template-hash` label
    /// (the ReplicaSet object itself is often not in a snapshot).
    pub fn inferred_deployment(&self) -> Option<&str> {
        let o = self.owner.as_ref().filter(|o| o.kind == "ReplicaSet")?;
        let hash = self.labels.get("pod-template-hash")?;
        o.name
            .strip_suffix(hash.as_str())?
            .strip_suffix('-')
            .filter(|d| !d.is_empty())
    }

    /// `ns/name[Deployment]` where the Deployment can be inferred, else [`Self::workload_name`]:
    /// the clearer name for people. The map keeps `workload_name` (the connlist convention).
    pub fn top_workload_name(&self) -> String {
        match self.inferred_deployment() {
            Some(d) => format!("{}/{d}[Deployment]", self.namespace),
            None => self.workload_name(),
        }
    }

    /// The container ports, `http=TCP 8080, TCP 9090`, or `none`.
    pub fn declared_ports(&self) -> String {
        if self.ports.is_empty() {
            return "none".into();
        }
        self.ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
    }

    /// The port number a named port resolves to on this pod, for a protocol.
    pub fn resolve_named_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
            .map(|p| p.port)
    }
}

#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub ips: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
pub struct ServicePortInfo {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    /// Numeric target port, or a named one resolved per pod.
    pub target: TargetPort,
    /// The node port of a NodePort/LoadBalancer Service.
    pub node_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub namespace: String,
    pub name: String,
    /// `None`: no selector (endpoints are managed by hand).
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePortInfo>,
    pub cluster_ips: Vec<IpAddr>,
    /// The Service's other virtual addresses: `spec.externalIPs` and the IPs of
    /// `status.loadBalancer.ingress` (kube-proxy DNATs in-cluster traffic to them as well).
    pub external_ips: Vec<IpAddr>,
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    pub type_: String,
    /// `Cluster` (the default: traffic from outside is SNATed to a node IP) or `Local`.
    pub external_traffic_policy: Option<String>,
    /// Addresses from the Service's Endpoints / EndpointSlices (what a selector-less Service
    /// such as `default/kubernetes` points to): IP and ports.
    pub endpoints: Vec<EndpointAddress>,
    /// Whether the snapshot has an Endpoints object or an EndpointSlice for it (an empty
    /// `endpoints` then means no address, not an unread object).
    pub endpoints_read: bool,
    /// The Service's own labels (what Cilium's `k8sServiceSelector` reads).
    pub labels: Labels,
}

/// One address behind a Service, with the ports it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAddress {
    pub ip: IpAddr,
    /// `(port name, port, protocol)`.
    pub ports: Vec<(Option<String>, u16, Protocol)>,
}

impl ServiceInfo {
    /// Whether the Service's selector selects the pod (a Service without selector selects none).
    pub fn selects(&self, pod: &PodInfo) -> bool {
        pod.namespace == self.namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|sel| sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v)))
    }
}

/// What is known of a NetworkPolicy that could not be read.
#[derive(Debug, Clone)]
pub struct UnreadableInfo {
    /// `ns/name`.
    pub key: String,
    /// Its podSelector, when that part could be read (and is valid).
    pub target: Option<Selector>,
    pub may_isolate_ingress: bool,
    pub may_isolate_egress: bool,
    /// The field the API server does not know, when that is why (`POLICY_FIELD_UNKNOWN`).
    pub unknown_field: Option<String>,
}

impl UnreadableInfo {
    pub fn may_isolate(&self, dir: Direction) -> bool {
        match dir {
            Direction::Ingress => self.may_isolate_ingress,
            Direction::Egress => self.may_isolate_egress,
        }
    }

    /// Why it may change the `dir` of `pod`, in words.
    fn why(&self, pod: &str, dir: Direction) -> String {
        let selects = match &self.target {
            Some(t) => format!("its podSelector {t} selects this pod"),
            None => "its podSelector could not be read either".to_string(),
        };
        let d = dir.as_str();
        match &self.unknown_field {
            None => format!(
                "NetworkPolicy {} could not be read; {selects}, so it may change the {d} of {pod}",
                self.key
            ),
            Some(field) => format!(
                "NetworkPolicy {} has a field the API server does not know, {field} (strict field validation rejects the object; older clients drop the field), so the object in the cluster is not the one in the file; {}, so it may change the {d} of {pod}",
                self.key,
                if self.target.is_some() {
                    selects
                } else {
                    "it may select any pod".to_string()
                }
            ),
        }
    }
}

/// A policy that may change a side's answer, as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MaySelect {
    /// `ns/name`.
    pub policy: String,
    pub reason: String,
    /// Because of a field the API server does not know.
    pub unknown_field: bool,
}

/// Everything a query needs, built once.
#[derive(Debug, Clone)]
pub struct ClusterIndex {
    pub semantics: Semantics,
    pub namespaces: Vec<NamespaceInfo>,
    ns_by_name: HashMap<String, usize>,
    pub pods: Vec<PodInfo>,
    pod_by_key: HashMap<(String, String), PodId>,
    pods_by_ip: HashMap<IpAddr, Vec<PodId>>,
    pods_by_ns: HashMap<String, Vec<PodId>>,
    pub policies: Vec<Policy>,
    policies_by_ns: HashMap<String, Vec<PolicyId>>,
    pub nodes: Vec<NodeInfo>,
    pub services: Vec<ServiceInfo>,
    /// NetworkPolicies present but unreadable, by namespace.
    pub unreadable_policies: BTreeMap<String, Vec<UnreadableInfo>>,
    /// Namespaces whose Namespace object could not be read: labels unknown.
    pub namespaces_labels_unknown: std::collections::BTreeSet<String>,
    pub warnings: Vec<LoadWarning>,
    /// The CNI, policy objects of other kinds, mesh objects, NodeLocal DNSCache.
    pub facts: crate::index::facts::ClusterFacts,
    /// Pods by the IPs of their secondary (Multus) interfaces.
    pub secondary_ips: HashMap<IpAddr, Vec<PodId>>,
    /// AdminNetworkPolicies and the BaselineAdminNetworkPolicy, lowered.
    pub admin: crate::policy::admin::AdminPolicies,
    /// Calico policies and tiers, in evaluation order (`engine::calico` walks them).
    pub calico: crate::policy::extended::CalicoPolicies,
    /// CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies, lowered (evaluated in the engine).
    pub cilium: Vec<crate::policy::extended::CiliumPolicy>,
    /// Objects of the files that named no namespace, and the one they were put in.
    pub defaulted: Option<crate::snapshot::NamespaceDefaulting>,
    /// Policies' creation times and generations, and the snapshot's newest object.
    pub times: times::ObjectTimes,
}

impl ClusterIndex {
    /// Indexes a snapshot: namespaces, pods, workloads standing for pods, policies, nodes,
    /// services, then the cluster-wide facts.
    pub fn build(snap: &ClusterSnapshot, semantics: Semantics) -> ClusterIndex {
        let mut b = Builder::default();
        b.warnings.extend(snap.warnings.iter().cloned());
        b.add_namespaces(snap);
        let owners = Owners::of(snap);
        b.add_pods(snap, &owners);
        b.add_workload_pods(snap, &owners);
        b.add_policies(snap);
        b.add_unreadable_policies(snap);
        b.add_nodes(snap);
        b.add_services(snap);
        b.grouped_warnings();

        let mut ix = b.finish(semantics);
        ix.namespaces_labels_unknown = snap.unreadable_namespaces.iter().cloned().collect();
        ix.defaulted = snap.defaulted.clone();
        ix.times = times::ObjectTimes::build(snap);
        ix.admin = crate::policy::admin::AdminPolicies::build(snap, &mut ix.warnings);
        ix.calico = crate::policy::extended::CalicoPolicies::build(&snap.others);
        if !ix.calico.staged.is_empty() {
            ix.warnings.push(LoadWarning {
                location: None,
                object: None,
                message: format!(
                    "Calico staged policies are not enforced and never change a verdict: {}",
                    ix.calico.staged.join(", ")
                ),
            });
        }
        ix.facts = crate::index::facts::gather(snap);
        ix.cilium = ix
            .facts
            .extended_objects
            .iter()
            .filter_map(crate::policy::extended::lower_cilium)
            .collect();
        let since_1_17 = crate::index::cni::cilium_since_1_17(&ix.facts.cni);
        let services_read = cilium::ServicesRead {
            any: !snap.services.is_empty(),
            only_in: snap.services_read_in.as_ref(),
        };
        cilium::resolve_services(&mut ix.cilium, &ix.services, &services_read, since_1_17);
        ix.warnings.extend(cilium::undecided_warning(&ix.cilium));
        let policy_warnings = crate::index::facts::unevaluated_policy_warnings(&ix.facts.other_policies);
        ix.warnings.extend(policy_warnings);
        ix.warnings
            .extend(crate::index::facts::unmodelled_kinds_warning(&ix.facts));
        ix.index_secondary_ips();
        ix
    }

    /// Pods by the IPs of their secondary (Multus) interfaces.
    fn index_secondary_ips(&mut self) {
        for (id, p) in self.pods.iter().enumerate() {
            for net in &p.secondary_networks {
                for ip in net.ips.iter().filter_map(|i| i.parse::<IpAddr>().ok()) {
                    self.secondary_ips.entry(ip).or_default().push(id);
                }
            }
        }
    }

    pub fn namespace(&self, name: &str) -> Option<&NamespaceInfo> {
        self.ns_by_name.get(name).map(|&i| &self.namespaces[i])
    }

    pub fn pod(&self, id: PodId) -> &PodInfo {
        &self.pods[id]
    }

    pub fn pod_by_name(&self, ns: &str, name: &str) -> Option<PodId> {
        self.pod_by_key.get(&(ns.to_string(), name.to_string())).copied()
    }

    pub fn pods_by_ip(&self, ip: IpAddr) -> &[PodId] {
        self.pods_by_ip.get(&ip).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn pods_in(&self, ns: &str) -> &[PodId] {
        self.pods_by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The labels of a pod's namespace (every pod's namespace is in the index, declared or inferred).
    pub fn pod_namespace_labels(&self, pod: PodId) -> &Labels {
        self.namespace(&self.pods[pod].namespace)
            .map_or(&NO_LABELS, |n| &n.labels)
    }

    /// Labels of a namespace; an unknown namespace has just its name label.
    pub fn namespace_labels(&self, ns: &str) -> Labels {
        match self.namespace(ns) {
            Some(n) => n.labels.clone(),
            None => [(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())].into(),
        }
    }

    /// The policies of a namespace, in snapshot order.
    pub fn policies_in(&self, ns: &str) -> &[PolicyId] {
        self.policies_by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether a NetworkPolicy selects a pod: its podSelector matches the pod's labels and the
    /// pod is not on the host network (the caller keeps to the policy's namespace).
    pub fn policy_selects(&self, policy: PolicyId, pod: PodId) -> bool {
        let p = &self.pods[pod];
        !p.host_network && self.policies[policy].target.matches(&p.labels)
    }

    /// Policies that select `pod` and isolate it in `dir`, sorted by name.
    /// hostNetwork pods are never selected.
    pub fn isolating_policies(&self, pod: PodId, dir: Direction) -> Vec<PolicyId> {
        let p = &self.pods[pod];
        if p.host_network {
            return Vec::new();
        }
        let mut ids: Vec<PolicyId> = self
            .policies_in(&p.namespace)
            .iter()
            .copied()
            .filter(|&id| self.policies[id].isolates(dir) && self.policy_selects(id, pod))
            .collect();
        ids.sort_by(|a, b| self.policies[*a].name.cmp(&self.policies[*b].name));
        ids
    }

    /// Policies of the pod's namespace that may select it for `dir` but could not be read
    /// (wholly, or their podSelector, or a field the API server does not know), sorted. What did
    /// parse of them (their podSelector, their policyTypes) rules out the ones that cannot matter.
    pub fn possibly_selecting_unreadable(&self, pod: PodId, dir: Direction) -> Vec<MaySelect> {
        let p = &self.pods[pod];
        if p.host_network {
            return Vec::new();
        }
        let mut out: Vec<MaySelect> = self
            .policies_in(&p.namespace)
            .iter()
            .map(|&id| &self.policies[id])
            .filter(|pol| pol.target_uncertain() && pol.isolates(dir))
            .map(|pol| MaySelect {
                policy: pol.key(),
                reason: format!(
                    "NetworkPolicy {} has an invalid podSelector; it may select {}",
                    pol.key(),
                    p.key()
                ),
                unknown_field: false,
            })
            .collect();
        for u in self.unreadable_policies.get(&p.namespace).into_iter().flatten() {
            let may_select = u.target.as_ref().is_none_or(|t| t.matches(&p.labels));
            if u.may_isolate(dir) && may_select {
                out.push(MaySelect {
                    policy: u.key.clone(),
                    reason: u.why(&p.key(), dir),
                    unknown_field: u.unknown_field.is_some(),
                });
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Pods with a secondary (Multus) interface on this IP.
    pub fn pods_by_secondary_ip(&self, ip: IpAddr) -> Vec<PodId> {
        self.secondary_ips.get(&ip).cloned().unwrap_or_default()
    }

    /// The node an IP belongs to.
    pub fn node_by_ip(&self, ip: IpAddr) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.ips.contains(&ip))
    }

    pub fn service(&self, ns: &str, name: &str) -> Option<&ServiceInfo> {
        self.services.iter().find(|s| s.namespace == ns && s.name == name)
    }
}

#[derive(Default)]
struct Builder {
    namespaces: Vec<NamespaceInfo>,
    ns_by_name: HashMap<String, usize>,
    pods: Vec<PodInfo>,
    pod_by_key: HashMap<(String, String), PodId>,
    policies: Vec<Policy>,
    policies_by_ns: HashMap<String, Vec<PolicyId>>,
    nodes: Vec<NodeInfo>,
    services: Vec<ServiceInfo>,
    unreadable_policies: BTreeMap<String, Vec<UnreadableInfo>>,
    warnings: Vec<LoadWarning>,
}

impl Builder {
    fn ensure_namespace(&mut self, ns: &str) {
        if self.ns_by_name.contains_key(ns) {
            return;
        }
        // One warning for all of them, in `grouped_warnings`.
        self.ns_by_name.insert(ns.to_string(), self.namespaces.len());
        self.namespaces.push(NamespaceInfo {
            name: ns.to_string(),
            labels: [(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())].into(),
            declared: false,
        });
    }

    /// The facts that hold for many objects of a snapshot made of manifests, one line each with
    /// a count and the first names: namespaces used but not declared, pods without an IP.
    fn grouped_warnings(&mut self) {
        let undeclared: Vec<&str> = self
            .namespaces
            .iter()
            .filter(|n| !n.declared)
            .map(|n| n.name.as_str())
            .collect();
        if let Some(names) = first_names(&undeclared) {
            let n = undeclared.len();
            let (count, are) = (counted(n, "namespace", "namespaces"), if n == 1 { "is" } else { "are" });
            self.warnings.push(LoadWarning {
                location: None,
                object: None,
                message: format!(
                    "{count} used by objects {are} not in the snapshot ({names}): each is assumed to exist with only the label {NAMESPACE_NAME_LABEL}=<its name>"
                ),
            });
        }
        let no_ip: Vec<String> = self
            .pods
            .iter()
            .filter(|p| p.ips.is_empty() && !p.from_template && !p.host_network)
            .map(|p| p.key())
            .collect();
        let refs: Vec<&str> = no_ip.iter().map(String::as_str).collect();
        if let Some(names) = first_names(&refs) {
            let count = counted(no_ip.len(), "pod has", "pods have");
            self.warnings.push(LoadWarning {
                location: None,
                object: None,
                message: format!(
                    "{count} no IP yet (no status.podIP, as in manifests: {names}): verdicts for them are what policy does once they run, and no ipBlock can match them"
                ),
            });
        }
    }

    fn add_pod(&mut self, pod: PodInfo) {
        self.ensure_namespace(&pod.namespace);
        self.pod_by_key
            .insert((pod.namespace.clone(), pod.name.clone()), self.pods.len());
        self.pods.push(pod);
    }

    fn finish(self, semantics: Semantics) -> ClusterIndex {
        let mut pods_by_ip: HashMap<IpAddr, Vec<PodId>> = HashMap::new();
        let mut pods_by_ns: HashMap<String, Vec<PodId>> = HashMap::new();
        for (id, p) in self.pods.iter().enumerate() {
            for ip in &p.ips {
                pods_by_ip.entry(*ip).or_default().push(id);
            }
            pods_by_ns.entry(p.namespace.clone()).or_default().push(id);
        }
        ClusterIndex {
            semantics,
            namespaces: self.namespaces,
            ns_by_name: self.ns_by_name,
            pods: self.pods,
            pod_by_key: self.pod_by_key,
            pods_by_ip,
            pods_by_ns,
            policies: self.policies,
            policies_by_ns: self.policies_by_ns,
            nodes: self.nodes,
            services: self.services,
            unreadable_policies: self.unreadable_policies,
            namespaces_labels_unknown: std::collections::BTreeSet::new(),
            warnings: self.warnings,
            facts: crate::index::facts::ClusterFacts::default(),
            secondary_ips: HashMap::new(),
            admin: crate::policy::admin::AdminPolicies::default(),
            calico: crate::policy::extended::CalicoPolicies::default(),
            cilium: Vec::new(),
            defaulted: None,
            times: times::ObjectTimes::default(),
        }
    }
}

/// The controllers known from workload objects, to walk a pod's owner chain upward.
struct Owners(HashMap<(String, String, String), Option<Owner>>);

impl Owners {
    /// Each workload's controller, by (namespace, kind, name).
    fn of(snap: &ClusterSnapshot) -> Owners {
        let mut owners = HashMap::new();
        for w in &snap.workloads {
            let ns = namespace_of(&w.metadata);
            let name = w.metadata.name.clone().unwrap_or_default();
            owners.insert(
                (ns, w.kind.as_str().to_string(), name),
                controller_owner(w.metadata.owner_references.as_deref()),
            );
        }
        Owners(owners)
    }

    /// Whether `owner` in `ns` is a workload of the snapshot.
    fn contains(&self, ns: &str, owner: &Owner) -> bool {
        self.0
            .contains_key(&(ns.to_string(), owner.kind.clone(), owner.name.clone()))
    }

    /// The top of the owner chain from `first` (at most 8 steps up).
    fn top(&self, ns: &str, first: Option<Owner>) -> Option<Owner> {
        let mut cur = first?;
        for _ in 0..8 {
            match self.0.get(&(ns.to_string(), cur.kind.clone(), cur.name.clone())) {
                Some(Some(up)) => cur = up.clone(),
                _ => break,
            }
        }
        Some(cur)
    }
}

/// A pod from its spec and metadata (a pod's, or a workload template's), without IPs, node or
/// phase.
fn pod_info(
    namespace: String,
    name: String,
    spec: &PodSpec,
    meta: Option<&ObjectMeta>,
    owner: Option<Owner>,
    from_template: bool,
) -> PodInfo {
    let annotations = kept_annotations(meta);
    PodInfo {
        namespace,
        name,
        labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
        ips: Vec::new(),
        host_network: spec.host_network.unwrap_or(false),
        node: None,
        phase: None,
        ports: container_ports(&spec.containers),
        owner,
        from_template,
        containers: container_names(spec),
        service_account: spec.service_account_name.clone(),
        secondary_networks: secondary_networks(&annotations),
        annotations,
    }
}

/// A Service port as indexed; None when its protocol or numbers are out of range.
fn service_port(p: &k8s_openapi::api::core::v1::ServicePort) -> Option<ServicePortInfo> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let protocol = Protocol::parse(p.protocol.as_deref().unwrap_or("TCP"))?;
    let port = u16::try_from(p.port).ok()?;
    let target = match &p.target_port {
        None => TargetPort::Number(port),
        Some(IntOrString::Int(n)) => TargetPort::Number(u16::try_from(*n).ok()?),
        Some(IntOrString::String(s)) => match s.parse::<u16>() {
            Ok(n) => TargetPort::Number(n),
            Err(_) => TargetPort::Named(s.clone()),
        },
    };
    Some(ServicePortInfo {
        name: p.name.clone(),
        port,
        protocol,
        target,
        node_port: p.node_port.and_then(|n| u16::try_from(n).ok()).filter(|&n| n > 0),
    })
}

/// A Service's external IPs and load-balancer ingress IPs, sorted and deduplicated.
fn service_external_ips(svc: &k8s_openapi::api::core::v1::Service, spec: &ServiceSpec) -> Vec<IpAddr> {
    let mut external_ips: Vec<IpAddr> = spec
        .external_ips
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(
            svc.status
                .iter()
                .flat_map(|st| st.load_balancer.iter())
                .flat_map(|lb| lb.ingress.iter().flatten())
                .filter_map(|i| i.ip.as_deref()),
        )
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    external_ips.sort();
    external_ips.dedup();
    external_ips
}

impl Builder {
    /// The declared namespaces, with their name label; a second declaration is a warning.
    fn add_namespaces(&mut self, snap: &ClusterSnapshot) {
        for ns in &snap.namespaces {
            let name = ns.metadata.name.clone().unwrap_or_default();
            if self.ns_by_name.contains_key(&name) {
                self.warnings.push(warn(
                    format!("Namespace {name}"),
                    "declared twice; the first one is used",
                ));
                continue;
            }
            let mut labels = ns.metadata.labels.clone().unwrap_or_default();
            labels
                .entry(NAMESPACE_NAME_LABEL.into())
                .or_insert_with(|| name.clone());
            self.ns_by_name.insert(name.clone(), self.namespaces.len());
            self.namespaces.push(NamespaceInfo {
                name,
                labels,
                declared: true,
            });
        }
    }

    /// The pods of the snapshot, with their IPs and top owner; a second one is a warning. Each
    /// pod's entry is built on every core (a third of the index of 50,000 pods), then added in
    /// snapshot order.
    fn add_pods(&mut self, snap: &ClusterSnapshot, owners: &Owners) {
        let mut seen_pods = std::collections::HashSet::new();
        self.pods.reserve(snap.pods.len() + snap.workloads.len());
        let built = on_every_core(&snap.pods, MIN_OBJECTS_PER_THREAD, |pod| indexed_pod(pod, owners));
        for (info, warnings) in built {
            if !seen_pods.insert((info.namespace.clone(), info.name.clone())) {
                let object = format!("Pod {}/{}", info.namespace, info.name);
                self.warnings.push(warn(object, "appears twice; the first one is used"));
                continue;
            }
            self.warnings.extend(warnings);
            self.add_pod(info);
        }
    }

    /// A workload with no pods in the snapshot stands for its pods (a repo of manifests): one
    /// pod from its template, named like the workload.
    fn add_workload_pods(&mut self, snap: &ClusterSnapshot, owners: &Owners) {
        let owners_with_pods: std::collections::HashSet<(String, Owner)> = self
            .pods
            .iter()
            .filter_map(|p| p.owner.clone().map(|o| (p.namespace.clone(), o)))
            .collect();
        for w in &snap.workloads {
            let ns = namespace_of(&w.metadata);
            let name = w.metadata.name.clone().unwrap_or_default();
            // A ReplicaSet of a Deployment (or a Job of a CronJob) that is itself in the snapshot
            // is represented by that owner.
            let parent = controller_owner(w.metadata.owner_references.as_deref());
            if parent.is_some_and(|p| owners.contains(&ns, &p)) {
                continue;
            }
            let first = Owner {
                kind: w.kind.as_str().into(),
                name: name.clone(),
            };
            let Some(owner) = owners.top(&ns, Some(first)) else {
                continue;
            };
            if owners_with_pods.contains(&(ns.clone(), owner.clone())) {
                continue;
            }
            let spec: PodSpec = w.template.spec.clone().unwrap_or_default();
            let pod_name = name.clone();
            if self.pod_by_key.contains_key(&(ns.clone(), pod_name.clone())) {
                self.warnings.push(warn(
                    format!("{} {ns}/{name}", w.kind.as_str()),
                    &format!("has no pods in the snapshot, and the pod it would stand for is named like the existing pod {ns}/{pod_name}; the workload is not represented"),
                ));
                continue;
            }
            let meta = w.template.metadata.as_ref();
            self.add_pod(pod_info(ns, pod_name, &spec, meta, Some(owner), true));
        }
    }

    /// The NetworkPolicies, lowered once and indexed by namespace; a second one, named ports
    /// toward addresses and parts that match nothing are warnings.
    fn add_policies(&mut self, snap: &ClusterSnapshot) {
        let mut seen_policies = std::collections::HashSet::new();
        // Lowered on every core, added in snapshot order.
        let lowered_all = on_every_core(&snap.network_policies, MIN_OBJECTS_PER_THREAD, |np| {
            Policy::lower(np, &namespace_of(&np.metadata))
        });
        for (np, lowered) in snap.network_policies.iter().zip(lowered_all) {
            let ns = namespace_of(&np.metadata);
            let name = np.metadata.name.clone().unwrap_or_default();
            if !seen_policies.insert((ns.clone(), name.clone())) {
                self.warnings.push(warn(
                    format!("NetworkPolicy {ns}/{name}"),
                    "appears twice; the first one is used",
                ));
                continue;
            }
            for (field, port) in named_ports_toward_addresses(&lowered) {
                self.warnings.push(warn(
                    format!("NetworkPolicy {ns}/{name}"),
                    &format!("{field}: named port {port:?} resolves only on destination pods; toward addresses (ipBlock, or all destinations) it matches nothing"),
                ));
            }
            for issue in &lowered.issues {
                self.warnings.push(LoadWarning {
                    location: snap.policy_locations.get(&format!("{ns}/{name}")).cloned(),
                    ..warn(
                        format!("NetworkPolicy {ns}/{name}"),
                        &format!("{}: {} (this part matches nothing)", issue.field, issue.message),
                    )
                });
            }
            self.ensure_namespace(&ns);
            self.policies_by_ns.entry(ns).or_default().push(self.policies.len());
            self.policies.push(lowered);
        }
    }

    /// The NetworkPolicies present but unreadable: whom they may select, what they may isolate.
    /// A loaded policy with a field the API server does not know is held back in the directions
    /// that field may change (its unreadable part stands for them).
    fn add_unreadable_policies(&mut self, snap: &ClusterSnapshot) {
        let mut held: HashMap<String, [bool; 2]> = HashMap::new();
        for u in &snap.unreadable_policies {
            if matches!(u.reason, UnreadableReason::UnknownField { .. }) {
                let h = held.entry(u.key()).or_default();
                h[0] |= u.may_isolate_ingress;
                h[1] |= u.may_isolate_egress;
            }
        }
        for pol in &mut self.policies {
            if let Some(h) = held.get(&pol.key()) {
                pol.held = *h;
            }
        }
        for u in &snap.unreadable_policies {
            let target = u
                .pod_selector
                .as_ref()
                .map(|s| Selector::lower(Some(s)))
                .filter(|s| s.invalid.is_none());
            self.unreadable_policies
                .entry(u.namespace.clone())
                .or_default()
                .push(UnreadableInfo {
                    key: u.key(),
                    target,
                    may_isolate_ingress: u.may_isolate_ingress,
                    may_isolate_egress: u.may_isolate_egress,
                    unknown_field: match &u.reason {
                        UnreadableReason::UnknownField { field } => Some(field.clone()),
                        UnreadableReason::Unreadable => None,
                    },
                });
        }
    }

    /// The nodes with their internal and external IPs.
    fn add_nodes(&mut self, snap: &ClusterSnapshot) {
        for n in &snap.nodes {
            let ips = n
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .into_iter()
                .flatten()
                .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                .filter_map(|a| a.address.parse().ok())
                .collect();
            self.nodes.push(NodeInfo {
                name: n.metadata.name.clone().unwrap_or_default(),
                ips,
            });
        }
    }

    /// The Services with their ports, cluster and external IPs and endpoints.
    fn add_services(&mut self, snap: &ClusterSnapshot) {
        let by_service = EndpointsByService::of(snap);
        let no_spec = ServiceSpec::default();
        self.services.reserve(snap.services.len());
        for svc in &snap.services {
            let ns = namespace_of(&svc.metadata);
            let spec = svc.spec.as_ref().unwrap_or(&no_spec);
            let ports = spec.ports.iter().flatten().filter_map(service_port).collect();
            let cluster_ips = spec
                .cluster_ips
                .iter()
                .flatten()
                .chain(spec.cluster_ip.iter())
                .filter_map(|s| s.parse().ok())
                .collect();
            self.ensure_namespace(&ns);
            let name = svc.metadata.name.clone().unwrap_or_default();
            let external_ips = service_external_ips(svc, spec);
            let (endpoints, endpoints_read) = service_endpoints(snap, &by_service, &ns, &name);
            self.services.push(ServiceInfo {
                endpoints,
                endpoints_read,
                labels: svc.metadata.labels.clone().unwrap_or_default(),
                namespace: ns,
                name,
                selector: spec.selector.clone().filter(|s| !s.is_empty()),
                ports,
                cluster_ips,
                external_ips,
                type_: spec.type_.clone().unwrap_or_else(|| "ClusterIP".into()),
                external_traffic_policy: spec.external_traffic_policy.clone(),
            });
        }
    }
}

/// Egress rules whose peers include addresses (an ipBlock, or all peers) and whose ports name a
/// port: an address has no container ports, so toward it that entry matches nothing.
fn named_ports_toward_addresses(p: &Policy) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rule in p.egress.iter().flatten() {
        let reaches_addresses = rule
            .peers
            .as_ref()
            .is_none_or(|peers| peers.iter().any(|x| matches!(x, crate::policy::Peer::IpBlock { .. })));
        if !reaches_addresses {
            continue;
        }
        for (i, spec) in rule.ports.iter().flatten().enumerate() {
            if let crate::policy::PortValue::Named(n) = &spec.value {
                out.push((format!("spec.egress[{}].ports[{i}]", rule.index), n.clone()));
            }
        }
    }
    out
}

/// How many names a grouped warning lists before `and N more`.
const FIRST_NAMES: usize = 5;

/// `a, b, c and 9 more`, or `None` for no names.
pub fn first_names(names: &[&str]) -> Option<String> {
    let (first, rest) = names.split_at(names.len().min(FIRST_NAMES));
    match (first.is_empty(), rest.len()) {
        (true, _) => None,
        (false, 0) => Some(first.join(", ")),
        (false, n) => Some(format!("{} and {n} more", first.join(", "))),
    }
}

/// `1 namespace` / `3 namespaces`.
fn counted(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A pod as indexed, with the warnings about it (an IP that does not parse).
fn indexed_pod(pod: &k8s_openapi::api::core::v1::Pod, owners: &Owners) -> (PodInfo, Vec<LoadWarning>) {
    let no_spec = PodSpec::default();
    let no_status = PodStatus::default();
    let ns = namespace_of(&pod.metadata);
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().unwrap_or(&no_spec);
    let status = pod.status.as_ref().unwrap_or(&no_status);
    let (ips, warnings) = pod_ips(&ns, &name, status);
    let owner = owners.top(&ns, controller_owner(pod.metadata.owner_references.as_deref()));
    let info = PodInfo {
        ips,
        node: spec.node_name.clone(),
        phase: status.phase.clone(),
        ..pod_info(ns, name, spec, Some(&pod.metadata), owner, false)
    };
    (info, warnings)
}

/// A pod's IPs (`podIPs`, then `podIP`), deduplicated; one that does not parse is a warning.
fn pod_ips(ns: &str, name: &str, status: &PodStatus) -> (Vec<IpAddr>, Vec<LoadWarning>) {
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut warnings = Vec::new();
    for ip in status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .chain(status.pod_ip.as_deref())
    {
        match ip.parse::<IpAddr>() {
            Ok(a) if !ips.contains(&a) => ips.push(a),
            Ok(_) => {}
            Err(_) => warnings.push(warn(
                format!("Pod {ns}/{name}"),
                &format!("status.podIP {ip:?} is not an IP address; ignored"),
            )),
        }
    }
    (ips, warnings)
}

/// `f` over `items` in order, the items cut into one run per core, with at least
/// `min_per_thread` items in a run (fewer items stay on the calling thread, where threads would
/// not pay off). A panic in a run is the caller's.
pub fn on_every_core<T: Sync, R: Send>(items: &[T], min_per_thread: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = cores.min(items.len() / min_per_thread.max(1)).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let per = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let runs: Vec<_> = items
            .chunks(per)
            .map(|run| s.spawn(move || run.iter().map(f).collect::<Vec<R>>()))
            .collect();
        runs.into_iter()
            .flat_map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Pod entries and policies built per thread at least: below, one thread is faster.
const MIN_OBJECTS_PER_THREAD: usize = 2048;

fn warn(object: String, message: &str) -> LoadWarning {
    LoadWarning {
        location: None,
        object: Some(object),
        message: message.to_string(),
    }
}

/// The namespace of a namespaced object; absent means `default`, as kubectl applies it.
fn namespace_of(meta: &ObjectMeta) -> String {
    meta.namespace
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// The owner reference marked `controller: true` (Node owners of static pods are ignored).
fn controller_owner(refs: Option<&[OwnerReference]>) -> Option<Owner> {
    refs?
        .iter()
        .find(|r| r.controller == Some(true) && r.kind != "Node")
        .map(|r| Owner {
            kind: if r.kind.is_empty() {
                "Pod".into()
            } else {
                r.kind.clone()
            },
            name: r.name.clone(),
        })
}

/// The addresses of a Service from its Endpoints object and its EndpointSlices, deduplicated,
/// and whether any such object is in the snapshot.
/// The Endpoints and EndpointSlices of each Service, `(namespace, name)` -> their indexes in the
/// snapshot, in snapshot order: looked up once per Service instead of scanning every object
/// (17,000 Services with a slice each took 5 s that way).
#[derive(Default)]
struct EndpointsByService<'s> {
    endpoints: HashMap<(String, &'s str), Vec<usize>>,
    slices: HashMap<(String, &'s str), Vec<usize>>,
}

impl<'s> EndpointsByService<'s> {
    fn of(snap: &'s ClusterSnapshot) -> EndpointsByService<'s> {
        let mut by = EndpointsByService::default();
        for (i, e) in snap.endpoints.iter().enumerate() {
            if let Some(name) = e.metadata.name.as_deref() {
                by.endpoints
                    .entry((namespace_of(&e.metadata), name))
                    .or_default()
                    .push(i);
            }
        }
        for (i, s) in snap.endpoint_slices.iter().enumerate() {
            if let Some(service) = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
            {
                by.slices
                    .entry((namespace_of(&s.metadata), service.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        by
    }
}

fn service_endpoints(
    snap: &ClusterSnapshot,
    by_service: &EndpointsByService<'_>,
    ns: &str,
    name: &str,
) -> (Vec<EndpointAddress>, bool) {
    let mut out: Vec<EndpointAddress> = Vec::new();
    let mut read = false;
    let mut add = |ip: &str, ports: Vec<(Option<String>, u16, Protocol)>| {
        let Ok(ip) = ip.parse::<IpAddr>() else { return };
        match out.iter_mut().find(|a| a.ip == ip) {
            Some(a) => {
                for p in ports {
                    if !a.ports.contains(&p) {
                        a.ports.push(p);
                    }
                }
            }
            None => out.push(EndpointAddress { ip, ports }),
        }
    };
    let key = (ns.to_string(), name);
    let endpoints = by_service.endpoints.get(&key).map_or(&[][..], Vec::as_slice);
    let slices = by_service.slices.get(&key).map_or(&[][..], Vec::as_slice);
    for e in endpoints.iter().map(|&i| &snap.endpoints[i]) {
        read = true;
        for subset in e.subsets.iter().flatten() {
            let ports: Vec<(Option<String>, u16, Protocol)> = subset
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    Some((
                        p.name.clone(),
                        u16::try_from(p.port).ok()?,
                        Protocol::parse(p.protocol.as_deref().unwrap_or("TCP"))?,
                    ))
                })
                .collect();
            for a in subset.addresses.iter().flatten() {
                add(&a.ip, ports.clone());
            }
        }
    }
    for s in slices.iter().map(|&i| &snap.endpoint_slices[i]) {
        read = true;
        let ports: Vec<(Option<String>, u16, Protocol)> = s
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p.name.clone(),
                    u16::try_from(p.port?).ok()?,
                    Protocol::parse(p.protocol.as_deref().unwrap_or("TCP"))?,
                ))
            })
            .collect();
        for e in &s.endpoints {
            for ip in &e.addresses {
                add(ip, ports.clone());
            }
        }
    }
    (out, read)
}

fn container_ports(containers: &[Container]) -> Vec<ContainerPortInfo> {
    containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            Some(ContainerPortInfo {
                name: p.name.clone(),
                port: u16::try_from(p.container_port).ok().filter(|&n| n > 0)?,
                protocol: Protocol::parse(p.protocol.as_deref().unwrap_or("TCP"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work cut across cores comes back in the order of the input, whatever the cut.
    #[test]
    fn work_on_every_core_keeps_the_order() {
        for n in [0, 1, 4095, 4096, 10_001] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(
                on_every_core(&items, MIN_OBJECTS_PER_THREAD, |i| i * 2),
                items.iter().map(|i| i * 2).collect::<Vec<_>>(),
                "{n}"
            );
        }
    }

    fn ix(yaml: &str) -> ClusterIndex {
        ClusterIndex::build(
            &crate::snapshot::load_str("t.yaml", yaml).unwrap(),
            Semantics::default(),
        )
    }

    const RS_POD: &str = "
apiVersion: v1
kind: Pod
metadata:
  name: api-5c6b8d9f7-x2kqp
  namespace: shop
  labels: {app: api, pod-template-hash: 5c6b8d9f7}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5c6b8d9f7, uid: u1, controller: true}]
";

    #[test]
    fn a_replicaset_pod_with_its_template_hash_belongs_to_the_deployment() {
        let ix = ix(RS_POD);
        let p = ix.pod(0);
        assert_eq!(
            p.workload_name(),
            "shop/api-5c6b8d9f7[ReplicaSet]",
            "the map keeps the connlist convention"
        );
        assert_eq!(p.top_workload_name(), "shop/api[Deployment]");
    }

    #[test]
    fn owners_present_in_the_snapshot_are_walked_upward() {
        let ix = ix(&format!(
            "{RS_POD}---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: api-5c6b8d9f7\n  namespace: shop\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: api, uid: u2, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: api}}}}\n  template: {{metadata: {{labels: {{app: api}}}}, spec: {{containers: [{{name: c}}]}}}}\n"
        ));
        assert_eq!(
            ix.pods.len(),
            1,
            "the ReplicaSet has a pod: no pod is built from its template"
        );
        assert_eq!(ix.pod(0).workload_name(), "shop/api[Deployment]");
    }

    #[test]
    fn a_workload_without_pods_stands_for_its_pods_and_namespaces_get_the_name_label() {
        let ix = ix(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n",
        );
        let p = ix.pod(0);
        assert!(p.from_template);
        assert_eq!(p.workload_name(), "shop/web[Deployment]");
        assert_eq!(p.resolve_named_port("http", Protocol::Tcp), Some(8080));
        let ns = ix.namespace("shop").unwrap();
        assert!(!ns.declared);
        assert_eq!(ns.labels.get(NAMESPACE_NAME_LABEL).map(String::as_str), Some("shop"));
        assert!(
            ix.warnings.iter().any(|w| w
                .to_string()
                .contains("1 namespace used by objects is not in the snapshot (shop)")),
            "an undeclared namespace is a warning"
        );
    }

    #[test]
    fn a_named_port_toward_addresses_is_a_warning() {
        let ix = ix(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: https}]}, {to: [{podSelector: {}}], ports: [{port: http}]}]\n",
        );
        let w: Vec<String> = ix
            .warnings
            .iter()
            .map(|w| w.to_string())
            .filter(|w| w.contains("named port"))
            .collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("NetworkPolicy a/p")
                && w[0].contains("spec.egress[0].ports[0]")
                && w[0].contains("\"https\""),
            "{w:?}"
        );
    }
}
