//! The evaluation of one flow against the lowered policies: pure, synchronous, total.
//!
//! Order, as the Kubernetes documentation defines it: traffic that policy never touches first
//! (a pod to itself, a node to its own pods), then egress at the source, then ingress at the
//! destination. A flow is allowed when both sides allow it. Every result carries its
//! explanation as data: which policies isolate each side, which rule allowed, and for each rule
//! that did not, the first clause that failed.

pub mod connset;

use std::collections::HashMap;
use std::net::IpAddr;

pub use connset::ConnSet;

use crate::index::{ClusterIndex, PodId, PodInfo, PolicyId};
use crate::policy::{Direction, Labels, NamespaceScope, Peer, PortSpec, PortValue, Protocol, Rule};

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
        failed: Vec<String>,
        /// The element also has a podSelector, and it matches the peer pod.
        pod_selector_matches: bool,
        /// The element has both selectors (AND).
        and_element: bool,
        /// `label=value` additions that would make the namespace match (empty when a removal is needed).
        missing_labels: Vec<(String, String)>,
    },
    /// The peer pod's labels fail the podSelector.
    PodLabels {
        failed: Vec<String>,
        /// The element has both selectors and the namespace half matched.
        and_element: bool,
    },
    /// A pod/namespace selector cannot match an address outside the pod network.
    NotAPod,
    /// A hostNetwork pod is never matched by pod/namespace selectors: its traffic carries the node's IP.
    HostNetworkPeer,
    /// The address is outside the CIDR.
    OutsideCidr { cidr: String, ip: Option<IpAddr> },
    /// The address is inside the CIDR but inside one of its `except` blocks.
    Excepted { cidr: String, except: String, ip: IpAddr },
    /// The semantics in force say ipBlock never matches pod IPs.
    IpBlockIgnoresPods { cidr: String },
    /// The element could not be read (it matches nothing).
    Invalid { reason: String },
}

/// Why a rule's `ports` did not admit the flow's protocol/port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFailure {
    /// What the flow needs, e.g. `TCP 8080` or `UDP (any port)`.
    pub wanted: String,
    /// What the rule allows, rendered (`TCP 80`, `TCP http (=8080)`, `UDP (all ports)`).
    pub allowed: Vec<String>,
    /// Named ports of the rule (same protocol) that the destination pod does not declare.
    pub unresolved_named: Vec<String>,
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

/// A policy whose unreadable part may change a side's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertainty {
    /// `ns/name`.
    pub policy: String,
    pub reason: String,
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
    pub allowed: bool,
    /// Policies that may make this side's answer wrong (unreadable or invalid), with why.
    pub uncertain: Vec<Uncertainty>,
}

