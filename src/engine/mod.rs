//! The evaluation of one flow against the lowered policies: pure, synchronous, total.
//!
//! Order, as the Kubernetes documentation defines it: traffic that policy never touches first
//! (a pod to itself, a node to its own pods), then egress at the source, then ingress at the
//! destination. A flow is allowed when both sides allow it. Every result carries its
//! explanation as data: which policies isolate each side, which rule allowed, and for each rule
//! that did not, the first clause that failed.
//!
//! Each side goes through three tiers, connection by connection (protocol x port): the
//! AdminNetworkPolicy tier (the first matching rule in priority order decides: Allow, Deny, or
//! Pass), then NetworkPolicy for what the first tier passed or left (when a NetworkPolicy
//! isolates the pod), else the BaselineAdminNetworkPolicy (first matching rule), else allow.
//! Without admin policies in the snapshot only the NetworkPolicy tier exists.

use std::collections::HashMap;
use std::net::IpAddr;

pub use crate::policy::ConnSet;

use crate::index::{ClusterIndex, NO_LABELS, PodId, PodInfo, PolicyId};
pub use crate::policy::admin::{AdminAction, AdminKind};
use crate::policy::admin::{AdminPeer, AdminPolicy, AdminPort, AdminRule};
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

/// The admin rule that decided (a port of) a flow on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminHit {
    pub kind: AdminKind,
    /// The policy's name (both kinds are cluster-scoped).
    pub policy: String,
    /// `spec.priority` of an AdminNetworkPolicy; `None` for the baseline.
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

    /// `spec.ingress[2]` / `spec.egress[0]`.
    pub fn field(&self, dir: Direction) -> String {
        format!("spec.{}[{}]", dir.as_str(), self.rule_index)
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
    /// The AdminNetworkPolicy rule that decided the flow's port (Allow, Deny) or passed it to the
    /// next tiers (Pass). For a flow on every port of a protocol: the first rule, in evaluation
    /// order, that decided some of its ports.
    pub admin: Option<AdminHit>,
    /// The BaselineAdminNetworkPolicy rule that decided, when the AdminNetworkPolicy tier passed or
    /// left the port and no NetworkPolicy isolates the pod.
    pub baseline: Option<AdminHit>,
    /// The verdict of all tiers: AdminNetworkPolicy, NetworkPolicy (or baseline), default allow.
    pub allowed: bool,
    /// Policies that may make this side's answer wrong (unreadable or invalid), with why.
    pub uncertain: Vec<Uncertainty>,
}

