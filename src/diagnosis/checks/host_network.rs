//! hostNetwork pods: NetworkPolicy never selects them, and their traffic carries the node's IP.
//!
//! Invariant: the cause comes first only when it decides the answer (a hostNetwork source
//! blocked at ingress, or a hostNetwork destination that nothing else blocks).

use super::{Ends, Finding, Rank, Record, pod_of};
use crate::diagnosis::describe::Role;
use crate::index::{ClusterIndex, PodInfo};
use crate::report::*;

/// Pods whose name or labels say they are an ingress controller.
fn looks_like_ingress_controller(p: &PodInfo) -> bool {
    p.name.contains("ingress")
        || p.labels.iter().any(|(k, v)| {
            (k == "app" || k == "app.kubernetes.io/name" || k == "app.kubernetes.io/component") && v.contains("ingress")
        })
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let t = e.trace;
    let host: Vec<(Role, &PodInfo)> = [
        (Role::Source, pod_of(t.flow.src)),
        (Role::Destination, pod_of(t.flow.dst)),
    ]
    .into_iter()
    .filter_map(|(r, id)| id.map(|id| (r, ix.pod(id))))
    .filter(|(_, p)| p.host_network)
    .collect();
    if host.is_empty() {
        return Finding::none();
    }
    let node_ips: Vec<String> = host
        .iter()
        .filter_map(|(_, p)| p.node.as_deref())
        .filter_map(|n| ix.nodes.iter().find(|x| x.name == n))
        .flat_map(|n| n.ips.iter().map(|i| i.to_string()))
        .collect();
    let (summary, evidence) = describe(&host);
    let rc = RootCause {
        code: RootCauseCode::HostnetworkExempt,
        summary: summary.clone(),
        policies: Vec::new(),
        evidence,
        suggestion: if node_ips.is_empty() {
            "Allow the nodes' IPs with an ipBlock (the snapshot has no Node objects to name them), or move the workload off the host network.".into()
        } else {
            format!(
                "Allow the node IPs with an ipBlock ({}) — it admits everything those nodes send (every hostNetwork pod on them, the kubelet), so list only the ports needed — or run the workload without hostNetwork so selectors can match it.",
                node_ips.join(", ")
            )
        },
    };
    let decides = host.iter().any(|(r, _)| match r {
        Role::Source => d.verdict == Verdict::Blocked && !d.ingress.allowed,
        Role::Destination => d.verdict != Verdict::Blocked,
    });
    Finding {
        records: vec![Record::HostNetwork(HostNetworkCheck {
            pods: host
                .iter()
                .map(|(r, p)| format!("{} {}", r.as_str(), p.key()))
                .collect(),
            node_ips,
            summary,
        })],
        causes: vec![(if decides { Rank::First } else { Rank::Last }, rc)],
        ..Finding::none()
    }
}

/// What being on the host network means for each end, and the evidence.
fn describe(host: &[(Role, &PodInfo)]) -> (String, Vec<String>) {
    let mut summary = String::new();
    let mut evidence = Vec::new();
    for (role, p) in host {
        evidence.push(format!("{} {} has hostNetwork: true", role.as_str(), p.key()));
        if *role == Role::Destination {
            summary.push_str(&format!(
                "The destination {} uses the host network: NetworkPolicy does not protect it, so ingress policy cannot block traffic to it (the source's egress policies still apply). ",
                p.key()
            ));
        } else {
            summary.push_str(&format!(
                "The source {} uses the host network: its traffic carries the node's IP, so podSelector/namespaceSelector peers never match it; only an ipBlock with the node IPs can. ",
                p.key()
            ));
            if looks_like_ingress_controller(p) {
                summary.push_str("It looks like an ingress controller: a rule `from: podSelector: {app: ingress-...}` will never match it. ");
            }
        }
    }
    (summary.trim_end().to_string(), evidence)
}
