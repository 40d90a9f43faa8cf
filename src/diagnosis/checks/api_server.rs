//! API-server egress from an egress-isolated source pod: the endpoints of `default/kubernetes`
//! on their endpoint port (often 6443, not the Service's 443).
//!
//! Invariant: a blocked API server is a root cause (ahead of the rules) only when the question is
//! the API server; otherwise it is the `api_server` check and one warning.

use std::net::IpAddr;

use super::{Ends, Finding, Rank, Record, egress_isolated_source, verdict_of_flow};
use crate::diagnosis::query::EndpointSpec;
use crate::engine::{Endpoint, FlowTrace};
use crate::index::{ClusterIndex, PodId, ServiceInfo};
use crate::policy::Protocol;
use crate::report::*;

/// How many endpoints are checked.
const MAX_ENDPOINTS: usize = 3;

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, _: &Diagnosis) -> Finding {
    let Some(src) = egress_isolated_source(ix, e) else {
        return Finding::none();
    };
    let Some(svc) = ix.service("default", "kubernetes") else {
        return Finding::record(Record::ApiServer(ApiServerCheck {
            service: "default/kubernetes".into(),
            endpoints: Vec::new(),
            verdict: Verdict::Inconclusive,
            summary: "The API server's Service default/kubernetes is not in the snapshot, so egress to it was not checked.".into(),
            missing: vec!["Service and Endpoints default/kubernetes: include `kubectl get svc,endpoints,endpointslices -n default -o yaml`".into()],
        }));
    };
    let svc_port = svc.ports.first().map_or(443, |p| p.port);
    let targets = targets(svc, svc_port);
    if targets.is_empty() {
        return Finding::record(Record::ApiServer(ApiServerCheck {
            service: format!("default/kubernetes:{svc_port}"),
            endpoints: Vec::new(),
            verdict: Verdict::Inconclusive,
            summary: "The API server's endpoints (Endpoints/EndpointSlice of default/kubernetes) are not in the snapshot, so egress to them was not checked; policies see the endpoint IPs and port (often 6443), not the Service's.".into(),
            missing: vec!["Endpoints or EndpointSlices of default/kubernetes".into()],
        }));
    }
    let (verdict, trace) = reach(ix, src, &targets);
    let src_key = ix.pod(src).key();
    let endpoints: Vec<String> = targets.iter().map(|(i, p)| format!("{i}:{p}")).collect();
    let mut summary = match verdict {
        Verdict::Allowed => format!(
            "{src_key} may reach the API server endpoints ({}).",
            endpoints.join(", ")
        ),
        Verdict::Blocked => format!(
            "{src_key} cannot reach the API server endpoints ({}): its egress is isolated and no rule allows them.",
            endpoints.join(", ")
        ),
        _ => format!("Egress from {src_key} to the API server could not be decided for certain."),
    };
    let trap = service_port_trap(ix, src, svc_port, trace.as_ref());
    if let Some(t) = &trap {
        summary.push_str(t);
    }
    let mut f = Finding::record(Record::ApiServer(ApiServerCheck {
        service: format!("default/kubernetes:{svc_port}"),
        endpoints: endpoints.clone(),
        verdict,
        summary: summary.clone(),
        missing: Vec::new(),
    }));
    if verdict != Verdict::Blocked {
        return f;
    }
    let policies: Vec<String> = trace
        .as_ref()
        .map(|(_, _, t)| t.egress.isolating.iter().map(|&p| ix.policies[p].key()).collect())
        .unwrap_or_default();
    let rc = RootCause {
        code: RootCauseCode::ApiserverEgressBlocked,
        summary: summary.clone(),
        policies,
        evidence: std::iter::once(format!("API server endpoints: {}", endpoints.join(", ")))
            .chain(trap)
            .collect(),
        suggestion: format!(
            "Allow egress to the API server with an ipBlock for each endpoint IP on its endpoint port ({}); pod and namespace selectors cannot match the API server.",
            endpoints.join(", ")
        ),
    };
    if asks_for_api_server(e, svc, &targets) {
        f.causes.push((Rank::First, rc));
    } else {
        // Other traffic: the check and one warning, never a root cause of the asked flow.
        f.warnings.push(format!(
            "{summary} Workloads that call the Kubernetes API (operators, controllers) will fail."
        ));
    }
    f
}

/// The endpoint addresses and ports of `default/kubernetes` (the `https` port, or the only one).
fn targets(svc: &ServiceInfo, svc_port: u16) -> Vec<(IpAddr, u16)> {
    svc.endpoints
        .iter()
        .map(|a| {
            let port = a
                .ports
                .iter()
                .find(|(n, _, p)| *p == Protocol::Tcp && (n.as_deref() == Some("https") || svc.ports.len() <= 1))
                .map_or(svc_port, |(_, n, _)| *n);
            (a.ip, port)
        })
        .collect()
}

/// The verdict toward the first endpoints (blocked if any is blocked), and the trace of the
/// endpoint that is not allowed.
fn reach(ix: &ClusterIndex, src: PodId, targets: &[(IpAddr, u16)]) -> (Verdict, Option<(IpAddr, u16, FlowTrace)>) {
    let mut verdict = Verdict::Allowed;
    let mut trace = None;
    for &(ip, port) in targets.iter().take(MAX_ENDPOINTS) {
        let (v, t) = verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(ip), Protocol::Tcp, Some(port));
        if v != Verdict::Allowed {
            if verdict == Verdict::Allowed || v == Verdict::Blocked {
                trace = Some((ip, port, t));
            }
            verdict = if v == Verdict::Blocked || verdict == Verdict::Blocked {
                Verdict::Blocked
            } else {
                v
            };
        }
    }
    (verdict, trace)
}

/// Egress allows the Service port to the endpoint IP, but kube-proxy's DNAT sends the packet to
/// the endpoint port.
fn service_port_trap(
    ix: &ClusterIndex,
    src: PodId,
    svc_port: u16,
    trace: Option<&(IpAddr, u16, FlowTrace)>,
) -> Option<String> {
    let (ip, port, _) = trace?;
    let allowed_on_svc_port = *port != svc_port
        && verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(*ip), Protocol::Tcp, Some(svc_port)).0
            == Verdict::Allowed;
    allowed_on_svc_port.then(|| {
        format!(
            " Egress allows TCP {svc_port} (the Service port) to {ip}, but after kube-proxy's DNAT the packet goes to {ip}:{port}: the rule must allow port {port}."
        )
    })
}

/// The question is the API server: its Service, an endpoint address or its ClusterIP.
fn asks_for_api_server(e: &Ends<'_>, svc: &ServiceInfo, targets: &[(IpAddr, u16)]) -> bool {
    match &e.dst.spec {
        EndpointSpec::Service { namespace, name } => namespace == "default" && name == "kubernetes",
        EndpointSpec::Ip(ip) => targets.iter().any(|(i, _)| i == ip) || svc.cluster_ips.contains(ip),
        _ => false,
    }
}
