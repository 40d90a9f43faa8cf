//! The traps around the rules: CNI enforcement, DNS and API-server egress, Services and their
//! target ports, NodePort SNAT, hostNetwork, Multus secondary interfaces, service meshes,
//! CNI-specific policies, cross-namespace labels, and how to confirm by hand. Each is a typed
//! check in `Diagnosis.checks`, and a root cause where one applies.
//!
//! Invariant: pure and synchronous. A check whose objects are missing from the snapshot says
//! what is missing; an outcome that depends on the dataplane is `inconclusive`, naming what it
//! depends on, unless the snapshot shows which behaviour applies.

use std::net::IpAddr;

use crate::diagnosis::query::{EndpointSpec, PortArg, Resolved};
use crate::diagnosis::steps;
use crate::diagnosis::{self, Query};
use crate::engine::{self, Endpoint, Flow, FlowTrace};
use crate::index::{ClusterIndex, PodId, PodInfo, ServiceInfo, TargetPort};
use crate::policy::extended::{self, PodRef};
use crate::policy::{Direction, Protocol};
use crate::report::*;

/// Pods whose name or labels say they are an ingress controller.
fn looks_like_ingress_controller(p: &PodInfo) -> bool {
    p.name.contains("ingress")
        || p.labels.iter().any(|(k, v)| {
            (k == "app" || k == "app.kubernetes.io/name" || k == "app.kubernetes.io/component") && v.contains("ingress")
        })
}

fn verdict_of_flow(
    ix: &ClusterIndex,
    src: Endpoint,
    dst: Endpoint,
    protocol: Protocol,
    port: Option<u16>,
) -> (Verdict, FlowTrace) {
    let t = engine::evaluate(
        ix,
        Flow {
            src,
            dst,
            protocol,
            port,
        },
    );
    (diagnosis::verdict_of(&t), t)
}

fn pod_of(e: Endpoint) -> Option<PodId> {
    match e {
        Endpoint::Pod(id) => Some(id),
        Endpoint::Ip(_) => None,
    }
}

/// Everything [`assess`] needs about the query.
pub struct Ends<'a> {
    pub query: &'a Query,
    pub src: &'a Resolved,
    pub dst: &'a Resolved,
    pub trace: &'a FlowTrace,
    /// The port the destination pod receives on, when given.
    pub port: Option<u16>,
}

