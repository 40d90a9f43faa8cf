//! Multus secondary interfaces: NetworkPolicy applies only to the pod's primary network.
//!
//! Invariant: a queried address counts as on a secondary network only when the other end is
//! attached to that network too; otherwise the packet leaves on the primary interface.

use super::{Effect, Ends, Finding, Rank, Record, pod_of};
use crate::diagnosis::describe::Role;
use crate::diagnosis::query::EndpointSpec;
use crate::engine::Endpoint;
use crate::index::{ClusterIndex, NETWORK_STATUS_ANNOTATION, PodId, SecondaryNetwork};
use crate::report::*;

/// The queried address, when it is on a pod's secondary interface: `(role, pod key, network)`.
struct Hit {
    role: Role,
    pod: String,
    net: SecondaryNetwork,
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
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
        off_the_primary_network(&hit, d, &mut f);
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

fn off_the_primary_network(h: &Hit, d: &Diagnosis, f: &mut Finding) {
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
    f.warnings.push(format!(
        "NetworkPolicy was evaluated as if the traffic used the primary network ({}); it does not apply on the secondary interface",
        d.verdict.as_str()
    ));
    f.effect = Effect::OffThePrimaryNetwork;
}
