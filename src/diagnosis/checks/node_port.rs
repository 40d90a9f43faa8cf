//! NodePort and LoadBalancer traffic from outside: under `externalTrafficPolicy: Cluster` the
//! node that receives it may SNAT it to its own IP, so policy sees a node IP, not the client.
//!
//! Invariant: the verdict for the node IPs is computed for every node that may forward the
//! traffic; when they disagree, or the dataplane does not show whether it SNATs, the answer is
//! `inconclusive`. With kube-proxy the diagnosis becomes the one for a node IP.

use std::net::IpAddr;

use super::{Effect, Ends, Finding, Rank, Record, pod_of, runs_cilium, service_destination, verdict_of_flow};
use ipnet::IpNet;

use crate::diagnosis::query;
use crate::engine::{Endpoint, SideTrace};
use crate::index::{ClusterIndex, ServiceInfo};
use crate::policy::admin::AdminPeer;
use crate::policy::{Direction, Peer};
use crate::report::*;

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let t = e.trace;
    let Some(svc) = service_destination(ix, e) else {
        return Finding::none();
    };
    let from_outside = matches!(t.flow.src, Endpoint::Ip(ip) if ix.node_by_ip(ip).is_none());
    if !from_outside || !(svc.type_ == "NodePort" || svc.type_ == "LoadBalancer") {
        return Finding::none();
    }
    let etp = svc.external_traffic_policy.clone().unwrap_or_else(|| "Cluster".into());
    if etp == "Local" {
        return Finding::record(Record::NodePort(NodePortCheck {
            service: format!("{}/{}", svc.namespace, svc.name),
            external_traffic_policy: etp,
            node_ips: Vec::new(),
            verdict_as_client: d.verdict,
            verdict_as_node: None,
            summary: "externalTrafficPolicy: Local keeps the client's source IP, so ipBlock rules for the client apply as written.".into(),
        }));
    }
    snat_to_node(ix, e, d, svc, etp)
}

/// The verdict for each node IP that may forward the traffic (every node but the
/// destination's: traffic from a pod's own node is always allowed).
fn per_node_verdicts(ix: &ClusterIndex, e: &Ends<'_>) -> Vec<(IpAddr, Verdict)> {
    let t = e.trace;
    let dst_node = pod_of(t.flow.dst).and_then(|id| ix.pod(id).node.clone());
    let mut candidates: Vec<IpAddr> = ix
        .nodes
        .iter()
        .filter(|n| Some(&n.name) != dst_node.as_ref())
        .filter_map(|n| n.ips.first().copied())
        .collect();
    if candidates.is_empty() {
        candidates = ix.nodes.iter().filter_map(|n| n.ips.first().copied()).collect();
    }
    candidates
        .iter()
        .map(|&ip| {
            (
                ip,
                verdict_of_flow(ix, Endpoint::Ip(ip), t.flow.dst, e.query.protocol, e.port).0,
            )
        })
        .collect()
}

