//! Cilium rules of one side at L3/L4: which rules select the subject, which of their elements
//! match the peer, and the connections they deny or allow. The tiers use the result: the denies
//! as a deny-only tier before NetworkPolicy, the allows (and Cilium's default deny) inside the
//! NetworkPolicy tier's isolate-then-allow.
//!
//! Cilium enforces its policies and Kubernetes NetworkPolicies together (they are translated to
//! the same rules, `pkg/k8s/network_policy.go`): an endpoint that any of them selects with a
//! section for a direction is in default deny there; the allows are a union; a deny wins over
//! every allow (language.rst, "Deny Policies").
//!
//! Invariant: a peer or rule part that cannot be decided offline decides nothing; it is kept as
//! `unknown` connections so the side can say it is `DATAPLANE_DEPENDENT`.

use std::net::IpAddr;

use super::trace::{CiliumOutcome, CiliumRuleTrace, Doubt, Endpoint, SideTrace, Uncertainty};
use crate::index::CiliumSelected;
use crate::index::{ClusterIndex, PodInfo};
use crate::policy::extended::{
    CiliumIdentity, CiliumPeer, CiliumPortValue, PeerRule, ResolvedService, Section, ServiceBackends, ServicePeer,
    ServiceResolution,
};
use crate::policy::{ConnSet, Direction};

/// What the Cilium rules of one side decide toward one peer.
#[derive(Debug, Default)]
pub(super) struct CiliumSide {
    /// Some rule that certainly selects the subject puts it into default deny for the direction.
    pub(super) isolating: bool,
    pub(super) deny: ConnSet,
    /// Connections a deny element may match (its peer is not decided offline).
    pub(super) deny_unknown: ConnSet,
    /// Every connection an allow element matches (with or without an L7 part).
    pub(super) allow: ConnSet,
    /// Connections an allow element may match.
    pub(super) allow_unknown: ConnSet,
    /// Every element of every selecting rule, evaluated.
    pub(super) traces: Vec<CiliumRuleTrace>,
    /// Rules that may select the subject (a label we cannot know), as `policy field`.
    pub(super) maybe: Vec<(String, String)>,
}

/// How an undecided outcome starts when the rule could not be read (not a dataplane matter).
pub(super) const UNREADABLE: &str = "could not be read: ";

/// The peer as Cilium identities see it.
enum PeerKind {
    /// A pod Cilium manages (not on the host network), its labels gathered once.
    Pod(CiliumIdentity),
    /// A node: a hostNetwork pod, or a Node's address.
    Node(IpAddr),
    /// An address outside the cluster.
    World(IpAddr),
    /// An address that is no pod, in a snapshot without Node objects: it may be a node's.
    MaybeNode(IpAddr),
}

fn peer_kind(ix: &ClusterIndex, peer: Endpoint) -> PeerKind {
    match peer {
        Endpoint::Pod(id) if ix.pod(id).host_network => match ix.pod(id).ips.first() {
            Some(ip) => PeerKind::Node(*ip),
            None => PeerKind::MaybeNode(IpAddr::from([0, 0, 0, 0])),
        },
        Endpoint::Pod(id) => PeerKind::Pod(CiliumIdentity::of(
            &ix.cilium_pod_ref(id),
            !ix.namespaces_labels_unknown.contains(&ix.pod(id).namespace),
        )),
        Endpoint::Ip(ip) if ix.node_by_ip(ip).is_some() => PeerKind::Node(ip),
        Endpoint::Ip(ip) if ix.nodes.is_empty() => PeerKind::MaybeNode(ip),
        Endpoint::Ip(ip) => PeerKind::World(ip),
    }
}

/// Evaluates the Cilium rules that select `subject` for `dir` against `peer`.
/// `selected`: the rules that select the subject for `dir` (`ix.cilium_selecting`).
pub(super) fn cilium_side(
    ix: &ClusterIndex,
    selected: &[CiliumSelected],
    dir: Direction,
    peer: Endpoint,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
) -> Option<CiliumSide> {
    if selected.is_empty() {
        return None;
    }
    let kind = peer_kind(ix, peer);
    let apiserver = apiserver_ips(ix);
    let mut out = CiliumSide::default();
    for s in selected.iter().copied() {
        let pol = &ix.cilium[s.policy];
        let rule = &pol.rules[s.rule];
        if !s.certain {
            out.maybe.push((pol.key(), rule.path.clone()));
            continue;
        }
        out.isolating |= rule.isolates(dir);
        for deny in [true, false] {
            let section = Section::of(dir, deny);
            for (i, pr) in rule.section(section).unwrap_or_default().iter().enumerate() {
                let conns = element_conns(pr, dst_pod);
                let outcome = element_peer(pr, &kind, apiserver.as_deref());
                out.add(section, &outcome, &conns);
                out.traces.push(CiliumRuleTrace {
                    policy: s.policy,
                    rule: s.rule,
                    section,
                    index: i,
                    covers: !conns.intersect(query).is_empty(),
                    outcome,
                });
            }
        }
    }
    Some(out)
}

