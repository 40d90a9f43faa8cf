//! What an evaluation found, as data: the flow asked about, and for each side the policies in
//! force, every rule evaluated with the first clause that failed, the admin rule that decided,
//! and what may make the answer wrong.
//!
//! Invariant: plain data, no text. Words for these values are chosen in `diagnosis::describe`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::index::{PodId, PolicyId};
use crate::policy::admin::{AdminAction, AdminKind, AdminTier};
use crate::policy::extended::Section;
use crate::policy::{Direction, PortSpec, Protocol, Requirement};

/// One end of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Pod(PodId),
    /// An address that is no pod of the snapshot (external, a node, a load balancer).
    Ip(IpAddr),
}

/// What is being asked: may `src` open a connection to `dst` on `protocol`/`port`?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub protocol: Protocol,
    /// `None`: any port of the protocol (the verdict is about the connection set).
    pub port: Option<u16>,
}

/// Traffic that NetworkPolicy never restricts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlwaysAllowed {
    /// A pod talking to itself.
    SamePod,
    /// The node (kubelet probes, hostNetwork pods) talking to a pod on that node.
    NodeToLocalPod { node: String },
}

/// Why one peer element of a rule did not match the other end of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerFailure {
    /// podSelector alone covers the policy's own namespace only.
    OtherNamespace {
        policy_namespace: String,
        peer_namespace: String,
    },
    /// The peer's namespace fails the namespaceSelector.
    NamespaceLabels {
        namespace: String,
        /// The requirements of the namespaceSelector that the namespace's labels fail.
        failed: Vec<Requirement>,
        /// The element also has a podSelector, and it matches the peer pod.
        pod_selector_matches: bool,
        /// The element has both selectors (AND).
        and_element: bool,
        /// `label=value` additions that would make the namespace match (empty when a removal is needed).
        missing_labels: Vec<(String, String)>,
    },
    /// The peer pod's labels fail the podSelector.
    PodLabels {
        /// The requirements of the podSelector that the pod's labels fail.
        failed: Vec<Requirement>,
        /// The element has both selectors and the namespace half matched.
        and_element: bool,
    },
    /// A pod/namespace selector cannot match an address outside the pod network.
    NotAPod,
    /// A hostNetwork pod is never matched by pod/namespace selectors: its traffic carries the node's IP.
    HostNetworkPeer,
    /// The address is outside the CIDR.
    /// `ip`: the peer's first address (`None`: it has none yet).
    OutsideCidr { cidr: IpNet, ip: Option<IpAddr> },
    /// The address is inside the CIDR but inside one of its `except` blocks.
    Excepted { cidr: IpNet, except: IpNet, ip: IpAddr },
    /// The semantics in force say ipBlock never matches pod IPs.
    IpBlockIgnoresPods { cidr: IpNet },
    /// The element could not be read (it matches nothing).
    Invalid { reason: String },
}

/// Why a rule's `ports` did not admit the flow's protocol/port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFailure {
    /// What the flow needs.
    pub wanted: WantedPort,
    /// Every entry of the rule's `ports`, in order, with named ports resolved where they can be.
    pub allowed: Vec<AllowedPort>,
    /// Named ports of the rule (same protocol) that the destination pod does not declare.
    pub unresolved_named: Vec<String>,
}

/// The protocol and port a flow needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedPort {
    pub protocol: Protocol,
    /// `None`: any port of the protocol.
    pub port: Option<u16>,
}

/// One entry of a rule's `ports`, as evaluated toward the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPort {
    pub spec: PortSpec,
    /// The port a named entry resolved to on the destination pod (`None`: not a named port, or
    /// the destination does not declare it).
    pub resolved: Option<u16>,
}

/// One rule of one isolating policy, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub policy: PolicyId,
    pub rule_index: usize,
    /// Empty when the peers clause matched (or the rule has no peers clause).
    pub peer_failures: Vec<(usize, PeerFailure)>,
    /// `None` when the ports clause matched.
    pub port_failure: Option<PortFailure>,
    /// The rule matched only through an ipBlock containing a pod's IP (implementation-defined).
    pub matched_pod_ip_by_ipblock: bool,
}

