//! The wire shape of results: the only types that are `Serialize` + `JsonSchema`. The CLI's
//! `--output json` and (later) MCP structured content are these values.
//!
//! Invariant: deterministic (sorted, no timestamps); integers are i64; root-cause codes are a
//! public, stable contract: add codes, never rename or repurpose one.

pub mod bench;
mod diff;
mod reach;
pub mod render;

pub use reach::{Place, ReachGroup, ReachList, Reachability, reachability_text};

pub use diff::*;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;

/// The answer of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Policy allows the traffic (or no policy applies).
    Allowed,
    /// Policy blocks the traffic.
    Blocked,
    /// Policies exist but nothing enforces them for this traffic.
    NotEnforced,
    /// We cannot tell for certain; `warnings` and `root_causes` say why.
    Inconclusive,
}

impl Verdict {
    /// The CLI exit code: 0 allowed / not-enforced, 1 blocked, 3 inconclusive (2 is bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Allowed | Verdict::NotEnforced => 0,
            Verdict::Blocked => 1,
            Verdict::Inconclusive => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::NotEnforced => "not-enforced",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Which side blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockedDirection {
    Ingress,
    Egress,
    Both,
}

/// Stable root-cause codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RootCauseCode {
    /// No policy isolates either side: everything is allowed.
    AllowedNoPolicy,
    /// Both sides are isolated or open, and a rule allows the traffic on each isolated side.
    AllowedByPolicy,
    /// Traffic NetworkPolicy never restricts: a pod to itself, a node to its own pods.
    AlwaysAllowed,
    /// The destination is selected by a policy isolating ingress that has no ingress rule.
    DefaultDenyIngress,
    /// The source is selected by a policy isolating egress that has no egress rule.
    DefaultDenyEgress,
    /// Ingress rules exist at the destination, none matches the source.
    IngressNoMatchingRule,
    /// Egress rules exist at the source, none matches the destination.
    EgressNoMatchingRule,
    /// A rule matches the peer but not the protocol/port.
    PortNotAllowed,
    /// A rule allows a named port that the destination pod does not declare.
    NamedPortUnresolved,
    /// A namespaceSelector would match if the namespace had a label.
    NamespaceLabelMissing,
    /// A rule would match if its peers were combined differently (AND in one element vs OR in several).
    SelectorAndOrConfusion,
    /// An ipBlock contains the address but its `except` removes it.
    IpblockExcept,
    /// The source omits policyTypes and has no egress section: egress is not isolated.
    PolicytypesOmittedEgressOpen,
    /// The source's egress policies do not allow the other namespace.
    CrossNamespaceEgressBlocked,
    /// A policy that matters could not be read: the verdict is inconclusive.
    PolicyUnreadable,
    /// Nothing in the cluster enforces NetworkPolicy (e.g. standalone flannel): policies are not the cause.
    CniNoNetpolSupport,
    /// A CNI-specific policy (Cilium, Calico, Antrea, MultiNetworkPolicy) selects an endpoint; it is not evaluated.
    ExtendedPolicyPresent,
    /// The source's egress policies block DNS (UDP and TCP 53) to the cluster DNS.
    DnsEgressBlocked,
    /// The source's egress policies block the API server's endpoints (often 443 allowed, 6443 needed).
    ApiserverEgressBlocked,
    /// A policy allows the Service port but the pods receive on the targetPort, which it does not allow.
    ServicePortVsTargetPort,
    /// Traffic from outside through a NodePort/LoadBalancer arrives SNATed to a node IP.
    NodeportSnat,
    /// A hostNetwork pod is neither protected nor restricted by NetworkPolicy; its traffic carries the node IP.
    HostnetworkExempt,
    /// The address is on a secondary (Multus) interface: NetworkPolicy does not apply to it.
    SecondaryInterface,
    /// A service mesh handles an endpoint: its L7 policies may also deny; ambient mode needs HBONE 15008.
    ServiceMeshPresent,
    /// An AdminNetworkPolicy rule denies the traffic (before any NetworkPolicy).
    AdminNetworkPolicyDeny,
    /// An AdminNetworkPolicy rule allows the traffic (NetworkPolicies are not consulted).
    AdminNetworkPolicyAllow,
    /// The BaselineAdminNetworkPolicy denies the traffic (no NetworkPolicy isolates that side).
    BaselineAdminNetworkPolicyDeny,
    /// The outcome depends on how the CNI's dataplane treats this traffic (e.g. Cilium identities for node IPs).
    DataplaneDependent,
    /// A policy has a field the API server does not know (a typo, or an older API shape): it cannot be both the object in the file and the object in the cluster, so its verdicts are inconclusive.
    PolicyFieldUnknown,
    /// An Admin-tier ClusterNetworkPolicy rule denies the traffic (before any NetworkPolicy).
    ClusterNetworkPolicyDeny,
    /// A Baseline-tier ClusterNetworkPolicy rule denies the traffic (no NetworkPolicy isolates that side).
    BaselineClusterNetworkPolicyDeny,
    /// A Cilium `ingressDeny`/`egressDeny` rule denies the traffic (it wins over every allow).
    CiliumPolicyDeny,
    /// A Cilium rule puts the side into default deny and no allow (Cilium's or NetworkPolicy's) matches.
    CiliumNoMatchingRule,
    /// A Calico rule with `action: Deny` denies the traffic (in Calico's tier walk).
    CalicoPolicyDeny,
    /// A Calico tier that applies to the endpoint ended with no rule deciding: end-of-tier deny.
    CalicoNoMatchingRule,
    /// A Pass in the last Calico tier that applies handed the traffic to the namespace profile,
    /// which allows it.
    CalicoPassToProfile,
}

