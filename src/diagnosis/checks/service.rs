//! A Service destination: which pods back it, its port mapping, and the classic trap of a rule
//! that allows the Service port instead of the pod's targetPort.
//!
//! Invariant: NetworkPolicy sees the pod and its targetPort, never the Service IP or port; the
//! API server's own 443 -> 6443 trap is named by the API-server check, not here.

use super::{Ends, Finding, Rank, Record, service_destination, verdict_of_flow};
use crate::diagnosis::query::{self, EndpointSpec, PortArg, Resolved};
use crate::engine::{Endpoint, SideTrace};
use crate::index::{ClusterIndex, ServiceInfo, ServicePortInfo, TargetPort};
use crate::policy::ConnSet;
use crate::report::*;

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let Some(svc) = service_destination(ix, e) else {
        return Finding::none();
    };
    // The API server's 443 -> 6443 is the same trap, named by its own check.
    if svc.namespace == "default" && svc.name == "kubernetes" {
        return Finding::none();
    }
    let sp = service_port(e, svc);
    let mut f = Finding::none();
    f.records.push(Record::Service(record(e, svc, sp)));
    if let (Some(asked), None) = (&e.query.port, sp) {
        f.warnings.push(port_not_on_service(e, svc, asked));
    }
    match service_port_allowed_instead(ix, e, d, svc, sp) {
        // The cause's evidence names the mapping: no warning repeats it.
        Some(rc) => f.causes.push((Rank::First, rc)),
        None => f.warnings.extend(port_mapping_warning(e, svc, sp)),
    }
    f
}

/// The Service port the question names (by number, nodePort or name).
pub(super) fn service_port<'s>(e: &Ends<'_>, svc: &'s ServiceInfo) -> Option<&'s ServicePortInfo> {
    match &e.query.port {
        Some(PortArg::Number(n)) => svc
            .ports
            .iter()
            .find(|p| (p.port == *n || p.node_port == Some(*n)) && p.protocol == e.query.protocol),
        Some(PortArg::Name(name)) => svc.ports.iter().find(|p| p.name.as_deref() == Some(name)),
        None => None,
    }
}

fn record(e: &Ends<'_>, svc: &ServiceInfo, sp: Option<&ServicePortInfo>) -> ServiceCheck {
    let port_mapping = sp.map(|p| {
        let target = match &p.target {
            TargetPort::Number(n) => n.to_string(),
            TargetPort::Named(n) => format!(
                "{n} (named; {} on the pod)",
                e.port.map_or("?".into(), |x| x.to_string())
            ),
        };
        format!("{} {} -> targetPort {target}", p.protocol, p.port)
    });
    let backing = e.dst.endpoints.iter().filter(|x| matches!(x, Endpoint::Pod(_))).count();
    ServiceCheck {
        service: format!("{}/{}", svc.namespace, svc.name),
        service_type: svc.type_.clone(),
        port_mapping,
        backing_pods: backing as i64,
        summary: format!(
            "Service {}/{} resolves to {backing} pod(s); policies see the pod and its targetPort{}, never the Service IP or port.",
            svc.namespace,
            svc.name,
            e.port.map(|p| format!(" ({p})")).unwrap_or_default()
        ),
    }
}

/// A Service port that delivers to another port on the pod: policies see the pod's. A port that
/// maps to itself is no news.
fn port_mapping_warning(e: &Ends<'_>, svc: &ServiceInfo, sp: Option<&ServicePortInfo>) -> Option<String> {
    let (sp, target) = (sp?, e.port?);
    (sp.port != target).then(|| {
        format!(
            "service {}/{} port {} maps to targetPort {target} on the pod: policies see {target}",
            svc.namespace, svc.name, sp.port
        )
    })
}

/// The question names a port the Service does not have: a connection to the Service on it goes
/// nowhere, and the verdict is the one for that port on the pods themselves.
fn port_not_on_service(e: &Ends<'_>, svc: &ServiceInfo, asked: &PortArg) -> String {
    let asked = match asked {
        PortArg::Number(n) => format!("{} port {n}", e.query.protocol),
        PortArg::Name(n) => format!("port named {n:?}"),
    };
    let has: Vec<String> = svc.ports.iter().map(describe_service_port).collect();
    format!(
        "service {}/{} has no {asked} (its ports: {}): a connection to the Service on it is not forwarded to any pod; the verdict is for the pods' own port {}",
        svc.namespace,
        svc.name,
        if has.is_empty() { "none".into() } else { has.join(", ") },
        e.port.map_or("?".into(), |p| p.to_string())
    )
}