impl CiliumSide {
    fn add(&mut self, section: Section, outcome: &CiliumOutcome, conns: &ConnSet) {
        match (section.is_deny(), outcome) {
            (_, CiliumOutcome::NoMatch(_)) => {}
            (true, CiliumOutcome::Matched) => self.deny.union_with(conns),
            (true, CiliumOutcome::Unknown(_)) => self.deny_unknown.union_with(conns),
            (false, CiliumOutcome::Matched) => self.allow.union_with(conns),
            (false, CiliumOutcome::Unknown(_)) => self.allow_unknown.union_with(conns),
        }
    }
}

/// Whether the element's L3 part (its peers, ORed) matches the peer.
fn element_peer(pr: &PeerRule, kind: &PeerKind, apiserver: Option<&[IpAddr]>) -> CiliumOutcome {
    if let Some(why) = &pr.undecided {
        return CiliumOutcome::Unknown(why.clone());
    }
    let Some(peers) = &pr.peers else {
        return CiliumOutcome::Matched;
    };
    if peers.is_empty() {
        return CiliumOutcome::NoMatch("it names no peer (an empty rule or an empty list matches nothing)".into());
    }
    let mut unknown = None;
    let mut why_not = Vec::new();
    for p in peers {
        match peer_matches(p, kind, apiserver) {
            CiliumOutcome::Matched => return CiliumOutcome::Matched,
            CiliumOutcome::Unknown(w) => unknown = unknown.or(Some(w)),
            CiliumOutcome::NoMatch(w) => why_not.push(w),
        }
    }
    match unknown {
        Some(w) => CiliumOutcome::Unknown(w),
        None => CiliumOutcome::NoMatch(why_not.join("; ")),
    }
}

fn peer_matches(p: &CiliumPeer, kind: &PeerKind, apiserver: Option<&[IpAddr]>) -> CiliumOutcome {
    use CiliumOutcome::*;
    if let PeerKind::MaybeNode(ip) = kind {
        // Decided only when a node and an outside address would get the same answer.
        let (as_node, as_world) = (
            peer_matches(p, &PeerKind::Node(*ip), apiserver),
            peer_matches(p, &PeerKind::World(*ip), apiserver),
        );
        return match (&as_node, &as_world) {
            (Matched, Matched) => Matched,
            (NoMatch(_), NoMatch(_)) => as_world,
            _ => Unknown(format!(
                "the snapshot has no Node objects, so {ip} may be a node's address (identity host/remote-node, not world), and the rule treats the two differently"
            )),
        };
    }
    match (p, kind) {
        (CiliumPeer::Endpoints(sel), PeerKind::Pod(id)) => match sel.matches_identity(id) {
            Some(true) => Matched,
            Some(false) => NoMatch(format!("endpoint selector {} does not match the peer", sel.describe())),
            None => Unknown(format!(
                "endpoint selector {} reads a label not known here (the cluster name, a label source, the labels of a Namespace that could not be read)",
                sel.describe()
            )),
        },
        (CiliumPeer::Endpoints(sel), PeerKind::Node(_))
            if sel.selector.requirements.iter().any(|r| r.key.starts_with("reserved:")) =>
        {
            Unknown(format!(
                "endpoint selector {} names reserved identities, which depend on the agent's configuration for nodes",
                sel.quote
            ))
        }
        (CiliumPeer::Endpoints(sel), _) => NoMatch(format!(
            "endpoint selector {} matches only Cilium-managed pods; the peer is not one",
            sel.quote
        )),
        (CiliumPeer::Entity(e), kind) => entity(e, kind, apiserver),
        (CiliumPeer::Cidr { net, .. }, PeerKind::Pod(..)) => NoMatch(format!(
            "CIDR {net} never matches a Cilium-managed pod (pods are matched by identity)"
        )),
        (CiliumPeer::Cidr { net, .. }, PeerKind::Node(_)) => NoMatch(format!(
            "CIDR {net} does not match node addresses (policy-cidr-match-mode default)"
        )),
        (CiliumPeer::Cidr { net, except }, PeerKind::World(ip) | PeerKind::MaybeNode(ip)) => {
            if !net.contains(ip) {
                NoMatch(format!("{ip} is outside CIDR {net}"))
            } else if let Some(x) = except.iter().find(|x| x.contains(ip)) {
                NoMatch(format!("{ip} is in CIDR {net} but in its except {x}"))
            } else {
                Matched
            }
        }
        (CiliumPeer::Service(sp), kind) => service_matches(sp, kind, apiserver),
        (CiliumPeer::Undecided(why), _) => Unknown(why.clone()),
        (CiliumPeer::Invalid(why), _) => Unknown(format!("{UNREADABLE}{why}")),
    }
}

