//! DNS from an egress-isolated source pod: UDP and TCP 53 to the cluster DNS pods, and to
//! NodeLocal DNSCache when it runs.
//!
//! Invariant: a blocked lookup is the answer when the question is DNS itself; otherwise it
//! follows the deciding cause. A DNS Service or pods missing from the snapshot are named.

use super::{Ends, Finding, Rank, Record, egress_isolated_source, verdict_of_flow};
use crate::engine::{Endpoint, FlowTrace};
use crate::index::{ClusterIndex, PodId, PodInfo, ServiceInfo, TargetPort};
use crate::policy::Protocol;
use crate::report::*;

/// The cluster DNS as the snapshot shows it.
struct ClusterDns<'a> {
    svc: Option<&'a ServiceInfo>,
    pods: Vec<PodId>,
}

/// The DNS Service in kube-system and the pods behind it (else the pods labelled as DNS).
fn cluster_dns(ix: &ClusterIndex) -> ClusterDns<'_> {
    let svc = ["kube-dns", "coredns", "rke2-coredns-rke2-coredns"]
        .iter()
        .find_map(|n| ix.service("kube-system", n));
    let in_kube_system = |keep: &dyn Fn(&PodInfo) -> bool| -> Vec<PodId> {
        ix.pods_in("kube-system")
            .iter()
            .copied()
            .filter(|&id| keep(ix.pod(id)))
            .collect()
    };
    let mut pods = match svc {
        Some(s) => in_kube_system(&|p| s.selects(p)),
        None => Vec::new(),
    };
    if pods.is_empty() {
        pods = in_kube_system(&|p| {
            p.labels
                .get("k8s-app")
                .is_some_and(|v| v == "kube-dns" || v == "coredns")
        });
    }
    ClusterDns { svc, pods }
}

impl ClusterDns<'_> {
    /// What the snapshot lacks to check DNS.
    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.svc.is_none() {
            missing.push("the kube-dns Service in kube-system".to_string());
        }
        if self.pods.is_empty() {
            missing.push("the DNS pods in kube-system (label k8s-app=kube-dns): include `kubectl get pods,svc -n kube-system -o yaml`".to_string());
        }
        missing
    }

    /// The pod port behind the Service's port 53 of a protocol (53 when the Service says nothing).
    fn port(&self, proto: Protocol, pod: &PodInfo) -> u16 {
        self.svc
            .and_then(|s| s.ports.iter().find(|p| p.port == 53 && p.protocol == proto))
            .and_then(|p| match &p.target {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Named(n) => pod.resolve_named_port(n, proto),
            })
            .unwrap_or(53)
    }
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, _: &Diagnosis) -> Finding {
    let Some(src) = egress_isolated_source(ix, e) else {
        return Finding::none();
    };
    let dns = cluster_dns(ix);
    let rep = dns.pods.first().copied();
    let (udp, tcp, udp_trace) = match rep {
        Some(p) => {
            let pod = ix.pod(p);
            let flow = |proto| {
                verdict_of_flow(
                    ix,
                    Endpoint::Pod(src),
                    Endpoint::Pod(p),
                    proto,
                    Some(dns.port(proto, pod)),
                )
            };
            let (u, ut) = flow(Protocol::Udp);
            (u, flow(Protocol::Tcp).0, Some(ut))
        }
        None => (Verdict::Inconclusive, Verdict::Inconclusive, None),
    };
    let node_local = ix.facts.node_local_dns.as_ref().map(|n| NodeLocalDnsCheck {
        daemonset: n.daemonset.clone(),
        ip: n.ip.to_string(),
        udp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Udp, Some(53)).0,
        tcp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Tcp, Some(53)).0,
    });
    let summary = summary(&ix.pod(src).key(), udp, tcp, udp_trace.as_ref());
    let node_local_ok = node_local.as_ref().is_some_and(|n| n.udp == Verdict::Allowed);
    let mut f = Finding::none();
    if udp == Verdict::Blocked && !node_local_ok {
        let t = udp_trace
            .as_ref()
            .expect("a verdict other than inconclusive comes from a trace");
        let rank = if asks_for_dns(ix, e, &dns) {
            Rank::First
        } else {
            Rank::Last
        };
        f.causes.push((rank, blocked_cause(ix, t, &summary, rep, udp, tcp)));
    } else if udp == Verdict::Allowed && tcp != Verdict::Allowed {
        f.warnings.push(summary.clone());
    } else if udp == Verdict::Blocked && node_local_ok {
        f.warnings.push(format!(
            "{summary} Lookups work only through NodeLocal DNSCache, which egress allows."
        ));
    }
    f.records.push(Record::Dns(DnsCheck {
        service: dns.svc.map(|s| format!("{}/{}", s.namespace, s.name)),
        pod: rep.map(|p| ix.pod(p).key()),
        pods_total: dns.pods.len() as i64,
        udp,
        tcp,
        node_local,
        summary,
        missing: dns.missing(),
    }));
    f
}