impl SideTrace {
    pub fn isolated(&self) -> bool {
        !self.isolating.is_empty()
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

/// The other end of a side, as policies see it.
/// Borrowed, so building one per pair of a map allocates nothing.
struct PeerView<'a> {
    /// The peer pod, unless it is external or on the host network.
    pod: Option<&'a PodInfo>,
    host_network: bool,
    /// Labels of the peer pod's namespace (empty for an address).
    ns_labels: &'a Labels,
    /// The pod's IPs (a hostNetwork pod's are its node's).
    pod_ips: &'a [IpAddr],
    /// The address, when the peer is not a pod.
    ip: Option<IpAddr>,
}

static NO_LABELS: Labels = Labels::new();

impl<'a> PeerView<'a> {
    fn of(ix: &'a ClusterIndex, e: Endpoint) -> PeerView<'a> {
        match e {
            Endpoint::Pod(id) => {
                let p = ix.pod(id);
                PeerView {
                    pod: (!p.host_network).then_some(p),
                    host_network: p.host_network,
                    // Every pod's namespace is in the index (declared or inferred).
                    ns_labels: ix.namespace(&p.namespace).map_or(&NO_LABELS, |n| &n.labels),
                    pod_ips: &p.ips,
                    ip: None,
                }
            }
            Endpoint::Ip(ip) => PeerView {
                pod: None,
                host_network: false,
                ns_labels: &NO_LABELS,
                pod_ips: &[],
                ip: Some(ip),
            },
        }
    }

    fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.pod_ips.iter().copied().chain(self.ip)
    }
}

fn endpoint_pod(ix: &ClusterIndex, e: Endpoint) -> Option<&PodInfo> {
    match e {
        Endpoint::Pod(id) => Some(ix.pod(id)),
        Endpoint::Ip(_) => None,
    }
}

/// Traffic policy never restricts, if this flow is such traffic.
pub fn always_allowed(ix: &ClusterIndex, src: Endpoint, dst: Endpoint) -> Option<AlwaysAllowed> {
    if src == dst && matches!(src, Endpoint::Pod(_)) {
        return Some(AlwaysAllowed::SamePod);
    }
    let dst_node = endpoint_pod(ix, dst)?.node.clone()?;
    let src_node = match src {
        Endpoint::Pod(id) if ix.pod(id).host_network => ix.pod(id).node.clone(),
        Endpoint::Ip(ip) => ix.node_by_ip(ip).map(|n| n.name.clone()),
        Endpoint::Pod(_) => None,
    }?;
    (src_node == dst_node).then_some(AlwaysAllowed::NodeToLocalPod { node: dst_node })
}

/// Evaluates a flow, explaining both sides.
pub fn evaluate(ix: &ClusterIndex, flow: Flow) -> FlowTrace {
    FlowTrace {
        flow,
        always_allowed: always_allowed(ix, flow.src, flow.dst),
        egress: evaluate_side(ix, flow, Direction::Egress),
        ingress: evaluate_side(ix, flow, Direction::Ingress),
    }
}

fn evaluate_side(ix: &ClusterIndex, flow: Flow, dir: Direction) -> SideTrace {
    let (subject, peer) = match dir {
        Direction::Egress => (flow.src, flow.dst),
        Direction::Ingress => (flow.dst, flow.src),
    };
    let mut trace = SideTrace {
        direction: dir,
        subject: None,
        not_applicable: None,
        isolating: Vec::new(),
        rules: Vec::new(),
        allowed: true,
        uncertain: Vec::new(),
    };
    let subject_id = match subject {
        Endpoint::Ip(_) => {
            trace.not_applicable = Some(match dir {
                Direction::Egress => {
                    "the source is outside the cluster's pods: no NetworkPolicy restricts its egress".into()
                }
                Direction::Ingress => {
                    "the destination is outside the cluster's pods: no NetworkPolicy restricts its ingress".into()
                }
            });
            return trace;
        }
        Endpoint::Pod(id) => id,
    };
    trace.subject = Some(subject_id);
    let subject_pod = ix.pod(subject_id);
    if subject_pod.host_network {
        trace.not_applicable = Some(format!(
            "{} uses the host network: NetworkPolicy neither selects nor restricts it",
            subject_pod.key()
        ));
        return trace;
    }
    trace.isolating = ix.isolating_policies(subject_id, dir);
    let peer_view = PeerView::of(ix, peer);
    let dst_pod = endpoint_pod(ix, flow.dst);
    for &pid in &trace.isolating {
        let pol = &ix.policies[pid];
        for rule in pol.rules(dir).unwrap_or_default() {
            trace
                .rules
                .push(evaluate_rule(ix, pid, rule, &peer_view, dst_pod, flow));
        }
    }
    trace.allowed = !trace.isolated() || trace.rules.iter().any(RuleTrace::allows);

    // What could make this answer wrong. An isolated side that a valid rule allows stays
    // allowed whatever else exists (policies are additive); anything else may change.
    let certainly_allowed = trace.isolated() && trace.allowed;
    if !certainly_allowed {
        for (policy, reason) in ix.possibly_selecting_unreadable(subject_id, dir) {
            trace.uncertain.push(Uncertainty { policy, reason });
        }
    }
    if !trace.allowed {
        for &pid in &trace.isolating {
            if ix.policies[pid].has_rule_issues(dir) {
                trace.uncertain.push(Uncertainty {
                    policy: ix.policies[pid].key(),
                    reason: format!(
                        "NetworkPolicy {} has {} rules that could not be read; one of them may allow this traffic",
                        ix.policies[pid].key(),
                        dir.as_str()
                    ),
                });
            }
        }
    }
    trace
}

fn evaluate_rule(
    ix: &ClusterIndex,
    pid: PolicyId,
    rule: &Rule,
    peer: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    flow: Flow,
) -> RuleTrace {
    let mut peer_failures = Vec::new();
    let mut via_pod_ip = false;
    if let Some(peers) = &rule.peers {
        let mut matched = false;
        for (i, p) in peers.iter().enumerate() {
            match match_peer(ix, p, peer) {
                Ok(pod_ip) => {
                    matched = true;
                    via_pod_ip = pod_ip;
                    if !pod_ip {
                        break;
                    }
                }
                Err(f) => peer_failures.push((i, f)),
            }
        }
        if matched {
            peer_failures.clear();
        }
    }
    RuleTrace {
        policy: pid,
        rule_index: rule.index,
        port_failure: match_ports(rule.ports.as_deref(), flow.protocol, flow.port, dst_pod).err(),
        peer_failures,
        matched_pod_ip_by_ipblock: via_pod_ip,
    }
}

/// Ok(true) when the element matched a pod through its IP (ipBlock), Ok(false) otherwise.
fn match_peer(ix: &ClusterIndex, peer: &Peer, pv: &PeerView<'_>) -> Result<bool, PeerFailure> {
    match peer {
        Peer::Invalid { reason } => Err(PeerFailure::Invalid { reason: reason.clone() }),
        Peer::Pods {
            namespaces,
            pods,
            pod_selector_set,
        } => {
            let Some(pod) = pv.pod else {
                return Err(if pv.host_network {
                    PeerFailure::HostNetworkPeer
                } else {
                    PeerFailure::NotAPod
                });
            };
            match namespaces {
                NamespaceScope::Same(ns) if *ns != pod.namespace => {
                    return Err(PeerFailure::OtherNamespace {
                        policy_namespace: ns.clone(),
                        peer_namespace: pod.namespace.clone(),
                    });
                }
                NamespaceScope::Same(_) => {}
                NamespaceScope::Matching(sel) => {
                    let failed = sel.failures(pv.ns_labels);
                    if !failed.is_empty() {
                        return Err(PeerFailure::NamespaceLabels {
                            namespace: pod.namespace.clone(),
                            failed: failed.iter().map(|r| r.to_string()).collect(),
                            pod_selector_matches: pods.matches(&pod.labels),
                            and_element: *pod_selector_set,
                            missing_labels: failed.iter().filter_map(|r| r.label_that_satisfies()).collect(),
                        });
                    }
                }
            }
            let failed = pods.failures(&pod.labels);
            if !failed.is_empty() {
                return Err(PeerFailure::PodLabels {
                    failed: failed.iter().map(|r| r.to_string()).collect(),
                    and_element: matches!(namespaces, NamespaceScope::Matching(_)),
                });
            }
            Ok(false)
        }
        Peer::IpBlock { cidr, except } => {
            let is_pod_ip = pv.pod.is_some();
            if is_pod_ip && !ix.semantics.ipblock_matches_pods {
                return Err(PeerFailure::IpBlockIgnoresPods { cidr: cidr.to_string() });
            }
            let mut excepted = None;
            for ip in pv.ips() {
                if !cidr.contains(&ip) {
                    continue;
                }
                match except.iter().find(|e| e.contains(&ip)) {
                    Some(e) => excepted = Some((e.to_string(), ip)),
                    None => return Ok(is_pod_ip),
                }
            }
            Err(match excepted {
                Some((except, ip)) => PeerFailure::Excepted {
                    cidr: cidr.to_string(),
                    except,
                    ip,
                },
                None => PeerFailure::OutsideCidr {
                    cidr: cidr.to_string(),
                    ip: pv.ips().next(),
                },
            })
        }
    }
}

/// Checks a rule's ports against the flow; named ports resolve on the destination pod.
fn match_ports(
    ports: Option<&[PortSpec]>,
    proto: Protocol,
    port: Option<u16>,
    dst: Option<&PodInfo>,
) -> Result<(), PortFailure> {
    let Some(ports) = ports else { return Ok(()) };
    let mut allowed = Vec::new();
    let mut unresolved_named = Vec::new();
    for spec in ports {
        let resolved = match &spec.value {
            PortValue::Named(name) => match dst.and_then(|d| d.resolve_named_port(name, spec.protocol)) {
                Some(n) => {
                    allowed.push(format!("{} {name} (={n})", spec.protocol));
                    Some((n, n))
                }
                None => {
                    allowed.push(spec.to_string());
                    if spec.protocol == proto {
                        unresolved_named.push(name.clone());
                    }
                    None
                }
            },
            PortValue::Range(lo, hi) => {
                allowed.push(spec.to_string());
                Some((*lo, *hi))
            }
            PortValue::Any => {
                allowed.push(spec.to_string());
                Some((1, 65535))
            }
            PortValue::Invalid(_) => {
                allowed.push(spec.to_string());
                None
            }
        };
        if spec.protocol != proto {
            continue;
        }
        if let Some((lo, hi)) = resolved
            && port.is_none_or(|p| lo <= p && p <= hi)
        {
            return Ok(());
        }
    }
    Err(PortFailure {
        wanted: match port {
            Some(p) => format!("{proto} {p}"),
            None => format!("{proto} (any port)"),
        },
        allowed,
        unresolved_named,
    })
}

/// The connections a rule admits toward `dst` (named ports resolved on it).
fn rule_conns(rule: &Rule, dst: Option<&PodInfo>) -> ConnSet {
    let Some(ports) = &rule.ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for spec in ports {
        match &spec.value {
            PortValue::Any => c.add_protocol(spec.protocol),
            PortValue::Range(lo, hi) => c.add(spec.protocol, *lo, *hi),
            PortValue::Named(name) => {
                if let Some(n) = dst.and_then(|d| d.resolve_named_port(name, spec.protocol)) {
                    c.add(spec.protocol, n, n);
                }
            }
            PortValue::Invalid(_) => {}
        }
    }
    c
}

/// Which policies isolate every pod, per direction, computed once for many queries.
pub struct Selection {
    per_pod: HashMap<PodId, [Vec<PolicyId>; 2]>,
}

impl Selection {
    pub fn compute(ix: &ClusterIndex) -> Selection {
        Selection {
            per_pod: (0..ix.pods.len())
                .map(|id| {
                    (
                        id,
                        [
                            ix.isolating_policies(id, Direction::Ingress),
                            ix.isolating_policies(id, Direction::Egress),
                        ],
                    )
                })
                .collect(),
        }
    }