/// A `toServices` peer: it matches when one Service it names stands for the peer (see
/// [`ServicePeer`]).
fn service_matches(sp: &ServicePeer, kind: &PeerKind, apiserver: Option<&[IpAddr]>) -> CiliumOutcome {
    use CiliumOutcome::*;
    let (list, unread) = match &sp.resolved {
        Some(ServiceResolution::Services { named, unread }) => (named, unread),
        Some(ServiceResolution::ServicesNotRead) | None => {
            return Unknown(format!(
                "toServices {} names Services, and the snapshot has none",
                sp.quote
            ));
        }
    };
    let not_read = || {
        unread.as_ref().map(|u| {
            Unknown(format!(
                "toServices {} may name Services of {u}, which this scoped read did not list",
                sp.quote
            ))
        })
    };
    if list.is_empty() {
        if let Some(u) = not_read() {
            return u;
        }
        return NoMatch(format!(
            "toServices {} names no Service in the snapshot, so Cilium derives no peer from it",
            sp.quote
        ));
    }
    let mut unknown = None;
    let mut why_not = Vec::new();
    for r in list {
        match backends_match(r, kind, apiserver) {
            Matched => return Matched,
            Unknown(w) => unknown = unknown.or(Some(w)),
            NoMatch(w) => why_not.push(w),
        }
    }
    match (unknown, not_read()) {
        (Some(w), _) => Unknown(w),
        (None, Some(u)) => u,
        (None, None) => NoMatch(why_not.join("; ")),
    }
}

/// One Service named by `toServices` against the peer: a selector-less Service by its endpoint
/// addresses as generated CIDRs; a Service with a selector by the pods it selects from Cilium
/// 1.17 on, by nothing before.
fn backends_match(r: &ResolvedService, kind: &PeerKind, apiserver: Option<&[IpAddr]>) -> CiliumOutcome {
    use CiliumOutcome::*;
    let svc = &r.key;
    match &r.backends {
        ServiceBackends::AddressesUnknown => Unknown(format!(
            "Service {svc} has no selector and its Endpoints are not in the snapshot, so the addresses toServices stands for are unknown"
        )),
        ServiceBackends::Addresses(ips) => {
            let mut why = format!("Service {svc} has no selector and no endpoint address");
            for ip in ips {
                let cidr = CiliumPeer::Cidr {
                    net: ipnet::IpNet::from(*ip),
                    except: Vec::new(),
                };
                match peer_matches(&cidr, kind, apiserver) {
                    NoMatch(w) => {
                        why = format!(
                            "Service {svc} has no selector: toServices stands for its endpoint addresses, matched as CIDRs ({w})"
                        )
                    }
                    other => return other,
                }
            }
            NoMatch(why)
        }
        ServiceBackends::Selector { pods, since_1_17 } => {
            let before = format!(
                "Service {svc} has a selector, and Cilium before 1.17 applies toServices only to Services without one"
            );
            match (
                since_1_17,
                peer_matches(&CiliumPeer::Endpoints(pods.clone()), kind, apiserver),
            ) {
                (Some(false), _) => NoMatch(format!("{before} (the agent's image is older)")),
                (Some(true), Matched) => Matched,
                (Some(true), NoMatch(w)) => NoMatch(format!(
                    "Service {svc}: Cilium 1.17 and later match the pods its selector selects; {w}"
                )),
                (None, NoMatch(w)) => NoMatch(format!("{before}, and from 1.17 on it stands for its pods: {w}")),
                (_, Unknown(w)) => Unknown(format!("Service {svc}: {w}")),
                (None, Matched) => Unknown(format!(
                    "Service {svc} has a selector that selects the peer: Cilium 1.17 and later match it, earlier versions ignore Services with a selector, and the agent's version is not in the snapshot"
                )),
            }
        }
    }
}

