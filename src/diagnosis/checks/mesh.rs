//! Service meshes (Istio sidecar or ambient, Linkerd): their own L7 policies and mTLS may deny
//! what NetworkPolicy allows, and in ambient mode policy sees HBONE on TCP 15008.
//!
//! Invariant: when the HBONE verdict and the application port's verdict disagree, neither is
//! certain (whether the mesh carries this flow is not in the snapshot): `inconclusive`.

use super::{Effect, Ends, Finding, Rank, Record, pod_of, verdict_of_flow};
use crate::diagnosis::describe::Role;
use crate::index::ClusterIndex;
use crate::policy::Protocol;
use crate::report::*;

/// What the snapshot shows of a mesh around the two ends.
#[derive(Default)]
struct Seen {
    findings: Vec<String>,
    namespaces: Vec<String>,
    /// Source, destination in ambient mode.
    ambient: [bool; 2],
}

fn seen(ix: &ClusterIndex, e: &Ends<'_>) -> Seen {
    let t = e.trace;
    let mut s = Seen::default();
    for (role, ep) in [(Role::Source, t.flow.src), (Role::Destination, t.flow.dst)] {
        let (is_dst, role) = (role == Role::Destination, role.as_str());
        let Some(id) = pod_of(ep) else { continue };
        let p = ix.pod(id);
        let ns = ix.namespace_labels(&p.namespace);
        let label = |k: &str| p.labels.get(k).or_else(|| ns.get(k)).map(String::as_str);
        let ann = |k: &str| p.annotations.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        let before = s.findings.len();
        if p.containers.iter().any(|c| c == "istio-proxy") {
            s.findings
                .push(format!("istio sidecar (istio-proxy) on the {role} {}", p.key()));
        } else if label("istio.io/dataplane-mode") == Some("ambient") {
            s.findings.push(format!(
                "istio ambient mode on the {role} {} (istio.io/dataplane-mode=ambient)",
                p.key()
            ));
            s.ambient[usize::from(is_dst)] = true;
        } else if ns.get("istio-injection").is_some_and(|v| v == "enabled") || ns.contains_key("istio.io/rev") {
            s.findings.push(format!(
                "namespace {} has istio injection enabled, but the {role} pod has no istio-proxy container (not restarted since?)",
                p.namespace
            ));
        }
        if p.containers.iter().any(|c| c == "linkerd-proxy") {
            s.findings
                .push(format!("linkerd sidecar (linkerd-proxy) on the {role} {}", p.key()));
        } else if ann("linkerd.io/inject") == Some("enabled") {
            s.findings
                .push(format!("linkerd injection annotated on the {role} {}", p.key()));
        }
        if s.findings.len() > before {
            s.namespaces.push(p.namespace.clone());
        }
    }
    s
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let t = e.trace;
    let seen = seen(ix, e);
    if seen.findings.is_empty() {
        return Finding::none();
    }
    let objects: Vec<String> = ix
        .facts
        .mesh_objects
        .iter()
        .filter(|o| {
            o.namespace
                .as_ref()
                .is_none_or(|n| seen.namespaces.contains(n) || n == "istio-system" || n == "linkerd")
        })
        .map(|o| format!("{} {}", o.kind.rsplit('/').next().unwrap_or_default(), o.name))
        .collect();
    // Between two ambient pods ztunnel tunnels everything over HBONE (TCP 15008 to the
    // destination pod): that is the port NetworkPolicy sees. A client outside the mesh talks
    // plain text on the application port.
    let hbone = (seen.ambient[0] && seen.ambient[1])
        .then(|| verdict_of_flow(ix, t.flow.src, t.flow.dst, Protocol::Tcp, Some(15008)).0);
    let summary = summary(hbone);
    let rc = RootCause {
        code: RootCauseCode::ServiceMeshPresent,
        summary: summary.clone(),
        policies: Vec::new(),
        evidence: seen
            .findings
            .iter()
            .cloned()
            .chain(objects.iter().map(|o| format!("mesh policy {o}")))
            .collect(),
        suggestion: if hbone == Some(Verdict::Blocked) {
            "Allow TCP 15008 between the pods (ingress at the destination) for ambient mode, then check the mesh's own policies (istioctl x authz check, linkerd viz authz).".into()
        } else {
            "If NetworkPolicy allows the traffic and it still fails, check the mesh's own policies and mTLS (istioctl x authz check, linkerd viz authz).".into()
        },
    };
    let app_port_differs =
        hbone.is_some_and(|h| h != d.verdict && matches!(d.verdict, Verdict::Allowed | Verdict::Blocked));
    Finding {
        records: vec![Record::Mesh(MeshCheck {
            findings: seen.findings,
            objects,
            hbone_15008: hbone,
            summary,
        })],
        causes: vec![(if app_port_differs { Rank::First } else { Rank::Last }, rc)],
        effect: if app_port_differs {
            Effect::Inconclusive
        } else {
            Effect::Keep
        },
        ..Finding::none()
    }
}

fn summary(hbone: Option<Verdict>) -> String {
    let mut summary = "A service mesh handles this traffic: besides NetworkPolicy, its L7 authorization (Istio AuthorizationPolicy, Linkerd Server/AuthorizationPolicy) and mTLS settings may deny it.".to_string();
    match hbone {
        Some(Verdict::Blocked) => summary.push_str(" Both pods are in ambient mode: ztunnel carries their traffic over HBONE on TCP 15008 to the destination pod, and NetworkPolicy blocks TCP 15008 here; the application port is not what policy sees."),
        Some(Verdict::Allowed) => summary.push_str(" Both pods are in ambient mode: their traffic travels over HBONE on TCP 15008, which policy allows here; the application port is not what policy sees."),
        Some(_) => summary.push_str(" Both pods are in ambient mode: policy sees HBONE on TCP 15008, which could not be decided for certain."),
        None => {}
    }
    summary
}