/// One root cause, most important first in a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RootCause {
    pub code: RootCauseCode,
    /// One sentence.
    pub summary: String,
    /// Responsible policies, `ns/name`.
    pub policies: Vec<String>,
    /// Facts from the snapshot that show it.
    pub evidence: Vec<String>,
    /// What would change the outcome, in words. Nothing is ever applied.
    pub suggestion: String,
}

/// A rule of a policy: `{policy: "ns/name", rule: 0}` is `spec.ingress[0]` or `spec.egress[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RuleRef {
    pub policy: String,
    pub rule: i64,
}

/// The clause of a rule that failed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FailedClause {
    /// e.g. `spec.ingress[0].from` or `spec.egress[1].ports`.
    pub field: String,
    /// Why, one line per peer element (for from/to) or one line (for ports).
    pub reasons: Vec<String>,
}

/// The outcome of one rule of an isolating policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RuleReport {
    pub policy: String,
    pub rule: i64,
    /// `allows` or `no-match`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_clause: Option<FailedClause>,
}

/// One side of the flow: egress at the source or ingress at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SideReport {
    /// Some policy selects the pod for this direction.
    pub isolated: bool,
    /// This side lets the traffic through.
    pub allowed: bool,
    /// Why no policy can apply here (external endpoint, hostNetwork pod), when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub isolating_policies: Vec<String>,
    pub allowed_by: Vec<RuleRef>,
    /// Every rule of every isolating policy (truncated to `rules_total` when long).
    pub rules: Vec<RuleReport>,
    pub rules_total: i64,
    /// Why this side's answer may be wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<String>,
    /// The AdminNetworkPolicy / BaselineAdminNetworkPolicy rule that decided this side, when one
    /// did, e.g. `AdminNetworkPolicy deny-db spec.ingress[0] (block-all): Deny`; after a Pass,
    /// who decided instead and the Pass. Also the Calico rule (or tier end, or Pass to the
    /// profile) that decided, e.g. `GlobalNetworkPolicy x spec.egress[0]: Deny (tier default)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_rule: Option<String>,
    /// Calico's tier walk on this side, one step a line (tier, policy, rule quoted, action),
    /// when the snapshot has Calico policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calico_walk: Vec<String>,
    /// The Cilium rule that decided this side, quoted, e.g.
    /// `CiliumNetworkPolicy shop/p spec.egressDeny[0] {toEntities: [world]}: deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cilium_rule: Option<String>,
    /// Every element of the Cilium rules that select the pod for this direction, with its outcome.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cilium_rules: Vec<String>,
}

