//! One matcher per clause of a rule: the peer kinds (pod/namespace selectors, ipBlock with its
//! `except`), the ports (numbers, ranges, named ports), and the peers of admin rules, against the
//! other end of a side seen as a [`PeerView`].
//!
//! Invariant: a matcher answers for one clause and one peer, and says why it failed as data.

use std::net::IpAddr;

use ipnet::IpNet;

use super::trace::{AllowedPort, Endpoint, Flow, PeerFailure, PortFailure, RuleTrace, WantedPort};
use crate::index::{ClusterIndex, NO_LABELS, PodInfo, PolicyId, Semantics};
use crate::policy::Direction;
use crate::policy::admin::{AdminPeer, AdminRule};
use crate::policy::connset::{MAX_PORT, MIN_PORT};
use crate::policy::{Labels, NamespaceScope, Peer, PortSpec, PortValue, Protocol, Rule, Selector};

/// What every tier of one side looks at besides its rules.
pub(super) struct SideCtx<'a> {
    pub(super) ix: &'a ClusterIndex,
    pub(super) dir: Direction,
    /// The other end of the side.
    pub(super) peer: PeerView<'a>,
    /// The destination pod: named ports resolve on it.
    pub(super) dst_pod: Option<&'a PodInfo>,
}

/// The other end of a side, as policies see it.
/// Borrowed, so building one per pair of a map allocates nothing.
pub(super) struct PeerView<'a> {
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
    pub(super) fn of(ix: &'a ClusterIndex, e: Endpoint) -> PeerView<'a> {
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

    /// The peer pod, unless it is external or on the host network.
    pub(super) fn pod(&self) -> Option<&'a PodInfo> {
        self.pod
    }

    pub(super) fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.pod_ips.iter().copied().chain(self.ip)
    }
}

/// The pod an endpoint is, if any.
pub(super) fn endpoint_pod(ix: &ClusterIndex, e: Endpoint) -> Option<&PodInfo> {
    match e {
        Endpoint::Pod(id) => Some(ix.pod(id)),
        Endpoint::Ip(_) => None,
    }
}

/// One rule of an isolating NetworkPolicy against the peer and the flow's port: every clause, the
/// failures of each peer element when none matched.
pub(super) fn evaluate_rule(
    ix: &ClusterIndex,
    pid: PolicyId,
    rule: &Rule,
    peer: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    flow: Flow,
) -> RuleTrace {
    let (peer_failures, matched_pod_ip_by_ipblock) = match &rule.peers {
        Some(peers) => match_peers(ix, peers, peer),
        None => (Vec::new(), false),
    };
    RuleTrace {
        policy: pid,
        rule_index: rule.index,
        port_failure: match_ports(rule.ports.as_deref(), flow.protocol, flow.port, dst_pod).err(),
        peer_failures,
        matched_pod_ip_by_ipblock,
    }
}

/// The `from` / `to` clause: OR of its elements. Returns the failure of every element (none when
/// one matched) and whether the match went only through an ipBlock containing a pod's IP.
fn match_peers(ix: &ClusterIndex, peers: &[Peer], pv: &PeerView<'_>) -> (Vec<(usize, PeerFailure)>, bool) {
    let mut failures = Vec::new();
    let mut matched = false;
    let mut via_pod_ip = false;
    for (i, p) in peers.iter().enumerate() {
        match match_peer(ix, p, pv) {
            Ok(pod_ip) => {
                matched = true;
                via_pod_ip = pod_ip;
                if !pod_ip {
                    break;
                }
            }
            Err(f) => failures.push((i, f)),
        }
    }
    if matched {
        failures.clear();
    }
    (failures, via_pod_ip)
}

/// One peer element. Ok(true) when it matched a pod through its IP (ipBlock), Ok(false) otherwise.
pub(super) fn match_peer(ix: &ClusterIndex, peer: &Peer, pv: &PeerView<'_>) -> Result<bool, PeerFailure> {
    match peer {
        Peer::Invalid { reason } => Err(PeerFailure::Invalid { reason: reason.clone() }),
        Peer::Pods {
            namespaces,
            pods,
            pod_selector_set,
        } => match_pods(namespaces, pods, *pod_selector_set, pv).map(|()| false),
        Peer::IpBlock { cidr, except } => match_ip_block(ix.semantics, cidr, except, pv),
    }
}

/// A podSelector / namespaceSelector element: the namespace half, then the pod half.
fn match_pods(
    namespaces: &NamespaceScope,
    pods: &Selector,
    pod_selector_set: bool,
    pv: &PeerView<'_>,
) -> Result<(), PeerFailure> {
    let Some(pod) = pv.pod else {
        return Err(if pv.host_network {
            PeerFailure::HostNetworkPeer
        } else {
            PeerFailure::NotAPod
        });
    };
    match_namespace(namespaces, pods, pod_selector_set, pod, pv.ns_labels)?;
    let failed = pods.failures(&pod.labels);
    if !failed.is_empty() {
        return Err(PeerFailure::PodLabels {
            failed: failed.iter().map(|r| (*r).clone()).collect(),
            and_element: matches!(namespaces, NamespaceScope::Matching(_)),
        });
    }
    Ok(())
}

