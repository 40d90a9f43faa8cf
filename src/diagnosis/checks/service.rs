//! A Service destination: which pods back it, its port mapping, and the classic trap of a rule
//! that allows the Service port instead of the pod's targetPort.
//!
//! Invariant: NetworkPolicy sees the pod and its targetPort, never the Service IP or port; the
//! API server's own 443 -> 6443 trap is named by the API-server check, not here.

use super::{Ends, Finding, Rank, Record, service_destination, verdict_of_flow};
use crate::diagnosis::query::PortArg;
use crate::engine::{Endpoint, SideTrace};
use crate::index::{ClusterIndex, ServiceInfo, ServicePortInfo, TargetPort};
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
    if let Some(rc) = service_port_allowed_instead(ix, e, d, svc, sp) {
        f.causes.push((Rank::First, rc));
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