fn summary(src_key: &str, udp: Verdict, tcp: Verdict, udp_trace: Option<&FlowTrace>) -> String {
    let blocked_at = udp_trace.map(|t| {
        if !t.egress.allowed {
            "egress at the source"
        } else {
            "ingress at the DNS pods"
        }
    });
    match (udp, tcp) {
        (Verdict::Allowed, Verdict::Allowed) => {
            format!("{src_key} is egress-isolated and may reach the cluster DNS on UDP and TCP 53.")
        }
        (Verdict::Allowed, _) => format!(
            "{src_key} may reach the cluster DNS on UDP 53 but not TCP 53: answers too large for UDP (truncated, retried over TCP) will fail."
        ),
        (Verdict::Blocked, Verdict::Blocked) => format!(
            "{src_key} cannot reach the cluster DNS on UDP or TCP 53 (blocked by {}): name lookups time out.",
            blocked_at.unwrap_or("policy")
        ),
        (Verdict::Blocked, _) => format!(
            "{src_key} cannot reach the cluster DNS on UDP 53 (blocked by {}): most lookups time out.",
            blocked_at.unwrap_or("policy")
        ),
        _ => format!("DNS from {src_key} could not be checked for certain."),
    }
}

/// The question is DNS itself: a DNS pod, or the NodeLocal DNSCache address.
fn asks_for_dns(ix: &ClusterIndex, e: &Ends<'_>, dns: &ClusterDns<'_>) -> bool {
    match e.trace.flow.dst {
        Endpoint::Pod(id) => dns.pods.contains(&id),
        Endpoint::Ip(ip) => ix.facts.node_local_dns.as_ref().is_some_and(|n| n.ip == ip),
    }
}

fn blocked_cause(
    ix: &ClusterIndex,
    t: &FlowTrace,
    summary: &str,
    rep: Option<PodId>,
    udp: Verdict,
    tcp: Verdict,
) -> RootCause {
    let side = if !t.egress.allowed { &t.egress } else { &t.ingress };
    let mut policies: Vec<String> = side.isolating.iter().map(|&p| ix.policies[p].key()).collect();
    policies.dedup();
    RootCause {
        code: RootCauseCode::DnsEgressBlocked,
        summary: summary.to_string(),
        policies,
        evidence: vec![format!(
            "UDP 53 to {}: {}; TCP 53: {}",
            rep.map(|p| ix.pod(p).key()).unwrap_or_default(),
            udp.as_str(),
            tcp.as_str()
        )],
        suggestion: "Allow egress to the DNS pods on both UDP and TCP 53 (to: namespaceSelector kubernetes.io/metadata.name=kube-system with podSelector k8s-app=kube-dns), and to 169.254.20.10 if NodeLocal DNSCache is used.".into(),
    }
}