/// Runs every check, adds their root causes and adjusts the verdict. Returns the trace the
/// diagnosis now rests on when a check replaced it (NodePort SNAT: the node IP's flow).
pub fn assess(ix: &ClusterIndex, e: &Ends<'_>, d: &mut Diagnosis) -> Option<FlowTrace> {
    let t = e.trace;
    let mut replaced: Option<FlowTrace> = None;
    let src_pod = pod_of(t.flow.src);
    let dst_pod = pod_of(t.flow.dst);
    let mut first: Vec<RootCause> = Vec::new();
    let mut last: Vec<RootCause> = Vec::new();

    // 1. CNI.
    let cni = &ix.facts.cni;
    d.checks.cni = CniCheck {
        enforcement: cni.enforcement.clone(),
        cnis: cni
            .cnis
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.name,
                    serde_json::to_value(c.support)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect(),
        summary: cni.summary.clone(),
    };
    d.confidence = match cni.enforcement.as_str() {
        "enforced" | "not-enforced" => "high",
        "conditional" => "low",
        _ => "medium",
    }
    .to_string();

    // 8. Secondary interfaces (before anything that assumes the primary network).
    let mut secondary_hit = None;
    for (role, resolved, ep) in [("source", e.src, t.flow.src), ("destination", e.dst, t.flow.dst)] {
        let queried_ip = match resolved.spec {
            EndpointSpec::Ip(ip) => Some(ip),
            _ => None,
        };
        let candidates: Vec<PodId> = match (ep, queried_ip) {
            (Endpoint::Pod(id), _) => vec![id],
            (Endpoint::Ip(ip), _) => ix.pods_by_secondary_ip(ip),
        };
        for id in candidates {
            let p = ix.pod(id);
            if let Some((_, requested)) = p.annotations.iter().find(|(k, _)| k == "k8s.v1.cni.cncf.io/networks")
                && !p
                    .annotations
                    .iter()
                    .any(|(k, _)| k == "k8s.v1.cni.cncf.io/network-status")
            {
                d.warnings.push(format!(
                    "{role} {} requests secondary networks ({requested}) but has no k8s.v1.cni.cncf.io/network-status annotation in the snapshot, so their IPs are unknown; traffic over them is not subject to NetworkPolicy",
                    p.key()
                ));
            }
            for net in secondary_networks(p) {
                let queried = queried_ip.is_some_and(|ip| net.ips.contains(&ip.to_string()));
                if queried && secondary_hit.is_none() {
                    secondary_hit = Some((role, ix.pod(id).key(), net.clone()));
                }
                d.checks
                    .secondary_interfaces
                    .push(SecondaryInterfaceCheck { queried, ..net });
            }
        }
    }
    // The packet uses the secondary network only when the other end is attached to it too;
    // otherwise it leaves on the primary interface, where NetworkPolicy applies.
    let secondary_hit = secondary_hit.filter(|(role, pod, net)| {
        let other = if *role == "destination" { t.flow.src } else { t.flow.dst };
        let attached = pod_of(other).is_some_and(|id| secondary_networks(ix.pod(id)).iter().any(|n| n.network == net.network));
        if !attached {
            d.warnings.push(format!(
                "the {role} address is on {pod}'s secondary interface {} ({}), but the other end is not attached to that network: the packet travels on the primary network, where NetworkPolicy applies",
                net.interface, net.network
            ));
        }
        attached
    });
    if let Some((role, pod, net)) = secondary_hit {
        first.push(RootCause {
            code: RootCauseCode::SecondaryInterface,
            summary: format!(
                "The {role} address is on {pod}'s secondary interface {} (network {}): NetworkPolicy applies only to the primary pod network, so it neither allows nor blocks this traffic.",
                net.interface, net.network
            ),
            policies: Vec::new(),
            evidence: vec![format!(
                "{pod} annotation k8s.v1.cni.cncf.io/network-status lists {} on {} ({})",
                net.ips.join(", "),
                net.interface,
                net.network
            )],
            suggestion: "Look at what governs the secondary network instead (a MultiNetworkPolicy if the cluster runs its controller, the SR-IOV/macvlan configuration, the fabric). Traffic on the primary interface (DNS, API server) is still subject to NetworkPolicy.".into(),
        });
        d.warnings.push(format!(
            "NetworkPolicy was evaluated as if the traffic used the primary network ({}); it does not apply on the secondary interface",
            d.verdict.as_str()
        ));
        d.verdict = Verdict::NotEnforced;
        d.blocked_direction = None;
        // The rule-level causes describe the primary network, which this traffic does not use.
        d.root_causes.clear();
    }

    // 7. hostNetwork.
    let host: Vec<(&str, &PodInfo)> = [("source", src_pod), ("destination", dst_pod)]
        .into_iter()
        .filter_map(|(r, id)| id.map(|id| (r, ix.pod(id))))
        .filter(|(_, p)| p.host_network)
        .collect();
    if !host.is_empty() {
        let node_ips: Vec<String> = host
            .iter()
            .filter_map(|(_, p)| p.node.as_deref())
            .filter_map(|n| ix.nodes.iter().find(|x| x.name == n))
            .flat_map(|n| n.ips.iter().map(|i| i.to_string()))
            .collect();
        let mut summary = String::new();
        let mut evidence = Vec::new();
        for (role, p) in &host {
            evidence.push(format!("{role} {} has hostNetwork: true", p.key()));
            if *role == "destination" {
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
        d.checks.host_network = Some(HostNetworkCheck {
            pods: host.iter().map(|(r, p)| format!("{r} {}", p.key())).collect(),
            node_ips: node_ips.clone(),
            summary: summary.trim_end().to_string(),
        });
        let rc = RootCause {
            code: RootCauseCode::HostnetworkExempt,
            summary: summary.trim_end().to_string(),
            policies: Vec::new(),
            evidence,
            suggestion: if node_ips.is_empty() {
                "Allow the nodes' IPs with an ipBlock (the snapshot has no Node objects to name them), or move the workload off the host network.".into()
            } else {
                format!(
                    "Allow the node IPs with an ipBlock ({}), or run the workload without hostNetwork so selectors can match it.",
                    node_ips.join(", ")
                )
            },
        };
        // First when it decides the answer: a hostNetwork source blocked at ingress, or a
        // hostNetwork destination that nothing else blocks.
        let decides = host.iter().any(|(r, _)| match *r {
            "source" => d.verdict == Verdict::Blocked && !d.ingress.allowed,
            _ => d.verdict != Verdict::Blocked,
        });
        if decides {
            first.push(rc);
        } else {
            last.push(rc);
        }
    }

    // 5. Services and their target ports.
    if let EndpointSpec::Service { namespace, name } = &e.dst.spec
        && let Some(svc) = ix.service(namespace, name)
    {
        // The API server's 443 -> 6443 is the same trap, named by its own check below.
        if !(namespace == "default" && name == "kubernetes") {
            service_check(ix, e, svc, d, &mut first);
        }
        // 6. NodePort / LoadBalancer SNAT.
        if matches!(t.flow.src, Endpoint::Ip(ip) if ix.node_by_ip(ip).is_none())
            && (svc.type_ == "NodePort" || svc.type_ == "LoadBalancer")
        {
            node_port_check(ix, e, svc, d, &mut first, &mut replaced);
        }
    }

    // 3. DNS and 4. API server, for an egress-isolated source pod.
    if let Some(src) = src_pod.filter(|&id| !ix.pod(id).host_network && t.egress.isolated()) {
        dns_check(ix, e, src, d, &mut first, &mut last);
        api_server_check(ix, e, src, d, &mut first, &mut last);
    }

    // 9. Service mesh.
    mesh_check(ix, e, d, &mut first, &mut last);

    // 2. CNI-specific policies.
    for (role, id, dirs) in [("source", src_pod, "egress"), ("destination", dst_pod, "ingress")] {
        let Some(id) = id else { continue };
        let p = ix.pod(id);
        if p.host_network {
            continue;
        }
        let ns_labels = ix.namespace_labels(&p.namespace);
        let pod_ref = PodRef {
            namespace: &p.namespace,
            labels: &p.labels,
            namespace_labels: &ns_labels,
            service_account: p.service_account.as_deref(),
        };
        for hit in extended::selecting(&ix.facts.extended_objects, &pod_ref) {
            if !hit.directions.iter().any(|d| d == dirs) {
                continue;
            }
            d.checks.extended_policies.push(ExtendedPolicyCheck {
                kind: hit.kind,
                name: hit.name,
                endpoint: role.to_string(),
                directions: hit.directions,
                certain: hit.certain,
                why: hit.why,
                read: hit.read,
            });
        }
    }
    if !d.checks.extended_policies.is_empty() {
        let names: Vec<String> = d
            .checks
            .extended_policies
            .iter()
            .map(|x| format!("{} {}", x.kind.rsplit('/').next().unwrap_or_default(), x.name))
            .collect();
        let rc = RootCause {
            code: RootCauseCode::ExtendedPolicyPresent,
            summary: format!(
                "{} also select{} the endpoints; netpol-debug does not evaluate CNI-specific policies, and they can deny what NetworkPolicy allows.",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" }
            ),
            policies: d.checks.extended_policies.iter().map(|x| x.name.clone()).collect(),
            evidence: d
                .checks
                .extended_policies
                .iter()
                .map(|x| format!("{} {} selects the {} ({})", x.kind, x.name, x.endpoint, x.why))
                .collect(),
            suggestion: format!(
                "Read them ({}) and the CNI's own tools (cilium policy trace, calicoctl) to see whether they allow this traffic.",
                d.checks
                    .extended_policies
                    .iter()
                    .flat_map(|x| x.read.iter().take(2).map(move |r| format!("{}: {r}", x.name)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        // CNI-specific policies can allow as well as deny (Cilium adds its allows to
        // NetworkPolicy's; a Calico policy ordered before the Kubernetes ones, or an Antrea tier
        // above them, decides first). Only a block on a side none of them selects is certain.
        let blocking_side_selected = d.checks.extended_policies.iter().any(|x| match x.endpoint.as_str() {
            "source" => !d.egress.allowed,
            _ => !d.ingress.allowed,
        });
        if d.verdict == Verdict::Blocked && !blocking_side_selected {
            last.push(rc);
        } else if matches!(d.verdict, Verdict::Allowed | Verdict::Inconclusive | Verdict::Blocked) {
            d.verdict = Verdict::Inconclusive;
            first.push(rc);
        } else {
            last.push(rc);
        }
    }

    // 10. Cross-namespace.
    if let (Some(s), Some(dd)) = (src_pod, dst_pod)
        && ix.pod(s).namespace != ix.pod(dd).namespace
    {
        let (checks, nearest) = steps::namespace_peer_checks(ix, t);
        d.checks.cross_namespace = Some(CrossNamespaceCheck {
            source_namespace: steps::namespace_report(ix, &ix.pod(s).namespace),
            destination_namespace: steps::namespace_report(ix, &ix.pod(dd).namespace),
            failing_peers: checks.into_iter().filter(|c| !c.namespace_matches).take(10).collect(),
            nearest_miss: nearest,
        });
    }

    // 1 (continued). A CNI that enforces nothing outranks every rule.
    if cni.enforcement == "not-enforced" && d.verdict != Verdict::NotEnforced {
        first.insert(
            0,
            RootCause {
                code: RootCauseCode::CniNoNetpolSupport,
                summary: format!(
                    "{} NetworkPolicy objects exist but nothing enforces them, so they are not why this traffic fails: look elsewhere (Service endpoints, DNS, the application, firewalls).",
                    cni.summary
                ),
                policies: Vec::new(),
                evidence: cni.cnis.iter().flat_map(|c| c.evidence.iter().take(2).cloned()).collect(),
                suggestion: "If the policies are meant to work, the cluster needs a CNI or policy engine that enforces NetworkPolicy (Calico, Cilium, Canal, kube-router...). What the policies would do once enforced is listed below.".into(),
            },
        );
        d.verdict = Verdict::NotEnforced;
        d.blocked_direction = None;
    } else if cni.enforcement == "conditional" {
        d.warnings.push(format!(
            "NetworkPolicy enforcement is conditional on the CNI's configuration: {}",
            cni.cnis.iter().map(|c| c.note.clone()).collect::<Vec<_>>().join(" ")
        ));
    }

    // Cilium (by default) gives node and API-server addresses the host / remote-node /
    // kube-apiserver identities, which an ipBlock does not match: an allow through an ipBlock
    // of such an address is not certain there.
    let cilium = cni
        .cnis
        .iter()
        .any(|c| c.name == "cilium" || c.name == "gke-dataplane-v2");
    if cilium && d.verdict == Verdict::Allowed {
        let api_ips: Vec<IpAddr> = ix
            .service("default", "kubernetes")
            .map(|s| {
                s.endpoints
                    .iter()
                    .map(|a| a.ip)
                    .chain(s.cluster_ips.iter().copied())
                    .collect()
            })
            .unwrap_or_default();
        let special = |ep: Endpoint| match ep {
            Endpoint::Ip(ip) => ix.node_by_ip(ip).is_some() || api_ips.contains(&ip),
            Endpoint::Pod(id) => ix.pod(id).host_network,
        };
        let isolated_toward_special =
            (special(t.flow.dst) && d.egress.isolated) || (special(t.flow.src) && d.ingress.isolated);
        if isolated_toward_special {
            d.verdict = Verdict::Inconclusive;
            first.push(RootCause {
                code: RootCauseCode::DataplaneDependent,
                summary: "NetworkPolicy allows this through an ipBlock of a node or API-server address, but Cilium gives those addresses the host / remote-node / kube-apiserver identities, which an ipBlock does not match unless policy-cidr-match-mode includes nodes.".into(),
                policies: Vec::new(),
                evidence: vec![format!("CNI: {}", d.checks.cni.cnis.join(", "))],
                suggestion: "Check the Cilium configuration (policy-cidr-match-mode), or allow these peers with toEntities (kube-apiserver, host, remote-node) in a CiliumNetworkPolicy.".into(),
            });
        }
    }

    // 11. How to confirm by hand.
    d.checks.verify = verification(ix, e, d);

    let mut causes = first;
    causes.append(&mut d.root_causes);
    causes.append(&mut last);
    d.root_causes = causes;
    d.warnings.sort();
    d.warnings.dedup();
    replaced
}

/// The secondary networks of a pod from `k8s.v1.cni.cncf.io/network-status` (non-default entries).
pub fn secondary_networks(p: &PodInfo) -> Vec<SecondaryInterfaceCheck> {
    let Some((_, status)) = p
        .annotations
        .iter()
        .find(|(k, _)| k == "k8s.v1.cni.cncf.io/network-status")
    else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_str::<serde_json::Value>(status) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter(|e| !e.get("default").and_then(|v| v.as_bool()).unwrap_or(false))
        .map(|e| SecondaryInterfaceCheck {
            pod: p.key(),
            network: e.get("name").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
            interface: e
                .get("interface")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            ips: e
                .get("ips")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            queried: false,
        })
        .collect()
}

fn service_check(ix: &ClusterIndex, e: &Ends<'_>, svc: &ServiceInfo, d: &mut Diagnosis, first: &mut Vec<RootCause>) {
    let t = e.trace;
    let sp = match &e.query.port {
        Some(PortArg::Number(n)) => svc
            .ports
            .iter()
            .find(|p| (p.port == *n || p.node_port == Some(*n)) && p.protocol == e.query.protocol),
        Some(PortArg::Name(name)) => svc.ports.iter().find(|p| p.name.as_deref() == Some(name)),
        None => None,
    };
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
    d.checks.service = Some(ServiceCheck {
        service: format!("{}/{}", svc.namespace, svc.name),
        service_type: svc.type_.clone(),
        port_mapping: port_mapping.clone(),
        backing_pods: backing as i64,
        summary: format!(
            "Service {}/{} resolves to {backing} pod(s); policies see the pod and its targetPort{}, never the Service IP or port.",
            svc.namespace,
            svc.name,
            e.port.map(|p| format!(" ({p})")).unwrap_or_default()
        ),
    });
    // A side that would allow the Service port but blocks the target port.
    let (Some(sp), Some(target)) = (sp, e.port) else { return };
    if sp.port == target || d.verdict != Verdict::Blocked {
        return;
    }
    let (v, alt) = verdict_of_flow(ix, t.flow.src, t.flow.dst, e.query.protocol, Some(sp.port));
    if v != Verdict::Allowed {
        return;
    }
    let side = if !t.egress.allowed { &alt.egress } else { &alt.ingress };
    let rules: Vec<String> = side
        .rules
        .iter()
        .filter(|r| r.allows())
        .map(|r| {
            format!(
                "{} spec.{}[{}]",
                ix.policies[r.policy].key(),
                side.direction.as_str(),
                r.rule_index
            )
        })
        .collect();
    let mut policies: Vec<String> = side
        .rules
        .iter()
        .filter(|r| r.allows())
        .map(|r| ix.policies[r.policy].key())
        .collect();
    policies.dedup();
    first.push(RootCause {
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
    });
}

fn node_port_check(
    ix: &ClusterIndex,
    e: &Ends<'_>,
    svc: &ServiceInfo,
    d: &mut Diagnosis,
    first: &mut Vec<RootCause>,
    replaced: &mut Option<FlowTrace>,
) {
    let t = e.trace;
    let etp = svc.external_traffic_policy.clone().unwrap_or_else(|| "Cluster".into());
    let node_ips: Vec<IpAddr> = ix.nodes.iter().flat_map(|n| n.ips.iter().copied()).collect();
    let client = d.verdict;
    if etp == "Local" {
        d.checks.node_port = Some(NodePortCheck {
            service: format!("{}/{}", svc.namespace, svc.name),
            external_traffic_policy: etp,
            node_ips: Vec::new(),
            verdict_as_client: client,
            verdict_as_node: None,
            summary: "externalTrafficPolicy: Local keeps the client's source IP, so ipBlock rules for the client apply as written.".into(),
        });
        return;
    }
    // Every node other than the destination's may receive the traffic and SNAT it to its own
    // IP (traffic from a pod's own node is a special case NetworkPolicy always allows).
    let dst_node = pod_of(t.flow.dst).and_then(|id| ix.pod(id).node.clone());
    let mut candidates: Vec<IpAddr> = ix
        .nodes
        .iter()
        .filter(|n| Some(&n.name) != dst_node.as_ref())
        .filter_map(|n| n.ips.first().copied())
        .collect();
    if candidates.is_empty() {
        candidates = ix.nodes.iter().filter_map(|n| n.ips.first().copied()).collect();
    }
    let per_node: Vec<(IpAddr, Verdict)> = candidates
        .iter()
        .map(|&ip| {
            (
                ip,
                verdict_of_flow(ix, Endpoint::Ip(ip), t.flow.dst, e.query.protocol, e.port).0,
            )
        })
        .collect();
    let node_ip = per_node.first().map(|(ip, _)| *ip);
    let as_node = match per_node.first() {
        None => None,
        Some((_, v)) if per_node.iter().all(|(_, w)| w == v) => Some(*v),
        Some(_) => Some(Verdict::Inconclusive),
    };
    if as_node == Some(Verdict::Inconclusive) {
        d.warnings.push(format!(
            "the node IPs do not all get the same verdict ({}): the answer depends on which node receives the traffic",
            per_node
                .iter()
                .map(|(ip, v)| format!("{ip}: {}", v.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if as_node == Some(Verdict::Allowed) {
        d.warnings.push("some CNIs SNAT to a tunnel interface IP (flannel.1, tunl0, vxlan.calico) rather than the node's InternalIP; an ipBlock of InternalIPs may then not match".into());
    }
    let kube_proxy = ix.facts.kube_proxy;
    let summary = match as_node {
        None => "Traffic from outside through this Service arrives SNATed to a node IP (externalTrafficPolicy: Cluster), but the snapshot has no Node objects to check those IPs.".to_string(),
        Some(v) if v == client => format!(
            "Traffic from outside arrives SNATed to a node IP (externalTrafficPolicy: Cluster); the verdict is {} either way.",
            v.as_str()
        ),
        Some(v) => format!(
            "Traffic from outside arrives SNATed to a node IP (externalTrafficPolicy: Cluster): policy sees a node IP, not the client. For the client's IP the verdict is {}, for the node IPs {}.",
            client.as_str(),
            v.as_str()
        ),
    };
    d.checks.node_port = Some(NodePortCheck {
        service: format!("{}/{}", svc.namespace, svc.name),
        external_traffic_policy: etp,
        node_ips: node_ips.iter().map(|i| i.to_string()).collect(),
        verdict_as_client: client,
        verdict_as_node: as_node,
        summary: summary.clone(),
    });
    let Some(v_node) = as_node else {
        // Without node IPs the verdict for the SNATed source cannot be computed; it only
        // matters when the destination's ingress is isolated.
        if d.ingress.isolated && d.verdict != Verdict::Inconclusive {
            first.push(RootCause {
                code: RootCauseCode::NodeportSnat,
                summary: summary.clone(),
                policies: d.ingress.isolating_policies.clone(),
                evidence: vec![format!(
                    "Service {}/{} is {} with externalTrafficPolicy Cluster; the snapshot has no Node objects",
                    svc.namespace, svc.name, svc.type_
                )],
                suggestion: "Include the Node objects (kubectl get nodes -o yaml) to see whether the node IPs are allowed, or set externalTrafficPolicy: Local.".into(),
            });
            d.verdict = Verdict::Inconclusive;
        }
        d.warnings.push(summary);
        return;
    };
    if v_node == client {
        return;
    }
    first.push(RootCause {
        code: RootCauseCode::NodeportSnat,
        summary: summary.clone(),
        policies: d.ingress.isolating_policies.clone(),
        evidence: vec![
            format!("Service {}/{} is {} with externalTrafficPolicy Cluster", svc.namespace, svc.name, svc.type_),
            format!("node IPs: {}", node_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")),
        ],
        suggestion: format!(
            "Either allow the node IPs with an ipBlock ({}) — which admits everything the nodes forward — or set externalTrafficPolicy: Local on the Service so the client IP is kept and the client's ipBlock applies.",
            node_ips.iter().map(|i| format!("{i}/32")).collect::<Vec<_>>().join(", ")
        ),
    });
    if kube_proxy {
        // kube-proxy masquerades NodePort traffic under externalTrafficPolicy: Cluster: the
        // diagnosis is the one for the node IP.
        let as_node_query = Query {
            from: node_ip.map(|i| i.to_string()).unwrap_or_default(),
            ..e.query.clone()
        };
        if let Ok((nd, nt)) = diagnosis::diagnose_traced(ix, &as_node_query) {
            *replaced = Some(nt);
            d.verdict = if as_node == Some(Verdict::Inconclusive) {
                Verdict::Inconclusive
            } else {
                nd.verdict
            };
            d.blocked_direction = nd.blocked_direction;
            d.root_causes = nd.root_causes;
            d.allowed_connections = nd.allowed_connections;
            d.egress = nd.egress;
            d.ingress = nd.ingress;
        }
        d.warnings.push("kube-proxy runs in this cluster: it SNATs NodePort/LoadBalancer traffic to a node IP, so the verdict is the one for a node IP".into());
    } else {
        d.verdict = Verdict::Inconclusive;
        d.warnings.push("whether the client IP is kept depends on the dataplane (kube-proxy SNATs; some eBPF replacements such as Cilium with DSR keep it): the snapshot does not show which runs".into());
    }
}

fn dns_check(
    ix: &ClusterIndex,
    e: &Ends<'_>,
    src: PodId,
    d: &mut Diagnosis,
    first: &mut Vec<RootCause>,
    last: &mut Vec<RootCause>,
) {
    let svc = ["kube-dns", "coredns", "rke2-coredns-rke2-coredns"]
        .iter()
        .find_map(|n| ix.service("kube-system", n));
    let mut pods: Vec<PodId> = match svc {
        Some(s) => ix
            .pods_in("kube-system")
            .iter()
            .copied()
            .filter(|&id| s.selects(ix.pod(id)))
            .collect(),
        None => Vec::new(),
    };
    if pods.is_empty() {
        pods = ix
            .pods_in("kube-system")
            .iter()
            .copied()
            .filter(|&id| {
                ix.pod(id)
                    .labels
                    .get("k8s-app")
                    .is_some_and(|v| v == "kube-dns" || v == "coredns")
            })
            .collect();
    }
    let mut missing = Vec::new();
    if svc.is_none() {
        missing.push("the kube-dns Service in kube-system".to_string());
    }
    if pods.is_empty() {
        missing.push("the DNS pods in kube-system (label k8s-app=kube-dns): include `kubectl get pods,svc -n kube-system -o yaml`".to_string());
    }
    let port_for = |proto: Protocol, pod: &PodInfo| -> u16 {
        svc.and_then(|s| s.ports.iter().find(|p| p.port == 53 && p.protocol == proto))
            .and_then(|p| match &p.target {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Named(n) => pod.resolve_named_port(n, proto),
            })
            .unwrap_or(53)
    };
    let rep = pods.first().copied();
    let (udp, tcp, udp_trace) = match rep {
        Some(p) => {
            let pod = ix.pod(p);
            let (u, ut) = verdict_of_flow(
                ix,
                Endpoint::Pod(src),
                Endpoint::Pod(p),
                Protocol::Udp,
                Some(port_for(Protocol::Udp, pod)),
            );
            let (tc, _) = verdict_of_flow(
                ix,
                Endpoint::Pod(src),
                Endpoint::Pod(p),
                Protocol::Tcp,
                Some(port_for(Protocol::Tcp, pod)),
            );
            (u, tc, Some(ut))
        }
        None => (Verdict::Inconclusive, Verdict::Inconclusive, None),
    };
    let node_local = ix.facts.node_local_dns.as_ref().map(|n| NodeLocalDnsCheck {
        daemonset: n.daemonset.clone(),
        ip: n.ip.to_string(),
        udp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Udp, Some(53)).0,
        tcp: verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(n.ip), Protocol::Tcp, Some(53)).0,
    });
    let src_key = ix.pod(src).key();
    let blocked_at = udp_trace.as_ref().map(|t| {
        if !t.egress.allowed {
            "egress at the source"
        } else {
            "ingress at the DNS pods"
        }
    });
    let summary = match (udp, tcp) {
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
    };
    let node_local_ok = node_local.as_ref().is_some_and(|n| n.udp == Verdict::Allowed);
    if udp == Verdict::Blocked && !node_local_ok {
        let t = udp_trace.expect("a verdict other than inconclusive comes from a trace");
        let side = if !t.egress.allowed { &t.egress } else { &t.ingress };
        let mut policies: Vec<String> = side.isolating.iter().map(|&p| ix.policies[p].key()).collect();
        policies.dedup();
        // When the query is DNS itself, this is the answer; otherwise it is what the user
        // will see first (lookups time out before any connection is tried).
        let to_dns = match e.trace.flow.dst {
            Endpoint::Pod(id) => pods.contains(&id),
            Endpoint::Ip(ip) => ix.facts.node_local_dns.as_ref().is_some_and(|n| n.ip == ip),
        };
        let list = if to_dns { first } else { last };
        list.push(RootCause {
            code: RootCauseCode::DnsEgressBlocked,
            summary: summary.clone(),
            policies,
            evidence: vec![format!(
                "UDP 53 to {}: {}; TCP 53: {}",
                rep.map(|p| ix.pod(p).key()).unwrap_or_default(),
                udp.as_str(),
                tcp.as_str()
            )],
            suggestion: "Allow egress to the DNS pods on both UDP and TCP 53 (to: namespaceSelector kubernetes.io/metadata.name=kube-system with podSelector k8s-app=kube-dns), and to 169.254.20.10 if NodeLocal DNSCache is used.".into(),
        });
    } else if udp == Verdict::Allowed && tcp != Verdict::Allowed {
        d.warnings.push(summary.clone());
    } else if udp == Verdict::Blocked && node_local_ok {
        d.warnings.push(format!(
            "{summary} Lookups work only through NodeLocal DNSCache, which egress allows."
        ));
    }
    d.checks.dns = Some(DnsCheck {
        service: svc.map(|s| format!("{}/{}", s.namespace, s.name)),
        pod: rep.map(|p| ix.pod(p).key()),
        pods_total: pods.len() as i64,
        udp,
        tcp,
        node_local,
        summary,
        missing,
    });
}

fn api_server_check(
    ix: &ClusterIndex,
    e: &Ends<'_>,
    src: PodId,
    d: &mut Diagnosis,
    first: &mut Vec<RootCause>,
    last: &mut Vec<RootCause>,
) {
    let Some(svc) = ix.service("default", "kubernetes") else {
        d.checks.api_server = Some(ApiServerCheck {
            service: "default/kubernetes".into(),
            endpoints: Vec::new(),
            verdict: Verdict::Inconclusive,
            summary: "The API server's Service default/kubernetes is not in the snapshot, so egress to it was not checked.".into(),
            missing: vec!["Service and Endpoints default/kubernetes: include `kubectl get svc,endpoints,endpointslices -n default -o yaml`".into()],
        });
        return;
    };
    let svc_port = svc.ports.first().map_or(443, |p| p.port);
    let targets: Vec<(IpAddr, u16)> = svc
        .endpoints
        .iter()
        .map(|a| {
            let port = a
                .ports
                .iter()
                .find(|(n, _, p)| *p == Protocol::Tcp && (n.as_deref() == Some("https") || svc.ports.len() <= 1))
                .map_or(svc_port, |(_, n, _)| *n);
            (a.ip, port)
        })
        .collect();
    if targets.is_empty() {
        d.checks.api_server = Some(ApiServerCheck {
            service: format!("default/kubernetes:{svc_port}"),
            endpoints: Vec::new(),
            verdict: Verdict::Inconclusive,
            summary: "The API server's endpoints (Endpoints/EndpointSlice of default/kubernetes) are not in the snapshot, so egress to them was not checked; policies see the endpoint IPs and port (often 6443), not the Service's.".into(),
            missing: vec!["Endpoints or EndpointSlices of default/kubernetes".into()],
        });
        return;
    }
    let mut verdict = Verdict::Allowed;
    let mut trace = None;
    for &(ip, port) in targets.iter().take(3) {
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
    let mut trap = None;
    if let Some((ip, port, _)) = &trace
        && *port != svc_port
        && verdict_of_flow(ix, Endpoint::Pod(src), Endpoint::Ip(*ip), Protocol::Tcp, Some(svc_port)).0
            == Verdict::Allowed
    {
        let t = format!(
            " Egress allows TCP {svc_port} (the Service port) to {ip}, but after kube-proxy's DNAT the packet goes to {ip}:{port}: the rule must allow port {port}."
        );
        summary.push_str(&t);
        trap = Some(t);
    }
    d.checks.api_server = Some(ApiServerCheck {
        service: format!("default/kubernetes:{svc_port}"),
        endpoints: endpoints.clone(),
        verdict,
        summary: summary.clone(),
        missing: Vec::new(),
    });
    if verdict != Verdict::Blocked {
        return;
    }
    let to_api = match &e.dst.spec {
        EndpointSpec::Service { namespace, name } => namespace == "default" && name == "kubernetes",
        EndpointSpec::Ip(ip) => targets.iter().any(|(i, _)| i == ip) || svc.cluster_ips.contains(ip),
        _ => false,
    };
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
    if to_api {
        first.push(rc);
    } else {
        d.warnings.push(format!(
            "{summary} Workloads that call the Kubernetes API (operators, controllers) will fail."
        ));
        last.push(rc);
    }
}

fn mesh_check(
    ix: &ClusterIndex,
    e: &Ends<'_>,
    d: &mut Diagnosis,
    first: &mut Vec<RootCause>,
    last: &mut Vec<RootCause>,
) {
    let t = e.trace;
    let mut findings = Vec::new();
    let mut namespaces = Vec::new();
    let mut ambient = [false, false];
    for (role, ep) in [("source", t.flow.src), ("destination", t.flow.dst)] {
        let Some(id) = pod_of(ep) else { continue };
        let p = ix.pod(id);
        let ns = ix.namespace_labels(&p.namespace);
        let label = |k: &str| p.labels.get(k).or_else(|| ns.get(k)).map(String::as_str);
        let ann = |k: &str| p.annotations.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        let mut found = false;
        if p.containers.iter().any(|c| c == "istio-proxy") {
            findings.push(format!("istio sidecar (istio-proxy) on the {role} {}", p.key()));
            found = true;
        } else if label("istio.io/dataplane-mode") == Some("ambient") {
            findings.push(format!(
                "istio ambient mode on the {role} {} (istio.io/dataplane-mode=ambient)",
                p.key()
            ));
            ambient[usize::from(role == "destination")] = true;
            found = true;
        } else if ns.get("istio-injection").is_some_and(|v| v == "enabled") || ns.contains_key("istio.io/rev") {
            findings.push(format!(
                "namespace {} has istio injection enabled, but the {role} pod has no istio-proxy container (not restarted since?)",
                p.namespace
            ));
            found = true;
        }
        if p.containers.iter().any(|c| c == "linkerd-proxy") {
            findings.push(format!("linkerd sidecar (linkerd-proxy) on the {role} {}", p.key()));
            found = true;
        } else if ann("linkerd.io/inject") == Some("enabled") {
            findings.push(format!("linkerd injection annotated on the {role} {}", p.key()));
            found = true;
        }
        if found {
            namespaces.push(p.namespace.clone());
        }
    }
    if findings.is_empty() {
        return;
    }
    let objects: Vec<String> = ix
        .facts
        .mesh_objects
        .iter()
        .filter(|o| {
            o.namespace
                .as_ref()
                .is_none_or(|n| namespaces.contains(n) || n == "istio-system" || n == "linkerd")
        })
        .map(|o| format!("{} {}", o.kind.rsplit('/').next().unwrap_or_default(), o.name))
        .collect();
    // Between two ambient pods ztunnel tunnels everything over HBONE (TCP 15008 to the
    // destination pod): that is the port NetworkPolicy sees. A client outside the mesh talks
    // plain text on the application port.
    let hbone =
        (ambient[0] && ambient[1]).then(|| verdict_of_flow(ix, t.flow.src, t.flow.dst, Protocol::Tcp, Some(15008)).0);
    let mut summary = "A service mesh handles this traffic: besides NetworkPolicy, its L7 authorization (Istio AuthorizationPolicy, Linkerd Server/AuthorizationPolicy) and mTLS settings may deny it.".to_string();
    match hbone {
        Some(Verdict::Blocked) => summary.push_str(" Both pods are in ambient mode: ztunnel carries their traffic over HBONE on TCP 15008 to the destination pod, and NetworkPolicy blocks TCP 15008 here; the application port is not what policy sees."),
        Some(Verdict::Allowed) => summary.push_str(" Both pods are in ambient mode: their traffic travels over HBONE on TCP 15008, which policy allows here; the application port is not what policy sees."),
        Some(_) => summary.push_str(" Both pods are in ambient mode: policy sees HBONE on TCP 15008, which could not be decided for certain."),
        None => {}
    }
    d.checks.mesh = Some(MeshCheck {
        findings: findings.clone(),
        objects: objects.clone(),
        hbone_15008: hbone,
        summary: summary.clone(),
    });
    let rc = RootCause {
        code: RootCauseCode::ServiceMeshPresent,
        summary,
        policies: Vec::new(),
        evidence: findings
            .into_iter()
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
    if app_port_differs {
        // Whether the mesh really carries this flow (enrolment, waypoints) is not in the
        // snapshot: the two verdicts disagree, so neither is certain.
        d.verdict = Verdict::Inconclusive;
        first.push(rc);
    } else {
        last.push(rc);
    }
}

fn verification(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Verification {
    let t = e.trace;
    let mut commands = Vec::new();
    let udp = e.query.protocol == Protocol::Udp;
    let nc = if udp { "nc -zuv -w 3" } else { "nc -zv -w 3" };
    let port = e.port.map(|p| p.to_string()).unwrap_or_else(|| "<port>".into());
    let target = match (&e.dst.spec, t.flow.dst) {
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
    };
    let exec = |p: &PodInfo, cmd: &str| format!("kubectl exec -n {} {} -- {cmd}", p.namespace, p.name);
    if let Some(src) = pod_of(t.flow.src).map(|id| ix.pod(id)).filter(|p| !p.from_template) {
        commands.push(exec(src, &format!("{nc} {target}")));
        // A control: a pod that no egress policy isolates, in the source's namespace, else in
        // the destination's. Only the flow's namespaces, and the first by name, so the choice
        // does not depend on the order of the input or on which other namespaces were read (a
        // live read covers the flow's namespaces; a snapshot may hold the whole cluster).
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
        // A control only tells something when the source's egress is isolated.
        let control = control.filter(|c| t.egress.isolated() && c.key() != src.key());
        if let Some(c) = control {
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
