//! Multus secondary interfaces: NetworkPolicy applies only to the pod's primary network.
//!
//! Invariant: a queried address counts as on a secondary network only when the other end is
//! attached to that network too; otherwise the packet leaves on the primary interface.

use super::{Effect, Ends, Finding, Rank, Record, pod_of, verdict_of_flow};
use crate::diagnosis::describe::{Role, endpoint_name};
use crate::diagnosis::query::EndpointSpec;
use crate::engine::Endpoint;
use crate::index::{ClusterIndex, NETWORK_STATUS_ANNOTATION, PodId, SecondaryNetwork};
use crate::report::*;

/// The queried address, when it is on a pod's secondary interface: `(role, pod key, network)`.
struct Hit {
    role: Role,
    id: PodId,
    pod: String,
    net: SecondaryNetwork,
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, _: &Diagnosis) -> Finding {
    let t = e.trace;
    let mut f = Finding::none();
    let mut records = Vec::new();
    let mut hit = None;
    for (role, resolved, ep) in [
        (Role::Source, e.src, t.flow.src),
        (Role::Destination, e.dst, t.flow.dst),
    ] {
        let queried_ip = match resolved.spec {
            EndpointSpec::Ip(ip) => Some(ip),
            _ => None,
        };
        let candidates: Vec<PodId> = match ep {
            Endpoint::Pod(id) => vec![id],
            Endpoint::Ip(ip) => ix.pods_by_secondary_ip(ip),
        };
        for id in candidates {
            let p = ix.pod(id);
            if let Some((_, requested)) = p.annotations.iter().find(|(k, _)| k == "k8s.v1.cni.cncf.io/networks")
                && !p.annotations.iter().any(|(k, _)| k == NETWORK_STATUS_ANNOTATION)
            {
                f.warnings.push(format!(
                    "{} {} requests secondary networks ({requested}) but has no {NETWORK_STATUS_ANNOTATION} annotation in the snapshot, so their IPs are unknown; traffic over them is not subject to NetworkPolicy",
                    role.as_str(),
                    p.key()
                ));
            }
            for net in &p.secondary_networks {
                let queried = queried_ip.is_some_and(|ip| net.ips.contains(&ip.to_string()));
                if queried && hit.is_none() {
                    hit = Some(Hit {
                        role,
                        id,
                        pod: p.key(),
                        net: net.clone(),
                    });
                }
                records.push(SecondaryInterfaceCheck {
                    pod: p.key(),
                    network: net.network.clone(),
                    interface: net.interface.clone(),
                    ips: net.ips.clone(),
                    queried,
                });
            }
        }
    }
    if !records.is_empty() {
        f.records.push(Record::SecondaryInterfaces(records));
    }
    if let Some(hit) = hit.filter(|h| other_end_attached(ix, e, h, &mut f.warnings)) {
        off_the_primary_network(ix, e, &hit, &mut f);
    }
    f
}

/// The packet uses the secondary network only when the other end is attached to it too.
fn other_end_attached(ix: &ClusterIndex, e: &Ends<'_>, h: &Hit, warnings: &mut Vec<String>) -> bool {
    let t = e.trace;
    let other = if h.role == Role::Destination {
        t.flow.src
    } else {
        t.flow.dst
    };
    let attached =
        pod_of(other).is_some_and(|id| ix.pod(id).secondary_networks.iter().any(|n| n.network == h.net.network));
    if !attached {
        warnings.push(format!(
            "the {} address is on {}'s secondary interface {} ({}), but the other end is not attached to that network: the packet travels on the primary network, where NetworkPolicy applies",
            h.role.as_str(),
            h.pod,
            h.net.interface,
            h.net.network
        ));
    }
    attached
}

fn off_the_primary_network(ix: &ClusterIndex, e: &Ends<'_>, h: &Hit, f: &mut Finding) {
    let (role, pod, net) = (h.role.as_str(), &h.pod, &h.net);
    f.causes.push((Rank::First, RootCause {
        code: RootCauseCode::SecondaryInterface,
        summary: format!(
            "The {role} address is on {pod}'s secondary interface {} (network {}): NetworkPolicy applies only to the primary pod network, so it neither allows nor blocks this traffic.",
            net.interface, net.network
        ),
        policies: Vec::new(),
        evidence: vec![format!(
            "{pod} annotation {NETWORK_STATUS_ANNOTATION} lists {} on {} ({})",
            net.ips.join(", "),
            net.interface,
            net.network
        )],
        suggestion: "Look at what governs the secondary network instead (a MultiNetworkPolicy if the cluster runs its controller, the SR-IOV/macvlan configuration, the fabric). Traffic on the primary interface (DNS, API server) is still subject to NetworkPolicy.".into(),
    }));
    f.warnings.push(primary_network_warning(ix, e, h));
    f.effect = Effect::OffThePrimaryNetwork {
        role: h.role,
        pod: h.id,
    };
}

/// What NetworkPolicy says about the same two pods on the primary network: the pod's primary
/// address stands for its secondary one (the other end is a pod, or the address would not
/// count as on the secondary network).
fn primary_network_warning(ix: &ClusterIndex, e: &Ends<'_>, h: &Hit) -> String {
    let t = e.trace;
    let (src, dst) = match h.role {
        Role::Source => (Endpoint::Pod(h.id), t.flow.dst),
        Role::Destination => (t.flow.src, Endpoint::Pod(h.id)),
    };
    let (v, pt) = verdict_of_flow(ix, src, dst, e.query.protocol, e.port);
    let outcome = match v {
        Verdict::Allowed => "allows this traffic".to_string(),
        Verdict::Blocked => format!(
            "blocks this traffic ({})",
            match (pt.egress.allowed, pt.ingress.allowed) {
                (false, false) => "egress at the source and ingress at the destination",
                (false, true) => "egress at the source",
                _ => "ingress at the destination",
            }
        ),
        _ => "cannot tell this traffic for certain".to_string(),
    };
    format!(
        "on the primary network ({} -> {}) NetworkPolicy {outcome}; the egress and ingress lines show that evaluation, which does not apply on {} ({})",
        endpoint_name(ix, src),
        endpoint_name(ix, dst),
        h.net.interface,
        h.net.network
    )
}
