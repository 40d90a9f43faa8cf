//! One matcher per clause of a rule: the peer kinds (pod/namespace selectors, ipBlock with its
//! `except`), the ports (numbers, ranges, named ports), and the peers of admin rules, against the
//! other end of a side seen as a [`PeerView`].
//!
//! Invariant: a matcher answers for one clause and one peer, and says why it failed as data.

use std::net::IpAddr;

use super::trace::{Endpoint, Flow, PeerFailure, PortFailure, RuleTrace};
use crate::index::{ClusterIndex, NO_LABELS, PodInfo, PolicyId};
use crate::policy::admin::{AdminPeer, AdminRule};
use crate::policy::{Labels, NamespaceScope, Peer, PortSpec, PortValue, Protocol, Rule};

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

    pub(super) fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.pod_ips.iter().copied().chain(self.ip)
    }
}

pub(super) fn endpoint_pod(ix: &ClusterIndex, e: Endpoint) -> Option<&PodInfo> {
    match e {
        Endpoint::Pod(id) => Some(ix.pod(id)),
        Endpoint::Ip(_) => None,
    }
}

pub(super) fn evaluate_rule(
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
pub(super) fn match_peer(ix: &ClusterIndex, peer: &Peer, pv: &PeerView<'_>) -> Result<bool, PeerFailure> {
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

/// Whether a rule's peers match the other end: `Some(true)`, `Some(false)`, or `None` when that
/// cannot be known (domain names are not resolved).
pub(super) fn admin_rule_matches(ix: &ClusterIndex, rule: &AdminRule, pv: &PeerView<'_>) -> Option<bool> {
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