impl SideTrace {
    /// A NetworkPolicy isolates the subject for this direction.
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

impl<'a> PeerView<'a> {
    fn of(ix: &'a ClusterIndex, e: Endpoint) -> PeerView<'a> {
        match e {
            Endpoint::Pod(id) => {
                let p = ix.pod(id);
                PeerView {
                    pod: (!p.host_network).then_some(p),
                    host_network: p.host_network,
                    ns_labels: ix.pod_namespace_labels(id),
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
        admin: None,
        baseline: None,
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
    let query = ConnSet::single(flow.protocol, flow.port);
    let anps = if ix.admin.is_empty() {
        Vec::new()
    } else {
        ix.admin_selecting(subject_id, dir)
    };
    let mut unknown = Vec::new();
    let first = admin_tier(ix, &anps, dir, &peer_view, dst_pod, &query, &mut unknown);
    trace.admin = first.hit.clone();
    // The NetworkPolicy tier sees what the first tier passed or left.
    let np_reached = !first.down.is_empty();
    let rest_allowed = if !np_reached {
        false
    } else if trace.isolated() {
        if first.down == query {
            trace.rules.iter().any(RuleTrace::allows)
        } else {
            let mut np = ConnSet::none();
            for r in trace.rules.iter().filter(|r| r.peer_failures.is_empty()) {
                if let Some(rule) = ix.policies[r.policy].rule(dir, r.rule_index) {
                    np.union_with(&rule_conns(rule, dst_pod));
                }
            }
            !first.down.intersect(&np).is_empty()
        }
    } else {
        let banp = if ix.admin.is_empty() {
            None
        } else {
            ix.baseline_selecting(subject_id, dir)
        };
        let (allowed, hit) = baseline_tier(ix, banp, dir, &peer_view, dst_pod, &first.down, &mut unknown);
        trace.baseline = hit;
        !allowed.is_empty()
    };
    trace.allowed = !first.allowed.is_empty() || rest_allowed;

    // What could make this answer wrong. An isolated side that a valid rule allows stays
    // allowed whatever other NetworkPolicy exists (policies are additive); anything else may change.
    let certainly_allowed = trace.isolated() && rest_allowed;
    if np_reached && !certainly_allowed {
        for (policy, reason) in ix.possibly_selecting_unreadable(subject_id, dir) {
            trace.uncertain.push(Uncertainty { policy, reason });
        }
    }
    // The peer's namespace labels could not be read: a namespaceSelector may decide either way,
    // unless a rule that does not look at namespace labels allows the traffic anyway.
    let peer_ns = endpoint_pod(ix, peer).map(|p| p.namespace.as_str());
    if np_reached
        && first.allowed.is_empty()
        && trace.isolated()
        && let Some(ns) = peer_ns.filter(|ns| ix.namespaces_labels_unknown.contains(*ns))
    {
        let reads_labels = |rule: &Rule| {
            rule.peers.iter().flatten().any(
                |p| matches!(p, Peer::Pods { namespaces: NamespaceScope::Matching(sel), .. } if !sel.is_everything()),
            )
        };
        let allowed_regardless = trace.rules.iter().filter(|r| r.allows()).any(|r| {
            ix.policies[r.policy]
                .rule(dir, r.rule_index)
                .is_some_and(|rule| !reads_labels(rule))
        });
        if !allowed_regardless {
            for &pid in &trace.isolating {
                let pol = &ix.policies[pid];
                if pol.rules(dir).unwrap_or_default().iter().any(reads_labels) {
                    trace.uncertain.push(Uncertainty {
                        policy: pol.key(),
                        reason: format!(
                            "the Namespace object of {ns} could not be read, so its labels are unknown: a namespaceSelector of {} may match it or not",
                            pol.key()
                        ),
                    });
                }
            }
        }
    }
    if np_reached && !trace.allowed {
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
    if !ix.admin.is_empty() {
        admin_uncertainty(
            ix, &mut trace, subject_id, &anps, &peer_view, dst_pod, &query, &first, np_reached,
        );
    }
    trace.uncertain.extend(unknown);
    trace
}

/// What the AdminNetworkPolicy tier decided for a set of connections.
struct FirstTier {
    /// Allowed by an Allow rule.
    allowed: ConnSet,
    /// Passed by a Pass rule or matched by no rule: for the next tiers.
    down: ConnSet,
    /// The first rule that decided (or passed) some of the connections.
    hit: Option<AdminHit>,
    /// The priority of the policy after which no connection was left undecided.
    settled_at: Option<i32>,
}

/// Whether a rule's peers match the other end: `Some(true)`, `Some(false)`, or `None` when that
/// cannot be known (domain names are not resolved).
fn admin_rule_matches(ix: &ClusterIndex, rule: &AdminRule, pv: &PeerView<'_>) -> Option<bool> {
    let mut unknown = false;
    for p in &rule.peers {
        let m = match p {
            AdminPeer::Namespaces(ns) => Some(pv.pod.is_some() && ns.matches(pv.ns_labels)),
            AdminPeer::Pods { namespaces, pods } => Some(
                pv.pod
                    .is_some_and(|pod| namespaces.matches(pv.ns_labels) && pods.matches(&pod.labels)),
            ),
            AdminPeer::Nodes(sel) => Some(
                pv.pod.is_none()
                    && pv.ips().any(|ip| {
                        ix.node_by_ip(ip)
                            .and_then(|n| ix.admin.node_labels(&n.name))
                            .is_some_and(|l| sel.matches(l))
                    }),
            ),
            AdminPeer::Networks(nets) => Some(
                (pv.pod.is_none() || ix.semantics.ipblock_matches_pods)
                    && pv.ips().any(|ip| nets.iter().any(|n| n.contains(&ip))),
            ),
            AdminPeer::DomainNames(_) => pv.pod.is_some().then_some(false),
        };
        match m {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}

/// An Uncertainty for a rule whose peers may or may not match (domain names).
fn unknown_peer(pol: &AdminPolicy, rule: &AdminRule, dir: Direction) -> Uncertainty {
    Uncertainty {
        policy: pol.key(),
        reason: format!(
            "rule spec.{}[{}] ({:?}) of {} names domain names, which are not resolved here; it may {} this traffic",
            dir.as_str(),
            rule.index,
            rule.name,
            pol.key(),
            rule.action.as_str().to_ascii_lowercase()
        ),
    }
}

/// The AdminNetworkPolicy tier over `query`: policies `anps` in evaluation order, the first
/// matching rule decides each connection.
fn admin_tier(
    ix: &ClusterIndex,
    anps: &[usize],
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> FirstTier {
    let mut out = FirstTier {
        allowed: ConnSet::none(),
        down: ConnSet::none(),
        hit: None,
        settled_at: None,
    };
    let mut undecided = query.clone();
    'policies: for &i in anps {
        let pol = &ix.admin.policies[i];
        for rule in pol.rules(dir) {
            let matched = admin_rule_matches(ix, rule, pv);
            if matched == Some(false) {
                continue;
            }
            let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
            if hit.is_empty() {
                continue;
            }
            if matched.is_none() {
                unknown.push(unknown_peer(pol, rule, dir));
                continue;
            }
            if out.hit.is_none() {
                out.hit = Some(admin_hit(pol, rule));
            }
            match rule.action {
                AdminAction::Allow => out.allowed.union_with(&hit),
                AdminAction::Pass => out.down.union_with(&hit),
                AdminAction::Deny => {}
            }
            undecided = undecided.subtract(&hit);
            if undecided.is_empty() {
                out.settled_at = pol.priority;
                break 'policies;
            }
        }
    }
    out.down.union_with(&undecided);
    out
}

/// The baseline tier over `remaining`: the first matching rule decides each connection, and
/// what no rule matches is allowed. Returns the allowed part and the first deciding rule.
fn baseline_tier(
    ix: &ClusterIndex,
    banp: Option<usize>,
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    remaining: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> (ConnSet, Option<AdminHit>) {
    let mut undecided = remaining.clone();
    let mut allowed = ConnSet::none();
    let mut first = None;
    if let Some(b) = banp {
        let pol = &ix.admin.policies[b];
        for rule in pol.rules(dir) {
            let matched = admin_rule_matches(ix, rule, pv);
            if matched == Some(false) {
                continue;
            }
            let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
            if hit.is_empty() {
                continue;
            }
            if matched.is_none() {
                unknown.push(unknown_peer(pol, rule, dir));
                continue;
            }
            if first.is_none() {
                first = Some(admin_hit(pol, rule));
            }
            if rule.action == AdminAction::Allow {
                allowed.union_with(&hit);
            }
            undecided = undecided.subtract(&hit);
            if undecided.is_empty() {
                break;
            }
        }
    }
    allowed.union_with(&undecided);
    (allowed, first)
}

/// One policy's own first-match decisions over `query`, as if it were alone in its tier.
fn policy_decisions(
    ix: &ClusterIndex,
    pol: &AdminPolicy,
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
) -> Vec<(ConnSet, usize, AdminAction)> {
    let mut undecided = query.clone();
    let mut out = Vec::new();
    for rule in pol.rules(dir) {
        if admin_rule_matches(ix, rule, pv) != Some(true) {
            continue;
        }
        let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
        if hit.is_empty() {
            continue;
        }
        undecided = undecided.subtract(&hit);
        out.push((hit, rule.index, rule.action));
        if undecided.is_empty() {
            break;
        }
    }
    out
}

/// Admin policies that may make a side's answer wrong: unreadable ones that may select the
/// subject and are reached, and AdminNetworkPolicies sharing the deciding policy's priority that
/// would decide the flow otherwise.
#[allow(clippy::too_many_arguments)]
fn admin_uncertainty(
    ix: &ClusterIndex,
    trace: &mut SideTrace,
    subject: PodId,
    anps: &[usize],
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
    first: &FirstTier,
    np_reached: bool,
) {
    let dir = trace.direction;
    for (i, reason) in ix.unreadable_admin_selecting(subject, dir) {
        let pol = &ix.admin.policies[i];
        let reached = match pol.kind {
            // An unreadable AdminNetworkPolicy is evaluated before the policy that settled the
            // whole flow unless its (readable) priority is higher.
            AdminKind::Admin => match (pol.priority, first.settled_at) {
                (Some(p), Some(settled)) => p <= settled,
                _ => true,
            },
            AdminKind::Baseline => np_reached && !trace.isolated(),
        };
        if reached {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason,
            });
        }
    }
    // Same priority: their order is undefined. Check the deciding policy against its peers.
    let Some(hit) = &first.hit else { return };
    let Some(&deciding) = anps.iter().find(|&&i| ix.admin.policies[i].name == hit.policy) else {
        return;
    };
    let decider = &ix.admin.policies[deciding];
    let mine = policy_decisions(ix, decider, dir, pv, dst_pod, query);
    for &other in anps {
        let o = &ix.admin.policies[other];
        if other == deciding || o.priority != decider.priority {
            continue;
        }
        let theirs = policy_decisions(ix, o, dir, pv, dst_pod, query);
        let conflict = mine.iter().find_map(|(c, r, a)| {
            theirs
                .iter()
                .find(|(c2, _, a2)| a2 != a && !c.intersect(c2).is_empty())
                .map(|(_, r2, a2)| (*r, *a, *r2, *a2))
        });
        if let Some((r, a, r2, a2)) = conflict {
            trace.uncertain.push(Uncertainty {
                policy: o.key(),
                reason: format!(
                    "{} and {} share priority {}, and both match this traffic: {} by its rule spec.{d}[{r}], {} by rule \
                     spec.{d}[{r2}]; Kubernetes leaves their order undefined (evaluated here by name)",
                    decider.key(),
                    o.key(),
                    decider.priority.unwrap_or_default(),
                    a.as_str(),
                    a2.as_str(),
                    d = dir.as_str(),
                ),
            });
        }
    }
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

/// The hit for one rule of an admin policy.
fn admin_hit(pol: &AdminPolicy, rule: &AdminRule) -> AdminHit {
    AdminHit {
        kind: pol.kind,
        policy: pol.name.clone(),
        priority: pol.priority,
        rule_index: rule.index,
        rule_name: rule.name.clone(),
        action: rule.action,
    }
}

/// The connections an admin rule's ports cover toward `dst` (named ports resolved on it, whatever
/// their protocol; an address declares no port).
fn admin_rule_conns(rule: &AdminRule, dst: Option<&PodInfo>) -> ConnSet {
    let Some(ports) = &rule.ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for p in ports {
        match p {
            AdminPort::Number { protocol, port } => c.add(*protocol, *port, *port),
            AdminPort::Range { protocol, start, end } => c.add(*protocol, *start, *end),
            AdminPort::Named(name) => {
                for cp in dst.into_iter().flat_map(|d| &d.ports) {
                    if cp.name.as_deref() == Some(name.as_str()) {
                        c.add(cp.protocol, cp.port, cp.port);
                    }
                }
            }
        }
    }
    c
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

/// Which policies isolate every pod, and which admin policies select it, per direction,
/// computed once for many queries.
pub struct Selection {
    per_pod: HashMap<PodId, [Vec<PolicyId>; 2]>,
    /// Only pods that some admin policy selects.
    admin: HashMap<PodId, AdminSelection>,
}

/// The admin policies that select one pod, per direction (ingress, egress).
#[derive(Default)]
struct AdminSelection {
    /// AdminNetworkPolicies in evaluation order.
    anps: [Vec<usize>; 2],
    banp: [Option<usize>; 2],
}

impl Selection {
    pub fn compute(ix: &ClusterIndex) -> Selection {
        let mut sel = Selection {
            per_pod: HashMap::new(),
            admin: HashMap::new(),
        };
        for id in 0..ix.pods.len() {
            sel.add(ix, id);
        }
        sel
    }

    /// The selection of just two endpoints, for a single query.
    pub fn for_pair(ix: &ClusterIndex, a: Endpoint, b: Endpoint) -> Selection {
        let mut sel = Selection {
            per_pod: HashMap::new(),
            admin: HashMap::new(),
        };
        for e in [a, b] {
            if let Endpoint::Pod(id) = e {
                sel.add(ix, id);
            }
        }
        sel
    }

    fn add(&mut self, ix: &ClusterIndex, id: PodId) {
        self.per_pod.insert(
            id,
            [
                ix.isolating_policies(id, Direction::Ingress),
                ix.isolating_policies(id, Direction::Egress),
            ],
        );
        if ix.admin.is_empty() {
            return;
        }
        let mut a = AdminSelection::default();
        for dir in [Direction::Ingress, Direction::Egress] {
            a.anps[dir.index()] = ix.admin_selecting(id, dir);
            a.banp[dir.index()] = ix.baseline_selecting(id, dir);
        }
        if a.anps.iter().any(|v| !v.is_empty()) || a.banp.iter().any(Option::is_some) {
            self.admin.insert(id, a);
        }
    }

    pub fn isolating(&self, pod: PodId, dir: Direction) -> &[PolicyId] {
        let Some(both) = self.per_pod.get(&pod) else { return &[] };
        &both[dir.index()]
    }

    /// The AdminNetworkPolicies that select the pod for `dir`, in evaluation order (indices into
    /// `ix.admin.policies`).
    pub fn admin(&self, pod: PodId, dir: Direction) -> &[usize] {
        self.admin.get(&pod).map_or(&[], |a| &a.anps[dir.index()])
    }

    /// The BaselineAdminNetworkPolicy, if it selects the pod for `dir`.
    pub fn baseline(&self, pod: PodId, dir: Direction) -> Option<usize> {
        self.admin.get(&pod).and_then(|a| a.banp[dir.index()])
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
    let (anps, banp) = (sel.admin(id, dir), sel.baseline(id, dir));
    if anps.is_empty() && banp.is_none() {
        if isolating.is_empty() {
            return ConnSet::all();
        }
        return np_conns(ix, isolating, dir, &PeerView::of(ix, peer), dst_pod);
    }
    let pv = PeerView::of(ix, peer);
    let mut ignored = Vec::new();
    let first = admin_tier(ix, anps, dir, &pv, dst_pod, &ConnSet::all(), &mut ignored);
    let mut out = first.allowed;
    if first.down.is_empty() {
        return out;
    }
    if isolating.is_empty() {
        out.union_with(&baseline_tier(ix, banp, dir, &pv, dst_pod, &first.down, &mut ignored).0);
    } else {
        out.union_with(&first.down.intersect(&np_conns(ix, isolating, dir, &pv, dst_pod)));
    }
    out
}

/// What the NetworkPolicies that isolate a pod allow toward / from the peer.
fn np_conns(
    ix: &ClusterIndex,
    isolating: &[PolicyId],
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
) -> ConnSet {
    let mut out = ConnSet::none();
    for &pid in isolating {
        let pol = &ix.policies[pid];
        for rule in pol.rules(dir).unwrap_or_default() {
            let peers_match = match &rule.peers {
                None => true,
                Some(peers) => peers.iter().any(|p| match_peer(ix, p, pv).is_ok()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Semantics;

    #[test]
    fn admin_rule_ports_resolve_named_ports_on_the_destination_pod_whatever_their_protocol() {
        let snap = crate::snapshot::load_str(
            "t.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: a}\nspec:\n  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]\n",
        )
        .expect("test snapshot parses");
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let rule = |ports: Option<Vec<AdminPort>>| AdminRule {
            index: 0,
            name: String::new(),
            action: AdminAction::Allow,
            peers: Vec::new(),
            ports,
        };
        assert_eq!(admin_rule_conns(&rule(None), None), ConnSet::all());
        let named = rule(Some(vec![
            AdminPort::Named("http".into()),
            AdminPort::Named("dns".into()),
            AdminPort::Number {
                protocol: Protocol::Sctp,
                port: 9,
            },
        ]));
        let c = admin_rule_conns(&named, Some(ix.pod(0)));
        assert!(c.contains(Protocol::Tcp, 8080) && c.contains(Protocol::Udp, 53) && c.contains(Protocol::Sctp, 9));
        assert!(!c.contains(Protocol::Tcp, 53) && !c.contains(Protocol::Udp, 8080));
        let toward_an_address = admin_rule_conns(&named, None);
        assert!(!toward_an_address.contains(Protocol::Tcp, 8080) && toward_an_address.contains(Protocol::Sctp, 9));
    }
}
