//! NodePort and LoadBalancer traffic from outside: under `externalTrafficPolicy: Cluster` the
//! node that receives it may SNAT it to its own IP, so policy sees a node IP, not the client.
//!
//! Invariant: the verdict for the node IPs is computed for every node that may forward the
//! traffic; when they disagree, or the dataplane does not show whether it SNATs, the answer is
//! `inconclusive`. With kube-proxy the diagnosis becomes the one for a node IP.

use std::net::IpAddr;

use super::{Effect, Ends, Finding, Rank, Record, pod_of, service_destination, verdict_of_flow};
use crate::engine::Endpoint;
use crate::index::{ClusterIndex, ServiceInfo};
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
    let as_node = match per_node.first() {
        None => None,
        Some((_, v)) if per_node.iter().all(|(_, w)| w == v) => Some(*v),
        Some(_) => Some(Verdict::Inconclusive),
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
    if as_node == Some(Verdict::Allowed) {
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
    match as_node {
        None => without_nodes(d, svc, summary, &mut f),
        Some(v_node) if v_node != client => {
            f.causes.push((Rank::First, snat_cause(d, svc, &node_ips, summary)));
            let node_ip = per_node.first().map(|(ip, _)| *ip);
            answer_as_node(ix, node_ip, as_node == Some(Verdict::Inconclusive), &mut f);
        }
        Some(_) => {}
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

/// Without node IPs the verdict for the SNATed source cannot be computed; it only matters when
/// the destination's ingress is isolated.
fn without_nodes(d: &Diagnosis, svc: &ServiceInfo, summary: String, f: &mut Finding) {
    if d.ingress.isolated && d.verdict != Verdict::Inconclusive {
        f.causes.push((Rank::First, RootCause {
            code: RootCauseCode::NodeportSnat,
            summary: summary.clone(),
            policies: d.ingress.isolating_policies.clone(),
            evidence: vec![format!(
                "Service {}/{} is {} with externalTrafficPolicy Cluster; the snapshot has no Node objects",
                svc.namespace, svc.name, svc.type_
            )],
            suggestion: "Include the Node objects (kubectl get nodes -o yaml) to see whether the node IPs are allowed, or set externalTrafficPolicy: Local.".into(),
        }));
        f.effect = Effect::Inconclusive;
    }
    f.warnings.push(summary);
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