/// The namespace half of a pod element: the policy's own namespace (podSelector alone), or the
/// namespaces a namespaceSelector matches.
fn match_namespace(
    namespaces: &NamespaceScope,
    pods: &Selector,
    pod_selector_set: bool,
    pod: &PodInfo,
    ns_labels: &Labels,
) -> Result<(), PeerFailure> {
    match namespaces {
        NamespaceScope::Same(ns) if *ns != pod.namespace => Err(PeerFailure::OtherNamespace {
            policy_namespace: ns.clone(),
            peer_namespace: pod.namespace.clone(),
        }),
        NamespaceScope::Same(_) => Ok(()),
        NamespaceScope::Matching(sel) => {
            let failed = sel.failures(ns_labels);
            if failed.is_empty() {
                return Ok(());
            }
            Err(PeerFailure::NamespaceLabels {
                namespace: pod.namespace.clone(),
                failed: failed.iter().map(|r| (*r).clone()).collect(),
                pod_selector_matches: pods.matches(&pod.labels),
                and_element: pod_selector_set,
                missing_labels: failed.iter().filter_map(|r| r.label_that_satisfies()).collect(),
            })
        }
    }
}

/// An ipBlock element: some address of the peer inside `cidr` and outside every `except` block.
/// Ok(true) when the address is a pod's.
fn match_ip_block(
    semantics: Semantics,
    cidr: &IpNet,
    except: &[IpNet],
    pv: &PeerView<'_>,
) -> Result<bool, PeerFailure> {
    let is_pod_ip = pv.pod.is_some();
    if is_pod_ip && !semantics.ipblock_matches_pods {
        return Err(PeerFailure::IpBlockIgnoresPods { cidr: *cidr });
    }
    let mut excepted = None;
    for ip in pv.ips() {
        if !cidr.contains(&ip) {
            continue;
        }
        match except.iter().find(|e| e.contains(&ip)) {
            Some(e) => excepted = Some((*e, ip)),
            None => return Ok(is_pod_ip),
        }
    }
    Err(match excepted {
        Some((except, ip)) => PeerFailure::Excepted {
            cidr: *cidr,
            except,
            ip,
        },
        None => PeerFailure::OutsideCidr {
            cidr: *cidr,
            ip: pv.ips().next(),
        },
    })
}

/// The ports one entry of a `ports` clause stands for toward `dst`: a named port resolves on the
/// destination pod (`None` when it does not declare it, or the destination is no pod); an entry
/// that could not be read stands for none.
pub(super) fn spec_ports(spec: &PortSpec, dst: Option<&PodInfo>) -> Option<(u16, u16)> {
    match &spec.value {
        PortValue::Named(name) => dst
            .and_then(|d| d.resolve_named_port(name, spec.protocol))
            .map(|n| (n, n)),
        PortValue::Range(lo, hi) => Some((*lo, *hi)),
        PortValue::Any => Some((MIN_PORT, MAX_PORT)),
        PortValue::Invalid(_) => None,
    }
}

/// The `ports` clause against the flow's protocol and port (`None`: any port of the protocol).
pub(super) fn match_ports(
    ports: Option<&[PortSpec]>,
    proto: Protocol,
    port: Option<u16>,
    dst: Option<&PodInfo>,
) -> Result<(), PortFailure> {
    let Some(ports) = ports else { return Ok(()) };
    let mut allowed = Vec::new();
    let mut unresolved_named = Vec::new();
    for spec in ports {
        let resolved = spec_ports(spec, dst);
        allowed.push(AllowedPort {
            spec: spec.clone(),
            resolved: match spec.value {
                PortValue::Named(_) => resolved.map(|(n, _)| n),
                _ => None,
            },
        });
        if spec.protocol != proto {
            continue;
        }
        match (resolved, &spec.value) {
            (Some((lo, hi)), _) if port.is_none_or(|p| lo <= p && p <= hi) => return Ok(()),
            (None, PortValue::Named(name)) => unresolved_named.push(name.clone()),
            _ => {}
        }
    }
    Err(PortFailure {
        wanted: WantedPort { protocol: proto, port },
        allowed,
        unresolved_named,
    })
}

/// The peers of an admin rule (OR of its elements): `Some(true)`, `Some(false)`, or `None` when
/// that cannot be known (domain names are not resolved).
pub(super) fn admin_rule_matches(ix: &ClusterIndex, rule: &AdminRule, pv: &PeerView<'_>) -> Option<bool> {
    let mut unknown = false;
    for p in &rule.peers {
        match admin_peer_matches(ix, p, pv) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}

/// One element of an admin rule's peers (`None`: unknown).
fn admin_peer_matches(ix: &ClusterIndex, peer: &AdminPeer, pv: &PeerView<'_>) -> Option<bool> {
    match peer {
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
    }
}