/// An entity against the peer (language.rst, "Entities Based"; `pkg/policy/api/entity.go`).
fn entity(e: &str, kind: &PeerKind, apiserver: Option<&[IpAddr]>) -> CiliumOutcome {
    use CiliumOutcome::*;
    let agent = |what: &str| {
        Unknown(format!(
            "entity {e} {what}: it depends on the agent's configuration and the node, not read here"
        ))
    };
    match (e, kind) {
        ("all", _) => Matched,
        ("cluster", PeerKind::Pod(..) | PeerKind::Node(_)) => Matched,
        ("cluster", PeerKind::World(ip) | PeerKind::MaybeNode(ip)) => {
            NoMatch(format!("entity cluster does not include {ip}, outside the cluster"))
        }
        ("world" | "world-ipv4" | "world-ipv6", PeerKind::World(ip) | PeerKind::MaybeNode(ip)) => match (e, ip) {
            ("world-ipv4", IpAddr::V6(_)) | ("world-ipv6", IpAddr::V4(_)) => {
                NoMatch(format!("entity {e} is of the other IP family"))
            }
            _ => Matched,
        },
        ("world" | "world-ipv4" | "world-ipv6", _) => {
            NoMatch(format!("entity {e} is outside the cluster; the peer is in it"))
        }
        ("host" | "remote-node", PeerKind::Node(_)) => agent("may be this node"),
        ("kube-apiserver", PeerKind::Node(ip) | PeerKind::World(ip) | PeerKind::MaybeNode(ip)) => match apiserver {
            Some(ips) if ips.contains(ip) => Matched,
            Some(_) => NoMatch(format!(
                "entity kube-apiserver is the endpoints of default/kubernetes; {ip} is not one"
            )),
            None => agent("may be this address (the endpoints of default/kubernetes are not in the snapshot)"),
        },
        ("host" | "remote-node" | "kube-apiserver", PeerKind::Pod(..)) => {
            NoMatch(format!("entity {e} is not a Cilium-managed pod"))
        }
        ("host" | "remote-node", PeerKind::World(_) | PeerKind::MaybeNode(_)) => {
            NoMatch(format!("entity {e} is a node; the peer is outside the cluster"))
        }
        ("health" | "init" | "ingress" | "unmanaged", _) => agent("names agent-managed identities"),
        _ => Unknown(format!("entity {e} is not one Cilium defines")),
    }
}

/// The connections an element's `toPorts` admit toward `dst` (named ports resolved on it).
fn element_conns(pr: &PeerRule, dst: Option<&PodInfo>) -> ConnSet {
    let Some(ports) = &pr.ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for p in ports {
        for &proto in &p.protocols {
            match &p.port {
                CiliumPortValue::Any => c.add_protocol(proto),
                CiliumPortValue::Range(lo, hi) => c.add(proto, *lo, *hi),
                CiliumPortValue::Named(name) => {
                    for cp in dst.into_iter().flat_map(|d| &d.ports) {
                        if cp.protocol == proto && cp.name.as_deref() == Some(name.as_str()) {
                            c.add(proto, cp.port, cp.port);
                        }
                    }
                }
            }
        }
    }
    c
}

/// Cilium policies (or rules) that could not be read and may select the subject.
pub(super) fn unreadable(ix: &ClusterIndex, subject: crate::index::PodId, dir: Direction, trace: &mut SideTrace) {
    for (policy, reason) in ix.cilium_unreadable(subject, dir) {
        trace.uncertain.push(Uncertainty {
            policy,
            reason,
            doubt: Doubt::Unreadable,
        });
    }
}

/// A host endpoint (a hostNetwork pod, a node's address) is selected only by host policies
/// (`nodeSelector`), which are out of scope: when one has a section for `dir`, the side is
/// `DATAPLANE_DEPENDENT` instead of unrestricted.
pub(super) fn host_policy(ix: &ClusterIndex, subject: Endpoint, dir: Direction, trace: &mut SideTrace) {
    let host = match subject {
        Endpoint::Pod(id) => ix.pod(id).host_network,
        Endpoint::Ip(ip) => ix.node_by_ip(ip).is_some(),
    };
    if !host {
        return;
    }
    for pol in &ix.cilium {
        for rule in &pol.rules {
            if matches!(rule.subject, crate::policy::extended::CiliumSubject::Host) && rule.isolates(dir) {
                trace.uncertain.push(Uncertainty {
                    policy: pol.key(),
                    reason: format!(
                        "{} {}.nodeSelector is a host policy: it may restrict the {} of a node and its hostNetwork pods, which netpol-debug does not evaluate",
                        pol.key(),
                        rule.path,
                        dir.as_str()
                    ),
                    doubt: Doubt::DataplaneDependent,
                });
            }
        }
    }
}

/// The API server's addresses (the endpoints of `default/kubernetes`), which Cilium gives the
/// `kube-apiserver` identity (language.rst, "Entities Based"); `None` when the snapshot lacks them.
fn apiserver_ips(ix: &ClusterIndex) -> Option<Vec<IpAddr>> {
    let svc = ix.service("default", "kubernetes")?;
    let ips: Vec<IpAddr> = svc.endpoints.iter().map(|a| a.ip).collect();
    (!ips.is_empty()).then_some(ips)
}
