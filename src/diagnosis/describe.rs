//! Words for what the engine found: failed clauses, ports, labels, endpoint names.
//!
//! Invariant: text is rendered from the trace's data here, never parsed back.

use crate::engine::{AllowedPort, Endpoint, PeerFailure, PortFailure, RuleTrace, WantedPort};
use crate::index::ClusterIndex;
use crate::policy::{Direction, PortValue, Requirement};
use crate::report::FailedClause;

/// Which end of the asked flow a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Source,
    Destination,
}

impl Role {
    /// `source` / `destination`, as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Destination => "destination",
        }
    }

    /// The end whose policies decide a direction: egress at the source, ingress at the destination.
    pub fn deciding(dir: Direction) -> Role {
        match dir {
            Direction::Egress => Role::Source,
            Direction::Ingress => Role::Destination,
        }
    }
}

pub fn endpoint_name(ix: &ClusterIndex, e: Endpoint) -> String {
    match e {
        Endpoint::Pod(id) => ix.pod(id).key(),
        Endpoint::Ip(ip) => ip.to_string(),
    }
}

pub fn peers_word(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    }
}

/// The first clause of a rule that failed: its peers, else its ports.
pub fn failed_clause(dir: Direction, r: &RuleTrace) -> Option<FailedClause> {
    let base = format!("spec.{}[{}]", dir.as_str(), r.rule_index);
    if !r.peer_failures.is_empty() {
        return Some(FailedClause {
            field: format!("{base}.{}", peers_word(dir)),
            reasons: r
                .peer_failures
                .iter()
                .map(|(i, f)| format!("{}[{i}]: {}", peers_word(dir), peer_failure_text(f)))
                .collect(),
        });
    }
    r.port_failure.as_ref().map(|p| FailedClause {
        field: format!("{base}.ports"),
        reasons: vec![port_failure_text(p)],
    })
}

pub fn peer_failure_text(f: &PeerFailure) -> String {
    match f {
        PeerFailure::OtherNamespace { policy_namespace, peer_namespace } => format!(
            "podSelector without namespaceSelector covers namespace {policy_namespace} only; the peer is in {peer_namespace}"
        ),
        PeerFailure::NamespaceLabels { namespace, failed, .. } => {
            format!(
                "namespace {namespace} does not match namespaceSelector (fails {})",
                requirements_text(failed)
            )
        }
        PeerFailure::PodLabels { failed, .. } => {
            format!("pod labels do not match podSelector (fails {})", requirements_text(failed))
        }
        PeerFailure::NotAPod => "the peer is not a pod: podSelector/namespaceSelector cannot match it, only ipBlock can".into(),
        PeerFailure::HostNetworkPeer => {
            "the peer uses the host network: selectors never match it (its traffic carries the node IP; only ipBlock can)".into()
        }
        PeerFailure::OutsideCidr { cidr, ip: Some(ip) } => format!("{ip} is outside ipBlock {cidr}"),
        PeerFailure::OutsideCidr { cidr, ip: None } => format!("the peer has no IP yet, so ipBlock {cidr} cannot match it"),
        PeerFailure::Excepted { cidr, except, ip } => format!("{ip} is inside ipBlock {cidr} but excluded by except {except}"),
        PeerFailure::IpBlockIgnoresPods { cidr } => {
            format!("ipBlock {cidr} is not matched against pod IPs (--ipblock-matches-pods=false)")
        }
        PeerFailure::Invalid { reason } => format!("element could not be read and matches nothing: {reason}"),
    }
}