/// One end of the query, as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EndpointReport {
    /// `pod` or `external`.
    pub kind: String,
    /// `ns/pod` or the IP.
    pub name: String,
    /// `ns/name[Kind]` for pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// `key=value` labels of a pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// `key=value` labels of the pod's namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespace_labels: Vec<String>,
    /// How many pods the user's endpoint stands for (a workload or service); this one represents them.
    pub pods_total: i64,
}

/// The query as given and as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct QueryReport {
    pub from: String,
    pub to: String,
    pub protocol: String,
    /// The port as given (number or name); absent: any port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The port the destination pod receives on (after service/named-port mapping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_port: Option<i64>,
    pub source: EndpointReport,
    pub destination: EndpointReport,
}

/// The result of `diagnose`: the contract every tool and test relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Diagnosis {
    pub query: QueryReport,
    pub verdict: Verdict,
    /// The blocking side; absent when nothing blocks. For an `inconclusive` verdict: the side
    /// that blocks by the readable policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_direction: Option<BlockedDirection>,
    pub root_causes: Vec<RootCause>,
    /// When the policies the root causes name were created, from their metadata (absent when
    /// the snapshot carries no times, as hand-written manifests do not).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_ages: Vec<PolicyAge>,
    /// Everything policy allows from source to destination pod, e.g. `TCP 8080,UDP 53` (pod
    /// ports: what NetworkPolicy sees).
    pub allowed_connections: String,
    /// Through a Service destination: which of the Service's ports pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_via_service: Option<ServicePorts>,
    pub egress: SideReport,
    pub ingress: SideReport,
    /// What the diagnosis checked around the two sides: CNI, DNS, API server, Service, NodePort,
    /// hostNetwork, secondary interfaces, mesh, CNI-specific policies, cross-namespace, and how
    /// to confirm by hand.
    pub checks: Checks,
    /// `high`; `medium` when the CNI is not known; `low` when enforcement is conditional.
    pub confidence: String,
    pub warnings: Vec<String>,
    /// What this tool did and did not do.
    pub scope: String,
}

/// When a policy a root cause names was created, and whether it is the newest one touching the
/// flow: the first suspect after "it broke after a change".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicyAge {
    /// As the root causes name it.
    pub policy: String,
    /// `metadata.creationTimestamp` (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `metadata.generation`: how many times its spec was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// `2 h before the newest object in the snapshot`, or `2 h ago` for a live read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// The most recently created of the policies touching this flow (selecting either end).
    pub newest_touching_flow: bool,
}

/// A Service's ports as the asked flow meets them, each `TCP 80 -> 8080` (Service port -> the
/// destination pod's port, which NetworkPolicy sees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ServicePorts {
    /// `ns/name`.
    pub service: String,
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
}

/// The CNI, as it bears on this diagnosis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CniCheck {
    /// `enforced`, `not-enforced`, `conditional` or `unknown`.
    pub enforcement: String,
    /// e.g. `calico (supported)`.
    pub cnis: Vec<String>,
    pub summary: String,
}

/// DNS from the source, checked when its egress is isolated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DnsCheck {
    /// `kube-system/kube-dns` (or the DNS Service found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The DNS pods checked against (one represents them all), and how many there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    pub pods_total: i64,
    /// UDP 53 and TCP 53 from the source to the DNS pods.
    pub udp: Verdict,
    pub tcp: Verdict,
    /// NodeLocal DNSCache, when its DaemonSet exists: `169.254.20.10` UDP/TCP 53 (egress only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_local: Option<NodeLocalDnsCheck>,
    pub summary: String,
    /// What the snapshot lacks to check, when anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// NodeLocal DNSCache reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NodeLocalDnsCheck {
    pub daemonset: String,
    pub ip: String,
    pub udp: Verdict,
    pub tcp: Verdict,
}