impl RuleTrace {
    pub fn allows(&self) -> bool {
        self.peer_failures.is_empty() && self.port_failure.is_none()
    }
}

/// Whether one element of a Cilium rule matches the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiliumOutcome {
    Matched,
    /// Why not.
    NoMatch(String),
    /// Not decided offline (`DATAPLANE_DEPENDENT`): why.
    Unknown(String),
}

/// One element of a section of a Cilium rule that selects the subject, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumRuleTrace {
    /// Index into `ix.cilium`.
    pub policy: usize,
    /// Index into the policy's rules.
    pub rule: usize,
    pub section: Section,
    /// Index in the section.
    pub index: usize,
    /// Its L3 part against the peer.
    pub outcome: CiliumOutcome,
    /// Its ports cover the flow's protocol/port.
    pub covers: bool,
}

impl CiliumRuleTrace {
    /// Matches the peer and covers the port.
    pub fn applies(&self) -> bool {
        self.covers && self.outcome == CiliumOutcome::Matched
    }
}

/// A policy whose unreadable part may change a side's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertainty {
    /// `ns/name`.
    pub policy: String,
    pub reason: String,
    pub doubt: Doubt,
}

/// Why a policy may make a side's answer wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// It (or a part of it that matters, or a namespace's labels it reads) could not be read.
    Unreadable,
    /// It has a field its API type does not define, so it is not evaluated.
    FieldUnknown,
    /// Kubernetes leaves its order against the deciding policy undefined, and the two decide the
    /// traffic differently.
    OrderUndefined,
    /// One of its peers is not resolved here (domain names).
    Unresolved,
    /// It depends on the CNI's dataplane or agent configuration (Cilium FQDNs, entities, L7).
    DataplaneDependent,
}

/// The admin rule that decided (a port of) a flow on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminHit {
    /// The object kind (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy).
    pub kind: AdminKind,
    /// The tier the rule decided in.
    pub tier: AdminTier,
    /// The policy's name (the three kinds are cluster-scoped).
    pub policy: String,
    /// `spec.priority`; `None` for a BaselineAdminNetworkPolicy.
    pub priority: Option<i32>,
    /// Index in the policy's `ingress` / `egress` list.
    pub rule_index: usize,
    /// The rule's `name` (empty when it has none).
    pub rule_name: String,
    pub action: AdminAction,
}

impl AdminHit {
    /// `AdminNetworkPolicy NAME`, the way reports name the policy.
    pub fn policy_key(&self) -> String {
        format!("{} {}", self.kind, self.policy)
    }

    /// The action as the policy's API words it (Accept for a ClusterNetworkPolicy's Allow).
    pub fn action_word(&self) -> &'static str {
        self.kind.action_word(self.action)
    }

    /// `spec.ingress[2]` / `spec.egress[0]`.
    pub fn field(&self, dir: Direction) -> String {
        format!("spec.{}[{}]", dir.as_str(), self.rule_index)
    }
}

/// What a step of Calico's tier walk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalicoStepAction {
    Allow,
    Deny,
    /// Logged; the walk went on with the next rule.
    Log,
    /// Left the tier for the next tier that applies (or the profile).
    Pass,
    /// The end of a tier that applies, no rule decided: denied.
    EndDeny,
    /// The end of a tier with `defaultAction: Pass`, no rule decided: passed on.
    EndPass,
}

/// One step of Calico's tier walk on a side: a rule that matched, or the end of a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalicoStep {
    pub tier: String,
    /// `GlobalNetworkPolicy NAME` / `NetworkPolicy NS/NAME`; `None` at the end of a tier.
    pub policy: Option<String>,
    /// Index in the policy's `ingress` / `egress` list.
    pub rule_index: Option<usize>,
    /// The rule in compact flow style.
    pub rule: Option<String>,
    pub action: CalicoStepAction,
}

