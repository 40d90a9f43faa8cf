//! How to confirm by hand: read-only commands to run from the source, and from a control pod
//! that no egress policy isolates.
//!
//! Invariant: netpol-debug never runs them. The control pod is picked in the flow's namespaces
//! only, first by name, so the choice does not depend on the input's order or on which other
//! namespaces were read (a live read covers the flow's namespaces; a snapshot may hold all).

use super::{Ends, Finding, Record, pod_of};
use crate::diagnosis::query::{EndpointSpec, PortArg};
use crate::engine::Endpoint;
use crate::index::{ClusterIndex, PodInfo};
use crate::policy::{Direction, Protocol};
use crate::report::*;

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    Finding::record(Record::Verify(verification(ix, e, d)))
}

/// `HOST PORT` as a client in the cluster would dial the destination.
fn target(ix: &ClusterIndex, e: &Ends<'_>) -> String {
    let port = e.port.map(|p| p.to_string()).unwrap_or_else(|| "<port>".into());
    match (&e.dst.spec, e.trace.flow.dst) {
        (EndpointSpec::Service { namespace, name }, _) => {
            // In-cluster clients use the Service port (not the nodePort, not the targetPort).
            let svc = ix.service(namespace, name);
            let svc_port = svc
                .and_then(|s| {
                    s.ports.iter().find(|p| match &e.query.port {
                        Some(PortArg::Number(n)) => p.port == *n || p.node_port == Some(*n),
                        Some(PortArg::Name(x)) => p.name.as_deref() == Some(x.as_str()),
                        None => false,
                    })
                })
                .map_or_else(|| "<service-port>".to_string(), |p| p.port.to_string());
            format!("{name}.{namespace}.svc.cluster.local {svc_port}")
        }
        (_, Endpoint::Pod(id)) => format!(
            "{} {port}",
            ix.pod(id)
                .ips
                .first()
                .map_or("<destination-ip>".into(), |i| i.to_string())
        ),
        (_, Endpoint::Ip(ip)) => format!("{ip} {port}"),
    }
}

/// A pod that no egress policy isolates, in the source's namespace, else in the destination's;
/// only when the source's egress is isolated (otherwise a control tells nothing).
fn control<'a>(ix: &'a ClusterIndex, e: &Ends<'_>, src: &PodInfo) -> Option<&'a PodInfo> {
    let t = e.trace;
    let usable = |p: &PodInfo| !p.from_template && !p.host_network && !p.ips.is_empty();
    let control_in = |ns: &str| {
        ix.pods_in(ns)
            .iter()
            .copied()
            .filter(|&id| {
                let p = ix.pod(id);
                p.key() != src.key()
                    && Endpoint::Pod(id) != t.flow.dst
                    && usable(p)
                    && ix.isolating_policies(id, Direction::Egress).is_empty()
            })
            .map(|id| ix.pod(id))
            .min_by(|a, b| a.name.cmp(&b.name))
    };
    let dst_ns = pod_of(t.flow.dst).map(|id| ix.pod(id).namespace.clone());
    let control = control_in(&src.namespace).or_else(|| dst_ns.as_deref().and_then(control_in));
    control.filter(|c| t.egress.isolated() && c.key() != src.key())
}

fn verification(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Verification {
    let mut commands = Vec::new();
    let nc = if e.query.protocol == Protocol::Udp {
        "nc -zuv -w 3"
    } else {
        "nc -zv -w 3"
    };
    let target = target(ix, e);
    let exec = |p: &PodInfo, cmd: &str| format!("kubectl exec -n {} {} -- {cmd}", p.namespace, p.name);
    if let Some(src) = pod_of(e.trace.flow.src)
        .map(|id| ix.pod(id))
        .filter(|p| !p.from_template)
    {
        commands.push(exec(src, &format!("{nc} {target}")));
        if let Some(c) = control(ix, e, src) {
            commands.push(format!(
                "{}   # control: {} is not egress-isolated: if this works and the first fails, the source's egress is the cause; if both fail, look at ingress at the destination",
                exec(c, &format!("{nc} {target}")),
                c.key()
            ));
        }
        if d.checks.dns.is_some() {
            commands.push(exec(src, "nslookup kubernetes.default.svc.cluster.local"));
        }
    }
    Verification {
        commands,
        note: "Read-only checks to run yourself if you want to confirm; netpol-debug never runs them. The image must have nc/nslookup (distroless images do not: use the control pod).".into(),
    }
}