/// The API server from the source, checked when its egress is isolated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ApiServerCheck {
    /// `default/kubernetes` and its port (usually 443).
    pub service: String,
    /// `IP:port` of the endpoints policies see (after DNAT, usually port 6443).
    pub endpoints: Vec<String>,
    pub verdict: Verdict,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// A Service destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ServiceCheck {
    /// `ns/name`.
    pub service: String,
    /// `ClusterIP`, `NodePort`, `LoadBalancer`.
    pub service_type: String,
    /// e.g. `TCP 80 -> targetPort 8080`: policies see the targetPort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_mapping: Option<String>,
    /// Pods behind it in the snapshot.
    pub backing_pods: i64,
    pub summary: String,
}

/// External traffic through a NodePort / LoadBalancer Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NodePortCheck {
    pub service: String,
    /// `Cluster` (default) or `Local`.
    pub external_traffic_policy: String,
    /// Node IPs the pods may see as the source after SNAT (what an ipBlock would need).
    pub node_ips: Vec<String>,
    /// The verdict for the client's own IP, and for a node IP.
    pub verdict_as_client: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict_as_node: Option<Verdict>,
    pub summary: String,
}

/// An endpoint on the host network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HostNetworkCheck {
    /// `source` / `destination` pods on the host network, `ns/name`.
    pub pods: Vec<String>,
    /// The node IPs their traffic carries.
    pub node_ips: Vec<String>,
    pub summary: String,
}

/// An address on a secondary (Multus) interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SecondaryInterfaceCheck {
    /// `ns/name` of the pod.
    pub pod: String,
    /// e.g. `default/sriov-net` on `net1`.
    pub network: String,
    pub interface: String,
    pub ips: Vec<String>,
    /// True when the query's address is on this interface.
    pub queried: bool,
}

/// A service mesh on either endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MeshCheck {
    /// e.g. `istio sidecar on the source`, `istio ambient on the destination`.
    pub findings: Vec<String>,
    /// Mesh policy objects in the endpoints' namespaces (AuthorizationPolicy, Server...).
    pub objects: Vec<String>,
    /// Ambient mode: TCP 15008 (HBONE) between the endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hbone_15008: Option<Verdict>,
    pub summary: String,
}

/// A CNI-specific policy selecting an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ExtendedPolicyCheck {
    /// `apiVersion/kind`.
    pub kind: String,
    pub name: String,
    /// `source` (its egress) or `destination` (its ingress).
    pub endpoint: String,
    pub directions: Vec<String>,
    /// False when its selector could not be read (it may select the endpoint).
    pub certain: bool,
    pub why: String,
    /// What to read in it.
    pub read: Vec<String>,
}

/// Both namespaces of a cross-namespace flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CrossNamespaceCheck {
    pub source_namespace: NamespaceReport,
    pub destination_namespace: NamespaceReport,
    /// Pod peers of the isolating rules that fail on the namespace (at most 10).
    pub failing_peers: Vec<NamespacePeerCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_miss: Option<String>,
}

/// How to confirm the verdict by hand. Never run by netpol-debug.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Verification {
    pub commands: Vec<String>,
    pub note: String,
}

/// What a diagnosis checked beyond the rules of its two sides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Checks {
    pub cni: CniCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_server: Option<ApiServerCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_port: Option<NodePortCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_network: Option<HostNetworkCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secondary_interfaces: Vec<SecondaryInterfaceCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh: Option<MeshCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_policies: Vec<ExtendedPolicyCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_namespace: Option<CrossNamespaceCheck>,
    pub verify: Verification,
}