/// `TCP 80 -> 8080`, `TCP 443 (https) -> https`.
fn describe_service_port(p: &ServicePortInfo) -> String {
    let name = p.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
    format!("{} {}{name} -> {}", p.protocol, p.port, target_text(&p.target))
}

/// `8080`, or a name: `http`.
fn target_text(t: &TargetPort) -> String {
    match t {
        TargetPort::Number(n) => n.to_string(),
        TargetPort::Named(n) => n.clone(),
    }
}

/// Through a Service, which of its ports pass: each Service port whose target port on the
/// destination pod the policies allow (the pod-level set alone would name ports the Service does
/// not have, or pass a port the Service maps elsewhere). `None` when the destination is no Service.
pub fn service_ports(ix: &ClusterIndex, dst: &Resolved, dst_pod: Endpoint, conns: &ConnSet) -> Option<ServicePorts> {
    let svc = match &dst.spec {
        EndpointSpec::Service { namespace, name } => ix.service(namespace, name),
        _ => None,
    };
    let svc = svc.filter(|s| !s.ports.is_empty())?;
    let mut out = ServicePorts {
        service: format!("{}/{}", svc.namespace, svc.name),
        allowed: Vec::new(),
        blocked: Vec::new(),
    };
    for sp in &svc.ports {
        let target = query::port_for(ix, dst, dst_pod, &PortArg::Number(sp.port), sp.protocol);
        let (pass, to) = match target {
            Ok((t, _)) => (conns.contains(sp.protocol, t), t.to_string()),
            Err(_) => (false, format!("{} (not declared by the pod)", target_text(&sp.target))),
        };
        let text = format!("{} {} -> {to}", sp.protocol, sp.port);
        if pass {
            out.allowed.push(text)
        } else {
            out.blocked.push(text)
        }
    }
    Some(out)
}

/// A blocked flow that the Service port (instead of the target port) would pass.
fn service_port_allowed_instead(
    ix: &ClusterIndex,
    e: &Ends<'_>,
    d: &Diagnosis,
    svc: &ServiceInfo,
    sp: Option<&ServicePortInfo>,
) -> Option<RootCause> {
    let t = e.trace;
    let (sp, target) = (sp?, e.port?);
    if sp.port == target || d.verdict != Verdict::Blocked {
        return None;
    }
    let (v, alt) = verdict_of_flow(ix, t.flow.src, t.flow.dst, e.query.protocol, Some(sp.port));
    if v != Verdict::Allowed {
        return None;
    }
    let side = if !t.egress.allowed { &alt.egress } else { &alt.ingress };
    let (rules, policies) = allowing_rules(ix, side);
    Some(RootCause {
        code: RootCauseCode::ServicePortVsTargetPort,
        summary: format!(
            "{} allows {} {} (the Service port), but the pods receive on targetPort {target}: NetworkPolicy sees the pod port, so the rule never matches.",
            rules.join(", "),
            sp.protocol,
            sp.port
        ),
        policies,
        evidence: vec![
            format!(
                "Service {}/{} maps {} {} -> targetPort {target}",
                svc.namespace, svc.name, sp.protocol, sp.port
            ),
            format!("with port {} the flow would be allowed", sp.port),
        ],
        suggestion: format!(
            "Allow {} {target} (or the container port's name) in that rule instead of the Service port {}.",
            sp.protocol, sp.port
        ),
    })
}

/// The rules that allow on a side (`ns/name spec.dir[i]`) and their policies.
fn allowing_rules(ix: &ClusterIndex, side: &SideTrace) -> (Vec<String>, Vec<String>) {
    let allowing = side.rules.iter().filter(|r| r.allows());
    let rules = allowing
        .clone()
        .map(|r| {
            format!(
                "{} spec.{}[{}]",
                ix.policies[r.policy].key(),
                side.direction.as_str(),
                r.rule_index
            )
        })
        .collect();
    let mut policies: Vec<String> = allowing.map(|r| ix.policies[r.policy].key()).collect();
    policies.dedup();
    (rules, policies)
}