fn snat_to_node(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis, svc: &ServiceInfo, etp: String) -> Finding {
    let node_ips: Vec<IpAddr> = ix.nodes.iter().flat_map(|n| n.ips.iter().copied()).collect();
    let client = d.verdict;
    let per_node = per_node_verdicts(ix, e);
    // No Node objects: the client's verdict stands for the node IPs when it cannot differ.
    let no_nodes = per_node.is_empty().then(|| node_ip_dependence(ix, e));
    let as_node = match (per_node.first(), &no_nodes) {
        (None, Some(Ok(_))) => Some(client),
        (None, _) => None,
        (Some((_, v)), _) if per_node.iter().all(|(_, w)| w == v) => Some(*v),
        (Some(_), _) => Some(Verdict::Inconclusive),
    };
    let mut f = Finding::none();
    if as_node == Some(Verdict::Inconclusive) {
        f.warnings.push(format!(
            "the node IPs do not all get the same verdict ({}): the answer depends on which node receives the traffic",
            per_node
                .iter()
                .map(|(ip, v)| format!("{ip}: {}", v.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if as_node == Some(Verdict::Allowed) && !per_node.is_empty() {
        f.warnings.push("some CNIs SNAT to a tunnel interface IP (flannel.1, tunl0, vxlan.calico) rather than the node's InternalIP; an ipBlock of InternalIPs may then not match".into());
    }
    let summary = summary(client, as_node);
    f.records.push(Record::NodePort(NodePortCheck {
        service: format!("{}/{}", svc.namespace, svc.name),
        external_traffic_policy: etp,
        node_ips: node_ips.iter().map(|i| i.to_string()).collect(),
        verdict_as_client: client,
        verdict_as_node: as_node,
        summary: summary.clone(),
    }));
    match (as_node, no_nodes) {
        (_, Some(Ok(why))) => f.warnings.push(format!(
            "traffic from outside may arrive SNATed to a node IP (externalTrafficPolicy: Cluster) and the snapshot has no Node objects, but the verdict does not depend on them: {why}; it is {} for the client and for any node IP",
            client.as_str()
        )),
        (_, Some(Err(why))) => without_nodes(d, svc, summary, why, &mut f),
        (Some(v_node), _) if v_node != client => {
            f.causes.push((Rank::First, snat_cause(d, svc, &node_ips, summary)));
            let node_ip = per_node.first().map(|(ip, _)| *ip);
            answer_as_node(ix, node_ip, as_node == Some(Verdict::Inconclusive), &mut f);
        }
        _ => {}
    }
    f
}

fn summary(client: Verdict, as_node: Option<Verdict>) -> String {
    match as_node {
        None => "Traffic from outside through this Service arrives SNATed to a node IP (externalTrafficPolicy: Cluster), but the snapshot has no Node objects to check those IPs.".to_string(),
        Some(v) if v == client => format!(
            "Traffic from outside arrives SNATed to a node IP (externalTrafficPolicy: Cluster); the verdict is {} either way.",
            v.as_str()
        ),
        Some(v) => format!(
            "Traffic from outside arrives SNATed to a node IP (externalTrafficPolicy: Cluster): policy sees a node IP, not the client. For the client's IP the verdict is {}, for the node IPs {}.",
            client.as_str(),
            v.as_str()
        ),
    }
}

/// Without node IPs the verdict for the SNATed source cannot be computed, and here it may differ
/// from the client's (`why`, from [`node_ip_dependence`]).
fn without_nodes(d: &Diagnosis, svc: &ServiceInfo, summary: String, why: String, f: &mut Finding) {
    if d.verdict != Verdict::Inconclusive {
        f.causes.push((Rank::First, RootCause {
            code: RootCauseCode::NodeportSnat,
            summary: format!("{summary} The answer depends on them: {why}."),
            policies: d.ingress.isolating_policies.clone(),
            evidence: vec![
                format!(
                    "Service {}/{} is {} with externalTrafficPolicy Cluster; the snapshot has no Node objects",
                    svc.namespace, svc.name, svc.type_
                ),
                why,
            ],
            suggestion: "Include the Node objects (kubectl get nodes -o yaml) to see whether the node IPs are allowed, or set externalTrafficPolicy: Local.".into(),
        }));
        f.effect = Effect::Inconclusive;
    } else {
        // Inconclusive already: a warning, not a cause.
        f.warnings.push(format!("{summary} The answer depends on them: {why}."));
    }
}

/// What a rule's peers make of a source address that is not a pod's (a node IP after SNAT, or
/// the client): matched whatever it is, never matched, or it depends on the address.
enum Reach {
    Every,
    NoAddress,
    Depends(String),
}

impl Reach {
    /// The peers of one rule are ORed: one that matches every address decides.
    fn any(reaches: impl Iterator<Item = Reach>) -> Reach {
        let mut out = Reach::NoAddress;
        for r in reaches {
            match r {
                Reach::Every => return Reach::Every,
                Reach::Depends(_) if matches!(out, Reach::NoAddress) => out = r,
                _ => {}
            }
        }
        out
    }
}

/// A NetworkPolicy peer against a non-pod address of the client's family.
fn peer_reach(p: &Peer, v4: bool) -> Reach {
    match p {
        // Selectors match pods only; a node IP is never a selected pod's (hostNetwork pods,
        // which carry node IPs, are never selected).
        Peer::Pods { .. } | Peer::Invalid { .. } => Reach::NoAddress,
        Peer::IpBlock { cidr, .. } if matches!(cidr, IpNet::V4(_)) != v4 => Reach::NoAddress,
        Peer::IpBlock { cidr, except } if cidr.prefix_len() == 0 && except.is_empty() => Reach::Every,
        Peer::IpBlock { cidr, except } => Reach::Depends(if except.is_empty() {
            format!("ipBlock {cidr}")
        } else {
            format!(
                "ipBlock {cidr} except {}",
                except.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
            )
        }),
    }
}

/// An admin-tier peer against a non-pod address of the client's family.
fn admin_peer_reach(p: &AdminPeer, v4: bool) -> Reach {
    match p {
        AdminPeer::Namespaces(_) | AdminPeer::Pods { .. } => Reach::NoAddress,
        AdminPeer::Networks(nets)
            if nets
                .iter()
                .any(|n| n.prefix_len() == 0 && matches!(n, IpNet::V4(_)) == v4) =>
        {
            Reach::Every
        }
        AdminPeer::Networks(_) => Reach::Depends("a networks peer".into()),
        AdminPeer::Nodes(_) => Reach::Depends("a nodes peer".into()),
        AdminPeer::DomainNames(_) => Reach::Depends("a domainNames peer".into()),
    }
}

/// Whether the destination's ingress answer for a node-IP source could differ from the one for
/// the client: `Ok(why not)` or `Err(why)`.
///
/// Soundness. After kube-proxy's SNAT the source is some node's address (an InternalIP, or a
/// tunnel/bridge interface's), which we cannot list without Node objects; with the client IP
/// kept (externalTrafficPolicy: Local, DSR) it is the client's. Either way it is an address that
/// is not a selectable pod's, of the client's family (NAT does not change the family). Such an
/// address matches a podSelector/namespaceSelector peer never, an absent or empty `from`
/// always, an ipBlock of the other family never, and `0.0.0.0/0` (`::/0`) without `except`
/// always; only other ipBlocks (and admin `networks`/`nodes`/`domainNames` peers) tell
/// addresses apart. If no rule that can decide this port has such a peer, every tier answers
/// the same for every non-pod address, so the client's verdict is the node IPs' verdict. As
/// with Node objects present, traffic SNATed by the destination pod's own node (always
/// allowed there) is not counted: another node may receive it. An unreadable part of a policy
/// keeps the answer open, and so does an allow of every address under Cilium, whose node
/// identities an ipBlock (or, conservatively, an empty `from`) may not match.
fn node_ip_dependence(ix: &ClusterIndex, e: &Ends<'_>) -> Result<String, String> {
    let t = e.trace;
    let v4 = matches!(t.flow.src, Endpoint::Ip(IpAddr::V4(_)));
    let cilium = runs_cilium(ix);
    // Every backing pod, not only the representative one: their policies may differ.
    for &other in e.dst.endpoints.iter().take(64).filter(|&&d| d != t.flow.dst) {
        let port = match &e.query.port {
            Some(p) => Some(
                query::port_for(ix, e.dst, other, p, e.query.protocol)
                    .map_err(|x| x.message)?
                    .0,
            ),
            None => None,
        };
        let (_, ot) = verdict_of_flow(ix, t.flow.src, other, e.query.protocol, port);
        ingress_dependence(ix, &ot.ingress, v4, cilium)?;
    }
    ingress_dependence(ix, &t.ingress, v4, cilium)
}

/// [`node_ip_dependence`] for one destination pod's ingress.
fn ingress_dependence(ix: &ClusterIndex, side: &SideTrace, v4: bool, cilium: bool) -> Result<String, String> {
    let Some(pod) = side.subject.filter(|_| side.not_applicable.is_none()) else {
        return Ok("no NetworkPolicy applies to the destination's ingress".into());
    };
    if !side.certain() {
        return Err("a policy of the destination could not be read".into());
    }
    let admin: Vec<usize> = ix
        .admin_selecting(pod, Direction::Ingress)
        .into_iter()
        .chain(ix.baseline_selecting(pod, Direction::Ingress))
        .collect();
    for &i in &admin {
        let pol = &ix.admin.policies[i];
        for r in &pol.ingress {
            if let Reach::Depends(what) = Reach::any(r.peers.iter().map(|p| admin_peer_reach(p, v4))) {
                return Err(format!(
                    "{} {} spec.ingress[{}] has {what}, which a node IP may or may not match",
                    pol.kind, pol.name, r.index
                ));
            }
        }
    }
    let mut every = Vec::new();
    for r in side.rules.iter().filter(|r| r.port_failure.is_none()) {
        let pol = &ix.policies[r.policy];
        let Some(rule) = pol.rule(Direction::Ingress, r.rule_index) else {
            continue;
        };
        let reach = match &rule.peers {
            None => Reach::Every,
            Some(peers) => Reach::any(peers.iter().map(|p| peer_reach(p, v4))),
        };
        match reach {
            Reach::Every if cilium => {
                return Err(format!(
                    "{} spec.ingress[{}] allows every address, but Cilium gives node addresses the host/remote-node identity, which it does not match unless policy-cidr-match-mode includes nodes",
                    pol.key(),
                    r.rule_index
                ));
            }
            Reach::Every => every.push(format!("{} spec.ingress[{}]", pol.key(), r.rule_index)),
            Reach::NoAddress => {}
            Reach::Depends(what) => {
                return Err(format!(
                    "{} spec.ingress[{}] allows {what}, which a node IP may or may not be in",
                    pol.key(),
                    r.rule_index
                ));
            }
        }
    }
    Ok(if !side.isolated() {
        "no rule that applies to the destination's ingress tells addresses apart".into()
    } else if every.is_empty() {
        "the rules that allow this port match pods only (selectors), never a node IP or the client".into()
    } else {
        format!("{} allows every address on this port", every.join(", "))
    })
}

fn snat_cause(d: &Diagnosis, svc: &ServiceInfo, node_ips: &[IpAddr], summary: String) -> RootCause {
    RootCause {
        code: RootCauseCode::NodeportSnat,
        summary,
        policies: d.ingress.isolating_policies.clone(),
        evidence: vec![
            format!(
                "Service {}/{} is {} with externalTrafficPolicy Cluster",
                svc.namespace, svc.name, svc.type_
            ),
            format!(
                "node IPs: {}",
                node_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
            ),
        ],
        suggestion: format!(
            "Either allow the node IPs with an ipBlock ({}) — which admits everything the nodes forward — or set externalTrafficPolicy: Local on the Service so the client IP is kept and the client's ipBlock applies.",
            node_ips
                .iter()
                .map(|i| format!("{i}/32"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// kube-proxy masquerades NodePort traffic under externalTrafficPolicy: Cluster, so the
/// diagnosis is the one for a node IP; without kube-proxy the dataplane decides.
fn answer_as_node(ix: &ClusterIndex, node_ip: Option<IpAddr>, inconclusive: bool, f: &mut Finding) {
    if ix.facts.kube_proxy {
        if let Some(ip) = node_ip {
            f.effect = Effect::AsSeenFrom { ip, inconclusive };
        }
        f.warnings.push("kube-proxy runs in this cluster: it SNATs NodePort/LoadBalancer traffic to a node IP, so the verdict is the one for a node IP".into());
    } else {
        f.effect = Effect::Inconclusive;
        f.warnings.push("whether the client IP is kept depends on the dataplane (kube-proxy SNATs; some eBPF replacements such as Cilium with DSR keep it): the snapshot does not show which runs".into());
    }
}