/// One direction of a query checked on its own (`check_ingress`, `check_egress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SideCheck {
    /// `ingress` (at the destination) or `egress` (at the source).
    pub direction: String,
    /// This side's answer: `allowed`, `blocked` or `inconclusive`.
    pub verdict: Verdict,
    /// One sentence: why.
    pub explanation: String,
    pub query: QueryReport,
    pub side: SideReport,
    /// Root causes on this side, most important first (empty when it allows).
    pub root_causes: Vec<RootCause>,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// The scope note carried by every result.
pub const SCOPE: &str = "Diagnosis only: netpol-debug read objects and changed nothing in any cluster. Suggestions are words for a person to weigh, never applied.";

/// A query that could not be answered (bad argument, unknown pod): CLI exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct QueryErrorReport {
    /// One line per bad argument, named as the caller wrote it (`--port` in the CLI, `` `port` `` in a tool call).
    pub error: String,
    /// The bad argument; several are all named at once: `port, protocol`.
    pub argument: String,
    pub suggestions: Vec<String>,
}

/// One allowed connection of the map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct Connection {
    pub src: String,
    pub dst: String,
    pub conn: String,
}

/// The connectivity map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConnectivityMap {
    pub connections: Vec<Connection>,
    pub warnings: Vec<String>,
}

/// A result cut short to stay small; says how much there was and how to narrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Truncation {
    /// How many items there were in all.
    pub total: i64,
    /// How many are listed.
    pub shown: i64,
    /// How to ask for fewer or other items.
    pub hint: String,
}

/// Whether a CNI enforces NetworkPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CniSupport {
    /// Enforces NetworkPolicy.
    Supported,
    /// Enforces NetworkPolicy only when configured so (the evidence says what to check).
    Conditional,
    /// Does not enforce NetworkPolicy.
    NotSupported,
    /// Not recognised.
    Unknown,
}

/// A CNI (or policy engine) found in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CniFinding {
    /// e.g. `calico`, `cilium`, `flannel`, `k3s-kube-router`.
    pub name: String,
    pub support: CniSupport,
    /// The objects that show it, e.g. `DaemonSet kube-system/calico-node (image calico/node:v3.28.0)`.
    pub evidence: Vec<String>,
    /// What it means for NetworkPolicy, one sentence.
    pub note: String,
}

/// Result of `check_cni`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CniReport {
    /// `enforced`, `not-enforced`, `conditional` or `unknown`: whether anything in the
    /// cluster enforces NetworkPolicy.
    pub enforcement: String,
    pub cnis: Vec<CniFinding>,
    /// One or two sentences for the reader.
    pub summary: String,
    /// What the snapshot lacks to tell for sure, when anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The policy dialects netpol-debug evaluates (NetworkPolicy, the admin kinds, and the
    /// CNI-specific ones it decides), each with its limits.
    pub evaluates: Vec<String>,
    /// CNI-specific dialects only named when they select an endpoint (EXTENDED_POLICY_PRESENT).
    pub named_only: Vec<String>,
    pub scope: String,
}

/// A NetworkPolicy in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicySummary {
    /// `ns/name`.
    pub policy: String,
    /// `spec.podSelector` in kubectl syntax; `{}` selects every pod of the namespace.
    pub pod_selector: String,
    /// Pods of the snapshot it selects.
    pub selects_pods: i64,
    /// The directions it isolates (policyTypes, declared or inferred).
    pub policy_types: Vec<String>,
    /// Whether `spec.policyTypes` was written (false: inferred from the sections present).
    pub policy_types_declared: bool,
    /// Ingress rules, when it isolates ingress (0 = deny all ingress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_rules: Option<i64>,
    /// Egress rules, when it isolates egress (0 = deny all egress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_rules: Option<i64>,
    /// Parts that could not be read (they match nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
}

/// A policy object that is not a standard NetworkPolicy (Cilium, Calico, AdminNetworkPolicy...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OtherPolicy {
    /// `apiVersion/kind`.
    pub kind: String,
    /// `ns/name`, or `name` for cluster-scoped objects.
    pub name: String,
    /// For a kind the engine evaluates (Calico): its place, selectors and rules, one a line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy: evaluated in the