/// Calico's tier walk on one side (when the snapshot has Calico policies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalicoWalk {
    /// In walk order.
    pub steps: Vec<CalicoStep>,
    /// Some of the asked connections left the last Calico tier (Pass, or no tier applied): the
    /// Baseline tier or the namespace profile (allow) decided them.
    pub passed_on: bool,
}

impl CalicoWalk {
    /// The step that decided the asked port: the last Allow, Deny or end-of-tier deny, unless
    /// the walk passed it on.
    pub fn decision(&self) -> Option<&CalicoStep> {
        if self.passed_on {
            return None;
        }
        self.steps.iter().rev().find(|s| {
            matches!(
                s.action,
                CalicoStepAction::Allow | CalicoStepAction::Deny | CalicoStepAction::EndDeny
            )
        })
    }

    /// Whether a Pass (a rule's or a tier's default action) handed the port on.
    pub fn passed_by_pass(&self) -> bool {
        self.passed_on
            && self
                .steps
                .iter()
                .any(|s| matches!(s.action, CalicoStepAction::Pass | CalicoStepAction::EndPass))
    }
}

/// One side (egress at the source or ingress at the destination), evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideTrace {
    pub direction: Direction,
    /// The pod whose policies decide this side (`None`: the side is outside the cluster).
    pub subject: Option<PodId>,
    /// Why no policy can apply on this side, if so.
    pub not_applicable: Option<String>,
    /// Policies that select the subject for this direction, sorted by name.
    pub isolating: Vec<PolicyId>,
    /// Every rule of every isolating policy, in policy then rule order.
    pub rules: Vec<RuleTrace>,
    /// The Admin tier's rule that decided the flow's port (Allow, Deny) or passed it to the next
    /// tiers (Pass). For a flow on every port of a protocol: the first rule, in evaluation order,
    /// that decided some of its ports.
    pub admin: Option<AdminHit>,
    /// The Baseline tier's rule that decided (or passed to the default allow), when the Admin tier
    /// passed or left the port and no NetworkPolicy isolates the pod.
    pub baseline: Option<AdminHit>,
    /// Calico's tier walk, when the snapshot has Calico policies (it then stands for the
    /// NetworkPolicy tier; Kubernetes NetworkPolicies are in its `default` tier).
    pub calico: Option<CalicoWalk>,
    /// The verdict of all tiers: AdminNetworkPolicy, NetworkPolicy (or baseline), default allow.
    pub allowed: bool,
    /// Policies that may make this side's answer wrong (unreadable or invalid), with why.
    pub uncertain: Vec<Uncertainty>,
    /// The elements of the Cilium rules that select the subject for this direction, evaluated.
    pub cilium_rules: Vec<CiliumRuleTrace>,
    /// A Cilium rule puts the subject into default deny for this direction.
    pub cilium_isolates: bool,
    /// A Cilium deny rule decided the flow's port (it wins over every allow).
    pub cilium_denied: bool,
}

impl SideTrace {
    /// A side nothing restricts (yet): no subject, no policy, allowed.
    pub(super) fn unrestricted(direction: Direction) -> SideTrace {
        SideTrace {
            direction,
            subject: None,
            not_applicable: None,
            isolating: Vec::new(),
            rules: Vec::new(),
            admin: None,
            baseline: None,
            calico: None,
            allowed: true,
            uncertain: Vec::new(),
            cilium_rules: Vec::new(),
            cilium_isolates: false,
            cilium_denied: false,
        }
    }

    /// A NetworkPolicy or a Cilium rule isolates the subject for this direction.
    pub fn isolated(&self) -> bool {
        !self.isolating.is_empty() || self.cilium_isolates
    }

    /// Allowed for certain, blocked for certain, or unknown.
    pub fn certain(&self) -> bool {
        self.uncertain.is_empty()
    }
}

/// A flow evaluated with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowTrace {
    pub flow: Flow,
    pub always_allowed: Option<AlwaysAllowed>,
    pub egress: SideTrace,
    pub ingress: SideTrace,
}

impl FlowTrace {
    pub fn allowed(&self) -> bool {
        self.always_allowed.is_some() || (self.egress.allowed && self.ingress.allowed)
    }
}