pub fn port_failure_text(p: &PortFailure) -> String {
    let allowed: Vec<String> = p.allowed.iter().map(allowed_port_text).collect();
    let mut s = format!(
        "the traffic is {}; the rule allows {}",
        wanted_text(&p.wanted),
        allowed.join(", ")
    );
    if !p.unresolved_named.is_empty() {
        s.push_str(&format!(
            "; named port {} is not declared by the destination pod",
            p.unresolved_named
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

/// `TCP 8080`, or `UDP (any port)`.
pub fn wanted_text(w: &WantedPort) -> String {
    match w.port {
        Some(p) => format!("{} {p}", w.protocol),
        None => format!("{} (any port)", w.protocol),
    }
}

/// `TCP 80`, `TCP 80-90`, `TCP http (=8080)` (a named port resolved on the destination), `TCP
/// http` (not resolved), `UDP (all ports)`.
pub fn allowed_port_text(a: &AllowedPort) -> String {
    match (&a.spec.value, a.resolved) {
        (PortValue::Named(name), Some(n)) => format!("{} {name} (={n})", a.spec.protocol),
        _ => a.spec.to_string(),
    }
}

/// The failed requirements of a selector, comma-separated, in selector order.
fn requirements_text(failed: &[Requirement]) -> String {
    failed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

pub fn label_list(l: &crate::policy::Labels) -> String {
    l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Labels a controller generates per pod or per revision: a selector written with them matches
/// one pod, or stops matching at the next rollout.
const GENERATED_LABELS: [&str; 7] = [
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
];

/// Labels that name an application, in the order a selector is best written with them.
const NAMING_LABELS: [&str; 6] = ["app.kubernetes.io/name", "app", "k8s-app", "name", "run", "component"];

/// How to select a pod in a policy: its naming label (`app=web`), else its stable labels, never
/// its generated name or per-revision labels. `None` when it has no stable label.
pub fn pod_selector_text(ix: &ClusterIndex, id: crate::index::PodId) -> Option<String> {
    let labels = &ix.pod(id).labels;
    let stable: Vec<(&String, &String)> = labels
        .iter()
        .filter(|(k, _)| !GENERATED_LABELS.contains(&k.as_str()))
        .collect();
    let naming = NAMING_LABELS
        .iter()
        .find_map(|n| stable.iter().find(|(k, _)| k.as_str() == *n));
    let pairs: Vec<String> = match naming {
        Some((k, v)) => vec![format!("{k}={v}")],
        None => stable.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    };
    (!pairs.is_empty()).then(|| pairs.join(","))
}

/// A pod as a suggestion selects it: `pods app=web`, with how many pods of its namespace that
/// selector covers when it is more than one; the workload when the pod has no stable label.
pub fn pods_text(ix: &ClusterIndex, id: crate::index::PodId) -> String {
    let p = ix.pod(id);
    let Some(sel) = pod_selector_text(ix, id) else {
        return format!(
            "the pods of {} (they have no stable label to select them by: give them one, e.g. app=<name>)",
            p.top_workload_name()
        );
    };
    let wanted: Vec<(&str, &str)> = sel.split(',').filter_map(|kv| kv.split_once('=')).collect();
    let n = ix
        .pods_in(&p.namespace)
        .iter()
        .filter(|&&o| {
            let l = &ix.pod(o).labels;
            wanted.iter().all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
        })
        .count();
    if n > 1 {
        format!("pods {sel} ({n} pods)")
    } else {
        format!("pods {sel}")
    }
}

/// The peer of a rule as a suggestion writes it, for a policy in `policy_ns`: its pods by label
/// (with a namespaceSelector when it lives elsewhere), or an ipBlock for an address.
pub fn peer_text(ix: &ClusterIndex, policy_ns: &str, e: Endpoint) -> String {
    match e {
        Endpoint::Ip(ip) => format!("ipBlock {ip}/{}", if ip.is_ipv4() { 32 } else { 128 }),
        Endpoint::Pod(id) if ix.pod(id).host_network => match ix.pod(id).ips.first() {
            Some(ip) => format!(
                "ipBlock {ip}/{} (a hostNetwork pod's traffic carries the node IP)",
                if ip.is_ipv4() { 32 } else { 128 }
            ),
            None => "the node's IP as an ipBlock (a hostNetwork pod's traffic carries it)".into(),
        },
        Endpoint::Pod(id) => {
            let ns = &ix.pod(id).namespace;
            if ns == policy_ns {
                pods_text(ix, id)
            } else {
                format!(
                    "{} in namespace {ns} (namespaceSelector kubernetes.io/metadata.name={ns} in the same element as the podSelector)",
                    pods_text(ix, id)
                )
            }
        }
    }
}

/// `source shop/web-1 has labels: app=web; its namespace shop has labels: …`: the labels a
/// selector is compared with, beside the quoted element.
pub fn labels_line(ix: &ClusterIndex, role: Role, id: crate::index::PodId) -> String {
    let p = ix.pod(id);
    format!(
        "{} {} has labels: {}; its namespace {} has labels: {}",
        role.as_str(),
        p.key(),
        if p.labels.is_empty() {
            "none".into()
        } else {
            label_list(&p.labels)
        },
        p.namespace,
        label_list(&ix.namespace_labels(&p.namespace))
    )
}