/// Admin tier (before NetworkPolicy) or the Baseline tier (for pods no NetworkPolicy isolates); or
/// a Cilium policy (tier `Cilium`: its deny rules before NetworkPolicy, its allows joined to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ClusterPolicyEntry {
    /// `ClusterNetworkPolicy NAME`, `AdminNetworkPolicy NAME`, `BaselineAdminNetworkPolicy default`.
    pub policy: String,
    /// `Admin` or `Baseline`; absent when a ClusterNetworkPolicy's `spec.tier` could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// `spec.priority` (lower first within the tier); absent for a BaselineAdminNetworkPolicy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// `spec.subject`, as text (absent when it could not be read: it may select any pod).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The directions it has rules for (`ingress`, `egress`).
    pub directions: Vec<String>,
    /// Rules in order: `spec.ingress[0] (name): Deny`.
    pub rules: Vec<String>,
    /// What keeps it (or a direction of it) from being evaluated, `field: message`; verdicts it
    /// may change are inconclusive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
}

/// Result of `list_policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicyList {
    /// The namespace listed; absent: every namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub policies: Vec<PolicySummary>,
    /// Present when the list was cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// CNI-specific and cluster-scoped policy objects in scope: they also filter traffic.
    pub other_policies: Vec<OtherPolicy>,
    /// AdminNetworkPolicies, BaselineAdminNetworkPolicies and ClusterNetworkPolicies (cluster-scoped,
    /// evaluated), then Cilium policies (tier `Cilium`): with a namespace, those whose subject may
    /// select a pod of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_policies: Vec<ClusterPolicyEntry>,
    /// NetworkPolicies that could not be read, `ns/name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    pub scope: String,
}

/// Whether one policy selects a pod, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SelectorMatch {
    /// `ns/name`.
    pub policy: String,
    pub pod_selector: String,
    pub selects: bool,
    /// Why: `{}` selects every pod, which requirements hold or which fail and what the pod has.
    pub reason: String,
    /// Directions the policy isolates for the pod when it selects it.
    pub isolates: Vec<String>,
}

/// Result of `match_selectors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SelectorReport {
    pub pod: EndpointReport,
    /// Policies selecting the pod for ingress, `ns/name`.
    pub ingress_isolated_by: Vec<String>,
    /// Policies selecting the pod for egress, `ns/name`.
    pub egress_isolated_by: Vec<String>,
    /// Every policy of the pod's namespace, selecting ones first.
    pub policies: Vec<SelectorMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// Unreadable policies that may select the pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// CNI-specific policies (Cilium, Calico, Antrea, MultiNetworkPolicy) that select the pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_kinds: Vec<ExtendedPolicyCheck>,
    /// Admin- and Baseline-tier policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    /// ClusterNetworkPolicy) whose subject selects the pod (or may: unreadable), in tier order,
    /// then the Cilium policies whose rules select it (tier `Cilium`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_policies: Vec<ClusterPolicyEntry>,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// Default-deny state of one direction of a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DenyState {
    /// Policies with podSelector `{}` isolating this direction with no rule: deny all.
    pub deny_all_policies: Vec<String>,
    /// Policies isolating this direction for every pod of the namespace (podSelector `{}`).
    pub isolating_all_pods: Vec<String>,
    /// Pods isolated for this direction, of `pods_total`.
    pub pods_isolated: i64,
    pub pods_total: i64,
}

/// Isolation of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PodIsolation {
    /// `ns/name`.
    pub pod: String,
    /// Ingress isolated by these policies; the rules that allow are in `check_ingress`.
    pub ingress_isolated_by: Vec<String>,
    pub egress_isolated_by: Vec<String>,
    /// Of those, policies that isolate with no rule at all (deny everything).
    pub denied_by_empty_policies: Vec<String>,
}