    /// The selection of just two endpoints, for a single query.
    pub fn for_pair(ix: &ClusterIndex, a: Endpoint, b: Endpoint) -> Selection {
        let mut per_pod = HashMap::new();
        for e in [a, b] {
            if let Endpoint::Pod(id) = e {
                per_pod.insert(
                    id,
                    [
                        ix.isolating_policies(id, Direction::Ingress),
                        ix.isolating_policies(id, Direction::Egress),
                    ],
                );
            }
        }
        Selection { per_pod }
    }

    pub fn isolating(&self, pod: PodId, dir: Direction) -> &[PolicyId] {
        let Some(both) = self.per_pod.get(&pod) else { return &[] };
        &both[match dir {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        }]
    }
}

/// Everything `src` may open toward `dst`: egress at the source intersected with ingress at
/// the destination. Same semantics as [`evaluate`], without the explanation.
pub fn allowed_conns(ix: &ClusterIndex, sel: &Selection, src: Endpoint, dst: Endpoint) -> ConnSet {
    if always_allowed(ix, src, dst).is_some() {
        return ConnSet::all();
    }
    let dst_pod = endpoint_pod(ix, dst);
    let egress = side_conns(ix, sel, src, dst, Direction::Egress, dst_pod);
    if egress.is_empty() {
        return egress;
    }
    let ingress = side_conns(ix, sel, dst, src, Direction::Ingress, dst_pod);
    egress.intersect(&ingress)
}

/// What one side (egress of `subject` toward `peer`, or ingress of `subject` from `peer`)
/// lets through; an endpoint outside the pods lets everything through.
pub fn side_conns(
    ix: &ClusterIndex,
    sel: &Selection,
    subject: Endpoint,
    peer: Endpoint,
    dir: Direction,
    dst_pod: Option<&PodInfo>,
) -> ConnSet {
    let Endpoint::Pod(id) = subject else {
        return ConnSet::all();
    };
    let isolating = sel.isolating(id, dir);
    if isolating.is_empty() {
        return ConnSet::all();
    }
    let pv = PeerView::of(ix, peer);
    let mut out = ConnSet::none();
    for &pid in isolating {
        let pol = &ix.policies[pid];
        for rule in pol.rules(dir).unwrap_or_default() {
            let peers_match = match &rule.peers {
                None => true,
                Some(peers) => peers.iter().any(|p| match_peer(ix, p, &pv).is_ok()),
            };
            if peers_match {
                out.union_with(&rule_conns(rule, dst_pod));
                if out.is_all() {
                    return out;
                }
            }
        }
    }
    out
}
