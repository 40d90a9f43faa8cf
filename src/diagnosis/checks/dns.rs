//! DNS from an egress-isolated source pod (any source pod when the question is DNS itself): UDP
//! and TCP 53 to the cluster DNS pods, and to NodeLocal DNSCache when it runs.
//!
//! Invariant: when the question is DNS itself (its Service, pods or NodeLocal address), a block
//! on either protocol is the first root cause and says which protocol passes; for a Service
//! destination (reached by name) a blocked UDP lookup follows the deciding cause; otherwise it
//! is the `dns` check and one warning. A DNS Service or pods missing from the snapshot are named.

use super::{Ends, Finding, Rank, Record, egress_isolated_source, pod_of, service_destination, verdict_of_flow};
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

/// The source pod whose DNS is checked: an egress-isolated one, or any pod (not on the host
/// network) when the question is DNS itself.
fn dns_client(ix: &ClusterIndex, e: &Ends<'_>, asked: bool) -> Option<PodId> {
    egress_isolated_source(ix, e).or_else(|| {
        let src = pod_of(e.trace.flow.src).filter(|&id| !ix.pod(id).host_network)?;
        asked.then_some(src)
    })
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, _: &Diagnosis) -> Finding {
    let dns = cluster_dns(ix);
    let asked = asks_for_dns(ix, e, &dns);
    let Some(src) = dns_client(ix, e, asked) else {
        return Finding::none();
    };
    let rep = dns.pods.first().copied();
    let (udp, udp_trace) = lookup(ix, src, &dns, rep, Protocol::Udp);
    let (tcp, tcp_trace) = lookup(ix, src, &dns, rep, Protocol::Tcp);
    let node_local = ix.facts.node_local_dns.as_ref().map(|n| NodeLocalDnsCheck {
        daemonset: n.daemonset.clone(),
        ip: n.ip.to_string(),
        udp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Udp, Some(53)).0,
        tcp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Tcp, Some(53)).0,
    });
    let blocked_trace = [(udp, &udp_trace), (tcp, &tcp_trace)]
        .into_iter()
        .find(|(v, _)| *v == Verdict::Blocked)
        .and_then(|(_, t)| t.as_ref());
    let summary = summary(&ix.pod(src).key(), udp, tcp, blocked_trace);
    let node_local_ok = node_local.as_ref().is_some_and(|n| n.udp == Verdict::Allowed);
    let mut f = Finding::none();
    match blocked_trace {
        // The question is DNS itself: a block on either protocol is the answer.
        Some(t) if asked => f
            .causes
            .push((Rank::First, blocked_cause(ix, t, &summary, rep, udp, tcp))),
        // A Service is reached by name: a blocked lookup fails the connection before it
        // starts, so it follows the deciding cause.
        Some(t) if udp == Verdict::Blocked && !node_local_ok && service_destination(ix, e).is_some() => f
            .causes
            .push((Rank::Last, blocked_cause(ix, t, &summary, rep, udp, tcp))),
        Some(_) if udp == Verdict::Blocked && node_local_ok => f.warnings.push(format!(
            "{summary} Lookups work only through NodeLocal DNSCache, which egress allows."
        )),
        Some(_) => f.warnings.push(summary.clone()),
        None if udp == Verdict::Allowed && tcp != Verdict::Allowed => f.warnings.push(summary.clone()),
        None => {}
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

/// The verdict of a lookup from `src` to the representative DNS pod on one protocol.
fn lookup(
    ix: &ClusterIndex,
    src: PodId,
    dns: &ClusterDns<'_>,
    rep: Option<PodId>,
    proto: Protocol,
) -> (Verdict, Option<FlowTrace>) {
    match rep {
        Some(p) => {
            let port = dns.port(proto, ix.pod(p));
            let (v, t) = verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Pod(p), proto, Some(port));
            (v, Some(t))
        }
        None => (Verdict::Inconclusive, None),
    }
}

/// Which protocol passes and which does not, and what that breaks.
fn summary(src_key: &str, udp: Verdict, tcp: Verdict, blocked: Option<&FlowTrace>) -> String {
    let at = blocked.map_or("policy", |t| {
        if !t.egress.allowed {
            "egress at the source"
        } else {
            "ingress at the DNS pods"
        }
    });
    match (udp, tcp) {
        (Verdict::Allowed, Verdict::Allowed) => {
            format!("{src_key} may reach the cluster DNS on UDP 53 and TCP 53.")
        }
        (Verdict::Allowed, Verdict::Blocked) => format!(
            "{src_key} reaches the cluster DNS on UDP 53 but not on TCP 53 (blocked by {at}): answers too large for UDP (truncated, retried over TCP) fail."
        ),
        (Verdict::Blocked, Verdict::Allowed) => format!(
            "{src_key} reaches the cluster DNS on TCP 53 but not on UDP 53 (blocked by {at}): most lookups time out, resolvers ask over UDP first."
        ),
        (Verdict::Blocked, Verdict::Blocked) => format!(
            "{src_key} reaches the cluster DNS on neither UDP 53 nor TCP 53 (blocked by {at}): name lookups time out."
        ),
        (Verdict::Blocked, _) => format!(
            "{src_key} cannot reach the cluster DNS on UDP 53 (blocked by {at}), and TCP 53 could not be decided: most lookups time out."
        ),
        (_, Verdict::Blocked) => format!(
            "{src_key} cannot reach the cluster DNS on TCP 53 (blocked by {at}), and UDP 53 could not be decided."
        ),
        (Verdict::Allowed, _) => {
            format!("{src_key} reaches the cluster DNS on UDP 53; TCP 53 could not be decided for certain.")
        }
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
        suggestion: if side.direction == crate::policy::Direction::Egress {
            "Allow egress to the DNS pods on both UDP and TCP 53 (to: namespaceSelector kubernetes.io/metadata.name=kube-system with podSelector k8s-app=kube-dns), and to 169.254.20.10 if NodeLocal DNSCache is used.".into()
        } else {
            "Allow ingress to the DNS pods from the source's pods on both UDP and TCP 53 (the policy that selects the DNS pods names its clients).".into()
        },
    }
}