/// Result of `check_default_deny`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DefaultDenyReport {
    pub namespace: String,
    pub ingress: DenyState,
    pub egress: DenyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodIsolation>,
    /// What the state implies (e.g. egress deny-all also blocks DNS).
    pub notes: Vec<String>,
    /// Admin- and Baseline-tier policies whose subject selects (or may select) a pod of the
    /// namespace: they decide before NetworkPolicy (Admin) or for pods it leaves open (Baseline);
    /// then the Cilium policies that select one (tier `Cilium`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_policies: Vec<ClusterPolicyEntry>,
    pub scope: String,
}

/// A finding about a policy's policyTypes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicyTypesFinding {
    /// Stable code: `POLICYTYPES_OMITTED_EGRESS_OPEN`, `EGRESS_RULES_IGNORED`,
    /// `INGRESS_RULES_IGNORED`, `DENY_ALL_INGRESS`, `DENY_ALL_EGRESS`, `UNKNOWN_POLICY_TYPE`.
    pub code: String,
    pub message: String,
}

/// policyTypes of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicyTypesEntry {
    pub policy: String,
    /// `spec.policyTypes` as written; absent when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<Vec<String>>,
    /// The directions the policy isolates.
    pub effective: Vec<String>,
    /// Rules written in `spec.ingress` / `spec.egress`.
    pub ingress_section_rules: i64,
    pub egress_section_rules: i64,
    pub has_egress_section: bool,
    pub findings: Vec<PolicyTypesFinding>,
}

/// Result of `check_policy_types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PolicyTypesReport {
    pub policies: Vec<PolicyTypesEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    pub scope: String,
}

/// A namespace and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NamespaceReport {
    pub name: String,
    /// `key=value`.
    pub labels: Vec<String>,
    /// False when the snapshot has no Namespace object for it (labels then assumed).
    pub declared: bool,
}

/// How one peer of a rule treats the other namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NamespacePeerCheck {
    /// `ns/name`.
    pub policy: String,
    /// e.g. `spec.egress[0].to[1]`.
    pub field: String,
    /// The namespaceSelector, or `(none: the policy's own namespace only)`.
    pub namespace_selector: String,
    /// The podSelector of the same element, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<String>,
    /// The namespace checked against it (the other end's).
    pub namespace: String,
    pub namespace_matches: bool,
    /// Whether the podSelector matches the other end (absent: no podSelector, all pods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_matches: Option<bool>,
    /// Requirements of the namespaceSelector the namespace fails.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_requirements: Vec<String>,
}

/// Result of `check_cross_namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CrossNamespaceReport {
    pub source_namespace: NamespaceReport,
    pub destination_namespace: NamespaceReport,
    pub same_namespace: bool,
    /// The overall answer, as `diagnose` gives it.
    pub verdict: Verdict,
    /// Egress at the source: `allowed`, `blocked` or `inconclusive`.
    pub egress: Verdict,
    /// Ingress at the destination.
    pub ingress: Verdict,
    /// Every pod peer of the isolating rules, checked against the other end's namespace.
    pub peer_checks: Vec<NamespacePeerCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// The closest rule to matching, in words ("would match if namespace X had label k=v").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_miss: Option<String>,
    pub root_causes: Vec<RootCause>,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// Result of `connectivity_map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MapReport {
    /// The namespaces the map is limited to.
    pub namespaces: Vec<String>,
    /// Allowed connections `src => dst : conn`.
    pub connections: Vec<Connection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// A Mermaid flowchart of the connections, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mermaid: Option<String>,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// A result, or the answer that the cluster has nothing under the name given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer<T> {
    Found(T),
    NotFound(QueryErrorReport),
}

impl<T: JsonSchema> JsonSchema for Answer<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}OrNotFound", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // An object either way; the root stays `type: object` so every MCP client accepts it.
        let found = generator.subschema_for::<T>();
        let not_found = generator.subschema_for::<QueryErrorReport>();
        json_schema!({
            "type": "object",
            "description": "The result; or, when an argument names nothing in the cluster, {error, argument, suggestions}.",
            "anyOf": [found, not_found]
        })
    }
}
